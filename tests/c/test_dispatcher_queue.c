/*
 * DispatcherQueue (rtws extension modelled on Windows.System.DispatcherQueue), through the C
 * ABI: a socket of either class bound to a queue before ConnectAsync posts every event and
 * every Completed callback of its operations to the queue, and they run only inside
 * DispatcherQueue_RunPending on the host's thread.
 *
 *   - the queue alone: its fd readable exactly while work is pending, one signal per batch
 *     (an edge-triggered epoll sees one edge per batch), RunPending's count and time bounds,
 *     running it from inside its own handler or from two threads refused, Wait, HasThreadAccess
 *   - thread identity: every handler (MessageReceived, Closed, ServerCustomValidationRequested)
 *     and every Completed (ConnectAsync, StoreAsync, FlushAsync, WriteAsync, ReadAsync,
 *     LoadAsync) of both classes on the thread that runs RunPending, inside it, never elsewhere
 *   - per-socket order, TryEnqueue's order among socket events, remove_X purges queued
 *     invocations, the last Release with events queued, backpressure (a server floods, the host
 *     stops draining: the backlog stops at its bound, RSS stays bounded, then everything comes
 *     in order), Wait refused on the queue's thread (and working elsewhere), 20 sockets on one
 *     queue, the queue released while sockets are bound, and bad input.
 *
 * Run with the test server's TLS listeners (tlsutil.h: the custom validation test needs wss:).
 * Handlers only record (on whatever thread they run); the main thread checks.
 */
#include "tlsutil.h"

#include <poll.h>
#include <sys/epoll.h>

/* How long to watch for something that must not happen (longer under a memory checker). */
static int quiet_ms = 200;
/* Whether the program runs under valgrind or the ASan library (RSS means nothing there). */
static int under_checker;

/* ---- Where handlers run ---------------------------------------------------------------- */

/* The host thread (the test's), whether it is inside RunPending now, and what handlers saw. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t g_host;
static volatile int g_in_run;
static int g_calls, g_off_host, g_outside_run;

static void where_reset(void)
{
    pthread_mutex_lock(&g_lock);
    g_host = pthread_self();
    g_in_run = 0;
    g_calls = g_off_host = g_outside_run = 0;
    pthread_mutex_unlock(&g_lock);
}

/* Call first in every handler: counts calls off the host thread or outside RunPending. */
static void where(void)
{
    pthread_mutex_lock(&g_lock);
    g_calls++;
    if (!pthread_equal(pthread_self(), g_host))
        g_off_host++;
    else if (!g_in_run)
        g_outside_run++;
    pthread_mutex_unlock(&g_lock);
}

/* Every handler so far ran on the host thread inside RunPending, and at least `min` ran. */
static void check_where(int min)
{
    pthread_mutex_lock(&g_lock);
    int off = g_off_host, outside = g_outside_run, n = g_calls;
    pthread_mutex_unlock(&g_lock);
    CHECK(off == 0);
    CHECK(outside == 0);
    CHECK(n >= min);
    if (off || outside || n < min)
        fprintf(stderr, "  handlers: %d calls, %d off the host thread, %d outside RunPending\n", n,
                off, outside);
}

/* ---- The order in which handlers ran -------------------------------------------------- */

#define ORDER_MAX 256
static char g_order[ORDER_MAX][16];
static int g_norder;

static void order_reset(void)
{
    pthread_mutex_lock(&g_lock);
    g_norder = 0;
    pthread_mutex_unlock(&g_lock);
}

static void order_add(const char *tag, int n)
{
    pthread_mutex_lock(&g_lock);
    if (g_norder < ORDER_MAX)
        snprintf(g_order[g_norder], sizeof g_order[0], "%s%d", tag, n);
    g_norder++;
    pthread_mutex_unlock(&g_lock);
}

/* Checks that the order log is exactly `expected` (space-separated). */
static void check_order(const char *expected)
{
    char got[ORDER_MAX * 8] = "";
    size_t used = 0;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < g_norder && i < ORDER_MAX; i++)
        used += (size_t)snprintf(got + used, sizeof got - used, "%s%s", i ? " " : "", g_order[i]);
    pthread_mutex_unlock(&g_lock);
    CHECK(strcmp(got, expected) == 0);
    if (strcmp(got, expected) != 0)
        fprintf(stderr, "  order: got      \"%s\"\n         expected \"%s\"\n", got, expected);
}

/* ---- The queue ------------------------------------------------------------------------ */

static DispatcherQueue *queue_new(void)
{
    DispatcherQueue *q = NULL;
    CHECK_OK(DispatcherQueue_Create(&q));
    CHECK(q != NULL);
    return q;
}

static int fd_of(DispatcherQueue *q)
{
    int32_t fd = -1;
    if (RTWS_FAILED(DispatcherQueue_get_FileDescriptor(q, &fd)))
        return -1;
    return fd;
}

/* Whether `fd` is readable now (poll with a zero timeout). */
static int readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Waits at most `ms` for `fd` to be readable. */
static int wait_readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    double deadline = tu_now_ms() + ms;
    while (tu_now_ms() < deadline) {
        int left = (int)(deadline - tu_now_ms());
        if (poll(&p, 1, left > 0 ? left : 0) == 1 && (p.revents & POLLIN))
            return 1;
    }
    return readable(fd);
}

/* RunPending on the host thread (marked as inside it); returns how many ran. */
static uint32_t run(DispatcherQueue *q, uint32_t max_count, uint32_t max_ms)
{
    uint32_t ran = 0xFFFFFFFFu;
    g_in_run = 1;
    HRESULT hr = DispatcherQueue_RunPending(q, max_count, max_ms, &ran);
    g_in_run = 0;
    CHECK_OK(hr);
    return RTWS_SUCCEEDED(hr) ? ran : 0;
}

/* Runs one item of `q` (whose descriptor is `fd`) as a host loop would: waits for the
 * descriptor and runs at most one, until one ran or 10 s pass; returns how many ran. The
 * descriptor may be readable with nothing to run yet: the task's once-a-second look at a
 * socket the queue's thread reads can take an arrival first, and queues its event a moment
 * later. */
static uint32_t run_one(DispatcherQueue *q, int fd)
{
    double deadline = tu_now_ms() + 10000;
    uint32_t ran = 0;
    while (ran == 0 && tu_now_ms() < deadline)
        if (wait_readable(fd, (int)(deadline - tu_now_ms()) + 1))
            ran = run(q, 1, RTWS_INFINITE);
    return ran;
}

/* One turn of a host loop: waits at most `wait_ms` for the fd, then runs at most `max_count`. */
static void pump_once(DispatcherQueue *q, int wait_ms, uint32_t max_count)
{
    struct pollfd p = {fd_of(q), POLLIN, 0};
    poll(&p, 1, wait_ms);
    run(q, max_count, 100);
}

/* Runs the host loop until `cond` holds or `ms` pass. */
#define PUMP_UNTIL(q, cond, ms)                                                       \
    do {                                                                              \
        double pump_deadline_ = tu_now_ms() + (ms);                                   \
        while (!(cond) && tu_now_ms() < pump_deadline_)                               \
            pump_once((q), 20, 1000);                                                 \
    } while (0)

/* Runs the host loop for `ms` (to let anything that should not happen happen). */
static void pump_for(DispatcherQueue *q, int ms)
{
    double deadline = tu_now_ms() + ms;
    while (tu_now_ms() < deadline)
        pump_once(q, 20, 1000);
}

/* ---- The host's own work (TryEnqueue) -------------------------------------------------- */

typedef struct {
    const char *tag; /* for the order log (NULL: none) */
    int n;
    int ran;
    int sleep_ms;
} item;

static void item_run(void *context)
{
    item *it = (item *)context;
    where();
    it->ran++;
    if (it->tag)
        order_add(it->tag, it->n);
    if (it->sleep_ms)
        tu_sleep_ms(it->sleep_ms);
}

static void enqueue(DispatcherQueue *q, item *it)
{
    bool queued = false;
    CHECK_OK(DispatcherQueue_TryEnqueue(q, item_run, it, &queued));
    CHECK(queued);
}

/* ---- Completed handlers ------------------------------------------------------------------ */

typedef struct {
    int count;
    AsyncStatus status;
} done_t;

static void on_action(void *c, IAsyncAction *op, AsyncStatus s)
{
    (void)op;
    where();
    ((done_t *)c)->status = s;
    ((done_t *)c)->count++;
}
static void on_u32(void *c, IAsyncOperationUInt32 *op, AsyncStatus s)
{
    (void)op;
    where();
    ((done_t *)c)->status = s;
    ((done_t *)c)->count++;
}
static void on_bool(void *c, IAsyncOperationBoolean *op, AsyncStatus s)
{
    (void)op;
    where();
    ((done_t *)c)->status = s;
    ((done_t *)c)->count++;
}
static void on_buf(void *c, IAsyncOperationIBuffer *op, AsyncStatus s)
{
    (void)op;
    where();
    ((done_t *)c)->status = s;
    ((done_t *)c)->count++;
}

/* ---- A MessageWebSocket's events ---------------------------------------------------------- */

/* Messages carry their index (u32 big-endian) in their first 4 bytes. */
typedef struct {
    MessageWebSocket *ws;
    const char *tag;          /* messages go to the order log as TAG<index> (NULL: not) */
    int msgs, failures, closed, after_closed, wrong_sender, out_of_order;
    uint32_t next_index;
    uint64_t bytes;
    uint16_t code;
    int sleep_ms;             /* each MessageReceived handler call sleeps this long */
    EventRegistrationToken mt, ct;
} mrec;

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void mrec_on_message(void *context, MessageWebSocket *sender,
                            MessageWebSocketMessageReceivedEventArgs *args)
{
    mrec *r = (mrec *)context;
    DataReader *rd = NULL;
    uint32_t n = 0, index = 0xFFFFFFFFu;
    uint8_t b[4];
    where();
    if (sender != r->ws)
        r->wrong_sender++;
    if (r->closed)
        r->after_closed++;
    if (RTWS_FAILED(MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &rd))) {
        r->failures++;
        return;
    }
    DataReader_get_UnconsumedBufferLength(rd, &n);
    if (n >= 4 && RTWS_SUCCEEDED(DataReader_ReadBytes(rd, 4, b)))
        index = be32(b);
    DataReader_Release(rd);
    if (index != r->next_index)
        r->out_of_order++;
    r->next_index = index + 1;
    r->bytes += n;
    r->msgs++;
    if (r->tag)
        order_add(r->tag, (int)index);
    if (r->sleep_ms)
        tu_sleep_ms(r->sleep_ms);
}

static void mrec_on_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    mrec *r = (mrec *)context;
    where();
    if (sender != r->ws)
        r->wrong_sender++;
    WebSocketClosedEventArgs_get_Code(args, &r->code);
    r->closed++;
    if (r->tag)
        order_add("C", 0);
}

/* A MessageWebSocket bound to `q` (NULL: none) with `r`'s handlers. */
static MessageWebSocket *mws_bound(DispatcherQueue *q, mrec *r)
{
    MessageWebSocket *ws = NULL;
    memset(r, 0, sizeof *r);
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (!ws)
        return NULL;
    r->ws = ws;
    if (q)
        CHECK_OK(MessageWebSocket_put_DispatcherQueue(ws, q));
    CHECK_OK(MessageWebSocket_add_MessageReceived(ws, mrec_on_message, r, &r->mt));
    CHECK_OK(MessageWebSocket_add_Closed(ws, mrec_on_closed, r, &r->ct));
    return ws;
}

/* Starts ConnectAsync with a Completed handler counting into `d`; NULL if it failed. */
static IAsyncAction *mws_connect_start(MessageWebSocket *ws, const char *url, done_t *d)
{
    IAsyncAction *op = NULL;
    d->count = 0;
    d->status = -1;
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, url, &op));
    if (op)
        CHECK_OK(IAsyncAction_put_Completed(op, on_action, d));
    return op;
}

/* Connects a socket bound to `q`, running the queue (at most `per_run` items at a time) until
 * ConnectAsync's Completed ran. Returns 1 on success. */
static int mws_connect_bound(DispatcherQueue *q, MessageWebSocket *ws, const char *url,
                             uint32_t per_run)
{
    done_t d;
    IAsyncAction *op = mws_connect_start(ws, url, &d);
    if (!op)
        return 0;
    double deadline = tu_now_ms() + 10000;
    while (d.count == 0 && tu_now_ms() < deadline)
        pump_once(q, 20, per_run);
    CHECK(d.count == 1);
    CHECK(d.status == AsyncStatus_Completed);
    IAsyncAction_Release(op);
    return d.count == 1 && d.status == AsyncStatus_Completed;
}

