/*
 * bench_rtws: the rtws side of the benchmark (bench/README.md), through the C API only.
 *
 *   bench_rtws URL latency N             32 B round trips, one in flight, after a warm-up
 *   bench_rtws URL pipelined N INFLIGHT  64 B messages, up to INFLIGHT in flight, msgs/s
 *   bench_rtws URL bulk N SIZE           N messages of SIZE bytes, one round trip at a
 *                                        time: MB/s of (sent + received) bytes, peak RSS
 *   bench_rtws URL connections N         N connections opened at once: connections/s,
 *                                        then RSS per open (idle) connection, then all closed
 *   options: --max-secs S (default 60)   each measured loop stops at N or after S seconds,
 *                                        whichever comes first, and reports what it did
 *            --only VARIANT              run one variant only (for profiling)
 *            --smaps                     connections: also print the RSS growth by kind
 *                                        of mapping (heap, anonymous, stack, files)
 *            --exit-open                 connections: _exit right after the measurement,
 *                                        all connections open (for heaptrack/valgrind:
 *                                        what they hold is then reported as leaked)
 *
 * URL is ws://127.0.0.1:PORT/echo. Variants, run one after the other on one connection:
 *   latency:   handler          the next message is sent from inside MessageReceived
 *              blocking         the main thread sends (StoreAsync + Wait) and blocks on a
 *                               condvar that MessageReceived signals
 *              blocking_nowait  the same without waiting for the store to complete
 *   pipelined: handler          MessageReceived sends one message per echo
 *              hbatch           MessageReceived refills the window once half of it drained
 *              burst            MessageReceived only counts; the main thread refills the
 *                               window once half of it drained
 *
 * Output: one line per result,
 *   RESULT client=rtws threads=T mode=M metric=NAME value=V n=COUNT
 * where T is $RTWS_WORKER_THREADS (or "default"). Exit status 0 only if every loop did all
 * N iterations without an error. A watchdog (alarm) ends the process if something hangs.
 *
 * connections: after one connect/close (so that the library's threads exist), VmRSS is
 * read; N sockets are created, every ConnectAsync is issued, then each is Waited for
 * (connections/s = N / time from the first ConnectAsync to the last Wait returning);
 * with all N open and idle, (VmRSS - the first reading) / N is the KiB per connection.
 * Then every socket is Closed, the Closed events are awaited (bounded) and all Released.
 *
 * How rtws is used (the fastest honest way found):
 * - one DataWriter attached to the socket's OutputStream for every send;
 * - each send is WriteBytes + StoreAsync with the operation released at once (sends
 *   go out in call order), except in "blocking", which Waits as a simple host would;
 * - every received message is read out with GetDataReader + ReadBytes inside the
 *   MessageReceived handler (a real host needs its bytes);
 * - Wait is never called inside a handler (rtws refuses it there).
 */
#define _GNU_SOURCE
#include <rtws.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum mode {
    M_IDLE,
    M_LAT_HANDLER,  /* handler sends the next message */
    M_LAT_NOTIFY,   /* handler only signals the main thread */
    M_PIPELINED,    /* handler sends one message per echo */
    M_PIPE_BURST,   /* handler counts; main thread refills the window in bursts */
    M_BULK,
};

struct bench {
    MessageWebSocket *ws;
    DataWriter *writer;
    pthread_mutex_t writer_lock; /* pipelined: main and handler share the writer */

    pthread_mutex_t lock;
    pthread_cond_t cond;
    int got;  /* M_LAT_NOTIFY: an echo arrived */
    int done; /* the handler-driven loop is over */
    HRESULT error;

    volatile enum mode mode;
    int64_t deadline_ns;

    /* What to send and where to read into. */
    uint8_t *payload;
    uint32_t size;
    uint8_t *rbuf;
    uint32_t rbuf_size;

    /* Latency. */
    int64_t t_send;
    long received; /* echoes seen in this loop */
    long warmup, target;
    double *samples; /* µs */

    /* Pipelined / bulk. */
    long sent;
    long inflight;
    long batch;
    uint64_t bytes_received;
};

