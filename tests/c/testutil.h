/*
 * Minimal test support for the C tests: checks that count and report failures,
 * a table of a program's test functions (any of them can be run alone: tu_run),
 * bounded waits for events, and helpers to connect a MessageWebSocket to the
 * bundled test server. Every C test is a program run by ctest as
 *   tests/run_with_server.py --server rtws-testserver -- test_x ws://127.0.0.1:PORT [NAME...]
 * and exits non-zero if any check failed. recorder.h adds an event recorder on top.
 */
#ifndef RTWS_TESTUTIL_H
#define RTWS_TESTUTIL_H

#define _POSIX_C_SOURCE 200809L
#include <rtws.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

/* Call first in main: takes the server URL from argv[1]. */
static inline void tu_init(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ws://127.0.0.1:PORT [ARG...] [TEST...]\n", argv[0]);
        exit(2);
    }
    tu_base_url = argv[1];
}

/* ---- The test functions of a program ------------------------------------------- */

/* A program lists its test functions in one table, in the order they run, ended by
 * TU_END, and main runs them with tu_run:
 *   static const tu_test tests[] = {TU_TEST(test_a), TU_TEST(test_b), TU_END};
 *   ... tu_run(tests, argc - 2, argv + 2); return tu_finish(); */
typedef struct {
    const char *name;
    void (*fn)(void);
} tu_test;

#define TU_TEST(fn) {#fn, fn}
#define TU_END {NULL, NULL}

/* Whether `want` names test `name`: its whole name, or the name without "test_". */
static inline int tu_is_named(const char *name, const char *want)
{
    return strcmp(want, name) == 0 ||
           (strncmp(name, "test_", 5) == 0 && strcmp(want, name + 5) == 0);
}

/* Runs the tests of `tests` and reports each ("ok  NAME" / "FAIL NAME"), in table order:
 * all of them, or only those named by `names[0..count)` (the program's arguments after its
 * usual ones) or, when there are none, by the environment variable RTWS_TEST (names
 * separated by commas or spaces). A name may leave out the "test_" prefix. A name that is
 * no test of the program is an error: it prints the program's tests and exits with status
 * 2 before running any. */