/* Sends message `index` (`size` bytes, at least 4, at most 256) without waiting; the store's
 * Completed counts into `d` if not NULL. */
static void send_index(MessageWebSocket *ws, uint32_t index, uint32_t size, done_t *d)
{
    uint8_t buf[256] = {0};
    IAsyncOperationUInt32 *op = NULL;
    if (size < 4)
        size = 4;
    if (size > sizeof buf)
        size = sizeof buf;
    buf[0] = (uint8_t)(index >> 24);
    buf[1] = (uint8_t)(index >> 16);
    buf[2] = (uint8_t)(index >> 8);
    buf[3] = (uint8_t)index;
    CHECK_OK(tu_store_nowait(ws, buf, size, &op));
    if (op && d)
        CHECK_OK(IAsyncOperationUInt32_put_Completed(op, on_u32, d));
    if (op)
        IAsyncOperationUInt32_Release(op);
}

/* Waits (bounded) until `op` is no longer Started, without Wait (refused on the queue's
 * thread). */
static AsyncStatus status_settled_u32(IAsyncOperationUInt32 *op, int ms)
{
    AsyncStatus s = AsyncStatus_Started;
    double deadline = tu_now_ms() + ms;
    while (tu_now_ms() < deadline) {
        if (RTWS_FAILED(IAsyncOperationUInt32_get_Status(op, &s)) || s != AsyncStatus_Started)
            break;
        tu_sleep_ms(5);
    }
    return s;
}

/* The reference count of `op` once rtws let go of its references (bounded: rtws may release its
 * own a moment after the operation finished), read with AddRef/Release. */
static uint32_t refs_settled_u32(IAsyncOperationUInt32 *op, int ms)
{
    uint32_t n = 0;
    double deadline = tu_now_ms() + ms;
    do {
        n = IAsyncOperationUInt32_AddRef(op) - 1;
        IAsyncOperationUInt32_Release(op);
        if (n <= 1)
            break;
        tu_sleep_ms(5);
    } while (tu_now_ms() < deadline);
    return n;
}

/* ---- A thread that runs one function (for what must happen off the host thread) --------- */

typedef struct {
    pthread_t thread;
    void (*fn)(void *);
    void *arg;
} helper;

static void *helper_main(void *p)
{
    helper *h = (helper *)p;
    h->fn(h->arg);
    return NULL;
}

static void helper_start(helper *h, void (*fn)(void *), void *arg)
{
    h->fn = fn;
    h->arg = arg;
    CHECK(pthread_create(&h->thread, NULL, helper_main, h) == 0);
}

static void helper_join(helper *h)
{
    pthread_join(h->thread, NULL);
}

/* ======================================================================================= */
/* The queue alone                                                                          */
/* ======================================================================================= */

/* The fd is readable exactly while work is pending; work runs oldest first. */
static void test_fd_readable_while_pending(void)
{
    where_reset();
    order_reset();
    DispatcherQueue *q = queue_new();
    if (!q)
        return;
    int fd = fd_of(q);
    CHECK(fd >= 0);
    CHECK(!readable(fd));
    bool pending = true;
    CHECK_OK(DispatcherQueue_Wait(q, 0, &pending));
    CHECK(!pending);
    CHECK(run(q, 10, RTWS_INFINITE) == 0);
    CHECK(!readable(fd));

    item it[4] = {{"a", 1, 0, 0}, {"a", 2, 0, 0}, {"a", 3, 0, 0}, {"b", 1, 0, 0}};
    enqueue(q, &it[0]);
    CHECK(readable(fd));
    enqueue(q, &it[1]);
    enqueue(q, &it[2]);
    CHECK(readable(fd));
    CHECK_OK(DispatcherQueue_Wait(q, 0, &pending));
    CHECK(pending);
    CHECK(run(q, 2, RTWS_INFINITE) == 2);
    CHECK(readable(fd)); /* one still pending */
    CHECK(run(q, 10, RTWS_INFINITE) == 1);
    CHECK(!readable(fd));
    CHECK_OK(DispatcherQueue_Wait(q, 0, &pending));
    CHECK(!pending);
    enqueue(q, &it[3]);
    CHECK(readable(fd));
    CHECK(run(q, RTWS_INFINITE, RTWS_INFINITE) == 1);
    CHECK(!readable(fd));
    check_order("a1 a2 a3 b1");
    CHECK(it[0].ran == 1 && it[1].ran == 1 && it[2].ran == 1 && it[3].ran == 1);
    check_where(4);
    CHECK(DispatcherQueue_AddRef(q) == 2);
    CHECK(DispatcherQueue_Release(q) == 1);
    CHECK(DispatcherQueue_Release(q) == 0);
}

/* Edges an edge-triggered epoll reports now (each write to the fd is one). */
static int edges(int ep)
{
    struct epoll_event ev[4];
    int total = 0, n;
    while ((n = epoll_wait(ep, ev, 4, 0)) > 0)
        total += n;
    return total;
}

/* One signal per batch: the fd is written when the queue goes from empty to not empty, not
 * for each item (seen as the edges of an edge-triggered epoll), for the host's work and for a
 * socket's events. */
static void test_one_signal_per_batch(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    if (!q)
        return;
    int fd = fd_of(q);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLET;
    CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
    CHECK(edges(ep) == 0);

    item it[5];
    memset(it, 0, sizeof it);
    enqueue(q, &it[0]);
    CHECK(edges(ep) == 1);
    enqueue(q, &it[1]);
    enqueue(q, &it[2]);
    CHECK(edges(ep) == 0); /* the same batch: no new signal */
    CHECK(run(q, 1, RTWS_INFINITE) == 1);
    CHECK(readable(fd));
    CHECK(edges(ep) == 0);
    CHECK(run(q, 10, RTWS_INFINITE) == 2);
    CHECK(!readable(fd));
    CHECK(edges(ep) == 0);
    enqueue(q, &it[3]); /* a new batch */
    CHECK(edges(ep) == 1);
    enqueue(q, &it[4]);
    CHECK(edges(ep) == 0);
    CHECK(run(q, 10, RTWS_INFINITE) == 2);

    /* A socket's events: 20 echoes arrive one by one while the host does not run the queue. */
    mrec r;
    MessageWebSocket *ws = mws_bound(q, &r);
    if (ws && mws_connect_bound(q, ws, tu_url("/echo"), 1000)) {
        CHECK(run(q, 1000, RTWS_INFINITE) == 0);
        CHECK(edges(ep) <= 1); /* the connect's Completed */
        CHECK(edges(ep) == 0);
        for (uint32_t i = 0; i < 20; i++)
            send_index(ws, i, 16, NULL);
        int seen = 0;
        struct epoll_event e[4];
        double deadline = tu_now_ms() + quiet_ms * 3;
        while (tu_now_ms() < deadline) {
            int n = epoll_wait(ep, e, 4, 5);
            if (n > 0)
                seen += n;
        }
        /* A socket read on the queue's thread: its data is the work, and the kernel signals
         * each arrival while it waits unread (a host blocked in poll wakes for the first);
         * a socket read by rtws's threads: its events, once. */
        CHECK(seen >= 1);
        /* The RunPending that reads them runs them: no signal for the work it made. */
        CHECK(run(q, 1000, RTWS_INFINITE) == 20);
        CHECK(edges(ep) == 0);
        PUMP_UNTIL(q, r.msgs == 20, 10000);
        CHECK(r.msgs == 20);
        CHECK(r.out_of_order == 0);
    }
    if (ws)
        MessageWebSocket_Release(ws);
    check_where(5 + 1 + 20);
    close(ep);
    DispatcherQueue_Release(q);
}

/* RunPending's bounds: a count, a time (no item starts once it passed), RTWS_INFINITE, and
 * nothing over one day; Wait's bound likewise. */
static void test_run_pending_bounds(void)
{
    where_reset();
    order_reset();
    DispatcherQueue *q = queue_new();
    if (!q)
        return;
    item it[10];
    for (int i = 0; i < 10; i++) {
        it[i] = (item){"i", i, 0, 0};
        enqueue(q, &it[i]);
    }
    CHECK(run(q, 3, RTWS_INFINITE) == 3);
    /* A count of 0 is refused (it could leave the fd readable for ever); nothing runs. */
    uint32_t none = 7;
    CHECK_HR(DispatcherQueue_RunPending(q, 0, RTWS_INFINITE, &none), E_INVALIDARG);
    CHECK(strstr(rtws_GetLastErrorMessage(), "max_count") != NULL);
    /* No time at all still runs the first pending item. */
    CHECK(run(q, 5, 0) == 1);
    CHECK(run(q, 3, 86400000) == 3);
    CHECK(run(q, RTWS_INFINITE, RTWS_INFINITE) == 3);
    check_order("i0 i1 i2 i3 i4 i5 i6 i7 i8 i9");

    /* Five items of 30 ms each, 50 ms allowed: the first two start (at 0 and 30 ms), then
     * the time is up. */
    item slow[5];
    for (int i = 0; i < 5; i++) {
        slow[i] = (item){NULL, i, 0, 30};
        enqueue(q, &slow[i]);
    }
    double t0 = tu_now_ms();
    uint32_t ran = run(q, 100, 50);
    double took = tu_now_ms() - t0;
    CHECK(ran >= 1 && ran <= 2);
    CHECK(took < 100 + (under_checker ? 200 : 0));
    CHECK(run(q, 100, RTWS_INFINITE) == 5 - ran);

    /* Over one day is refused (a "negative" bound too); nothing runs. */
    item late = {NULL, 0, 0, 0};
    enqueue(q, &late);
    CHECK_HR(DispatcherQueue_RunPending(q, 10, 86400001, &ran), E_INVALIDARG);
    CHECK_HR(DispatcherQueue_RunPending(q, 10, (uint32_t)-2, &ran), E_INVALIDARG);
    CHECK(strstr(rtws_GetLastErrorMessage(), "day") != NULL);
    bool pending = false;
    CHECK_HR(DispatcherQueue_Wait(q, 86400001, &pending), E_INVALIDARG);
    CHECK_HR(DispatcherQueue_Wait(q, (uint32_t)-2, &pending), E_INVALIDARG);
    CHECK(late.ran == 0);
    /* A day and no bound are fine (work is pending: Wait returns at once). */
    CHECK_OK(DispatcherQueue_Wait(q, 86400000, &pending));
    CHECK(pending);
    pending = false;
    CHECK_OK(DispatcherQueue_Wait(q, RTWS_INFINITE, &pending));
    CHECK(pending);
    CHECK(run(q, 1, 86400000) == 1);
    CHECK(late.ran == 1);
    check_where(16);
    DispatcherQueue_Release(q);
}

/* ---- Running the queue from inside its own handlers, or from two threads ---------------- */

typedef struct {
    DispatcherQueue *q, *other;
    HRESULT run_hr, wait_hr, wait_inf_hr, wait0_hr, other_hr;
    uint32_t other_ran;
    bool access;
    int done;
} reenter;

static void reenter_item(void *context)
{
    reenter *r = (reenter *)context;
    uint32_t ran = 0;
    bool pending = false;
    where();
    r->run_hr = DispatcherQueue_RunPending(r->q, 10, RTWS_INFINITE, &ran);
    r->wait_hr = DispatcherQueue_Wait(r->q, 50, &pending);
    r->wait_inf_hr = DispatcherQueue_Wait(r->q, RTWS_INFINITE, &pending);
    r->wait0_hr = DispatcherQueue_Wait(r->q, 0, &pending);
    /* Not another queue either: no queue runs inside an rtws handler. */
    if (r->other)
        r->other_hr = DispatcherQueue_RunPending(r->other, 10, RTWS_INFINITE, &r->other_ran);
    DispatcherQueue_get_HasThreadAccess(r->q, &r->access);
    r->done++;
}

/* A MessageReceived handler that tries to run its own queue. */
static HRESULT g_msg_run_hr;
static void msg_runs_queue(void *context, MessageWebSocket *sender,
                           MessageWebSocketMessageReceivedEventArgs *args)
{
    uint32_t ran = 0;
    (void)sender;
    (void)args;
    where();
    g_msg_run_hr = DispatcherQueue_RunPending((DispatcherQueue *)context, 10, 10, &ran);
}

/* The item that holds the queue running while another thread tries to run it too. */
typedef struct {
    DispatcherQueue *q;
    tu_signal running, tried;
    HRESULT hr;
    bool access;
} two_threads;

static void blocking_item(void *context)
{
    two_threads *t = (two_threads *)context;
    where();
    tu_signal_bump(&t->running);
    tu_signal_wait(&t->tried, 1, 10000);
}

