/*
 * The log (rtws extension) through the C ABI: rtws_SetLogHandler and its levels, what is
 * logged (connect stages, closes with their code and who closed, failures with their HRESULT,
 * slow handlers, a DispatcherQueue's backpressure) and what never is (credentials, header
 * values, the URI's query, close reasons, payload), a handler that calls back into rtws,
 * rtws_SetSlowHandlerThreshold, RTWS_LOG on stderr, and bad input.
 *
 * Records are copied by the handler (on whatever thread logs) and checked on the main thread.
 * The log is process-wide: each test sets the handler it needs and turns it off at its end.
 */
#include "testutil.h"

#include <poll.h>
#include <stdarg.h>

/* How long to watch for something that must not happen (longer under a memory checker). */
static int quiet_ms = 200;

/* ---- The recorded log ------------------------------------------------------------------ */

#define LOG_MAGIC 0x5EC0
#define LOG_MAX 8192

typedef struct {
    int magic;
    RtwsLogLevel level; /* the level the handler was registered with */
} log_ctx;

typedef struct {
    RtwsLogLevel level;
    char *target;
    char *message;
} log_rec;

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static log_rec g_log[LOG_MAX];
static int g_nlog, g_log_lost;
static int g_bad_ctx, g_over_level, g_bad_level, g_max_depth;
static _Thread_local int t_depth;

/* Call first in a log handler (and log_leave last): tracks how deep handlers nest. */
static void log_enter(void)
{
    t_depth++;
    pthread_mutex_lock(&g_log_lock);
    if (t_depth > g_max_depth)
        g_max_depth = t_depth;
    pthread_mutex_unlock(&g_log_lock);
}

static void log_leave(void)
{
    t_depth--;
}

static void record(void *context, RtwsLogLevel level, const char *target, const char *message)
{
    log_ctx *c = (log_ctx *)context;
    pthread_mutex_lock(&g_log_lock);
    if (!c || c->magic != LOG_MAGIC)
        g_bad_ctx++;
    else if (level > c->level)
        g_over_level++;
    if (level < RtwsLogLevel_Error || level > RtwsLogLevel_Trace)
        g_bad_level++;
    if (g_nlog < LOG_MAX) {
        g_log[g_nlog].level = level;
        g_log[g_nlog].target = strdup(target ? target : "(null)");
        g_log[g_nlog].message = strdup(message ? message : "(null)");
        g_nlog++;
    } else {
        g_log_lost++;
    }
    pthread_mutex_unlock(&g_log_lock);
}

static void on_log(void *context, RtwsLogLevel level, const char *target, const char *message)
{
    log_enter();
    record(context, level, target, message);
    log_leave();
}

static void log_clear(void)
{
    pthread_mutex_lock(&g_log_lock);
    for (int i = 0; i < g_nlog; i++) {
        free(g_log[i].target);
        free(g_log[i].message);
    }
    g_nlog = g_log_lost = 0;
    g_bad_ctx = g_over_level = g_bad_level = g_max_depth = 0;
    pthread_mutex_unlock(&g_log_lock);
}

/* Sets `handler` with a context at `level` (the context must outlive its use). */
static void log_to(RtwsLogHandler handler, log_ctx *ctx, RtwsLogLevel level)
{
    ctx->magic = LOG_MAGIC;
    ctx->level = level;
    CHECK_OK(rtws_SetLogHandler(handler, ctx, level));
}

static void log_off(void)
{
    CHECK_OK(rtws_SetLogHandler(NULL, NULL, RtwsLogLevel_Off));
}

/* How many records match: `level` (0: any), `target` (NULL: any), and contain every one of the
 * NULL-terminated needles. */
static int log_count(RtwsLogLevel level, const char *target, ...)
{
    int n = 0;
    pthread_mutex_lock(&g_log_lock);
    for (int i = 0; i < g_nlog; i++) {
        const log_rec *r = &g_log[i];
        if ((level && r->level != level) || (target && strcmp(r->target, target) != 0))
            continue;
        va_list ap;
        va_start(ap, target);
        int all = 1;
        for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
            all &= strstr(r->message, s) != NULL;
        va_end(ap);
        n += all;
    }
    pthread_mutex_unlock(&g_log_lock);
    return n;
}

/* Records of level `level` or more verbose (a higher RtwsLogLevel). */
static int log_count_at_least(RtwsLogLevel level)
{
    int n = 0;
    pthread_mutex_lock(&g_log_lock);
    for (int i = 0; i < g_nlog; i++)
        n += g_log[i].level >= level;
    pthread_mutex_unlock(&g_log_lock);
    return n;
}

/* Waits (bounded) until a record with `needle` (and `needle2` if not NULL) is there. */
static int log_wait(const char *needle, const char *needle2, int ms)
{
    double deadline = tu_now_ms() + ms;
    for (;;) {
        if (log_count(0, NULL, needle, needle2, (const char *)NULL) > 0)
            return 1;
        if (tu_now_ms() >= deadline)
            return 0;
        tu_sleep_ms(5);
    }
}

/* Waits (bounded) until `n` records contain `needle`. */
static int log_wait_count(const char *needle, int n, int ms)
{
    double deadline = tu_now_ms() + ms;
    while (log_count(0, NULL, needle, (const char *)NULL) < n && tu_now_ms() < deadline)
        tu_sleep_ms(5);
    return log_count(0, NULL, needle, (const char *)NULL) >= n;
}

/* The number rtws gave the socket that connected to a URI whose path is `path` ("socket N:
 * connecting to ws://HOST:PORT/path"), or -1. */
static long long socket_of(const char *path)
{
    long long id = -1;
    size_t plen = strlen(path);
    pthread_mutex_lock(&g_log_lock);
    for (int i = 0; i < g_nlog && id < 0; i++) {
        const char *m = g_log[i].message;
        size_t mlen = strlen(m);
        if (strstr(m, ": connecting to ws") && mlen >= plen && strcmp(m + mlen - plen, path) == 0 &&
            sscanf(m, "socket %lld:", &id) != 1)
            id = -1;
    }
    pthread_mutex_unlock(&g_log_lock);
    return id;
}

