/*
 * IAsyncAction / IAsyncOperationUInt32 / IAsyncOperationBoolean semantics:
 * Completed (once, at once when already finished, on the calling thread then),
 * Cancel, Close, GetResults, Wait with timeouts, Id, ErrorCode of a failed connect.
 *
 * Pending operations come from the test server: a connect to /nohandshake never
 * completes; a large store to /silent (which never reads) stays on its way, and so
 * does a flush queued behind it.
 */
#include "testutil.h"

#define BLOCKED_STORE_SIZE (16u * 1024u * 1024u)

/* ---- helpers ------------------------------------------------------------------ */

/* What a Completed handler saw. */
typedef struct {
    tu_signal calls;
    pthread_t thread;
    void *context;
    void *op;
    AsyncStatus status;
    HRESULT status_hr;         /* get_Status inside the handler */
    AsyncStatus status_inside;
    HRESULT error_hr;          /* get_ErrorCode inside the handler */
    HRESULT error_inside;
    HRESULT results_hr;        /* GetResults inside the handler */
    uint32_t u32;
    bool b;
} completion;

static void completion_init(completion *c)
{
    memset(c, 0, sizeof *c);
    tu_signal_init(&c->calls);
    c->status = (AsyncStatus)-1;
    c->status_inside = (AsyncStatus)-1;
}

static void completion_record(completion *c, void *context, void *op, AsyncStatus status)
{
    pthread_mutex_lock(&c->calls.lock);
    c->thread = pthread_self();
    c->context = context;
    c->op = op;
    c->status = status;
    pthread_mutex_unlock(&c->calls.lock);
}

static void on_action(void *context, IAsyncAction *op, AsyncStatus status)
{
    completion *c = (completion *)context;
    completion_record(c, context, op, status);
    c->status_hr = IAsyncAction_get_Status(op, &c->status_inside);
    c->error_hr = IAsyncAction_get_ErrorCode(op, &c->error_inside);
    c->results_hr = IAsyncAction_GetResults(op);
    tu_signal_bump(&c->calls);
}

static void on_uint32(void *context, IAsyncOperationUInt32 *op, AsyncStatus status)
{
    completion *c = (completion *)context;
    completion_record(c, context, op, status);
    c->status_hr = IAsyncOperationUInt32_get_Status(op, &c->status_inside);
    c->error_hr = IAsyncOperationUInt32_get_ErrorCode(op, &c->error_inside);
    c->results_hr = IAsyncOperationUInt32_GetResults(op, &c->u32);
    tu_signal_bump(&c->calls);
}

static void on_boolean(void *context, IAsyncOperationBoolean *op, AsyncStatus status)
{
    completion *c = (completion *)context;
    completion_record(c, context, op, status);
    c->status_hr = IAsyncOperationBoolean_get_Status(op, &c->status_inside);
    c->error_hr = IAsyncOperationBoolean_get_ErrorCode(op, &c->error_inside);
    c->results_hr = IAsyncOperationBoolean_GetResults(op, &c->b);
    tu_signal_bump(&c->calls);
}

/* A socket connected to `path`, or NULL. */
static MessageWebSocket *connected(const char *path)
{
    MessageWebSocket *ws = NULL;
    if (RTWS_FAILED(MessageWebSocket_Create(&ws)))
        return NULL;
    if (RTWS_FAILED(tu_connect(ws, path))) {
        MessageWebSocket_Release(ws);
        return NULL;
    }
    return ws;
}

/* A finished store of `len` bytes on `ws` (the caller owns the op), or NULL. */
static IAsyncOperationUInt32 *finished_store(MessageWebSocket *ws, uint32_t len)
{
    static uint8_t bytes[64];
    IAsyncOperationUInt32 *op = NULL;
    DataWriter *w = tu_writer_for(ws);
    IOutputStream *out = NULL;
    if (!w)
        return NULL;
    if (RTWS_FAILED(DataWriter_WriteBytes(w, len, bytes)) ||
        RTWS_FAILED(DataWriter_StoreAsync(w, &op)))
        op = NULL;
    if (op && IAsyncOperationUInt32_Wait(op, 10000, NULL) != S_OK) {
        IAsyncOperationUInt32_Release(op);
        op = NULL;
    }
    if (RTWS_SUCCEEDED(DataWriter_DetachStream(w, &out)))
        IOutputStream_Release(out);
    DataWriter_Release(w);
    return op;
}

/* A finished flush on `ws` (caller owns it), or NULL. */
static IAsyncOperationBoolean *finished_flush(MessageWebSocket *ws)
{
    IOutputStream *out = NULL;
    IAsyncOperationBoolean *op = NULL;
    if (RTWS_FAILED(MessageWebSocket_get_OutputStream(ws, &out)))
        return NULL;
    if (RTWS_FAILED(IOutputStream_FlushAsync(out, &op)))
        op = NULL;
    IOutputStream_Release(out);
    if (op && IAsyncOperationBoolean_Wait(op, 10000, NULL) != S_OK) {
        IAsyncOperationBoolean_Release(op);
        op = NULL;
    }
    return op;
}

/* A socket connected to /silent with a 16 MiB store on its way (it cannot finish:
 * the server never reads) and a flush queued behind it. */
typedef struct {
    MessageWebSocket *ws;
    DataWriter *writer;
    IAsyncOperationUInt32 *store;
    IAsyncOperationBoolean *flush;
} blocked;