static void other_thread_runs(void *context)
{
    two_threads *t = (two_threads *)context;
    uint32_t ran = 0;
    tu_signal_wait(&t->running, 1, 10000);
    t->hr = DispatcherQueue_RunPending(t->q, 10, 10, &ran);
    DispatcherQueue_get_HasThreadAccess(t->q, &t->access);
    tu_signal_bump(&t->tried);
}

static void test_run_pending_reentrance_refused(void)
{
    where_reset();
    DispatcherQueue *q = queue_new(), *other = queue_new();
    if (!q || !other)
        return;
    item other_item = {NULL, 0, 0, 0}, after = {NULL, 0, 0, 0};
    enqueue(other, &other_item);
    reenter r = {q, other, S_OK, S_OK, S_OK, E_FAIL, E_FAIL, 0, false, 0};
    bool queued = false;
    CHECK_OK(DispatcherQueue_TryEnqueue(q, reenter_item, &r, &queued));
    CHECK(queued);
    enqueue(q, &after);
    CHECK(run(q, 1, RTWS_INFINITE) == 1); /* the re-entering item only */
    CHECK(r.done == 1);
    CHECK_HR(r.run_hr, E_ILLEGAL_METHOD_CALL);
    CHECK_HR(r.wait_hr, E_ILLEGAL_METHOD_CALL);
    CHECK_HR(r.wait_inf_hr, E_ILLEGAL_METHOD_CALL);
    CHECK_OK(r.wait0_hr);
    CHECK_HR(r.other_hr, E_ILLEGAL_METHOD_CALL);
    CHECK(other_item.ran == 0);
    CHECK(run(other, 10, RTWS_INFINITE) == 1);
    CHECK(other_item.ran == 1);
    CHECK(r.access);
    CHECK(after.ran == 0); /* the refused nested run ran nothing */
    CHECK(run(q, 10, RTWS_INFINITE) == 1);
    CHECK(after.ran == 1);

    /* Two threads: while the host runs it, another thread's RunPending is refused. */
    two_threads t;
    memset(&t, 0, sizeof t);
    t.q = q;
    t.hr = S_OK;
    t.access = true;
    tu_signal_init(&t.running);
    tu_signal_init(&t.tried);
    CHECK_OK(DispatcherQueue_TryEnqueue(q, blocking_item, &t, &queued));
    helper h;
    helper_start(&h, other_thread_runs, &t);
    CHECK(run(q, 10, RTWS_INFINITE) == 1);
    helper_join(&h);
    CHECK_HR(t.hr, E_ILLEGAL_METHOD_CALL);
    CHECK(!t.access);
    tu_signal_destroy(&t.running);
    tu_signal_destroy(&t.tried);

    /* From a MessageReceived handler of a socket bound to the queue. */
    mrec rec;
    MessageWebSocket *ws = mws_bound(q, &rec);
    EventRegistrationToken tok;
    g_msg_run_hr = S_OK;
    if (ws) {
        CHECK_OK(MessageWebSocket_add_MessageReceived(ws, msg_runs_queue, q, &tok));
        if (mws_connect_bound(q, ws, tu_url("/echo"), 1000)) {
            send_index(ws, 0, 8, NULL);
            PUMP_UNTIL(q, rec.msgs == 1, 10000);
            CHECK(rec.msgs == 1);
            CHECK_HR(g_msg_run_hr, E_ILLEGAL_METHOD_CALL);
        }
        MessageWebSocket_Release(ws);
    }
    check_where(4);
    DispatcherQueue_Release(other);
    DispatcherQueue_Release(q);
}

/* ---- DispatcherQueue_Wait ------------------------------------------------------------- */

static void enqueue_later(void *context)
{
    DispatcherQueue *q = *(DispatcherQueue **)context;
    static item later;
    bool queued = false;
    memset(&later, 0, sizeof later);
    tu_sleep_ms(100);
    DispatcherQueue_TryEnqueue(q, item_run, &later, &queued);
}

static void test_queue_wait(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    if (!q)
        return;
    bool pending = true;
    double t0 = tu_now_ms();
    CHECK_OK(DispatcherQueue_Wait(q, 100, &pending));
    CHECK(!pending);
    CHECK(tu_now_ms() - t0 >= 90);
    item it = {NULL, 0, 0, 0};
    enqueue(q, &it);
    t0 = tu_now_ms();
    CHECK_OK(DispatcherQueue_Wait(q, 5000, &pending));
    CHECK(pending);
    CHECK(tu_now_ms() - t0 < 1000);
    CHECK(run(q, 10, RTWS_INFINITE) == 1);
    /* Woken by another thread's TryEnqueue. */
    helper h;
    helper_start(&h, enqueue_later, &q);
    t0 = tu_now_ms();
    pending = false;
    CHECK_OK(DispatcherQueue_Wait(q, 10000, &pending));
    CHECK(pending);
    CHECK(tu_now_ms() - t0 < 5000);
    helper_join(&h);
    CHECK(run(q, 10, RTWS_INFINITE) == 1);
    check_where(2);
    DispatcherQueue_Release(q);
}

/* This thread's voluntary context switches so far (each blocking poll that sleeps is one),
 * or -1 where /proc does not tell. */
static long thread_switches(void)
{
    FILE *f = fopen("/proc/thread-self/status", "r");
    char line[256];
    long n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

static void release_queue_later(void *context)
{
    tu_sleep_ms(500);
    DispatcherQueue_Release((DispatcherQueue *)context);
}

/* With a socket that the queue's thread reads, Wait polls the queue's descriptor: it sleeps
 * through its whole timeout (one wake-up, not one per slice), a message ends it, and so does
 * the queue stopping meanwhile (its last handle released on another thread). */
static void test_wait_with_a_bound_socket(void)
{
    DispatcherQueue *q = queue_new();
    mrec r;
    MessageWebSocket *ws = q ? mws_bound(q, &r) : NULL;
    int released = 0;
    if (ws && mws_connect_bound(q, ws, tu_url("/echo"), 1000)) {
        pump_for(q, 100);
        bool pending = true;
        long s0 = thread_switches();
        double t0 = tu_now_ms();
        CHECK_OK(DispatcherQueue_Wait(q, 300, &pending));
        double took = tu_now_ms() - t0;
        long s1 = thread_switches();
        CHECK(!pending);
        CHECK(took >= 290);
        /* 50 ms slices made 6; valgrind's own thread switching may add a couple. */
        long most = under_checker ? 4 : 2;
        if (s0 >= 0 && s1 >= 0) {
            CHECK(s1 - s0 <= most);
            if (s1 - s0 > most)
                fprintf(stderr, "  %ld wake-ups in one Wait of 300 ms\n", s1 - s0);
        }

        send_index(ws, 0, 16, NULL);
        t0 = tu_now_ms();
        CHECK_OK(DispatcherQueue_Wait(q, 5000, &pending));
        CHECK(pending);
        CHECK(tu_now_ms() - t0 < 2000);
        PUMP_UNTIL(q, r.msgs == 1, 5000);
        CHECK(r.msgs == 1);

        helper h;
        helper_start(&h, release_queue_later, q);
        t0 = tu_now_ms();
        pending = true;
        CHECK_OK(DispatcherQueue_Wait(q, 10000, &pending));
        took = tu_now_ms() - t0;
        helper_join(&h);
        released = 1;
        CHECK(!pending);
        CHECK(took >= 400 && took < 3000);
    }
    if (ws)
        MessageWebSocket_Release(ws);
    if (q && !released)
        DispatcherQueue_Release(q);
}

/* Messages read on the queue's thread run there at once while nothing is queued, within
 * RunPending's bounds: time as well as count. What the time leaves runs in the next runs,
 * in order. */
static void test_direct_events_keep_the_time_bound(void)
{
    DispatcherQueue *q = queue_new();
    mrec r;
    MessageWebSocket *ws = q ? mws_bound(q, &r) : NULL;
    if (ws && mws_connect_bound(q, ws, tu_url("/echo"), 1000)) {
        pump_for(q, 100);
        r.sleep_ms = 30;
        for (uint32_t i = 0; i < 8; i++)
            send_index(ws, i, 16, NULL);
        /* The echoes wait in the socket, for RunPending to read. Not long: the connection's
         * task looks at a socket its host left unread once a second, and what it reads
         * becomes queued items, which kept the time bound before too. */
        CHECK(wait_readable(fd_of(q), 5000));
        tu_sleep_ms(under_checker ? 100 : 20);
        CHECK(r.msgs == 0);
        /* 30 ms each, 50 ms allowed: two start (at 0 and 30 ms), not all eight. */
        double t0 = tu_now_ms();
        uint32_t ran = run(q, 100, 50);
        double took = tu_now_ms() - t0;
        CHECK(ran >= 1 && ran <= 2);
        CHECK(r.msgs == (int)ran);
        CHECK(took < 150 + (under_checker ? 300 : 0));
        PUMP_UNTIL(q, r.msgs == 8, 10000);
        CHECK(r.msgs == 8);
        CHECK(r.out_of_order == 0 && r.failures == 0);
    }
    if (ws)
        MessageWebSocket_Release(ws);
    if (q)
        DispatcherQueue_Release(q);
}

/* ---- HasThreadAccess ------------------------------------------------------------------ */

typedef struct {
    DispatcherQueue *q;
    bool before, after_run;
    uint32_t ran;
} access_probe;

static void probe_access(void *context)
{
    access_probe *p = (access_probe *)context;
    DispatcherQueue_get_HasThreadAccess(p->q, &p->before);
    DispatcherQueue_RunPending(p->q, 10, RTWS_INFINITE, &p->ran);
    DispatcherQueue_get_HasThreadAccess(p->q, &p->after_run);
}

static void access_in_item(void *context)
{
    where();
    DispatcherQueue_get_HasThreadAccess(((access_probe *)context)->q,
                                        &((access_probe *)context)->before);
}

static void test_has_thread_access(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    if (!q)
        return;
    bool access = false;
    /* No thread has run it yet: its creator is the queue's thread. */
    CHECK_OK(DispatcherQueue_get_HasThreadAccess(q, &access));
    CHECK(access);
    access_probe p = {q, true, false, 99};
    helper h;
    helper_start(&h, probe_access, &p);
    helper_join(&h);
    CHECK(!p.before);    /* the creator's, not the helper's */
    CHECK(p.after_run); /* the helper ran it last */
    CHECK(p.ran == 0);
    CHECK_OK(DispatcherQueue_get_HasThreadAccess(q, &access));
    CHECK(!access);
    CHECK(run(q, 10, RTWS_INFINITE) == 0); /* now the host is the queue's thread */
    CHECK_OK(DispatcherQueue_get_HasThreadAccess(q, &access));
    CHECK(access);
    /* Inside a handler too. */
    access_probe in = {q, false, false, 0};
    bool queued = false;
    CHECK_OK(DispatcherQueue_TryEnqueue(q, access_in_item, &in, &queued));
    CHECK(run(q, 10, RTWS_INFINITE) == 1);
    CHECK(in.before);
    /* From another thread, while the host is the queue's thread: false. */
    access_probe p2 = {q, true, false, 99};
    helper_start(&h, probe_access, &p2);
    helper_join(&h);
    CHECK(!p2.before);
    CHECK(p2.after_run);
    CHECK_OK(DispatcherQueue_get_HasThreadAccess(q, &access));
    CHECK(!access); /* the helper ran it last */
    check_where(1);
    DispatcherQueue_Release(q);
}

/* ======================================================================================= */
/* Sockets on a queue                                                                       */
/* ======================================================================================= */

/* put_Completed from another thread on a finished operation of a bound socket. */
typedef struct {
    IAsyncOperationUInt32 *op;
    done_t *d;
    HRESULT hr;
    int count_after;
} late_completed;

static void put_completed_late(void *context)
{
    late_completed *l = (late_completed *)context;
    l->hr = IAsyncOperationUInt32_put_Completed(l->op, on_u32, l->d);
    l->count_after = l->d->count; /* queued: has not run on this thread */
}

/* Every handler and Completed of a MessageWebSocket runs on the host thread, inside RunPending:
 * ConnectAsync, StoreAsync, FlushAsync, MessageReceived, Closed; a Completed set on a finished
 * operation (from the host outside RunPending, or from another thread) is queued too. Nothing
 * runs until the host runs the queue. */
static void test_thread_identity_message_websocket(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    mrec r;
    MessageWebSocket *ws = q ? mws_bound(q, &r) : NULL;
    if (!ws)
        goto out;
    /* Nothing runs without RunPending: ConnectAsync's Completed waits in the queue. */
    done_t cd;
    IAsyncAction *cop = mws_connect_start(ws, tu_url("/echo"), &cd);
    int fd = fd_of(q);
    CHECK(wait_readable(fd, 10000));
    tu_sleep_ms(quiet_ms);
    CHECK(cd.count == 0);
    AsyncStatus s = AsyncStatus_Started;
    if (cop)
        CHECK_OK(IAsyncAction_get_Status(cop, &s));
    CHECK(s == AsyncStatus_Completed); /* finished, its Completed not run yet */
    PUMP_UNTIL(q, cd.count == 1, 10000);
    CHECK(cd.count == 1 && cd.status == AsyncStatus_Completed);
    if (cop)
        IAsyncAction_Release(cop);

    /* StoreAsync and FlushAsync with Completed handlers; the echoes. */
    done_t sd = {0, -1}, fl = {0, -1};
    DataWriter *w = tu_writer_for(ws);
    IAsyncOperationUInt32 *sop = NULL;
    IAsyncOperationBoolean *fop = NULL;
    CHECK(w != NULL);
    if (w) {
        uint8_t msg[8] = {0, 0, 0, 0, 'h', 'e', 'l', 'o'};
        CHECK_OK(DataWriter_WriteBytes(w, sizeof msg, msg));
        CHECK_OK(DataWriter_StoreAsync(w, &sop));
        if (sop)
            CHECK_OK(IAsyncOperationUInt32_put_Completed(sop, on_u32, &sd));
        CHECK_OK(DataWriter_FlushAsync(w, &fop));
        if (fop)
            CHECK_OK(IAsyncOperationBoolean_put_Completed(fop, on_bool, &fl));
        tu_writer_done(w);
    }
    send_index(ws, 1, 64, NULL);
    /* Let the echoes and completions queue up: none runs meanwhile. */
    CHECK(wait_readable(fd, 10000));
    tu_sleep_ms(quiet_ms);
    CHECK(r.msgs == 0 && sd.count == 0 && fl.count == 0);
    PUMP_UNTIL(q, r.msgs == 2 && sd.count == 1 && fl.count == 1, 10000);
    CHECK(r.msgs == 2 && r.out_of_order == 0 && r.wrong_sender == 0);
    CHECK(sd.count == 1 && sd.status == AsyncStatus_Completed);
    CHECK(fl.count == 1 && fl.status == AsyncStatus_Completed);
    if (sop)
        IAsyncOperationUInt32_Release(sop);
    if (fop)
        IAsyncOperationBoolean_Release(fop);

    /* A Completed set on an operation that already finished: queued, from the host thread
     * (outside RunPending) and from another thread alike. */
    for (int from_helper = 0; from_helper < 2; from_helper++) {
        IAsyncOperationUInt32 *op = NULL;
        done_t ld = {0, -1};
        uint8_t m[4] = {0, 0, 0, (uint8_t)(2 + from_helper)};
        CHECK_OK(tu_store_nowait(ws, m, sizeof m, &op));
        if (!op)
            continue;
        CHECK(status_settled_u32(op, 10000) == AsyncStatus_Completed);
        late_completed l = {op, &ld, E_FAIL, -1};
        if (from_helper) {
            helper h;
            helper_start(&h, put_completed_late, &l);
            helper_join(&h);
        } else {
            put_completed_late(&l);
        }
        CHECK_OK(l.hr);
        CHECK(l.count_after == 0);
        CHECK(ld.count == 0);
        PUMP_UNTIL(q, ld.count == 1, 10000);
        CHECK(ld.count == 1 && ld.status == AsyncStatus_Completed);
        IAsyncOperationUInt32_Release(op);
    }
    PUMP_UNTIL(q, r.msgs == 4, 10000);
    CHECK(r.msgs == 4 && r.out_of_order == 0);

    /* Closed. */
    CHECK_OK(MessageWebSocket_CloseWithStatus(ws, 1000, "bye"));
    PUMP_UNTIL(q, r.closed == 1, 10000);
    CHECK(r.closed == 1 && r.code == 1000 && r.after_closed == 0);
    pump_for(q, quiet_ms);
    CHECK(r.closed == 1);
    check_where(1 + 2 + 2 + 2 + 2 + 1);
out:
    if (ws)
        CHECK(MessageWebSocket_Release(ws) == 0);
    if (q)
        CHECK(DispatcherQueue_Release(q) == 0);
}

/* A message's data stream is the socket's too: its ReadAsync's Completed, set inside
 * MessageReceived, is queued (not run inline in the handler) and runs on the host thread. */
typedef struct {
    done_t read;
    int inline_runs;  /* the Completed ran before put_Completed returned */
    HRESULT hr;
    IAsyncOperationIBuffer *op;
    IBuffer *buf;
} stream_read;

static void read_data_stream(void *context, MessageWebSocket *sender,
                             MessageWebSocketMessageReceivedEventArgs *args)
{
    stream_read *sr = (stream_read *)context;
    IInputStream *in = NULL;
    (void)sender;
    where();
    sr->hr = MessageWebSocketMessageReceivedEventArgs_GetDataStream(args, &in);
    if (RTWS_SUCCEEDED(sr->hr))
        sr->hr = Buffer_Create(64, &sr->buf);
    if (RTWS_SUCCEEDED(sr->hr))
        sr->hr = IInputStream_ReadAsync(in, sr->buf, 64, InputStreamOptions_Partial, &sr->op);
    if (RTWS_SUCCEEDED(sr->hr))
        sr->hr = IAsyncOperationIBuffer_put_Completed(sr->op, on_buf, &sr->read);
    sr->inline_runs = sr->read.count;
    if (in)
        IInputStream_Release(in);
}

static void test_message_data_stream_on_the_queue(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    MessageWebSocket *ws = NULL;
    EventRegistrationToken t;
    stream_read sr;
    memset(&sr, 0, sizeof sr);
    sr.read.status = -1;
    if (!q)
        return;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_put_DispatcherQueue(ws, q));
    CHECK_OK(MessageWebSocket_add_MessageReceived(ws, read_data_stream, &sr, &t));
    if (mws_connect_bound(q, ws, tu_url("/echo"), 8)) {
        send_index(ws, 7, 16, NULL);
        PUMP_UNTIL(q, sr.read.count == 1, 10000);
        CHECK_OK(sr.hr);
        CHECK(sr.inline_runs == 0);
        CHECK(sr.read.count == 1 && sr.read.status == AsyncStatus_Completed);
        check_where(2);
    }
    if (sr.op)
        IAsyncOperationIBuffer_Release(sr.op);
    if (sr.buf)
        IBuffer_Release(sr.buf);
    CHECK(MessageWebSocket_Release(ws) == 0);
    CHECK(DispatcherQueue_Release(q) == 0);
}

