/*
 * rtws C++20 projection: Windows.Foundation.Collections. The vectors rtws hands out
 * (IVector<hstring>, IVector<ChainValidationResult>, IVectorView<Certificate>) are declared
 * with the types they hold: this header is here so that <winrt/Windows.Foundation.Collections.h>
 * renames too.
 */
#ifndef RTWS_CPP_WINDOWS_FOUNDATION_COLLECTIONS_H
#define RTWS_CPP_WINDOWS_FOUNDATION_COLLECTIONS_H

#include <rtws/Windows.Foundation.h>
#include <rtws/Windows.Security.Cryptography.Certificates.h>

#endif
