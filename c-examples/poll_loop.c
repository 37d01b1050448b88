/*
 * poll_loop: one thread drives many sockets from its own poll() loop.
 *
 * By default rtws runs every handler inline on one of its I/O threads. A host with
 * its own event loop (a GUI, a game loop, a server built on poll/epoll) can have
 * them run on its own thread instead: it creates a DispatcherQueue and binds each
 * socket to it (MessageWebSocket_put_DispatcherQueue, before ConnectAsync). Then
 * every MessageReceived, Closed and Completed callback of those sockets and their
 * operations is queued, and runs only when the host calls DispatcherQueue_RunPending,
 * on the host's thread. The network I/O still happens on rtws's threads.
 *
 * The queue has a file descriptor that is readable exactly while work is pending,
 * so it is one more descriptor in the host's poll() set. This program's main thread
 * polls two of them:
 *   - the queue's: when readable, DispatcherQueue_RunPending runs a bounded batch;
 *   - stdin: each line read is sent on every open socket (and echoed back).
 *
 * It connects SOCKETS sockets (default 8) to an echo server, all bound to one
 * queue, sends 3 messages on each, checks every echo, watches stdin for SECONDS
 * (default 10) once every socket is connected (EOF, e.g. Ctrl-D, ends that early),
 * then closes every socket with 1000 and exits 0 once every echo and every Closed
 * came back. Every callback checks that it runs on the main thread: no data here
 * needs a lock, because nothing else ever touches it.
 *
 * Every loop is bounded: the whole run ends after SECONDS + 30 s at most.
 *
 * Usage: poll_loop ws://127.0.0.1:PORT/echo [SOCKETS [SECONDS]]
 *        printf 'hello\n' | poll_loop ws://127.0.0.1:PORT/echo 8 5
 */
#define _POSIX_C_SOURCE 200809L
#include <rtws.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 64
#define SCRIPTED 3     /* messages each socket sends on its own */
#define MAX_LINES 32   /* stdin lines sent, at most (more are ignored) */
#define LINE_MAX 256   /* bytes per stdin line, at most (longer ones are cut) */
#define CLOSE_SECS 10  /* time allowed for the Closed events once closing */

struct app;

/* One socket and what main knows about it. */
struct conn {
    struct app *app;
    int index;
    MessageWebSocket *ws;
    DataWriter *writer;       /* attached to the socket's OutputStream once connected */
    int connected, closed, failed;
    int first_line;           /* the stdin lines sent before it connected are not its */
    long sent, echoed;
};

/* Everything the callbacks share with main. Only the main thread ever touches it. */
struct app {
    pthread_t main_thread;
    DispatcherQueue *queue;
    struct conn conns[MAX_SOCKETS];
    int count;
    int connected, settled, closed; /* settled: connected or failed */
    long sent, echoed, stores_done;
    char lines[MAX_LINES][LINE_MAX];
    int line_count;
    long callbacks;
    atomic_int wrong_thread; /* the one thing another thread could write (if rtws broke
                                its promise), so the check itself must be thread-safe */
    int errors;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void report(const char *what, HRESULT hr)
{
    fprintf(stderr, "%s failed: 0x%08X (WebErrorStatus %d): %s\n", what, (unsigned)hr,
            (int)WebSocketError_GetStatus(hr), rtws_GetLastErrorMessage());
}

/* Every callback starts here: it must run on main's thread, inside RunPending. */
static void on_main_thread(struct app *app, const char *what)
{
    if (!pthread_equal(pthread_self(), app->main_thread)) {
        fprintf(stderr, "%s ran on another thread than main\n", what);
        atomic_fetch_add(&app->wrong_thread, 1);
        return;
    }
    app->callbacks++;
}

/* ---- callbacks: all run on the main thread, from DispatcherQueue_RunPending ---------- */

static void on_store_completed(void *context, IAsyncOperationUInt32 *op, AsyncStatus status)
{
    struct app *app = context;
    on_main_thread(app, "StoreAsync's Completed");
    if (status != AsyncStatus_Completed) {
        HRESULT hr = E_FAIL;
        IAsyncOperationUInt32_get_ErrorCode(op, &hr);
        report("StoreAsync", hr);
        app->errors++;
    }
    app->stores_done++;
}

/* WriteString + StoreAsync; the store's Completed comes back through the queue too. */
static void send_text(struct conn *c, const char *text)
{
    IAsyncOperationUInt32 *store = NULL;
    HRESULT hr = DataWriter_WriteString(c->writer, text, NULL);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(c->writer, &store);
    if (RTWS_SUCCEEDED(hr))
        hr = IAsyncOperationUInt32_put_Completed(store, on_store_completed, c->app);
    if (store)
        IAsyncOperationUInt32_Release(store); /* rtws keeps it until Completed ran */
    if (RTWS_FAILED(hr)) {
        report("send", hr);
        c->app->errors++;
        return;
    }
    c->sent++;
    c->app->sent++;
}

/* What echo number `k` of socket `c` must say. */
static void expected_echo(const struct conn *c, long k, char *out, size_t size)
{
    if (k < SCRIPTED)
        snprintf(out, size, "socket %d, message %ld", c->index, k);
    else
        snprintf(out, size, "%s", c->app->lines[c->first_line + (k - SCRIPTED)]);
}

static void on_message_received(void *context, MessageWebSocket *sender,
                                MessageWebSocketMessageReceivedEventArgs *args)
{
    struct conn *c = context;
    (void)sender;
    on_main_thread(c->app, "MessageReceived");
    DataReader *reader = NULL;
    HRESULT hr = MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &reader);
    if (RTWS_FAILED(hr)) {
        /* The connection was lost: Closed follows. */
        report("MessageReceived", hr);
        c->app->errors++;
        return;
    }
    char text[LINE_MAX + 64], expected[LINE_MAX + 64];
    uint32_t length = 0, needed = 0;
    DataReader_get_UnconsumedBufferLength(reader, &length);
    hr = DataReader_ReadString(reader, length, text, sizeof text, &needed);
    DataReader_Release(reader);
    if (RTWS_FAILED(hr)) {
        report("ReadString", hr);
        c->app->errors++;
        return;
    }
    expected_echo(c, c->echoed, expected, sizeof expected);
    if (strcmp(text, expected) != 0) {
        fprintf(stderr, "socket %d: echo \"%s\", expected \"%s\"\n", c->index, text, expected);
        c->app->errors++;
    }
    c->echoed++;
    c->app->echoed++;
    if (c->echoed > SCRIPTED && c->index == 0)
        printf("echo of \"%s\" received on socket 0\n", text);
}