/* Records whose message starts with "socket N:" and contains `needle` (NULL: any). */
static int log_count_socket(long long id, const char *target, const char *needle)
{
    char prefix[48];
    int n = 0;
    snprintf(prefix, sizeof prefix, "socket %lld:", id);
    pthread_mutex_lock(&g_log_lock);
    for (int i = 0; i < g_nlog; i++) {
        const log_rec *r = &g_log[i];
        if (strncmp(r->message, prefix, strlen(prefix)) == 0 &&
            (!target || strcmp(r->target, target) == 0) && (!needle || strstr(r->message, needle)))
            n++;
    }
    pthread_mutex_unlock(&g_log_lock);
    return n;
}

/* Prints the log (on a failure, to see what was there). */
static void log_dump(void)
{
    pthread_mutex_lock(&g_log_lock);
    for (int i = 0; i < g_nlog; i++)
        fprintf(stderr, "  [%d] %s: %s\n", (int)g_log[i].level, g_log[i].target, g_log[i].message);
    pthread_mutex_unlock(&g_log_lock);
}

/* ---- Scenarios that make rtws log -------------------------------------------------------- */

/* Connects to `path`, echoes one message, closes with `code` and waits for Closed. */
static void scenario_echo(const char *path, uint16_t code)
{
    MessageWebSocket *ws = NULL;
    tu_inbox in;
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (!ws)
        return;
    CHECK_OK(tu_inbox_attach(&in, ws));
    CHECK_OK(tu_connect(ws, path));
    CHECK_OK(tu_send_text(ws, "hello"));
    MessageWebSocketMessageReceivedEventArgs *a = tu_inbox_next(&in, 10000);
    CHECK(a != NULL);
    if (a)
        MessageWebSocketMessageReceivedEventArgs_Release(a);
    CHECK_OK(MessageWebSocket_CloseWithStatus(ws, code, ""));
    CHECK(tu_signal_wait(&in.closed, 1, 10000));
    tu_inbox_detach(&in, ws);
    MessageWebSocket_Release(ws);
}

/* A connect refused (nothing listens on the port); returns Wait's HRESULT. */
static HRESULT scenario_refused(const char *path_and_query)
{
    char url[256];
    MessageWebSocket *ws = NULL;
    HRESULT hr = S_OK;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", tu_free_port(), path_and_query);
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (!ws)
        return E_FAIL;
    hr = tu_connect_url(ws, url, 10000, NULL, NULL);
    CHECK(RTWS_FAILED(hr));
    MessageWebSocket_Release(ws);
    return hr;
}

/* ---- The tests -------------------------------------------------------------------------- */

static const char *const documented_targets[] = {"rtws::connect", "rtws::connection",
                                                 "rtws::handlers", "rtws::queue", "rtws::ffi",
                                                 NULL};

/* Every record: a documented target ("rtws::..."), a message, a level in range. */
static void check_records_well_formed(void)
{
    int bad_target = 0, empty = 0;
    pthread_mutex_lock(&g_log_lock);
    for (int i = 0; i < g_nlog; i++) {
        int known = 0;
        for (int t = 0; documented_targets[t]; t++)
            known |= strcmp(g_log[i].target, documented_targets[t]) == 0;
        bad_target += !known || strncmp(g_log[i].target, "rtws::", 6) != 0;
        empty += g_log[i].message[0] == '\0';
    }
    int bad_ctx = g_bad_ctx, over = g_over_level, bad_level = g_bad_level, lost = g_log_lost;
    pthread_mutex_unlock(&g_log_lock);
    CHECK(bad_target == 0);
    CHECK(empty == 0);
    CHECK(bad_ctx == 0);
    CHECK(over == 0);
    CHECK(bad_level == 0);
    CHECK(lost == 0);
}

/* Levels filter: records at or below the level registered, nothing with Off; Warn has the
 * failed connect, Info each connect and close, Debug the connect stages. */
static void test_log_levels(void)
{
    static log_ctx ctx[6];
    for (int level = RtwsLogLevel_Off; level <= RtwsLogLevel_Trace; level++) {
        char path[32];
        int before = tu_failures;
        log_clear();
        log_to(on_log, &ctx[level], (RtwsLogLevel)level);
        snprintf(path, sizeof path, "/levels_%d", level);
        scenario_echo(path, 1000);
        scenario_refused("/levels_refused");
        tu_sleep_ms(quiet_ms / 4);
        log_off();
        check_records_well_formed();
        int warn = log_count(RtwsLogLevel_Warn, "rtws::connect", "connect failed", (char *)NULL);
        int info = log_count(RtwsLogLevel_Info, "rtws::connect", "connecting to ws://", path,
                             (char *)NULL) +
                   log_count(RtwsLogLevel_Info, "rtws::connection", "closed by the host with code 1000",
                             (char *)NULL);
        int debug = log_count(RtwsLogLevel_Debug, "rtws::connect", "resolving", (char *)NULL) +
                    log_count(RtwsLogLevel_Debug, "rtws::connect", "sending the upgrade request",
                              (char *)NULL);
        if (level == RtwsLogLevel_Off) {
            pthread_mutex_lock(&g_log_lock);
            int n = g_nlog;
            pthread_mutex_unlock(&g_log_lock);
            CHECK(n == 0);
        }
        CHECK((warn >= 1) == (level >= RtwsLogLevel_Warn));
        CHECK((info == 2) == (level >= RtwsLogLevel_Info));
        CHECK((debug >= 2) == (level >= RtwsLogLevel_Debug));
        CHECK(log_count_at_least((RtwsLogLevel)(level + 1)) == 0);
        if (tu_failures != before) {
            fprintf(stderr, "  the log at level %d:\n", level);
            log_dump();
        }
    }
    log_clear();
}

/* Each close with its code and who closed, each failure with its HRESULT, each naming its
 * socket. */
