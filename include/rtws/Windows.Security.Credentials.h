/*
 * rtws C++20 projection: Windows.Security.Credentials (PasswordCredential, for a socket's
 * Control().ServerCredential() and ProxyCredential()).
 */
#ifndef RTWS_CPP_WINDOWS_SECURITY_CREDENTIALS_H
#define RTWS_CPP_WINDOWS_SECURITY_CREDENTIALS_H

#include <rtws/base.h>

namespace rtws::impl
{
    RTWS_IMPL_REF_COUNT(PasswordCredential)
}

namespace rtws::Windows::Security::Credentials
{
    struct PasswordCredential : impl::object<abi::PasswordCredential>
    {
        using object::object;
        PasswordCredential(hstring const& resource, hstring const& userName, hstring const& password) : object(nullptr)
        {
            *this = impl::get_object<PasswordCredential>(abi::PasswordCredential_Create, impl::c_str(resource), impl::c_str(userName),
                                                         impl::c_str(password));
        }
        hstring Resource() const { return impl::get_string(abi::PasswordCredential_get_Resource, abi()); }
        hstring UserName() const { return impl::get_string(abi::PasswordCredential_get_UserName, abi()); }
        hstring Password() const { return impl::get_string(abi::PasswordCredential_get_Password, abi()); }
    };
}

#endif