static void on_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    struct conn *c = context;
    (void)sender;
    on_main_thread(c->app, "Closed");
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
    on_main_thread(app, "ConnectAsync's Completed");
    app->settled++;
    if (status != AsyncStatus_Completed) {
        HRESULT hr = E_FAIL;
        IAsyncAction_get_ErrorCode(op, &hr);
        fprintf(stderr, "socket %d: ", c->index);
        report("ConnectAsync", hr);
        c->failed = 1;
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
        c->failed = 1;
        app->errors++;
        return;
    }
    c->connected = 1;
    c->first_line = app->line_count;
    app->connected++;
    char text[64];
    for (long k = 0; k < SCRIPTED; k++) {
        expected_echo(c, k, text, sizeof text);
        send_text(c, text);
    }
}

/* ---- stdin ----------------------------------------------------------------------------- */

/* Sends one line typed on stdin on every connected socket. */
static void send_line(struct app *app, const char *line)
{
    if (app->line_count == MAX_LINES) {
        fprintf(stderr, "more than %d lines: \"%s\" ignored\n", MAX_LINES, line);
        return;
    }
    snprintf(app->lines[app->line_count++], LINE_MAX, "%s", line);
    int on = 0;
    for (int i = 0; i < app->count; i++) {
        struct conn *c = &app->conns[i];
        if (c->connected && !c->closed) {
            send_text(c, app->lines[app->line_count - 1]);
            on++;
        }
    }
    printf("sent \"%s\" on %d sockets\n", app->lines[app->line_count - 1], on);
}

/* Reads what stdin has (it is readable, so this does not block) and sends each complete
 * line; at EOF, the last unterminated line too. Returns 0 at EOF or on an error. */
static int read_stdin(struct app *app, char *buf, size_t *len, size_t size)
{
    ssize_t n = read(STDIN_FILENO, buf + *len, size - 1 - *len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    int open = n > 0;
    if (n > 0)
        *len += (size_t)n;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', *len - (size_t)(start - buf))) != NULL) {
        *nl = '\0';
        if (nl > start)
            send_line(app, start);
        start = nl + 1;
    }
    *len -= (size_t)(start - buf);
    memmove(buf, start, *len);
    if (*len == size - 1 || (!open && *len > 0)) { /* too long, or the last line */
        buf[*len] = '\0';
        send_line(app, buf);
        *len = 0;
    }
    return open;
}