static inline void tu_run(const tu_test *tests, int count, char **names)
{
    static char env_copy[4096];
    const char *wanted[256];
    int n_wanted = 0, n_tests = 0, n_run = 0, unknown = 0;
    for (int i = 0; i < count && n_wanted < 256; i++)
        wanted[n_wanted++] = names[i];
    if (n_wanted == 0 && getenv("RTWS_TEST")) {
        char *save = NULL;
        snprintf(env_copy, sizeof env_copy, "%s", getenv("RTWS_TEST"));
        for (char *t = strtok_r(env_copy, ", ", &save); t && n_wanted < 256;
             t = strtok_r(NULL, ", ", &save))
            wanted[n_wanted++] = t;
    }
    while (tests[n_tests].name)
        n_tests++;
    for (int w = 0; w < n_wanted; w++) {
        int found = 0;
        for (int i = 0; i < n_tests && !found; i++)
            found = tu_is_named(tests[i].name, wanted[w]);
        if (!found) {
            fprintf(stderr, "no test named \"%s\"\n", wanted[w]);
            unknown++;
        }
    }
    if (unknown) {
        fprintf(stderr, "the tests of this program:\n");
        for (int i = 0; i < n_tests; i++)
            fprintf(stderr, "  %s\n", tests[i].name);
        exit(2);
    }
    for (int i = 0; i < n_tests; i++) {
        int selected = n_wanted == 0;
        for (int w = 0; w < n_wanted && !selected; w++)
            selected = tu_is_named(tests[i].name, wanted[w]);
        if (!selected)
            continue;
        int before = tu_failures;
        tests[i].fn();
        n_run++;
        printf("%s %s\n", tu_failures == before ? "ok  " : "FAIL", tests[i].name);
        fflush(stdout);
    }
    if (n_run < n_tests) {
        printf("ran %d of the %d tests (selected by name)\n", n_run, n_tests);
        fflush(stdout);
    }
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

/* The condition variable waits on CLOCK_MONOTONIC: a deadline on the wall clock ends at
 * once when the clock is stepped forward (NTP, a VM's clock sync), failing a wait whose
 * event was on its way. */
static inline void tu_signal_init(tu_signal *s)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
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
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (s->count < n) {
        if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT)
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

/* Starts ConnectAsync to the full `url` and waits at most `timeout_ms`. Returns Wait's result
 * (ConnectAsync's if that failed) and, if `status` is not NULL, the operation's final status
 * (-1 if there is none). The operation goes to `*op_out` if that is not NULL (the caller
 * releases it; NULL if ConnectAsync failed), else it is released here. */
static inline HRESULT tu_connect_url(MessageWebSocket *ws, const char *url, uint32_t timeout_ms,
                                     AsyncStatus *status, IAsyncAction **op_out)
{
    IAsyncAction *op = NULL;
    HRESULT hr;
    if (status)
        *status = -1;
    if (op_out)
        *op_out = NULL;
    hr = MessageWebSocket_ConnectAsync(ws, url, &op);
    if (RTWS_FAILED(hr))
        return hr;
    hr = IAsyncAction_Wait(op, timeout_ms);
    if (status && RTWS_FAILED(IAsyncAction_get_Status(op, status)))
        *status = -1;
    if (op_out)
        *op_out = op;
    else
        IAsyncAction_Release(op);
    return hr;
}

/* Connects `ws` to `path` on the test server, waiting at most 10 s. */
static inline HRESULT tu_connect(MessageWebSocket *ws, const char *path)
{
    return tu_connect_url(ws, tu_url(path), 10000, NULL, NULL);
}

/* The socket's Control (caller releases it), or NULL; the call counts as a check. */
static inline MessageWebSocketControl *tu_control_of(MessageWebSocket *ws)
{
    MessageWebSocketControl *c = NULL;
    CHECK_OK(MessageWebSocket_get_Control(ws, &c));
    return c;
}

/* A TCP socket bound to a free port on 127.0.0.1 and not listening (connects to it are
 * refused while it stays open). Returns the fd, or -1; the port goes to `*port` (1 on failure). */
static inline int tu_bind_loopback(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    *port = 1;
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A TCP port on 127.0.0.1 with nothing listening: bound, read back, closed (1 on failure). */
static inline int tu_free_port(void)
{
    int port;
    int fd = tu_bind_loopback(&port);
    if (fd >= 0)
        close(fd);
    return port;
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

/* Sends one message through a fresh DataWriter without waiting: the operation is
 * returned in `*op` (caller releases), the writer is detached and released. */
static inline HRESULT tu_store_nowait(MessageWebSocket *ws, const void *data, uint32_t len,
                                      IAsyncOperationUInt32 **op)
{
    IOutputStream *stream = NULL;
    DataWriter *writer = NULL;
    *op = NULL;
    HRESULT hr = MessageWebSocket_get_OutputStream(ws, &stream);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_CreateDataWriter(stream, &writer);
    if (stream)
        IOutputStream_Release(stream);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_WriteBytes(writer, len, (const uint8_t *)data);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(writer, op);
    tu_writer_done(writer);
    return hr;
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

/* Reads the whole message of `args`. Returns GetDataReader's result; on success
 * `*data` (malloc'd, NULL when empty) and `*len` hold the message. */
static inline HRESULT tu_read_message(MessageWebSocketMessageReceivedEventArgs *args,
                                      unsigned char **data, uint32_t *len)
{
    DataReader *reader = NULL;
    *data = NULL;
    *len = 0;
    HRESULT hr = MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &reader);
    if (RTWS_FAILED(hr))
        return hr;
    uint32_t n = 0;
    hr = DataReader_get_UnconsumedBufferLength(reader, &n);
    if (RTWS_SUCCEEDED(hr) && n > 0) {
        *data = malloc(n);
        hr = *data ? DataReader_ReadBytes(reader, n, *data) : E_OUTOFMEMORY;
    }
    if (RTWS_SUCCEEDED(hr))
        *len = n;
    else {
        free(*data);
        *data = NULL;
    }
    DataReader_Release(reader);
    return hr;
}

/* The bytes left to read in `r` (0xFFFFFFFF if the call failed); the call counts as a check. */
static inline uint32_t tu_unconsumed(DataReader *r)
{
    uint32_t n = 0xFFFFFFFFu;
    CHECK_OK(DataReader_get_UnconsumedBufferLength(r, &n));
    return n;
}

/* ---- Byte streams (test_stream_websocket, test_message_websocket) --------------- */

/* One ReadAsync of `count` bytes into a fresh buffer of `capacity`, waited for at most
 * `timeout_ms` (a read still pending then is canceled, so the next read may start).
 * Returns ReadAsync's or Wait's HRESULT; on S_OK the bytes read go to `dst` (room for
 * `capacity`) and their number to `*got` (E_FAIL if the result buffer is inconsistent). */
static inline HRESULT tu_read_once(IInputStream *in, uint32_t capacity, uint32_t count,
                                   InputStreamOptions options, uint8_t *dst, uint32_t *got,
                                   uint32_t timeout_ms)
{
    IBuffer *buf = NULL, *res = NULL;
    IAsyncOperationIBuffer *op = NULL;
    *got = 0;
    HRESULT hr = Buffer_Create(capacity, &buf);
    if (RTWS_FAILED(hr))
        return hr;
    hr = IInputStream_ReadAsync(in, buf, count, options, &op);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncOperationIBuffer_Wait(op, timeout_ms, &res);
        if (hr == RTWS_E_TIMEOUT)
            IAsyncOperationIBuffer_Cancel(op);
        IAsyncOperationIBuffer_Release(op);
    }
    if (hr == S_OK) {
        uint32_t len = 0xFFFFFFFFu, copied = 0;
        if (!res || RTWS_FAILED(IBuffer_get_Length(res, &len)) ||
            RTWS_FAILED(IBuffer_CopyTo(res, 0, dst, capacity, &copied)) || copied != len)
            hr = E_FAIL;
        else
            *got = copied;
    }
    if (res)
        IBuffer_Release(res);
    IBuffer_Release(buf);
    return hr;
}

/* Completed handlers that do nothing, for tests that only need one to be installed. */
static inline void tu_on_action_noop(void *context, IAsyncAction *op, AsyncStatus status)
{
    (void)context; (void)op; (void)status;
}
static inline void tu_on_uint32_noop(void *context, IAsyncOperationUInt32 *op, AsyncStatus status)
{
    (void)context; (void)op; (void)status;
}
static inline void tu_on_boolean_noop(void *context, IAsyncOperationBoolean *op, AsyncStatus status)
{
    (void)context; (void)op; (void)status;
}

/* Milliseconds from a monotonic clock, for timing checks. */
static inline double tu_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

#endif
