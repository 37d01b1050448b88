/*
 * An Autobahn|Testsuite testee: the client side of the fuzzingserver protocol,
 * written against rtws's C API.
 *
 *   1. ws BASE/getCaseCount            the server sends the number of cases N
 *                                      as one text message, then closes;
 *   2. ws BASE/runCase?case=I&agent=A  for I in 1..N, one fresh MessageWebSocket
 *                                      per case, echoing every message back with
 *                                      its own type until the server closes;
 *   3. ws BASE/updateReports?agent=A   the server writes its report and closes.
 *
 * The echo runs inside the MessageReceived handler: it sets the Control's
 * MessageType to the received type, writes the payload into one DataWriter and
 * calls StoreAsync without waiting (Wait on an unfinished operation is refused
 * inside handlers); the store's outcome comes back through put_Completed.
 * Handlers of one socket run one at a time in wire order and stores go out in
 * call order, so the echoes leave in the order the messages arrived.
 *
 * Prints one line per case ("case I: closed code C") and exits 0 when every
 * connection was established, every echo was sent and every connection ended
 * with a Closed event within its time bound. A case that fails (its connect, an
 * echo, or the connection itself, as when rtws fails it for invalid UTF-8) is
 * reported on its line and the run goes on; against the real fuzzingserver,
 * whose protocol-violation cases expect exactly such failures, the server's
 * report is the verdict.
 *
 * Usage: autobahn_client ws://127.0.0.1:9001 rtws [deflate[:RESET:BITS]]
 *
 * With "deflate" every case socket offers permessage-deflate (rtws extension; families
 * 12 and 13 of the suite): RESET 1 adds client_no_context_takeover, BITS (8..15, 0 for
 * none) client_max_window_bits=BITS, as the suite's 13.x offers (False,0) ... (True,15).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, with -std=c99 */
#include <rtws.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The permessage-deflate offer of every case socket (argv[3]; Enabled false: none). */
static PerMessageDeflateOptions deflate = {false, false, false, 15, 15, 0};

/* Every connection (connect, echoes, close) must be over within this. */
#define CONNECTION_TIMEOUT_S 60
/* Generous, since the fuzzingserver sends messages of several MiB, but not the
 * unlimited default: a testee should not let a server make it buffer 4 GiB. */
#define MAX_MESSAGE_SIZE (64u * 1024u * 1024u)
/* How long rtws_Shutdown may wait for the library threads. */
#define SHUTDOWN_TIMEOUT_MS 5000u

/*
 * What the handlers share with main for one connection. It lives for the whole
 * run (in main), not per connection: a store's Completed handler can only be
 * ruled out once the store finished, and a late one must still find valid memory.
 */
struct session {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* signaled on Closed and on each finished store */

    /* Set by main before connecting, read by MessageReceived. */
    int echo;                        /* 1: echo every message; 0: keep the first text */
    MessageWebSocketControl *control; /* to switch MessageType before each store */
    DataWriter *writer;              /* owns the socket's output stream */

    /* Written by the handlers, under lock. */
    char *first_text;     /* the first text message (getCaseCount), NUL-terminated */
    unsigned long echoed; /* messages handed to StoreAsync */
    unsigned pending;     /* stores not finished yet, over the whole run */
    int connected;        /* set by main once ConnectAsync succeeded */
    HRESULT failure;      /* first failure seen by a handler (S_OK: none) */
    char failure_text[256];
    int closed;
    uint16_t close_code;
};

static void report(const char *what, HRESULT hr)
{
    fprintf(stderr, "%s failed: 0x%08X (WebErrorStatus %d): %s\n", what, (unsigned)hr,
            (int)WebSocketError_GetStatus(hr), rtws_GetLastErrorMessage());
}

/* Records the first failure of a handler. The last-error message is per thread,
 * so it is copied here, on the library thread that saw it, for main to print. */