static int blocked_open(blocked *b)
{
    MessageWebSocketControl *control = NULL;
    uint8_t *data;
    memset(b, 0, sizeof *b);
    if (RTWS_FAILED(MessageWebSocket_Create(&b->ws)))
        return 0;
    if (RTWS_SUCCEEDED(MessageWebSocket_get_Control(b->ws, &control))) {
        MessageWebSocketControl_put_OutboundBufferSizeInBytes(control, 4096);
        MessageWebSocketControl_Release(control);
    }
    if (RTWS_FAILED(tu_connect(b->ws, "/silent")))
        return 0;
    b->writer = tu_writer_for(b->ws);
    if (!b->writer)
        return 0;
    data = calloc(BLOCKED_STORE_SIZE, 1);
    if (!data)
        return 0;
    DataWriter_WriteBytes(b->writer, BLOCKED_STORE_SIZE, data);
    free(data);
    if (RTWS_FAILED(DataWriter_StoreAsync(b->writer, &b->store)))
        return 0;
    if (RTWS_FAILED(DataWriter_FlushAsync(b->writer, &b->flush)))
        return 0;
    return 1;
}

static void blocked_close(blocked *b)
{
    if (b->store)
        IAsyncOperationUInt32_Release(b->store);
    if (b->flush)
        IAsyncOperationBoolean_Release(b->flush);
    if (b->writer)
        DataWriter_Release(b->writer);
    if (b->ws)
        MessageWebSocket_Release(b->ws);
}

/* Waits (at most 5 s) until the caller's reference to `op` is the only one left: rtws
 * drops its own once the operation's Completed handler has returned. Returns the count then
 * (1 when only the caller's is left). */
static uint32_t only_reference(IAsyncAction *op)
{
    uint32_t n = 0;
    for (int i = 0; i < 500; i++) {
        n = IAsyncAction_AddRef(op) - 1;
        IAsyncAction_Release(op);
        if (n == 1)
            break;
        tu_sleep_ms(10);
    }
    return n;
}

/* A port on 127.0.0.1 that refuses connections: bound, never listening. */
static int refused_fd = -1;
static char refused_url[64];

static int setup_refused_port(void)
{
    int port;
    refused_fd = tu_bind_loopback(&port);
    if (refused_fd < 0)
        return 0;
    snprintf(refused_url, sizeof refused_url, "ws://127.0.0.1:%u/", (unsigned)port);
    return 1;
}

/* ---- Completed on a finished operation ---------------------------------------- */

static void test_completed_runs_at_once_on_finished_action(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    completion c;
    completion_init(&c);
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op));
    CHECK_OK(IAsyncAction_Wait(op, 10000));

    CHECK_OK(IAsyncAction_put_Completed(op, on_action, &c));
    /* Ran before put_Completed returned, on this thread, with the right arguments. */
    CHECK(tu_signal_get(&c.calls) == 1);
    CHECK(pthread_equal(c.thread, pthread_self()));
    CHECK(c.context == &c);
    CHECK(c.op == (void *)op);
    CHECK(c.status == AsyncStatus_Completed);
    CHECK_OK(c.status_hr);
    CHECK(c.status_inside == AsyncStatus_Completed);
    CHECK_OK(c.error_hr);
    CHECK(c.error_inside == S_OK);
    CHECK_OK(c.results_hr);
    tu_sleep_ms(50);
    CHECK(tu_signal_get(&c.calls) == 1); /* once only */

    CHECK(only_reference(op) == 1); /* rtws's own reference went with the handler */
    CHECK(IAsyncAction_Release(op) == 0);
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&c.calls);
}

static void test_completed_runs_at_once_on_failed_action(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    completion c;
    completion_init(&c);
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, refused_url, &op));
    CHECK_HR(IAsyncAction_Wait(op, 10000), WININET_E_CANNOT_CONNECT);

    CHECK_OK(IAsyncAction_put_Completed(op, on_action, &c));
    CHECK(tu_signal_get(&c.calls) == 1);
    CHECK(pthread_equal(c.thread, pthread_self()));
    CHECK(c.status == AsyncStatus_Error);
    CHECK(c.status_inside == AsyncStatus_Error);
    CHECK(c.error_inside == WININET_E_CANNOT_CONNECT);
    CHECK(c.results_hr == WININET_E_CANNOT_CONNECT);

    IAsyncAction_Release(op);
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&c.calls);
}

static void test_completed_runs_at_once_on_finished_uint32(void)
{
    MessageWebSocket *ws = connected("/echo");
    IAsyncOperationUInt32 *op = NULL;
    completion c;
    completion_init(&c);
    CHECK(ws != NULL);
    if (!ws)
        return;
    op = finished_store(ws, 7);
    CHECK(op != NULL);
    if (op) {
        CHECK_OK(IAsyncOperationUInt32_put_Completed(op, on_uint32, &c));
        CHECK(tu_signal_get(&c.calls) == 1);
        CHECK(pthread_equal(c.thread, pthread_self()));
        CHECK(c.context == &c);
        CHECK(c.op == (void *)op);
        CHECK(c.status == AsyncStatus_Completed);
        CHECK(c.status_inside == AsyncStatus_Completed);
        CHECK(c.error_inside == S_OK);
        CHECK_OK(c.results_hr);
        CHECK(c.u32 == 7);
        IAsyncOperationUInt32_Release(op);
    }
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&c.calls);
}

