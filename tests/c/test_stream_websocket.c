/*
 * StreamWebSocket and the byte-stream features around it, through the C ABI only,
 * against the bundled test server (loopback only):
 *   StreamWebSocket lifecycle, Control and Information; the seed sample flow
 *   (DataWriter out, DataReader with LoadAsync in); IBuffer; IInputStream_ReadAsync
 *   (None / Partial / ReadAhead, count and option checks, one read at a time); FlushAsync
 *   after WriteAsync; cancel without loss (also racing with arriving bytes); a 50 MB
 *   message streamed; unread data holding the server back without a ReceiveTimeout; a
 *   text message from the peer; empty messages; server close; connection reset, FIN
 *   without a close frame, ReceiveTimeout mid-frame; fragments with a Ping, /big; reads
 *   and writes from two threads; a close with a write pending (SendTimeout); the socket's
 *   last Release with a read pending; bad input on every function of these classes
 *   (StreamWebSocket, its Control and Information, IInputStream, IOutputStream_WriteAsync,
 *   IBuffer, IAsyncOperationIBuffer, DataReader over an input stream); rtws_Shutdown with a
 *   read and a write pending (last).
 *
 * The MessageWebSocket features that came with these classes (PartialMessage mode,
 * SendNonfinalFrameAsync / SendFinalFrameAsync, GetDataStream) are tested in
 * test_message_websocket.c, their bad input in test_bad_input.c.
 *
 * Usage: test_stream_websocket ws://127.0.0.1:PORT [TEST...]   (TEST: see tu_run in testutil.h)
 *
 * Handlers and helper threads never use CHECK (the check counters are not thread-safe):
 * they record what they saw, and the main thread checks it.
 */
/* Bound for anything that should happen promptly on loopback. */
#define WAIT_MS 10000
/* How long to watch for something that must not happen. */
#define QUIET_MS 200

#define REC_WAIT_MS WAIT_MS
#define REC_QUIET_MS QUIET_MS
#include "recorder.h"

/* AddRef/Release of a non-handle: 0. */
#define CHECK_ZERO(expr) CHECK((expr) == 0)

/* TimeSpan units: 100 ns. */
#define TS_MS(ms) ((int64_t)(ms) * 10000)

/* read_exactly's result when the stream ended first (a success code, not an rtws one). */
#define STREAM_ENDED ((HRESULT)1)

/* ---- helpers ---------------------------------------------------------------------- */

/* A StreamWebSocket with its streams and what its Closed handler saw. */
typedef struct {
    StreamWebSocket *ws;
    IInputStream *in;
    IOutputStream *out;
    tu_signal closed;      /* count = Closed events; code/reason/wrong_sender under its lock */
    uint16_t code;
    char reason[128];
    int wrong_sender;
    EventRegistrationToken token;
} sconn;

static void on_sconn_closed(void *ctx, StreamWebSocket *sender, WebSocketClosedEventArgs *args)
{
    sconn *c = ctx;
    uint16_t code = 0;
    const char *reason = NULL;
    if (RTWS_FAILED(WebSocketClosedEventArgs_get_Code(args, &code)))
        code = 0;
    if (RTWS_FAILED(WebSocketClosedEventArgs_get_Reason(args, &reason)))
        reason = "<no reason>";
    pthread_mutex_lock(&c->closed.lock);
    c->code = code;
    snprintf(c->reason, sizeof c->reason, "%s", reason ? reason : "<NULL>");
    if (sender != c->ws)
        c->wrong_sender++;
    c->closed.count++;
    pthread_cond_broadcast(&c->closed.cond);
    pthread_mutex_unlock(&c->closed.lock);
}

/* A new, unconnected socket with the Closed handler on it; 1 on success (checked). */
static int sconn_create(sconn *c)
{
    memset(c, 0, sizeof *c);
    tu_signal_init(&c->closed);
    HRESULT hr = StreamWebSocket_Create(&c->ws);
    CHECK_OK(hr);
    if (RTWS_FAILED(hr)) {
        c->ws = NULL;
        return 0;
    }
    hr = StreamWebSocket_add_Closed(c->ws, on_sconn_closed, c, &c->token);
    CHECK_OK(hr);
    return RTWS_SUCCEEDED(hr);
}

/* ConnectAsync to `path` on the test server, waiting at most WAIT_MS. */
static HRESULT sconn_connect(sconn *c, const char *path)
{
    IAsyncAction *op = NULL;
    HRESULT hr = StreamWebSocket_ConnectAsync(c->ws, tu_url(path), &op);
    if (RTWS_FAILED(hr))
        return hr;
    hr = IAsyncAction_Wait(op, WAIT_MS);
    IAsyncAction_Release(op);
    return hr;
}

/* Takes the socket's input and output streams (checked). */
static int sconn_streams(sconn *c)
{
    CHECK_OK(StreamWebSocket_get_InputStream(c->ws, &c->in));
    CHECK_OK(StreamWebSocket_get_OutputStream(c->ws, &c->out));
    return c->in != NULL && c->out != NULL;
}

/* sconn_create + connect to `path` + streams, all checked; 1 if everything worked. */
static int sconn_open(sconn *c, const char *path)
{
    if (!sconn_create(c))
        return 0;
    HRESULT hr = sconn_connect(c, path);
    CHECK_OK(hr);
    if (RTWS_FAILED(hr))
        return 0;
    return sconn_streams(c);
}

/* Waits for the Closed event; returns its code (-1 if none came in time). */
static int sconn_wait_closed(sconn *c, int timeout_ms)
{
    int code = -1;
    if (tu_signal_wait(&c->closed, 1, timeout_ms)) {
        pthread_mutex_lock(&c->closed.lock);
        code = c->code;
        pthread_mutex_unlock(&c->closed.lock);
    }
    return code;
}

/* Checks that Closed came (once) with `code` and, unless NULL, `reason`. */
static void sconn_expect_closed(sconn *c, int code, const char *reason)
{
    int got = sconn_wait_closed(c, WAIT_MS);
    CHECK(got == code);
    if (got != code)
        fprintf(stderr, "  Closed code %d, expected %d\n", got, code);
    if (reason) {
        pthread_mutex_lock(&c->closed.lock);
        int same = strcmp(c->reason, reason) == 0;
        if (!same)
            fprintf(stderr, "  Closed reason \"%s\", expected \"%s\"\n", c->reason, reason);
        pthread_mutex_unlock(&c->closed.lock);
        CHECK(same);
    }
}

/* Releases everything; checks that Closed came at most once and from the right sender. */
static void sconn_free(sconn *c)
{
    if (c->in)
        IInputStream_Release(c->in);
    if (c->out)
        IOutputStream_Release(c->out);
    if (c->ws)
        CHECK(StreamWebSocket_Release(c->ws) == 0);
    CHECK(tu_signal_get(&c->closed) <= 1);
    CHECK(c->wrong_sender == 0);
    tu_signal_destroy(&c->closed);
    memset(c, 0, sizeof *c);
}

/* One WriteAsync of `len` bytes of `data` (a fresh buffer), waited for. */
static HRESULT write_bytes(IOutputStream *out, const void *data, uint32_t len, uint32_t *written)
{
    IBuffer *buf = NULL;
    IAsyncOperationUInt32 *op = NULL;
    uint32_t n = 0xFFFFFFFFu;
    HRESULT hr = Buffer_CreateFromBytes((const uint8_t *)data, len, &buf);
    if (RTWS_FAILED(hr))
        return hr;
    hr = IOutputStream_WriteAsync(out, buf, &op);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncOperationUInt32_Wait(op, WAIT_MS, &n);
        IAsyncOperationUInt32_Release(op);
    }
    IBuffer_Release(buf);
    if (written)
        *written = n;
    return hr;
}

/* Reads (Partial) until `want` bytes came, the stream ended, a read failed or WAIT_MS
 * passed; returns the last HRESULT (S_OK when all came) and the bytes in `dst`/`*got`. */
static HRESULT read_exactly(IInputStream *in, uint8_t *dst, uint32_t want, uint32_t *got)
{
    HRESULT hr = S_OK;
    double deadline = tu_now_ms() + WAIT_MS;
    *got = 0;
    for (int i = 0; i < 1000 && *got < want && tu_now_ms() < deadline; i++) {
        uint32_t n = 0;
        hr = tu_read_once(in, want - *got, want - *got, InputStreamOptions_Partial, dst + *got,
                          &n, WAIT_MS);
        if (hr != S_OK)
            break;
        if (n == 0) {
            hr = STREAM_ENDED;
            break;
        }
        *got += n;
    }
    return hr;
}

/* ---- 1. lifecycle, Control, Information ----------------------------------------------- */