/* The StreamWebSocket's handlers and Completed callbacks: ConnectAsync, WriteAsync,
 * IOutputStream_FlushAsync, ReadAsync, DataReader_LoadAsync, Closed. */
typedef struct {
    StreamWebSocket *ws;
    int closed, wrong_sender;
    uint16_t code;
} srec;

static void srec_on_closed(void *context, StreamWebSocket *sender, WebSocketClosedEventArgs *args)
{
    srec *r = (srec *)context;
    where();
    if (sender != r->ws)
        r->wrong_sender++;
    WebSocketClosedEventArgs_get_Code(args, &r->code);
    r->closed++;
}

/* A StreamWebSocket bound to `q`, connected to `path` (the queue run until its ConnectAsync's
 * Completed ran), with a Closed handler recording into `r`; NULL on failure. */
static StreamWebSocket *sws_connect_bound(DispatcherQueue *q, const char *url, srec *r)
{
    StreamWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    EventRegistrationToken tok;
    done_t d = {0, -1};
    memset(r, 0, sizeof *r);
    CHECK_OK(StreamWebSocket_Create(&ws));
    if (!ws)
        return NULL;
    r->ws = ws;
    CHECK_OK(StreamWebSocket_put_DispatcherQueue(ws, q));
    CHECK_OK(StreamWebSocket_add_Closed(ws, srec_on_closed, r, &tok));
    CHECK_OK(StreamWebSocket_ConnectAsync(ws, url, &op));
    if (op) {
        CHECK_OK(IAsyncAction_put_Completed(op, on_action, &d));
        PUMP_UNTIL(q, d.count == 1, 10000);
        IAsyncAction_Release(op);
    }
    CHECK(d.count == 1 && d.status == AsyncStatus_Completed);
    return ws;
}

static void test_thread_identity_stream_websocket(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    srec r;
    StreamWebSocket *ws = q ? sws_connect_bound(q, tu_url("/echo"), &r) : NULL;
    IOutputStream *out = NULL;
    IInputStream *in = NULL;
    IBuffer *wbuf = NULL, *rbuf = NULL, *res = NULL;
    DataReader *reader = NULL;
    if (!ws)
        goto out;
    CHECK_OK(StreamWebSocket_get_OutputStream(ws, &out));
    CHECK_OK(StreamWebSocket_get_InputStream(ws, &in));
    CHECK_OK(Buffer_CreateFromBytes((const uint8_t *)"0123456789ab", 12, &wbuf));
    CHECK_OK(Buffer_Create(6, &rbuf));
    if (!out || !in || !wbuf || !rbuf)
        goto out;
    IAsyncOperationUInt32 *wop = NULL, *lop = NULL;
    IAsyncOperationBoolean *fop = NULL;
    IAsyncOperationIBuffer *rop = NULL;
    done_t wd = {0, -1}, fd_ = {0, -1}, rd = {0, -1}, ld = {0, -1};
    CHECK_OK(IOutputStream_WriteAsync(out, wbuf, &wop));
    if (wop)
        CHECK_OK(IAsyncOperationUInt32_put_Completed(wop, on_u32, &wd));
    CHECK_OK(IOutputStream_FlushAsync(out, &fop));
    if (fop)
        CHECK_OK(IAsyncOperationBoolean_put_Completed(fop, on_bool, &fd_));
    CHECK_OK(IInputStream_ReadAsync(in, rbuf, 6, InputStreamOptions_None, &rop));
    if (rop)
        CHECK_OK(IAsyncOperationIBuffer_put_Completed(rop, on_buf, &rd));
    CHECK(wait_readable(fd_of(q), 10000));
    tu_sleep_ms(quiet_ms);
    CHECK(wd.count == 0 && fd_.count == 0 && rd.count == 0);
    PUMP_UNTIL(q, wd.count == 1 && fd_.count == 1 && rd.count == 1, 10000);
    CHECK(wd.count == 1 && wd.status == AsyncStatus_Completed);
    CHECK(fd_.count == 1 && fd_.status == AsyncStatus_Completed);
    CHECK(rd.count == 1 && rd.status == AsyncStatus_Completed);
    if (rop) {
        /* Finished: GetResults (and a zero Wait) are fine on the queue's thread. */
        CHECK_OK(IAsyncOperationIBuffer_GetResults(rop, &res));
        uint8_t got[6] = {0};
        uint32_t copied = 0;
        if (res) {
            CHECK_OK(IBuffer_CopyTo(res, 0, got, sizeof got, &copied));
            CHECK(copied == 6 && memcmp(got, "012345", 6) == 0);
            IBuffer_Release(res);
        }
    }
    /* A DataReader over the input stream: LoadAsync's Completed. */
    CHECK_OK(DataReader_CreateDataReader(in, &reader));
    if (reader) {
        CHECK_OK(DataReader_LoadAsync(reader, 6, &lop));
        if (lop)
            CHECK_OK(IAsyncOperationUInt32_put_Completed(lop, on_u32, &ld));
        PUMP_UNTIL(q, ld.count == 1, 10000);
        CHECK(ld.count == 1 && ld.status == AsyncStatus_Completed);
        uint32_t n = 0;
        uint8_t got[6] = {0};
        if (lop)
            CHECK_OK(IAsyncOperationUInt32_GetResults(lop, &n));
        CHECK(n == 6);
        CHECK_OK(DataReader_ReadBytes(reader, 6, got));
        CHECK(memcmp(got, "6789ab", 6) == 0);
    }
    CHECK_OK(StreamWebSocket_CloseWithStatus(ws, 1000, ""));
    PUMP_UNTIL(q, r.closed == 1, 10000);
    CHECK(r.closed == 1 && r.code == 1000 && r.wrong_sender == 0);
    check_where(1 + 3 + 1 + 1);
    if (wop)
        IAsyncOperationUInt32_Release(wop);
    if (fop)
        IAsyncOperationBoolean_Release(fop);
    if (rop)
        IAsyncOperationIBuffer_Release(rop);
    if (lop)
        IAsyncOperationUInt32_Release(lop);
out:
    if (reader)
        DataReader_Release(reader);
    if (wbuf)
        IBuffer_Release(wbuf);
    if (rbuf)
        IBuffer_Release(rbuf);
    if (in)
        IInputStream_Release(in);
    if (out)
        IOutputStream_Release(out);
    if (ws)
        CHECK(StreamWebSocket_Release(ws) == 0);
    if (q)
        CHECK(DispatcherQueue_Release(q) == 0);
}

