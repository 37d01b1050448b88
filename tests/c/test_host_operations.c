/*
 * Operations and registrations made for front ends over the C ABI (the C++ projection's
 * coroutines, resume_background, co_await on a duration, delegates freed by the library):
 * completion sources (IAsyncAction_Create/_Complete and the three IAsyncOperation kinds),
 * ThreadPool_RunAsync and ThreadPool_DelayAsync, and the ...Ex registrations whose
 * context rtws releases when the registration ends.
 */
#include "testutil.h"

/* ---- A release counter ----------------------------------------------------------- */

/* The context of an Ex registration: how often its handler ran and its release came,
 * and how many handler calls release saw (it must come after the last one). */
typedef struct {
    tu_signal calls;
    tu_signal releases;
    int calls_at_release;
} owned;

static void owned_init(owned *o)
{
    tu_signal_init(&o->calls);
    tu_signal_init(&o->releases);
    o->calls_at_release = -1;
}

static void owned_destroy(owned *o)
{
    tu_signal_destroy(&o->calls);
    tu_signal_destroy(&o->releases);
}

static void release_owned(void *context)
{
    owned *o = context;
    o->calls_at_release = tu_signal_get(&o->calls);
    tu_signal_bump(&o->releases);
}

static void on_action(void *context, IAsyncAction *op, AsyncStatus status)
{
    (void)op;
    (void)status;
    tu_signal_bump(&((owned *)context)->calls);
}

/* ---- Completion sources ---------------------------------------------------------- */

static pthread_t completed_thread;
static AsyncStatus completed_status = -1;

static void on_action_where(void *context, IAsyncAction *op, AsyncStatus status)
{
    completed_thread = pthread_self();
    completed_status = status;
    on_action(context, op, status);
}

static void test_source_action_completes_on_the_completing_thread(void)
{
    IAsyncAction *op = NULL;
    AsyncStatus status = -1;
    owned o;
    owned_init(&o);
    CHECK_OK(IAsyncAction_Create(&op));
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Started);
    CHECK_OK(IAsyncAction_put_CompletedEx(op, on_action_where, &o, release_owned));
    CHECK(tu_signal_get(&o.calls) == 0);
    CHECK_HR(IAsyncAction_Wait(op, 0), RTWS_E_TIMEOUT);

    CHECK_OK(IAsyncAction_Complete(op, S_OK, NULL));
    CHECK(tu_signal_get(&o.calls) == 1);
    CHECK(pthread_equal(completed_thread, pthread_self()));
    CHECK(completed_status == AsyncStatus_Completed);
    CHECK(tu_signal_get(&o.releases) == 1);
    CHECK(o.calls_at_release == 1);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Completed);
    CHECK_OK(IAsyncAction_GetResults(op));
    CHECK_OK(IAsyncAction_Wait(op, RTWS_INFINITE));

    CHECK_HR(IAsyncAction_Complete(op, S_OK, NULL), E_ILLEGAL_STATE_CHANGE);
    CHECK_HR(IAsyncAction_Complete(op, E_FAIL, "late"), E_ILLEGAL_STATE_CHANGE);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Completed);
    CHECK(IAsyncAction_Release(op) == 0);
    owned_destroy(&o);
}

static void test_source_failure_carries_code_and_message(void)
{
    IAsyncAction *op = NULL, *plain = NULL;
    HRESULT code = 0;
    AsyncStatus status = -1;
    const HRESULT failure = (HRESULT)0x80072EFDu; /* WININET_E_CANNOT_CONNECT */

    CHECK_OK(IAsyncAction_Create(&op));
    CHECK_OK(IAsyncAction_Complete(op, failure, "the coroutine threw: no route"));
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Error);
    CHECK_OK(IAsyncAction_get_ErrorCode(op, &code));
    CHECK(code == failure);
    CHECK_HR(IAsyncAction_GetResults(op), failure);
    CHECK(strcmp(rtws_GetLastErrorMessage(), "the coroutine threw: no route") == 0);
    CHECK_HR(IAsyncAction_Wait(op, 1000), failure);
    CHECK(WebSocketError_GetStatus(code) == WebErrorStatus_CannotConnect);
    IAsyncAction_Release(op);

    /* Without a message: a text naming the code. */
    CHECK_OK(IAsyncAction_Create(&plain));
    CHECK_OK(IAsyncAction_Complete(plain, E_FAIL, NULL));
    CHECK_HR(IAsyncAction_GetResults(plain), E_FAIL);
    CHECK(strstr(rtws_GetLastErrorMessage(), "0x80004005") != NULL);
    IAsyncAction_Release(plain);
}