static const char *threads_label = "default";
static int failures;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fail(const char *what, HRESULT hr)
{
    fprintf(stderr, "bench_rtws: %s failed: 0x%08X: %s\n", what, (unsigned)hr,
            rtws_GetLastErrorMessage());
    failures++;
}

static void result(const char *mode, const char *metric, double value, long n)
{
    printf("RESULT client=rtws threads=%s mode=%s metric=%s value=%.3f n=%ld\n", threads_label,
           mode, metric, value, n);
    fflush(stdout);
}

/* ---- handler side ------------------------------------------------------------------ */

static void finish(struct bench *b, HRESULT hr)
{
    pthread_mutex_lock(&b->lock);
    if (RTWS_FAILED(hr) && b->error == S_OK)
        b->error = hr;
    b->done = 1;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

/* WriteBytes + StoreAsync; the operation is released unwaited (sends go out in order). */
static HRESULT send_payload(struct bench *b)
{
    IAsyncOperationUInt32 *op = NULL;
    HRESULT hr = DataWriter_WriteBytes(b->writer, b->size, b->payload);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(b->writer, &op);
    if (op)
        IAsyncOperationUInt32_Release(op);
    return hr;
}

static void on_message(void *context, MessageWebSocket *sender,
                       MessageWebSocketMessageReceivedEventArgs *args)
{
    struct bench *b = context;
    (void)sender;
    DataReader *reader = NULL;
    HRESULT hr = MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &reader);
    if (RTWS_FAILED(hr)) {
        fprintf(stderr, "bench_rtws: MessageReceived reports 0x%08X: %s\n", (unsigned)hr,
                rtws_GetLastErrorMessage());
        finish(b, hr);
        return;
    }
    uint32_t len = 0;
    DataReader_get_UnconsumedBufferLength(reader, &len);
    if (len > b->rbuf_size) {
        DataReader_Release(reader);
        fprintf(stderr, "bench_rtws: unexpected message of %u bytes\n", len);
        finish(b, E_UNEXPECTED);
        return;
    }
    hr = DataReader_ReadBytes(reader, len, b->rbuf);
    DataReader_Release(reader);
    if (RTWS_FAILED(hr)) {
        finish(b, hr);
        return;
    }
    int64_t t = now_ns();

    switch (b->mode) {
    case M_LAT_HANDLER: {
        long i = b->received++;
        if (i >= b->warmup)
            b->samples[i - b->warmup] = (double)(t - b->t_send) / 1000.0;
        if (b->received >= b->warmup + b->target || t >= b->deadline_ns) {
            finish(b, S_OK);
            return;
        }
        b->t_send = now_ns();
        hr = send_payload(b);
        if (RTWS_FAILED(hr)) {
            fail("StoreAsync (handler)", hr);
            finish(b, hr);
        }
        return;
    }
    case M_LAT_NOTIFY:
        pthread_mutex_lock(&b->lock);
        b->got = 1;
        pthread_cond_signal(&b->cond);
        pthread_mutex_unlock(&b->lock);
        return;
    case M_PIPELINED: {
        b->received++;
        b->bytes_received += len;
        if (b->received >= b->target || t >= b->deadline_ns) {
            finish(b, S_OK);
            return;
        }
        /* Refill the window once `batch` slots are free (batch 1: one send per echo). */
        pthread_mutex_lock(&b->writer_lock);
        if (b->sent - b->received <= b->inflight - b->batch) {
            while (b->sent < b->target && b->sent - b->received < b->inflight &&
                   RTWS_SUCCEEDED(hr)) {
                b->sent++;
                hr = send_payload(b);
            }
        }
        pthread_mutex_unlock(&b->writer_lock);
        if (RTWS_FAILED(hr)) {
            fail("StoreAsync (pipelined)", hr);
            finish(b, hr);
        }
        return;
    }
    case M_PIPE_BURST: {
        pthread_mutex_lock(&b->lock);
        b->received++;
        b->bytes_received += len;
        if (b->received >= b->target || t >= b->deadline_ns)
            b->done = 1;
        /* Wake the sender once half the window has drained (or at the end). */
        if (b->done || b->sent - b->received == b->inflight / 2)
            pthread_cond_signal(&b->cond);
        pthread_mutex_unlock(&b->lock);
        return;
    }
    case M_BULK:
        if (len != b->size) {
            fprintf(stderr, "bench_rtws: echo of %u bytes, sent %u\n", len, b->size);
            finish(b, E_UNEXPECTED);
            return;
        }
        b->received++;
        b->bytes_received += len;
        if (b->received >= b->target || t >= b->deadline_ns) {
            finish(b, S_OK);
            return;
        }
        b->sent++;
        hr = send_payload(b);
        if (RTWS_FAILED(hr)) {
            fail("StoreAsync (bulk)", hr);
            finish(b, hr);
        }
        return;
    case M_IDLE:
        return;
    }
}