/* ServerCustomValidationRequested on both classes: on the host thread, inside RunPending; the
 * connect waits for the host to run it (accepted), or fails when the handler rejects. */
typedef struct {
    int count;
    int reject;
} validation;

static void mws_on_validation(void *context, MessageWebSocket *sender,
                              WebSocketServerCustomValidationRequestedEventArgs *args)
{
    validation *v = (validation *)context;
    (void)sender;
    where();
    v->count++;
    if (v->reject)
        WebSocketServerCustomValidationRequestedEventArgs_Reject(args);
}

static void sws_on_validation(void *context, StreamWebSocket *sender,
                              WebSocketServerCustomValidationRequestedEventArgs *args)
{
    validation *v = (validation *)context;
    (void)sender;
    where();
    v->count++;
    if (v->reject)
        WebSocketServerCustomValidationRequestedEventArgs_Reject(args);
}

static void test_thread_identity_server_validation(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    if (!q)
        return;
    for (int reject = 0; reject < 2; reject++) {
        /* MessageWebSocket */
        mrec r;
        validation v = {0, reject};
        MessageWebSocket *ws = mws_bound(q, &r);
        MessageWebSocketControl *c = ws ? tu_control_of(ws) : NULL;
        EventRegistrationToken tok;
        if (!ws || !c) {
            if (c)
                MessageWebSocketControl_Release(c);
            if (ws)
                MessageWebSocket_Release(ws);
            continue;
        }
        CHECK_OK(MessageWebSocketControl_put_TrustedRootCertificates(c, ca_pem));
        MessageWebSocketControl_Release(c);
        CHECK_OK(MessageWebSocket_add_ServerCustomValidationRequested(ws, mws_on_validation, &v,
                                                                      &tok));
        done_t cd;
        IAsyncAction *op = mws_connect_start(ws, wss("127.0.0.1", port_valid, "/echo"), &cd);
        /* The validation waits in the queue; the connect waits for it. */
        CHECK(wait_readable(fd_of(q), 10000));
        tu_sleep_ms(quiet_ms);
        AsyncStatus s = -1;
        if (op)
            CHECK_OK(IAsyncAction_get_Status(op, &s));
        CHECK(s == AsyncStatus_Started);
        CHECK(v.count == 0);
        PUMP_UNTIL(q, cd.count == 1, 10000);
        CHECK(v.count == 1);
        CHECK(cd.count == 1);
        CHECK(cd.status == (reject ? AsyncStatus_Error : AsyncStatus_Completed));
        if (op && reject) {
            HRESULT err = S_OK;
            CHECK_OK(IAsyncAction_get_ErrorCode(op, &err));
            CHECK_HR(err, WININET_E_SEC_INVALID_CERT);
        }
        if (op)
            IAsyncAction_Release(op);
        if (!reject) {
            send_index(ws, 0, 8, NULL);
            PUMP_UNTIL(q, r.msgs == 1, 10000);
            CHECK(r.msgs == 1);
        }
        MessageWebSocket_Release(ws);

        /* StreamWebSocket */
        validation sv = {0, reject};
        StreamWebSocket *sws = NULL;
        StreamWebSocketControl *sc = NULL;
        IAsyncAction *sop = NULL;
        done_t sd = {0, -1};
        CHECK_OK(StreamWebSocket_Create(&sws));
        if (!sws)
            continue;
        CHECK_OK(StreamWebSocket_put_DispatcherQueue(sws, q));
        CHECK_OK(StreamWebSocket_get_Control(sws, &sc));
        if (sc) {
            CHECK_OK(StreamWebSocketControl_put_TrustedRootCertificates(sc, ca_pem));
            StreamWebSocketControl_Release(sc);
        }
        CHECK_OK(StreamWebSocket_add_ServerCustomValidationRequested(sws, sws_on_validation, &sv,
                                                                     &tok));
        CHECK_OK(StreamWebSocket_ConnectAsync(sws, wss("127.0.0.1", port_valid, "/echo"), &sop));
        if (sop) {
            CHECK_OK(IAsyncAction_put_Completed(sop, on_action, &sd));
            PUMP_UNTIL(q, sd.count == 1, 10000);
            IAsyncAction_Release(sop);
        }
        CHECK(sv.count == 1);
        CHECK(sd.count == 1);
        CHECK(sd.status == (reject ? AsyncStatus_Error : AsyncStatus_Completed));
        StreamWebSocket_Release(sws);
    }
    check_where(2 * 4 + 1);
    DispatcherQueue_Release(q);
}

/* Per-socket order: every MessageReceived in order, then its one Closed, also when the host
 * drains late and one item at a time. */
static void test_event_order(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    mrec r;
    MessageWebSocket *ws = q ? mws_bound(q, &r) : NULL;
    if (ws && mws_connect_bound(q, ws, tu_url("/close?after=50&code=4000"), 1000)) {
        for (uint32_t i = 0; i < 50; i++)
            send_index(ws, i, 4 + i, NULL);
        tu_sleep_ms(quiet_ms);
        double deadline = tu_now_ms() + 10000;
        while (r.closed == 0 && tu_now_ms() < deadline)
            pump_once(q, 20, 1);
        CHECK(r.msgs == 50);
        CHECK(r.out_of_order == 0);
        CHECK(r.closed == 1);
        CHECK(r.code == 4000);
        CHECK(r.after_closed == 0);
        CHECK(r.wrong_sender == 0);
        pump_for(q, quiet_ms);
        CHECK(r.msgs == 50 && r.closed == 1);
        check_where(1 + 51);
    }
    if (ws)
        MessageWebSocket_Release(ws);
    if (q)
        DispatcherQueue_Release(q);
}

/* TryEnqueue's work takes its place among socket events: first come, first run (a message of
 * a socket that the queue's thread reads comes when RunPending reads it, before it runs what
 * is queued). Each round runs echo i, queues host item i and then sends message i+1, whose
 * echo can only be queued after host item i. */
static void test_try_enqueue_order_with_events(void)
{
    where_reset();
    order_reset();
    DispatcherQueue *q = queue_new();
    mrec r;
    MessageWebSocket *ws = q ? mws_bound(q, &r) : NULL;
    item it[6];
    if (!ws || !mws_connect_bound(q, ws, tu_url("/echo"), 1000))
        goto out;
    r.tag = "m";
    int fd = fd_of(q);
    CHECK(!readable(fd));
    send_index(ws, 0, 8, NULL);
    for (int i = 0; i < 5; i++) {
        /* Echo i is coming (the socket read on this thread queues it when the queue runs;
         * a socket read by rtws's threads has queued it already). */
        CHECK(run_one(q, fd) == 1); /* echo i */
        it[i] = (item){"h", i, 0, 0};
        enqueue(q, &it[i]);
        if (i < 4)
            send_index(ws, (uint32_t)i + 1, 8, NULL);
        CHECK(run(q, 1, RTWS_INFINITE) == 1); /* host item i (echo i+1 queued behind it) */
    }
    CHECK(run(q, 10, RTWS_INFINITE) == 0);
    /* Last: a host item, then Close: Closed comes after it. */
    it[5] = (item){"h", 5, 0, 0};
    enqueue(q, &it[5]);
    CHECK_OK(MessageWebSocket_Close(ws));
    PUMP_UNTIL(q, r.closed == 1, 10000);
    check_order("m0 h0 m1 h1 m2 h2 m3 h3 m4 h4 h5 C0");
    check_where(1 + 12);
out:
    if (ws)
        MessageWebSocket_Release(ws);
    if (q)
        DispatcherQueue_Release(q);
}

/* Sends made by the queue's own work (here a host item sending a burst) go out when its
 * RunPending ends, written on the queue's thread for a socket that thread reads, by rtws's
 * threads for others: after one RunPending, every echo comes and every send's Completed runs,
 * in order. */
typedef struct {
    MessageWebSocket *ws;
    done_t sent;
    int ran;
} burst;

static void burst_item(void *context)
{
    burst *b = (burst *)context;
    where();
    for (uint32_t i = 0; i < 10; i++)
        send_index(b->ws, i, 8, &b->sent);
    b->ran++;
}

static void test_sends_of_a_batch_go_out_at_its_end(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    mrec r;
    MessageWebSocket *ws = q ? mws_bound(q, &r) : NULL;
    if (!ws || !mws_connect_bound(q, ws, tu_url("/echo"), 1000))
        goto out;
    burst b = {ws, {0, AsyncStatus_Started}, 0};
    bool queued = false;
    CHECK_OK(DispatcherQueue_TryEnqueue(q, burst_item, &b, &queued));
    CHECK(queued);
    /* An item behind it: none of the burst is the batch's last word, none is written
     * on the spot. */
    item after = {NULL, 0, 0, 0};
    enqueue(q, &after);
    CHECK(run(q, 2, RTWS_INFINITE) == 2);
    CHECK(b.ran == 1 && after.ran == 1);
    /* Nothing else ran the queue: the sends left with the end of that RunPending. */
    CHECK(wait_readable(fd_of(q), 10000));
    PUMP_UNTIL(q, r.msgs == 10 && b.sent.count == 10, 10000);
    CHECK(r.msgs == 10);
    CHECK(r.out_of_order == 0);
    CHECK(b.sent.count == 10);
    CHECK(b.sent.status == AsyncStatus_Completed);
    check_where(1 + 2 + 10 + 10);
out:
    if (ws)
        MessageWebSocket_Release(ws);
    if (q)
        DispatcherQueue_Release(q);
}

/* An IBuffer is sent as it was at WriteAsync: a change to it afterwards does not reach a send
 * still queued. A host item writes it and shortens it at once; its send is written only when
 * the RunPending ends (an item follows), after the change. */
typedef struct {
    MessageWebSocket *ws;
    done_t sent;
    HRESULT write_hr, length_hr;
} buffer_send;

static void buffer_send_item(void *context)
{
    buffer_send *b = (buffer_send *)context;
    static const uint8_t bytes[8] = {0, 0, 0, 0, 1, 2, 3, 4}; /* message index 0 */
    IOutputStream *out = NULL;
    IBuffer *buf = NULL;
    IAsyncOperationUInt32 *op = NULL;
    where();
    b->write_hr = MessageWebSocket_get_OutputStream(b->ws, &out);
    if (RTWS_SUCCEEDED(b->write_hr))
        b->write_hr = Buffer_CreateFromBytes(bytes, sizeof bytes, &buf);
    if (RTWS_SUCCEEDED(b->write_hr))
        b->write_hr = IOutputStream_WriteAsync(out, buf, &op);
    if (op) {
        CHECK_OK(IAsyncOperationUInt32_put_Completed(op, on_u32, &b->sent));
        IAsyncOperationUInt32_Release(op);
    }
    if (buf) {
        b->length_hr = IBuffer_put_Length(buf, 4);
        IBuffer_Release(buf);
    }
    if (out)
        IOutputStream_Release(out);
}

static void test_buffer_sent_as_it_was_at_the_call(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    mrec r;
    MessageWebSocket *ws = q ? mws_bound(q, &r) : NULL;
    if (!ws || !mws_connect_bound(q, ws, tu_url("/echo"), 1000))
        goto out;
    buffer_send b = {ws, {0, AsyncStatus_Started}, E_FAIL, E_FAIL};
    bool queued = false;
    CHECK_OK(DispatcherQueue_TryEnqueue(q, buffer_send_item, &b, &queued));
    CHECK(queued);
    item after = {NULL, 0, 0, 0};
    enqueue(q, &after);
    CHECK(run(q, 2, RTWS_INFINITE) == 2);
    CHECK_OK(b.write_hr);
    CHECK_OK(b.length_hr);
    PUMP_UNTIL(q, r.msgs == 1 && b.sent.count == 1, 10000);
    CHECK(r.msgs == 1);
    CHECK(r.bytes == 8); /* not 4: the buffer's later Length */
    CHECK(r.out_of_order == 0);
    CHECK(b.sent.count == 1);
    CHECK(b.sent.status == AsyncStatus_Completed);
out:
    if (ws)
        MessageWebSocket_Release(ws);
    if (q)
        DispatcherQueue_Release(q);
}

/* remove_X: queued invocations of that registration never run, and none later; the socket's
 * other registrations still get every event. Also removed from inside another handler. */
typedef struct {
    int count;
    MessageWebSocket *ws;
    EventRegistrationToken *remove; /* removed on the first call, if not NULL */
    HRESULT remove_hr;
} counter;