static void test_completed_runs_at_once_on_finished_boolean(void)
{
    MessageWebSocket *ws = connected("/echo");
    IAsyncOperationBoolean *op = NULL;
    completion c;
    completion_init(&c);
    CHECK(ws != NULL);
    if (!ws)
        return;
    op = finished_flush(ws);
    CHECK(op != NULL);
    if (op) {
        CHECK_OK(IAsyncOperationBoolean_put_Completed(op, on_boolean, &c));
        CHECK(tu_signal_get(&c.calls) == 1);
        CHECK(pthread_equal(c.thread, pthread_self()));
        CHECK(c.context == &c);
        CHECK(c.op == (void *)op);
        CHECK(c.status == AsyncStatus_Completed);
        CHECK(c.status_inside == AsyncStatus_Completed);
        CHECK(c.error_inside == S_OK);
        CHECK_OK(c.results_hr);
        CHECK(c.b == true);
        IAsyncOperationBoolean_Release(op);
    }
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&c.calls);
}

/* ---- put_Completed twice -------------------------------------------------------- */

static void test_completed_twice_is_refused(void)
{
    MessageWebSocket *ws = NULL, *echo = connected("/echo");
    IAsyncAction *pending = NULL, *done = NULL;
    IAsyncOperationUInt32 *store = NULL;
    IAsyncOperationBoolean *flush = NULL;
    completion c1, c2;
    completion_init(&c1);
    completion_init(&c2);
    CHECK(echo != NULL);

    /* Pending action: the second handler is refused, the first one is the one called. */
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/nohandshake"), &pending));
    CHECK_OK(IAsyncAction_put_Completed(pending, on_action, &c1));
    CHECK_HR(IAsyncAction_put_Completed(pending, on_action, &c2), E_ILLEGAL_DELEGATE_ASSIGNMENT);
    CHECK_HR(IAsyncAction_put_Completed(pending, on_action, &c1), E_ILLEGAL_DELEGATE_ASSIGNMENT);
    CHECK_OK(IAsyncAction_Cancel(pending));
    CHECK(tu_signal_wait(&c1.calls, 1, 5000));
    tu_sleep_ms(50);
    CHECK(tu_signal_get(&c1.calls) == 1);
    CHECK(tu_signal_get(&c2.calls) == 0);
    /* Still refused once the handler has run. */
    CHECK_HR(IAsyncAction_put_Completed(pending, on_action, &c2), E_ILLEGAL_DELEGATE_ASSIGNMENT);
    CHECK(tu_signal_get(&c2.calls) == 0);

    /* Finished action. */
    if (echo) {
        MessageWebSocket *ws2 = NULL;
        CHECK_OK(MessageWebSocket_Create(&ws2));
        CHECK_OK(MessageWebSocket_ConnectAsync(ws2, tu_url("/echo"), &done));
        CHECK_OK(IAsyncAction_Wait(done, 10000));
        CHECK_OK(IAsyncAction_put_Completed(done, tu_on_action_noop, NULL));
        CHECK_HR(IAsyncAction_put_Completed(done, tu_on_action_noop, NULL),
                 E_ILLEGAL_DELEGATE_ASSIGNMENT);
        IAsyncAction_Release(done);
        MessageWebSocket_Release(ws2);

        store = finished_store(echo, 3);
        CHECK(store != NULL);
        if (store) {
            CHECK_OK(IAsyncOperationUInt32_put_Completed(store, tu_on_uint32_noop, NULL));
            CHECK_HR(IAsyncOperationUInt32_put_Completed(store, tu_on_uint32_noop, NULL),
                     E_ILLEGAL_DELEGATE_ASSIGNMENT);
            IAsyncOperationUInt32_Release(store);
        }
        flush = finished_flush(echo);
        CHECK(flush != NULL);
        if (flush) {
            CHECK_OK(IAsyncOperationBoolean_put_Completed(flush, tu_on_boolean_noop, NULL));
            CHECK_HR(IAsyncOperationBoolean_put_Completed(flush, tu_on_boolean_noop, NULL),
                     E_ILLEGAL_DELEGATE_ASSIGNMENT);
            IAsyncOperationBoolean_Release(flush);
        }
        MessageWebSocket_Release(echo);
    }

    IAsyncAction_Release(pending);
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&c1.calls);
    tu_signal_destroy(&c2.calls);
}

static void test_completed_twice_on_pending_operations(void)
{
    blocked b;
    int ok = blocked_open(&b);
    CHECK(ok);
    if (ok) {
        CHECK_OK(IAsyncOperationUInt32_put_Completed(b.store, tu_on_uint32_noop, NULL));
        CHECK_HR(IAsyncOperationUInt32_put_Completed(b.store, tu_on_uint32_noop, NULL),
                 E_ILLEGAL_DELEGATE_ASSIGNMENT);
        CHECK_OK(IAsyncOperationBoolean_put_Completed(b.flush, tu_on_boolean_noop, NULL));
        CHECK_HR(IAsyncOperationBoolean_put_Completed(b.flush, tu_on_boolean_noop, NULL),
                 E_ILLEGAL_DELEGATE_ASSIGNMENT);
    }
    blocked_close(&b);
}

/* ---- the handler outlives the host's reference ---------------------------------- */