static void test_log_closes_and_failures(void)
{
    static log_ctx ctx;
    char hex[16];
    int before = tu_failures;
    log_clear();
    log_to(on_log, &ctx, RtwsLogLevel_Info);

    scenario_echo("/closes_host", 4321);

    /* The server closes with 4001. */
    MessageWebSocket *ws = NULL;
    tu_inbox in;
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (ws) {
        CHECK_OK(tu_inbox_attach(&in, ws));
        CHECK_OK(tu_connect(ws, "/close?after=0&code=4001"));
        CHECK(tu_signal_wait(&in.closed, 1, 10000));
        tu_inbox_detach(&in, ws);
        MessageWebSocket_Release(ws);
    }
    /* The connection is lost (RST). */
    ws = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (ws) {
        CHECK_OK(tu_inbox_attach(&in, ws));
        CHECK_OK(tu_connect(ws, "/vanish?after=1&rst=1"));
        CHECK_OK(tu_send_text(ws, "x"));
        CHECK(tu_signal_wait(&in.closed, 1, 10000));
        tu_inbox_detach(&in, ws);
        MessageWebSocket_Release(ws);
    }
    /* Refused, and an HTTP 404 instead of the upgrade. */
    HRESULT refused = scenario_refused("/closes_refused");
    HRESULT not_found = S_OK;
    ws = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (ws) {
        not_found = tu_connect(ws, "/status?code=404");
        CHECK(RTWS_FAILED(not_found));
        MessageWebSocket_Release(ws);
    }
    tu_sleep_ms(quiet_ms / 4);
    log_off();
    check_records_well_formed();

    long long host = socket_of("/closes_host"), server = socket_of("/close"),
              lost = socket_of("/vanish"), ref = socket_of("/closes_refused"),
              nf = socket_of("/status");
    CHECK(host > 0 && server > 0 && lost > 0 && ref > 0 && nf > 0);
    CHECK(log_count_socket(host, "rtws::connection", "closed by the host with code 4321") == 1);
    CHECK(log_count_socket(server, "rtws::connection", "closed by the server with code 4001") == 1);
    CHECK(log_count_socket(lost, "rtws::connection", "connection lost (1006)") == 1);
    snprintf(hex, sizeof hex, "0x%08X", (unsigned)refused);
    CHECK(log_count_socket(ref, "rtws::connect", "connect failed") == 1);
    CHECK(log_count_socket(ref, "rtws::connect", hex) == 1);
    snprintf(hex, sizeof hex, "0x%08X", (unsigned)not_found);
    CHECK(log_count_socket(nf, "rtws::connect", hex) == 1);
    CHECK(log_count(RtwsLogLevel_Warn, "rtws::connect", "connect failed", (char *)NULL) == 2);
    CHECK(log_count(RtwsLogLevel_Warn, "rtws::connection", "connection lost", (char *)NULL) == 1);
    if (tu_failures != before)
        log_dump();
    log_clear();
}

/* ---- No secrets --------------------------------------------------------------------------- */

#define PW_SECRET "pw-Kq81zsecret"
#define WRONG_SECRET "pw-Wr0ngZsecret"
#define HDR_SECRET "hdr-Jx4vsecret"
#define COOKIE_SECRET "cookie-Tt9secret"
#define QUERY_SECRET "qry-Mm3secret"
#define REASON_SECRET "reason-Rr5secret"
#define SRVREASON_SECRET "srvreason-Ss6secret"
#define PAYLOAD_SECRET "payload-Pp7secret"

