/*
 * Minimal test support for the C tests: checks that count and report failures,
 * bounded waits for events, and helpers to connect a MessageWebSocket to the
 * bundled test server. Every C test is a program run by ctest as
 *   tests/run_with_server.py --server rtws-testserver -- test_x ws://127.0.0.1:PORT
 * and exits non-zero if any check failed.
 */
#ifndef RTWS_TESTUTIL_H
#define RTWS_TESTUTIL_H

#define _POSIX_C_SOURCE 200809L
#include <rtws.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int tu_checks, tu_failures;
static const char *tu_base_url; /* ws://127.0.0.1:PORT, from argv[1] */

#define CHECK(cond)                                                                   \
    do {                                                                              \
        tu_checks++;                                                                  \
        if (!(cond)) {                                                                \
            tu_failures++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

/* Checks that `expr` returns exactly the HRESULT `expected`. */
#define CHECK_HR(expr, expected)                                                      \
    do {                                                                              \
        HRESULT tu_hr_ = (expr);                                                      \
        tu_checks++;                                                                  \
        if (tu_hr_ != (HRESULT)(expected)) {                                          \
            tu_failures++;                                                            \
            fprintf(stderr, "%s:%d: %s returned 0x%08X, expected 0x%08X (%s)\n",      \
                    __FILE__, __LINE__, #expr, (unsigned)tu_hr_,                      \
                    (unsigned)(HRESULT)(expected), rtws_GetLastErrorMessage());       \
        }                                                                             \
    } while (0)

#define CHECK_OK(expr) CHECK_HR(expr, S_OK)

/* Runs one test function and reports it. */
#define RUN(test)                                                                     \
    do {                                                                              \
        int tu_before_ = tu_failures;                                                 \
        test();                                                                       \
        printf("%s %s\n", tu_failures == tu_before_ ? "ok  " : "FAIL", #test);        \
        fflush(stdout);                                                               \
    } while (0)

/* Call first in main: takes the server URL from argv[1]. */
static inline void tu_init(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ws://127.0.0.1:PORT\n", argv[0]);
        exit(2);
    }
    tu_base_url = argv[1];
}

/* Call last in main: shuts rtws down and prints the plain closing line. */
static inline int tu_finish(void)
{
    CHECK_OK(rtws_Shutdown(5000));
    printf("%d passed, %d failed\n", tu_checks - tu_failures, tu_failures);
    return tu_failures == 0 ? 0 : 1;
}

/* `base_url` + `path` in a static buffer (one at a time). */
static inline const char *tu_url(const char *path)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s%s", tu_base_url, path);
    return buf;
}

/* A counter with a condition variable: handlers bump it, tests wait for it. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int count;
} tu_signal;

static inline void tu_signal_init(tu_signal *s)
{
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->count = 0;
}

static inline void tu_signal_destroy(tu_signal *s)
{
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
}

static inline void tu_signal_bump(tu_signal *s)
{
    pthread_mutex_lock(&s->lock);
    s->count++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static inline int tu_signal_get(tu_signal *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->count;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Waits until the count reaches `n` or `timeout_ms` passes; returns 1 if reached. */
static inline int tu_signal_wait(tu_signal *s, int n, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (s->count < n) {
        if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) != 0)
            break;
    }
    int reached = s->count >= n;
    pthread_mutex_unlock(&s->lock);
    return reached;
}

static inline void tu_sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Connects `ws` to `path` on the test server, waiting at most 10 s. */
static inline HRESULT tu_connect(MessageWebSocket *ws, const char *path)
{
    IAsyncAction *op = NULL;
    HRESULT hr = MessageWebSocket_ConnectAsync(ws, tu_url(path), &op);
    if (RTWS_FAILED(hr))
        return hr;
    hr = IAsyncAction_Wait(op, 10000);
    IAsyncAction_Release(op);
    return hr;
}

/* A DataWriter over `ws`'s output stream, or NULL. */
static inline DataWriter *tu_writer_for(MessageWebSocket *ws)
{
    IOutputStream *out = NULL;
    DataWriter *w = NULL;
    if (RTWS_FAILED(MessageWebSocket_get_OutputStream(ws, &out)))
        return NULL;
    if (RTWS_FAILED(DataWriter_CreateDataWriter(out, &w)))
        w = NULL;
    IOutputStream_Release(out);
    return w;
}

/* Detaches the stream (so it stays open, see DataWriter_CreateDataWriter) and
 * releases the writer; NULL is ignored. */
static inline void tu_writer_done(DataWriter *w)
{
    IOutputStream *out = NULL;
    if (!w)
        return;
    if (RTWS_SUCCEEDED(DataWriter_DetachStream(w, &out)))
        IOutputStream_Release(out);
    DataWriter_Release(w);
}

/* Sends one message (`len` bytes of `data`) with a fresh DataWriter, detaching the
 * stream afterwards, and waits for the send to complete. */
static inline HRESULT tu_send(MessageWebSocket *ws, const void *data, uint32_t len)
{
    IAsyncOperationUInt32 *store = NULL;
    DataWriter *writer = tu_writer_for(ws);
    HRESULT hr = writer ? DataWriter_WriteBytes(writer, len, (const uint8_t *)data) : E_FAIL;
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(writer, &store);
    if (RTWS_SUCCEEDED(hr))
        hr = IAsyncOperationUInt32_Wait(store, 10000, NULL);
    if (store)
        IAsyncOperationUInt32_Release(store);
    tu_writer_done(writer);
    return hr;
}