static void test_stream_websocket_lifecycle(void)
{
    sconn c;
    StreamWebSocketControl *control = NULL;
    StreamWebSocketInformation *info = NULL;
    IVectorString *protocols = NULL;
    bool b = false;
    uint32_t n = 0;
    TimeSpan ts = {-1};
    const char *s = NULL;

    if (!sconn_create(&c))
        return;
    CHECK(StreamWebSocket_AddRef(c.ws) == 2);
    CHECK(StreamWebSocket_Release(c.ws) == 1);

    CHECK_OK(StreamWebSocket_get_Control(c.ws, &control));
    CHECK_OK(StreamWebSocket_get_Information(c.ws, &info));
    CHECK(sconn_streams(&c));
    CHECK(control != NULL && info != NULL);
    if (!control || !info)
        goto out;
    CHECK(StreamWebSocketControl_AddRef(control) == 2);
    CHECK(StreamWebSocketControl_Release(control) == 1);
    CHECK(StreamWebSocketInformation_AddRef(info) == 2);
    CHECK(StreamWebSocketInformation_Release(info) == 1);
    CHECK(IInputStream_AddRef(c.in) >= 2);
    CHECK(IInputStream_Release(c.in) >= 1);
    CHECK(IOutputStream_AddRef(c.out) >= 2);
    CHECK(IOutputStream_Release(c.out) >= 1);

    /* NoDelay: default true, settable before connect. */
    CHECK_OK(StreamWebSocketControl_get_NoDelay(control, &b));
    CHECK(b == true);
    CHECK_OK(StreamWebSocketControl_put_NoDelay(control, false));
    CHECK_OK(StreamWebSocketControl_get_NoDelay(control, &b));
    CHECK(b == false);
    CHECK_OK(StreamWebSocketControl_put_NoDelay(control, true));
    CHECK_OK(StreamWebSocketControl_get_NoDelay(control, &b));
    CHECK(b == true);

    /* OutboundBufferSizeInBytes. */
    CHECK_OK(StreamWebSocketControl_get_OutboundBufferSizeInBytes(control, &n));
    CHECK_OK(StreamWebSocketControl_put_OutboundBufferSizeInBytes(control, 65536));
    CHECK_OK(StreamWebSocketControl_get_OutboundBufferSizeInBytes(control, &n));
    CHECK(n == 65536);
    CHECK_HR(StreamWebSocketControl_put_OutboundBufferSizeInBytes(control, 0), E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_OutboundBufferSizeInBytes(control, 0x80000000u), E_INVALIDARG);
    CHECK_OK(StreamWebSocketControl_get_OutboundBufferSizeInBytes(control, &n));
    CHECK(n == 65536); /* refused values changed nothing */

    /* Timeouts and pong interval: UWP defaults. */
    CHECK_OK(StreamWebSocketControl_get_ConnectTimeout(control, &ts));
    CHECK(ts.Duration == TS_MS(60000));
    CHECK_OK(StreamWebSocketControl_get_SendTimeout(control, &ts));
    CHECK(ts.Duration == TS_MS(30000));
    CHECK_OK(StreamWebSocketControl_get_ReceiveTimeout(control, &ts));
    CHECK(ts.Duration == TS_MS(30000));
    CHECK_OK(StreamWebSocketControl_get_DesiredUnsolicitedPongInterval(control, &ts));
    CHECK(ts.Duration == 0);
    CHECK_OK(StreamWebSocketControl_put_ReceiveTimeout(control, (TimeSpan){TS_MS(20000)}));
    CHECK_OK(StreamWebSocketControl_get_ReceiveTimeout(control, &ts));
    CHECK(ts.Duration == TS_MS(20000));

    /* Information before the connect: empty strings. */
    CHECK_OK(StreamWebSocketInformation_get_Protocol(info, &s));
    CHECK(s != NULL && s[0] == '\0');
    CHECK_OK(StreamWebSocketInformation_get_LocalAddress(info, &s));
    CHECK(s != NULL && s[0] == '\0');

    /* Subprotocols. */
    CHECK_OK(StreamWebSocketControl_get_SupportedProtocols(control, &protocols));
    if (protocols) {
        CHECK_OK(IVectorString_Append(protocols, "chat"));
        CHECK_OK(IVectorString_get_Size(protocols, &n));
        CHECK(n == 1);
    }

    CHECK_OK(sconn_connect(&c, "/echo?proto=chat"));

    CHECK_OK(StreamWebSocketInformation_get_Protocol(info, &s));
    CHECK(s != NULL && strcmp(s, "chat") == 0);
    CHECK_OK(StreamWebSocketInformation_get_LocalAddress(info, &s));
    CHECK(s != NULL && strcmp(s, "127.0.0.1") == 0);
    {
        BandwidthStatistics bw;
        memset(&bw, 0xAB, sizeof bw);
        CHECK_OK(StreamWebSocketInformation_get_BandwidthStatistics(info, &bw));
        CHECK(bw.OutboundBitsPerSecondInstability == 0 && bw.InboundBitsPerSecondInstability == 0);
        CHECK(!bw.OutboundBandwidthPeaked && !bw.InboundBandwidthPeaked);
    }

    /* After ConnectAsync: settings are frozen, values unchanged. */
    CHECK_HR(StreamWebSocketControl_put_NoDelay(control, false), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(StreamWebSocketControl_put_NoDelay(control, true), E_ILLEGAL_METHOD_CALL);
    CHECK_OK(StreamWebSocketControl_get_NoDelay(control, &b));
    CHECK(b == true);
    CHECK_HR(StreamWebSocketControl_put_OutboundBufferSizeInBytes(control, 4096), E_ILLEGAL_METHOD_CALL);
    CHECK_OK(StreamWebSocketControl_get_OutboundBufferSizeInBytes(control, &n));
    CHECK(n == 65536);
    CHECK_HR(StreamWebSocketControl_put_SendTimeout(control, (TimeSpan){TS_MS(1000)}), E_ILLEGAL_METHOD_CALL);
    if (protocols)
        CHECK_HR(IVectorString_Append(protocols, "other"), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(StreamWebSocket_SetRequestHeader(c.ws, "X-Late", "1"), E_ILLEGAL_METHOD_CALL);
    {
        IAsyncAction *again = NULL;
        CHECK_HR(StreamWebSocket_ConnectAsync(c.ws, tu_url("/echo"), &again), E_ILLEGAL_METHOD_CALL);
        CHECK(again == NULL);
    }

    /* An echo round trip proves the streams belong to this connection. */
    {
        uint8_t got[4] = {0};
        uint32_t w = 0, r = 0;
        CHECK_OK(write_bytes(c.out, "ping", 4, &w));
        CHECK(w == 4);
        CHECK_OK(read_exactly(c.in, got, 4, &r));
        CHECK(r == 4 && memcmp(got, "ping", 4) == 0);
    }

    /* Close() sends an empty close frame; the server's echo of it has no code: 1005. */
    CHECK_OK(StreamWebSocket_Close(c.ws));
    CHECK_OK(StreamWebSocket_Close(c.ws)); /* harmless */
    sconn_expect_closed(&c, 1005, NULL);
    /* The info objects outlive the close. */
    CHECK_OK(StreamWebSocketInformation_get_Protocol(info, &s));
    CHECK(s != NULL && strcmp(s, "chat") == 0);

out:
    if (protocols)
        CHECK(IVectorString_Release(protocols) == 0);
    if (control)
        CHECK(StreamWebSocketControl_Release(control) == 0);
    if (info)
        CHECK(StreamWebSocketInformation_Release(info) == 0);
    sconn_free(&c);
}

/* ---- 2. the seed sample flow ------------------------------------------------------------ */

static void test_seed_sample_flow(void)
{
    sconn c;
    DataWriter *w = NULL;
    DataReader *r = NULL;
    IAsyncOperationUInt32 *op = NULL;
    IOutputStream *detached = NULL;
    uint8_t sent[10], got[10] = {0};
    uint32_t n = 0, loaded = 0;
    InputStreamOptions opt = 0xFFFFFFFFu;

    if (!sconn_open(&c, "/echo"))
        goto out;
    for (int i = 0; i < 10; i++)
        sent[i] = (uint8_t)i;

    CHECK_OK(DataWriter_CreateDataWriter(c.out, &w));
    if (!w)
        goto out;
    CHECK_OK(DataWriter_WriteBytes(w, 10, sent));
    CHECK_OK(DataWriter_StoreAsync(w, &op));
    if (op) {
        CHECK_OK(IAsyncOperationUInt32_Wait(op, WAIT_MS, &n));
        CHECK(n == 10);
        IAsyncOperationUInt32_Release(op);
        op = NULL;
    }
    CHECK_OK(DataWriter_DetachStream(w, &detached));
    CHECK(detached != NULL);
    CHECK(DataWriter_Release(w) == 0);
    /* Detached, the stream stayed open (an empty message adds nothing to the echo). */
    if (detached) {
        CHECK_OK(write_bytes(detached, NULL, 0, &n));
        CHECK(n == 0);
        IOutputStream_Release(detached);
    }

    CHECK_OK(DataReader_CreateDataReader(c.in, &r));
    if (!r)
        goto out;
    CHECK_OK(DataReader_get_InputStreamOptions(r, &opt));
    CHECK(opt == InputStreamOptions_None);
    CHECK_OK(DataReader_put_InputStreamOptions(r, InputStreamOptions_Partial));
    CHECK_OK(DataReader_get_InputStreamOptions(r, &opt));
    CHECK(opt == InputStreamOptions_Partial);
    for (int i = 0; i < 10 && loaded < 10; i++) {
        n = 0;
        op = NULL;
        HRESULT hr = DataReader_LoadAsync(r, 256, &op);
        CHECK_OK(hr);
        if (RTWS_FAILED(hr))
            break;
        hr = IAsyncOperationUInt32_Wait(op, WAIT_MS, &n);
        IAsyncOperationUInt32_Release(op);
        CHECK_OK(hr);
        CHECK(n >= 1 && n <= 10 - loaded);
        if (hr != S_OK || n == 0)
            break;
        loaded += n;
    }
    CHECK(loaded == 10);
    CHECK(tu_unconsumed(r) == 10);
    CHECK_OK(DataReader_ReadBytes(r, 10, got));
    CHECK(memcmp(got, sent, 10) == 0);

    CHECK_OK(StreamWebSocket_CloseWithStatus(c.ws, 1000, "done"));
    sconn_expect_closed(&c, 1000, "done");

    /* The stream ended with the close handshake: a load completes with 0. */
    op = NULL;
    CHECK_OK(DataReader_LoadAsync(r, 256, &op));
    if (op) {
        n = 0xFFFFFFFFu;
        CHECK_OK(IAsyncOperationUInt32_Wait(op, WAIT_MS, &n));
        CHECK(n == 0);
        IAsyncOperationUInt32_Release(op);
    }
    /* Writes after the close are refused. */
    {
        uint32_t written = 0;
        CHECK_HR(write_bytes(c.out, "x", 1, &written), RO_E_CLOSED);
    }

out:
    if (r)
        CHECK(DataReader_Release(r) == 0);
    sconn_free(&c);
}

/* ---- 3. IBuffer -------------------------------------------------------------------------- */

static void test_ibuffer(void)
{
    IBuffer *b = NULL, *f = NULL, *e = NULL;
    uint32_t v = 0xFFFFFFFFu, copied = 0xFFFFFFFFu;
    uint8_t out[32];

    CHECK_OK(Buffer_Create(100, &b));
    if (b) {
        CHECK_OK(IBuffer_get_Capacity(b, &v));
        CHECK(v == 100);
        CHECK_OK(IBuffer_get_Length(b, &v));
        CHECK(v == 0);
        CHECK_OK(IBuffer_put_Length(b, 50));
        CHECK_OK(IBuffer_get_Length(b, &v));
        CHECK(v == 50);
        CHECK_HR(IBuffer_put_Length(b, 101), E_INVALIDARG);
        CHECK_HR(IBuffer_put_Length(b, 0xFFFFFFFFu), E_INVALIDARG);
        CHECK_OK(IBuffer_get_Length(b, &v));
        CHECK(v == 50); /* unchanged */
        CHECK_OK(IBuffer_put_Length(b, 100)); /* exactly the capacity */
        CHECK_OK(IBuffer_get_Length(b, &v));
        CHECK(v == 100);
        /* The bytes a longer length reveals are zeros. */
        memset(out, 0xEE, sizeof out);
        CHECK_OK(IBuffer_CopyTo(b, 60, out, sizeof out, &copied));
        CHECK(copied == 32);
        {
            int zeros = 1;
            for (int i = 0; i < 32; i++)
                zeros &= out[i] == 0;
            CHECK(zeros);
        }
        /* CopyTo copies the bytes in use (Length), not the capacity. */
        CHECK_OK(IBuffer_put_Length(b, 5));
        CHECK_OK(IBuffer_CopyTo(b, 0, out, sizeof out, &copied));
        CHECK(copied == 5);
        CHECK_OK(IBuffer_put_Length(b, 0));
        CHECK_OK(IBuffer_CopyTo(b, 0, out, sizeof out, &copied));
        CHECK(copied == 0);
        CHECK(IBuffer_AddRef(b) == 2);
        CHECK(IBuffer_Release(b) == 1);
    }

    /* CreateFromBytes copies; CopyTo with an offset and a short destination. */
    {
        uint8_t src[10];
        memcpy(src, "abcdefghij", 10);
        CHECK_OK(Buffer_CreateFromBytes(src, 10, &f));
        memset(src, 'z', 10); /* the buffer holds a copy */
    }
    if (f) {
        CHECK_OK(IBuffer_get_Capacity(f, &v));
        CHECK(v == 10);
        CHECK_OK(IBuffer_get_Length(f, &v));
        CHECK(v == 10);
        memset(out, 0, sizeof out);
        CHECK_OK(IBuffer_CopyTo(f, 0, out, sizeof out, &copied));
        CHECK(copied == 10 && memcmp(out, "abcdefghij", 10) == 0);
        memset(out, 0, sizeof out);
        CHECK_OK(IBuffer_CopyTo(f, 3, out, 4, &copied));
        CHECK(copied == 4 && memcmp(out, "defg", 4) == 0 && out[4] == 0);
        memset(out, 0, sizeof out);
        CHECK_OK(IBuffer_CopyTo(f, 8, out, sizeof out, &copied));
        CHECK(copied == 2 && memcmp(out, "ij", 2) == 0);
        CHECK_OK(IBuffer_CopyTo(f, 10, out, sizeof out, &copied));
        CHECK(copied == 0);
        /* Past the end: refused or nothing copied, never a crash. */
        copied = 0xFFFFFFFFu;
        {
            HRESULT hr = IBuffer_CopyTo(f, 11, out, sizeof out, &copied);
            CHECK((hr == S_OK && copied == 0) || hr == E_INVALIDARG);
            hr = IBuffer_CopyTo(f, 0xFFFFFFFFu, out, sizeof out, &copied);
            CHECK((hr == S_OK && copied == 0) || hr == E_INVALIDARG);
        }
        /* NULL data is fine for capacity 0 only. */
        CHECK_OK(IBuffer_CopyTo(f, 0, NULL, 0, &copied));
        CHECK(copied == 0);
        CHECK_HR(IBuffer_CopyTo(f, 0, NULL, 4, &copied), E_POINTER);
        CHECK_HR(IBuffer_CopyTo(f, 0, out, 4, NULL), E_POINTER);
        /* A shorter Length hides the bytes after it from CopyTo. */
        CHECK_OK(IBuffer_put_Length(f, 2));
        CHECK_OK(IBuffer_CopyTo(f, 0, out, sizeof out, &copied));
        CHECK(copied == 2 && memcmp(out, "ab", 2) == 0);
        CHECK_HR(IBuffer_put_Length(f, 11), E_INVALIDARG);
    }

    /* Empty buffers. */
    CHECK_OK(Buffer_CreateFromBytes(NULL, 0, &e));
    if (e) {
        CHECK_OK(IBuffer_get_Capacity(e, &v));
        CHECK(v == 0);
        CHECK_OK(IBuffer_get_Length(e, &v));
        CHECK(v == 0);
        CHECK_HR(IBuffer_put_Length(e, 1), E_INVALIDARG);
        CHECK(IBuffer_Release(e) == 0);
        e = NULL;
    }
    CHECK_OK(Buffer_Create(0, &e));
    if (e) {
        CHECK_OK(IBuffer_get_Capacity(e, &v));
        CHECK(v == 0);
        CHECK(IBuffer_Release(e) == 0);
        e = NULL;
    }

    /* NULL pointers. */
    CHECK_HR(Buffer_Create(10, NULL), E_POINTER);
    CHECK_HR(Buffer_CreateFromBytes((const uint8_t *)"x", 1, NULL), E_POINTER);
    e = NULL;
    CHECK_HR(Buffer_CreateFromBytes(NULL, 5, &e), E_POINTER);
    CHECK(e == NULL); /* no buffer made */
    CHECK_HR(IBuffer_get_Capacity(NULL, &v), E_POINTER);
    CHECK_HR(IBuffer_get_Length(NULL, &v), E_POINTER);
    CHECK_HR(IBuffer_put_Length(NULL, 0), E_POINTER);
    CHECK_HR(IBuffer_CopyTo(NULL, 0, out, 1, &copied), E_POINTER);
    CHECK_ZERO(IBuffer_AddRef(NULL));
    CHECK_ZERO(IBuffer_Release(NULL));
    if (b) {
        CHECK_HR(IBuffer_get_Capacity(b, NULL), E_POINTER);
        CHECK_HR(IBuffer_get_Length(b, NULL), E_POINTER);
        /* A misaligned output pointer. */
        {
            uint32_t words[2];
            CHECK_HR(IBuffer_get_Length(b, (uint32_t *)(void *)((char *)words + 1)), E_INVALIDARG);
        }
    }

    /* Released. */
    if (b) {
        CHECK(IBuffer_Release(b) == 0);
        CHECK_HR(IBuffer_get_Length(b, &v), E_INVALIDARG);
        CHECK_HR(IBuffer_put_Length(b, 0), E_INVALIDARG);
        CHECK_HR(IBuffer_CopyTo(b, 0, out, 1, &copied), E_INVALIDARG);
        CHECK_ZERO(IBuffer_AddRef(b));
        CHECK_ZERO(IBuffer_Release(b));
    }
    if (f)
        CHECK(IBuffer_Release(f) == 0);
}

/* ---- 4. ReadAsync -------------------------------------------------------------------------- */

typedef struct {
    tu_signal done;
    AsyncStatus status;
    IAsyncOperationIBuffer *op;
    int calls;
} read_done;

static void on_read_done(void *ctx, IAsyncOperationIBuffer *op, AsyncStatus status)
{
    read_done *d = ctx;
    pthread_mutex_lock(&d->done.lock);
    d->status = status;
    d->op = op;
    d->calls++;
    d->done.count++;
    pthread_cond_broadcast(&d->done.cond);
    pthread_mutex_unlock(&d->done.lock);
}

static void test_read_async(void)
{
    sconn c;
    IBuffer *buf = NULL, *buf2 = NULL, *res = NULL;
    IAsyncOperationIBuffer *op = NULL, *op2 = NULL;
    AsyncStatus st = -1;
    uint32_t v = 0, id = 0;
    uint8_t data[64];

    if (!sconn_open(&c, "/echo"))
        goto out;
    CHECK_OK(Buffer_Create(16, &buf));
    CHECK_OK(Buffer_Create(16, &buf2));
    if (!buf || !buf2)
        goto out;

    /* Refused at once: count over the capacity, unknown flags. */
    CHECK_HR(IInputStream_ReadAsync(c.in, buf, 17, InputStreamOptions_None, &op), E_INVALIDARG);
    CHECK(op == NULL);
    CHECK_HR(IInputStream_ReadAsync(c.in, buf, 4, 8, &op), E_INVALIDARG);
    CHECK(op == NULL);
    CHECK_HR(IInputStream_ReadAsync(c.in, buf, 4, 0xFFFFFFFFu, &op), E_INVALIDARG);
    CHECK(op == NULL);

    /* None: waits for all `count` bytes, across messages. */
    CHECK_OK(IInputStream_ReadAsync(c.in, buf, 6, InputStreamOptions_None, &op));
    if (!op)
        goto out;
    CHECK_OK(IAsyncOperationIBuffer_get_Status(op, &st));
    CHECK(st == AsyncStatus_Started);
    CHECK_OK(IAsyncOperationIBuffer_get_Id(op, &id));
    CHECK(id != 0);
    CHECK_HR(IAsyncOperationIBuffer_GetResults(op, &res), E_ILLEGAL_METHOD_CALL);
    CHECK(res == NULL);
    CHECK_HR(IAsyncOperationIBuffer_Wait(op, 0, &res), RTWS_E_TIMEOUT);
    CHECK(res == NULL);
    CHECK_HR(IAsyncOperationIBuffer_Close(op), E_ILLEGAL_STATE_CHANGE);
    /* One read at a time per stream (also through another handle or a DataReader). */
    CHECK_HR(IInputStream_ReadAsync(c.in, buf2, 6, InputStreamOptions_None, &op2),
             RTWS_E_INVALID_OPERATION);
    CHECK(op2 == NULL);
    {
        IInputStream *again = NULL;
        CHECK_OK(StreamWebSocket_get_InputStream(c.ws, &again));
        if (again) {
            DataReader *r = NULL;
            IAsyncOperationUInt32 *load = NULL;
            CHECK_HR(IInputStream_ReadAsync(again, buf2, 1, InputStreamOptions_Partial, &op2),
                     RTWS_E_INVALID_OPERATION);
            CHECK_OK(DataReader_CreateDataReader(again, &r));
            if (r) {
                CHECK_HR(DataReader_LoadAsync(r, 1, &load), RTWS_E_INVALID_OPERATION);
                CHECK(load == NULL);
                IInputStream *back = NULL;
                CHECK_OK(DataReader_DetachStream(r, &back));
                if (back)
                    IInputStream_Release(back);
                DataReader_Release(r);
            }
            IInputStream_Release(again);
        }
    }
    CHECK_OK(write_bytes(c.out, "abc", 3, NULL));
    tu_sleep_ms(QUIET_MS); /* the echo of 3 bytes is in: still not enough */
    CHECK_OK(IAsyncOperationIBuffer_get_Status(op, &st));
    CHECK(st == AsyncStatus_Started);
    CHECK_OK(write_bytes(c.out, "def", 3, NULL));
    CHECK_OK(IAsyncOperationIBuffer_Wait(op, WAIT_MS, &res));
    CHECK_OK(IAsyncOperationIBuffer_get_Status(op, &st));
    CHECK(st == AsyncStatus_Completed);
    if (res) {
        uint32_t copied = 0;
        /* The result is the buffer the read filled: the caller's handle shows it too. */
        CHECK_OK(IBuffer_get_Length(buf, &v));
        CHECK(v == 6);
        memset(data, 0, sizeof data);
        CHECK_OK(IBuffer_CopyTo(buf, 0, data, sizeof data, &copied));
        CHECK(copied == 6 && memcmp(data, "abcdef", 6) == 0);
        CHECK_OK(IBuffer_get_Length(res, &v));
        CHECK(v == 6);
        CHECK_OK(IBuffer_get_Capacity(res, &v));
        CHECK(v == 16);
        CHECK_OK(IBuffer_CopyTo(res, 0, data, sizeof data, &copied));
        CHECK(copied == 6 && memcmp(data, "abcdef", 6) == 0);
        IBuffer_Release(res);
        res = NULL;
    }
    /* GetResults gives the same buffer again; Close ends the operation's use. */
    CHECK_OK(IAsyncOperationIBuffer_GetResults(op, &res));
    if (res) {
        CHECK_OK(IBuffer_get_Length(res, &v));
        CHECK(v == 6);
        IBuffer_Release(res);
        res = NULL;
    }
    CHECK_OK(IAsyncOperationIBuffer_Close(op));
    CHECK_HR(IAsyncOperationIBuffer_GetResults(op, &res), E_ILLEGAL_METHOD_CALL);
    CHECK_HR(IAsyncOperationIBuffer_get_Status(op, &st), E_ILLEGAL_METHOD_CALL);
    CHECK(IAsyncOperationIBuffer_Release(op) == 0);
    op = NULL;

    /* Partial: completes as soon as some bytes are there, with a Completed handler. */
    {
        read_done d;
        memset(&d, 0, sizeof d);
        tu_signal_init(&d.done);
        CHECK_OK(IInputStream_ReadAsync(c.in, buf, 16, InputStreamOptions_Partial, &op));
        if (op) {
            CHECK_OK(IAsyncOperationIBuffer_put_Completed(op, on_read_done, &d));
            CHECK_HR(IAsyncOperationIBuffer_put_Completed(op, on_read_done, &d),
                     E_ILLEGAL_DELEGATE_ASSIGNMENT);
            CHECK(tu_signal_get(&d.done) == 0);
            CHECK_OK(write_bytes(c.out, "xyz", 3, NULL));
            CHECK(tu_signal_wait(&d.done, 1, WAIT_MS));
            CHECK(d.status == AsyncStatus_Completed && d.op == op && d.calls == 1);
            CHECK_OK(IAsyncOperationIBuffer_GetResults(op, &res));
            if (res) {
                uint32_t copied = 0;
                CHECK_OK(IBuffer_get_Length(res, &v));
                CHECK(v == 3);
                CHECK_OK(IBuffer_CopyTo(res, 0, data, sizeof data, &copied));
                CHECK(copied == 3 && memcmp(data, "xyz", 3) == 0);
                IBuffer_Release(res);
                res = NULL;
            }
            tu_sleep_ms(50);
            CHECK(d.calls == 1);
            IAsyncOperationIBuffer_Release(op);
            op = NULL;
        }
        tu_signal_destroy(&d.done);
    }

    /* A read with the data already there completes at once with what is there (up to count). */
    CHECK_OK(write_bytes(c.out, "0123456789", 10, NULL));
    tu_sleep_ms(QUIET_MS);
    {
        uint32_t got = 0;
        CHECK_OK(tu_read_once(c.in, 16, 4, InputStreamOptions_Partial, data, &got, WAIT_MS));
        CHECK(got == 4 && memcmp(data, "0123", 4) == 0);
        /* ReadAhead may return more than count (up to the capacity), never other bytes. */
        CHECK_OK(tu_read_once(c.in, 16, 2, InputStreamOptions_ReadAhead, data, &got, WAIT_MS));
        CHECK(got >= 1 && got <= 6 && memcmp(data, "456789", got) == 0);
        if (got < 6) {
            uint32_t rest = 0;
            CHECK_OK(read_exactly(c.in, data + got, 6 - got, &rest));
            CHECK(got + rest == 6 && memcmp(data, "456789", 6) == 0);
        }
    }
    /* The buffer's old Length does not matter: a read sets it. */
    CHECK_OK(IBuffer_put_Length(buf2, 16));
    CHECK_OK(IInputStream_ReadAsync(c.in, buf2, 8, InputStreamOptions_Partial, &op));
    CHECK_OK(write_bytes(c.out, "Q", 1, NULL));
    if (op) {
        CHECK_OK(IAsyncOperationIBuffer_Wait(op, WAIT_MS, &res));
        if (res) {
            CHECK_OK(IBuffer_get_Length(res, &v));
            CHECK(v == 1);
            IBuffer_Release(res);
            res = NULL;
        }
        IAsyncOperationIBuffer_Release(op);
        op = NULL;
    }

    CHECK_OK(StreamWebSocket_CloseWithStatus(c.ws, 1000, NULL));
    sconn_expect_closed(&c, 1000, "");
out:
    if (buf)
        CHECK(IBuffer_Release(buf) == 0);
    if (buf2)
        CHECK(IBuffer_Release(buf2) == 0);
    sconn_free(&c);
}

/* ---- 4b. FlushAsync after WriteAsync ------------------------------------------------------ */

/* IOutputStream_FlushAsync "completes with true once every write queued before it is on the
 * wire", and a write "completes ... once the kernel has taken the whole message": when the
 * flush is done, the writes queued before it must be done too. */
static void test_flush_after_write(void)
{
    enum { ROUNDS = 20 };
    sconn c;
    int write_not_done = 0, flush_failed = 0;
    uint8_t data[ROUNDS * 8];
    uint32_t got = 0;

    if (!sconn_open(&c, "/echo"))
        goto out;
    for (int i = 0; i < ROUNDS; i++) {
        IBuffer *buf = NULL;
        IAsyncOperationUInt32 *wop = NULL;
        IAsyncOperationBoolean *fop = NULL;
        AsyncStatus st = -1;
        bool flushed = false;
        if (RTWS_FAILED(Buffer_CreateFromBytes((const uint8_t *)"12345678", 8, &buf)))
            break;
        if (IOutputStream_WriteAsync(c.out, buf, &wop) != S_OK ||
            IOutputStream_FlushAsync(c.out, &fop) != S_OK ||
            IAsyncOperationBoolean_Wait(fop, WAIT_MS, &flushed) != S_OK || !flushed)
            flush_failed++;
        else if (IAsyncOperationUInt32_get_Status(wop, &st) != S_OK || st != AsyncStatus_Completed)
            write_not_done++;
        if (wop) {
            IAsyncOperationUInt32_Wait(wop, WAIT_MS, NULL);
            IAsyncOperationUInt32_Release(wop);
        }
        if (fop)
            IAsyncOperationBoolean_Release(fop);
        IBuffer_Release(buf);
    }
    CHECK(flush_failed == 0);
    CHECK(write_not_done == 0);
    if (write_not_done)
        fprintf(stderr, "  %d of %d flushes completed before the write queued ahead of them\n",
                write_not_done, ROUNDS);
    CHECK_OK(read_exactly(c.in, data, sizeof data, &got));
    CHECK(got == sizeof data);
    CHECK_OK(StreamWebSocket_CloseWithStatus(c.ws, 1000, NULL));
    sconn_expect_closed(&c, 1000, NULL);
out:
    sconn_free(&c);
}

/* ---- 5. cancel of a pending read ------------------------------------------------------------ */

static void test_read_cancel(void)
{
    sconn c;
    IBuffer *buf = NULL, *res = NULL;
    IAsyncOperationIBuffer *op = NULL;
    AsyncStatus st = -1;
    HRESULT err = S_OK;
    uint8_t data[16];
    uint32_t got = 0;

    if (!sconn_open(&c, "/echo"))
        goto out;
    CHECK_OK(Buffer_Create(16, &buf));
    if (!buf)
        goto out;

    /* Nothing sent: the read is pending; Cancel ends it at once, handler included. */
    {
        read_done d;
        memset(&d, 0, sizeof d);
        tu_signal_init(&d.done);
        CHECK_OK(IInputStream_ReadAsync(c.in, buf, 16, InputStreamOptions_Partial, &op));
        if (op) {
            CHECK_OK(IAsyncOperationIBuffer_put_Completed(op, on_read_done, &d));
            tu_sleep_ms(50);
            CHECK_OK(IAsyncOperationIBuffer_get_Status(op, &st));
            CHECK(st == AsyncStatus_Started);
            CHECK_OK(IAsyncOperationIBuffer_Cancel(op));
            CHECK(tu_signal_get(&d.done) == 1); /* ran before Cancel returned */
            CHECK(d.status == AsyncStatus_Canceled);
            CHECK_OK(IAsyncOperationIBuffer_get_Status(op, &st));
            CHECK(st == AsyncStatus_Canceled);
            CHECK_OK(IAsyncOperationIBuffer_get_ErrorCode(op, &err));
            CHECK(err == RTWS_E_CANCELLED);
            CHECK_HR(IAsyncOperationIBuffer_GetResults(op, &res), RTWS_E_CANCELLED);
            CHECK(res == NULL);
            CHECK_HR(IAsyncOperationIBuffer_Wait(op, 0, &res), RTWS_E_CANCELLED);
            CHECK_OK(IAsyncOperationIBuffer_Cancel(op)); /* finished: unchanged */
            CHECK(d.calls == 1);
            CHECK_OK(IAsyncOperationIBuffer_Close(op));
            IAsyncOperationIBuffer_Release(op);
            op = NULL;
        }
        tu_signal_destroy(&d.done);
    }

    /* Then 5 bytes: a new read gets all of them. */
    CHECK_OK(write_bytes(c.out, "12345", 5, NULL));
    CHECK_OK(tu_read_once(c.in, 16, 5, InputStreamOptions_None, data, &got, WAIT_MS));
    CHECK(got == 5 && memcmp(data, "12345", 5) == 0);

    /* A read canceled while some bytes had already arrived for it loses none of them. */
    CHECK_OK(IInputStream_ReadAsync(c.in, buf, 10, InputStreamOptions_None, &op));
    CHECK_OK(write_bytes(c.out, "abcde", 5, NULL));
    tu_sleep_ms(QUIET_MS); /* the 5 are in; the read waits for 10 */
    if (op) {
        CHECK_OK(IAsyncOperationIBuffer_get_Status(op, &st));
        CHECK(st == AsyncStatus_Started);
        CHECK_OK(IAsyncOperationIBuffer_Cancel(op));
        CHECK_OK(IAsyncOperationIBuffer_get_Status(op, &st));
        CHECK(st == AsyncStatus_Canceled);
        IAsyncOperationIBuffer_Release(op);
        op = NULL;
    }
    CHECK_OK(tu_read_once(c.in, 16, 5, InputStreamOptions_None, data, &got, WAIT_MS));
    CHECK(got == 5 && memcmp(data, "abcde", 5) == 0);

    /* A canceled DataReader load loses nothing either. */
    {
        DataReader *r = NULL;
        IAsyncOperationUInt32 *load = NULL;
        uint32_t n = 0;
        CHECK_OK(DataReader_CreateDataReader(c.in, &r));
        if (r) {
            CHECK_OK(DataReader_LoadAsync(r, 8, &load));
            CHECK_OK(write_bytes(c.out, "XYZ", 3, NULL));
            tu_sleep_ms(QUIET_MS);
            if (load) {
                CHECK_OK(IAsyncOperationUInt32_Cancel(load));
                CHECK_HR(IAsyncOperationUInt32_Wait(load, 0, &n), RTWS_E_CANCELLED);
                IAsyncOperationUInt32_Release(load);
                load = NULL;
            }
            CHECK(tu_unconsumed(r) == 0); /* canceled: loaded nothing */
            CHECK_OK(DataReader_put_InputStreamOptions(r, InputStreamOptions_Partial));
            CHECK_OK(DataReader_LoadAsync(r, 8, &load));
            if (load) {
                CHECK_OK(IAsyncOperationUInt32_Wait(load, WAIT_MS, &n));
                CHECK(n == 3);
                IAsyncOperationUInt32_Release(load);
            }
            CHECK_OK(DataReader_ReadBytes(r, 3, data));
            CHECK(memcmp(data, "XYZ", 3) == 0);
            {
                IInputStream *back = NULL;
                CHECK_OK(DataReader_DetachStream(r, &back));
                CHECK(back != NULL);
                /* The detached stream is still the socket's, and open. */
                if (back) {
                    CHECK_OK(write_bytes(c.out, "k", 1, NULL));
                    CHECK_OK(tu_read_once(back, 4, 4, InputStreamOptions_Partial, data, &got, WAIT_MS));
                    CHECK(got == 1 && data[0] == 'k');
                    IInputStream_Release(back);
                }
            }
            DataReader_Release(r);
        }
    }

out:
    if (buf)
        CHECK(IBuffer_Release(buf) == 0);
    sconn_free(&c);
}


/* ---- 5b. cancel racing with arriving bytes ------------------------------------------------- */

static void test_cancel_race_loses_nothing(void)
{
    enum { N = 3000 };
    sconn c;
    uint8_t got_bytes[N + 64];
    uint32_t collected = 0;
    int canceled = 0, completed = 0, other = 0;

    if (!sconn_open(&c, "/echo"))
        goto out;
    double t0 = tu_now_ms();
    for (int i = 0; i < N && tu_now_ms() - t0 < 10000; i++) {
        IBuffer *buf = NULL, *res = NULL;
        IAsyncOperationIBuffer *op = NULL;
        AsyncStatus st = -1;
        uint8_t b = (uint8_t)i;
        if (RTWS_FAILED(Buffer_Create(64, &buf)))
            break;
        if (RTWS_FAILED(IInputStream_ReadAsync(c.in, buf, 64, InputStreamOptions_Partial, &op))) {
            other++;
            IBuffer_Release(buf);
            break;
        }
        HRESULT whr = write_bytes(c.out, &b, 1, NULL);
        if (whr != S_OK) {
            other++;
            fprintf(stderr, "  round %d: write 0x%08X\n", i, (unsigned)whr);
        }
        if (i % 3 == 1)
            tu_sleep_ms(0);
        HRESULT chr = IAsyncOperationIBuffer_Cancel(op);
        HRESULT shr = IAsyncOperationIBuffer_get_Status(op, &st);
        HRESULT rhr = E_FAIL;
        if (chr != S_OK || shr != S_OK) {
            other++;
            fprintf(stderr, "  round %d: Cancel 0x%08X, get_Status 0x%08X\n", i, (unsigned)chr,
                    (unsigned)shr);
        }
        if (st == AsyncStatus_Canceled)
            canceled++;
        else if (st == AsyncStatus_Completed &&
                 (rhr = IAsyncOperationIBuffer_GetResults(op, &res)) == S_OK && res) {
            uint32_t copied = 0;
            completed++;
            if (collected < N &&
                RTWS_SUCCEEDED(IBuffer_CopyTo(res, 0, got_bytes + collected, N + 64 - collected, &copied)))
                collected += copied;
            IBuffer_Release(res);
        } else {
            /* Not allowed by the header (Cancel ends a started operation at once): report
             * it, and keep what the operation took so the rest of the check stays exact. */
            AsyncStatus later = -1;
            HRESULT whr2 = IAsyncOperationIBuffer_Wait(op, 1000, &res);
            IAsyncOperationIBuffer_get_Status(op, &later);
            other++;
            fprintf(stderr, "  round %d: after Cancel returned 0x%08X: status %d (GetResults "
                    "0x%08X); then (Wait up to 1 s): status %d, Wait 0x%08X\n", i, (unsigned)chr, (int)st,
                    (unsigned)(st == AsyncStatus_Completed ? rhr : S_OK), (int)later, (unsigned)whr2);
            if (res) {
                uint32_t copied = 0;
                if (collected < N &&
                    RTWS_SUCCEEDED(IBuffer_CopyTo(res, 0, got_bytes + collected, N + 64 - collected, &copied)))
                    collected += copied;
                IBuffer_Release(res);
                res = NULL;
            }
        }
        IAsyncOperationIBuffer_Release(op);
        IBuffer_Release(buf);
    }
    /* Drain what is left: every byte exactly once, in order. */
    if (collected < N) {
        uint32_t rest = 0;
        CHECK_OK(read_exactly(c.in, got_bytes + collected, N - collected, &rest));
        collected += rest;
    }
    CHECK(other == 0);
    CHECK(collected == N);
    {
        int in_order = collected == N;
        for (uint32_t i = 0; in_order && i < N; i++)
            in_order = got_bytes[i] == (uint8_t)i;
        CHECK(in_order);
    }
    /* Nothing more is pending in the stream. */
    {
        uint8_t extra[8];
        uint32_t n = 0;
        CHECK_HR(tu_read_once(c.in, 8, 8, InputStreamOptions_Partial, extra, &n, QUIET_MS), RTWS_E_TIMEOUT);
    }
    printf("  %d reads canceled, %d completed first, %.0f ms\n", canceled, completed,
           tu_now_ms() - t0);
    CHECK_OK(StreamWebSocket_CloseWithStatus(c.ws, 1000, NULL));
    sconn_expect_closed(&c, 1000, NULL);
out:
    sconn_free(&c);
}

/* ---- 6. one 50 MB message, streamed --------------------------------------------------------- */

static void test_big_message_streamed(void)
{
    enum { CAP = 65536 };
    const uint64_t total_bytes = 50000000;
    sconn c;
    IBuffer *buf = NULL;
    uint8_t *chunk = malloc(CAP), *pattern = malloc(CAP + 251);
    uint64_t total = 0;
    int reads = 0, bad = 0, other_buffer = 0, ended = 0, bad_length = 0;
    HRESULT hr = S_OK;
    double t0 = tu_now_ms(), deadline = t0 + 20000;

    memset(&c, 0, sizeof c);
    CHECK(chunk && pattern);
    if (!chunk || !pattern || !sconn_open(&c, "/stream?bytes=50000000")) {
        free(chunk);
        free(pattern);
        if (c.ws)
            sconn_free(&c);
        return;
    }
    for (int i = 0; i < CAP + 251; i++)
        pattern[i] = (uint8_t)(i % 251);
    CHECK_OK(Buffer_Create(CAP, &buf));
    while (buf && total < total_bytes && reads < 200000 && tu_now_ms() < deadline) {
        IAsyncOperationIBuffer *op = NULL;
        IBuffer *res = NULL;
        uint32_t len = 0, copied = 0;
        hr = IInputStream_ReadAsync(c.in, buf, CAP, InputStreamOptions_Partial, &op);
        if (RTWS_FAILED(hr))
            break;
        hr = IAsyncOperationIBuffer_Wait(op, WAIT_MS, &res);
        if (hr == RTWS_E_TIMEOUT)
            IAsyncOperationIBuffer_Cancel(op);
        IAsyncOperationIBuffer_Release(op);
        if (hr != S_OK)
            break;
        {
            /* The caller's buffer is the one filled. */
            uint32_t own = 0xFFFFFFFFu;
            if (RTWS_FAILED(IBuffer_get_Length(buf, &own)))
                own = 0xFFFFFFFFu;
            if (RTWS_FAILED(IBuffer_get_Length(res, &len)) || own != len)
                other_buffer++;
        }
        if (RTWS_FAILED(IBuffer_get_Length(res, &len)) ||
            RTWS_FAILED(IBuffer_CopyTo(res, 0, chunk, CAP, &copied)) || copied != len)
            bad_length++;
        IBuffer_Release(res);
        if (len == 0) {
            ended = 1;
            break;
        }
        if (total + len > total_bytes || memcmp(chunk, pattern + total % 251, len) != 0)
            bad++;
        total += len;
        reads++;
    }
    double t1 = tu_now_ms();
    CHECK_OK(hr);
    CHECK(total == total_bytes);
    if (total != total_bytes)
        fprintf(stderr, "  read %llu of %llu bytes in %d reads\n", (unsigned long long)total,
                (unsigned long long)total_bytes, reads);
    CHECK(bad == 0);
    CHECK(ended == 0);
    CHECK(other_buffer == 0);
    CHECK(bad_length == 0);
    CHECK(reads >= (int)(total_bytes / CAP)); /* no read went over the buffer */
    printf("  50 MB streamed in %d reads, %.0f ms\n", reads, t1 - t0);

    /* Nothing after the message; the close ends the stream. */
    CHECK_OK(StreamWebSocket_CloseWithStatus(c.ws, 1000, "bye"));
    sconn_expect_closed(&c, 1000, "bye");
    {
        uint32_t got = 0xFFFFFFFFu;
        CHECK_OK(tu_read_once(c.in, CAP, CAP, InputStreamOptions_Partial, chunk, &got, WAIT_MS));
        CHECK(got == 0);
    }
    if (buf)
        CHECK(IBuffer_Release(buf) == 0);
    sconn_free(&c);
    free(chunk);
    free(pattern);
}

/* ---- 6b. unread data holds the server back without tripping ReceiveTimeout ------------------- */

static void test_backpressure_not_a_timeout(void)
{
    enum { SIZE = 3000000 };
    sconn c;
    uint8_t *data = malloc(SIZE);
    uint32_t got = 0;
    int bad = 0;

    memset(&c, 0, sizeof c);
    CHECK(data != NULL);
    if (!data || !sconn_create(&c))
        goto out;
    {
        StreamWebSocketControl *control = NULL;
        CHECK_OK(StreamWebSocket_get_Control(c.ws, &control));
        if (control) {
            CHECK_OK(StreamWebSocketControl_put_ReceiveTimeout(control, (TimeSpan){TS_MS(300)}));
            StreamWebSocketControl_Release(control);
        }
    }
    CHECK_OK(sconn_connect(&c, "/stream?bytes=3000000"));
    if (!sconn_streams(&c))
        goto out;
    /* Read nothing for 1 s: 1 MiB waits unread, the rest is held back by TCP, mid-message. */
    tu_sleep_ms(1000);
    CHECK(tu_signal_get(&c.closed) == 0);
    CHECK_OK(read_exactly(c.in, data, SIZE, &got));
    CHECK(got == SIZE);
    for (uint32_t i = 0; i < got; i++)
        bad += data[i] != (uint8_t)(i % 251);
    CHECK(bad == 0);
    CHECK_OK(StreamWebSocket_CloseWithStatus(c.ws, 1000, NULL));
    sconn_expect_closed(&c, 1000, NULL);
out:
    if (c.ws)
        sconn_free(&c);
    free(data);
}

/* ---- 7. a text message from the peer ---------------------------------------------------------- */

/* A text message is refused as such (1003), whatever its bytes: valid UTF-8, or not
 * (/badutf8: the type is checked before the payload, so not 1007). */
static void peer_text_message(const char *path)
{
    sconn c;
    uint8_t data[64];
    uint32_t total = 0;
    HRESULT hr = S_OK;

    if (!sconn_open(&c, path))
        goto out;
    for (int i = 0; i < 20; i++) {
        uint32_t got = 0;
        hr = tu_read_once(c.in, sizeof data, sizeof data, InputStreamOptions_Partial, data, &got, WAIT_MS);
        if (hr != S_OK || got == 0)
            break;
        total += got;
    }
    CHECK_HR(hr, E_INVALID_PROTOCOL_FORMAT);
    CHECK(total == 0); /* no byte of the text message reaches the byte stream */
    sconn_expect_closed(&c, 1003, NULL);
    /* Later reads fail the same way. */
    {
        uint32_t got = 0;
        CHECK_HR(tu_read_once(c.in, sizeof data, 1, InputStreamOptions_None, data, &got, WAIT_MS),
                 E_INVALID_PROTOCOL_FORMAT);
    }
    /* And writes do not succeed. */
    {
        uint32_t w = 0;
        CHECK(write_bytes(c.out, "x", 1, &w) != S_OK);
    }
out:
    sconn_free(&c);
}

static void test_peer_text_message(void)
{
    peer_text_message("/stream?bytes=10&type=text");
    peer_text_message("/badutf8");
}

/* ---- 7b. reads of a socket that never connected end ------------------------------------- */

/* Issue 9: a read before connect, or after a failed connect, used to stay Started forever
 * (Close, Release and rtws_Shutdown did not end it). Refused now while not connected; once
 * the socket is closed without ever connecting, reads fail with RO_E_CLOSED. */
static void test_read_without_connection(void)
{
    sconn c;
    uint8_t data[8];
    uint32_t got = 0;
    DataReader *reader = NULL;
    IAsyncOperationUInt32 *load = NULL;

    if (!sconn_create(&c))
        return;
    if (!sconn_streams(&c))
        goto out;
    CHECK_HR(tu_read_once(c.in, 8, 1, InputStreamOptions_None, data, &got, WAIT_MS),
             E_ILLEGAL_METHOD_CALL);
    CHECK_OK(DataReader_CreateDataReader(c.in, &reader));
    if (reader)
        CHECK_HR(DataReader_LoadAsync(reader, 1, &load), E_ILLEGAL_METHOD_CALL);
    CHECK(load == NULL);
    /* A failed connect (nothing listens on port 1) leaves it unconnected. */
    {
        IAsyncAction *op = NULL;
        CHECK_OK(StreamWebSocket_ConnectAsync(c.ws, "ws://127.0.0.1:1/", &op));
        if (op) {
            CHECK(RTWS_FAILED(IAsyncAction_Wait(op, WAIT_MS)));
            IAsyncAction_Release(op);
        }
    }
    CHECK_HR(tu_read_once(c.in, 8, 1, InputStreamOptions_Partial, data, &got, WAIT_MS),
             E_ILLEGAL_METHOD_CALL);
    /* Closed without ever connecting: the stream is over, reads fail at once. */
    CHECK_OK(StreamWebSocket_Close(c.ws));
    CHECK_HR(tu_read_once(c.in, 8, 1, InputStreamOptions_None, data, &got, WAIT_MS), RO_E_CLOSED);
    if (reader) {
        uint32_t n = 0;
        CHECK_OK(DataReader_LoadAsync(reader, 1, &load));
        if (load) {
            CHECK_HR(IAsyncOperationUInt32_Wait(load, WAIT_MS, &n), RO_E_CLOSED);
            IAsyncOperationUInt32_Release(load);
        }
        DataReader_Release(reader);
    }
out:
    sconn_free(&c);
}

/* ---- 8. empty messages -------------------------------------------------------------------------- */

static void test_zero_length_messages(void)
{
    sconn c;
    IBuffer *empty = NULL;
    IAsyncOperationUInt32 *wop = NULL;
    IAsyncOperationIBuffer *rop = NULL;
    IBuffer *rbuf = NULL, *res = NULL;
    uint32_t n = 0xFFFFFFFFu, got = 0, v = 0;
    uint8_t data[16];

    if (!sconn_open(&c, "/echo"))
        goto out;
    /* A Length-0 buffer (capacity 16) is an empty message. */
    CHECK_OK(Buffer_Create(16, &empty));
    if (!empty)
        goto out;
    CHECK_OK(IOutputStream_WriteAsync(c.out, empty, &wop));
    if (wop) {
        CHECK_OK(IAsyncOperationUInt32_Wait(wop, WAIT_MS, &n));
        CHECK(n == 0);
        IAsyncOperationUInt32_Release(wop);
        wop = NULL;
    }
    /* Its echo must not look like the end of the stream: a read stays pending. */
    CHECK_OK(Buffer_Create(16, &rbuf));
    if (!rbuf)
        goto out;
    tu_sleep_ms(50);
    CHECK_OK(IInputStream_ReadAsync(c.in, rbuf, 16, InputStreamOptions_Partial, &rop));
    if (rop) {
        CHECK_HR(IAsyncOperationIBuffer_Wait(rop, QUIET_MS, &res), RTWS_E_TIMEOUT);
        CHECK(res == NULL);
        CHECK_OK(write_bytes(c.out, "abc", 3, NULL));
        CHECK_OK(IAsyncOperationIBuffer_Wait(rop, WAIT_MS, &res));
        if (res) {
            uint32_t copied = 0;
            CHECK_OK(IBuffer_get_Length(res, &v));
            CHECK(v == 3);
            CHECK_OK(IBuffer_CopyTo(res, 0, data, sizeof data, &copied));
            CHECK(copied == 3 && memcmp(data, "abc", 3) == 0);
            IBuffer_Release(res);
            res = NULL;
        }
        IAsyncOperationIBuffer_Release(rop);
        rop = NULL;
    }
    /* Empty messages between data messages add nothing (NULL data with length 0 too). */
    CHECK_OK(write_bytes(c.out, NULL, 0, &n));
    CHECK(n == 0);
    CHECK_OK(write_bytes(c.out, "de", 2, NULL));
    CHECK_OK(write_bytes(c.out, "", 0, NULL));
    CHECK_OK(write_bytes(c.out, "f", 1, NULL));
    CHECK_OK(tu_read_once(c.in, 16, 3, InputStreamOptions_None, data, &got, WAIT_MS));
    CHECK(got == 3 && memcmp(data, "def", 3) == 0);
    /* Through a DataWriter: an empty store is an empty message too. */
    {
        DataWriter *w = NULL;
        IAsyncOperationUInt32 *store = NULL;
        IOutputStream *back = NULL;
        CHECK_OK(DataWriter_CreateDataWriter(c.out, &w));
        if (w) {
            CHECK_OK(DataWriter_StoreAsync(w, &store));
            if (store) {
                CHECK_OK(IAsyncOperationUInt32_Wait(store, WAIT_MS, &n));
                CHECK(n == 0);
                IAsyncOperationUInt32_Release(store);
            }
            CHECK_OK(DataWriter_DetachStream(w, &back));
            if (back)
                IOutputStream_Release(back);
            DataWriter_Release(w);
        }
    }
    CHECK_OK(write_bytes(c.out, "g", 1, NULL));
    CHECK_OK(tu_read_once(c.in, 16, 16, InputStreamOptions_Partial, data, &got, WAIT_MS));
    CHECK(got == 1 && data[0] == 'g');

    CHECK_OK(StreamWebSocket_CloseWithStatus(c.ws, 1000, NULL));
    sconn_expect_closed(&c, 1000, NULL);
out:
    if (empty)
        IBuffer_Release(empty);
    if (rbuf)
        IBuffer_Release(rbuf);
    sconn_free(&c);
}

/* ---- 9. the server closes ------------------------------------------------------------------------ */

static void test_server_close(void)
{
    sconn c;
    uint8_t data[16];
    uint32_t got = 0xFFFFFFFFu;

    /* after=0: a pending read ends with Length 0, Closed 1000, later reads also 0. */
    if (sconn_open(&c, "/close?after=0&code=1000")) {
        IBuffer *buf = NULL, *res = NULL;
        IAsyncOperationIBuffer *op = NULL;
        CHECK_OK(Buffer_Create(16, &buf));
        if (buf) {
            CHECK_OK(IInputStream_ReadAsync(c.in, buf, 16, InputStreamOptions_Partial, &op));
            if (op) {
                CHECK_OK(IAsyncOperationIBuffer_Wait(op, WAIT_MS, &res));
                if (res) {
                    uint32_t v = 0xFFFFFFFFu;
                    CHECK_OK(IBuffer_get_Length(res, &v));
                    CHECK(v == 0);
                    IBuffer_Release(res);
                }
                IAsyncOperationIBuffer_Release(op);
            }
            IBuffer_Release(buf);
        }
        sconn_expect_closed(&c, 1000, NULL);
        CHECK_OK(tu_read_once(c.in, 16, 16, InputStreamOptions_Partial, data, &got, WAIT_MS));
        CHECK(got == 0);
        CHECK_OK(tu_read_once(c.in, 16, 4, InputStreamOptions_None, data, &got, WAIT_MS));
        CHECK(got == 0);
        /* A write on the closed connection does not succeed. */
        CHECK(write_bytes(c.out, "x", 1, NULL) != S_OK);
    }
    sconn_free(&c);

    /* after=1 with a reason: the echoed bytes first, then the end (None stops short). */
    if (sconn_open(&c, "/close?after=1&code=4001&reason=server%20bye")) {
        CHECK_OK(write_bytes(c.out, "hi", 2, NULL));
        CHECK_OK(tu_read_once(c.in, 16, 16, InputStreamOptions_None, data, &got, WAIT_MS));
        CHECK(got == 2 && memcmp(data, "hi", 2) == 0);
        CHECK_OK(tu_read_once(c.in, 16, 16, InputStreamOptions_None, data, &got, WAIT_MS));
        CHECK(got == 0);
        sconn_expect_closed(&c, 4001, "server bye");
    }
    sconn_free(&c);
}

/* ---- 10. the peer vanishes mid-message --------------------------------------------------------- */

static void test_peer_reset_mid_message(void)
{
    sconn c;
    uint8_t data[2000];
    uint32_t total = 0;
    int bad = 0;
    HRESULT hr = S_OK;

    if (!sconn_open(&c, "/reset?after=0&midmessage=1"))
        goto out;
    for (int i = 0; i < 200; i++) {
        uint32_t got = 0;
        hr = tu_read_once(c.in, 1000, 1000, InputStreamOptions_Partial, data, &got, WAIT_MS);
        if (hr != S_OK || got == 0)
            break;
        for (uint32_t k = 0; k < got; k++)
            bad += data[k] != (uint8_t)((total + k) % 251);
        total += got;
    }
    CHECK(hr == WININET_E_CONNECTION_RESET || hr == WININET_E_CONNECTION_ABORTED);
    if (!(hr == WININET_E_CONNECTION_RESET || hr == WININET_E_CONNECTION_ABORTED))
        fprintf(stderr, "  read ended with 0x%08X after %u bytes\n", (unsigned)hr, total);
    CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_ConnectionReset ||
          WebSocketError_GetStatus(hr) == WebErrorStatus_ConnectionAborted);
    CHECK(total <= 100);
    CHECK(bad == 0);
    printf("  %u of the 100 bytes before the reset were delivered\n", total);
    sconn_expect_closed(&c, 1006, NULL);
    /* Later reads report the same failure. */
    {
        uint32_t got = 0;
        HRESULT again = tu_read_once(c.in, 16, 16, InputStreamOptions_Partial, data, &got, WAIT_MS);
        CHECK(again == hr);
    }
out:
    sconn_free(&c);
}

/* ---- 10b. fragments, pings, /big; a connection lost without a close frame ----------------- */

static void test_fragments_and_big(void)
{
    sconn c;
    uint8_t *data = malloc(1 << 20);
    uint32_t got = 0;
    int bad = 0;

    CHECK(data != NULL);
    if (!data)
        return;
    /* 5 fragments of 1000 with a Ping after the first: 5000 pattern bytes, no more. */
    if (sconn_open(&c, "/fragments?count=5&size=1000&ping=1")) {
        CHECK_OK(read_exactly(c.in, data, 5000, &got));
        CHECK(got == 5000);
        for (uint32_t i = 0; i < got; i++)
            bad += data[i] != (uint8_t)(i % 251);
        CHECK(bad == 0);
        /* then=echo: the next bytes are our own. */
        CHECK_OK(write_bytes(c.out, "end", 3, NULL));
        CHECK_OK(read_exactly(c.in, data, 3, &got));
        CHECK(got == 3 && memcmp(data, "end", 3) == 0);
        CHECK_OK(StreamWebSocket_CloseWithStatus(c.ws, 1000, NULL));
        sconn_expect_closed(&c, 1000, NULL);
    }
    sconn_free(&c);

    /* /big after one echo: our 2 bytes, then 1 MiB of pattern, in order. */
    if (sconn_open(&c, "/big?after=1&size=1048576")) {
        CHECK_OK(write_bytes(c.out, "hi", 2, NULL));
        CHECK_OK(read_exactly(c.in, data, 2, &got));
        CHECK(got == 2 && memcmp(data, "hi", 2) == 0);
        CHECK_OK(read_exactly(c.in, data, 1 << 20, &got));
        CHECK(got == 1 << 20);
        bad = 0;
        for (uint32_t i = 0; i < got; i++)
            bad += data[i] != (uint8_t)(i % 251);
        CHECK(bad == 0);
        CHECK_OK(StreamWebSocket_CloseWithStatus(c.ws, 1000, NULL));
        sconn_expect_closed(&c, 1000, NULL);
    }
    sconn_free(&c);
    free(data);
}

/* Reads `in` (Partial) until a read fails or the stream ends; returns that HRESULT (S_OK:
 * ended with 0 bytes) and the bytes read before in `*total`. Bounded. */
static HRESULT read_until_end(IInputStream *in, uint32_t *total)
{
    uint8_t data[2048];
    HRESULT hr = S_OK;
    *total = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t got = 0;
        hr = tu_read_once(in, sizeof data, sizeof data, InputStreamOptions_Partial, data, &got, WAIT_MS);
        if (hr != S_OK || got == 0)
            break;
        *total += got;
    }
    return hr;
}