static void test_source_canceled_by_its_consumer(void)
{
    IAsyncAction *op = NULL;
    AsyncStatus status = -1;
    HRESULT code = 0;
    owned o;
    owned_init(&o);
    CHECK_OK(IAsyncAction_Create(&op));
    CHECK_OK(IAsyncAction_put_CompletedEx(op, on_action_where, &o, release_owned));
    CHECK_OK(IAsyncAction_Cancel(op));
    /* As for rtws's own operations: Canceled at once, Completed before Cancel returns. */
    CHECK(tu_signal_get(&o.calls) == 1);
    CHECK(completed_status == AsyncStatus_Canceled);
    CHECK(tu_signal_get(&o.releases) == 1);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Canceled);

    /* The producer finds out when it completes: S_FALSE, and nothing changes. */
    CHECK_HR(IAsyncAction_Complete(op, S_OK, NULL), S_FALSE);
    CHECK_HR(IAsyncAction_Complete(op, E_FAIL, NULL), S_FALSE);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Canceled);
    CHECK_OK(IAsyncAction_get_ErrorCode(op, &code));
    CHECK(code == RTWS_E_CANCELLED);
    CHECK(tu_signal_get(&o.calls) == 1);
    IAsyncAction_Release(op);
    owned_destroy(&o);
}

static void test_source_canceled_by_its_producer(void)
{
    IAsyncAction *op = NULL;
    AsyncStatus status = -1;
    CHECK_OK(IAsyncAction_Create(&op));
    CHECK_OK(IAsyncAction_Complete(op, RTWS_E_CANCELLED, NULL));
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Canceled);
    CHECK_HR(IAsyncAction_GetResults(op), RTWS_E_CANCELLED);
    IAsyncAction_Release(op);
}

static void test_source_operations_carry_their_results(void)
{
    IAsyncOperationUInt32 *u = NULL;
    IAsyncOperationBoolean *b = NULL;
    IAsyncOperationIBuffer *ib = NULL;
    IBuffer *given = NULL, *got = NULL;
    uint32_t n = 0, len = 0;
    bool flag = false;
    const uint8_t bytes[] = {1, 2, 3};

    CHECK_OK(IAsyncOperationUInt32_Create(&u));
    CHECK_HR(IAsyncOperationUInt32_GetResults(u, &n), E_ILLEGAL_METHOD_CALL);
    CHECK_OK(IAsyncOperationUInt32_Complete(u, S_OK, NULL, 42));
    CHECK_OK(IAsyncOperationUInt32_GetResults(u, &n));
    CHECK(n == 42);
    CHECK_HR(IAsyncOperationUInt32_Complete(u, S_OK, NULL, 7), E_ILLEGAL_STATE_CHANGE);
    IAsyncOperationUInt32_Release(u);

    CHECK_OK(IAsyncOperationBoolean_Create(&b));
    CHECK_OK(IAsyncOperationBoolean_Complete(b, S_OK, NULL, true));
    CHECK_OK(IAsyncOperationBoolean_Wait(b, 1000, &flag));
    CHECK(flag);
    IAsyncOperationBoolean_Release(b);

    CHECK_OK(Buffer_CreateFromBytes(bytes, 3, &given));
    CHECK_OK(IAsyncOperationIBuffer_Create(&ib));
    /* A NULL buffer on success is refused, and the operation stays started. */
    CHECK_HR(IAsyncOperationIBuffer_Complete(ib, S_OK, NULL, NULL), E_POINTER);
    CHECK_OK(IAsyncOperationIBuffer_Complete(ib, S_OK, NULL, given));
    IBuffer_Release(given); /* the operation holds its own reference */
    CHECK_OK(IAsyncOperationIBuffer_GetResults(ib, &got));
    CHECK_OK(IBuffer_get_Length(got, &len));
    CHECK(len == 3);
    IBuffer_Release(got);
    IAsyncOperationIBuffer_Release(ib);

    /* On failure the buffer is ignored and may be NULL. */
    CHECK_OK(IAsyncOperationIBuffer_Create(&ib));
    CHECK_OK(IAsyncOperationIBuffer_Complete(ib, E_FAIL, "read failed", NULL));
    CHECK_HR(IAsyncOperationIBuffer_GetResults(ib, &got), E_FAIL);
    IAsyncOperationIBuffer_Release(ib);
}