/* ---- main-thread helpers -------------------------------------------------------------- */

static void abs_deadline(struct timespec *ts, int64_t ns)
{
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
}

/* Waits for the handler-driven loop to end, at most until `limit_ns` (CLOCK_MONOTONIC). */
static int wait_done(struct bench *b, int64_t limit_ns)
{
    struct timespec ts;
    abs_deadline(&ts, limit_ns);
    pthread_mutex_lock(&b->lock);
    while (!b->done) {
        if (pthread_cond_timedwait(&b->cond, &b->lock, &ts) == ETIMEDOUT)
            break;
    }
    int done = b->done;
    pthread_mutex_unlock(&b->lock);
    return done;
}

static void reset(struct bench *b, enum mode mode, long warmup, long target, int64_t deadline)
{
    pthread_mutex_lock(&b->lock);
    b->mode = mode;
    b->done = 0;
    b->got = 0;
    b->error = S_OK;
    b->received = 0;
    b->sent = 0;
    b->bytes_received = 0;
    b->warmup = warmup;
    b->target = target;
    b->deadline_ns = deadline;
    pthread_mutex_unlock(&b->lock);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles, as the raw client computes them. */
static void report_latency(const char *variant, double *s, long n)
{
    if (n <= 0) {
        fprintf(stderr, "bench_rtws: latency %s: no samples\n", variant);
        failures++;
        return;
    }
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += s[i];
    long i50 = (long)ceil(0.50 * n) - 1, i99 = (long)ceil(0.99 * n) - 1;
    char name[64];
    snprintf(name, sizeof name, "latency_%s_p50_us", variant);
    result("latency", name, s[i50 < 0 ? 0 : i50], n);
    snprintf(name, sizeof name, "latency_%s_p99_us", variant);
    result("latency", name, s[i99 < 0 ? 0 : i99], n);
    snprintf(name, sizeof name, "latency_%s_mean_us", variant);
    result("latency", name, sum / n, n);
}

/* ---- modes -------------------------------------------------------------------------- */

static double max_secs = 60;
static const char *only; /* --only VARIANT: run just that variant (profiling) */

static int want(const char *variant)
{
    return !only || strcmp(only, variant) == 0;
}

static void latency_handler(struct bench *b, long n, long warmup)
{
    int64_t start = now_ns();
    reset(b, M_LAT_HANDLER, warmup, n, start + (int64_t)(max_secs * 1e9));
    b->t_send = now_ns();
    HRESULT hr = send_payload(b);
    if (RTWS_FAILED(hr)) {
        fail("StoreAsync", hr);
        return;
    }
    if (!wait_done(b, start + (int64_t)((max_secs + 10) * 1e9))) {
        fprintf(stderr, "bench_rtws: latency handler: no progress (%ld echoes)\n", b->received);
        failures++;
        b->mode = M_IDLE;
        return;
    }
    b->mode = M_IDLE;
    long got = b->received - warmup;
    if (b->error != S_OK || got < n)
        failures++;
    report_latency("handler", b->samples, got > 0 ? got : 0);
}

/* The main thread sends (optionally Waiting on the store) and blocks on a condvar that
 * the handler signals. */
static void latency_blocking(struct bench *b, long n, long warmup, int wait_store)
{
    int64_t start = now_ns(), deadline = start + (int64_t)(max_secs * 1e9);
    reset(b, M_LAT_NOTIFY, 0, n, deadline);
    long done = 0;
    for (long i = 0; i < warmup + n; i++) {
        int64_t t0 = now_ns();
        if (t0 >= deadline)
            break;
        IAsyncOperationUInt32 *op = NULL;
        HRESULT hr = DataWriter_WriteBytes(b->writer, b->size, b->payload);
        if (RTWS_SUCCEEDED(hr))
            hr = DataWriter_StoreAsync(b->writer, &op);
        if (RTWS_SUCCEEDED(hr) && wait_store)
            hr = IAsyncOperationUInt32_Wait(op, 10000, NULL);
        if (op)
            IAsyncOperationUInt32_Release(op);
        if (RTWS_FAILED(hr)) {
            fail("StoreAsync/Wait", hr);
            break;
        }
        struct timespec ts;
        abs_deadline(&ts, now_ns() + 10 * (int64_t)1000000000);
        pthread_mutex_lock(&b->lock);
        while (!b->got && !b->done) {
            if (pthread_cond_timedwait(&b->cond, &b->lock, &ts) == ETIMEDOUT)
                break;
        }
        int got = b->got, dead = b->done;
        b->got = 0;
        pthread_mutex_unlock(&b->lock);
        if (!got || dead) {
            fprintf(stderr, "bench_rtws: latency blocking: no echo\n");
            failures++;
            break;
        }
        int64_t t1 = now_ns();
        if (i >= warmup)
            b->samples[done++] = (double)(t1 - t0) / 1000.0;
    }
    b->mode = M_IDLE;
    if (done < n)
        failures++;
    report_latency(wait_store ? "blocking" : "blocking_nowait", b->samples, done);
}

/* Handler-driven: the handler refills the window from inside MessageReceived, one
 * message per echo (batch 1) or `batch` messages back to back once that many slots
 * are free. */
static void pipelined(struct bench *b, long n, long inflight, long batch, const char *metric)
{
    int64_t start = now_ns();
    reset(b, M_PIPELINED, 0, n, start + (int64_t)(max_secs * 1e9));
    b->inflight = inflight;
    b->batch = batch;
    long first = inflight < n ? inflight : n;
    for (long i = 0; i < first; i++) {
        pthread_mutex_lock(&b->writer_lock);
        HRESULT hr = S_OK;
        if (b->sent < n) {
            b->sent++;
            hr = send_payload(b);
        }
        pthread_mutex_unlock(&b->writer_lock);
        if (RTWS_FAILED(hr)) {
            fail("StoreAsync", hr);
            return;
        }
    }
    int ok = wait_done(b, start + (int64_t)((max_secs + 10) * 1e9));
    int64_t end = now_ns();
    b->mode = M_IDLE;
    if (!ok || b->error != S_OK || b->received < n)
        failures++;
    double secs = (double)(end - start) / 1e9;
    result("pipelined", metric, (double)b->received / secs, b->received);
}

/* The main thread keeps the window full by sending in bursts: it sleeps until half of
 * INFLIGHT has drained, then stores the missing messages back to back, so the
 * connection sees many queued sends at once. */
static void pipelined_burst(struct bench *b, long n, long inflight)
{
    int64_t start = now_ns(), deadline = start + (int64_t)(max_secs * 1e9);
    reset(b, M_PIPE_BURST, 0, n, deadline);
    b->inflight = inflight;
    HRESULT hr = S_OK;
    struct timespec ts;
    abs_deadline(&ts, deadline + 10 * (int64_t)1000000000);
    for (;;) {
        pthread_mutex_lock(&b->lock);
        while (!b->done && b->sent < n && b->sent - b->received > inflight / 2) {
            if (pthread_cond_timedwait(&b->cond, &b->lock, &ts) == ETIMEDOUT)
                break;
        }
        long credit = inflight - (b->sent - b->received);
        if (credit > n - b->sent)
            credit = n - b->sent;
        int stop = b->done || b->sent >= n || now_ns() > deadline + 10 * (int64_t)1000000000;
        pthread_mutex_unlock(&b->lock);
        if (stop || credit <= 0)
            break;
        for (long i = 0; i < credit && RTWS_SUCCEEDED(hr); i++)
            hr = send_payload(b);
        if (RTWS_FAILED(hr)) {
            fail("StoreAsync (burst)", hr);
            break;
        }
        pthread_mutex_lock(&b->lock);
        b->sent += credit;
        pthread_mutex_unlock(&b->lock);
    }
    int ok = RTWS_SUCCEEDED(hr) && wait_done(b, deadline + 10 * (int64_t)1000000000);
    int64_t end = now_ns();
    b->mode = M_IDLE;
    if (!ok || b->error != S_OK || b->received < n)
        failures++;
    double secs = (double)(end - start) / 1e9;
    result("pipelined", "pipelined_burst_msgs_per_s", (double)b->received / secs, b->received);
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* KiB on Linux */
}

static void bulk(struct bench *b, long n)
{
    int64_t start = now_ns();
    reset(b, M_BULK, 0, n, start + (int64_t)(max_secs * 1e9));
    b->sent = 1;
    HRESULT hr = send_payload(b);
    if (RTWS_FAILED(hr)) {
        fail("StoreAsync", hr);
        return;
    }
    int ok = wait_done(b, start + (int64_t)((max_secs + 10) * 1e9));
    int64_t end = now_ns();
    b->mode = M_IDLE;
    if (!ok || b->error != S_OK || b->received < n)
        failures++;
    double secs = (double)(end - start) / 1e9;
    double bytes = (double)b->received * b->size + (double)b->bytes_received;
    result("bulk", "bulk_MB_per_s", bytes / secs / 1e6, b->received);
    result("bulk", "bulk_peak_rss_MiB", (double)peak_rss_kib() / 1024.0, b->received);
}

/* ---- connections ---------------------------------------------------------------------- */

/* Current resident set size (VmRSS) in KiB, 0 when unknown. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    long v = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            v = atol(line + 6);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Soft RLIMIT_NOFILE up to the hard limit: N sockets need more than the usual 1024. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "bench_rtws: setrlimit(RLIMIT_NOFILE): %s\n", strerror(errno));
    }
}

/* --smaps: where the resident memory is, by kind of mapping (KiB): [heap], anonymous
 * mappings (glibc's per-thread arenas, large mallocs, thread stacks), [stack], files. */
enum { SM_HEAP, SM_ANON, SM_STACK, SM_FILE, SM_KINDS };
static const char *const sm_names[SM_KINDS] = {"heap", "anon", "stack", "file"};
static int want_smaps;
static int exit_open; /* --exit-open: _exit with every connection open (heap profilers
                         then list what an open connection holds as "leaked") */

static void smaps_kib(long out[SM_KINDS], long *anon_maps)
{
    memset(out, 0, sizeof(long) * SM_KINDS);
    *anon_maps = 0;
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return;
    char line[512];
    int kind = SM_FILE;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ':') &&
            line[strspn(line, "0123456789abcdef")] == '-') {
            /* A mapping's header: "lo-hi perms offset dev inode [path]". */
            char path[256] = "";
            sscanf(line, "%*s %*s %*s %*s %*s %255s", path);
            kind = path[0] == '\0'                  ? SM_ANON
                   : strcmp(path, "[heap]") == 0   ? SM_HEAP
                   : strcmp(path, "[stack]") == 0  ? SM_STACK
                   : path[0] == '['                ? SM_ANON
                                                   : SM_FILE;
            if (kind == SM_ANON)
                (*anon_maps)++;
        } else if (strncmp(line, "Rss:", 4) == 0) {
            out[kind] += atol(line + 4);
        }
    }
    fclose(f);
}