static void test_connection_lost_without_close(void)
{
    sconn c;
    uint32_t total = 0;
    HRESULT hr;

    /* FIN without a close frame is a failure, not a clean end of the stream. */
    if (sconn_open(&c, "/vanish?after=1")) {
        CHECK_OK(write_bytes(c.out, "hi", 2, NULL));
        hr = read_until_end(c.in, &total);
        CHECK(total == 2);
        CHECK(RTWS_FAILED(hr));
        if (!RTWS_FAILED(hr))
            fprintf(stderr, "  /vanish: the stream ended cleanly (0x%08X), expected a failure\n",
                    (unsigned)hr);
        sconn_expect_closed(&c, 1006, NULL);
    }
    sconn_free(&c);

    /* RST between messages: the echo first, then the failure. */
    if (sconn_open(&c, "/vanish?after=1&rst=1")) {
        CHECK_OK(write_bytes(c.out, "hi", 2, NULL));
        hr = read_until_end(c.in, &total);
        CHECK(total <= 2);
        CHECK(hr == WININET_E_CONNECTION_RESET || hr == WININET_E_CONNECTION_ABORTED);
        sconn_expect_closed(&c, 1006, NULL);
    }
    sconn_free(&c);

    /* Half a frame, then silence: ReceiveTimeout ends it after the 500 bytes that came. */
    if (sconn_create(&c)) {
        StreamWebSocketControl *control = NULL;
        CHECK_OK(StreamWebSocket_get_Control(c.ws, &control));
        if (control) {
            CHECK_OK(StreamWebSocketControl_put_ReceiveTimeout(control, (TimeSpan){TS_MS(300)}));
            StreamWebSocketControl_Release(control);
        }
        CHECK_OK(sconn_connect(&c, "/partial?after=0"));
        if (sconn_streams(&c)) {
            double t0 = tu_now_ms();
            hr = read_until_end(c.in, &total);
            double waited = tu_now_ms() - t0;
            CHECK_HR(hr, WININET_E_TIMEOUT);
            CHECK(total == 500);
            CHECK(waited < 5000);
            sconn_expect_closed(&c, 1006, NULL);
        }
    }
    sconn_free(&c);
}

