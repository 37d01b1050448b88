/*
 * libuv_loop: rtws sockets driven from a libuv event loop.
 *
 * The same idea as poll_loop.c, for a host whose loop belongs to libuv (Node-style
 * programs, many C servers): the sockets are bound to one DispatcherQueue, and the
 * queue's file descriptor is registered with the loop as a uv_poll_t watcher. When
 * libuv reports it readable (work is pending), the watcher's callback runs a bounded
 * batch with DispatcherQueue_RunPending: every MessageReceived, Closed and Completed
 * callback of the sockets then runs on the loop's thread, like any other libuv
 * callback, never on an rtws I/O thread. libuv polls level-triggered, so a batch cut
 * short by its bound is simply picked up on the next turn of the loop.
 *
 * It connects SOCKETS sockets (default 8) to an echo server, sends 3 messages on
 * each, checks every echo, closes every socket with 1000 once all came back, and
 * exits 0 when every Closed arrived. A uv_timer bounds the whole run (20 s): if it
 * fires, the run fails. Every callback checks that it runs on the loop's thread.
 *
 * Build: cc libuv_loop.c -lrtws $(pkg-config --cflags --libs libuv)
 * Usage: libuv_loop ws://127.0.0.1:PORT/echo [SOCKETS]
 */
#define _POSIX_C_SOURCE 200809L
#include <rtws.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define MAX_SOCKETS 64
#define MESSAGES 3        /* per socket */
#define RUN_LIMIT_MS 20000

struct app;

struct conn {
    struct app *app;
    int index;
    MessageWebSocket *ws;
    DataWriter *writer;
    int connected, closed;
    long echoed;
};

/* Touched by the loop's thread only. */
struct app {
    pthread_t loop_thread;
    uv_loop_t *loop;
    uv_poll_t queue_watcher; /* the DispatcherQueue's fd */
    uv_timer_t limit;        /* bounds the run */
    DispatcherQueue *queue;
    struct conn conns[MAX_SOCKETS];
    int count;
    int settled, connected, closed, closing, stopped;
    long sent, echoed, stores_done, callbacks;
    atomic_int wrong_thread;
    int errors;
};

static void report(const char *what, HRESULT hr)
{
    fprintf(stderr, "%s failed: 0x%08X (WebErrorStatus %d): %s\n", what, (unsigned)hr,
            (int)WebSocketError_GetStatus(hr), rtws_GetLastErrorMessage());
}

static void on_loop_thread(struct app *app, const char *what)
{
    if (!pthread_equal(pthread_self(), app->loop_thread)) {
        fprintf(stderr, "%s ran on another thread than the loop's\n", what);
        atomic_fetch_add(&app->wrong_thread, 1);
        return;
    }
    app->callbacks++;
}

/* ---- rtws callbacks (run by DispatcherQueue_RunPending, on the loop's thread) ------- */

static void on_store_completed(void *context, IAsyncOperationUInt32 *op, AsyncStatus status)
{
    struct app *app = context;
    on_loop_thread(app, "StoreAsync's Completed");
    if (status != AsyncStatus_Completed) {
        HRESULT hr = E_FAIL;
        IAsyncOperationUInt32_get_ErrorCode(op, &hr);
        report("StoreAsync", hr);
        app->errors++;
    }
    app->stores_done++;
}

static void on_message_received(void *context, MessageWebSocket *sender,
                                MessageWebSocketMessageReceivedEventArgs *args)
{
    struct conn *c = context;
    (void)sender;
    on_loop_thread(c->app, "MessageReceived");
    DataReader *reader = NULL;
    HRESULT hr = MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &reader);
    if (RTWS_FAILED(hr)) {
        report("MessageReceived", hr); /* the connection was lost: Closed follows */
        c->app->errors++;
        return;
    }
    char text[128], expected[64];
    uint32_t length = 0, needed = 0;
    DataReader_get_UnconsumedBufferLength(reader, &length);
    hr = DataReader_ReadString(reader, length, text, sizeof text, &needed);
    DataReader_Release(reader);
    snprintf(expected, sizeof expected, "libuv socket %d, message %ld", c->index, c->echoed);
    if (RTWS_FAILED(hr) || strcmp(text, expected) != 0) {
        fprintf(stderr, "socket %d: wrong echo (expected \"%s\")\n", c->index, expected);
        c->app->errors++;
    }
    c->echoed++;
    c->app->echoed++;
}