static void test_completed_after_release(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    completion c;
    completion_init(&c);
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/nohandshake"), &op));
    CHECK_OK(IAsyncAction_put_Completed(op, on_action, &c));
    IAsyncAction_Release(op); /* the host's only reference */
    tu_sleep_ms(50);
    CHECK(tu_signal_get(&c.calls) == 0); /* still pending */

    /* Closing the socket ends the pending connect (RTWS_E_OPERATION_ABORTED). */
    CHECK_OK(MessageWebSocket_Close(ws));
    CHECK(tu_signal_wait(&c.calls, 1, 5000));
    CHECK(c.op == (void *)op);
    CHECK(c.status == AsyncStatus_Error);
    CHECK_OK(c.status_hr); /* the handle is valid inside the handler */
    CHECK(c.status_inside == AsyncStatus_Error);
    CHECK_OK(c.error_hr);
    CHECK(c.error_inside == RTWS_E_OPERATION_ABORTED);
    CHECK(c.results_hr == RTWS_E_OPERATION_ABORTED);
    tu_sleep_ms(50);
    CHECK(tu_signal_get(&c.calls) == 1);
    /* And invalid once the handler has returned. */
    tu_sleep_ms(20);
    CHECK(IAsyncAction_AddRef(op) == 0);
    CHECK_HR(IAsyncAction_get_Status(op, &c.status), E_INVALIDARG);

    MessageWebSocket_Release(ws);
    tu_signal_destroy(&c.calls);

    /* Releasing does not cancel: a connect that goes through completes, the handler gets a
     * live handle, and the socket is connected. */
    completion_init(&c);
    op = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op));
    CHECK_OK(IAsyncAction_put_Completed(op, on_action, &c));
    IAsyncAction_Release(op);
    CHECK(tu_signal_wait(&c.calls, 1, 5000));
    CHECK(c.status == AsyncStatus_Completed);
    CHECK_OK(c.status_hr);
    CHECK(c.status_inside == AsyncStatus_Completed);
    {
        IAsyncOperationUInt32 *store = finished_store(ws, 10);
        uint32_t n = 0;
        CHECK(store != NULL);
        if (store) {
            CHECK_OK(IAsyncOperationUInt32_GetResults(store, &n));
            CHECK(n == 10);
            IAsyncOperationUInt32_Release(store);
        }
    }
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&c.calls);
}

static void test_completed_after_release_uint32(void)
{
    MessageWebSocket *ws = connected("/echo");
    DataWriter *w;
    IAsyncOperationUInt32 *op = NULL;
    IOutputStream *out = NULL;
    completion c;
    completion_init(&c);
    CHECK(ws != NULL);
    if (!ws)
        return;
    w = tu_writer_for(ws);
    CHECK(w != NULL);
    if (w) {
        CHECK_OK(DataWriter_WriteString(w, "hello", NULL));
        CHECK_OK(DataWriter_StoreAsync(w, &op));
        CHECK_OK(IAsyncOperationUInt32_put_Completed(op, on_uint32, &c));
        IAsyncOperationUInt32_Release(op);
        CHECK(tu_signal_wait(&c.calls, 1, 5000));
        CHECK(c.status == AsyncStatus_Completed);
        CHECK_OK(c.status_hr);
        CHECK(c.status_inside == AsyncStatus_Completed);
        CHECK_OK(c.results_hr);
        CHECK(c.u32 == 5);
        if (RTWS_SUCCEEDED(DataWriter_DetachStream(w, &out)))
            IOutputStream_Release(out);
        DataWriter_Release(w);
    }
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&c.calls);
}

/* ---- Cancel ---------------------------------------------------------------------- */

static void test_cancel_pending_connect(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    AsyncStatus status = (AsyncStatus)-1;
    HRESULT code = 0;
    completion c;
    completion_init(&c);
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/nohandshake"), &op));
    CHECK_OK(IAsyncAction_put_Completed(op, on_action, &c));
    tu_sleep_ms(50);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Started);
    CHECK(tu_signal_get(&c.calls) == 0);

    CHECK_OK(IAsyncAction_Cancel(op));
    CHECK_HR(IAsyncAction_Wait(op, 5000), RTWS_E_CANCELLED);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Canceled);
    CHECK_OK(IAsyncAction_get_ErrorCode(op, &code));
    CHECK(code == (HRESULT)0x800704C7);
    CHECK_HR(IAsyncAction_GetResults(op), 0x800704C7);
    CHECK(WebSocketError_GetStatus(code) == WebErrorStatus_OperationCanceled);

    CHECK(tu_signal_wait(&c.calls, 1, 5000));
    CHECK(c.status == AsyncStatus_Canceled);
    CHECK(c.status_inside == AsyncStatus_Canceled);
    CHECK(c.error_inside == RTWS_E_CANCELLED);
    CHECK(c.results_hr == RTWS_E_CANCELLED);

    /* Canceling again changes nothing and calls nobody. */
    CHECK_OK(IAsyncAction_Cancel(op));
    tu_sleep_ms(100);
    CHECK(tu_signal_get(&c.calls) == 1);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Canceled);
    CHECK_OK(IAsyncAction_Close(op));
    CHECK(only_reference(op) == 1);
    CHECK(IAsyncAction_Release(op) == 0);

    /* A canceled connect may be retried on the same socket. */
    CHECK_OK(tu_connect(ws, "/echo"));
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&c.calls);
}