struct closed_count {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long closed;
};

static void on_conn_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    struct closed_count *c = context;
    (void)sender;
    (void)args;
    pthread_mutex_lock(&c->lock);
    c->closed++;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static void on_conn_message(void *context, MessageWebSocket *sender,
                            MessageWebSocketMessageReceivedEventArgs *args)
{
    (void)context;
    (void)sender;
    (void)args; /* idle connections: nothing is expected */
}

/* Waits until `c->closed` reaches `want` or `limit_ns` passes; returns the count. */
static long wait_closed(struct closed_count *c, long want, int64_t limit_ns)
{
    struct timespec ts;
    abs_deadline(&ts, limit_ns);
    pthread_mutex_lock(&c->lock);
    while (c->closed < want) {
        if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT)
            break;
    }
    long got = c->closed;
    pthread_mutex_unlock(&c->lock);
    return got;
}

/* Creates a socket with both handlers and starts connecting it. */
static HRESULT conn_start(const char *url, struct closed_count *c, MessageWebSocket **ws,
                          IAsyncAction **op)
{
    EventRegistrationToken t1, t2;
    HRESULT hr = MessageWebSocket_Create(ws);
    if (RTWS_FAILED(hr))
        return hr;
    hr = MessageWebSocket_add_MessageReceived(*ws, on_conn_message, c, &t1);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_add_Closed(*ws, on_conn_closed, c, &t2);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_ConnectAsync(*ws, url, op);
    return hr;
}