static void b64(const char *in, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = t[(v >> 18) & 63];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

/* A MessageWebSocket with the secret headers and a ServerCredential with `password`. */
static MessageWebSocket *mws_with_secrets(const char *password)
{
    MessageWebSocket *ws = NULL;
    MessageWebSocketControl *c = NULL;
    PasswordCredential *cred = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (!ws)
        return NULL;
    CHECK_OK(MessageWebSocket_SetRequestHeader(ws, "X-Api-Key", HDR_SECRET));
    CHECK_OK(MessageWebSocket_SetRequestHeader(ws, "Cookie", "session=" COOKIE_SECRET));
    CHECK_OK(PasswordCredential_Create("ws://127.0.0.1", "alice", password, &cred));
    c = tu_control_of(ws);
    if (c && cred)
        CHECK_OK(MessageWebSocketControl_put_ServerCredential(c, cred));
    if (c)
        MessageWebSocketControl_Release(c);
    if (cred)
        PasswordCredential_Release(cred);
    return ws;
}

static void test_log_no_secrets(void)
{
    static log_ctx ctx;
    int before = tu_failures;
    const char *auth_path = "/auth?user=alice&pass=" PW_SECRET "&token=" QUERY_SECRET;
    log_clear();
    log_to(on_log, &ctx, RtwsLogLevel_Trace);

    /* 1. Through the 401 with the right credential; a payload; closed with a reason. */
    MessageWebSocket *ws = mws_with_secrets(PW_SECRET);
    tu_inbox in;
    if (ws) {
        CHECK_OK(tu_inbox_attach(&in, ws));
        CHECK_OK(tu_connect(ws, auth_path));
        CHECK_OK(tu_send_text(ws, PAYLOAD_SECRET " 1"));
        MessageWebSocketMessageReceivedEventArgs *a = tu_inbox_next(&in, 10000);
        CHECK(a != NULL);
        if (a)
            MessageWebSocketMessageReceivedEventArgs_Release(a);
        CHECK_OK(MessageWebSocket_CloseWithStatus(ws, 1000, REASON_SECRET));
        CHECK(tu_signal_wait(&in.closed, 1, 10000));
        tu_inbox_detach(&in, ws);
        MessageWebSocket_Release(ws);
    }
    /* 2. The wrong password: the connect fails. */
    ws = mws_with_secrets(WRONG_SECRET);
    if (ws) {
        CHECK(RTWS_FAILED(tu_connect(ws, auth_path)));
        MessageWebSocket_Release(ws);
    }
    /* 3. The server closes with a reason, after echoing a payload. */
    ws = mws_with_secrets(PW_SECRET);
    if (ws) {
        CHECK_OK(tu_inbox_attach(&in, ws));
        CHECK_OK(tu_connect(ws, "/close?after=1&code=4000&reason=" SRVREASON_SECRET
                                "&token=" QUERY_SECRET));
        CHECK_OK(tu_send_text(ws, PAYLOAD_SECRET " 3"));
        CHECK(tu_signal_wait(&in.closed, 1, 10000));
        CHECK(in.close_code == 4000);
        tu_inbox_detach(&in, ws);
        MessageWebSocket_Release(ws);
    }
    /* 4. A StreamWebSocket: the same secrets, a payload, closed with a reason. */
    StreamWebSocket *sws = NULL;
    CHECK_OK(StreamWebSocket_Create(&sws));
    if (sws) {
        StreamWebSocketControl *sc = NULL;
        PasswordCredential *cred = NULL;
        IAsyncAction *op = NULL;
        CHECK_OK(StreamWebSocket_SetRequestHeader(sws, "X-Api-Key", HDR_SECRET));
        CHECK_OK(PasswordCredential_Create("r", "alice", PW_SECRET, &cred));
        CHECK_OK(StreamWebSocket_get_Control(sws, &sc));
        if (sc && cred)
            CHECK_OK(StreamWebSocketControl_put_ServerCredential(sc, cred));
        if (sc)
            StreamWebSocketControl_Release(sc);
        if (cred)
            PasswordCredential_Release(cred);
        CHECK_OK(StreamWebSocket_ConnectAsync(sws, tu_url(auth_path), &op));
        if (op) {
            CHECK_OK(IAsyncAction_Wait(op, 10000));
            IAsyncAction_Release(op);
        }
        IOutputStream *out = NULL;
        IBuffer *buf = NULL;
        IAsyncOperationUInt32 *wop = NULL;
        CHECK_OK(StreamWebSocket_get_OutputStream(sws, &out));
        CHECK_OK(Buffer_CreateFromBytes((const uint8_t *)PAYLOAD_SECRET, (uint32_t)strlen(PAYLOAD_SECRET), &buf));
        if (out && buf)
            CHECK_OK(IOutputStream_WriteAsync(out, buf, &wop));
        if (wop) {
            CHECK_OK(IAsyncOperationUInt32_Wait(wop, 10000, NULL));
            IAsyncOperationUInt32_Release(wop);
        }
        if (buf)
            IBuffer_Release(buf);
        if (out)
            IOutputStream_Release(out);
        CHECK_OK(StreamWebSocket_CloseWithStatus(sws, 1000, REASON_SECRET));
        StreamWebSocket_Release(sws);
    }
    /* 5. Failures with a query: an HTTP 404, a refused connect. */
    ws = mws_with_secrets(PW_SECRET);
    if (ws) {
        CHECK(RTWS_FAILED(tu_connect(ws, "/status?code=404&token=" QUERY_SECRET)));
        MessageWebSocket_Release(ws);
    }
    scenario_refused("/refused?token=" QUERY_SECRET);
    CHECK(log_wait_count("closed by the host with code 1000", 2, 10000)); /* and the stream's */
    tu_sleep_ms(quiet_ms);
    log_off();
    check_records_well_formed();

    /* The log said what happened... */
    CHECK(log_count(RtwsLogLevel_Info, "rtws::connect", "retrying with the ServerCredential",
                    (char *)NULL) >= 2);
    CHECK(log_count(0, "rtws::connection", "closed by the host with code 1000", (char *)NULL) == 2);
    CHECK(log_count(0, "rtws::connection", "closed by the server with code 4000", (char *)NULL) == 1);
    CHECK(log_count(RtwsLogLevel_Warn, "rtws::connect", "connect failed", (char *)NULL) == 3);
    CHECK(log_count(0, "rtws::connect", "connecting to ws://127.0.0.1:", "/auth", (char *)NULL) == 3);
    /* ...and no secret, anywhere. */
    char b64_right[128], b64_wrong[128];
    b64("alice:" PW_SECRET, b64_right);
    b64("alice:" WRONG_SECRET, b64_wrong);
    const char *secrets[] = {PW_SECRET,     WRONG_SECRET,  HDR_SECRET,       COOKIE_SECRET,
                             QUERY_SECRET,  REASON_SECRET, SRVREASON_SECRET, PAYLOAD_SECRET,
                             b64_right,     b64_wrong,     "token=",         "pass=",
                             NULL};
    int leaks = 0;
    pthread_mutex_lock(&g_log_lock);
    CHECK(g_nlog > 20);
    for (int i = 0; i < g_nlog; i++)
        for (int s = 0; secrets[s]; s++)
            if (strstr(g_log[i].message, secrets[s]) || strstr(g_log[i].target, secrets[s])) {
                fprintf(stderr, "  a secret (%s) in the log: %s: %s\n", secrets[s],
                        g_log[i].target, g_log[i].message);
                leaks++;
            }
    pthread_mutex_unlock(&g_log_lock);
    CHECK(leaks == 0);
    if (tu_failures != before || getenv("RTWS_TEST_DUMP_LOG"))
        log_dump();
    log_clear();
}

/* ---- A log handler that calls rtws ---------------------------------------------------------- */

typedef struct {
    log_ctx base; /* first: the context record() checks */
    int calls;
    int created, failures_seen;
    MessageWebSocket *ws;           /* the socket whose slow-handler warning it acts on */
    EventRegistrationToken closed;  /* ... by removing this registration of it */
    HRESULT remove_hr, run_hr;
    DispatcherQueue *q;             /* a queue it tries to run from inside the handler */
} reentrant_ctx;

/* A host work item that counts its runs. */
static int item_ran;
static void count_item(void *context)
{
    (*(int *)context)++;
}

static void on_log_reentrant(void *context, RtwsLogLevel level, const char *target,
                             const char *message)
{
    reentrant_ctx *c = (reentrant_ctx *)context;
    log_enter();
    record(context, level, target, message);
    pthread_mutex_lock(&g_log_lock);
    int n = ++c->calls;
    pthread_mutex_unlock(&g_log_lock);
    if (n <= 300) {
        /* Anything: make and drop a socket, fail a call and read its message, set the log
         * handler and the threshold again. */
        MessageWebSocket *ws = NULL;
        if (RTWS_SUCCEEDED(MessageWebSocket_Create(&ws)) && ws) {
            MessageWebSocket_SetRequestHeader(ws, "X-Test", "1");
            MessageWebSocket_Release(ws);
            __atomic_add_fetch(&c->created, 1, __ATOMIC_RELAXED);
        }
        if (DispatcherQueue_RunPending(NULL, 1, 1, NULL) == E_POINTER &&
            strlen(rtws_GetLastErrorMessage()) > 0)
            __atomic_add_fetch(&c->failures_seen, 1, __ATOMIC_RELAXED);
        rtws_SetLogHandler(on_log_reentrant, c, c->base.level);
        rtws_SetSlowHandlerThreshold(20);
    }
    if (strcmp(target, "rtws::handlers") == 0) {
        /* Logged while the slow handler's socket dispatches: remove one of its handlers. */
        if (c->ws) {
            c->remove_hr = MessageWebSocket_remove_Closed(c->ws, c->closed);
            MessageWebSocket_AddRef(c->ws);
            MessageWebSocket_Release(c->ws);
        }
        /* Inside the slow handler: no queue may be run here. */
        if (c->q) {
            uint32_t ran = 0;
            c->run_hr = DispatcherQueue_RunPending(c->q, 10, 10, &ran);
        }
    }
    log_leave();
}

/* A MessageReceived handler that sleeps past the threshold. */
static void slow_message(void *context, MessageWebSocket *sender,
                         MessageWebSocketMessageReceivedEventArgs *args)
{
    (void)sender;
    (void)args;
    tu_sleep_ms(60);
    tu_signal_bump((tu_signal *)context);
}

static void slow_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    (void)sender;
    (void)args;
    tu_signal_bump((tu_signal *)context);
}

