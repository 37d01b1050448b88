/*
 * WebSocketError_GetStatus value by value, and the numeric values of the HRESULT
 * macros and enum constants of rtws.h, against winrt-reference.md (§2, §4).
 * Pure functions: the server URL is taken (ctest passes it) but not used.
 */
#include "testutil.h"

/* Checks GetStatus(hr) == expected, naming both in the failure. */
#define CHECK_STATUS(hr, expected)                                                    \
    do {                                                                              \
        WebErrorStatus got_ = WebSocketError_GetStatus((HRESULT)(hr));                \
        tu_checks++;                                                                  \
        if (got_ != (WebErrorStatus)(expected)) {                                     \
            tu_failures++;                                                            \
            fprintf(stderr, "%s:%d: WebSocketError_GetStatus(0x%08X) = %d, expected %d\n", \
                    __FILE__, __LINE__, (unsigned)(HRESULT)(hr), (int)got_,           \
                    (int)(expected));                                                 \
        }                                                                             \
    } while (0)

/* Checks a macro's value against the documented hex value. */
#define CHECK_VALUE(macro, hex)                                                       \
    do {                                                                              \
        tu_checks++;                                                                  \
        if ((HRESULT)(macro) != (HRESULT)(hex)) {                                     \
            tu_failures++;                                                            \
            fprintf(stderr, "%s:%d: %s = 0x%08X, expected 0x%08X\n", __FILE__,        \
                    __LINE__, #macro, (unsigned)(HRESULT)(macro), (unsigned)(hex));   \
        }                                                                             \
    } while (0)

#define CHECK_ENUM(constant, value)                                                   \
    do {                                                                              \
        tu_checks++;                                                                  \
        if ((long)(constant) != (long)(value)) {                                      \
            tu_failures++;                                                            \
            fprintf(stderr, "%s:%d: %s = %ld, expected %ld\n", __FILE__, __LINE__,    \
                    #constant, (long)(constant), (long)(value));                      \
        }                                                                             \
    } while (0)

/* §4 table: WININET_E_* (and their WinHTTP twins) → WebErrorStatus. */
static void test_wininet_statuses(void)
{
    CHECK_STATUS(0x80072EE2, WebErrorStatus_Timeout);
    CHECK_STATUS(0x80072EE7, WebErrorStatus_HostNameNotResolved);
    CHECK_STATUS(0x80072EF1, WebErrorStatus_OperationCanceled);
    CHECK_STATUS(0x80072EFD, WebErrorStatus_CannotConnect);
    CHECK_STATUS(0x80072EFE, WebErrorStatus_ConnectionAborted);
    CHECK_STATUS(0x80072EFF, WebErrorStatus_ConnectionReset);
    CHECK_STATUS(0x80072F05, WebErrorStatus_CertificateExpired);
    CHECK_STATUS(0x80072F06, WebErrorStatus_CertificateCommonNameIsIncorrect);
    CHECK_STATUS(0x80072F07, WebErrorStatus_HttpToHttpsOnRedirection);
    CHECK_STATUS(0x80072F08, WebErrorStatus_HttpsToHttpOnRedirection);
    CHECK_STATUS(0x80072F0D, WebErrorStatus_CertificateIsInvalid);
    CHECK_STATUS(0x80072F17, WebErrorStatus_CertificateContainsErrors);
    CHECK_STATUS(0x80072F19, WebErrorStatus_CertificateRevoked);
    CHECK_STATUS(0x80072F78, WebErrorStatus_ErrorHttpInvalidServerResponse);
    CHECK_STATUS(0x80072F7C, WebErrorStatus_RedirectFailed);
    CHECK_STATUS(0x80072F7D, WebErrorStatus_Unknown);
    CHECK_STATUS(0x80072F83, WebErrorStatus_Disconnected);
    CHECK_STATUS(0x80072F84, WebErrorStatus_ServerUnreachable);
    CHECK_STATUS(0x80072F89, WebErrorStatus_CertificateIsInvalid);
    CHECK_STATUS(0x80072F8A, WebErrorStatus_CertificateRevoked);
    CHECK_STATUS(0x80072F8F, WebErrorStatus_Unknown);

    /* The same through the header's names. */
    CHECK_STATUS(WININET_E_TIMEOUT, WebErrorStatus_Timeout);
    CHECK_STATUS(WININET_E_NAME_NOT_RESOLVED, WebErrorStatus_HostNameNotResolved);
    CHECK_STATUS(WININET_E_CANNOT_CONNECT, WebErrorStatus_CannotConnect);
    CHECK_STATUS(WININET_E_CONNECTION_ABORTED, WebErrorStatus_ConnectionAborted);
    CHECK_STATUS(WININET_E_CONNECTION_RESET, WebErrorStatus_ConnectionReset);
    CHECK_STATUS(WININET_E_INVALID_SERVER_RESPONSE, WebErrorStatus_ErrorHttpInvalidServerResponse);
    CHECK_STATUS(WININET_E_DISCONNECTED, WebErrorStatus_Disconnected);
    CHECK_STATUS(WININET_E_SERVER_UNREACHABLE, WebErrorStatus_ServerUnreachable);
}

/* HTTP_E_STATUS_* = 0x80190000 | status → the WebErrorStatus of that status, for
 * every HTTP value (300–505) the enum has; the generic four → 18/19/20/21. */
static void test_http_statuses(void)
{
    static const int statuses[] = {
        300, 301, 302, 303, 304, 305, 307,
        400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
        416, 417,
        500, 501, 502, 503, 504, 505,
    };
    size_t i;
    for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        CHECK_STATUS(0x80190000u | (unsigned)statuses[i], statuses[i]);

    CHECK_STATUS(0x80190001, WebErrorStatus_UnexpectedStatusCode);
    CHECK_STATUS(0x80190003, WebErrorStatus_UnexpectedRedirection);
    CHECK_STATUS(0x80190004, WebErrorStatus_UnexpectedClientError);
    CHECK_STATUS(0x80190005, WebErrorStatus_UnexpectedServerError);
    CHECK_STATUS(HTTP_E_STATUS_UNEXPECTED, 18);
    CHECK_STATUS(HTTP_E_STATUS_UNEXPECTED_REDIRECTION, 19);
    CHECK_STATUS(HTTP_E_STATUS_UNEXPECTED_CLIENT_ERROR, 20);
    CHECK_STATUS(HTTP_E_STATUS_UNEXPECTED_SERVER_ERROR, 21);

    /* Spot checks by name. */
    CHECK_STATUS(HTTP_E_STATUS_NOT_FOUND, WebErrorStatus_NotFound);
    CHECK_STATUS(HTTP_E_STATUS_DENIED, WebErrorStatus_Unauthorized);
    CHECK_STATUS(0x801901F4, WebErrorStatus_InternalServerError);
    CHECK_STATUS(0x80190133, WebErrorStatus_TemporaryRedirect);
}

static void test_cancellation_statuses(void)
{
    CHECK_STATUS(0x800704C7, WebErrorStatus_OperationCanceled); /* ERROR_CANCELLED */
    CHECK_STATUS(0x800703E3, WebErrorStatus_OperationCanceled); /* ERROR_OPERATION_ABORTED */
    CHECK_STATUS(0x80072EF1, WebErrorStatus_OperationCanceled); /* WININET_E_OPERATION_CANCELLED */
    CHECK_STATUS(RTWS_E_CANCELLED, WebErrorStatus_OperationCanceled);
    CHECK_STATUS(RTWS_E_OPERATION_ABORTED, WebErrorStatus_OperationCanceled);
    CHECK_STATUS(WININET_E_OPERATION_CANCELLED, WebErrorStatus_OperationCanceled);
}

/* Things that are not network errors → Unknown. */
static void test_unknown_statuses(void)
{
    CHECK_STATUS(S_OK, WebErrorStatus_Unknown);
    CHECK_STATUS(1, WebErrorStatus_Unknown); /* S_FALSE */
    CHECK_STATUS(E_FAIL, WebErrorStatus_Unknown);
    CHECK_STATUS(E_INVALIDARG, WebErrorStatus_Unknown);
    CHECK_STATUS(E_POINTER, WebErrorStatus_Unknown);
    CHECK_STATUS(E_OUTOFMEMORY, WebErrorStatus_Unknown);
    CHECK_STATUS(E_UNEXPECTED, WebErrorStatus_Unknown);
    CHECK_STATUS(E_BOUNDS, WebErrorStatus_Unknown);
    CHECK_STATUS(E_ILLEGAL_METHOD_CALL, WebErrorStatus_Unknown);
    CHECK_STATUS(RO_E_CLOSED, WebErrorStatus_Unknown);
    CHECK_STATUS(RTWS_E_TIMEOUT, WebErrorStatus_Unknown);
    CHECK_STATUS(RTWS_E_NO_UNICODE_TRANSLATION, WebErrorStatus_Unknown);
    CHECK_STATUS(E_NOTIMPL, WebErrorStatus_Unknown);
    CHECK_STATUS(E_ABORT, WebErrorStatus_Unknown);
    CHECK_STATUS(E_ILLEGAL_STATE_CHANGE, WebErrorStatus_Unknown);
    CHECK_STATUS(E_ILLEGAL_DELEGATE_ASSIGNMENT, WebErrorStatus_Unknown);
    CHECK_STATUS(E_NOT_SUFFICIENT_BUFFER, WebErrorStatus_Unknown);
    CHECK_STATUS(RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE, WebErrorStatus_Unknown);
    CHECK_STATUS(E_INVALID_PROTOCOL_FORMAT, WebErrorStatus_Unknown);
    CHECK_STATUS(E_SUBPROTOCOL_NOT_SUPPORTED, WebErrorStatus_Unknown);
    CHECK_STATUS(0x80072EE0, WebErrorStatus_Unknown); /* a WinINet code outside the table */
    CHECK_STATUS(0x801901A2, WebErrorStatus_Unknown); /* HTTP 418: no WebErrorStatus */
    /* Other statuses UWP has no WebErrorStatus for (1xx, 2xx, 306, 308, 426, ...), and codes
     * of the HTTP facility that are no status at all. */
    {
        static const unsigned no_value[] = {0,   2,   100, 101, 200, 204, 299, 306, 308,
                                            426, 429, 451, 506, 511, 599, 0xFFFF};
        for (size_t i = 0; i < sizeof no_value / sizeof no_value[0]; i++)
            CHECK_STATUS(0x80190000u | no_value[i], WebErrorStatus_Unknown);
    }
    /* Success codes and other facilities or severities sharing the low 16 bits of an HTTP
     * status are not one. */
    CHECK_STATUS(0x00190194, WebErrorStatus_Unknown); /* a success code with FACILITY_HTTP */
    CHECK_STATUS(0x80180194, WebErrorStatus_Unknown);
    CHECK_STATUS(0x801A0194, WebErrorStatus_Unknown);
    CHECK_STATUS(0xC0190194, WebErrorStatus_Unknown);
    /* The HTTP status as a plain number, not in the HTTP facility, is not one. */
    CHECK_STATUS(404, WebErrorStatus_Unknown);
    CHECK_STATUS(0x80070194, WebErrorStatus_Unknown); /* 404 in FACILITY_WIN32 */
    /* A WinINet-range code in another facility is not a WinINet error. */
    CHECK_STATUS(0x80002EFD, WebErrorStatus_Unknown);
    CHECK_STATUS(0x00072EFD, WebErrorStatus_Unknown); /* success bit: not a failure */
    CHECK_STATUS(0x7FFFFFFF, WebErrorStatus_Unknown);
    CHECK_STATUS(0xFFFFFFFF, WebErrorStatus_Unknown);
}

/* §4: HRESULT macros have the Windows values. */
static void test_hresult_values(void)
{
    CHECK_VALUE(S_OK, 0x00000000);
    CHECK_VALUE(E_INVALIDARG, 0x80070057);
    CHECK_VALUE(E_POINTER, 0x80004003);
    CHECK_VALUE(E_NOTIMPL, 0x80004001);
    CHECK_VALUE(E_ABORT, 0x80004004);
    CHECK_VALUE(E_FAIL, 0x80004005);
    CHECK_VALUE(E_OUTOFMEMORY, 0x8007000E);
    CHECK_VALUE(E_UNEXPECTED, 0x8000FFFF);
    CHECK_VALUE(E_BOUNDS, 0x8000000B);
    CHECK_VALUE(E_CHANGED_STATE, 0x8000000C);
    CHECK_VALUE(E_ILLEGAL_STATE_CHANGE, 0x8000000D);
    CHECK_VALUE(E_ILLEGAL_METHOD_CALL, 0x8000000E);
    CHECK_VALUE(RO_E_CLOSED, 0x80000013);
    CHECK_VALUE(E_ILLEGAL_DELEGATE_ASSIGNMENT, 0x80000018);
    CHECK_VALUE(E_NOT_SUFFICIENT_BUFFER, 0x8007007A);
    CHECK_VALUE(RTWS_E_OPERATION_ABORTED, 0x800703E3);
    CHECK_VALUE(RTWS_E_CANCELLED, 0x800704C7);
    CHECK_VALUE(RTWS_E_INVALID_OPERATION, 0x800710DD);
    CHECK_VALUE(E_NOT_VALID_STATE, 0x8007139F);
    /* HRESULT_FROM_WIN32 of ERROR_TIMEOUT (1460), ERROR_NO_UNICODE_TRANSLATION (1113),
     * ERROR_MESSAGE_EXCEEDS_MAX_SIZE (4336). */
    CHECK_VALUE(RTWS_E_TIMEOUT, 0x800705B4);
    CHECK_VALUE(RTWS_E_NO_UNICODE_TRANSLATION, 0x80070459);
    CHECK_VALUE(RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE, 0x800710F0);

    CHECK_VALUE(WININET_E_TIMEOUT, 0x80072EE2);
    CHECK_VALUE(WININET_E_NAME_NOT_RESOLVED, 0x80072EE7);
    CHECK_VALUE(WININET_E_OPERATION_CANCELLED, 0x80072EF1);
    CHECK_VALUE(WININET_E_CANNOT_CONNECT, 0x80072EFD);
    CHECK_VALUE(WININET_E_CONNECTION_ABORTED, 0x80072EFE);
    CHECK_VALUE(WININET_E_CONNECTION_RESET, 0x80072EFF);
    CHECK_VALUE(WININET_E_SEC_CERT_DATE_INVALID, 0x80072F05);
    CHECK_VALUE(WININET_E_SEC_CERT_CN_INVALID, 0x80072F06);
    CHECK_VALUE(WININET_E_HTTP_TO_HTTPS_ON_REDIR, 0x80072F07);
    CHECK_VALUE(WININET_E_HTTPS_TO_HTTP_ON_REDIR, 0x80072F08);
    CHECK_VALUE(WININET_E_INVALID_CA, 0x80072F0D);
    CHECK_VALUE(WININET_E_SEC_CERT_ERRORS, 0x80072F17);
    CHECK_VALUE(WININET_E_SEC_CERT_REV_FAILED, 0x80072F19);
    CHECK_VALUE(WININET_E_INVALID_SERVER_RESPONSE, 0x80072F78);
    CHECK_VALUE(WININET_E_REDIRECT_FAILED, 0x80072F7C);
    CHECK_VALUE(WININET_E_SECURITY_CHANNEL_ERROR, 0x80072F7D);
    CHECK_VALUE(WININET_E_DISCONNECTED, 0x80072F83);
    CHECK_VALUE(WININET_E_SERVER_UNREACHABLE, 0x80072F84);
    CHECK_VALUE(WININET_E_SEC_INVALID_CERT, 0x80072F89);
    CHECK_VALUE(WININET_E_SEC_CERT_REVOKED, 0x80072F8A);
    CHECK_VALUE(WININET_E_DECODING_FAILED, 0x80072F8F);

    CHECK_VALUE(HTTP_E_STATUS_UNEXPECTED, 0x80190001);
    CHECK_VALUE(HTTP_E_STATUS_UNEXPECTED_REDIRECTION, 0x80190003);
    CHECK_VALUE(HTTP_E_STATUS_UNEXPECTED_CLIENT_ERROR, 0x80190004);
    CHECK_VALUE(HTTP_E_STATUS_UNEXPECTED_SERVER_ERROR, 0x80190005);
    CHECK_VALUE(HTTP_E_STATUS_NOT_FOUND, 0x80190194);
    CHECK_VALUE(HTTP_E_STATUS_DENIED, 0x80190191);

    CHECK_VALUE(E_INVALID_PROTOCOL_OPERATION, 0x83760001);
    CHECK_VALUE(E_INVALID_PROTOCOL_FORMAT, 0x83760002);
    CHECK_VALUE(E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED, 0x83760003);
    CHECK_VALUE(E_SUBPROTOCOL_NOT_SUPPORTED, 0x83760004);
    CHECK_VALUE(E_PROTOCOL_VERSION_NOT_SUPPORTED, 0x83760005);

    /* HRESULT is a signed 32-bit type: failures are negative, S_OK is not. */
    CHECK(sizeof(HRESULT) == 4);
    CHECK(E_INVALIDARG < 0 && RTWS_FAILED(E_INVALIDARG) && !RTWS_SUCCEEDED(E_INVALIDARG));
    CHECK(RO_E_CLOSED < 0 && HTTP_E_STATUS_NOT_FOUND < 0 && E_SUBPROTOCOL_NOT_SUPPORTED < 0);
    CHECK(RTWS_SUCCEEDED(S_OK) && !RTWS_FAILED(S_OK));
    CHECK(RTWS_SUCCEEDED(1) && RTWS_SUCCEEDED(0x7FFFFFFF));
    CHECK(RTWS_INFINITE == 0xFFFFFFFFu);
}

/* §2: every enum constant has the UWP value. */
static void test_enum_values(void)
{
    CHECK(sizeof(AsyncStatus) == 4 && sizeof(WebErrorStatus) == 4 &&
          sizeof(SocketMessageType) == 4 && sizeof(MessageWebSocketReceiveMode) == 4 &&
          sizeof(UnicodeEncoding) == 4 && sizeof(ByteOrder) == 4);

    CHECK_ENUM(AsyncStatus_Started, 0);
    CHECK_ENUM(AsyncStatus_Completed, 1);
    CHECK_ENUM(AsyncStatus_Canceled, 2);
    CHECK_ENUM(AsyncStatus_Error, 3);

    CHECK_ENUM(SocketMessageType_Binary, 0);
    CHECK_ENUM(SocketMessageType_Utf8, 1);

    CHECK_ENUM(MessageWebSocketReceiveMode_FullMessage, 0);
    CHECK_ENUM(MessageWebSocketReceiveMode_PartialMessage, 1);

    CHECK_ENUM(UnicodeEncoding_Utf8, 0);
    CHECK_ENUM(UnicodeEncoding_Utf16LE, 1);
    CHECK_ENUM(UnicodeEncoding_Utf16BE, 2);

    CHECK_ENUM(ByteOrder_LittleEndian, 0);
    CHECK_ENUM(ByteOrder_BigEndian, 1);

    CHECK_ENUM(WebErrorStatus_Unknown, 0);
    CHECK_ENUM(WebErrorStatus_CertificateCommonNameIsIncorrect, 1);
    CHECK_ENUM(WebErrorStatus_CertificateExpired, 2);
    CHECK_ENUM(WebErrorStatus_CertificateContainsErrors, 3);
    CHECK_ENUM(WebErrorStatus_CertificateRevoked, 4);
    CHECK_ENUM(WebErrorStatus_CertificateIsInvalid, 5);
    CHECK_ENUM(WebErrorStatus_ServerUnreachable, 6);
    CHECK_ENUM(WebErrorStatus_Timeout, 7);
    CHECK_ENUM(WebErrorStatus_ErrorHttpInvalidServerResponse, 8);
    CHECK_ENUM(WebErrorStatus_ConnectionAborted, 9);
    CHECK_ENUM(WebErrorStatus_ConnectionReset, 10);
    CHECK_ENUM(WebErrorStatus_Disconnected, 11);
    CHECK_ENUM(WebErrorStatus_HttpToHttpsOnRedirection, 12);
    CHECK_ENUM(WebErrorStatus_HttpsToHttpOnRedirection, 13);
    CHECK_ENUM(WebErrorStatus_CannotConnect, 14);
    CHECK_ENUM(WebErrorStatus_HostNameNotResolved, 15);
    CHECK_ENUM(WebErrorStatus_OperationCanceled, 16);
    CHECK_ENUM(WebErrorStatus_RedirectFailed, 17);
    CHECK_ENUM(WebErrorStatus_UnexpectedStatusCode, 18);
    CHECK_ENUM(WebErrorStatus_UnexpectedRedirection, 19);
    CHECK_ENUM(WebErrorStatus_UnexpectedClientError, 20);
    CHECK_ENUM(WebErrorStatus_UnexpectedServerError, 21);
    CHECK_ENUM(WebErrorStatus_InsufficientRangeSupport, 22);
    CHECK_ENUM(WebErrorStatus_MissingContentLengthSupport, 23);
    CHECK_ENUM(WebErrorStatus_MultipleChoices, 300);
    CHECK_ENUM(WebErrorStatus_MovedPermanently, 301);
    CHECK_ENUM(WebErrorStatus_Found, 302);
    CHECK_ENUM(WebErrorStatus_SeeOther, 303);
    CHECK_ENUM(WebErrorStatus_NotModified, 304);
    CHECK_ENUM(WebErrorStatus_UseProxy, 305);
    CHECK_ENUM(WebErrorStatus_TemporaryRedirect, 307);
    CHECK_ENUM(WebErrorStatus_BadRequest, 400);
    CHECK_ENUM(WebErrorStatus_Unauthorized, 401);
    CHECK_ENUM(WebErrorStatus_PaymentRequired, 402);
    CHECK_ENUM(WebErrorStatus_Forbidden, 403);
    CHECK_ENUM(WebErrorStatus_NotFound, 404);
    CHECK_ENUM(WebErrorStatus_MethodNotAllowed, 405);
    CHECK_ENUM(WebErrorStatus_NotAcceptable, 406);
    CHECK_ENUM(WebErrorStatus_ProxyAuthenticationRequired, 407);
    CHECK_ENUM(WebErrorStatus_RequestTimeout, 408);
    CHECK_ENUM(WebErrorStatus_Conflict, 409);
    CHECK_ENUM(WebErrorStatus_Gone, 410);
    CHECK_ENUM(WebErrorStatus_LengthRequired, 411);
    CHECK_ENUM(WebErrorStatus_PreconditionFailed, 412);
    CHECK_ENUM(WebErrorStatus_RequestEntityTooLarge, 413);
    CHECK_ENUM(WebErrorStatus_RequestUriTooLong, 414);
    CHECK_ENUM(WebErrorStatus_UnsupportedMediaType, 415);
    CHECK_ENUM(WebErrorStatus_RequestedRangeNotSatisfiable, 416);
    CHECK_ENUM(WebErrorStatus_ExpectationFailed, 417);
    CHECK_ENUM(WebErrorStatus_InternalServerError, 500);
    CHECK_ENUM(WebErrorStatus_NotImplemented, 501);
    CHECK_ENUM(WebErrorStatus_BadGateway, 502);
    CHECK_ENUM(WebErrorStatus_ServiceUnavailable, 503);
    CHECK_ENUM(WebErrorStatus_GatewayTimeout, 504);
    CHECK_ENUM(WebErrorStatus_HttpVersionNotSupported, 505);
}

/* GetStatus is documented as callable from any thread and never failing: it does not
 * touch the thread's last error message. */
static void test_get_status_leaves_last_error(void)
{
    const char *before;
    char copy[256];
    CHECK_HR(MessageWebSocket_Create(NULL), E_POINTER); /* sets a message */
    before = rtws_GetLastErrorMessage();
    CHECK(before != NULL && before[0] != '\0');
    snprintf(copy, sizeof copy, "%s", before);
    CHECK_STATUS(E_FAIL, WebErrorStatus_Unknown);
    CHECK_STATUS(WININET_E_TIMEOUT, WebErrorStatus_Timeout);
    CHECK(strcmp(rtws_GetLastErrorMessage(), copy) == 0);
}

static const tu_test tests[] = {
    TU_TEST(test_wininet_statuses),
    TU_TEST(test_http_statuses),
    TU_TEST(test_cancellation_statuses),
    TU_TEST(test_unknown_statuses),
    TU_TEST(test_hresult_values),
    TU_TEST(test_enum_values),
    TU_TEST(test_get_status_leaves_last_error),
    TU_END,
};

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    tu_run(tests, argc - 2, argv + 2);
    return tu_finish();
}
