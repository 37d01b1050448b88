/*
 * rtws C++20 projection: Windows.Web (WebErrorStatus, the UWP values; what
 * Windows::Networking::Sockets::WebSocketError::GetStatus returns for an HRESULT).
 */
#ifndef RTWS_CPP_WINDOWS_WEB_H
#define RTWS_CPP_WINDOWS_WEB_H

#include <rtws/base.h>

namespace rtws::Windows::Web
{
    enum class WebErrorStatus : int32_t
    {
        Unknown = abi::WebErrorStatus_Unknown,
        CertificateCommonNameIsIncorrect = abi::WebErrorStatus_CertificateCommonNameIsIncorrect,
        CertificateExpired = abi::WebErrorStatus_CertificateExpired,
        CertificateContainsErrors = abi::WebErrorStatus_CertificateContainsErrors,
        CertificateRevoked = abi::WebErrorStatus_CertificateRevoked,
        CertificateIsInvalid = abi::WebErrorStatus_CertificateIsInvalid,
        ServerUnreachable = abi::WebErrorStatus_ServerUnreachable,
        Timeout = abi::WebErrorStatus_Timeout,
        ErrorHttpInvalidServerResponse = abi::WebErrorStatus_ErrorHttpInvalidServerResponse,
        ConnectionAborted = abi::WebErrorStatus_ConnectionAborted,
        ConnectionReset = abi::WebErrorStatus_ConnectionReset,
        Disconnected = abi::WebErrorStatus_Disconnected,
        HttpToHttpsOnRedirection = abi::WebErrorStatus_HttpToHttpsOnRedirection,
        HttpsToHttpOnRedirection = abi::WebErrorStatus_HttpsToHttpOnRedirection,
        CannotConnect = abi::WebErrorStatus_CannotConnect,
        HostNameNotResolved = abi::WebErrorStatus_HostNameNotResolved,
        OperationCanceled = abi::WebErrorStatus_OperationCanceled,
        RedirectFailed = abi::WebErrorStatus_RedirectFailed,
        UnexpectedStatusCode = abi::WebErrorStatus_UnexpectedStatusCode,
        UnexpectedRedirection = abi::WebErrorStatus_UnexpectedRedirection,
        UnexpectedClientError = abi::WebErrorStatus_UnexpectedClientError,
        UnexpectedServerError = abi::WebErrorStatus_UnexpectedServerError,
        InsufficientRangeSupport = abi::WebErrorStatus_InsufficientRangeSupport,
        MissingContentLengthSupport = abi::WebErrorStatus_MissingContentLengthSupport,
        MultipleChoices = abi::WebErrorStatus_MultipleChoices,
        MovedPermanently = abi::WebErrorStatus_MovedPermanently,
        Found = abi::WebErrorStatus_Found,
        SeeOther = abi::WebErrorStatus_SeeOther,
        NotModified = abi::WebErrorStatus_NotModified,
        UseProxy = abi::WebErrorStatus_UseProxy,
        TemporaryRedirect = abi::WebErrorStatus_TemporaryRedirect,
        BadRequest = abi::WebErrorStatus_BadRequest,
        Unauthorized = abi::WebErrorStatus_Unauthorized,
        PaymentRequired = abi::WebErrorStatus_PaymentRequired,
        Forbidden = abi::WebErrorStatus_Forbidden,
        NotFound = abi::WebErrorStatus_NotFound,
        MethodNotAllowed = abi::WebErrorStatus_MethodNotAllowed,
        NotAcceptable = abi::WebErrorStatus_NotAcceptable,
        ProxyAuthenticationRequired = abi::WebErrorStatus_ProxyAuthenticationRequired,
        RequestTimeout = abi::WebErrorStatus_RequestTimeout,
        Conflict = abi::WebErrorStatus_Conflict,
        Gone = abi::WebErrorStatus_Gone,
        LengthRequired = abi::WebErrorStatus_LengthRequired,
        PreconditionFailed = abi::WebErrorStatus_PreconditionFailed,
        RequestEntityTooLarge = abi::WebErrorStatus_RequestEntityTooLarge,
        RequestUriTooLong = abi::WebErrorStatus_RequestUriTooLong,
        UnsupportedMediaType = abi::WebErrorStatus_UnsupportedMediaType,
        RequestedRangeNotSatisfiable = abi::WebErrorStatus_RequestedRangeNotSatisfiable,
        ExpectationFailed = abi::WebErrorStatus_ExpectationFailed,
        InternalServerError = abi::WebErrorStatus_InternalServerError,
        NotImplemented = abi::WebErrorStatus_NotImplemented,
        BadGateway = abi::WebErrorStatus_BadGateway,
        ServiceUnavailable = abi::WebErrorStatus_ServiceUnavailable,
        GatewayTimeout = abi::WebErrorStatus_GatewayTimeout,
        HttpVersionNotSupported = abi::WebErrorStatus_HttpVersionNotSupported,
    };
}

#endif