static void test_cancel_after_completion_changes_nothing(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    IAsyncOperationUInt32 *store;
    IAsyncOperationBoolean *flush;
    AsyncStatus status = (AsyncStatus)-1;
    HRESULT code = -1;
    uint32_t n = 0;
    bool b = false;
    completion c;
    completion_init(&c);
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op));
    CHECK_OK(IAsyncAction_put_Completed(op, on_action, &c));
    CHECK_OK(IAsyncAction_Wait(op, 10000));
    CHECK(tu_signal_wait(&c.calls, 1, 5000));

    CHECK(c.op == (void *)op);
    CHECK_OK(c.status_hr); /* the handle is live inside the handler */
    CHECK(c.status_inside == AsyncStatus_Completed);

    CHECK_OK(IAsyncAction_Cancel(op));
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Completed);
    CHECK_OK(IAsyncAction_get_ErrorCode(op, &code));
    CHECK(code == S_OK);
    CHECK_OK(IAsyncAction_GetResults(op));
    CHECK_OK(IAsyncAction_Wait(op, 0));
    tu_sleep_ms(50);
    CHECK(tu_signal_get(&c.calls) == 1);
    CHECK(c.status == AsyncStatus_Completed);
    /* Still refused once the handler has run. */
    CHECK_HR(IAsyncAction_put_Completed(op, on_action, &c), E_ILLEGAL_DELEGATE_ASSIGNMENT);
    CHECK(only_reference(op) == 1);
    CHECK(IAsyncAction_Release(op) == 0);

    /* The connection is untouched by the late Cancel: a store still goes out. */
    store = finished_store(ws, 9);
    CHECK(store != NULL);
    if (store) {
        CHECK_OK(IAsyncOperationUInt32_Cancel(store));
        CHECK_OK(IAsyncOperationUInt32_get_Status(store, &status));
        CHECK(status == AsyncStatus_Completed);
        CHECK_OK(IAsyncOperationUInt32_GetResults(store, &n));
        CHECK(n == 9);
        IAsyncOperationUInt32_Release(store);
    }
    flush = finished_flush(ws);
    CHECK(flush != NULL);
    if (flush) {
        CHECK_OK(IAsyncOperationBoolean_Cancel(flush));
        CHECK_OK(IAsyncOperationBoolean_get_Status(flush, &status));
        CHECK(status == AsyncStatus_Completed);
        CHECK_OK(IAsyncOperationBoolean_GetResults(flush, &b));
        CHECK(b == true);
        IAsyncOperationBoolean_Release(flush);
    }
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&c.calls);
}

/* ---- Close, GetResults while started ------------------------------------------------ */

static void test_close_and_getresults_on_pending_action(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    AsyncStatus status = (AsyncStatus)-1;
    HRESULT code = -1;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/nohandshake"), &op));

    CHECK_HR(IAsyncAction_GetResults(op), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_Close(op), E_ILLEGAL_STATE_CHANGE);
    /* The refused Close left the operation usable. */
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Started);
    CHECK_OK(IAsyncAction_get_ErrorCode(op, &code));
    CHECK(code == S_OK); /* S_OK while started */

    CHECK_OK(IAsyncAction_Cancel(op));
    CHECK_HR(IAsyncAction_Wait(op, 5000), RTWS_E_CANCELLED);
    CHECK_OK(IAsyncAction_Close(op)); /* finished: Close is allowed */
    /* Closed (after a Cancel, as after a completion: test_close_after_completion): every
     * member but AddRef/Release refuses. */
    CHECK_HR(IAsyncAction_get_Status(op, &status), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_get_ErrorCode(op, &code), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_GetResults(op), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_Cancel(op), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_put_Completed(op, tu_on_action_noop, NULL), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_Wait(op, 0), E_ILLEGAL_METHOD_CALL);
    CHECK(only_reference(op) == 1);
    CHECK(IAsyncAction_AddRef(op) == 2);
    CHECK(IAsyncAction_Release(op) == 1);
    CHECK(IAsyncAction_Release(op) == 0);
    MessageWebSocket_Release(ws);
}

static void test_close_and_getresults_on_pending_operations(void)
{
    blocked b;
    int ok = blocked_open(&b);
    uint32_t n = 12345;
    bool flag = true;
    AsyncStatus status = (AsyncStatus)-1;
    CHECK(ok);
    if (ok) {
        tu_sleep_ms(100);
        CHECK_OK(IAsyncOperationUInt32_get_Status(b.store, &status));
        CHECK(status == AsyncStatus_Started);
        CHECK_HR(IAsyncOperationUInt32_GetResults(b.store, &n), E_ILLEGAL_METHOD_CALL);
        CHECK(n == 12345); /* untouched */
        CHECK_HR(IAsyncOperationUInt32_Close(b.store), E_ILLEGAL_STATE_CHANGE);
        CHECK_OK(IAsyncOperationUInt32_get_Status(b.store, &status));
        CHECK(status == AsyncStatus_Started);

        CHECK_OK(IAsyncOperationBoolean_get_Status(b.flush, &status));
        CHECK(status == AsyncStatus_Started);
        CHECK_HR(IAsyncOperationBoolean_GetResults(b.flush, &flag), E_ILLEGAL_METHOD_CALL);
        CHECK(flag == true);
        CHECK_HR(IAsyncOperationBoolean_Close(b.flush), E_ILLEGAL_STATE_CHANGE);
        CHECK_OK(IAsyncOperationBoolean_get_Status(b.flush, &status));
        CHECK(status == AsyncStatus_Started);
    }
    blocked_close(&b);
}