typedef struct {
    IAsyncAction *op;
    HRESULT hr;
} waiter;

static void *wait_for_op(void *arg)
{
    waiter *w = arg;
    w->hr = IAsyncAction_Wait(w->op, 10000);
    return NULL;
}

static void test_source_wakes_a_waiting_thread(void)
{
    waiter w = {NULL, E_UNEXPECTED};
    pthread_t t;
    CHECK_OK(IAsyncAction_Create(&w.op));
    CHECK(pthread_create(&t, NULL, wait_for_op, &w) == 0);
    tu_sleep_ms(50);
    CHECK_OK(IAsyncAction_Complete(w.op, S_OK, NULL));
    pthread_join(t, NULL);
    CHECK_OK(w.hr);
    IAsyncAction_Release(w.op);
}

static void test_source_bad_input(void)
{
    IAsyncAction *op = NULL, *delay = NULL;
    AsyncStatus status = -1;
    TimeSpan hour = {36000000000LL};

    CHECK_HR(IAsyncAction_Create(NULL), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_Create(NULL), E_POINTER);
    CHECK_HR(IAsyncAction_Complete(NULL, S_OK, NULL), E_POINTER);
    CHECK_HR(IAsyncAction_Complete((IAsyncAction *)(uintptr_t)0x12340, S_OK, NULL), E_INVALIDARG);

    CHECK_OK(IAsyncAction_Create(&op));
    CHECK_HR(IAsyncAction_Complete(op, E_FAIL, "\xff\xfe not UTF-8"), E_INVALIDARG);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Started);
    /* Close only once finished; then Complete is refused like any other member. */
    CHECK_HR(IAsyncAction_Close(op), E_ILLEGAL_STATE_CHANGE);
    CHECK_OK(IAsyncAction_Complete(op, S_OK, NULL));
    CHECK_OK(IAsyncAction_Close(op));
    CHECK_HR(IAsyncAction_Complete(op, S_OK, NULL), E_ILLEGAL_METHOD_CALL);
    IAsyncAction_Release(op);

    /* rtws's own operations are completed by rtws only. */
    CHECK_OK(ThreadPool_DelayAsync(hour, &delay));
    CHECK_HR(IAsyncAction_Complete(delay, S_OK, NULL), E_ILLEGAL_METHOD_CALL);
    CHECK_OK(IAsyncAction_Cancel(delay));
    IAsyncAction_Release(delay);
}

/* ---- ThreadPool ------------------------------------------------------------------ */

typedef struct {
    tu_signal ran;
    pthread_t thread;
    AsyncStatus status_inside;
    HRESULT wait_inside;
    int hold_ms;
} work_record;

static void work(void *context, IAsyncAction *operation)
{
    work_record *w = context;
    IAsyncAction *delay = NULL;
    TimeSpan ms20 = {200000};
    w->thread = pthread_self();
    if (RTWS_FAILED(IAsyncAction_get_Status(operation, &w->status_inside)))
        w->status_inside = -1;
    /* A pool thread may block: a Wait here is allowed. */
    w->wait_inside = ThreadPool_DelayAsync(ms20, &delay);
    if (RTWS_SUCCEEDED(w->wait_inside)) {
        w->wait_inside = IAsyncAction_Wait(delay, 5000);
        IAsyncAction_Release(delay);
    }
    if (w->hold_ms)
        tu_sleep_ms(w->hold_ms);
    tu_signal_bump(&w->ran);
}