/* ---- 11. reads and writes from two threads ------------------------------------------------------ */

enum { DUPLEX_MESSAGES = 200, DUPLEX_SIZE = 1000, DUPLEX_TOTAL = DUPLEX_MESSAGES * DUPLEX_SIZE };

static uint8_t duplex_byte(uint32_t i) { return (uint8_t)(i % 241); }

typedef struct {
    IOutputStream *out;
    int sent;
    HRESULT first_error;
} duplex_writer;

typedef struct {
    IInputStream *in;
    uint32_t total;
    int reads, mismatches, ended;
    HRESULT first_error;
} duplex_reader;

static void *duplex_write(void *arg)
{
    duplex_writer *w = arg;
    uint8_t msg[DUPLEX_SIZE];
    for (int k = 0; k < DUPLEX_MESSAGES; k++) {
        uint32_t n = 0;
        for (uint32_t j = 0; j < DUPLEX_SIZE; j++)
            msg[j] = duplex_byte((uint32_t)k * DUPLEX_SIZE + j);
        HRESULT hr = write_bytes(w->out, msg, DUPLEX_SIZE, &n);
        if (hr != S_OK || n != DUPLEX_SIZE) {
            w->first_error = hr != S_OK ? hr : E_FAIL;
            break;
        }
        w->sent++;
    }
    return NULL;
}

