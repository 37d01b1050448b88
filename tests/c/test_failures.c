/*
 * Failure modes of a MessageWebSocket through the C ABI, against the bundled test
 * server's misbehaving routes (loopback only):
 *   ConnectTimeout, SendTimeout, ReceiveTimeout; unsolicited Pongs (keepalive) and
 *   answers to server Pings; broken handshakes and HTTP statuses; server credentials
 *   (HTTP Basic); connection reset / vanished / refused, a host name that does not
 *   resolve; canceling a connect and a queued store.
 *
 * Every case checks the HRESULT, WebSocketError_GetStatus of it, and the events:
 * a failure of an established connection is one MessageReceived whose
 * GetDataReader returns the failure, then exactly one Closed (1006).
 *
 * Usage: test_failures ws://127.0.0.1:PORT [TEST...]   (TEST: see tu_run in testutil.h)
 *
 * Handlers never use CHECK (they run on library threads and the check counters are
 * not thread-safe): they record what they saw, and the main thread checks it.
 */
#include "testutil.h"

/* Bound for anything that should happen promptly on loopback. */
#define WAIT_MS 5000
/* How long to watch for an event that must not come. */
#define QUIET_MS 150
/* 100 ns ticks. */
#define TICKS_PER_MS 10000LL
#define DAY_TICKS (24LL * 3600 * 1000 * TICKS_PER_MS)
/* Size of the messages that fill the kernel buffers of a server that never reads. */
#define BIG (4u << 20)
#define MAX_STORES 16

static TimeSpan ms_span(int64_t ms)
{
    TimeSpan t;
    t.Duration = ms * TICKS_PER_MS;
    return t;
}

static TimeSpan ticks(int64_t n)
{
    TimeSpan t;
    t.Duration = n;
    return t;
}

#define REC_WAIT_MS WAIT_MS
#define REC_QUIET_MS QUIET_MS
#include "recorder.h"

static AsyncStatus store_status(IAsyncOperationUInt32 *op)
{
    AsyncStatus s = -1;
    if (!op || RTWS_FAILED(IAsyncOperationUInt32_get_Status(op, &s)))
        return -1;
    return s;
}

static HRESULT store_error(IAsyncOperationUInt32 *op)
{
    HRESULT e = S_OK;
    if (!op || RTWS_FAILED(IAsyncOperationUInt32_get_ErrorCode(op, &e)))
        return E_UNEXPECTED;
    return e;
}

/* A send on a socket whose connection has ended is refused with RO_E_CLOSED, either by
 * StoreAsync itself or by the operation it returns. */
static void expect_store_refused(MessageWebSocket *ws)
{
    IAsyncOperationUInt32 *op = NULL;
    HRESULT hr = tu_store_nowait(ws, "late", 4, &op);
    if (RTWS_SUCCEEDED(hr) && op)
        hr = IAsyncOperationUInt32_Wait(op, WAIT_MS, NULL);
    CHECK_HR(hr, RO_E_CLOSED);
    if (op)
        IAsyncOperationUInt32_Release(op);
}

/* Connects `ws` to a full URL and waits (bounded); returns Wait's result and the
 * operation's final status. Checks that ErrorCode and GetResults agree with Wait. */
static HRESULT connect_url(MessageWebSocket *ws, const char *url, AsyncStatus *status)
{
    IAsyncAction *op = NULL;
    HRESULT hr = tu_connect_url(ws, url, WAIT_MS, status, &op);
    if (op && *status == AsyncStatus_Error) {
        HRESULT code = S_OK;
        CHECK_OK(IAsyncAction_get_ErrorCode(op, &code));
        CHECK(code == hr);
        CHECK_HR(IAsyncAction_GetResults(op), hr);
    }
    if (op)
        IAsyncAction_Release(op);
    return hr;
}

static HRESULT connect_path(MessageWebSocket *ws, const char *path, AsyncStatus *status)
{
    return connect_url(ws, tu_url(path), status);
}

/* Connects `ws` to `path` and checks that the operation fails with `expected`, which
 * GetStatus maps to `web`. */
static void expect_connect_failure(MessageWebSocket *ws, const char *path, HRESULT expected,
                                   WebErrorStatus web)
{
    AsyncStatus status;
    HRESULT hr = connect_path(ws, path, &status);
    CHECK_HR(hr, expected);
    CHECK(WebSocketError_GetStatus(hr) == web);
    CHECK(status == AsyncStatus_Error);
    if (hr != expected || status != AsyncStatus_Error)
        fprintf(stderr, "  connect %s: hr 0x%08X status %d, expected 0x%08X\n", path,
                (unsigned)hr, (int)status, (unsigned)expected);
}

/* ------------------------------------------------------------------------- */
/* Checks on the recorder's events (recorder.h), by event number.             */

/* Waits for MessageReceived number `i` (0-based) and checks that it is the text (or
 * binary, per `type`) message `text`. */
static void rec_expect_message(recorder *r, int i, SocketMessageType type, const char *text)
{
    CHECK(tu_signal_wait(&r->msgs, i + 1, WAIT_MS));
    rec_event e = rec_get(r, i);
    int ok = e.kind == 'M' && e.type == type && strcmp(e.text, text) == 0 &&
             e.len == strlen(text);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  event %d: kind '%c' hr 0x%08X type %d \"%s\", expected message \"%s\"\n",
                i, e.kind ? e.kind : '-', (unsigned)e.hr, (int)e.type, e.text, text);
}

/* Waits for MessageReceived number `i` and checks that its GetDataReader failed with
 * `expected` (or `alt`, when not 0), which GetStatus maps to `web` (or `alt_web`).
 * Returns the HRESULT seen. */
static HRESULT rec_expect_failure2(recorder *r, int i, HRESULT expected, WebErrorStatus web,
                                   HRESULT alt, WebErrorStatus alt_web)
{
    CHECK(tu_signal_wait(&r->msgs, i + 1, WAIT_MS));
    rec_event e = rec_get(r, i);
    int ok = e.kind == 'F' && (e.hr == expected || (alt != 0 && e.hr == alt));
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  event %d: kind '%c' hr 0x%08X, expected failure 0x%08X\n", i,
                e.kind ? e.kind : '-', (unsigned)e.hr, (unsigned)expected);
    if (e.hr == expected)
        CHECK(WebSocketError_GetStatus(e.hr) == web);
    else if (alt != 0 && e.hr == alt)
        CHECK(WebSocketError_GetStatus(e.hr) == alt_web);
    return e.hr;
}