static void count_message(void *context, MessageWebSocket *sender,
                          MessageWebSocketMessageReceivedEventArgs *args)
{
    counter *c = (counter *)context;
    (void)sender;
    (void)args;
    where();
    if (c->count++ == 0 && c->remove)
        c->remove_hr = MessageWebSocket_remove_MessageReceived(c->ws, *c->remove);
}

static void count_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    (void)sender;
    (void)args;
    where();
    ((counter *)context)->count++;
}

static void test_remove_purges_queued(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    mrec r;
    MessageWebSocket *ws = q ? mws_bound(q, &r) : NULL;
    if (!ws)
        goto out;
    counter a = {0}, c = {0}, d = {0}, closed_a = {0};
    EventRegistrationToken ta, tc, td, tca;
    c.ws = ws;
    c.remove = &td; /* c's first call removes d, registered after it */
    c.remove_hr = E_FAIL;
    CHECK_OK(MessageWebSocket_add_MessageReceived(ws, count_message, &a, &ta));
    CHECK_OK(MessageWebSocket_add_MessageReceived(ws, count_message, &c, &tc));
    CHECK_OK(MessageWebSocket_add_MessageReceived(ws, count_message, &d, &td));
    CHECK_OK(MessageWebSocket_add_Closed(ws, count_closed, &closed_a, &tca));
    if (!mws_connect_bound(q, ws, tu_url("/echo"), 1000))
        goto out;
    for (uint32_t i = 0; i < 5; i++)
        send_index(ws, i, 8, NULL);
    CHECK(wait_readable(fd_of(q), 10000));
    tu_sleep_ms(quiet_ms); /* the echoes wait in the queue */
    CHECK_OK(MessageWebSocket_remove_MessageReceived(ws, ta));
    PUMP_UNTIL(q, r.msgs == 5, 10000);
    CHECK(r.msgs == 5 && r.out_of_order == 0);
    CHECK(a.count == 0);
    CHECK(c.count == 5);
    CHECK_OK(c.remove_hr);
    CHECK(d.count == 0);
    /* Closed: the removed registration does not run, the other does. */
    CHECK_OK(MessageWebSocket_Close(ws));
    tu_sleep_ms(quiet_ms);
    CHECK_OK(MessageWebSocket_remove_Closed(ws, tca));
    PUMP_UNTIL(q, r.closed == 1, 10000);
    pump_for(q, quiet_ms);
    CHECK(r.closed == 1);
    CHECK(closed_a.count == 0);
    check_where(1 + 5 + 5 + 1);
out:
    if (ws)
        MessageWebSocket_Release(ws);
    if (q)
        DispatcherQueue_Release(q);
}

/* The last Release of a socket with events queued: none of its handlers runs afterwards (its
 * queued events are dropped: the fd is not readable when only they were pending); Completed
 * callbacks of its operations and the host's own work still run. Also released from inside its
 * own handler: its other queued events never run. Nothing of it is posted after its Release. */
static void release_in_handler(void *context, MessageWebSocket *sender,
                               MessageWebSocketMessageReceivedEventArgs *args)
{
    counter *c = (counter *)context;
    (void)args;
    where();
    if (c->count++ == 0)
        c->remove_hr = (HRESULT)MessageWebSocket_Release(sender); /* the last reference */
}

static void test_release_with_events_queued(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    if (!q)
        return;
    int fd = fd_of(q);

    /* 1. Echoes and the server's close queued, nothing else: after Release, nothing pending. */
    mrec r1;
    MessageWebSocket *ws = mws_bound(q, &r1);
    if (ws && mws_connect_bound(q, ws, tu_url("/close?after=3&code=4000"), 1000)) {
        for (uint32_t i = 0; i < 3; i++)
            send_index(ws, i, 8, NULL);
        CHECK(wait_readable(fd, 10000));
        tu_sleep_ms(quiet_ms * 2); /* three echoes and Closed wait in the queue */
        CHECK(readable(fd));
        CHECK(MessageWebSocket_Release(ws) == 0);
        CHECK(!readable(fd));
        pump_for(q, quiet_ms);
        CHECK(r1.msgs == 0 && r1.closed == 0);
    }

    /* 2. With a StoreAsync's Completed and the host's item queued too: they run, the socket's
     * handlers do not. */
    mrec r2;
    ws = mws_bound(q, &r2);
    if (ws && mws_connect_bound(q, ws, tu_url("/echo"), 1000)) {
        done_t sd = {0, -1};
        IAsyncOperationUInt32 *op = NULL;
        uint8_t m[8] = {0};
        for (uint32_t i = 0; i < 3; i++)
            send_index(ws, i, 8, NULL);
        CHECK_OK(tu_store_nowait(ws, m, sizeof m, &op));
        if (op) {
            CHECK_OK(IAsyncOperationUInt32_put_Completed(op, on_u32, &sd));
            CHECK(status_settled_u32(op, 10000) == AsyncStatus_Completed);
        }
        CHECK(wait_readable(fd, 10000));
        tu_sleep_ms(quiet_ms);
        item it = {NULL, 0, 0, 0};
        enqueue(q, &it);
        CHECK(MessageWebSocket_Release(ws) == 0);
        CHECK(readable(fd));
        PUMP_UNTIL(q, sd.count == 1 && it.ran == 1, 10000);
        pump_for(q, quiet_ms);
        CHECK(sd.count == 1 && sd.status == AsyncStatus_Completed);
        CHECK(it.ran == 1);
        CHECK(r2.msgs == 0 && r2.closed == 0);
        if (op)
            CHECK(IAsyncOperationUInt32_Release(op) == 0);
    }

    /* 3. Released (the last reference) by its first MessageReceived handler: the rest of its
     * queued echoes never run. */
    counter c = {0};
    EventRegistrationToken tok;
    ws = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (ws) {
        c.ws = ws;
        c.remove_hr = -1;
        CHECK_OK(MessageWebSocket_put_DispatcherQueue(ws, q));
        CHECK_OK(MessageWebSocket_add_MessageReceived(ws, release_in_handler, &c, &tok));
        if (mws_connect_bound(q, ws, tu_url("/echo"), 1000)) {
            for (uint32_t i = 0; i < 5; i++)
                send_index(ws, i, 8, NULL);
            CHECK(wait_readable(fd, 10000));
            tu_sleep_ms(quiet_ms);
            PUMP_UNTIL(q, c.count >= 1, 10000);
            pump_for(q, quiet_ms);
            CHECK(c.count == 1);
            CHECK(c.remove_hr == 0); /* Release returned 0 */
        } else {
            MessageWebSocket_Release(ws);
        }
    }

    /* 4. Released while connected (the last Release closes it): what comes after (the server's
     * close reply, Closed) posts nothing, so the fd does not wake the host for nothing. */
    mrec r4;
    ws = mws_bound(q, &r4);
    if (ws && mws_connect_bound(q, ws, tu_url("/echo"), 1000)) {
        CHECK(!readable(fd));
        CHECK(MessageWebSocket_Release(ws) == 0);
        tu_sleep_ms(quiet_ms);
        CHECK(!readable(fd));
        CHECK(run(q, 100, RTWS_INFINITE) == 0);
        CHECK(r4.closed == 0);
    }
    check_where(2 + 2 + 2 + 1);
    DispatcherQueue_Release(q);
}

/* ---- Backpressure ------------------------------------------------------------------------ */

/* Resident set size (VmRSS) in KiB, -1 when unknown. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            v = atol(line + 6);
            break;
        }
    }
    fclose(f);
    return v;
}

/* The host item that marks where the host stopped draining: how many messages ran before it. */
typedef struct {
    mrec *r;
    int msgs_before;
    int ran;
} marker;

static void marker_run(void *context)
{
    marker *m = (marker *)context;
    where();
    m->msgs_before = m->r->msgs;
    m->ran++;
}

/* A server floods `count` messages of `size` bytes; the host stops running the queue for a
 * while. The socket must stop reading at its bound (what was queued before the host's marker
 * item is the backlog: `min_backlog`..`max_backlog` messages), the fd stays readable, RSS stays
 * bounded (`max_rss_growth_kib`, when not under a memory checker); then draining delivers every
 * message in order, the echo of a later message, and Closed last. */
static void flood_and_pause(uint32_t count, uint32_t size, int min_backlog, int max_backlog,
                            long max_rss_growth_kib)
{
    char url[128];
    where_reset();
    DispatcherQueue *q = queue_new();
    mrec r;
    MessageWebSocket *ws = q ? mws_bound(q, &r) : NULL;
    if (!ws)
        goto out;
    int fd = fd_of(q);
    long rss0 = rss_kib();
    snprintf(url, sizeof url, "%s/flood?count=%u&size=%u", tu_base_url, count, size);
    /* One item at a time: run the connect's Completed and nothing of the flood. */
    if (!mws_connect_bound(q, ws, url, 1))
        goto out;
    /* One more item, once the flood is here: that RunPending reads the socket (on this
     * thread; an I/O thread has read it already otherwise) and runs the first message. */
    tu_sleep_ms(under_checker ? 500 : 100);
    CHECK(run(q, 1, RTWS_INFINITE) == 1);
    CHECK(r.msgs == 1);
    /* The host stops draining. */
    int pause_ms = under_checker ? 3000 : 600, stayed_readable = 1;
    for (int t = 0; t < pause_ms; t += 50) {
        tu_sleep_ms(50);
        stayed_readable &= readable(fd);
    }
    CHECK(stayed_readable);
    long rss1 = rss_kib();
    marker m = {&r, -1, 0};
    bool queued = false;
    CHECK_OK(DispatcherQueue_TryEnqueue(q, marker_run, &m, &queued));
    CHECK(r.msgs == 1);
    /* Draining resumes everything, in order. */
    PUMP_UNTIL(q, r.msgs == (int)count, 30000);
    CHECK(m.ran == 1);
    CHECK(m.msgs_before >= min_backlog && m.msgs_before <= max_backlog);
    if (m.msgs_before < min_backlog || m.msgs_before > max_backlog)
        fprintf(stderr, "  backlog at the pause: %d messages (expected %d..%d)\n", m.msgs_before,
                min_backlog, max_backlog);
    if (!under_checker && rss0 > 0 && rss1 > 0) {
        CHECK(rss1 - rss0 < max_rss_growth_kib);
        if (rss1 - rss0 >= max_rss_growth_kib)
            fprintf(stderr, "  RSS grew by %ld KiB while the host paused (bound %ld)\n",
                    rss1 - rss0, max_rss_growth_kib);
    }
    CHECK(r.msgs == (int)count);
    CHECK(r.out_of_order == 0);
    CHECK(r.bytes == (uint64_t)count * size);
    /* The server echoes after its flood. */
    send_index(ws, count, 16, NULL);
    PUMP_UNTIL(q, r.msgs == (int)count + 1, 10000);
    CHECK(r.msgs == (int)count + 1 && r.out_of_order == 0);
    CHECK_OK(MessageWebSocket_Close(ws));
    PUMP_UNTIL(q, r.closed == 1, 10000);
    CHECK(r.closed == 1 && r.after_closed == 0);
    check_where((int)count + 4);
out:
    if (ws)
        MessageWebSocket_Release(ws);
    if (q)
        DispatcherQueue_Release(q);
}

/* 16 KiB messages: the 1 MiB bound (64 messages, plus what one 64 KiB read brought). 64 MiB
 * flooded, RSS grows by less than 16 MiB. */
static void test_backpressure_bytes(void)
{
    uint32_t size = 16384;
    flood_and_pause(under_checker ? 512 : 4096, size, 64, 64 + 65536 / size + 2, 16 * 1024);
}

/* 512-byte messages: the 1,000-event bound (plus what one 64 KiB read brought). */
static void test_backpressure_events(void)
{
    uint32_t size = 512;
    flood_and_pause(under_checker ? 3000 : 5000, size, 1000, 1000 + 65536 / (size + 4) + 2,
                    16 * 1024);
}

/* ---- Wait on the queue's own thread ------------------------------------------------------ */

typedef struct {
    IAsyncOperationIBuffer *rop;
    IAsyncAction *aop;
    uint32_t timeout_ms;
    HRESULT hr;
    uint32_t len;
    bool access;
    DispatcherQueue *q;
} waiter;

static void wait_elsewhere(void *context)
{
    waiter *w = (waiter *)context;
    IBuffer *res = NULL;
    if (w->q)
        DispatcherQueue_get_HasThreadAccess(w->q, &w->access);
    if (w->rop) {
        w->hr = IAsyncOperationIBuffer_Wait(w->rop, w->timeout_ms, &res);
        if (res) {
            IBuffer_get_Length(res, &w->len);
            IBuffer_Release(res);
        }
    } else {
        w->hr = IAsyncAction_Wait(w->aop, w->timeout_ms);
    }
}