static void *duplex_read(void *arg)
{
    duplex_reader *r = arg;
    uint8_t *data = malloc(65536);
    double deadline = tu_now_ms() + 20000;
    if (!data) {
        r->first_error = E_OUTOFMEMORY;
        return NULL;
    }
    while (r->total < DUPLEX_TOTAL && r->reads < 100000 && tu_now_ms() < deadline) {
        uint32_t got = 0;
        HRESULT hr = tu_read_once(r->in, 65536, 65536, InputStreamOptions_Partial, data, &got, WAIT_MS);
        if (hr != S_OK) {
            r->first_error = hr;
            break;
        }
        if (got == 0) {
            r->ended = 1;
            break;
        }
        for (uint32_t j = 0; j < got; j++)
            r->mismatches += data[j] != duplex_byte(r->total + j);
        r->total += got;
        r->reads++;
    }
    free(data);
    return NULL;
}

static void test_duplex_threads(void)
{
    sconn c;
    pthread_t tw, tr;
    duplex_writer w;
    duplex_reader r;
    int started_w = 0, started_r = 0;

    if (!sconn_open(&c, "/echo"))
        goto out;
    memset(&w, 0, sizeof w);
    memset(&r, 0, sizeof r);
    w.out = c.out;
    r.in = c.in;
    double t0 = tu_now_ms();
    started_r = pthread_create(&tr, NULL, duplex_read, &r) == 0;
    started_w = pthread_create(&tw, NULL, duplex_write, &w) == 0;
    CHECK(started_r && started_w);
    if (started_w)
        pthread_join(tw, NULL);
    if (started_r)
        pthread_join(tr, NULL);
    CHECK(w.sent == DUPLEX_MESSAGES);
    CHECK_OK(w.first_error);
    CHECK_OK(r.first_error);
    CHECK(r.total == DUPLEX_TOTAL);
    CHECK(r.mismatches == 0);
    CHECK(r.ended == 0);
    printf("  200 x 1000 bytes echoed in %d reads, %.0f ms\n", r.reads, tu_now_ms() - t0);
    CHECK_OK(StreamWebSocket_CloseWithStatus(c.ws, 1000, NULL));
    sconn_expect_closed(&c, 1000, NULL);
out:
    sconn_free(&c);
}