static void test_log_handler_calls_rtws(void)
{
    static reentrant_ctx c;
    memset(&c, 0, sizeof c);
    log_clear();
    c.base.magic = LOG_MAGIC;
    c.base.level = RtwsLogLevel_Trace;
    c.remove_hr = c.run_hr = E_FAIL;
    CHECK_OK(rtws_SetSlowHandlerThreshold(20));
    CHECK_OK(rtws_SetLogHandler(on_log_reentrant, &c, RtwsLogLevel_Trace));

    /* Connect, echo, close; a refused connect. */
    scenario_echo("/reentrant", 1000);
    scenario_refused("/reentrant_refused");

    /* A slow handler, inline: the warning is logged inside the socket's dispatch; the log
     * handler removes the socket's Closed handler there (no deadlock, and it never runs). */
    MessageWebSocket *ws = NULL;
    tu_signal got, closed;
    tu_signal_init(&got);
    tu_signal_init(&closed);
    EventRegistrationToken mt;
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (ws) {
        CHECK_OK(MessageWebSocket_add_MessageReceived(ws, slow_message, &got, &mt));
        CHECK_OK(MessageWebSocket_add_Closed(ws, slow_closed, &closed, &c.closed));
        c.ws = ws;
        /* The warning is logged inside the slow handler: the log handler's RunPending of a
         * queue is refused there (no queue runs inside an rtws handler), and its item waits. */
        CHECK_OK(DispatcherQueue_Create(&c.q));
        item_ran = 0;
        bool queued = false;
        if (c.q)
            CHECK_OK(DispatcherQueue_TryEnqueue(c.q, count_item, &item_ran, &queued));
        CHECK_OK(tu_connect(ws, "/reentrant_slow"));
        CHECK_OK(tu_send_text(ws, "x"));
        CHECK(tu_signal_wait(&got, 1, 10000));
        CHECK(log_wait("a MessageReceived handler ran for", NULL, 10000));
        CHECK_OK(MessageWebSocket_Close(ws));
        tu_sleep_ms(quiet_ms);
        CHECK_OK(c.remove_hr);
        CHECK(tu_signal_get(&closed) == 0);
        CHECK_HR(c.run_hr, E_ILLEGAL_METHOD_CALL);
        CHECK(item_ran == 0);
        if (c.q) {
            uint32_t ran = 0;
            CHECK_OK(DispatcherQueue_RunPending(c.q, 10, RTWS_INFINITE, &ran));
            CHECK(ran == 1 && item_ran == 1);
            DispatcherQueue_Release(c.q);
            c.q = NULL;
        }
        c.ws = NULL;
        MessageWebSocket_Release(ws);
    }

    log_off();
    CHECK_OK(rtws_SetSlowHandlerThreshold(100));
    check_records_well_formed();
    pthread_mutex_lock(&g_log_lock);
    int depth = g_max_depth, n = g_nlog;
    pthread_mutex_unlock(&g_log_lock);
    CHECK(depth == 1); /* never called from inside itself */
    CHECK(n > 10);
    CHECK(c.created > 10);
    CHECK(c.failures_seen > 10);
    tu_signal_destroy(&got);
    tu_signal_destroy(&closed);
    log_clear();
}

/* ---- Slow handlers ------------------------------------------------------------------------ */

typedef struct {
    int sleep_ms;
    tu_signal done;
    tu_signal *gate; /* if not NULL: sleeps only once this was bumped */
} sleeper;

static void sleepy_message(void *context, MessageWebSocket *sender,
                           MessageWebSocketMessageReceivedEventArgs *args)
{
    sleeper *s = (sleeper *)context;
    (void)sender;
    (void)args;
    if (s->sleep_ms && (!s->gate || tu_signal_get(s->gate) > 0))
        tu_sleep_ms(s->sleep_ms);
    tu_signal_bump(&s->done);
}

static void sleepy_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    sleeper *s = (sleeper *)context;
    (void)sender;
    (void)args;
    if (s->sleep_ms)
        tu_sleep_ms(s->sleep_ms);
    tu_signal_bump(&s->done);
}


static void sleepy_connected(void *context, IAsyncAction *op, AsyncStatus status)
{
    sleeper *s = (sleeper *)context;
    (void)op;
    (void)status;
    if (s->sleep_ms)
        tu_sleep_ms(s->sleep_ms);
    tu_signal_bump(&s->done);
}