static void test_run_async_runs_the_work_on_a_pool_thread(void)
{
    work_record w;
    IAsyncAction *op = NULL;
    AsyncStatus status = -1;
    memset(&w, 0, sizeof w);
    tu_signal_init(&w.ran);
    CHECK_OK(ThreadPool_RunAsync(work, &w, &op));
    CHECK_OK(IAsyncAction_Wait(op, 10000));
    CHECK(tu_signal_get(&w.ran) == 1);
    CHECK(!pthread_equal(w.thread, pthread_self()));
    CHECK(w.status_inside == AsyncStatus_Started);
    CHECK_OK(w.wait_inside);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Completed);
    IAsyncAction_Release(op);
    tu_signal_destroy(&w.ran);
}

static void test_run_async_canceled_while_the_work_runs(void)
{
    work_record w;
    IAsyncAction *op = NULL;
    AsyncStatus status = -1;
    memset(&w, 0, sizeof w);
    w.hold_ms = 200;
    tu_signal_init(&w.ran);
    CHECK_OK(ThreadPool_RunAsync(work, &w, &op));
    CHECK_OK(IAsyncAction_Cancel(op));
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Canceled);
    /* The work still runs, once. */
    CHECK(tu_signal_wait(&w.ran, 1, 10000));
    tu_sleep_ms(50);
    CHECK(tu_signal_get(&w.ran) == 1);
    CHECK_OK(IAsyncAction_get_Status(op, &status));
    CHECK(status == AsyncStatus_Canceled);
    IAsyncAction_Release(op);
    tu_signal_destroy(&w.ran);
}

static HRESULT wait_in_completed = S_OK;

static void on_delay_waits(void *context, IAsyncAction *op, AsyncStatus status)
{
    (void)status;
    wait_in_completed = IAsyncAction_Wait((IAsyncAction *)context, 1000);
    (void)op;
}

static void test_delay_completes_after_its_time(void)
{
    IAsyncAction *delay = NULL, *other = NULL;
    AsyncStatus status = -1;
    TimeSpan ms100 = {1000000};
    TimeSpan zero = {0};
    TimeSpan hour = {36000000000LL};
    struct timespec t0, t1;
    long elapsed_ms;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_OK(ThreadPool_DelayAsync(ms100, &delay));
    CHECK_OK(IAsyncAction_get_Status(delay, &status));
    CHECK(status == AsyncStatus_Started);
    CHECK_OK(IAsyncAction_Wait(delay, 10000));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(elapsed_ms >= 100);
    IAsyncAction_Release(delay);

    CHECK_OK(ThreadPool_DelayAsync(zero, &delay));
    CHECK_OK(IAsyncAction_get_Status(delay, &status));
    CHECK(status == AsyncStatus_Completed);
    IAsyncAction_Release(delay);

    /* Canceled at once, long before its time. */
    CHECK_OK(ThreadPool_DelayAsync(hour, &delay));
    CHECK_OK(IAsyncAction_Cancel(delay));
    CHECK_HR(IAsyncAction_Wait(delay, 1000), RTWS_E_CANCELLED);
    IAsyncAction_Release(delay);

    /* Its Completed handler is a handler: a blocking Wait there is refused. */
    CHECK_OK(ThreadPool_DelayAsync(hour, &other));
    CHECK_OK(ThreadPool_DelayAsync(ms100, &delay));
    CHECK_OK(IAsyncAction_put_Completed(delay, on_delay_waits, other));
    CHECK_OK(IAsyncAction_Wait(delay, 10000));
    tu_sleep_ms(50);
    CHECK(wait_in_completed == E_ILLEGAL_METHOD_CALL);
    IAsyncAction_Cancel(other);
    IAsyncAction_Release(other);
    IAsyncAction_Release(delay);
}

static void test_thread_pool_bad_input(void)
{
    IAsyncAction *op = NULL;
    TimeSpan negative = {-1};
    TimeSpan two_days = {2LL * 24 * 3600 * 10000000LL};
    TimeSpan zero = {0};
    CHECK_HR(ThreadPool_RunAsync(NULL, NULL, &op), E_POINTER);
    CHECK_HR(ThreadPool_RunAsync(work, NULL, NULL), E_POINTER);
    CHECK_HR(ThreadPool_DelayAsync(negative, &op), E_INVALIDARG);
    CHECK_HR(ThreadPool_DelayAsync(two_days, &op), E_INVALIDARG);
    CHECK_HR(ThreadPool_DelayAsync(zero, NULL), E_POINTER);
}