static inline HRESULT tu_send_text(MessageWebSocket *ws, const char *text)
{
    return tu_send(ws, text, (uint32_t)strlen(text));
}

/* Sets the socket's Control.MessageType. */
static inline HRESULT tu_set_type(MessageWebSocket *ws, SocketMessageType type)
{
    MessageWebSocketControl *control = NULL;
    HRESULT hr = MessageWebSocket_get_Control(ws, &control);
    if (RTWS_SUCCEEDED(hr)) {
        hr = MessageWebSocketControl_put_MessageType(control, type);
        MessageWebSocketControl_Release(control);
    }
    return hr;
}

/* ---- Received messages (added for test_streams / test_bad_input) ---------------- */

/* Collects the MessageReceived events and the Closed event of one socket. Each
 * stored args handle is AddRef'd in the handler; tu_inbox_next hands it over. */
#define TU_INBOX_MAX 256
typedef struct {
    tu_signal received; /* count = MessageReceived events seen */
    tu_signal closed;   /* count = Closed events seen */
    MessageWebSocketMessageReceivedEventArgs *args[TU_INBOX_MAX];
    int taken;
    uint16_t close_code;
    EventRegistrationToken message_token, closed_token;
} tu_inbox;

static inline void tu_inbox_on_message(void *context, MessageWebSocket *sender,
                                       MessageWebSocketMessageReceivedEventArgs *args)
{
    tu_inbox *in = (tu_inbox *)context;
    (void)sender;
    pthread_mutex_lock(&in->received.lock);
    if (in->received.count < TU_INBOX_MAX) {
        MessageWebSocketMessageReceivedEventArgs_AddRef(args);
        in->args[in->received.count] = args;
    }
    in->received.count++;
    pthread_cond_broadcast(&in->received.cond);
    pthread_mutex_unlock(&in->received.lock);
}

static inline void tu_inbox_on_closed(void *context, MessageWebSocket *sender,
                                      WebSocketClosedEventArgs *args)
{
    tu_inbox *in = (tu_inbox *)context;
    uint16_t code = 0;
    (void)sender;
    WebSocketClosedEventArgs_get_Code(args, &code);
    pthread_mutex_lock(&in->closed.lock);
    in->close_code = code;
    in->closed.count++;
    pthread_cond_broadcast(&in->closed.cond);
    pthread_mutex_unlock(&in->closed.lock);
}

/* Initialises `in` and registers its handlers on `ws`. */
static inline HRESULT tu_inbox_attach(tu_inbox *in, MessageWebSocket *ws)
{
    HRESULT hr;
    memset(in, 0, sizeof *in);
    tu_signal_init(&in->received);
    tu_signal_init(&in->closed);
    hr = MessageWebSocket_add_MessageReceived(ws, tu_inbox_on_message, in, &in->message_token);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_add_Closed(ws, tu_inbox_on_closed, in, &in->closed_token);
    return hr;
}

/* The next received message (the caller owns the reference), waiting at most
 * `timeout_ms`; NULL if none arrived in time. */
static inline MessageWebSocketMessageReceivedEventArgs *tu_inbox_next(tu_inbox *in, int timeout_ms)
{
    MessageWebSocketMessageReceivedEventArgs *a = NULL;
    if (!tu_signal_wait(&in->received, in->taken + 1, timeout_ms))
        return NULL;
    pthread_mutex_lock(&in->received.lock);
    if (in->taken < TU_INBOX_MAX) {
        a = in->args[in->taken];
        in->args[in->taken] = NULL;
    }
    in->taken++;
    pthread_mutex_unlock(&in->received.lock);
    return a;
}

/* A DataReader over the next received message (caller owns it), or NULL. */
static inline DataReader *tu_inbox_next_reader(tu_inbox *in, int timeout_ms)
{
    DataReader *r = NULL;
    MessageWebSocketMessageReceivedEventArgs *a = tu_inbox_next(in, timeout_ms);
    if (!a)
        return NULL;
    if (RTWS_FAILED(MessageWebSocketMessageReceivedEventArgs_GetDataReader(a, &r)))
        r = NULL;
    MessageWebSocketMessageReceivedEventArgs_Release(a);
    return r;
}

/* Unregisters the handlers from `ws` (if still live) and releases what was not taken. */
static inline void tu_inbox_detach(tu_inbox *in, MessageWebSocket *ws)
{
    int i, n;
    if (ws) {
        MessageWebSocket_remove_MessageReceived(ws, in->message_token);
        MessageWebSocket_remove_Closed(ws, in->closed_token);
    }
    n = tu_signal_get(&in->received);
    for (i = in->taken; i < n && i < TU_INBOX_MAX; i++)
        if (in->args[i])
            MessageWebSocketMessageReceivedEventArgs_Release(in->args[i]);
    tu_signal_destroy(&in->received);
    tu_signal_destroy(&in->closed);
}

/* Milliseconds from a monotonic clock, for timing checks. */
static inline double tu_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

#endif