/* One socket: its MessageReceived and Closed handlers sleep `msg_ms` / `closed_ms`; the
 * ConnectAsync Completed (set before the connect can finish, so it runs where the connect
 * finishes: an I/O thread, or the queue) sleeps `completed_ms` (first: before that, messages
 * do not sleep); two messages echoed; closed.
 * Runs on `q` if not NULL. */
static void slow_socket(const char *path, DispatcherQueue *q, int completed_ms, int msg_ms,
                        int closed_ms)
{
    MessageWebSocket *ws = NULL;
    sleeper m, cl, co;
    EventRegistrationToken t1, t2;
    m.sleep_ms = msg_ms;
    cl.sleep_ms = closed_ms;
    co.sleep_ms = completed_ms;
    /* A slow Completed comes first: the messages are slow only once it returned (the first
     * echo may otherwise race it, on an I/O thread while it runs on this one). */
    m.gate = completed_ms ? &co.done : NULL;
    cl.gate = co.gate = NULL;
    tu_signal_init(&m.done);
    tu_signal_init(&cl.done);
    tu_signal_init(&co.done);
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (!ws)
        return;
    if (q)
        CHECK_OK(MessageWebSocket_put_DispatcherQueue(ws, q));
    CHECK_OK(MessageWebSocket_add_MessageReceived(ws, sleepy_message, &m, &t1));
    CHECK_OK(MessageWebSocket_add_Closed(ws, sleepy_closed, &cl, &t2));
    IAsyncAction *op = NULL;
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url(path), &op));
    if (op) {
        CHECK_OK(IAsyncAction_put_Completed(op, sleepy_connected, &co));
        IAsyncAction_Release(op);
    }
    double deadline = tu_now_ms() + 10000;
    uint32_t ran = 0;
    while (tu_signal_get(&co.done) == 0 && tu_now_ms() < deadline) {
        if (q)
            DispatcherQueue_RunPending(q, 10, 100, &ran);
        tu_sleep_ms(5);
    }
    IAsyncOperationUInt32 *sop = NULL;
    CHECK_OK(tu_store_nowait(ws, "a", 1, &sop));
    if (sop)
        IAsyncOperationUInt32_Release(sop);
    IAsyncOperationUInt32 *sop2 = NULL;
    CHECK_OK(tu_store_nowait(ws, "b", 1, &sop2));
    if (sop2)
        IAsyncOperationUInt32_Release(sop2);
    while (tu_signal_get(&m.done) < 2 && tu_now_ms() < deadline) {
        if (q)
            DispatcherQueue_RunPending(q, 10, 100, &ran);
        tu_sleep_ms(5);
    }
    CHECK_OK(MessageWebSocket_Close(ws));
    while (tu_signal_get(&cl.done) < 1 && tu_now_ms() < deadline) {
        if (q)
            DispatcherQueue_RunPending(q, 10, 100, &ran);
        tu_sleep_ms(5);
    }
    CHECK(tu_signal_get(&co.done) == 1);
    CHECK(tu_signal_get(&m.done) == 2);
    CHECK(tu_signal_get(&cl.done) == 1);
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&m.done);
    tu_signal_destroy(&cl.done);
    tu_signal_destroy(&co.done);
}

/* A handler (event or Completed) running past the threshold is a warning naming its socket and
 * its event, once per socket; none under the threshold, none with the threshold 0. */
static void test_slow_handler_warning(void)
{
    static log_ctx ctx;
    int before = tu_failures;
    log_clear();
    log_to(on_log, &ctx, RtwsLogLevel_Info);
    CHECK_OK(rtws_SetSlowHandlerThreshold(20));
    /* A: slow MessageReceived (twice), then a slow Closed: one warning, MessageReceived. */
    slow_socket("/slow_a", NULL, 0, 60, 60);
    /* B: a slow Completed first, then slow MessageReceived: one warning, Completed. */
    slow_socket("/slow_b", NULL, 60, 60, 0);
    /* C: on a DispatcherQueue: none (its handlers run on the host's own thread, where
     * blocking holds up no I/O thread). */
    DispatcherQueue *q = NULL;
    CHECK_OK(DispatcherQueue_Create(&q));
    if (q) {
        slow_socket("/slow_c", q, 0, 60, 60);
        DispatcherQueue_Release(q);
    }
    /* D: threshold 0: never. */
    CHECK_OK(rtws_SetSlowHandlerThreshold(0));
    slow_socket("/slow_d", NULL, 60, 60, 60);
    /* E: the default (100 ms): handlers of 10 ms are fine. */
    CHECK_OK(rtws_SetSlowHandlerThreshold(100));
    slow_socket("/slow_e", NULL, 10, 10, 10);
    log_off();
    check_records_well_formed();

    long long a = socket_of("/slow_a"), b = socket_of("/slow_b"), c = socket_of("/slow_c"),
              d = socket_of("/slow_d"), e = socket_of("/slow_e");
    CHECK(a > 0 && b > 0 && c > 0 && d > 0 && e > 0);
    CHECK(log_count_socket(a, "rtws::handlers", NULL) == 1);
    CHECK(log_count_socket(a, "rtws::handlers", "a MessageReceived handler ran for") == 1);
    CHECK(log_count_socket(b, "rtws::handlers", NULL) == 1);
    CHECK(log_count_socket(b, "rtws::handlers", "a Completed handler ran for") == 1);
    CHECK(log_count_socket(c, "rtws::handlers", NULL) == 0);
    CHECK(log_count_socket(d, "rtws::handlers", NULL) == 0);
    CHECK(log_count_socket(e, "rtws::handlers", NULL) == 0);
    CHECK(log_count(RtwsLogLevel_Warn, "rtws::handlers", (char *)NULL) == 2);
    CHECK(log_count(0, "rtws::handlers", (char *)NULL) == 2);
    if (tu_failures != before)
        log_dump();

    /* Bad input: over one day. */
    CHECK_HR(rtws_SetSlowHandlerThreshold(86400001), E_INVALIDARG);
    CHECK_HR(rtws_SetSlowHandlerThreshold(0xFFFFFFFFu), E_INVALIDARG);
    CHECK_OK(rtws_SetSlowHandlerThreshold(86400000));
    CHECK_OK(rtws_SetSlowHandlerThreshold(100));
    log_clear();
}