/* ---- Ex registrations: rtws releases the context --------------------------------- */

static void on_message(void *context, MessageWebSocket *sender,
                       MessageWebSocketMessageReceivedEventArgs *args)
{
    (void)sender;
    (void)args;
    tu_signal_bump(&((owned *)context)->calls);
}

static void on_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    (void)sender;
    (void)args;
    tu_signal_bump(&((owned *)context)->calls);
}

static void on_validation(void *context, MessageWebSocket *sender,
                          WebSocketServerCustomValidationRequestedEventArgs *args)
{
    (void)context;
    (void)sender;
    (void)args;
}

static void on_stream_closed(void *context, StreamWebSocket *sender,
                             WebSocketClosedEventArgs *args)
{
    (void)context;
    (void)sender;
    (void)args;
}

static void on_stream_validation(void *context, StreamWebSocket *sender,
                                 WebSocketServerCustomValidationRequestedEventArgs *args)
{
    (void)context;
    (void)sender;
    (void)args;
}

static void test_event_context_released_by_remove(void)
{
    MessageWebSocket *ws = NULL;
    EventRegistrationToken token;
    owned o;
    owned_init(&o);
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_add_MessageReceivedEx(ws, on_message, &o, release_owned, &token));
    CHECK(tu_signal_get(&o.releases) == 0);
    CHECK_OK(MessageWebSocket_remove_MessageReceived(ws, token));
    CHECK(tu_signal_get(&o.releases) == 1);
    /* Removing again changes nothing. */
    CHECK_OK(MessageWebSocket_remove_MessageReceived(ws, token));
    CHECK(tu_signal_get(&o.releases) == 1);
    MessageWebSocket_Release(ws);
    CHECK(tu_signal_get(&o.releases) == 1);
    owned_destroy(&o);
}

static void test_event_contexts_released_with_their_socket(void)
{
    MessageWebSocket *ws = NULL;
    StreamWebSocket *sws = NULL;
    EventRegistrationToken token;
    owned o;
    owned_init(&o);
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_add_MessageReceivedEx(ws, on_message, &o, release_owned, &token));
    CHECK_OK(MessageWebSocket_add_ClosedEx(ws, on_closed, &o, release_owned, &token));
    CHECK_OK(MessageWebSocket_add_ServerCustomValidationRequestedEx(ws, on_validation, &o,
                                                                    release_owned, &token));
    /* A plain registration and an Ex one with a NULL release release nothing. */
    CHECK_OK(MessageWebSocket_add_Closed(ws, on_closed, &o, &token));
    CHECK_OK(MessageWebSocket_add_ClosedEx(ws, on_closed, &o, NULL, &token));
    CHECK_OK(StreamWebSocket_Create(&sws));
    CHECK_OK(StreamWebSocket_add_ClosedEx(sws, on_stream_closed, &o, release_owned, &token));
    CHECK_OK(StreamWebSocket_add_ServerCustomValidationRequestedEx(sws, on_stream_validation, &o,
                                                                   release_owned, &token));
    CHECK(tu_signal_get(&o.releases) == 0);
    CHECK(MessageWebSocket_Release(ws) == 0);
    CHECK(tu_signal_get(&o.releases) == 3);
    CHECK(StreamWebSocket_Release(sws) == 0);
    CHECK(tu_signal_get(&o.releases) == 5);
    owned_destroy(&o);
}