static HRESULT rec_expect_failure(recorder *r, int i, HRESULT expected, WebErrorStatus web)
{
    return rec_expect_failure2(r, i, expected, web, 0, WebErrorStatus_Unknown);
}

/* Waits for Closed, then a little more to see that no event follows; checks it came
 * once, as event number `i` (so after every MessageReceived), with `code`. */
static void rec_expect_closed_at(recorder *r, int i, uint16_t code)
{
    rec_wait_closed(r);
    int n = rec_count(r);
    rec_event e = rec_get(r, i);
    CHECK(n == i + 1);
    CHECK(e.kind == 'C' && e.code == code);
    if (n != i + 1 || e.kind != 'C' || e.code != code)
        fprintf(stderr, "  %d events; event %d: kind '%c' code %u, expected Closed %u as event %d\n",
                n, i, e.kind ? e.kind : '-', (unsigned)e.code, (unsigned)code, i);
    pthread_mutex_lock(&r->lock);
    int after = r->after_closed, overlaps = r->overlaps;
    pthread_mutex_unlock(&r->lock);
    CHECK(after == 0);
    CHECK(overlaps == 0);
}

/* ------------------------------------------------------------------------- */
/* 1. ConnectTimeout.                                                          */

static void test_connect_timeout(void)
{
    recorder r;
    rec_init(&r);
    MessageWebSocket *ws = rec_socket(&r);
    MessageWebSocketControl *c = tu_control_of(ws);
    TimeSpan t = {0};

    /* Defaults: connect 60 s, send 30 s (UWP's). */
    CHECK_OK(MessageWebSocketControl_get_ConnectTimeout(c, &t));
    CHECK(t.Duration == 600000000LL);
    CHECK_OK(MessageWebSocketControl_get_SendTimeout(c, &t));
    CHECK(t.Duration == 300000000LL);
    CHECK_HR(MessageWebSocketControl_get_ConnectTimeout(c, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_SendTimeout(c, NULL), E_POINTER);

    /* Range: 1 ms to 1 day. */
    CHECK_HR(MessageWebSocketControl_put_ConnectTimeout(c, ticks(-1)), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_ConnectTimeout(c, ticks(INT64_MIN)), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_ConnectTimeout(c, ticks(0)), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_ConnectTimeout(c, ticks(TICKS_PER_MS - 1)), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_ConnectTimeout(c, ticks(DAY_TICKS + 1)), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_ConnectTimeout(c, ticks(INT64_MAX)), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_SendTimeout(c, ticks(-1)), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_SendTimeout(c, ticks(0)), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_SendTimeout(c, ticks(DAY_TICKS + 1)), E_INVALIDARG);
    CHECK_OK(MessageWebSocketControl_get_ConnectTimeout(c, &t));
    CHECK(t.Duration == 600000000LL); /* refused values change nothing */
    CHECK_OK(MessageWebSocketControl_get_SendTimeout(c, &t));
    CHECK(t.Duration == 300000000LL);
    CHECK_OK(MessageWebSocketControl_put_ConnectTimeout(c, ticks(DAY_TICKS)));
    CHECK_OK(MessageWebSocketControl_get_ConnectTimeout(c, &t));
    CHECK(t.Duration == DAY_TICKS);
    CHECK_OK(MessageWebSocketControl_put_ConnectTimeout(c, ticks(TICKS_PER_MS)));
    CHECK_OK(MessageWebSocketControl_get_ConnectTimeout(c, &t));
    CHECK(t.Duration == TICKS_PER_MS);

    /* 300 ms against a server that never answers the upgrade. */
    CHECK_OK(MessageWebSocketControl_put_ConnectTimeout(c, (TimeSpan){3000000}));
    CHECK_OK(MessageWebSocketControl_get_ConnectTimeout(c, &t));
    CHECK(t.Duration == 3000000LL);
    IAsyncAction *op = NULL;
    double t0 = tu_now_ms();
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/nohandshake"), &op));
    /* Frozen while the connect is pending. */
    CHECK_HR(MessageWebSocketControl_put_ConnectTimeout(c, ms_span(1000)), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(MessageWebSocketControl_put_SendTimeout(c, ms_span(1000)), E_ILLEGAL_METHOD_CALL);
    CHECK_OK(MessageWebSocketControl_get_ConnectTimeout(c, &t));
    CHECK(t.Duration == 3000000LL);
    if (op) {
        HRESULT hr = IAsyncAction_Wait(op, WAIT_MS);
        double elapsed = tu_now_ms() - t0;
        CHECK_HR(hr, WININET_E_TIMEOUT);
        CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_Timeout);
        CHECK(elapsed >= 250.0);
        CHECK(elapsed < 3000.0);
        if (elapsed < 250.0 || elapsed >= 3000.0)
            fprintf(stderr, "  ConnectTimeout 300 ms: failed after %.0f ms\n", elapsed);
        AsyncStatus status = -1;
        HRESULT code = S_OK;
        CHECK_OK(IAsyncAction_get_Status(op, &status));
        CHECK(status == AsyncStatus_Error);
        CHECK_OK(IAsyncAction_get_ErrorCode(op, &code));
        CHECK(code == WININET_E_TIMEOUT);
        CHECK_HR(IAsyncAction_GetResults(op), WININET_E_TIMEOUT);
        IAsyncAction_Release(op);
    }

    /* A failed connect unfreezes the settings, and the socket can retry. */
    CHECK_OK(MessageWebSocketControl_put_ConnectTimeout(c, ms_span(5000)));
    CHECK_OK(MessageWebSocketControl_put_SendTimeout(c, ms_span(5000)));
    AsyncStatus status;
    CHECK_OK(connect_path(ws, "/echo", &status));
    CHECK(status == AsyncStatus_Completed);
    CHECK_HR(MessageWebSocketControl_put_ConnectTimeout(c, ms_span(1000)), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(MessageWebSocketControl_put_SendTimeout(c, ms_span(1000)), E_ILLEGAL_METHOD_CALL);
    CHECK_OK(MessageWebSocketControl_get_ConnectTimeout(c, &t));
    CHECK(t.Duration == 5000 * TICKS_PER_MS);
    CHECK_OK(MessageWebSocketControl_get_SendTimeout(c, &t));
    CHECK(t.Duration == 5000 * TICKS_PER_MS);
    CHECK_OK(tu_send_text(ws, "hi"));
    rec_expect_message(&r, 0, SocketMessageType_Binary, "hi");
    CHECK_OK(MessageWebSocket_Close(ws));
    rec_expect_closed_at(&r, 1, 1005); /* the failed connect raised no Closed */
    CHECK_HR(MessageWebSocketControl_put_ConnectTimeout(c, ms_span(1000)), RO_E_CLOSED);

    MessageWebSocketControl_Release(c);
    CHECK(MessageWebSocket_Release(ws) == 0);
    rec_free(&r);
}

/* ------------------------------------------------------------------------- */
/* 2. SendTimeout: a server that never reads.                                  */

static void test_send_timeout(void)
{
    recorder r;
    rec_init(&r);
    MessageWebSocket *ws = rec_socket(&r);
    MessageWebSocketControl *c = tu_control_of(ws);
    CHECK_OK(MessageWebSocketControl_put_SendTimeout(c, ms_span(300)));
    AsyncStatus status;
    CHECK_OK(connect_path(ws, "/silent", &status));

    uint8_t *big = calloc(1, BIG);
    IAsyncOperationUInt32 *ops[MAX_STORES] = {0};
    int n = 0;
    double t0 = tu_now_ms();
    if (big) {
        for (n = 0; n < MAX_STORES; n++) {
            HRESULT hr = tu_store_nowait(ws, big, BIG, &ops[n]);
            if (RTWS_FAILED(hr)) {
                /* Only once the connection has already failed. */
                CHECK_HR(hr, RO_E_CLOSED);
                break;
            }
        }
    }
    CHECK(n >= 2);

    /* Every store finishes; the one that stalled (and those queued behind it) fail
     * with WININET_E_TIMEOUT. */
    int completed = 0, timed_out = 0, closed = 0, other = 0, first_error = -1;
    for (int i = 0; i < n; i++) {
        HRESULT hr = IAsyncOperationUInt32_Wait(ops[i], WAIT_MS, NULL);
        AsyncStatus s = store_status(ops[i]);
        if (s == AsyncStatus_Completed)
            completed++;
        else if (s == AsyncStatus_Error) {
            if (first_error < 0)
                first_error = i;
            if (hr == WININET_E_TIMEOUT)
                timed_out++;
            else if (hr == RO_E_CLOSED)
                closed++;
            else
                other++;
            CHECK(store_error(ops[i]) == hr);
        } else {
            other++;
            fprintf(stderr, "  store %d: status %d hr 0x%08X\n", i, (int)s, (unsigned)hr);
        }
    }
    double elapsed = tu_now_ms() - t0;
    CHECK(timed_out >= 1);
    CHECK(other == 0);
    CHECK(first_error >= 0 && store_error(ops[first_error]) == WININET_E_TIMEOUT);
    CHECK(completed + timed_out + closed == n);
    CHECK(elapsed < 5000.0);
    if (timed_out < 1 || other != 0 || elapsed >= 5000.0)
        fprintf(stderr, "  %d stores: %d completed, %d timed out, %d closed, %d other, %.0f ms\n",
                n, completed, timed_out, closed, other, elapsed);
    if (first_error >= 0)
        CHECK(WebSocketError_GetStatus(store_error(ops[first_error])) == WebErrorStatus_Timeout);

    /* The connection failure: MessageReceived with WININET_E_TIMEOUT, then Closed 1006. */
    rec_expect_failure(&r, 0, WININET_E_TIMEOUT, WebErrorStatus_Timeout);
    rec_expect_closed_at(&r, 1, 1006);
    rec_event f = rec_get(&r, 0);
    CHECK(f.at_ms - t0 < 5000.0);
    expect_store_refused(ws);

    for (int i = 0; i < n; i++)
        if (ops[i])
            IAsyncOperationUInt32_Release(ops[i]);
    free(big);
    MessageWebSocketControl_Release(c);
    CHECK(MessageWebSocket_Release(ws) == 0);
    rec_free(&r);
}

/* ------------------------------------------------------------------------- */
/* 3. ReceiveTimeout: a message that stops arriving; an idle connection.       */

static void test_receive_timeout(void)
{
    /* Default, range, freezing. */
    {
        MessageWebSocket *ws = NULL;
        CHECK_OK(MessageWebSocket_Create(&ws));
        MessageWebSocketControl *c = tu_control_of(ws);
        TimeSpan t = {0};
        CHECK_OK(MessageWebSocketControl_get_ReceiveTimeout(c, &t));
        CHECK(t.Duration == 300000000LL);
        CHECK_HR(MessageWebSocketControl_get_ReceiveTimeout(c, NULL), E_POINTER);
        CHECK_HR(MessageWebSocketControl_put_ReceiveTimeout(c, ticks(-1)), E_INVALIDARG);
        CHECK_HR(MessageWebSocketControl_put_ReceiveTimeout(c, ticks(0)), E_INVALIDARG);
        CHECK_HR(MessageWebSocketControl_put_ReceiveTimeout(c, ticks(DAY_TICKS + 1)), E_INVALIDARG);
        CHECK_OK(MessageWebSocketControl_get_ReceiveTimeout(c, &t));
        CHECK(t.Duration == 300000000LL);
        CHECK_OK(MessageWebSocketControl_put_ReceiveTimeout(c, ms_span(300)));
        CHECK_OK(MessageWebSocketControl_get_ReceiveTimeout(c, &t));
        CHECK(t.Duration == 300 * TICKS_PER_MS);
        MessageWebSocketControl_Release(c);
        CHECK(MessageWebSocket_Release(ws) == 0);
    }
    /* Half a frame, then silence: the connection fails ~300 ms after the last byte. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        MessageWebSocketControl *c = tu_control_of(ws);
        CHECK_OK(MessageWebSocketControl_put_ReceiveTimeout(c, ms_span(300)));
        AsyncStatus status;
        CHECK_OK(connect_path(ws, "/partial?after=1", &status));
        CHECK_HR(MessageWebSocketControl_put_ReceiveTimeout(c, ms_span(1000)), E_ILLEGAL_METHOD_CALL);
        CHECK_OK(tu_send_text(ws, "one"));
        rec_expect_message(&r, 0, SocketMessageType_Binary, "one");
        rec_expect_failure(&r, 1, WININET_E_TIMEOUT, WebErrorStatus_Timeout);
        rec_expect_closed_at(&r, 2, 1006);
        rec_event echo = rec_get(&r, 0), fail = rec_get(&r, 1);
        double after = fail.at_ms - echo.at_ms;
        CHECK(after >= 250.0);
        CHECK(after < 3000.0);
        if (after < 250.0 || after >= 3000.0)
            fprintf(stderr, "  ReceiveTimeout 300 ms: failed %.0f ms after the echo\n", after);
        expect_store_refused(ws);
        MessageWebSocketControl_Release(c);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
    /* An idle connection between messages never times out. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        MessageWebSocketControl *c = tu_control_of(ws);
        CHECK_OK(MessageWebSocketControl_put_ReceiveTimeout(c, ms_span(300)));
        AsyncStatus status;
        CHECK_OK(connect_path(ws, "/echo", &status));
        tu_sleep_ms(1000);
        CHECK(rec_count(&r) == 0);
        CHECK_OK(tu_send_text(ws, "still here"));
        rec_expect_message(&r, 0, SocketMessageType_Binary, "still here");
        CHECK_OK(MessageWebSocket_Close(ws));
        rec_expect_closed_at(&r, 1, 1005);
        MessageWebSocketControl_Release(c);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
}

/* ------------------------------------------------------------------------- */
/* 4. Keepalive: unsolicited Pongs.                                            */

static void test_keepalive(void)
{
    /* DesiredUnsolicitedPongInterval 50 ms: the server counts the Pongs for 600 ms. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        MessageWebSocketControl *c = tu_control_of(ws);
        TimeSpan t = {-1};
        CHECK_OK(MessageWebSocketControl_get_DesiredUnsolicitedPongInterval(c, &t));
        CHECK(t.Duration == 0);
        t.Duration = -1;
        CHECK_OK(MessageWebSocketControl_get_ActualUnsolicitedPongInterval(c, &t));
        CHECK(t.Duration == 0);
        CHECK_HR(MessageWebSocketControl_get_DesiredUnsolicitedPongInterval(c, NULL), E_POINTER);
        CHECK_HR(MessageWebSocketControl_get_ActualUnsolicitedPongInterval(c, NULL), E_POINTER);

        /* 0, or 10 ms to 1 day. */
        CHECK_HR(MessageWebSocketControl_put_DesiredUnsolicitedPongInterval(c, ticks(-1)), E_INVALIDARG);
        CHECK_HR(MessageWebSocketControl_put_DesiredUnsolicitedPongInterval(c, ms_span(-50)), E_INVALIDARG);
        CHECK_HR(MessageWebSocketControl_put_DesiredUnsolicitedPongInterval(c, ms_span(5)), E_INVALIDARG);
        CHECK_HR(MessageWebSocketControl_put_DesiredUnsolicitedPongInterval(c, ticks(10 * TICKS_PER_MS - 1)),
                 E_INVALIDARG);
        CHECK_HR(MessageWebSocketControl_put_DesiredUnsolicitedPongInterval(c, ticks(DAY_TICKS + 1)),
                 E_INVALIDARG);
        CHECK_OK(MessageWebSocketControl_get_DesiredUnsolicitedPongInterval(c, &t));
        CHECK(t.Duration == 0);
        CHECK_OK(MessageWebSocketControl_put_DesiredUnsolicitedPongInterval(c, ms_span(10)));
        CHECK_OK(MessageWebSocketControl_put_DesiredUnsolicitedPongInterval(c, ticks(0)));
        CHECK_OK(MessageWebSocketControl_put_DesiredUnsolicitedPongInterval(c, ticks(500000)));
        CHECK_OK(MessageWebSocketControl_get_DesiredUnsolicitedPongInterval(c, &t));
        CHECK(t.Duration == 500000);
        CHECK_OK(MessageWebSocketControl_get_ActualUnsolicitedPongInterval(c, &t));
        CHECK(t.Duration == 0); /* not connected yet */

        AsyncStatus status;
        CHECK_OK(connect_path(ws, "/pongs?window=600", &status));
        CHECK_OK(MessageWebSocketControl_get_ActualUnsolicitedPongInterval(c, &t));
        CHECK(t.Duration == 500000);
        CHECK_HR(MessageWebSocketControl_put_DesiredUnsolicitedPongInterval(c, ms_span(100)),
                 E_ILLEGAL_METHOD_CALL);
        CHECK_OK(MessageWebSocketControl_get_DesiredUnsolicitedPongInterval(c, &t));
        CHECK(t.Duration == 500000);

        CHECK(tu_signal_wait(&r.msgs, 1, WAIT_MS));
        rec_event e = rec_get(&r, 0);
        int pongs = -1;
        CHECK(e.kind == 'M' && e.type == SocketMessageType_Utf8);
        CHECK(sscanf(e.text, "pongs=%d", &pongs) == 1);
        CHECK(pongs >= 5);
        if (pongs < 5)
            fprintf(stderr, "  50 ms pongs over 600 ms: server says \"%s\"\n", e.text);
        rec_expect_closed_at(&r, 1, 1000);
        MessageWebSocketControl_Release(c);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
    /* Default (0): no Pong at all. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        MessageWebSocketControl *c = tu_control_of(ws);
        AsyncStatus status;
        TimeSpan t = {-1};
        CHECK_OK(connect_path(ws, "/pongs?window=300", &status));
        CHECK_OK(MessageWebSocketControl_get_ActualUnsolicitedPongInterval(c, &t));
        CHECK(t.Duration == 0);
        rec_expect_message(&r, 0, SocketMessageType_Utf8, "pongs=0");
        rec_expect_closed_at(&r, 1, 1000);
        MessageWebSocketControl_Release(c);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
}

/* ------------------------------------------------------------------------- */
/* 5. Server Pings are answered with matching Pongs.                           */

static void test_server_pings(void)
{
    recorder r;
    rec_init(&r);
    MessageWebSocket *ws = rec_socket(&r);
    AsyncStatus status;
    CHECK_OK(connect_path(ws, "/ping?count=3&interval=50", &status));
    rec_expect_message(&r, 0, SocketMessageType_Utf8, "pongs=3");
    rec_expect_closed_at(&r, 1, 1000);
    CHECK(MessageWebSocket_Release(ws) == 0);
    rec_free(&r);
}

/* ------------------------------------------------------------------------- */
/* 6. Handshake failures, on one socket that is retried each time.             */

/* A Closed handler that counts (context: a tu_signal). */
static void on_closed_count(void *ctx, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    (void)sender;
    (void)args;
    tu_signal_bump((tu_signal *)ctx);
}

static void test_handshake_failures(void)
{
    /* Broken handshakes and HTTP statuses on one socket: no event for any, then the same
     * socket connects and works. */
    {
        static const struct {
            int code;
            WebErrorStatus web;
        } statuses[] = {
            {400, WebErrorStatus_BadRequest},       {403, WebErrorStatus_Forbidden},
            {404, WebErrorStatus_NotFound},         {500, WebErrorStatus_InternalServerError},
            {503, WebErrorStatus_ServiceUnavailable}, {301, WebErrorStatus_MovedPermanently},
            {302, WebErrorStatus_Found},
        };
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);

        expect_connect_failure(ws, "/badaccept", WININET_E_INVALID_SERVER_RESPONSE,
                               WebErrorStatus_ErrorHttpInvalidServerResponse);
        expect_connect_failure(ws, "/garbage", WININET_E_INVALID_SERVER_RESPONSE,
                               WebErrorStatus_ErrorHttpInvalidServerResponse);
        /* An extension nobody offered (rtws offers none unless asked). */
        expect_connect_failure(ws, "/extensions?value=permessage-deflate",
                               E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED, WebErrorStatus_Unknown);
        CHECK(strstr(rtws_GetLastErrorMessage(), "permessage-deflate") != NULL);
        /* Asked to offer permessage-deflate: answers beyond the offer fail the connect. */
        {
            static const char *beyond[] = {
                "/extensions?value=x-webkit-deflate-frame",
                "/extensions?value=permessage-deflate%3B%20server_max_window_bits%3D16",
                "/extensions?value=permessage-deflate%3B%20client_max_window_bits%3D12",
                "/extensions?value=permessage-deflate%3B%20foo",
                "/extensions?value=permessage-deflate%2C%20permessage-deflate",
            };
            MessageWebSocketControl *c = tu_control_of(ws);
            PerMessageDeflateOptions deflate = {true, false, false, 10, 15, 0};
            CHECK_OK(MessageWebSocketControl_put_PerMessageDeflate(c, deflate));
            for (size_t i = 0; i < sizeof beyond / sizeof beyond[0]; i++)
                expect_connect_failure(ws, beyond[i], E_PROTOCOL_EXTENSIONS_NOT_SUPPORTED,
                                       WebErrorStatus_Unknown);
            deflate.Enabled = false;
            CHECK_OK(MessageWebSocketControl_put_PerMessageDeflate(c, deflate));
            MessageWebSocketControl_Release(c);
        }
        for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
            char path[64];
            snprintf(path, sizeof path, "/status?code=%d", statuses[i].code);
            expect_connect_failure(ws, path, (HRESULT)(0x80190000u | (unsigned)statuses[i].code),
                                   statuses[i].web);
        }
        CHECK(HTTP_E_STATUS_NOT_FOUND == (HRESULT)0x80190194u);

        /* No event for any failed connect; the same socket then connects and works. */
        tu_sleep_ms(QUIET_MS);
        CHECK(rec_count(&r) == 0);
        AsyncStatus status;
        CHECK_OK(connect_path(ws, "/echo", &status));
        CHECK(status == AsyncStatus_Completed);
        CHECK_OK(tu_send_text(ws, "after failures"));
        rec_expect_message(&r, 0, SocketMessageType_Binary, "after failures");
        CHECK_OK(MessageWebSocket_CloseWithStatus(ws, 1000, "done"));
        rec_expect_closed_at(&r, 1, 1000);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
    /* 404, 401 and 500 on a socket with only a Closed handler: Wait, Status, ErrorCode and
     * GetResults of the failed operation; no Closed for a failed connect; the same socket
     * retried then works (and refuses another connect), and raises Closed once. */
    {
        AsyncStatus status;
        tu_signal closed;
        EventRegistrationToken token;
        MessageWebSocket *ws = NULL;
        tu_signal_init(&closed);
        CHECK_OK(MessageWebSocket_Create(&ws));
        CHECK_OK(MessageWebSocket_add_Closed(ws, on_closed_count, &closed, &token));

        /* 404 */
        IAsyncAction *op = NULL;
        CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/status?code=404"), &op));
        if (op) {
            HRESULT hr = IAsyncAction_Wait(op, WAIT_MS);
            CHECK_HR(hr, HTTP_E_STATUS_NOT_FOUND);
            CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_NotFound);
            HRESULT code = 0;
            CHECK_OK(IAsyncAction_get_Status(op, &status));
            CHECK(status == AsyncStatus_Error);
            CHECK_OK(IAsyncAction_get_ErrorCode(op, &code));
            CHECK(code == HTTP_E_STATUS_NOT_FOUND);
            CHECK_HR(IAsyncAction_GetResults(op), HTTP_E_STATUS_NOT_FOUND);
            IAsyncAction_Release(op);
        }
        /* 401 */
        HRESULT hr = tu_connect_url(ws, tu_url("/status?code=401"), WAIT_MS, &status, NULL);
        CHECK_HR(hr, HTTP_E_STATUS_DENIED);
        CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_Unauthorized);
        CHECK(status == AsyncStatus_Error);
        /* 500 */
        hr = tu_connect_url(ws, tu_url("/status?code=500"), WAIT_MS, &status, NULL);
        CHECK_HR(hr, (HRESULT)0x801901F4u);
        CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_InternalServerError);

        /* The failed socket can be retried, and then works. */
        CHECK_OK(tu_connect(ws, "/echo"));
        CHECK_HR(tu_connect_url(ws, tu_url("/echo"), WAIT_MS, &status, NULL),
                 E_ILLEGAL_METHOD_CALL); /* connected */
        CHECK_OK(tu_send_text(ws, "after retry"));
        CHECK(tu_signal_get(&closed) == 0); /* failed connects raise no Closed */
        CHECK_OK(MessageWebSocket_Close(ws));
        CHECK(tu_signal_wait(&closed, 1, WAIT_MS));
        tu_sleep_ms(100);
        CHECK(tu_signal_get(&closed) == 1);
        CHECK(MessageWebSocket_Release(ws) == 0);
        tu_signal_destroy(&closed);
    }
    /* Connection refused: nothing listens on the port; the same socket retried against
     * the server works. */
    {
        char url[128];
        AsyncStatus status;
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", tu_free_port());
        HRESULT hr = tu_connect_url(ws, url, WAIT_MS, &status, NULL);
        CHECK_HR(hr, WININET_E_CANNOT_CONNECT);
        CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_CannotConnect);
        CHECK(status == AsyncStatus_Error);
        CHECK_OK(tu_connect(ws, "/echo"));
        CHECK_OK(tu_send_text(ws, "retried"));
        CHECK(tu_signal_wait(&r.msgs, 1, WAIT_MS));
        pthread_mutex_lock(&r.lock);
        CHECK(r.n >= 1 && rec_is_message(&r.ev[0], SocketMessageType_Binary, "retried", 7));
        pthread_mutex_unlock(&r.lock);
        CHECK_OK(MessageWebSocket_Close(ws));
        rec_expect_closed(&r, 1005, "");
        rec_check_invariants(&r);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
}