/* ---- 12. a close while a write is pending --------------------------------------------------------- */

static void test_close_with_pending_write(void)
{
    enum { BIG = 4 << 20 };
    sconn c;
    StreamWebSocketControl *control = NULL;
    IBuffer *big = NULL, *rbuf = NULL;
    IAsyncOperationUInt32 *wop = NULL;
    IAsyncOperationIBuffer *rop = NULL;
    AsyncStatus st = -1;
    TimeSpan ts = {0};

    if (!sconn_create(&c))
        goto out;
    CHECK_OK(StreamWebSocket_get_Control(c.ws, &control));
    if (!control)
        goto out;
    CHECK_OK(StreamWebSocketControl_put_SendTimeout(control, (TimeSpan){TS_MS(1000)}));
    CHECK_OK(StreamWebSocketControl_get_SendTimeout(control, &ts));
    CHECK(ts.Duration == TS_MS(1000));
    CHECK_OK(StreamWebSocketControl_put_OutboundBufferSizeInBytes(control, 65536));
    CHECK_OK(sconn_connect(&c, "/silent"));
    if (!sconn_streams(&c))
        goto out;

    CHECK_OK(Buffer_Create(BIG, &big));
    CHECK_OK(Buffer_Create(16, &rbuf));
    if (!big || !rbuf)
        goto out;
    CHECK_OK(IBuffer_put_Length(big, BIG));
    CHECK_OK(IInputStream_ReadAsync(c.in, rbuf, 16, InputStreamOptions_Partial, &rop));
    CHECK_OK(IOutputStream_WriteAsync(c.out, big, &wop));
    if (!wop)
        goto out;
    tu_sleep_ms(200);
    /* The server reads nothing: 4 MiB cannot all be taken by the kernel. */
    CHECK_OK(IAsyncOperationUInt32_get_Status(wop, &st));
    CHECK(st == AsyncStatus_Started);

    double t0 = tu_now_ms();
    CHECK_OK(StreamWebSocket_Close(c.ws));
    HRESULT hr = IAsyncOperationUInt32_Wait(wop, 5000, NULL);
    double waited = tu_now_ms() - t0;
    CHECK(hr != RTWS_E_TIMEOUT);
    CHECK_OK(IAsyncOperationUInt32_get_Status(wop, &st));
    CHECK(st == AsyncStatus_Completed || st == AsyncStatus_Error);
    if (st == AsyncStatus_Error)
        CHECK_HR(hr, WININET_E_TIMEOUT); /* SendTimeout ended the connection */
    CHECK(waited < 3000); /* SendTimeout (1 s) plus slack, not the 30 s close wait */
    printf("  pending 4 MiB write ended 0x%08X %.0f ms after Close\n", (unsigned)hr, waited);
    /* The pending read ends too, and Closed follows with 1006. */
    if (rop) {
        HRESULT rhr = IAsyncOperationIBuffer_Wait(rop, 5000, NULL);
        CHECK(rhr != RTWS_E_TIMEOUT);
        CHECK(rhr == S_OK || rhr == WININET_E_TIMEOUT);
        if (!(rhr == S_OK || rhr == WININET_E_TIMEOUT))
            fprintf(stderr, "  pending read ended with 0x%08X\n", (unsigned)rhr);
    }
    CHECK(sconn_wait_closed(&c, 5000) == 1006);
    /* Writes after the close are refused at once. */
    {
        IAsyncOperationUInt32 *late = NULL;
        CHECK_HR(IOutputStream_WriteAsync(c.out, rbuf, &late), RO_E_CLOSED);
        CHECK(late == NULL);
    }
out:
    if (wop)
        IAsyncOperationUInt32_Release(wop);
    if (rop)
        IAsyncOperationIBuffer_Release(rop);
    if (big)
        IBuffer_Release(big);
    if (rbuf)
        IBuffer_Release(rbuf);
    if (control)
        StreamWebSocketControl_Release(control);
    sconn_free(&c);
}

/* ---- 12b. the socket's last Release with a read pending ---------------------------------------- */

static void test_release_with_pending_read(void)
{
    sconn c;
    IBuffer *buf = NULL;
    IAsyncOperationIBuffer *op = NULL;

    if (!sconn_open(&c, "/echo"))
        goto out;
    CHECK_OK(Buffer_Create(16, &buf));
    if (buf)
        CHECK_OK(IInputStream_ReadAsync(c.in, buf, 16, InputStreamOptions_Partial, &op));
    if (!op)
        goto out;
    tu_sleep_ms(50);
    /* Release the socket (the streams stay referenced): it closes; the read must end. */
    CHECK(StreamWebSocket_Release(c.ws) == 0);
    c.ws = NULL;
    {
        IBuffer *res = NULL;
        AsyncStatus st = -1;
        HRESULT hr = IAsyncOperationIBuffer_Wait(op, WAIT_MS, &res);
        CHECK(hr != RTWS_E_TIMEOUT);
        CHECK_OK(IAsyncOperationIBuffer_get_Status(op, &st));
        CHECK(st == AsyncStatus_Completed || st == AsyncStatus_Error);
        if (res) {
            uint32_t v = 0xFFFFFFFFu;
            CHECK_OK(IBuffer_get_Length(res, &v));
            CHECK(v == 0);
            IBuffer_Release(res);
        }
    }
    /* The stream handles outlive the socket: later calls are refused, not crashes. */
    {
        IAsyncOperationIBuffer *late = NULL;
        IAsyncOperationUInt32 *w = NULL;
        HRESULT hr = IInputStream_ReadAsync(c.in, buf, 16, InputStreamOptions_Partial, &late);
        if (late) {
            /* allowed to start: then it must end at once (0 bytes or the failure) */
            CHECK(IAsyncOperationIBuffer_Wait(late, WAIT_MS, NULL) != RTWS_E_TIMEOUT);
            IAsyncOperationIBuffer_Release(late);
        } else
            CHECK(hr == RO_E_CLOSED);
        CHECK_HR(IOutputStream_WriteAsync(c.out, buf, &w), RO_E_CLOSED);
        CHECK(w == NULL);
    }
out:
    if (op)
        IAsyncOperationIBuffer_Release(op);
    if (buf)
        IBuffer_Release(buf);
    sconn_free(&c);
}

/* ---- 13. bad input on every function of the StreamWebSocket classes ---------------------------------- */

static void on_closed_noop(void *c, StreamWebSocket *s, WebSocketClosedEventArgs *a)
{
    (void)c; (void)s; (void)a;
}
static void on_ibuffer_noop(void *c, IAsyncOperationIBuffer *op, AsyncStatus st)
{
    (void)c; (void)op; (void)st;
}