/* Process CPU time (user, system) in ms: where the connects' cost goes. */
static void cpu_ms(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3;
    *sys = ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

static uint32_t ms_until(int64_t limit_ns)
{
    int64_t left = (limit_ns - now_ns()) / 1000000;
    return left > 0 ? (uint32_t)left : 0;
}

static int connections(const char *url, long n)
{
    raise_nofile();
    struct closed_count c;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c.cond, &ca);
    pthread_condattr_destroy(&ca);

    /* Warm-up: one connect/close starts the library's runtime and threads. */
    MessageWebSocket *w = NULL;
    IAsyncAction *op = NULL;
    HRESULT hr = conn_start(url, &c, &w, &op);
    if (RTWS_SUCCEEDED(hr))
        hr = IAsyncAction_Wait(op, 10000);
    if (op)
        IAsyncAction_Release(op);
    if (RTWS_FAILED(hr)) {
        fail("ConnectAsync (warm-up)", hr);
        if (w)
            MessageWebSocket_Release(w);
        return 1;
    }
    MessageWebSocket_Close(w);
    if (wait_closed(&c, 1, now_ns() + 10 * (int64_t)1000000000) < 1) {
        fprintf(stderr, "bench_rtws: connections: no Closed event for the warm-up socket\n");
        failures++;
    }
    MessageWebSocket_Release(w);
    pthread_mutex_lock(&c.lock);
    c.closed = 0;
    pthread_mutex_unlock(&c.lock);

    /* The host's own arrays, allocated and touched before the first reading. */
    MessageWebSocket **socks = calloc((size_t)n, sizeof *socks);
    IAsyncAction **ops = calloc((size_t)n, sizeof *ops);
    if (!socks || !ops) {
        fprintf(stderr, "bench_rtws: out of memory\n");
        return 1;
    }
    memset(socks, 0, (size_t)n * sizeof *socks);
    memset(ops, 0, (size_t)n * sizeof *ops);
    usleep(100000); /* let the warm-up's close settle */
    long sm_before[SM_KINDS], sm_open[SM_KINDS], maps_before, maps_open;
    if (want_smaps)
        smaps_kib(sm_before, &maps_before);
    long rss_before = rss_kib();

    double u0, s0, u1, s1;
    cpu_ms(&u0, &s0);
    int64_t start = now_ns();
    int64_t limit = start + (int64_t)(max_secs * 1e9);
    long started = 0;
    for (long i = 0; i < n; i++) {
        hr = conn_start(url, &c, &socks[i], &ops[i]);
        if (RTWS_FAILED(hr)) {
            fail("ConnectAsync", hr);
            if (ops[i])
                IAsyncAction_Release(ops[i]);
            if (socks[i])
                MessageWebSocket_Release(socks[i]);
            break;
        }
        started++;
        if (now_ns() >= limit)
            break;
    }
    int64_t issued = now_ns();
    long opened = 0;
    for (long i = 0; i < started; i++) {
        hr = IAsyncAction_Wait(ops[i], ms_until(limit + 10 * (int64_t)1000000000));
        if (RTWS_SUCCEEDED(hr))
            opened++;
        else if (opened + 5 > i) /* report the first few */
            fail("ConnectAsync (Wait)", hr);
        else
            failures++;
    }
    int64_t end = now_ns();
    cpu_ms(&u1, &s1);
    for (long i = 0; i < started; i++) {
        IAsyncAction_Release(ops[i]);
        ops[i] = NULL;
    }
    usleep(100000); /* idle */
    long rss_open = rss_kib();
    if (want_smaps) {
        smaps_kib(sm_open, &maps_open);
        fprintf(stderr, "bench_rtws: connections: RSS growth by mapping (KiB per connection):");
        for (int k = 0; k < SM_KINDS; k++)
            fprintf(stderr, " %s %.2f", sm_names[k],
                    opened ? (double)(sm_open[k] - sm_before[k]) / (double)opened : 0.0);
        fprintf(stderr, "; anonymous mappings %ld -> %ld\n", maps_before, maps_open);
    }
    double secs = (double)(end - start) / 1e9;
    result("connections", "connections_per_s", (double)opened / secs, opened);
    result("connections", "connection_rss_KiB",
           opened > 0 ? (double)(rss_open - rss_before) / (double)opened : 0.0, opened);
    if (exit_open) {
        fflush(stdout);
        fflush(stderr);
        _exit(failures ? 1 : 0);
    }

    /* Close all, wait for their Closed events (bounded), release. */
    int64_t t_close = now_ns();
    for (long i = 0; i < started; i++)
        MessageWebSocket_Close(socks[i]);
    long closed = wait_closed(&c, opened, now_ns() + (int64_t)((max_secs + 10) * 1e9));
    int64_t t_closed = now_ns();
    if (closed < opened) {
        fprintf(stderr, "bench_rtws: connections: %ld of %ld Closed events\n", closed, opened);
        failures++;
    }
    for (long i = 0; i < started; i++)
        MessageWebSocket_Release(socks[i]);
    long rss_after = rss_kib();
    fprintf(stderr,
            "bench_rtws: connections: %ld opened of %ld in %.1f ms (every ConnectAsync issued "
            "after %.1f ms; CPU user %.1f ms, sys %.1f ms); VmRSS %ld KiB before, %ld KiB open, "
            "%ld KiB after closing (%ld closed in %.1f ms)\n",
            opened, n, secs * 1e3, (double)(issued - start) / 1e6, u1 - u0, s1 - s0, rss_before,
            rss_open, rss_after, closed,
            (double)(t_closed - t_close) / 1e6);
    if (opened < n)
        failures++;
    free(socks);
    free(ops);
    rtws_Shutdown(2000);
    return failures ? 1 : 0;
}