static void test_failed_registrations_keep_the_context(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    DispatcherQueue *queue = NULL;
    EventRegistrationToken token;
    bool queued = false;
    owned o;
    owned_init(&o);
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_HR(MessageWebSocket_add_ClosedEx(ws, NULL, &o, release_owned, &token), E_POINTER);
    CHECK_HR(MessageWebSocket_add_ClosedEx(ws, on_closed, &o, release_owned, NULL), E_POINTER);
    CHECK_HR(MessageWebSocket_add_MessageReceivedEx((MessageWebSocket *)(uintptr_t)0x12340,
                                                    on_message, &o, release_owned, &token),
             E_INVALIDARG);
    MessageWebSocket_Release(ws);
    CHECK_HR(MessageWebSocket_add_ClosedEx(ws, on_closed, &o, release_owned, &token),
             E_INVALIDARG); /* released */

    CHECK_OK(IAsyncAction_Create(&op));
    CHECK_OK(IAsyncAction_put_CompletedEx(op, on_action, &o, release_owned));
    CHECK_HR(IAsyncAction_put_CompletedEx(op, on_action, &o, release_owned),
             E_ILLEGAL_DELEGATE_ASSIGNMENT);
    CHECK_HR(IAsyncAction_put_CompletedEx(op, NULL, &o, release_owned), E_POINTER);
    CHECK(tu_signal_get(&o.releases) == 0);
    CHECK_OK(IAsyncAction_Complete(op, S_OK, NULL));
    CHECK(tu_signal_get(&o.releases) == 1); /* the one registration that was taken */
    IAsyncAction_Release(op);

    CHECK_OK(DispatcherQueue_Create(&queue));
    CHECK_HR(DispatcherQueue_TryEnqueueEx(queue, NULL, &o, release_owned, &queued), E_POINTER);
    DispatcherQueue_Release(queue);
    CHECK(tu_signal_get(&o.releases) == 1);
    owned_destroy(&o);
}

/* The handler removes itself; release must come after it returned. */
typedef struct {
    owned o;
    EventRegistrationToken token;
    int releases_seen_inside;
} self_removing;

static void on_message_remove_self(void *context, MessageWebSocket *sender,
                                   MessageWebSocketMessageReceivedEventArgs *args)
{
    self_removing *s = context;
    (void)args;
    MessageWebSocket_remove_MessageReceived(sender, s->token);
    s->releases_seen_inside = tu_signal_get(&s->o.releases);
    tu_signal_bump(&s->o.calls);
}

static void release_self_removing(void *context)
{
    release_owned(&((self_removing *)context)->o);
}

static void test_event_context_released_after_its_handler_returned(void)
{
    MessageWebSocket *ws = NULL;
    DataWriter *w = NULL;
    IOutputStream *out = NULL;
    IAsyncOperationUInt32 *store = NULL;
    uint32_t n = 0;
    self_removing s;
    memset(&s, 0, sizeof s);
    owned_init(&s.o);
    s.releases_seen_inside = -1;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_add_MessageReceivedEx(ws, on_message_remove_self, &s,
                                                    release_self_removing, &s.token));
    CHECK_OK(tu_connect(ws, "/echo"));
    CHECK_OK(MessageWebSocket_get_OutputStream(ws, &out));
    CHECK_OK(DataWriter_CreateDataWriter(out, &w));
    CHECK_OK(DataWriter_WriteString(w, "hello", &n));
    CHECK_OK(DataWriter_StoreAsync(w, &store));
    CHECK_OK(IAsyncOperationUInt32_Wait(store, 10000, &n));
    CHECK(tu_signal_wait(&s.o.releases, 1, 10000));
    CHECK(tu_signal_get(&s.o.calls) == 1);
    CHECK(s.releases_seen_inside == 0);
    CHECK(s.o.calls_at_release == 1);
    IAsyncOperationUInt32_Release(store);
    DataWriter_Release(w);
    IOutputStream_Release(out);
    MessageWebSocket_Release(ws);
    CHECK(tu_signal_get(&s.o.releases) == 1);
    owned_destroy(&s.o);
}

/* A release may call rtws, even the object whose registration ended. */
typedef struct {
    MessageWebSocket *ws;
    HRESULT add_inside, remove_inside;
    tu_signal releases;
} reentrant;

static void release_reentrant(void *context)
{
    reentrant *r = context;
    EventRegistrationToken token;
    r->add_inside = MessageWebSocket_add_Closed(r->ws, on_closed, NULL, &token);
    r->remove_inside = MessageWebSocket_remove_Closed(r->ws, token);
    tu_signal_bump(&r->releases);
}