/* NULL handles and NULL outputs. */
static void bad_input_nulls(StreamWebSocket *ws, StreamWebSocketControl *control,
                            StreamWebSocketInformation *info, IInputStream *in, IOutputStream *out,
                            IBuffer *buf, IAsyncOperationIBuffer *rop)
{
    StreamWebSocketControl *c = NULL;
    StreamWebSocketInformation *i = NULL;
    IInputStream *is = NULL;
    IOutputStream *os = NULL;
    IAsyncAction *a = NULL;
    IAsyncOperationIBuffer *op = NULL;
    IAsyncOperationUInt32 *wop = NULL;
    IBuffer *res = NULL;
    IVectorString *v = NULL;
    PasswordCredential *cred = NULL;
    EventRegistrationToken t = {0};
    BandwidthStatistics bw;
    TimeSpan ts;
    AsyncStatus st;
    HRESULT e;
    const char *s;
    uint32_t n;
    bool b;

    CHECK_HR(StreamWebSocket_Create(NULL), E_POINTER);
    CHECK_ZERO(StreamWebSocket_AddRef(NULL));
    CHECK_ZERO(StreamWebSocket_Release(NULL));
    CHECK_HR(StreamWebSocket_get_Control(NULL, &c), E_POINTER);
    CHECK_HR(StreamWebSocket_get_Control(ws, NULL), E_POINTER);
    CHECK_HR(StreamWebSocket_get_Information(NULL, &i), E_POINTER);
    CHECK_HR(StreamWebSocket_get_Information(ws, NULL), E_POINTER);
    CHECK_HR(StreamWebSocket_get_InputStream(NULL, &is), E_POINTER);
    CHECK_HR(StreamWebSocket_get_InputStream(ws, NULL), E_POINTER);
    CHECK_HR(StreamWebSocket_get_OutputStream(NULL, &os), E_POINTER);
    CHECK_HR(StreamWebSocket_get_OutputStream(ws, NULL), E_POINTER);
    CHECK(c == NULL && i == NULL && is == NULL && os == NULL);
    CHECK_HR(StreamWebSocket_ConnectAsync(NULL, tu_url("/echo"), &a), E_POINTER);
    CHECK_HR(StreamWebSocket_ConnectAsync(ws, NULL, &a), E_POINTER);
    CHECK_HR(StreamWebSocket_ConnectAsync(ws, tu_url("/echo"), NULL), E_POINTER);
    CHECK(a == NULL);
    CHECK_HR(StreamWebSocket_SetRequestHeader(NULL, "X-A", "1"), E_POINTER);
    CHECK_HR(StreamWebSocket_SetRequestHeader(ws, NULL, "1"), E_POINTER);
    CHECK_HR(StreamWebSocket_SetRequestHeader(ws, "X-A", NULL), E_POINTER);
    CHECK_HR(StreamWebSocket_Close(NULL), E_POINTER);
    CHECK_HR(StreamWebSocket_CloseWithStatus(NULL, 1000, NULL), E_POINTER);
    CHECK_HR(StreamWebSocket_add_Closed(NULL, on_closed_noop, NULL, &t), E_POINTER);
    CHECK_HR(StreamWebSocket_add_Closed(ws, NULL, NULL, &t), E_POINTER);
    CHECK_HR(StreamWebSocket_add_Closed(ws, on_closed_noop, NULL, NULL), E_POINTER);
    CHECK_HR(StreamWebSocket_remove_Closed(NULL, t), E_POINTER);

    CHECK_ZERO(StreamWebSocketControl_AddRef(NULL));
    CHECK_ZERO(StreamWebSocketControl_Release(NULL));
    CHECK_HR(StreamWebSocketControl_get_NoDelay(NULL, &b), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_NoDelay(control, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketControl_put_NoDelay(NULL, true), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_OutboundBufferSizeInBytes(NULL, &n), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_OutboundBufferSizeInBytes(control, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketControl_put_OutboundBufferSizeInBytes(NULL, 1), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_SupportedProtocols(NULL, &v), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_SupportedProtocols(control, NULL), E_POINTER);
    CHECK(v == NULL);
    CHECK_HR(StreamWebSocketControl_get_DesiredUnsolicitedPongInterval(control, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketControl_put_DesiredUnsolicitedPongInterval(NULL, (TimeSpan){0}), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_ActualUnsolicitedPongInterval(NULL, &ts), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_ActualUnsolicitedPongInterval(control, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_ConnectTimeout(control, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketControl_put_ConnectTimeout(NULL, (TimeSpan){TS_MS(1000)}), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_SendTimeout(NULL, &ts), E_POINTER);
    CHECK_HR(StreamWebSocketControl_put_SendTimeout(NULL, (TimeSpan){TS_MS(1000)}), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_ReceiveTimeout(control, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketControl_put_ReceiveTimeout(NULL, (TimeSpan){TS_MS(1000)}), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_ServerCredential(control, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_ServerCredential(NULL, &cred), E_POINTER);
    CHECK_HR(StreamWebSocketControl_put_ServerCredential(NULL, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketControl_get_ProxyCredential(control, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketControl_put_ProxyCredential(NULL, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketControl_put_ProxyUri(NULL, ""), E_POINTER);

    CHECK_ZERO(StreamWebSocketInformation_AddRef(NULL));
    CHECK_ZERO(StreamWebSocketInformation_Release(NULL));
    CHECK_HR(StreamWebSocketInformation_get_Protocol(NULL, &s), E_POINTER);
    CHECK_HR(StreamWebSocketInformation_get_Protocol(info, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketInformation_get_LocalAddress(NULL, &s), E_POINTER);
    CHECK_HR(StreamWebSocketInformation_get_LocalAddress(info, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketInformation_get_BandwidthStatistics(NULL, &bw), E_POINTER);
    CHECK_HR(StreamWebSocketInformation_get_BandwidthStatistics(info, NULL), E_POINTER);

    CHECK_ZERO(IInputStream_AddRef(NULL));
    CHECK_ZERO(IInputStream_Release(NULL));
    CHECK_HR(IInputStream_ReadAsync(NULL, buf, 1, InputStreamOptions_None, &op), E_POINTER);
    CHECK_HR(IInputStream_ReadAsync(in, NULL, 1, InputStreamOptions_None, &op), E_POINTER);
    CHECK_HR(IInputStream_ReadAsync(in, buf, 1, InputStreamOptions_None, NULL), E_POINTER);
    CHECK(op == NULL);
    CHECK_HR(IOutputStream_WriteAsync(NULL, buf, &wop), E_POINTER);
    CHECK_HR(IOutputStream_WriteAsync(out, NULL, &wop), E_POINTER);
    CHECK_HR(IOutputStream_WriteAsync(out, buf, NULL), E_POINTER);
    CHECK(wop == NULL);

    CHECK_ZERO(IAsyncOperationIBuffer_AddRef(NULL));
    CHECK_ZERO(IAsyncOperationIBuffer_Release(NULL));
    CHECK_HR(IAsyncOperationIBuffer_put_Completed(NULL, on_ibuffer_noop, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_put_Completed(rop, NULL, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_get_Status(NULL, &st), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_get_Status(rop, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_get_ErrorCode(NULL, &e), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_get_ErrorCode(rop, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_get_Id(NULL, &n), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_get_Id(rop, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_Cancel(NULL), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_Close(NULL), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_GetResults(NULL, &res), E_POINTER);
    CHECK(res == NULL);
    CHECK_HR(IAsyncOperationIBuffer_GetResults(rop, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationIBuffer_Wait(NULL, 0, NULL), E_POINTER);

    CHECK_HR(DataReader_CreateDataReader(NULL, NULL), E_POINTER);
    {
        DataReader *r = NULL;
        CHECK_HR(DataReader_CreateDataReader(NULL, &r), E_POINTER);
        CHECK_HR(DataReader_CreateDataReader(in, NULL), E_POINTER);
        CHECK(r == NULL);
    }
}

/* Values out of range, bad strings, wrong states. */
static void bad_input_values(StreamWebSocket *ws, StreamWebSocketControl *control, IInputStream *in,
                             IOutputStream *out, IBuffer *buf)
{
    IAsyncAction *a = NULL;
    IAsyncOperationUInt32 *wop = NULL;
    IAsyncOperationIBuffer *op = NULL;
    TimeSpan ts = {0};
    PasswordCredential *cred = (PasswordCredential *)(uintptr_t)1;
    char reason[130];

    /* Unconnected socket: writes refused, reads allowed to start (nothing arrives). */
    CHECK_HR(IOutputStream_WriteAsync(out, buf, &wop), E_ILLEGAL_METHOD_CALL);
    CHECK(wop == NULL);
    {
        IAsyncOperationBoolean *fl = NULL;
        CHECK_HR(IOutputStream_FlushAsync(out, &fl), E_ILLEGAL_METHOD_CALL);
        CHECK(fl == NULL);
    }

    CHECK_HR(StreamWebSocketControl_put_OutboundBufferSizeInBytes(control, 0), E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_ConnectTimeout(control, (TimeSpan){0}), E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_ConnectTimeout(control, (TimeSpan){-1}), E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_ConnectTimeout(control, (TimeSpan){TS_MS(86400000) + 1}),
             E_INVALIDARG);
    CHECK_OK(StreamWebSocketControl_put_ConnectTimeout(control, (TimeSpan){TS_MS(86400000)}));
    CHECK_OK(StreamWebSocketControl_put_ConnectTimeout(control, (TimeSpan){TS_MS(1)}));
    CHECK_OK(StreamWebSocketControl_get_ConnectTimeout(control, &ts));
    CHECK(ts.Duration == TS_MS(1));
    CHECK_OK(StreamWebSocketControl_put_ConnectTimeout(control, (TimeSpan){TS_MS(60000)}));
    CHECK_HR(StreamWebSocketControl_put_SendTimeout(control, (TimeSpan){0}), E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_SendTimeout(control, (TimeSpan){INT64_MIN}), E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_ReceiveTimeout(control, (TimeSpan){0}), E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_ReceiveTimeout(control, (TimeSpan){INT64_MAX}), E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_DesiredUnsolicitedPongInterval(control, (TimeSpan){TS_MS(5)}),
             E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_DesiredUnsolicitedPongInterval(control, (TimeSpan){-1}),
             E_INVALIDARG);
    CHECK_OK(StreamWebSocketControl_get_DesiredUnsolicitedPongInterval(control, &ts));
    CHECK(ts.Duration == 0);
    CHECK_HR(StreamWebSocketControl_put_ProxyUri(control, "ftp://proxy:21"), E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_ProxyUri(control, "\xFF\xFE"), E_INVALIDARG);
    CHECK_OK(StreamWebSocketControl_get_ServerCredential(control, &cred));
    CHECK(cred == NULL);
    CHECK_HR(StreamWebSocketControl_put_ServerCredential(control, (PasswordCredential *)(void *)ws),
             E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_ProxyCredential(control, (PasswordCredential *)(void *)control),
             E_INVALIDARG);

    /* URIs. */
    CHECK_HR(StreamWebSocket_ConnectAsync(ws, "", &a), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_ConnectAsync(ws, "http://127.0.0.1/", &a), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_ConnectAsync(ws, "/echo", &a), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_ConnectAsync(ws, "ws://127.0.0.1:99999/", &a), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_ConnectAsync(ws, "ws://\xFF/", &a), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_ConnectAsync(ws, "wss://127.0.0.1:0/", &a), E_INVALIDARG);
    CHECK(a == NULL);

    /* Request headers. */
    CHECK_HR(StreamWebSocket_SetRequestHeader(ws, "Host", "x"), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_SetRequestHeader(ws, "Sec-WebSocket-Protocol", "x"), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_SetRequestHeader(ws, "Bad Name", "x"), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_SetRequestHeader(ws, "X-A", "a\r\nX-B: b"), E_INVALIDARG);
    CHECK_OK(StreamWebSocket_SetRequestHeader(ws, "X-A", "fine"));

    /* Close codes and reasons. */
    CHECK_HR(StreamWebSocket_CloseWithStatus(ws, 0, NULL), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_CloseWithStatus(ws, 999, NULL), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_CloseWithStatus(ws, 1001, NULL), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_CloseWithStatus(ws, 1005, NULL), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_CloseWithStatus(ws, 2999, NULL), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_CloseWithStatus(ws, 5000, NULL), E_INVALIDARG);
    memset(reason, 'r', sizeof reason);
    reason[124] = '\0';
    CHECK_HR(StreamWebSocket_CloseWithStatus(ws, 1000, reason), E_INVALIDARG); /* 124 bytes */
    CHECK_HR(StreamWebSocket_CloseWithStatus(ws, 1000, "\xC3\x28"), E_INVALIDARG);

    /* ReadAsync bounds. */
    {
        uint32_t cap = 0;
        CHECK_OK(IBuffer_get_Capacity(buf, &cap));
        CHECK_HR(IInputStream_ReadAsync(in, buf, cap + 1, InputStreamOptions_None, &op), E_INVALIDARG);
        CHECK_HR(IInputStream_ReadAsync(in, buf, 1, 4, &op), E_INVALIDARG);
        CHECK_HR(IInputStream_ReadAsync(in, buf, 1, InputStreamOptions_Partial | 16, &op), E_INVALIDARG);
        CHECK(op == NULL);
    }
    /* DataReader options. */
    {
        DataReader *r = NULL;
        CHECK_OK(DataReader_CreateDataReader(in, &r));
        if (r) {
            InputStreamOptions o = 0xFFFFFFFFu;
            CHECK_HR(DataReader_put_InputStreamOptions(r, 8), E_INVALIDARG);
            CHECK_HR(DataReader_get_InputStreamOptions(r, NULL), E_POINTER);
            CHECK_HR(DataReader_LoadAsync(r, 1, NULL), E_POINTER);
            CHECK_OK(DataReader_get_InputStreamOptions(r, &o));
            CHECK(o == InputStreamOptions_None);
            CHECK_HR(DataReader_DetachStream(r, NULL), E_POINTER);
            {
                IInputStream *back = NULL;
                CHECK_OK(DataReader_DetachStream(r, &back));
                CHECK(back != NULL);
                if (back)
                    IInputStream_Release(back);
                CHECK_HR(DataReader_DetachStream(r, &back), E_ILLEGAL_METHOD_CALL);
                IAsyncOperationUInt32 *load = NULL;
                CHECK_HR(DataReader_LoadAsync(r, 1, &load), E_ILLEGAL_METHOD_CALL);
                CHECK(load == NULL);
            }
            CHECK_OK(DataReader_Close(r));
            CHECK_HR(DataReader_put_InputStreamOptions(r, 0), RO_E_CLOSED);
            DataReader_Release(r);
        }
    }
}

/* Handles of the wrong type. */
static void bad_input_wrong_types(StreamWebSocket *ws, StreamWebSocketControl *control,
                                  StreamWebSocketInformation *info, IInputStream *in,
                                  IOutputStream *out, IBuffer *buf, IAsyncOperationIBuffer *rop,
                                  MessageWebSocket *mws)
{
    StreamWebSocketControl *c = NULL;
    IInputStream *is = NULL;
    IAsyncOperationIBuffer *op = NULL;
    IAsyncOperationUInt32 *wop = NULL;
    IAsyncAction *a = NULL;
    DataReader *r = NULL;
    IBuffer *res = NULL;
    AsyncStatus st;
    const char *s;
    uint32_t n;
    bool b;

    CHECK_HR(StreamWebSocket_get_Control((StreamWebSocket *)(void *)mws, &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(StreamWebSocket_ConnectAsync((StreamWebSocket *)(void *)control, tu_url("/echo"), &a),
             E_INVALIDARG);
    CHECK(a == NULL);
    CHECK_HR(StreamWebSocket_get_InputStream((StreamWebSocket *)(void *)in, &is), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_Close((StreamWebSocket *)(void *)info), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_CloseWithStatus((StreamWebSocket *)(void *)mws, 1000, NULL), E_INVALIDARG);
    CHECK_HR(StreamWebSocket_add_Closed((StreamWebSocket *)(void *)mws, on_closed_noop, NULL,
                                        &(EventRegistrationToken){0}),
             E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_get_NoDelay((StreamWebSocketControl *)(void *)ws, &b), E_INVALIDARG);
    CHECK_HR(StreamWebSocketControl_put_NoDelay((StreamWebSocketControl *)(void *)info, true), E_INVALIDARG);
    {
        MessageWebSocketControl *real = tu_control_of(mws);
        if (real) {
            CHECK_HR(StreamWebSocketControl_get_OutboundBufferSizeInBytes(
                         (StreamWebSocketControl *)(void *)real, &n), E_INVALIDARG);
            MessageWebSocketControl_Release(real);
        }
    }
    CHECK_HR(StreamWebSocketInformation_get_Protocol((StreamWebSocketInformation *)(void *)control, &s),
             E_INVALIDARG);
    CHECK_HR(IInputStream_ReadAsync((IInputStream *)(void *)out, buf, 1, InputStreamOptions_None, &op),
             E_INVALIDARG);
    CHECK_HR(IInputStream_ReadAsync(in, (IBuffer *)(void *)in, 1, InputStreamOptions_None, &op),
             E_INVALIDARG);
    CHECK(op == NULL);
    CHECK_HR(IOutputStream_WriteAsync((IOutputStream *)(void *)in, buf, &wop), E_INVALIDARG);
    CHECK_HR(IOutputStream_WriteAsync(out, (IBuffer *)(void *)out, &wop), E_INVALIDARG);
    CHECK(wop == NULL);
    CHECK_HR(DataReader_CreateDataReader((IInputStream *)(void *)out, &r), E_INVALIDARG);
    CHECK(r == NULL);
    CHECK_HR(IBuffer_get_Length((IBuffer *)(void *)ws, &n), E_INVALIDARG);
    CHECK_HR(IBuffer_put_Length((IBuffer *)(void *)rop, 0), E_INVALIDARG);
    CHECK_HR(IAsyncOperationIBuffer_get_Status((IAsyncOperationIBuffer *)(void *)buf, &st), E_INVALIDARG);
    CHECK_HR(IAsyncOperationIBuffer_Wait((IAsyncOperationIBuffer *)(void *)ws, 0, &res), E_INVALIDARG);
    CHECK_HR(IAsyncOperationUInt32_get_Status((IAsyncOperationUInt32 *)(void *)rop, &st), E_INVALIDARG);
    CHECK_HR(IAsyncAction_Cancel((IAsyncAction *)(void *)rop), E_INVALIDARG);

    CHECK_ZERO(StreamWebSocket_AddRef((StreamWebSocket *)(void *)mws));
    CHECK_ZERO(StreamWebSocket_Release((StreamWebSocket *)(void *)control));
    CHECK_ZERO(StreamWebSocketControl_Release((StreamWebSocketControl *)(void *)info));
    CHECK_ZERO(StreamWebSocketInformation_Release((StreamWebSocketInformation *)(void *)ws));
    CHECK_ZERO(IInputStream_Release((IInputStream *)(void *)out));
    CHECK_ZERO(IOutputStream_Release((IOutputStream *)(void *)in));
    CHECK_ZERO(IBuffer_Release((IBuffer *)(void *)rop));
    CHECK_ZERO(IAsyncOperationIBuffer_Release((IAsyncOperationIBuffer *)(void *)buf));
    /* The real objects' counts are untouched. */
    CHECK(StreamWebSocket_AddRef(ws) == 2);
    CHECK(StreamWebSocket_Release(ws) == 1);
    CHECK(IBuffer_AddRef(buf) >= 2);
    CHECK(IBuffer_Release(buf) >= 1);
}

static void test_stream_bad_input(void)
{
    StreamWebSocket *ws = NULL;
    StreamWebSocketControl *control = NULL;
    StreamWebSocketInformation *info = NULL;
    IInputStream *in = NULL;
    IOutputStream *out = NULL;
    IBuffer *buf = NULL;
    IAsyncOperationIBuffer *rop = NULL;
    MessageWebSocket *mws = NULL;
    sconn live = {0};

    CHECK_OK(StreamWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_Create(&mws));
    if (!ws || !mws)
        goto out;
    CHECK_OK(StreamWebSocket_get_Control(ws, &control));
    CHECK_OK(StreamWebSocket_get_Information(ws, &info));
    CHECK_OK(StreamWebSocket_get_InputStream(ws, &in));
    CHECK_OK(StreamWebSocket_get_OutputStream(ws, &out));
    CHECK_OK(Buffer_Create(8, &buf));
    if (!control || !info || !in || !out || !buf)
        goto out;
    /* A read of a connected socket that hears nothing (/silent) stays pending until
     * canceled (one of a never-connected socket is refused). */
    if (!sconn_open(&live, "/silent"))
        goto out;
    CHECK_OK(IInputStream_ReadAsync(live.in, buf, 8, InputStreamOptions_Partial, &rop));
    if (!rop)
        goto out;

    bad_input_nulls(ws, control, info, in, out, buf, rop);
    bad_input_wrong_types(ws, control, info, in, out, buf, rop, mws);
    CHECK_OK(IAsyncOperationIBuffer_Cancel(rop));
    bad_input_values(ws, control, in, out, buf);

    /* Made-up handles. */
    {
        static void *const fakes[] = {(void *)0x1234, (void *)(uintptr_t)0xDEADBEE0u, (void *)(uintptr_t)-16};
        for (size_t i = 0; i < sizeof fakes / sizeof fakes[0]; i++) {
            void *p = fakes[i];
            StreamWebSocketControl *c = NULL;
            IAsyncOperationIBuffer *op = NULL;
            uint32_t n;
            bool b;
            CHECK_HR(StreamWebSocket_get_Control((StreamWebSocket *)p, &c), E_INVALIDARG);
            CHECK_HR(StreamWebSocket_Close((StreamWebSocket *)p), E_INVALIDARG);
            CHECK_ZERO(StreamWebSocket_Release((StreamWebSocket *)p));
            CHECK_HR(StreamWebSocketControl_get_NoDelay((StreamWebSocketControl *)p, &b), E_INVALIDARG);
            CHECK_HR(IInputStream_ReadAsync((IInputStream *)p, buf, 1, 0, &op), E_INVALIDARG);
            CHECK_HR(IInputStream_ReadAsync(in, (IBuffer *)p, 1, 0, &op), E_INVALIDARG);
            CHECK_HR(IBuffer_get_Capacity((IBuffer *)p, &n), E_INVALIDARG);
            CHECK_ZERO(IBuffer_Release((IBuffer *)p));
            CHECK_HR(IAsyncOperationIBuffer_Cancel((IAsyncOperationIBuffer *)p), E_INVALIDARG);
            CHECK(c == NULL && op == NULL);
        }
    }

    /* Released handles: everything refused, nothing crashes. */
    {
        StreamWebSocket *gone = NULL;
        StreamWebSocketControl *gc = NULL;
        StreamWebSocketInformation *gi = NULL;
        IInputStream *gin = NULL;
        IOutputStream *gout = NULL;
        IBuffer *gb = NULL;
        IAsyncOperationIBuffer *gop = NULL;
        CHECK_OK(StreamWebSocket_Create(&gone));
        if (gone) {
            CHECK_OK(StreamWebSocket_get_Control(gone, &gc));
            CHECK_OK(StreamWebSocket_get_Information(gone, &gi));
            CHECK_OK(StreamWebSocket_get_InputStream(gone, &gin));
            CHECK_OK(StreamWebSocket_get_OutputStream(gone, &gout));
            CHECK_OK(Buffer_Create(4, &gb));
            if (gin && gb) {
                /* Of the connected socket: a read of `gone` would be refused. */
                CHECK_OK(IInputStream_ReadAsync(live.in, gb, 4, InputStreamOptions_Partial, &gop));
                if (gop) {
                    CHECK_OK(IAsyncOperationIBuffer_Cancel(gop));
                    CHECK(IAsyncOperationIBuffer_Release(gop) == 0);
                }
            }
            if (gc) CHECK(StreamWebSocketControl_Release(gc) == 0);
            if (gi) CHECK(StreamWebSocketInformation_Release(gi) == 0);
            if (gin) CHECK(IInputStream_Release(gin) == 0);
            if (gout) CHECK(IOutputStream_Release(gout) == 0);
            if (gb) CHECK(IBuffer_Release(gb) == 0);
            CHECK(StreamWebSocket_Release(gone) == 0);
            if (gc && gi && gin && gout && gb && gop) {
                StreamWebSocketControl *c2 = NULL;
                IAsyncAction *a = NULL;
                IAsyncOperationIBuffer *op = NULL;
                IAsyncOperationUInt32 *wop = NULL;
                AsyncStatus st;
                const char *s;
                uint32_t n;
                bool b;
                CHECK_HR(StreamWebSocket_get_Control(gone, &c2), E_INVALIDARG);
                CHECK(c2 == NULL);
                CHECK_HR(StreamWebSocket_ConnectAsync(gone, tu_url("/echo"), &a), E_INVALIDARG);
                CHECK(a == NULL);
                CHECK_HR(StreamWebSocket_Close(gone), E_INVALIDARG);
                CHECK_ZERO(StreamWebSocket_AddRef(gone));
                CHECK_ZERO(StreamWebSocket_Release(gone));
                CHECK_HR(StreamWebSocketControl_get_NoDelay(gc, &b), E_INVALIDARG);
                CHECK_HR(StreamWebSocketControl_put_SendTimeout(gc, (TimeSpan){TS_MS(1000)}), E_INVALIDARG);
                CHECK_ZERO(StreamWebSocketControl_AddRef(gc));
                CHECK_HR(StreamWebSocketInformation_get_LocalAddress(gi, &s), E_INVALIDARG);
                CHECK_ZERO(StreamWebSocketInformation_AddRef(gi));
                CHECK_HR(IInputStream_ReadAsync(gin, buf, 1, 0, &op), E_INVALIDARG);
                CHECK_ZERO(IInputStream_AddRef(gin));
                CHECK_HR(IOutputStream_WriteAsync(gout, buf, &wop), E_INVALIDARG);
                CHECK_ZERO(IOutputStream_AddRef(gout));
                CHECK_HR(IBuffer_get_Capacity(gb, &n), E_INVALIDARG);
                CHECK_HR(IInputStream_ReadAsync(in, gb, 1, 0, &op), E_INVALIDARG);
                CHECK_ZERO(IBuffer_AddRef(gb));
                CHECK_HR(IAsyncOperationIBuffer_get_Status(gop, &st), E_INVALIDARG);
                CHECK_HR(IAsyncOperationIBuffer_Wait(gop, 100, NULL), E_INVALIDARG);
                CHECK_ZERO(IAsyncOperationIBuffer_AddRef(gop));
                CHECK(op == NULL && wop == NULL);
            }
        }
    }
    CHECK(rtws_GetLastErrorMessage()[0] != '\0');

out:
    if (rop) {
        IAsyncOperationIBuffer_Cancel(rop);
        IAsyncOperationIBuffer_Release(rop);
    }
    if (buf)
        IBuffer_Release(buf);
    if (in)
        IInputStream_Release(in);
    if (out)
        IOutputStream_Release(out);
    if (control)
        StreamWebSocketControl_Release(control);
    if (info)
        StreamWebSocketInformation_Release(info);
    if (ws)
        CHECK(StreamWebSocket_Release(ws) == 0);
    if (mws)
        CHECK(MessageWebSocket_Release(mws) == 0);
    if (live.ws)
        sconn_free(&live);
}

/* ---- 14. rtws_Shutdown with a read and a write pending (runs last) ------------------------- */

typedef struct {
    tu_signal done;
    AsyncStatus read_status, write_status;
    HRESULT read_hr, write_hr;
} shutdown_ctx;

static void on_shutdown_read(void *ctx, IAsyncOperationIBuffer *op, AsyncStatus status)
{
    shutdown_ctx *s = ctx;
    IBuffer *res = NULL;
    s->read_status = status;
    s->read_hr = IAsyncOperationIBuffer_GetResults(op, &res);
    if (res)
        IBuffer_Release(res);
    tu_signal_bump(&s->done);
}

static void on_shutdown_write(void *ctx, IAsyncOperationUInt32 *op, AsyncStatus status)
{
    shutdown_ctx *s = ctx;
    uint32_t n = 0;
    s->write_status = status;
    s->write_hr = IAsyncOperationUInt32_GetResults(op, &n);
    tu_signal_bump(&s->done);
}

static void test_shutdown_with_pending_io(void)
{
    sconn c;
    IBuffer *rbuf = NULL, *big = NULL;
    IAsyncOperationIBuffer *rop = NULL;
    IAsyncOperationUInt32 *wop = NULL;
    shutdown_ctx s;

    memset(&s, 0, sizeof s);
    tu_signal_init(&s.done);
    s.read_status = s.write_status = -1;
    if (!sconn_open(&c, "/silent"))
        goto out;
    CHECK_OK(Buffer_Create(16, &rbuf));
    CHECK_OK(Buffer_Create(8 << 20, &big));
    if (!rbuf || !big)
        goto out;
    CHECK_OK(IBuffer_put_Length(big, 8 << 20));
    CHECK_OK(IInputStream_ReadAsync(c.in, rbuf, 16, InputStreamOptions_Partial, &rop));
    CHECK_OK(IOutputStream_WriteAsync(c.out, big, &wop));
    if (!rop || !wop)
        goto out;
    CHECK_OK(IAsyncOperationIBuffer_put_Completed(rop, on_shutdown_read, &s));
    CHECK_OK(IAsyncOperationUInt32_put_Completed(wop, on_shutdown_write, &s));
    tu_sleep_ms(100);
    CHECK(tu_signal_get(&s.done) == 0); /* both still pending */
    /* Shutdown invalidates every handle: nothing is released afterwards. */
    CHECK_OK(rtws_Shutdown(5000));
    CHECK(tu_signal_wait(&s.done, 2, WAIT_MS));
    CHECK(s.read_status == AsyncStatus_Error);
    CHECK(s.read_hr == RTWS_E_OPERATION_ABORTED);
    CHECK(s.write_status == AsyncStatus_Error);
    CHECK(s.write_hr == RTWS_E_OPERATION_ABORTED);
    CHECK(tu_signal_get(&c.closed) == 0); /* no Closed event on Shutdown */
    /* The library starts again on the next call. */
    {
        StreamWebSocket *again = NULL;
        CHECK_OK(StreamWebSocket_Create(&again));
        if (again)
            CHECK(StreamWebSocket_Release(again) == 0);
    }
    tu_signal_destroy(&s.done);
    tu_signal_destroy(&c.closed);
    return;
out:
    if (rop)
        IAsyncOperationIBuffer_Release(rop);
    if (wop)
        IAsyncOperationUInt32_Release(wop);
    if (rbuf)
        IBuffer_Release(rbuf);
    if (big)
        IBuffer_Release(big);
    sconn_free(&c);
    tu_signal_destroy(&s.done);
}

static const tu_test tests[] = {
    TU_TEST(test_stream_websocket_lifecycle),
    TU_TEST(test_seed_sample_flow),
    TU_TEST(test_ibuffer),
    TU_TEST(test_read_async),
    TU_TEST(test_flush_after_write),
    TU_TEST(test_read_cancel),
    TU_TEST(test_cancel_race_loses_nothing),
    TU_TEST(test_big_message_streamed),
    TU_TEST(test_backpressure_not_a_timeout),
    TU_TEST(test_peer_text_message),
    TU_TEST(test_read_without_connection),
    TU_TEST(test_zero_length_messages),
    TU_TEST(test_server_close),
    TU_TEST(test_peer_reset_mid_message),
    TU_TEST(test_fragments_and_big),
    TU_TEST(test_connection_lost_without_close),
    TU_TEST(test_duplex_threads),
    TU_TEST(test_close_with_pending_write),
    TU_TEST(test_release_with_pending_read),
    TU_TEST(test_stream_bad_input),
    TU_TEST(test_shutdown_with_pending_io),
    TU_END,
};

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    tu_run(tests, argc - 2, argv + 2);
    return tu_finish();
}