/* ---- A DispatcherQueue's backpressure ------------------------------------------------------ */

static void count_message(void *context, MessageWebSocket *sender,
                          MessageWebSocketMessageReceivedEventArgs *args)
{
    (void)sender;
    (void)args;
    (*(int *)context)++;
}

/* A bound socket whose host stops draining while the server floods: "reading paused" (Info),
 * then once drained "reading again" (Debug), naming the socket. */
/* Under valgrind or ASan (everything ~20x slower): fewer messages, more time. */
static int under_checker;

static void host_item(void *context)
{
    (void)context;
}

static void test_log_backpressure(void)
{
    /* Over the 1,000-event backlog, so that reading pauses. */
    const int count = under_checker ? 1200 : 3000;
    char path[64];
    snprintf(path, sizeof path, "/flood?count=%d&size=1024", count);
    static log_ctx ctx;
    DispatcherQueue *q = NULL;
    MessageWebSocket *ws = NULL;
    int msgs = 0;
    log_clear();
    log_to(on_log, &ctx, RtwsLogLevel_Debug);
    CHECK_OK(DispatcherQueue_Create(&q));
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (q && ws) {
        EventRegistrationToken t;
        IAsyncAction *op = NULL;
        uint32_t ran = 0;
        CHECK_OK(MessageWebSocket_put_DispatcherQueue(ws, q));
        CHECK_OK(MessageWebSocket_add_MessageReceived(ws, count_message, &msgs, &t));
        CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url(path), &op));
        if (op) {
            CHECK_OK(IAsyncAction_Wait(op, 10000));
            IAsyncAction_Release(op);
        }
        /* The host runs only items of its own, one per RunPending, each queued before
         * RunPending reads the socket (a ws: socket bound to a queue is read there; rtws's
         * threads read others): the messages pile up past the bound. */
        double until = tu_now_ms() + 10000;
        while (!log_wait("reading paused", NULL, 20) && tu_now_ms() < until) {
            struct pollfd p = {0, POLLIN, 0};
            bool queued = false;
            CHECK_OK(DispatcherQueue_get_FileDescriptor(q, &p.fd));
            poll(&p, 1, 100);
            CHECK_OK(DispatcherQueue_TryEnqueue(q, host_item, NULL, &queued));
            CHECK_OK(DispatcherQueue_RunPending(q, 1, 100, &ran));
        }
        CHECK(log_wait("reading paused", NULL, 0));
        long long id = socket_of("/flood");
        CHECK(id > 0);
        /* Each pause once (a message run at the bound resumes reading, which may pause again),
         * at info. */
        int paused = log_count(0, NULL, "reading paused", (const char *)NULL);
        CHECK(paused >= 1);
        CHECK(log_count_socket(id, "rtws::queue", "reading paused") == paused);
        CHECK(log_count(RtwsLogLevel_Info, "rtws::queue", "reading paused", (char *)NULL) == paused);
        CHECK(log_count_socket(id, "rtws::queue", "reading again") <= paused);
        double deadline = tu_now_ms() + (under_checker ? 40000 : 20000);
        while (msgs < count && tu_now_ms() < deadline) {
            struct pollfd p = {0, POLLIN, 0};
            CHECK_OK(DispatcherQueue_get_FileDescriptor(q, &p.fd));
            poll(&p, 1, 100);
            CHECK_OK(DispatcherQueue_RunPending(q, 1000, 100, &ran));
        }
        CHECK(msgs == count);
        CHECK(log_count_socket(id, "rtws::queue", "reading again") >= 1);
        CHECK(log_count(RtwsLogLevel_Debug, "rtws::queue", "reading again", (char *)NULL) >= 1);
    }
    if (ws)
        MessageWebSocket_Release(ws);
    if (q)
        DispatcherQueue_Release(q);
    log_off();
    check_records_well_formed();
    log_clear();
}

/* ---- RTWS_LOG: stderr when no handler --------------------------------------------------- */

/* Runs `scenario` with fd 2 going to a temporary file; returns what was written (malloc'd). */
static char *capture_stderr(void (*scenario)(void))
{
    char path[] = "/tmp/rtws_test_log_XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    char *text = NULL;
    if (fd < 0 || saved < 0) {
        CHECK(0);
        return NULL;
    }
    unlink(path);
    fflush(stderr);
    dup2(fd, 2);
    scenario();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    if (size >= 0 && (text = malloc((size_t)size + 1)) != NULL) {
        ssize_t got = pread(fd, text, (size_t)size, 0);
        text[got > 0 ? got : 0] = '\0';
    }
    close(fd);
    return text;
}

static void stderr_info_scenario(void)
{
    setenv("RTWS_LOG", "info", 1);
    CHECK_OK(rtws_SetLogHandler(NULL, NULL, RtwsLogLevel_Off)); /* back to RTWS_LOG */
    scenario_echo("/stderr_info", 1000);
}

static void stderr_bogus_scenario(void)
{
    setenv("RTWS_LOG", "loud", 1);
    CHECK_OK(rtws_SetLogHandler(NULL, NULL, RtwsLogLevel_Off));
    scenario_echo("/stderr_bogus", 1000);
}

static void stderr_with_handler_scenario(void)
{
    scenario_echo("/stderr_handler", 1000);
}

static void stderr_unset_scenario(void)
{
    unsetenv("RTWS_LOG");
    CHECK_OK(rtws_SetLogHandler(NULL, NULL, RtwsLogLevel_Off));
    scenario_echo("/stderr_unset", 1000);
}