static void test_release_may_call_into_rtws(void)
{
    EventRegistrationToken token;
    reentrant r;
    memset(&r, 0, sizeof r);
    tu_signal_init(&r.releases);
    r.add_inside = r.remove_inside = E_UNEXPECTED;
    CHECK_OK(MessageWebSocket_Create(&r.ws));
    CHECK_OK(MessageWebSocket_add_ClosedEx(r.ws, on_closed, &r, release_reentrant, &token));
    CHECK_OK(MessageWebSocket_remove_Closed(r.ws, token));
    CHECK(tu_signal_get(&r.releases) == 1);
    CHECK_OK(r.add_inside);
    CHECK_OK(r.remove_inside);
    MessageWebSocket_Release(r.ws);
    tu_signal_destroy(&r.releases);
}

static void on_queued(void *context)
{
    tu_signal_bump(&((owned *)context)->calls);
}

static void test_queued_contexts_released_when_run_or_dropped(void)
{
    DispatcherQueue *queue = NULL;
    bool queued = false;
    uint32_t ran = 0;
    owned o;
    owned_init(&o);
    CHECK_OK(DispatcherQueue_Create(&queue));
    CHECK_OK(DispatcherQueue_TryEnqueueEx(queue, on_queued, &o, release_owned, &queued));
    CHECK(queued);
    CHECK_OK(DispatcherQueue_RunPending(queue, 10, 0, &ran));
    CHECK(ran == 1);
    CHECK(tu_signal_get(&o.calls) == 1);
    CHECK(tu_signal_get(&o.releases) == 1);
    CHECK(o.calls_at_release == 1);

    /* Two more never run: the queue is stopped with them pending. */
    CHECK_OK(DispatcherQueue_TryEnqueueEx(queue, on_queued, &o, release_owned, &queued));
    CHECK_OK(DispatcherQueue_TryEnqueueEx(queue, on_queued, &o, release_owned, &queued));
    CHECK(tu_signal_get(&o.releases) == 1);
    CHECK(DispatcherQueue_Release(queue) == 0);
    CHECK(tu_signal_get(&o.releases) == 3);
    CHECK(tu_signal_get(&o.calls) == 1);
    owned_destroy(&o);
}

static void test_completed_context_released_when_its_queue_drops_it(void)
{
    MessageWebSocket *ws = NULL;
    DispatcherQueue *queue = NULL;
    IAsyncAction *connect = NULL;
    owned o;
    owned_init(&o);
    CHECK_OK(DispatcherQueue_Create(&queue));
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_put_DispatcherQueue(ws, queue));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &connect));
    CHECK_OK(IAsyncAction_put_CompletedEx(connect, on_action, &o, release_owned));
    CHECK_OK(IAsyncAction_Wait(connect, 10000));
    /* Finished, its Completed queued and not run: stopping the queue drops it. */
    CHECK(tu_signal_get(&o.releases) == 0);
    CHECK(DispatcherQueue_Release(queue) == 0);
    CHECK(tu_signal_wait(&o.releases, 1, 5000));
    CHECK(tu_signal_get(&o.calls) == 0);
    IAsyncAction_Release(connect);
    MessageWebSocket_Release(ws);
    CHECK(tu_signal_get(&o.releases) == 1);
    owned_destroy(&o);
}

static const tu_test tests[] = {
    TU_TEST(test_source_action_completes_on_the_completing_thread),
    TU_TEST(test_source_failure_carries_code_and_message),
    TU_TEST(test_source_canceled_by_its_consumer),
    TU_TEST(test_source_canceled_by_its_producer),
    TU_TEST(test_source_operations_carry_their_results),
    TU_TEST(test_source_wakes_a_waiting_thread),
    TU_TEST(test_source_bad_input),
    TU_TEST(test_run_async_runs_the_work_on_a_pool_thread),
    TU_TEST(test_run_async_canceled_while_the_work_runs),
    TU_TEST(test_delay_completes_after_its_time),
    TU_TEST(test_thread_pool_bad_input),
    TU_TEST(test_event_context_released_by_remove),
    TU_TEST(test_event_contexts_released_with_their_socket),
    TU_TEST(test_failed_registrations_keep_the_context),
    TU_TEST(test_event_context_released_after_its_handler_returned),
    TU_TEST(test_release_may_call_into_rtws),
    TU_TEST(test_queued_contexts_released_when_run_or_dropped),
    TU_TEST(test_completed_context_released_when_its_queue_drops_it),
    TU_END,
};

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    tu_run(tests, argc - 2, argv + 2);
    return tu_finish();
}