static void test_close_after_completion(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    IAsyncOperationUInt32 *store;
    IAsyncOperationBoolean *flush;
    AsyncStatus status = (AsyncStatus)-1;
    HRESULT code = -1;
    uint32_t n = 0;
    bool b = false;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op));
    CHECK_OK(IAsyncAction_Wait(op, 10000));
    CHECK_OK(IAsyncAction_Close(op));
    CHECK_HR(IAsyncAction_get_Status(op, &status), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_get_ErrorCode(op, &code), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_GetResults(op), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_Cancel(op), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_put_Completed(op, tu_on_action_noop, NULL), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_Wait(op, 0), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncAction_Wait(op, 100), E_ILLEGAL_METHOD_CALL);
    /* AddRef/Release still work on a closed operation. */
    CHECK(IAsyncAction_AddRef(op) == 2);
    CHECK(IAsyncAction_Release(op) == 1);
    CHECK(IAsyncAction_Release(op) == 0);

    store = finished_store(ws, 4);
    CHECK(store != NULL);
    if (store) {
        CHECK_OK(IAsyncOperationUInt32_Close(store));
        CHECK_HR(IAsyncOperationUInt32_get_Status(store, &status), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IAsyncOperationUInt32_get_ErrorCode(store, &code), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IAsyncOperationUInt32_GetResults(store, &n), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IAsyncOperationUInt32_Cancel(store), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IAsyncOperationUInt32_put_Completed(store, tu_on_uint32_noop, NULL),
                 E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IAsyncOperationUInt32_Wait(store, 0, &n), E_ILLEGAL_METHOD_CALL);
        CHECK(IAsyncOperationUInt32_Release(store) == 0);
    }
    flush = finished_flush(ws);
    CHECK(flush != NULL);
    if (flush) {
        CHECK_OK(IAsyncOperationBoolean_Close(flush));
        CHECK_HR(IAsyncOperationBoolean_get_Status(flush, &status), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IAsyncOperationBoolean_get_ErrorCode(flush, &code), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IAsyncOperationBoolean_GetResults(flush, &b), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IAsyncOperationBoolean_Cancel(flush), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IAsyncOperationBoolean_put_Completed(flush, tu_on_boolean_noop, NULL),
                 E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IAsyncOperationBoolean_Wait(flush, 0, &b), E_ILLEGAL_METHOD_CALL);
        CHECK(IAsyncOperationBoolean_Release(flush) == 0);
    }
    MessageWebSocket_Release(ws);
}

/* ---- Wait with timeouts ------------------------------------------------------------- */

/* A Wait that times out on a thread of its own (so no earlier failure set its last error
 * message): what the message was before, Wait's result, whether it set a message. */
typedef struct {
    IAsyncAction *op;
    int empty_before;
    HRESULT hr;
    int message_after;
} fresh_wait;

static void *wait_on_fresh_thread(void *arg)
{
    fresh_wait *f = arg;
    f->empty_before = rtws_GetLastErrorMessage()[0] == '\0';
    f->hr = IAsyncAction_Wait(f->op, 100);
    f->message_after = rtws_GetLastErrorMessage()[0] != '\0';
    return NULL;
}

static void test_wait_timeout_on_pending_action(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    AsyncStatus status = (AsyncStatus)-1;
    double t0, elapsed;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/nohandshake"), &op));

    t0 = tu_now_ms();
    CHECK_HR(IAsyncAction_Wait(op, 100), RTWS_E_TIMEOUT);
    elapsed = tu_now_ms() - t0;
    CHECK(elapsed >= 90.0);
    CHECK(elapsed < 3000.0);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Started);

    /* The timeout is a failure like any other: it sets the thread's last error message. */
    {
        fresh_wait f;
        pthread_t t;
        memset(&f, 0, sizeof f);
        f.op = op;
        CHECK(pthread_create(&t, NULL, wait_on_fresh_thread, &f) == 0);
        pthread_join(t, NULL);
        CHECK(f.empty_before);
        CHECK(f.hr == RTWS_E_TIMEOUT);
        CHECK(f.message_after);
    }

    /* Wait(0) polls: returns at once. */
    t0 = tu_now_ms();
    CHECK_HR(IAsyncAction_Wait(op, 0), RTWS_E_TIMEOUT);
    CHECK(tu_now_ms() - t0 < 50.0);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Started);

    CHECK_OK(IAsyncAction_Cancel(op));
    CHECK_HR(IAsyncAction_Wait(op, 5000), RTWS_E_CANCELLED);
    CHECK_HR(IAsyncAction_Wait(op, 0), RTWS_E_CANCELLED); /* polling a finished op */
    IAsyncAction_Release(op);

    /* Wait(0) on a completed operation returns its result. */
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op));
    CHECK_OK(IAsyncAction_Wait(op, 10000));
    t0 = tu_now_ms();
    CHECK_OK(IAsyncAction_Wait(op, 0));
    CHECK(tu_now_ms() - t0 < 50.0);
    IAsyncAction_Release(op);
    MessageWebSocket_Release(ws);
}

static void test_wait_timeout_on_pending_operations(void)
{
    blocked b;
    int ok = blocked_open(&b);
    uint32_t n = 777;
    bool flag = true;
    AsyncStatus status = (AsyncStatus)-1;
    double t0, elapsed;
    CHECK(ok);
    if (ok) {
        t0 = tu_now_ms();
        CHECK_HR(IAsyncOperationUInt32_Wait(b.store, 100, &n), RTWS_E_TIMEOUT);
        elapsed = tu_now_ms() - t0;
        CHECK(elapsed >= 90.0 && elapsed < 3000.0);
        CHECK(n == 777);
        CHECK_OK(IAsyncOperationUInt32_get_Status(b.store, &status));
        CHECK(status == AsyncStatus_Started);
        t0 = tu_now_ms();
        CHECK_HR(IAsyncOperationUInt32_Wait(b.store, 0, NULL), RTWS_E_TIMEOUT);
        CHECK(tu_now_ms() - t0 < 50.0);

        t0 = tu_now_ms();
        CHECK_HR(IAsyncOperationBoolean_Wait(b.flush, 100, &flag), RTWS_E_TIMEOUT);
        elapsed = tu_now_ms() - t0;
        CHECK(elapsed >= 90.0 && elapsed < 3000.0);
        CHECK(flag == true);
        CHECK_OK(IAsyncOperationBoolean_get_Status(b.flush, &status));
        CHECK(status == AsyncStatus_Started);
        t0 = tu_now_ms();
        CHECK_HR(IAsyncOperationBoolean_Wait(b.flush, 0, NULL), RTWS_E_TIMEOUT);
        CHECK(tu_now_ms() - t0 < 50.0);
    }
    blocked_close(&b);
}