static void test_log_env_stderr(void)
{
    /* A handler wins over RTWS_LOG. */
    static log_ctx ctx;
    int before = tu_failures;
    setenv("RTWS_LOG", "trace", 1);
    log_clear();
    log_to(on_log, &ctx, RtwsLogLevel_Info);
    char *text = capture_stderr(stderr_with_handler_scenario);
    CHECK(text != NULL);
    if (text) {
        CHECK(strstr(text, "rtws ") == NULL);
        free(text);
    }
    CHECK(socket_of("/stderr_handler") > 0);
    log_clear();

    text = capture_stderr(stderr_info_scenario);
    CHECK(text != NULL);
    if (text) {
        CHECK(strstr(text, "rtws Info rtws::connect: socket ") != NULL);
        CHECK(strstr(text, "connecting to ws://127.0.0.1:") != NULL);
        CHECK(strstr(text, "/stderr_info\n") != NULL);
        CHECK(strstr(text, "rtws Info rtws::connection: socket ") != NULL);
        CHECK(strstr(text, "closed by the host with code 1000") != NULL);
        CHECK(strstr(text, "rtws Debug") == NULL);
        CHECK(strstr(text, "rtws Trace") == NULL);
        free(text);
    }
    /* Not a level: said once, then nothing. */
    text = capture_stderr(stderr_bogus_scenario);
    CHECK(text != NULL);
    if (text) {
        CHECK(strstr(text, "RTWS_LOG=\"loud\" is not a level") != NULL);
        CHECK(strstr(text, "rtws Info") == NULL);
        free(text);
    }
    /* Unset: nothing. */
    text = capture_stderr(stderr_unset_scenario);
    CHECK(text != NULL);
    if (text) {
        CHECK(strstr(text, "rtws ") == NULL);
        free(text);
    }
    CHECK(g_nlog == 0); /* the handler was replaced by the default */
    if (tu_failures != before)
        fprintf(stderr, "  (checks inside the captured scenarios print nothing)\n");
}

/* ---- Bad input ---------------------------------------------------------------------------- */

/* A front end's own records (rtws_WriteLog) go where rtws's go, filtered by the same level. */
static void on_log_writes(void *context, RtwsLogLevel level, const char *target,
                          const char *message)
{
    on_log(context, level, target, message);
    /* Dropped: a handler's own writes would recurse. */
    rtws_WriteLog(RtwsLogLevel_Error, "test", "written inside the handler");
}

static void test_log_written_by_the_host(void)
{
    static log_ctx ctx;
    log_clear();
    log_to(on_log_writes, &ctx, RtwsLogLevel_Info);
    CHECK_OK(rtws_WriteLog(RtwsLogLevel_Warn, "rtws::cpp", "a handler threw: boom"));
    CHECK_OK(rtws_WriteLog(RtwsLogLevel_Info, NULL, "no target"));
    CHECK_OK(rtws_WriteLog(RtwsLogLevel_Debug, "myapp", "below the level"));
    CHECK_HR(rtws_WriteLog(RtwsLogLevel_Off, "myapp", "off"), E_INVALIDARG);
    CHECK_HR(rtws_WriteLog(42, "myapp", "bad level"), E_INVALIDARG);
    CHECK_HR(rtws_WriteLog(RtwsLogLevel_Warn, "myapp", NULL), E_POINTER);
    CHECK_HR(rtws_WriteLog(RtwsLogLevel_Warn, "myapp", "\xff not UTF-8"), E_INVALIDARG);
    log_off();
    CHECK(log_count(RtwsLogLevel_Warn, "rtws::cpp", "a handler threw: boom", (char *)NULL) == 1);
    CHECK(log_count(RtwsLogLevel_Info, "rtws::host", "no target", (char *)NULL) == 1);
    CHECK(log_count(0, "myapp", (char *)NULL) == 0);
    CHECK(log_count(0, "test", (char *)NULL) == 0);
    pthread_mutex_lock(&g_log_lock);
    CHECK(g_nlog == 2);
    pthread_mutex_unlock(&g_log_lock);
    /* With nobody listening, a write is accepted and goes nowhere. */
    CHECK_OK(rtws_WriteLog(RtwsLogLevel_Error, "myapp", "unheard"));
    pthread_mutex_lock(&g_log_lock);
    CHECK(g_nlog == 2);
    pthread_mutex_unlock(&g_log_lock);
    log_clear();
}

static void test_log_bad_input(void)
{
    static log_ctx ctx;
    log_clear();
    log_to(on_log, &ctx, RtwsLogLevel_Info);
    CHECK_HR(rtws_SetLogHandler(on_log, &ctx, 6), E_INVALIDARG);
    CHECK(strstr(rtws_GetLastErrorMessage(), "RtwsLogLevel") != NULL);
    CHECK_HR(rtws_SetLogHandler(on_log, &ctx, -1), E_INVALIDARG);
    CHECK_HR(rtws_SetLogHandler(on_log, &ctx, 0x7FFFFFFF), E_INVALIDARG);
    CHECK_HR(rtws_SetLogHandler(NULL, NULL, 99), E_INVALIDARG);
    /* The refused calls changed nothing: the handler still gets Info records. */
    scenario_echo("/bad_input", 1000);
    CHECK(socket_of("/bad_input") > 0);
    log_off();
    check_records_well_formed();
    /* Off with a handler: it is never called. */
    log_clear();
    log_to(on_log, &ctx, RtwsLogLevel_Off);
    scenario_echo("/bad_input_off", 1000);
    scenario_refused("/bad_input_off_refused");
    log_off();
    CHECK(g_nlog == 0);
    log_clear();
}

static const tu_test tests[] = {
    TU_TEST(test_log_levels),
    TU_TEST(test_log_closes_and_failures),
    TU_TEST(test_log_no_secrets),
    TU_TEST(test_log_handler_calls_rtws),
    TU_TEST(test_slow_handler_warning),
    TU_TEST(test_log_backpressure),
    TU_TEST(test_log_env_stderr),
    TU_TEST(test_log_written_by_the_host),
    TU_TEST(test_log_bad_input),
    TU_END,
};

int main(int argc, char **argv)
{
    const char *preload = getenv("LD_PRELOAD");
    tu_init(argc, argv);
    under_checker = preload && (strstr(preload, "vgpreload") || strstr(preload, "asan"));
    if (under_checker)
        quiet_ms = 500;
    tu_run(tests, argc - 2, argv + 2);
    log_off();
    log_clear();
    return tu_finish();
}
