/*
 * HTTP proxies and proxy credentials, through the C ABI. Run as
 *   test_proxy ws://127.0.0.1:PORT http://127.0.0.1:PROXYPORT [TEST...]
 * where the second is the test server in proxy mode requiring Basic bob:pw
 * (tests/CMakeLists.txt; run_with_server.py starts it for `{proxy}`).
 */
#include "testutil.h"

static const char *proxy_url; /* http://127.0.0.1:PROXYPORT */

/* Connects through `proxy_uri` (NULL: from the environment; "": no proxy), with an
 * optional ProxyCredential, sends one message and waits for it to be sent. */
static HRESULT connect_via(const char *proxy_uri, const char *user, const char *password)
{
    MessageWebSocket *ws = NULL;
    MessageWebSocketControl *control = NULL;
    HRESULT hr = MessageWebSocket_Create(&ws);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_get_Control(ws, &control);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocketControl_put_ProxyUri(control, proxy_uri);
    if (RTWS_SUCCEEDED(hr) && user) {
        PasswordCredential *credential = NULL;
        hr = PasswordCredential_Create("proxy", user, password, &credential);
        if (RTWS_SUCCEEDED(hr)) {
            hr = MessageWebSocketControl_put_ProxyCredential(control, credential);
            PasswordCredential_Release(credential);
        }
    }
    if (control)
        MessageWebSocketControl_Release(control);
    if (RTWS_SUCCEEDED(hr))
        hr = tu_connect(ws, "/echo");
    if (RTWS_SUCCEEDED(hr))
        hr = tu_send_text(ws, "through the proxy");
    if (ws)
        MessageWebSocket_Release(ws);
    return hr;
}

static void test_proxy_credentials(void)
{
    /* The proxy wants Basic bob:pw: without it, CONNECT is refused with 407. */
    HRESULT hr = connect_via(proxy_url, NULL, NULL);
    CHECK_HR(hr, 0x80190197);
    CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_ProxyAuthenticationRequired);
    CHECK_OK(connect_via(proxy_url, "bob", "pw"));
    CHECK_HR(connect_via(proxy_url, "bob", "wrong"), 0x80190197);

    /* user:password in the proxy URI works when no ProxyCredential is set. */
    char with_userinfo[256];
    snprintf(with_userinfo, sizeof with_userinfo, "http://bob:pw@%s", proxy_url + 7);
    CHECK_OK(connect_via(with_userinfo, NULL, NULL));
}

static void test_proxy_settings(void)
{
    MessageWebSocket *ws = NULL;
    MessageWebSocketControl *control = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_get_Control(ws, &control));
    CHECK_HR(MessageWebSocketControl_put_ProxyUri(control, "socks5://127.0.0.1:1"), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_ProxyUri(control, "http://"), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_ProxyUri(control, "http://h:99999"), E_INVALIDARG);
    PasswordCredential *got = (PasswordCredential *)1;
    CHECK_OK(MessageWebSocketControl_get_ProxyCredential(control, &got));
    CHECK(got == NULL);

    PasswordCredential *credential = NULL;
    CHECK_OK(PasswordCredential_Create("res", "bob", "pw", &credential));
    CHECK_OK(MessageWebSocketControl_put_ProxyCredential(control, credential));
    CHECK_OK(MessageWebSocketControl_get_ProxyCredential(control, &got));
    const char *user = NULL, *password = NULL, *resource = NULL;
    CHECK_OK(PasswordCredential_get_UserName(got, &user));
    CHECK_OK(PasswordCredential_get_Password(got, &password));
    CHECK_OK(PasswordCredential_get_Resource(got, &resource));
    CHECK(user && strcmp(user, "bob") == 0);
    CHECK(password && strcmp(password, "pw") == 0);
    CHECK(resource && strcmp(resource, "res") == 0);
    PasswordCredential_Release(got);

    /* Frozen at ConnectAsync, like every Control setting but MessageType. */
    CHECK_OK(MessageWebSocketControl_put_ProxyUri(control, proxy_url));
    CHECK_OK(tu_connect(ws, "/echo"));
    CHECK_HR(MessageWebSocketControl_put_ProxyUri(control, ""), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(MessageWebSocketControl_put_ProxyCredential(control, NULL), E_ILLEGAL_METHOD_CALL);
    PasswordCredential_Release(credential);
    MessageWebSocketControl_Release(control);
    MessageWebSocket_Release(ws);
}

static void test_direct_and_environment(void)
{
    /* "" is no proxy at all; NULL takes the environment, which never applies to
     * loopback hosts (so a proxy set in the environment cannot break these tests). */
    CHECK_OK(connect_via("", NULL, NULL));
    setenv("http_proxy", "http://127.0.0.1:1", 1);
    CHECK_OK(connect_via(NULL, NULL, NULL));
    unsetenv("http_proxy");
}

static void test_proxy_refuses(void)
{
    /* A proxy port where nothing listens: the connect fails as CannotConnect. */
    HRESULT hr = connect_via("http://127.0.0.1:1", NULL, NULL);
    CHECK_HR(hr, 0x80072EFD);
    CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_CannotConnect);
}

static const tu_test tests[] = {
    TU_TEST(test_proxy_credentials),
    TU_TEST(test_proxy_settings),
    TU_TEST(test_direct_and_environment),
    TU_TEST(test_proxy_refuses),
    TU_END,
};

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (argc < 3) {
        fprintf(stderr, "usage: %s ws://127.0.0.1:PORT http://127.0.0.1:PROXYPORT\n", argv[0]);
        return 2;
    }
    proxy_url = argv[2];
    tu_run(tests, argc - 3, argv + 3);
    return tu_finish();
}