static void test_wait_results(void)
{
    MessageWebSocket *ws = connected("/echo");
    DataWriter *w;
    IAsyncOperationUInt32 *store = NULL;
    IAsyncOperationBoolean *flush = NULL;
    IOutputStream *out = NULL;
    uint32_t n = 0;
    bool b = false;
    CHECK(ws != NULL);
    if (!ws)
        return;
    w = tu_writer_for(ws);
    CHECK(w != NULL);
    if (w) {
        CHECK_OK(DataWriter_WriteBytes(w, 5, (const uint8_t *)"abcde"));
        CHECK_OK(DataWriter_StoreAsync(w, &store));
        CHECK_OK(IAsyncOperationUInt32_Wait(store, 10000, &n));
        CHECK(n == 5);
        n = 0;
        CHECK_OK(IAsyncOperationUInt32_Wait(store, 0, &n));
        CHECK(n == 5);
        n = 0;
        CHECK_OK(IAsyncOperationUInt32_GetResults(store, &n));
        CHECK(n == 5);
        CHECK_OK(IAsyncOperationUInt32_Wait(store, 0, NULL)); /* results may be NULL */
        CHECK_OK(DataWriter_FlushAsync(w, &flush));
        CHECK_OK(IAsyncOperationBoolean_Wait(flush, 10000, &b));
        CHECK(b == true);
        b = false;
        CHECK_OK(IAsyncOperationBoolean_GetResults(flush, &b));
        CHECK(b == true);
        CHECK_OK(IAsyncOperationBoolean_Wait(flush, 0, NULL));
        IAsyncOperationUInt32_Release(store);
        IAsyncOperationBoolean_Release(flush);
        if (RTWS_SUCCEEDED(DataWriter_DetachStream(w, &out)))
            IOutputStream_Release(out);
        DataWriter_Release(w);
    }
    MessageWebSocket_Release(ws);
}

/* Wait inside a handler on an unfinished operation could wait for its own thread:
 * refused with E_ILLEGAL_METHOD_CALL unless it only polls. */
typedef struct {
    tu_signal done;
    IAsyncAction *pending;
    HRESULT wait_hr, poll_hr;
    double waited_ms; /* both Waits, in a Completed handler */
} wait_in_handler;

static void on_message_wait(void *context, MessageWebSocket *sender,
                            MessageWebSocketMessageReceivedEventArgs *args)
{
    wait_in_handler *w = (wait_in_handler *)context;
    (void)sender; (void)args;
    if (tu_signal_get(&w->done) > 0)
        return;
    w->wait_hr = IAsyncAction_Wait(w->pending, 1000);
    w->poll_hr = IAsyncAction_Wait(w->pending, 0);
    tu_signal_bump(&w->done);
}

/* The same inside a Completed handler (context: the wait_in_handler). */
static void on_completed_wait(void *context, IAsyncAction *op, AsyncStatus status)
{
    wait_in_handler *w = (wait_in_handler *)context;
    (void)op; (void)status;
    double t0 = tu_now_ms();
    w->wait_hr = IAsyncAction_Wait(w->pending, 1000);
    w->poll_hr = IAsyncAction_Wait(w->pending, 0);
    w->waited_ms = tu_now_ms() - t0;
    tu_signal_bump(&w->done);
}

static void test_wait_inside_handler(void)
{
    MessageWebSocket *echo = NULL, *hang = NULL;
    wait_in_handler w;
    EventRegistrationToken token;
    memset(&w, 0, sizeof w);
    tu_signal_init(&w.done);
    CHECK_OK(MessageWebSocket_Create(&hang));
    CHECK_OK(MessageWebSocket_ConnectAsync(hang, tu_url("/nohandshake"), &w.pending));
    echo = connected("/echo");
    CHECK(echo != NULL);
    if (echo) {
        CHECK_OK(MessageWebSocket_add_MessageReceived(echo, on_message_wait, &w, &token));
        CHECK_OK(tu_send_text(echo, "wait"));
        CHECK(tu_signal_wait(&w.done, 1, 5000));
        CHECK(w.wait_hr == E_ILLEGAL_METHOD_CALL);
        CHECK(w.poll_hr == RTWS_E_TIMEOUT);
        MessageWebSocket_Release(echo);
    }
    /* Inside a Completed handler, run by a Cancel of another pending connect. */
    {
        MessageWebSocket *other = NULL;
        IAsyncAction *op = NULL;
        w.wait_hr = w.poll_hr = S_OK;
        CHECK_OK(MessageWebSocket_Create(&other));
        CHECK_OK(MessageWebSocket_ConnectAsync(other, tu_url("/nohandshake"), &op));
        if (op) {
            CHECK_OK(IAsyncAction_put_Completed(op, on_completed_wait, &w));
            CHECK_OK(IAsyncAction_Cancel(op));
            CHECK(tu_signal_wait(&w.done, 2, 5000));
            CHECK(w.wait_hr == E_ILLEGAL_METHOD_CALL);
            CHECK(w.poll_hr == RTWS_E_TIMEOUT);
            CHECK(w.waited_ms < 900.0); /* refused at once, not after the timeout */
            IAsyncAction_Release(op);
        }
        MessageWebSocket_Release(other);
    }
    /* Outside handlers the same Wait is allowed (and times out). */
    CHECK_HR(IAsyncAction_Wait(w.pending, 50), RTWS_E_TIMEOUT);
    IAsyncAction_Cancel(w.pending);
    IAsyncAction_Release(w.pending);
    MessageWebSocket_Release(hang);
    tu_signal_destroy(&w.done);
}

/* ---- Id ---------------------------------------------------------------------------- */