static void on_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    struct conn *c = context;
    (void)sender;
    on_loop_thread(c->app, "Closed");
    uint16_t code = 0;
    WebSocketClosedEventArgs_get_Code(args, &code);
    if (code != 1000) {
        fprintf(stderr, "socket %d: closed with %u\n", c->index, (unsigned)code);
        c->app->errors++;
    }
    c->closed = 1;
    c->app->closed++;
}

static void on_connected(void *context, IAsyncAction *op, AsyncStatus status)
{
    struct conn *c = context;
    struct app *app = c->app;
    on_loop_thread(app, "ConnectAsync's Completed");
    app->settled++;
    if (status != AsyncStatus_Completed) {
        HRESULT hr = E_FAIL;
        IAsyncAction_get_ErrorCode(op, &hr);
        report("ConnectAsync", hr);
        app->errors++;
        return;
    }
    IOutputStream *stream = NULL;
    HRESULT hr = MessageWebSocket_get_OutputStream(c->ws, &stream);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_CreateDataWriter(stream, &c->writer);
    if (stream)
        IOutputStream_Release(stream);
    if (RTWS_FAILED(hr)) {
        report("CreateDataWriter", hr);
        app->errors++;
        return;
    }
    c->connected = 1;
    app->connected++;
    for (long k = 0; k < MESSAGES && RTWS_SUCCEEDED(hr); k++) {
        char text[64];
        IAsyncOperationUInt32 *store = NULL;
        snprintf(text, sizeof text, "libuv socket %d, message %ld", c->index, k);
        hr = DataWriter_WriteString(c->writer, text, NULL);
        if (RTWS_SUCCEEDED(hr))
            hr = DataWriter_StoreAsync(c->writer, &store);
        if (RTWS_SUCCEEDED(hr))
            hr = IAsyncOperationUInt32_put_Completed(store, on_store_completed, app);
        if (store)
            IAsyncOperationUInt32_Release(store);
        if (RTWS_SUCCEEDED(hr))
            app->sent++;
    }
    if (RTWS_FAILED(hr)) {
        report("send", hr);
        app->errors++;
    }
}

/* ---- libuv callbacks -------------------------------------------------------------- */

/* Ends the run: with both handles closed, uv_run returns. */
static void stop(struct app *app)
{
    if (app->stopped)
        return;
    app->stopped = 1;
    uv_poll_stop(&app->queue_watcher);
    uv_close((uv_handle_t *)&app->queue_watcher, NULL);
    uv_timer_stop(&app->limit);
    uv_close((uv_handle_t *)&app->limit, NULL);
}

/* The queue's fd is readable: work is pending. */
static void on_queue_readable(uv_poll_t *watcher, int status, int events)
{
    struct app *app = watcher->data;
    (void)events;
    if (status < 0) {
        fprintf(stderr, "uv_poll: %s\n", uv_strerror(status));
        app->errors++;
        stop(app);
        return;
    }
    /* A bounded batch (64 callbacks or 10 ms) keeps the loop's other watchers served;
     * if more is pending, the fd is still readable and libuv calls back next turn. */
    uint32_t ran = 0;
    HRESULT hr = DispatcherQueue_RunPending(app->queue, 64, 10, &ran);
    if (RTWS_FAILED(hr)) {
        report("RunPending", hr);
        app->errors++;
        stop(app);
        return;
    }
    /* Every socket connected (or failed), every echo and store back: close them all. */
    if (!app->closing && app->settled == app->count && app->echoed == app->sent &&
        app->stores_done == app->sent) {
        app->closing = 1;
        for (int i = 0; i < app->count; i++) {
            struct conn *c = &app->conns[i];
            if (c->connected && !c->closed)
                MessageWebSocket_CloseWithStatus(c->ws, 1000, "done");
        }
    }
    if (app->closing && app->closed == app->connected)
        stop(app);
}