/* ------------------------------------------------------------------------- */
/* 7. Server credentials (HTTP Basic).                                         */

static void check_credential(PasswordCredential *cred, const char *resource, const char *user,
                             const char *pass)
{
    const char *s = NULL;
    CHECK_OK(PasswordCredential_get_Resource(cred, &s));
    CHECK(s && strcmp(s, resource) == 0);
    s = NULL;
    CHECK_OK(PasswordCredential_get_UserName(cred, &s));
    CHECK(s && strcmp(s, user) == 0);
    s = NULL;
    CHECK_OK(PasswordCredential_get_Password(cred, &s));
    CHECK(s && strcmp(s, pass) == 0);
}

static void test_server_credential(void)
{
    const char *path = "/auth?user=alice&pass=s3cret";

    /* The credential object. */
    PasswordCredential *good = NULL, *bad = NULL, *got = NULL;
    CHECK_OK(PasswordCredential_Create("rtws", "alice", "s3cret", &good));
    CHECK_OK(PasswordCredential_Create("rtws", "alice", "wrong", &bad));
    if (!good || !bad)
        return;
    check_credential(good, "rtws", "alice", "s3cret");
    check_credential(bad, "rtws", "alice", "wrong");
    CHECK(PasswordCredential_AddRef(good) == 2);
    CHECK(PasswordCredential_Release(good) == 1);
    {
        PasswordCredential *none = NULL;
        const char *s = NULL;
        CHECK_HR(PasswordCredential_Create("rtws", "alice", "s3cret", NULL), E_POINTER);
        CHECK_HR(PasswordCredential_Create("rtws", NULL, "s3cret", &none), E_POINTER);
        CHECK_HR(PasswordCredential_Create("rtws", "alice", NULL, &none), E_POINTER);
        CHECK_HR(PasswordCredential_Create("rtws", "al\xFFice", "s3cret", &none), E_INVALIDARG);
        CHECK(none == NULL);
        CHECK_HR(PasswordCredential_get_UserName(good, NULL), E_POINTER);
        CHECK_HR(PasswordCredential_get_UserName(NULL, &s), E_POINTER);
    }

    /* No credential: 401 → HTTP_E_STATUS_DENIED, Unauthorized. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        MessageWebSocketControl *c = tu_control_of(ws);
        got = good; /* must be overwritten with NULL */
        CHECK_OK(MessageWebSocketControl_get_ServerCredential(c, &got));
        CHECK(got == NULL);
        expect_connect_failure(ws, path, HTTP_E_STATUS_DENIED, WebErrorStatus_Unauthorized);
        CHECK(HTTP_E_STATUS_DENIED == (HRESULT)0x80190191u);
        tu_sleep_ms(QUIET_MS);
        CHECK(rec_count(&r) == 0);

        /* A wrong password: retried once with Authorization, still 401. */
        CHECK_OK(MessageWebSocketControl_put_ServerCredential(c, bad));
        expect_connect_failure(ws, path, HTTP_E_STATUS_DENIED, WebErrorStatus_Unauthorized);
        tu_sleep_ms(QUIET_MS);
        CHECK(rec_count(&r) == 0);

        /* Put, get, clear. */
        CHECK_OK(MessageWebSocketControl_put_ServerCredential(c, good));
        got = NULL;
        CHECK_OK(MessageWebSocketControl_get_ServerCredential(c, &got));
        CHECK(got != NULL);
        if (got) {
            check_credential(got, "rtws", "alice", "s3cret");
            PasswordCredential_Release(got);
        }
        CHECK_OK(MessageWebSocketControl_put_ServerCredential(c, NULL));
        got = good;
        CHECK_OK(MessageWebSocketControl_get_ServerCredential(c, &got));
        CHECK(got == NULL);
        CHECK_HR(MessageWebSocketControl_get_ServerCredential(c, NULL), E_POINTER);
        /* Not a PasswordCredential: refused, nothing set. */
        CHECK_HR(MessageWebSocketControl_put_ServerCredential(c, (PasswordCredential *)ws),
                 E_INVALIDARG);
        got = good;
        CHECK_OK(MessageWebSocketControl_get_ServerCredential(c, &got));
        CHECK(got == NULL);

        /* The right one: the same socket connects and echoes. */
        CHECK_OK(MessageWebSocketControl_put_ServerCredential(c, good));
        AsyncStatus status;
        CHECK_OK(connect_path(ws, path, &status));
        CHECK(status == AsyncStatus_Completed);
        CHECK_HR(MessageWebSocketControl_put_ServerCredential(c, bad), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(MessageWebSocketControl_put_ServerCredential(c, NULL), E_ILLEGAL_METHOD_CALL);
        got = NULL;
        CHECK_OK(MessageWebSocketControl_get_ServerCredential(c, &got));
        if (got) {
            check_credential(got, "rtws", "alice", "s3cret");
            PasswordCredential_Release(got);
        } else
            CHECK(got != NULL);
        CHECK_OK(tu_send_text(ws, "authorized"));
        rec_expect_message(&r, 0, SocketMessageType_Binary, "authorized");
        CHECK_OK(MessageWebSocket_Close(ws));
        rec_expect_closed_at(&r, 1, 1005);
        MessageWebSocketControl_Release(c);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
    /* The control holds its own reference: the caller's can go first. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        MessageWebSocketControl *c = tu_control_of(ws);
        PasswordCredential *temp = NULL;
        CHECK_OK(PasswordCredential_Create("", "alice", "s3cret", &temp));
        CHECK_OK(MessageWebSocketControl_put_ServerCredential(c, temp));
        PasswordCredential_Release(temp);
        AsyncStatus status;
        CHECK_OK(connect_path(ws, path, &status));
        CHECK_OK(tu_send_text(ws, "again"));
        rec_expect_message(&r, 0, SocketMessageType_Binary, "again");
        CHECK_OK(MessageWebSocket_Close(ws));
        rec_expect_closed_at(&r, 1, 1005);
        MessageWebSocketControl_Release(c);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
    CHECK(PasswordCredential_Release(good) == 0);
    CHECK(PasswordCredential_Release(bad) == 0);
}

/* ------------------------------------------------------------------------- */
/* 8. Network failures.                                                        */

static void test_network_failures(void)
{
    /* TCP RST in the middle of a message. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        AsyncStatus status;
        CHECK_OK(connect_path(ws, "/reset?after=1&midmessage=1", &status));
        CHECK_OK(tu_send_text(ws, "one"));
        rec_expect_message(&r, 0, SocketMessageType_Binary, "one");
        rec_expect_failure(&r, 1, WININET_E_CONNECTION_RESET, WebErrorStatus_ConnectionReset);
        rec_expect_closed_at(&r, 2, 1006);
        expect_store_refused(ws);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
    /* FIN without a close frame. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        AsyncStatus status;
        CHECK_OK(connect_path(ws, "/vanish?after=0", &status));
        rec_expect_failure(&r, 0, WININET_E_CONNECTION_ABORTED, WebErrorStatus_ConnectionAborted);
        rec_expect_closed_at(&r, 1, 1006);
        expect_store_refused(ws);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
    /* Connection refused. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        char url[128];
        AsyncStatus status;
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", tu_free_port());
        HRESULT hr = connect_url(ws, url, &status);
        CHECK_HR(hr, WININET_E_CANNOT_CONNECT);
        CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_CannotConnect);
        CHECK(status == AsyncStatus_Error);
        tu_sleep_ms(QUIET_MS);
        CHECK(rec_count(&r) == 0);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
    /* A host name that does not resolve. A 70-character label is refused by the system
     * resolver itself (glibc checks label lengths before it builds a query), so no DNS
     * packet leaves the machine. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        char url[128];
        AsyncStatus status;
        snprintf(url, sizeof url, "ws://%.70s.invalid:80/",
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        HRESULT hr = connect_url(ws, url, &status);
        CHECK_HR(hr, WININET_E_NAME_NOT_RESOLVED);
        CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_HostNameNotResolved);
        CHECK(status == AsyncStatus_Error);
        tu_sleep_ms(QUIET_MS);
        CHECK(rec_count(&r) == 0);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
    /* Stores pending when the connection is lost fail, none hangs. /reset echoes one
     * message, sends part of a frame, pauses 100 ms and resets: three 4 MiB messages,
     * written into their DataWriters beforehand, are stored at once behind the first
     * message, so they are still pending (the server reads nothing more) at the RST. */
    {
        enum { NW = 3 };
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        uint8_t *big = calloc(1, BIG);
        DataWriter *writers[NW] = {0};
        IAsyncOperationUInt32 *ops[NW + 1] = {0};
        for (int i = 0; i < NW; i++) {
            writers[i] = tu_writer_for(ws);
            CHECK(writers[i] != NULL);
            if (writers[i] && big)
                CHECK_OK(DataWriter_WriteBytes(writers[i], BIG, big));
        }
        AsyncStatus status;
        CHECK_OK(connect_path(ws, "/reset?after=1&midmessage=1", &status));
        int n = 0;
        CHECK_OK(tu_store_nowait(ws, "one", 3, &ops[n++]));
        for (int i = 0; i < NW; i++)
            if (writers[i]) {
                CHECK_OK(DataWriter_StoreAsync(writers[i], &ops[n]));
                n++;
            }
        double t0 = tu_now_ms();
        int errors = 0, bad = 0;
        for (int i = 0; i < n; i++) {
            HRESULT hr = ops[i] ? IAsyncOperationUInt32_Wait(ops[i], WAIT_MS, NULL) : E_POINTER;
            AsyncStatus s = store_status(ops[i]);
            if (s == AsyncStatus_Error) {
                errors++;
                if (hr != WININET_E_CONNECTION_RESET && hr != WININET_E_CONNECTION_ABORTED &&
                    hr != RO_E_CLOSED) {
                    bad++;
                    fprintf(stderr, "  pending store %d failed with 0x%08X\n", i, (unsigned)hr);
                }
            } else if (s != AsyncStatus_Completed) {
                bad++;
                fprintf(stderr, "  pending store %d: status %d hr 0x%08X after the reset\n", i,
                        (int)s, (unsigned)hr);
            }
        }
        CHECK(store_status(ops[0]) == AsyncStatus_Completed);
        CHECK(errors >= 1); /* at least the last 4 MiB could not go out */
        CHECK(store_status(ops[n - 1]) == AsyncStatus_Error);
        CHECK(bad == 0);
        CHECK(tu_now_ms() - t0 < 3000.0);
        rec_expect_message(&r, 0, SocketMessageType_Binary, "one");
        rec_expect_failure2(&r, 1, WININET_E_CONNECTION_RESET, WebErrorStatus_ConnectionReset,
                            WININET_E_CONNECTION_ABORTED, WebErrorStatus_ConnectionAborted);
        rec_expect_closed_at(&r, 2, 1006);
        expect_store_refused(ws);
        for (int i = 0; i < n; i++)
            if (ops[i])
                IAsyncOperationUInt32_Release(ops[i]);
        for (int i = 0; i < NW; i++)
            tu_writer_done(writers[i]);
        free(big);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
}

/* ------------------------------------------------------------------------- */
/* 9. Cancellation.                                                            */

static void test_cancellation(void)
{
    /* A connect canceled while the handshake is pending. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        IAsyncAction *op = NULL;
        CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/nohandshake"), &op));
        if (op) {
            tu_sleep_ms(50);
            AsyncStatus status = -1;
            CHECK_OK(IAsyncAction_get_Status(op, &status));
            CHECK(status == AsyncStatus_Started);
            CHECK_OK(IAsyncAction_Cancel(op));
            HRESULT hr = IAsyncAction_Wait(op, WAIT_MS);
            CHECK_HR(hr, RTWS_E_CANCELLED);
            CHECK(RTWS_E_CANCELLED == (HRESULT)0x800704C7u);
            CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_OperationCanceled);
            CHECK_OK(IAsyncAction_get_Status(op, &status));
            CHECK(status == AsyncStatus_Canceled);
            HRESULT code = S_OK;
            CHECK_OK(IAsyncAction_get_ErrorCode(op, &code));
            CHECK(code == RTWS_E_CANCELLED);
            CHECK_HR(IAsyncAction_GetResults(op), RTWS_E_CANCELLED);
            IAsyncAction_Release(op);
        }
        AsyncStatus status;
        CHECK_OK(connect_path(ws, "/echo", &status));
        CHECK(status == AsyncStatus_Completed);
        CHECK_OK(tu_send_text(ws, "after cancel"));
        rec_expect_message(&r, 0, SocketMessageType_Binary, "after cancel");
        CHECK_OK(MessageWebSocket_Close(ws));
        rec_expect_closed_at(&r, 1, 1005);
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
    /* A store queued behind a stalled one is canceled. Close keeps what was queued
     * before it (it goes out ahead of the close frame); with a server that reads
     * nothing, SendTimeout then ends the connection and fails what was not written. */
    {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        MessageWebSocketControl *c = tu_control_of(ws);
        CHECK_OK(MessageWebSocketControl_put_SendTimeout(c, ms_span(2000)));
        AsyncStatus status;
        CHECK_OK(connect_path(ws, "/silent", &status));
        enum { N = 12 };
        uint8_t *big = calloc(1, BIG);
        IAsyncOperationUInt32 *ops[N] = {0};
        int n = 0;
        for (; big && n < N; n++)
            if (RTWS_FAILED(tu_store_nowait(ws, big, BIG, &ops[n])))
                break;
        CHECK(n == N);
        /* Let the pipe fill: the first stores complete, one stalls, the rest queue. */
        tu_sleep_ms(300);
        int started = 0;
        for (int i = 0; i < n; i++)
            if (store_status(ops[i]) == AsyncStatus_Started)
                started++;
        CHECK(started >= 2); /* the stalled one and at least one queued behind it */
        if (started < 2)
            fprintf(stderr, "  only %d of %d stores pending: the pipe did not fill\n", started, n);

        IAsyncOperationUInt32 *last = n > 0 ? ops[n - 1] : NULL;
        if (last && started >= 2) {
            CHECK_OK(IAsyncOperationUInt32_Cancel(last));
            uint32_t bytes = 12345;
            HRESULT hr = IAsyncOperationUInt32_Wait(last, WAIT_MS, &bytes);
            CHECK_HR(hr, RTWS_E_CANCELLED);
            CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_OperationCanceled);
            CHECK(store_status(last) == AsyncStatus_Canceled);
            CHECK(store_error(last) == RTWS_E_CANCELLED);
            CHECK_HR(IAsyncOperationUInt32_GetResults(last, &bytes), RTWS_E_CANCELLED);
            CHECK_OK(IAsyncOperationUInt32_Cancel(last)); /* finished: unchanged */
            CHECK(store_status(last) == AsyncStatus_Canceled);
        }
        /* The others are still pending (the cancel touched only its own store), and
         * the connection is still up. */
        CHECK(store_status(ops[n - 2]) == AsyncStatus_Started);
        CHECK(rec_count(&r) == 0);

        /* Close: every other pending store finishes within SendTimeout (+ margin). */
        CHECK_OK(MessageWebSocket_Close(ws));
        double t0 = tu_now_ms();
        int unfinished = 0;
        for (int i = 0; i < n - 1; i++) {
            double left = 3500.0 - (tu_now_ms() - t0);
            HRESULT hr = IAsyncOperationUInt32_Wait(ops[i], left > 0 ? (uint32_t)left : 0, NULL);
            AsyncStatus s = store_status(ops[i]);
            if (s != AsyncStatus_Completed && s != AsyncStatus_Error) {
                unfinished++;
                fprintf(stderr, "  store %d after Close: status %d hr 0x%08X\n", i, (int)s,
                        (unsigned)hr);
            }
        }
        CHECK(unfinished == 0);
        CHECK(tu_now_ms() - t0 < 4000.0);
        if (last)
            CHECK(store_status(last) == AsyncStatus_Canceled);
        expect_store_refused(ws);
        for (int i = 0; i < n; i++)
            if (ops[i])
                IAsyncOperationUInt32_Release(ops[i]);
        free(big);
        MessageWebSocketControl_Release(c);
        /* The server never confirms the close: Closed may be late; Release ends it. */
        CHECK(MessageWebSocket_Release(ws) == 0);
        rec_free(&r);
    }
}

static const tu_test tests[] = {
    TU_TEST(test_connect_timeout),
    TU_TEST(test_send_timeout),
    TU_TEST(test_receive_timeout),
    TU_TEST(test_keepalive),
    TU_TEST(test_server_pings),
    TU_TEST(test_handshake_failures),
    TU_TEST(test_server_credential),
    TU_TEST(test_network_failures),
    TU_TEST(test_cancellation),
    TU_END,
};

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    tu_run(tests, argc - 2, argv + 2);
    return tu_finish();
}