static void test_ids_differ(void)
{
    MessageWebSocket *a = NULL, *b = NULL;
    IAsyncAction *c1 = NULL, *c2 = NULL;
    IAsyncOperationUInt32 *s1 = NULL, *s2 = NULL;
    IAsyncOperationBoolean *f1 = NULL;
    uint32_t ids[5] = {0, 0, 0, 0, 0}, again = 0;
    int i, j, distinct = 1;
    CHECK_OK(MessageWebSocket_Create(&a));
    CHECK_OK(MessageWebSocket_Create(&b));
    CHECK_OK(MessageWebSocket_ConnectAsync(a, tu_url("/echo"), &c1));
    CHECK_OK(MessageWebSocket_ConnectAsync(b, tu_url("/echo"), &c2));
    CHECK_OK(IAsyncAction_Wait(c1, 10000));
    CHECK_OK(IAsyncAction_Wait(c2, 10000));
    s1 = finished_store(a, 1);
    s2 = finished_store(a, 2);
    f1 = finished_flush(b);
    CHECK(s1 && s2 && f1);
    if (!(s1 && s2 && f1))
        goto out;
    CHECK_OK(IAsyncAction_get_Id(c1, &ids[0]));
    CHECK_OK(IAsyncAction_get_Id(c2, &ids[1]));
    CHECK_OK(IAsyncOperationUInt32_get_Id(s1, &ids[2]));
    CHECK_OK(IAsyncOperationUInt32_get_Id(s2, &ids[3]));
    CHECK_OK(IAsyncOperationBoolean_get_Id(f1, &ids[4]));
    for (i = 0; i < 5; i++)
        for (j = i + 1; j < 5; j++)
            if (ids[i] == ids[j])
                distinct = 0;
    CHECK(distinct);
    /* Stable for one operation. */
    CHECK_OK(IAsyncAction_get_Id(c1, &again));
    CHECK(again == ids[0]);
    CHECK_OK(IAsyncOperationUInt32_get_Id(s2, &again));
    CHECK(again == ids[3]);
out:
    if (s1) IAsyncOperationUInt32_Release(s1);
    if (s2) IAsyncOperationUInt32_Release(s2);
    if (f1) IAsyncOperationBoolean_Release(f1);
    IAsyncAction_Release(c1);
    IAsyncAction_Release(c2);
    MessageWebSocket_Release(a);
    MessageWebSocket_Release(b);
}

/* ---- ErrorCode of a failed connect --------------------------------------------------- */

static void test_error_code_of_refused_connect(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    AsyncStatus status = (AsyncStatus)-1;
    HRESULT code = 0;
    char before[512];
    const char *msg;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, refused_url, &op));
    /* Wait polls until it fails, without Wait recording the error itself. */
    {
        int i;
        for (i = 0; i < 1000; i++) {
            CHECK_OK(IAsyncAction_get_Status(op, &status));
            if (status != AsyncStatus_Started)
                break;
            tu_sleep_ms(10);
        }
    }
    CHECK(status == AsyncStatus_Error);

    /* Give the thread another last error first, to see get_ErrorCode replace it. */
    CHECK_HR(MessageWebSocket_Create(NULL), E_POINTER);
    snprintf(before, sizeof before, "%s", rtws_GetLastErrorMessage());
    CHECK_OK(IAsyncAction_get_ErrorCode(op, &code));
    CHECK(code == WININET_E_CANNOT_CONNECT);
    msg = rtws_GetLastErrorMessage();
    CHECK(msg != NULL && msg[0] != '\0');
    CHECK(msg != NULL && strcmp(msg, before) != 0);
    CHECK(msg != NULL && strstr(msg, "127.0.0.1") != NULL); /* names where it tried */
    CHECK(WebSocketError_GetStatus(code) == WebErrorStatus_CannotConnect);

    CHECK_HR(IAsyncAction_GetResults(op), WININET_E_CANNOT_CONNECT);
    CHECK_HR(IAsyncAction_Wait(op, 1000), WININET_E_CANNOT_CONNECT);
    IAsyncAction_Release(op);

    /* A failed connect may be retried on the same socket. */
    CHECK_OK(tu_connect(ws, "/echo"));
    MessageWebSocket_Release(ws);
}

static const tu_test tests[] = {
    TU_TEST(test_completed_runs_at_once_on_finished_action),
    TU_TEST(test_completed_runs_at_once_on_failed_action),
    TU_TEST(test_completed_runs_at_once_on_finished_uint32),
    TU_TEST(test_completed_runs_at_once_on_finished_boolean),
    TU_TEST(test_completed_twice_is_refused),
    TU_TEST(test_completed_twice_on_pending_operations),
    TU_TEST(test_completed_after_release),
    TU_TEST(test_completed_after_release_uint32),
    TU_TEST(test_cancel_pending_connect),
    TU_TEST(test_cancel_after_completion_changes_nothing),
    TU_TEST(test_close_and_getresults_on_pending_action),
    TU_TEST(test_close_and_getresults_on_pending_operations),
    TU_TEST(test_close_after_completion),
    TU_TEST(test_wait_timeout_on_pending_action),
    TU_TEST(test_wait_timeout_on_pending_operations),
    TU_TEST(test_wait_results),
    TU_TEST(test_wait_inside_handler),
    TU_TEST(test_ids_differ),
    TU_TEST(test_error_code_of_refused_connect),
    TU_END,
};

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (!setup_refused_port()) {
        fprintf(stderr, "cannot reserve a refusing port\n");
        return 1;
    }
    tu_run(tests, argc - 2, argv + 2);
    close(refused_fd);
    return tu_finish();
}