static void on_limit(uv_timer_t *timer)
{
    struct app *app = timer->data;
    fprintf(stderr, "libuv_loop: not done after %d ms\n", RUN_LIMIT_MS);
    app->errors++;
    stop(app);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ws://host:port/echo [SOCKETS]\n", argv[0]);
        return 2;
    }
    static struct app app; /* zeroed */
    app.count = argc > 2 ? atoi(argv[2]) : 8;
    if (app.count < 1 || app.count > MAX_SOCKETS) {
        fprintf(stderr, "SOCKETS must be 1..%d\n", MAX_SOCKETS);
        return 2;
    }
    app.loop_thread = pthread_self();
    app.loop = uv_default_loop();

    HRESULT hr = DispatcherQueue_Create(&app.queue);
    if (RTWS_FAILED(hr)) {
        report("DispatcherQueue_Create", hr);
        return 1;
    }
    int32_t fd = -1;
    DispatcherQueue_get_FileDescriptor(app.queue, &fd);

    /* The queue's fd as a libuv watcher, and a timer bounding the run. */
    uv_poll_init(app.loop, &app.queue_watcher, fd);
    app.queue_watcher.data = &app;
    uv_poll_start(&app.queue_watcher, UV_READABLE, on_queue_readable);
    uv_timer_init(app.loop, &app.limit);
    app.limit.data = &app;
    uv_timer_start(&app.limit, on_limit, RUN_LIMIT_MS, 0);

    for (int i = 0; i < app.count; i++) {
        struct conn *c = &app.conns[i];
        c->app = &app;
        c->index = i;
        MessageWebSocketControl *control = NULL;
        IAsyncAction *connect = NULL;
        EventRegistrationToken token;
        hr = MessageWebSocket_Create(&c->ws);
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocket_get_Control(c->ws, &control);
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocketControl_put_MessageType(control, SocketMessageType_Utf8);
        if (control)
            MessageWebSocketControl_Release(control);
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocket_put_DispatcherQueue(c->ws, app.queue); /* before connecting */
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocket_add_MessageReceived(c->ws, on_message_received, c, &token);
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocket_add_Closed(c->ws, on_closed, c, &token);
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocket_ConnectAsync(c->ws, argv[1], &connect);
        if (RTWS_SUCCEEDED(hr))
            hr = IAsyncAction_put_Completed(connect, on_connected, c);
        if (connect)
            IAsyncAction_Release(connect);
        if (RTWS_FAILED(hr)) {
            report("socket setup", hr);
            app.settled++;
            app.errors++;
        }
    }
    printf("libuv_loop: %d sockets connecting, the DispatcherQueue's fd %d watched by libuv\n",
           app.count, (int)fd);
    fflush(stdout);

    /* Runs until stop() closed both handles (done, or the time limit). */
    uv_run(app.loop, UV_RUN_DEFAULT);

    for (int i = 0; i < app.count; i++) {
        struct conn *c = &app.conns[i];
        if (c->writer) {
            IOutputStream *detached = NULL;
            if (RTWS_SUCCEEDED(DataWriter_DetachStream(c->writer, &detached)))
                IOutputStream_Release(detached);
            DataWriter_Release(c->writer);
        }
        if (c->ws)
            MessageWebSocket_Release(c->ws);
    }
    /* The watcher is closed: the queue (and its fd) may go. */
    DispatcherQueue_Release(app.queue);
    uv_loop_close(app.loop);
    rtws_Shutdown(5000);

    int wrong = atomic_load(&app.wrong_thread);
    printf("%d of %d sockets connected, %ld of %ld messages echoed, %d closed; "
           "%ld callbacks on the loop's thread, %d on another\n",
           app.connected, app.count, app.echoed, app.sent, app.closed, app.callbacks, wrong);
    int ok = app.errors == 0 && wrong == 0 && app.connected == app.count &&
             app.closed == app.count && app.echoed == app.sent;
    printf(ok ? "libuv_loop: every event handled on the loop's thread\n" : "libuv_loop: FAILED\n");
    return ok ? 0 : 1;
}