static void record_failure(struct session *s, const char *what, HRESULT hr)
{
    pthread_mutex_lock(&s->lock);
    if (s->failure == S_OK) {
        s->failure = hr;
        snprintf(s->failure_text, sizeof s->failure_text, "%s: %s", what,
                 rtws_GetLastErrorMessage());
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* Completed handler of one echo's StoreAsync. */
static void on_store_completed(void *context, IAsyncOperationUInt32 *op, AsyncStatus status)
{
    struct session *s = context;
    if (status != AsyncStatus_Completed) {
        HRESULT hr = E_FAIL;
        IAsyncOperationUInt32_get_ErrorCode(op, &hr);
        record_failure(s, "echo StoreAsync", hr);
    }
    pthread_mutex_lock(&s->lock);
    s->pending--;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* Sends `length` bytes back as one message of `type`, without waiting. */
static HRESULT echo_message(struct session *s, SocketMessageType type, const uint8_t *data,
                            uint32_t length)
{
    /* MessageType is read when StoreAsync is called, so setting it right before
     * each store sends this message with its own type, whatever came before. */
    HRESULT hr = MessageWebSocketControl_put_MessageType(s->control, type);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_WriteBytes(s->writer, length, data);
    IAsyncOperationUInt32 *store = NULL;
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(s->writer, &store); /* an empty store sends an empty message */
    if (RTWS_FAILED(hr))
        return hr;

    /* Count the store before put_Completed: if it already finished, the handler
     * runs right away, on this thread, and decrements the count. */
    pthread_mutex_lock(&s->lock);
    s->pending++;
    s->echoed++;
    pthread_mutex_unlock(&s->lock);
    hr = IAsyncOperationUInt32_put_Completed(store, on_store_completed, s);
    if (RTWS_FAILED(hr)) {
        pthread_mutex_lock(&s->lock);
        s->pending--;
        pthread_mutex_unlock(&s->lock);
    }
    /* Releasing our reference does not cancel the store: rtws keeps the operation
     * alive until its Completed handler has run. */
    IAsyncOperationUInt32_Release(store);
    return hr;
}

static void on_message_received(void *context, MessageWebSocket *sender,
                                MessageWebSocketMessageReceivedEventArgs *args)
{
    struct session *s = context;
    (void)sender;

    /* A failure of the connection arrives as a MessageReceived whose GetDataReader
     * fails; Closed follows. */
    DataReader *reader = NULL;
    HRESULT hr = MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &reader);
    if (RTWS_FAILED(hr)) {
        record_failure(s, "MessageReceived", hr);
        return;
    }
    SocketMessageType type = SocketMessageType_Binary;
    uint32_t length = 0;
    uint8_t *data = NULL;
    hr = MessageWebSocketMessageReceivedEventArgs_get_MessageType(args, &type);
    if (RTWS_SUCCEEDED(hr))
        hr = DataReader_get_UnconsumedBufferLength(reader, &length);
    if (RTWS_SUCCEEDED(hr)) {
        /* One spare byte: room for a NUL, and never malloc(0) for an empty message. */
        data = malloc((size_t)length + 1);
        hr = data ? DataReader_ReadBytes(reader, length, data) : E_OUTOFMEMORY;
    }
    DataReader_Release(reader);

    if (RTWS_FAILED(hr)) {
        record_failure(s, "reading a message", hr);
    } else if (s->echo) {
        hr = echo_message(s, type, data, length);
        if (RTWS_FAILED(hr))
            record_failure(s, "echo", hr);
    } else if (type == SocketMessageType_Utf8) {
        data[length] = '\0';
        pthread_mutex_lock(&s->lock);
        if (!s->first_text) {
            s->first_text = (char *)data; /* main frees it */
            data = NULL;
        }
        pthread_mutex_unlock(&s->lock);
    }
    free(data);
}

static void on_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    struct session *s = context;
    uint16_t code = 0;
    (void)sender;
    WebSocketClosedEventArgs_get_Code(args, &code);
    pthread_mutex_lock(&s->lock);
    s->closed = 1;
    s->close_code = code;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* Waits until Closed was raised and every store has finished, or until
 * `deadline`. Returns 1 when both happened. */
static int wait_for_end(struct session *s, const struct timespec *deadline)
{
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    while (!(s->closed && s->pending == 0) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->changed, &s->lock, deadline);
    int done = s->closed && s->pending == 0;
    pthread_mutex_unlock(&s->lock);
    return done;
}

/* Waits at most `seconds` for every store to finish. */
static void wait_for_stores(struct session *s, int seconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += seconds;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    while (s->pending > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->changed, &s->lock, &deadline);
    pthread_mutex_unlock(&s->lock);
}

/*
 * One connection to `url`, from connect to Closed, with a fresh MessageWebSocket.
 * Returns S_OK when it connected, every echo went out and Closed was raised in
 * time; the outcome details stay in `s` for the caller to print.
 */
static HRESULT run_connection(struct session *s, const char *url, int echo)
{
    /* Reset what the previous connection left. Its MessageReceived and Closed
     * cannot run any more (its socket was released). `pending` is not reset: it
     * counts every unfinished store of the run, so even the completion of a
     * store we stopped waiting for keeps it right. */
    pthread_mutex_lock(&s->lock);
    s->echo = echo;
    s->echoed = 0;
    s->connected = 0;
    s->failure = S_OK;
    s->failure_text[0] = '\0';
    s->closed = 0;
    s->close_code = 0;
    pthread_mutex_unlock(&s->lock);

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += CONNECTION_TIMEOUT_S;

    MessageWebSocket *socket = NULL;
    IOutputStream *stream = NULL;
    HRESULT hr = MessageWebSocket_Create(&socket);
    if (RTWS_FAILED(hr)) {
        report("MessageWebSocket_Create", hr);
        return hr;
    }
    hr = MessageWebSocket_get_Control(socket, &s->control);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocketControl_put_MaxMessageSize(s->control, MAX_MESSAGE_SIZE);
    if (RTWS_SUCCEEDED(hr) && deflate.Enabled)
        hr = MessageWebSocketControl_put_PerMessageDeflate(s->control, deflate);
    /* The writer exists before the connect: the server may send its first
     * message the moment the handshake completes, before ConnectAsync's Wait
     * returns here, and the handler needs the writer then. */
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_get_OutputStream(socket, &stream);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_CreateDataWriter(stream, &s->writer);
    if (stream)
        IOutputStream_Release(stream); /* the writer holds its own reference */

    EventRegistrationToken received_token, closed_token;
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_add_MessageReceived(socket, on_message_received, s,
                                                  &received_token);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_add_Closed(socket, on_closed, s, &closed_token);
    if (RTWS_FAILED(hr))
        report("setting up the MessageWebSocket", hr);

    IAsyncAction *connect = NULL;
    if (RTWS_SUCCEEDED(hr)) {
        hr = MessageWebSocket_ConnectAsync(socket, url, &connect);
        if (RTWS_SUCCEEDED(hr)) {
            hr = IAsyncAction_Wait(connect, CONNECTION_TIMEOUT_S * 1000u);
            if (hr == RTWS_E_TIMEOUT)
                IAsyncAction_Cancel(connect);
            IAsyncAction_Release(connect);
        }
        if (RTWS_FAILED(hr))
            report("ConnectAsync", hr);
        else
            s->connected = 1;
    }

    if (RTWS_SUCCEEDED(hr) && !wait_for_end(s, &deadline)) {
        fprintf(stderr, "%s: the connection did not end within %d s\n", url,
                CONNECTION_TIMEOUT_S);
        hr = RTWS_E_TIMEOUT;
    }
    if (RTWS_SUCCEEDED(hr)) {
        pthread_mutex_lock(&s->lock);
        hr = s->failure;
        pthread_mutex_unlock(&s->lock);
    }

    /* Release the socket first: once its last reference is gone no handler of it
     * runs, so the writer and control the handler uses can go next. */
    MessageWebSocket_Release(socket);
    /* After a timeout, stores may still be queued; the release closed the socket,
     * which fails them promptly. Give them a moment so they finish in this case. */
    wait_for_stores(s, 5);
    if (s->writer) {
        /* The socket is closed already, so the writer may close the stream with it. */
        DataWriter_Release(s->writer);
        s->writer = NULL;
    }
    if (s->control) {
        MessageWebSocketControl_Release(s->control);
        s->control = NULL;
    }
    return hr;
}

/* Appends `text` to `out` percent-encoded (everything but RFC 3986 unreserved). */
static void append_encoded(char *out, size_t size, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(out);
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 4 < size; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
}

int main(int argc, char **argv)
{
    int reset = 0, bits = 0;
    if (argc < 3 || (argc > 3 && strcmp(argv[3], "deflate") != 0 &&
                     (sscanf(argv[3], "deflate:%d:%d", &reset, &bits) != 2 || reset < 0 ||
                      reset > 1 || (bits != 0 && (bits < 8 || bits > 15))))) {
        fprintf(stderr, "usage: %s ws://host:port AGENT [deflate[:RESET:BITS]]\n", argv[0]);
        return 2;
    }
    if (argc > 3) {
        deflate.Enabled = true;
        deflate.ClientNoContextTakeover = reset == 1;
        deflate.ClientMaxWindowBits = (uint8_t)(bits ? bits : 15);
    }
    const char *base = argv[1];
    /* A trailing slash would make "BASE/" + "/getCaseCount" a different path. */
    size_t base_length = strlen(base);
    while (base_length > 0 && base[base_length - 1] == '/')
        base_length--;
    char agent[256] = "";
    append_encoded(agent, sizeof agent, argv[2]);

    static struct session session; /* static: see struct session */
    pthread_mutex_init(&session.lock, NULL);
    /* Deadlines on the monotonic clock: a step of the wall clock must not end a wait. */
    pthread_condattr_t cond_attr;
    pthread_condattr_init(&cond_attr);
    pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
    pthread_cond_init(&session.changed, &cond_attr);
    pthread_condattr_destroy(&cond_attr);

    char url[1024];
    int ok = 1;

    /* 1. The number of cases. */
    long cases = 0;
    snprintf(url, sizeof url, "%.*s/getCaseCount", (int)base_length, base);
    HRESULT hr = run_connection(&session, url, 0);
    if (RTWS_SUCCEEDED(hr) && session.first_text) {
        char *end = NULL;
        cases = strtol(session.first_text, &end, 10);
        if (end == session.first_text || *end != '\0' || cases < 0)
            cases = -1;
    }
    if (RTWS_FAILED(hr) || cases < 0 || !session.first_text) {
        fprintf(stderr, "getCaseCount failed: 0x%08X (answer: \"%s\") %s\n", (unsigned)hr,
                session.first_text ? session.first_text : "", session.failure_text);
        free(session.first_text);
        rtws_Shutdown(SHUTDOWN_TIMEOUT_MS);
        return 1;
    }
    free(session.first_text);
    session.first_text = NULL;
    printf("%ld cases\n", cases);

    /* 2. Every case, on its own socket; a failed case is reported and the run goes on. */
    for (long i = 1; i <= cases; i++) {
        snprintf(url, sizeof url, "%.*s/runCase?case=%ld&agent=%s", (int)base_length, base, i,
                 agent);
        hr = run_connection(&session, url, 1);
        if (!session.connected)
            printf("case %ld: connect failed", i);
        else if (session.closed)
            printf("case %ld: closed code %u (%lu messages echoed)", i,
                   (unsigned)session.close_code, session.echoed);
        else
            printf("case %ld: not closed (%lu messages echoed)", i, session.echoed);
        if (RTWS_FAILED(hr)) {
            printf(" FAILED 0x%08X (WebErrorStatus %d) %s", (unsigned)hr,
                   (int)WebSocketError_GetStatus(hr), session.failure_text);
            ok = 0;
        }
        printf("\n");
        fflush(stdout);
    }

    /* 3. Ask the server to write its report. */
    snprintf(url, sizeof url, "%.*s/updateReports?agent=%s", (int)base_length, base, agent);
    hr = run_connection(&session, url, 0);
    if (RTWS_FAILED(hr)) {
        fprintf(stderr, "updateReports failed: 0x%08X %s\n", (unsigned)hr, session.failure_text);
        ok = 0;
    } else {
        printf("report updated\n");
    }
    free(session.first_text);

    /* Store handlers (if any were left) may run until rtws stops: the session
     * must outlive rtws_Shutdown. */
    rtws_Shutdown(SHUTDOWN_TIMEOUT_MS);
    pthread_cond_destroy(&session.changed);
    pthread_mutex_destroy(&session.lock);
    return ok ? 0 : 1;
}