/* A Wait with a non-zero timeout on an unfinished operation of a socket bound to the queue, on
 * the queue's thread, is refused at once (its Completed could only run there); a zero Wait
 * polls; the same Wait on another thread works; a finished operation's Wait is fine; an
 * operation of a socket on another queue (or none) is not refused. */
static void test_wait_refused_on_queue_thread(void)
{
    where_reset();
    DispatcherQueue *q = queue_new(), *q2 = queue_new();
    srec r;
    StreamWebSocket *ws = q ? sws_connect_bound(q, tu_url("/echo"), &r) : NULL;
    IInputStream *in = NULL;
    IOutputStream *out = NULL;
    IBuffer *rbuf = NULL, *wbuf = NULL, *res = NULL;
    IAsyncOperationIBuffer *rop = NULL;
    bool access = false;
    if (!ws)
        goto out;
    CHECK_OK(DispatcherQueue_get_HasThreadAccess(q, &access));
    CHECK(access);
    CHECK_OK(StreamWebSocket_get_InputStream(ws, &in));
    CHECK_OK(StreamWebSocket_get_OutputStream(ws, &out));
    CHECK_OK(Buffer_Create(16, &rbuf));
    CHECK_OK(Buffer_CreateFromBytes((const uint8_t *)"ping", 4, &wbuf));
    if (!in || !out || !rbuf || !wbuf)
        goto out;
    CHECK_OK(IInputStream_ReadAsync(in, rbuf, 4, InputStreamOptions_None, &rop));
    if (!rop)
        goto out;
    /* A read finishes on rtws's threads (only its Completed is queued): waiting for it
     * on the queue's thread is allowed, and times out like any Wait. */
    double t0 = tu_now_ms();
    CHECK_HR(IAsyncOperationIBuffer_Wait(rop, 200, &res), RTWS_E_TIMEOUT);
    CHECK(tu_now_ms() - t0 >= 150);
    CHECK_HR(IAsyncOperationIBuffer_Wait(rop, 0, &res), RTWS_E_TIMEOUT);
    CHECK(res == NULL);
    /* Another thread may wait for it. */
    waiter w = {rop, NULL, 200, E_FAIL, 0, true, q};
    helper h;
    helper_start(&h, wait_elsewhere, &w);
    helper_join(&h);
    CHECK_HR(w.hr, RTWS_E_TIMEOUT);
    CHECK(!w.access);
    IAsyncOperationUInt32 *wop = NULL;
    CHECK_OK(IOutputStream_WriteAsync(out, wbuf, &wop));
    if (wop)
        IAsyncOperationUInt32_Release(wop);
    w.timeout_ms = 10000;
    helper_start(&h, wait_elsewhere, &w);
    helper_join(&h);
    CHECK_OK(w.hr);
    CHECK(w.len == 4);
    /* Finished: a Wait on the queue's thread returns its result. */
    CHECK_OK(IAsyncOperationIBuffer_Wait(rop, 1000, &res));
    if (res)
        IBuffer_Release(res);

    /* A wss: ConnectAsync whose ServerCustomValidationRequested handler runs on this
     * queue can finish only once this thread runs the queue: a Wait here is refused at
     * once; another thread may wait; running the queue lets it finish. */
    mrec mr;
    MessageWebSocket *mws = mws_bound(q, &mr);
    MessageWebSocketControl *mc = mws ? tu_control_of(mws) : NULL;
    IAsyncAction *cop = NULL;
    if (mws && mc) {
        validation v = {0, 0};
        EventRegistrationToken tok;
        CHECK_OK(MessageWebSocketControl_put_TrustedRootCertificates(mc, ca_pem));
        CHECK_OK(MessageWebSocket_add_ServerCustomValidationRequested(mws, mws_on_validation, &v,
                                                                      &tok));
        CHECK_OK(MessageWebSocket_ConnectAsync(mws, wss("127.0.0.1", port_valid, "/echo"), &cop));
        if (cop) {
            t0 = tu_now_ms();
            CHECK_HR(IAsyncAction_Wait(cop, 2000), E_ILLEGAL_METHOD_CALL);
            CHECK(strstr(rtws_GetLastErrorMessage(), "DispatcherQueue") != NULL);
            CHECK(tu_now_ms() - t0 < 1000);
            CHECK_HR(IAsyncAction_Wait(cop, 0), RTWS_E_TIMEOUT);
            waiter aw = {NULL, cop, 100, E_FAIL, 0, true, NULL};
            helper_start(&h, wait_elsewhere, &aw);
            helper_join(&h);
            CHECK_HR(aw.hr, RTWS_E_TIMEOUT);
            PUMP_UNTIL(q, v.count == 1, 10000);
            CHECK(v.count == 1);
            aw.timeout_ms = 10000;
            helper_start(&h, wait_elsewhere, &aw);
            helper_join(&h);
            CHECK_OK(aw.hr);
            IAsyncAction_Release(cop);
        }
    }
    if (mc)
        MessageWebSocketControl_Release(mc);
    if (mws)
        MessageWebSocket_Release(mws);

    /* A ws: connect finishes on rtws's threads: Wait here works. */
    mrec mr2;
    MessageWebSocket *plain = mws_bound(q, &mr2);
    if (plain) {
        CHECK_OK(MessageWebSocket_ConnectAsync(plain, tu_url("/echo"), &cop));
        if (cop) {
            CHECK_OK(IAsyncAction_Wait(cop, 10000));
            IAsyncAction_Release(cop);
        }
        MessageWebSocket_Release(plain);
    }

    /* Not this thread's queue: a socket bound to q2 (which this thread never ran), and an
     * unbound one: Wait works here. */
    for (int bound = 0; bound < 2; bound++) {
        mrec r2;
        MessageWebSocket *other = mws_bound(bound ? q2 : NULL, &r2);
        if (!other)
            continue;
        CHECK_OK(tu_connect(other, "/echo"));
        MessageWebSocket_Release(other);
    }
    pump_for(q, quiet_ms);
    check_where(1);
out:
    if (rop)
        IAsyncOperationIBuffer_Release(rop);
    if (rbuf)
        IBuffer_Release(rbuf);
    if (wbuf)
        IBuffer_Release(wbuf);
    if (in)
        IInputStream_Release(in);
    if (out)
        IOutputStream_Release(out);
    if (ws)
        StreamWebSocket_Release(ws);
    if (q2)
        DispatcherQueue_Release(q2);
    if (q)
        DispatcherQueue_Release(q);
}

/* ---- Many sockets on one queue ------------------------------------------------------------ */

#define MANY 20
#define MANY_MSGS 5

static void test_many_sockets_one_queue(void)
{
    where_reset();
    DispatcherQueue *q = queue_new();
    static mrec r[MANY];
    MessageWebSocket *ws[MANY] = {0};
    IAsyncAction *op[MANY] = {0};
    done_t cd[MANY], sd[MANY];
    memset(cd, 0, sizeof cd);
    memset(sd, 0, sizeof sd);
    if (!q)
        return;
    for (int i = 0; i < MANY; i++) {
        ws[i] = mws_bound(q, &r[i]);
        if (ws[i])
            op[i] = mws_connect_start(ws[i], tu_url("/echo"), &cd[i]);
    }
    int connected = 0;
    double deadline = tu_now_ms() + 20000;
    while (connected < MANY && tu_now_ms() < deadline) {
        pump_once(q, 20, 1000);
        connected = 0;
        for (int i = 0; i < MANY; i++)
            connected += cd[i].count == 1 && cd[i].status == AsyncStatus_Completed;
    }
    CHECK(connected == MANY);
    for (int i = 0; i < MANY; i++) {
        sd[i] = (done_t){0, -1};
        if (op[i])
            IAsyncAction_Release(op[i]);
        for (uint32_t m = 0; m < MANY_MSGS && ws[i]; m++)
            send_index(ws[i], m, 8 + (uint32_t)i, m == MANY_MSGS - 1 ? &sd[i] : NULL);
    }
    int done = 0;
    deadline = tu_now_ms() + 20000;
    while (done < MANY && tu_now_ms() < deadline) {
        pump_once(q, 20, 1000);
        done = 0;
        for (int i = 0; i < MANY; i++)
            done += r[i].msgs == MANY_MSGS && sd[i].count == 1;
    }
    CHECK(done == MANY);
    for (int i = 0; i < MANY; i++)
        if (ws[i])
            CHECK_OK(MessageWebSocket_Close(ws[i]));
    deadline = tu_now_ms() + 20000;
    done = 0;
    while (done < MANY && tu_now_ms() < deadline) {
        pump_once(q, 20, 1000);
        done = 0;
        for (int i = 0; i < MANY; i++)
            done += r[i].closed == 1;
    }
    CHECK(done == MANY);
    int bad = 0;
    for (int i = 0; i < MANY; i++) {
        bad += r[i].out_of_order + r[i].wrong_sender + r[i].after_closed + r[i].failures;
        bad += r[i].bytes != (uint64_t)MANY_MSGS * (8 + i);
        bad += r[i].msgs != MANY_MSGS || r[i].closed != 1;
    }
    CHECK(bad == 0);
    check_where(MANY * (1 + MANY_MSGS + 1 + 1));
    for (int i = 0; i < MANY; i++)
        if (ws[i])
            MessageWebSocket_Release(ws[i]);
    DispatcherQueue_Release(q);
}

/* ---- The queue released while sockets are bound ------------------------------------------- */

typedef struct {
    IAsyncOperationUInt32 *op;
    HRESULT hr;
    uint32_t n;
} u32_waiter;

static void wait_u32_elsewhere(void *context)
{
    u32_waiter *w = (u32_waiter *)context;
    w->hr = IAsyncOperationUInt32_Wait(w->op, 10000, &w->n);
}

static void release_queue_item(void *context)
{
    where();
    DispatcherQueue_Release((DispatcherQueue *)context);
}

/* Releasing the queue's last reference stops it: the work pending is dropped, later work is
 * refused (TryEnqueue gives false), the handlers of sockets still bound never run again, their
 * operations still finish (Wait works from another thread) and hold nothing back (the
 * operation handle's last Release is the host's). Releasing the reference a socket's
 * get_DispatcherQueue handed out does not stop it. */