/* ---- setup -------------------------------------------------------------------------- */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "bench_rtws: watchdog: time limit exceeded, exiting\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s ws://127.0.0.1:PORT/echo latency N [--max-secs S]\n"
            "       %s URL pipelined N INFLIGHT [--max-secs S]\n"
            "       %s URL bulk N SIZE [--max-secs S]\n"
            "       %s URL connections N [--max-secs S] [--smaps] [--exit-open]\n",
            argv0, argv0, argv0, argv0);
    return 2;
}

int main(int argc, char **argv)
{
    /* Strip the --max-secs option wherever it is. */
    int nargs = 0;
    char *args[8];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--smaps") == 0) {
            want_smaps = 1;
        } else if (strcmp(argv[i], "--exit-open") == 0) {
            exit_open = 1;
        } else if (strcmp(argv[i], "--max-secs") == 0 && i + 1 < argc) {
            max_secs = atof(argv[++i]);
            if (!(max_secs > 0))
                return usage(argv[0]);
        } else if (nargs < 8) {
            args[nargs++] = argv[i];
        } else {
            return usage(argv[0]);
        }
    }
    if (nargs < 3)
        return usage(argv[0]);
    const char *url = args[0], *mode = args[1];
    long n = atol(args[2]);
    long extra = nargs > 3 ? atol(args[3]) : 0;
    int conn_mode = strcmp(mode, "connections") == 0;
    if (n <= 0 || (strcmp(mode, "latency") != 0 && !conn_mode && extra <= 0))
        return usage(argv[0]);
    if (strcmp(mode, "bulk") == 0 && (extra > 0x7fffffffL))
        return usage(argv[0]);

    signal(SIGALRM, on_alarm);
    /* Each measured loop stops itself at max_secs; this only catches a hang. */
    alarm((unsigned)((max_secs + 15) * 3));

    const char *t = getenv("RTWS_WORKER_THREADS");
    if (t && *t)
        threads_label = t;

    if (conn_mode)
        return connections(url, n);

    struct bench b;
    memset(&b, 0, sizeof b);
    pthread_mutex_init(&b.writer_lock, NULL);
    pthread_mutex_init(&b.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b.cond, &ca);
    pthread_condattr_destroy(&ca);
    b.mode = M_IDLE;

    b.size = strcmp(mode, "latency") == 0 ? 32 : strcmp(mode, "pipelined") == 0 ? 64
                                                                                 : (uint32_t)extra;
    if (strcmp(mode, "latency") && strcmp(mode, "pipelined") && strcmp(mode, "bulk"))
        return usage(argv[0]);
    b.payload = malloc(b.size);
    b.rbuf_size = b.size;
    b.rbuf = malloc(b.size);
    if (!b.payload || !b.rbuf) {
        fprintf(stderr, "bench_rtws: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < b.size; i++)
        b.payload[i] = (uint8_t)(i * 31 + 7);

    HRESULT hr = MessageWebSocket_Create(&b.ws);
    if (RTWS_FAILED(hr)) {
        fail("MessageWebSocket_Create", hr);
        return 1;
    }
    EventRegistrationToken token;
    MessageWebSocket_add_MessageReceived(b.ws, on_message, &b, &token);
    IAsyncAction *connect = NULL;
    hr = MessageWebSocket_ConnectAsync(b.ws, url, &connect);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncAction_Wait(connect, 10000);
        IAsyncAction_Release(connect);
    }
    if (RTWS_FAILED(hr)) {
        fail("ConnectAsync", hr);
        return 1;
    }
    IOutputStream *out = NULL;
    hr = MessageWebSocket_get_OutputStream(b.ws, &out);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_CreateDataWriter(out, &b.writer);
    if (out)
        IOutputStream_Release(out);
    if (RTWS_FAILED(hr)) {
        fail("CreateDataWriter", hr);
        return 1;
    }

    if (strcmp(mode, "latency") == 0) {
        long warmup = n / 10;
        if (warmup < 100)
            warmup = 100;
        if (warmup > 2000)
            warmup = 2000;
        b.samples = calloc((size_t)n, sizeof *b.samples);
        if (!b.samples)
            return 1;
        if (want("handler"))
            latency_handler(&b, n, warmup);
        if (want("blocking"))
            latency_blocking(&b, n, warmup, 1);
        if (want("blocking_nowait"))
            latency_blocking(&b, n, warmup, 0);
    } else if (strcmp(mode, "pipelined") == 0) {
        if (want("handler"))
            pipelined(&b, n, extra, 1, "pipelined_msgs_per_s");
        if (want("hbatch"))
            pipelined(&b, n, extra, extra / 2 > 0 ? extra / 2 : 1,
                      "pipelined_hbatch_msgs_per_s");
        if (want("burst"))
            pipelined_burst(&b, n, extra);
    } else {
        bulk(&b, n);
    }

    MessageWebSocket_remove_MessageReceived(b.ws, token);
    MessageWebSocket_CloseWithStatus(b.ws, 1000, NULL);
    IOutputStream *detached = NULL;
    if (RTWS_SUCCEEDED(DataWriter_DetachStream(b.writer, &detached)))
        IOutputStream_Release(detached);
    DataWriter_Release(b.writer);
    MessageWebSocket_Release(b.ws);
    rtws_Shutdown(2000);
    free(b.payload);
    free(b.rbuf);
    free(b.samples);
    return failures ? 1 : 0;
}