/* ---- main: the loop -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ws://host:port/echo [SOCKETS [SECONDS]]\n", argv[0]);
        return 2;
    }
    static struct app app; /* static: large, and zeroed */
    app.main_thread = pthread_self();
    app.count = argc > 2 ? atoi(argv[2]) : 8;
    int seconds = argc > 3 ? atoi(argv[3]) : 10;
    if (app.count < 1 || app.count > MAX_SOCKETS || seconds < 0 || seconds > 3600) {
        fprintf(stderr, "SOCKETS must be 1..%d, SECONDS 0..3600\n", MAX_SOCKETS);
        return 2;
    }

    /* 1. The queue, and its descriptor for poll(). */
    HRESULT hr = DispatcherQueue_Create(&app.queue);
    if (RTWS_FAILED(hr)) {
        report("DispatcherQueue_Create", hr);
        return 1;
    }
    int32_t queue_fd = -1;
    DispatcherQueue_get_FileDescriptor(app.queue, &queue_fd);

    /* 2. The sockets: bound to the queue before ConnectAsync; the connects complete
     *    through the queue too (put_Completed instead of Wait: main must not block). */
    for (int i = 0; i < app.count; i++) {
        struct conn *c = &app.conns[i];
        c->app = &app;
        c->index = i;
        IAsyncAction *connect = NULL;
        MessageWebSocketControl *control = NULL;
        EventRegistrationToken token;
        hr = MessageWebSocket_Create(&c->ws);
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocket_get_Control(c->ws, &control);
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocketControl_put_MessageType(control, SocketMessageType_Utf8);
        if (control)
            MessageWebSocketControl_Release(control);
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocket_put_DispatcherQueue(c->ws, app.queue);
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
            c->failed = 1;
            app.settled++; /* no Completed will come (or it reports the failure) */
            app.errors++;
        }
    }
    printf("%d sockets connecting, all bound to one DispatcherQueue (fd %d)\n", app.count,
           (int)queue_fd);

    /* 3. The loop. Phases: connecting, exchanging (stdin watched), closing. */
    int64_t start = now_ms(), limit = start + (int64_t)(seconds + 30) * 1000;
    int64_t stdin_until = -1; /* set once every socket is connected */
    int stdin_open = 1, closing = 0;
    int64_t close_limit = 0;
    char inbuf[LINE_MAX];
    size_t inlen = 0;
    if (seconds > 0 && isatty(STDIN_FILENO))
        printf("type lines to send them on every socket (%d s; Ctrl-D ends)\n", seconds);
    fflush(stdout);
    for (long round = 0; round < 1000000; round++) {
        int64_t now = now_ms();
        if (now >= limit || (closing && now >= close_limit)) {
            fprintf(stderr, "poll_loop: time limit reached\n");
            app.errors++;
            break;
        }
        /* Every socket connected (or failed): start the stdin phase. */
        if (stdin_until < 0 && app.settled == app.count) {
            stdin_until = now + (int64_t)seconds * 1000;
        }
        int watch_stdin = stdin_open && stdin_until >= 0 && now < stdin_until && !closing;
        /* Done exchanging: stdin is over, every message echoed, every store completed. */
        if (!closing && stdin_until >= 0 && !watch_stdin && app.echoed == app.sent &&
            app.stores_done == app.sent) {
            closing = 1;
            close_limit = now + CLOSE_SECS * 1000;
            for (int i = 0; i < app.count; i++) {
                struct conn *c = &app.conns[i];
                if (c->connected && !c->closed) {
                    hr = MessageWebSocket_CloseWithStatus(c->ws, 1000, "done");
                    if (RTWS_FAILED(hr)) {
                        report("Close", hr);
                        app.errors++;
                    }
                }
            }
        }
        if (closing && app.closed == app.connected)
            break;

        struct pollfd fds[2] = {{.fd = queue_fd, .events = POLLIN},
                                {.fd = STDIN_FILENO, .events = POLLIN}};
        /* Wake up at least every 100 ms to look at the clock. */
        int timeout = 100;
        if (watch_stdin && stdin_until - now < timeout)
            timeout = (int)(stdin_until - now);
        int n = poll(fds, watch_stdin ? 2 : 1, timeout);
        if (n < 0 && errno != EINTR) {
            perror("poll");
            app.errors++;
            break;
        }
        if (n <= 0)
            continue;
        if (fds[0].revents & POLLIN) {
            /* Run what is pending: at most 64 callbacks or 10 ms, then poll again (the fd
             * stays readable while more is pending), so stdin is never starved. */
            uint32_t ran = 0;
            hr = DispatcherQueue_RunPending(app.queue, 64, 10, &ran);
            if (RTWS_FAILED(hr)) {
                report("RunPending", hr);
                app.errors++;
                break;
            }
        }
        if (watch_stdin && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
            stdin_open = read_stdin(&app, inbuf, &inlen, sizeof inbuf);
    }

    /* 4. Clean up: the writers give their stream back, the sockets and the queue go. */
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
    DispatcherQueue_Release(app.queue);
    rtws_Shutdown(5000);

    int wrong = atomic_load(&app.wrong_thread);
    printf("%d of %d sockets connected, %ld of %ld messages echoed, %d closed; "
           "%ld callbacks on the main thread, %d on another\n",
           app.connected, app.count, app.echoed, app.sent, app.closed, app.callbacks, wrong);
    int ok = app.errors == 0 && wrong == 0 && app.connected == app.count &&
             app.closed == app.count && app.echoed == app.sent;
    printf(ok ? "poll_loop: every event handled on the main thread\n" : "poll_loop: FAILED\n");
    return ok ? 0 : 1;
}