static void test_queue_released_while_bound(void)
{
    where_reset();
    DispatcherQueue *q = queue_new(), *again = NULL, *got = NULL;
    mrec r;
    MessageWebSocket *ws = q ? mws_bound(q, &r) : NULL;
    IAsyncOperationUInt32 *op = NULL;
    bool queued = true, pending = true;
    if (!ws || !mws_connect_bound(q, ws, tu_url("/echo"), 1000))
        goto out;

    /* The socket's getter hands out a reference of its own: releasing it stops nothing. */
    CHECK_OK(MessageWebSocket_get_DispatcherQueue(ws, &got));
    CHECK(got != NULL);
    if (got)
        CHECK(DispatcherQueue_Release(got) == 0);
    item probe = {NULL, 0, 0, 0};
    CHECK_OK(DispatcherQueue_TryEnqueue(q, item_run, &probe, &queued));
    CHECK(queued);
    CHECK(run(q, 10, RTWS_INFINITE) == 1);
    CHECK(probe.ran == 1);

    /* Pending when the queue goes: the host's item, an echo, a store's Completed. */
    item dropped = {NULL, 0, 0, 0};
    enqueue(q, &dropped);
    send_index(ws, 0, 8, NULL);
    done_t sd = {0, -1};
    uint8_t m[8] = {0, 0, 0, 1};
    CHECK_OK(tu_store_nowait(ws, m, sizeof m, &op));
    if (op) {
        CHECK_OK(IAsyncOperationUInt32_put_Completed(op, on_u32, &sd));
        CHECK(status_settled_u32(op, 10000) == AsyncStatus_Completed);
    }
    tu_sleep_ms(quiet_ms);
    CHECK(DispatcherQueue_Release(q) == 0);
    q = NULL;

    /* The socket still holds the (stopped) queue. */
    CHECK_OK(MessageWebSocket_get_DispatcherQueue(ws, &again));
    CHECK(again != NULL);
    if (!again)
        goto out;
    item refused = {NULL, 0, 0, 0};
    CHECK_OK(DispatcherQueue_TryEnqueue(again, item_run, &refused, &queued));
    CHECK(!queued);
    double t0 = tu_now_ms();
    CHECK_OK(DispatcherQueue_Wait(again, 2000, &pending));
    CHECK(!pending);
    CHECK(tu_now_ms() - t0 < 1000);
    CHECK(run(again, 100, RTWS_INFINITE) == 0);

    /* Operations still finish; a Wait on another thread returns. */
    IAsyncOperationUInt32 *op2 = NULL;
    uint8_t m2[8] = {0, 0, 0, 2};
    CHECK_OK(tu_store_nowait(ws, m2, sizeof m2, &op2));
    if (op2) {
        done_t sd2 = {0, -1};
        CHECK_OK(IAsyncOperationUInt32_put_Completed(op2, on_u32, &sd2));
        u32_waiter w = {op2, E_FAIL, 0};
        helper h;
        helper_start(&h, wait_u32_elsewhere, &w);
        helper_join(&h);
        CHECK_OK(w.hr);
        CHECK(w.n == 8);
        CHECK(run(again, 100, RTWS_INFINITE) == 0);
        CHECK(sd2.count == 0);
        /* rtws let go of the operation with its unrun Completed. */
        CHECK(refs_settled_u32(op2, 2000) == 1);
        CHECK(IAsyncOperationUInt32_Release(op2) == 0);
    }
    /* Closed never runs either. */
    CHECK_OK(MessageWebSocket_Close(ws));
    tu_sleep_ms(quiet_ms);
    CHECK(run(again, 100, RTWS_INFINITE) == 0);
    CHECK(dropped.ran == 0 && refused.ran == 0);
    CHECK(sd.count == 0);
    CHECK(r.msgs == 0 && r.closed == 0);
    if (op) {
        CHECK(refs_settled_u32(op, 2000) == 1);
        CHECK(IAsyncOperationUInt32_Release(op) == 0);
        op = NULL;
    }
    /* Nothing can be bound to it any more. */
    mrec r2;
    MessageWebSocket *ws2 = mws_bound(NULL, &r2);
    if (ws2) {
        CHECK_HR(MessageWebSocket_put_DispatcherQueue(ws2, again), E_INVALIDARG);
        MessageWebSocket_Release(ws2);
    }

    /* Released by its own handler: the rest of the pending work never runs. */
    DispatcherQueue *q3 = queue_new();
    if (q3) {
        item after = {NULL, 0, 0, 0};
        CHECK_OK(DispatcherQueue_TryEnqueue(q3, release_queue_item, q3, &queued));
        enqueue(q3, &after);
        CHECK(run(q3, 10, RTWS_INFINITE) == 1);
        CHECK(after.ran == 0);
        CHECK(DispatcherQueue_AddRef(q3) == 0); /* gone */
    }
    check_where(1 + 1 + 1);
out:
    if (op)
        IAsyncOperationUInt32_Release(op);
    if (again)
        DispatcherQueue_Release(again);
    if (ws)
        MessageWebSocket_Release(ws);
    if (q)
        DispatcherQueue_Release(q);
}

/* ---- Bad input ------------------------------------------------------------------------------ */

static void nop_item(void *context)
{
    (void)context;
}

static void test_bad_input(void)
{
    DispatcherQueue *q = NULL, *dead = NULL;
    int32_t fd = 0;
    uint32_t ran = 0;
    bool b = false;

    /* NULL queue, NULL outputs, NULL handler. */
    CHECK_HR(DispatcherQueue_Create(NULL), E_POINTER);
    CHECK_HR(DispatcherQueue_TryEnqueue(NULL, nop_item, NULL, &b), E_POINTER);
    CHECK_HR(DispatcherQueue_get_FileDescriptor(NULL, &fd), E_POINTER);
    CHECK_HR(DispatcherQueue_RunPending(NULL, 10, 10, &ran), E_POINTER);
    CHECK_HR(DispatcherQueue_Wait(NULL, 0, &b), E_POINTER);
    CHECK_HR(DispatcherQueue_get_HasThreadAccess(NULL, &b), E_POINTER);
    CHECK(DispatcherQueue_AddRef(NULL) == 0);
    CHECK(DispatcherQueue_Release(NULL) == 0);
    q = queue_new();
    if (!q)
        return;
    CHECK_HR(DispatcherQueue_TryEnqueue(q, NULL, NULL, &b), E_POINTER);
    CHECK_HR(DispatcherQueue_TryEnqueue(q, nop_item, NULL, NULL), E_POINTER);
    CHECK_HR(DispatcherQueue_get_FileDescriptor(q, NULL), E_POINTER);
    CHECK_HR(DispatcherQueue_RunPending(q, 10, 10, NULL), E_POINTER);
    CHECK_HR(DispatcherQueue_Wait(q, 0, NULL), E_POINTER);
    CHECK_HR(DispatcherQueue_get_HasThreadAccess(q, NULL), E_POINTER);
    CHECK_HR(MessageWebSocket_get_DispatcherQueue(NULL, &dead), E_POINTER);
    CHECK_HR(MessageWebSocket_put_DispatcherQueue(NULL, q), E_POINTER);
    CHECK_HR(StreamWebSocket_get_DispatcherQueue(NULL, &dead), E_POINTER);
    CHECK_HR(StreamWebSocket_put_DispatcherQueue(NULL, q), E_POINTER);

    /* A released queue's handle (the value kept): refused everywhere, nothing crashes. */
    CHECK_OK(DispatcherQueue_Create(&dead));
    CHECK(DispatcherQueue_Release(dead) == 0);
    CHECK_HR(DispatcherQueue_TryEnqueue(dead, nop_item, NULL, &b), E_INVALIDARG);
    CHECK_HR(DispatcherQueue_get_FileDescriptor(dead, &fd), E_INVALIDARG);
    CHECK_HR(DispatcherQueue_RunPending(dead, 10, 10, &ran), E_INVALIDARG);
    CHECK_HR(DispatcherQueue_Wait(dead, 0, &b), E_INVALIDARG);
    CHECK_HR(DispatcherQueue_get_HasThreadAccess(dead, &b), E_INVALIDARG);
    CHECK(DispatcherQueue_AddRef(dead) == 0);
    CHECK(DispatcherQueue_Release(dead) == 0);

    MessageWebSocket *ws = NULL;
    StreamWebSocket *sws = NULL;
    DispatcherQueue *bound = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(StreamWebSocket_Create(&sws));
    if (!ws || !sws)
        goto out;
    CHECK_HR(MessageWebSocket_get_DispatcherQueue(ws, NULL), E_POINTER);
    CHECK_HR(StreamWebSocket_get_DispatcherQueue(sws, NULL), E_POINTER);
    /* Binding to a released queue, or to something that is no queue. */
    CHECK_HR(MessageWebSocket_put_DispatcherQueue(ws, dead), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_put_DispatcherQueue(sws, dead), E_INVALIDARG);
    CHECK_HR(MessageWebSocket_put_DispatcherQueue(ws, (DispatcherQueue *)sws), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_put_DispatcherQueue(sws, (DispatcherQueue *)ws), E_INVALIDARG);
    CHECK_HR(DispatcherQueue_RunPending((DispatcherQueue *)ws, 10, 10, &ran), E_INVALIDARG);
    CHECK_OK(MessageWebSocket_get_DispatcherQueue(ws, &bound));
    CHECK(bound == NULL);

    /* Bind, read back, unbind (NULL), bind again. */
    CHECK_OK(MessageWebSocket_put_DispatcherQueue(ws, q));
    CHECK_OK(MessageWebSocket_get_DispatcherQueue(ws, &bound));
    CHECK(bound != NULL);
    if (bound) {
        /* The same queue behind both handles: one fd. */
        int32_t fd1 = -1, fd2 = -2;
        CHECK_OK(DispatcherQueue_get_FileDescriptor(q, &fd1));
        CHECK_OK(DispatcherQueue_get_FileDescriptor(bound, &fd2));
        CHECK(fd1 == fd2);
        DispatcherQueue_Release(bound);
        bound = NULL;
    }
    CHECK_OK(MessageWebSocket_put_DispatcherQueue(ws, NULL));
    CHECK_OK(MessageWebSocket_get_DispatcherQueue(ws, &bound));
    CHECK(bound == NULL);
    CHECK_OK(StreamWebSocket_put_DispatcherQueue(sws, q));
    CHECK_OK(StreamWebSocket_get_DispatcherQueue(sws, &bound));
    CHECK(bound != NULL);
    if (bound)
        DispatcherQueue_Release(bound);
    CHECK_OK(StreamWebSocket_put_DispatcherQueue(sws, NULL));

    /* Unbound again: handlers run inline, off the host thread, without RunPending. */
    {
        mrec r;
        MessageWebSocket *unbound = mws_bound(q, &r);
        if (unbound) {
            where_reset();
            CHECK_OK(MessageWebSocket_put_DispatcherQueue(unbound, NULL));
            CHECK_OK(tu_connect(unbound, "/echo"));
            send_index(unbound, 0, 8, NULL);
            double deadline = tu_now_ms() + 10000;
            while (r.msgs == 0 && tu_now_ms() < deadline)
                tu_sleep_ms(5);
            CHECK(r.msgs == 1);
            pthread_mutex_lock(&g_lock);
            CHECK(g_off_host == 1);
            pthread_mutex_unlock(&g_lock);
            CHECK(!readable(fd_of(q)));
            MessageWebSocket_Release(unbound);
        }
    }

    /* After ConnectAsync (pending, then connected): E_ILLEGAL_METHOD_CALL, NULL too. */
    IAsyncAction *op = NULL;
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op));
    CHECK_HR(MessageWebSocket_put_DispatcherQueue(ws, q), E_ILLEGAL_METHOD_CALL);
    if (op) {
        CHECK_OK(IAsyncAction_Wait(op, 10000));
        IAsyncAction_Release(op);
        op = NULL;
    }
    CHECK_HR(MessageWebSocket_put_DispatcherQueue(ws, q), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(MessageWebSocket_put_DispatcherQueue(ws, NULL), E_ILLEGAL_METHOD_CALL);
    CHECK_OK(StreamWebSocket_ConnectAsync(sws, tu_url("/echo"), &op));
    if (op) {
        CHECK_OK(IAsyncAction_Wait(op, 10000));
        IAsyncAction_Release(op);
        op = NULL;
    }
    CHECK_HR(StreamWebSocket_put_DispatcherQueue(sws, q), E_ILLEGAL_METHOD_CALL);
    /* Closed before connecting: RO_E_CLOSED. */
    {
        MessageWebSocket *closed = NULL;
        CHECK_OK(MessageWebSocket_Create(&closed));
        if (closed) {
            CHECK_OK(MessageWebSocket_Close(closed));
            CHECK_HR(MessageWebSocket_put_DispatcherQueue(closed, q), RO_E_CLOSED);
            MessageWebSocket_Release(closed);
        }
    }
out:
    if (ws)
        MessageWebSocket_Release(ws);
    if (sws)
        StreamWebSocket_Release(sws);
    CHECK(DispatcherQueue_Release(q) == 0);
}

static const tu_test tests[] = {
    TU_TEST(test_fd_readable_while_pending),
    TU_TEST(test_one_signal_per_batch),
    TU_TEST(test_run_pending_bounds),
    TU_TEST(test_run_pending_reentrance_refused),
    TU_TEST(test_queue_wait),
    TU_TEST(test_wait_with_a_bound_socket),
    TU_TEST(test_direct_events_keep_the_time_bound),
    TU_TEST(test_has_thread_access),
    TU_TEST(test_thread_identity_message_websocket),
    TU_TEST(test_message_data_stream_on_the_queue),
    TU_TEST(test_thread_identity_stream_websocket),
    TU_TEST(test_thread_identity_server_validation),
    TU_TEST(test_event_order),
    TU_TEST(test_try_enqueue_order_with_events),
    TU_TEST(test_sends_of_a_batch_go_out_at_its_end),
    TU_TEST(test_buffer_sent_as_it_was_at_the_call),
    TU_TEST(test_remove_purges_queued),
    TU_TEST(test_release_with_events_queued),
    TU_TEST(test_backpressure_bytes),
    TU_TEST(test_backpressure_events),
    TU_TEST(test_wait_refused_on_queue_thread),
    TU_TEST(test_many_sockets_one_queue),
    TU_TEST(test_queue_released_while_bound),
    TU_TEST(test_bad_input),
    TU_END,
};

int main(int argc, char **argv)
{
    const char *preload = getenv("LD_PRELOAD");
    tls_init(argc, argv);
    under_checker = preload && (strstr(preload, "vgpreload") || strstr(preload, "asan"));
    if (under_checker)
        quiet_ms = 500;
    ca_pem = read_tls_file("ca.pem", NULL);
    if (!ca_pem)
        return 1;
    tu_run(tests, argc - TLS_ARGC, argv + TLS_ARGC);
    free(ca_pem);
    return tu_finish();
}
