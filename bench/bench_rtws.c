/*
 * bench_rtws: the rtws side of the benchmark (bench/README.md), through the C API only.
 *
 *   bench_rtws URL latency N             32 B round trips, one in flight, after a warm-up
 *   bench_rtws URL pipelined N INFLIGHT  64 B messages, up to INFLIGHT in flight, msgs/s
 *   bench_rtws URL bulk N SIZE           N messages of SIZE bytes, one round trip at a
 *                                        time: MB/s of (sent + received) bytes, peak RSS
 *   bench_rtws URL connections N         N connections opened at once: connections/s,
 *                                        then RSS per open (idle) connection, then all closed
 *   bench_rtws URL stream TOTAL CHUNK    a StreamWebSocket sends TOTAL bytes as CHUNK-byte
 *                                        messages while reading the echoes back: MB/s of
 *                                        (sent + received) bytes, peak RSS
 *   options: --max-secs S (default 60)   each measured loop stops at N or after S seconds,
 *                                        whichever comes first, and reports what it did
 *            --only VARIANT              run one variant only (for profiling)
 *            --no-queue                  latency, pipelined: leave the queue variants out
 *            --smaps                     connections: also print the RSS growth by kind
 *                                        of mapping (heap, anonymous, stack, files)
 *            --exit-open                 connections: _exit right after the measurement,
 *                                        all connections open (for heaptrack/valgrind:
 *                                        what they hold is then reported as leaked)
 *            --window W                  stream: chunks outstanding (sent, echo not yet
 *                                        back) at most (default 16, as the raw client)
 *            --writes K                  stream: WriteAsync operations in flight at most
 *                                        (default 2, at most W)
 *            --deflate                   offer permessage-deflate (RFC 7692, default
 *                                        parameters) on every MessageWebSocket; metric
 *                                        names get a "deflate_" prefix
 *            --size S                    pipelined: S-byte messages instead of 64
 *            --json                      latency, pipelined, bulk: the payload is JSON-like
 *                                        text sent as Utf8 (compresses ~10x) instead of
 *                                        the binary pattern; also reports the bytes its
 *                                        TCP sockets carried (TCP_INFO) per payload byte,
 *                                        and its CPU time per message
 *            --ca FILE                   wss: the PEM certificates in FILE are set as
 *                                        TrustedRootCertificates on the Control of every
 *                                        socket before its ConnectAsync (the test
 *                                        server's ca.pem)
 *
 * URL is ws://127.0.0.1:PORT/echo, or wss://127.0.0.1:PORT/echo for the same over TLS
 * (every metric name then gets a "wss_" prefix: wss_connections_per_s, ...).
 * Variants, run one after the other on one connection:
 *   latency:   handler          the next message is sent from inside MessageReceived
 *              blocking         the main thread sends (StoreAsync + Wait) and blocks on a
 *                               condvar that MessageReceived signals
 *              blocking_nowait  the same without waiting for the store to complete
 *   pipelined: handler          MessageReceived sends one message per echo
 *              hbatch           MessageReceived refills the window once half of it drained
 *              burst            MessageReceived only counts; the main thread refills the
 *                               window once half of it drained
 *   bulk:      partial          the payload is an IBuffer (made once) that
 *                               IOutputStream_WriteAsync sends without a copy; the echo
 *                               comes in PartialMessage pieces, each read into the
 *                               bench's buffer (what lws_client does)
 *              message          DataWriter_WriteBytes + StoreAsync; the echo comes
 *                               whole, read with DataReader_ReadBytes
 *   (each bulk variant in a process of its own: this program again, with --only)
 *   and, on a second connection bound to a DispatcherQueue that the main thread drains
 *   (poll() on its fd, then DispatcherQueue_RunPending), so that MessageReceived and its
 *   sends run on the main thread instead of an rtws I/O thread:
 *   latency:   queue            as handler
 *   pipelined: queue            as handler (one send per echo)
 *              queue_hbatch     as hbatch
 *   (--no-queue leaves them out, and the second connection unopened)
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
 * stream, two variants, each on a connection of its own, peak RSS counted from its start:
 * "handler" (first): no host thread waits. The main thread issues the first writes and
 * read; after that, each write's Completed handler issues the next write and each read's
 * the next read (what a C++/WinRT coroutine co_awaiting them does), one thread at a time
 * (writes go out in order), with the window, writes in flight and checks of "wait":
 * "wait": a sender thread writes chunk i (the payload with i mod 256 in its first byte)
 * with Buffer_CreateFromBytes + IOutputStream_WriteAsync (WriteAsync copies the bytes,
 * so the buffer is released at once), with at most W chunks outstanding (sent, echo not
 * yet back: the raw client's window) and at most K writes in flight: it Waits (bounded)
 * for write i-K before issuing write i. K = 2: one write being sent, the next one queued
 * behind it (the raw client's writer has one message in its sink at a time, and no
 * thread hop between a completed write and the next); every queued write holds a copy
 * of its chunk, so K costs memory. The main thread reads the InputStream with
 * ReadAsync(CHUNK, Partial) into one Buffer_Create(CHUNK) buffer, counts the bytes and
 * checks, with IBuffer_CopyTo of one byte, the index byte of every chunk start the read
 * covers (the stream carries no message boundaries; chunk i starts at byte i * CHUNK).
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

#include "procstat.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_acked/received */
#include <time.h>
#include <unistd.h>

enum mode {
    M_IDLE,
    M_LAT_HANDLER,  /* handler sends the next message */
    M_LAT_NOTIFY,   /* handler only signals the main thread */
    M_PIPELINED,    /* handler sends one message per echo */
    M_PIPE_BURST,   /* handler counts; main thread refills the window in bursts */
    M_BULK,
    M_BULK_PARTIAL, /* PartialMessage pieces read into rbuf; the payload sent as an IBuffer */
};

struct bench {
    MessageWebSocket *ws;
    DataWriter *writer;
    EventRegistrationToken token;
    DispatcherQueue *queue; /* bound to ws: the main thread runs its handlers (NULL: inline) */
    int queue_fd;
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
    /* --json: the payload is a window of `payload_len` bytes of records that moves on by
     * one message each send, so no two messages are the same (context takeover would
     * otherwise shrink every repeat to a few bytes). */
    uint32_t payload_len, cursor;
    uint32_t size;
    uint8_t *rbuf;
    uint32_t rbuf_size;
    /* Bulk "partial": the payload as an IBuffer, written to `out` without a copy; bytes of
     * the current echo read so far. */
    IOutputStream *out;
    IBuffer *pbuf;
    uint32_t piece_at;

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
static const char *metric_prefix = ""; /* "wss_" over TLS */
static char *ca_pem;                   /* --ca FILE: its text, or NULL */
static int offer_deflate;              /* --deflate */
static int json_payload;               /* --json */
static long piped_size = 64;           /* --size */
static char metric_prefix_buf[32];

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
    printf("RESULT client=rtws threads=%s mode=%s metric=%s%s value=%.3f n=%ld\n",
           threads_label, mode, metric_prefix, metric, value, n);
    fflush(stdout);
}

/* --ca: the extra trusted roots, --deflate: the offer, on a socket's Control before its
 * ConnectAsync. */
static HRESULT set_roots(MessageWebSocket *ws)
{
    if (!ca_pem && !offer_deflate)
        return S_OK;
    MessageWebSocketControl *control = NULL;
    HRESULT hr = MessageWebSocket_get_Control(ws, &control);
    if (RTWS_SUCCEEDED(hr) && ca_pem)
        hr = MessageWebSocketControl_put_TrustedRootCertificates(control, ca_pem);
    if (RTWS_SUCCEEDED(hr) && offer_deflate) {
        PerMessageDeflateOptions deflate = {true, false, false, 15, 15, 0};
        hr = MessageWebSocketControl_put_PerMessageDeflate(control, deflate);
    }
    if (RTWS_SUCCEEDED(hr) && json_payload)
        hr = MessageWebSocketControl_put_MessageType(control, SocketMessageType_Utf8);
    if (control)
        MessageWebSocketControl_Release(control);
    return hr;
}

static HRESULT stream_set_roots(StreamWebSocket *ws)
{
    if (!ca_pem)
        return S_OK;
    StreamWebSocketControl *control = NULL;
    HRESULT hr = StreamWebSocket_get_Control(ws, &control);
    if (RTWS_SUCCEEDED(hr))
        hr = StreamWebSocketControl_put_TrustedRootCertificates(control, ca_pem);
    if (control)
        StreamWebSocketControl_Release(control);
    return hr;
}

/* Reads a whole (small) file into a NUL-terminated string; NULL on failure. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    while (text) {
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
        if (cap - len - 1 == 0) {
            if (cap >= (1u << 24)) { /* 16 MiB of PEM is not a CA file */
                free(text);
                text = NULL;
                break;
            }
            char *bigger = realloc(text, cap * 2);
            if (!bigger) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            cap *= 2;
        }
    }
    if (text && ferror(f)) {
        free(text);
        text = NULL;
    }
    fclose(f);
    if (text)
        text[len] = '\0';
    return text;
}

/* --json: market-data-like records whose numbers vary (an LCG), as bench/deflate.py's
 * Python client makes them: text that compresses as real JSON does, not as one record
 * repeated. */
static void fill_json(uint8_t *out, uint32_t size)
{
    static const char *symbols[] = {"ACME", "GLOBX", "INITECH", "UMBRL", "HOOLI", "STARK",
                                    "WAYNE", "TYRELL"};
    uint32_t x = 12345, at = 0;
    char rec[160];
    while (at < size) {
        x = x * 1103515245u + 12345u;
        uint32_t px = 1000 + (x >> 8) % 90000, qty = 1 + (x >> 4) % 5000;
        int n = snprintf(rec, sizeof rec,
                         "{\"symbol\":\"%s\",\"bid\":%u.%02u,\"ask\":%u.%02u,\"size\":%u,"
                         "\"ts\":%u},",
                         symbols[(x >> 16) % 8], px / 100, px % 100, (px + 5) / 100,
                         (px + 5) % 100, qty, 1733212800u + at);
        for (int i = 0; i < n && at < size; i++)
            out[at++] = (uint8_t)rec[i];
    }
}

/* The bytes of the next message: the same buffer, or (--json) the next window of it. */
static const uint8_t *next_payload(struct bench *b)
{
    if (b->payload_len == b->size)
        return b->payload;
    if (b->cursor > b->payload_len - b->size)
        b->cursor = 0;
    const uint8_t *p = b->payload + b->cursor;
    b->cursor += b->size;
    return p;
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
    HRESULT hr = DataWriter_WriteBytes(b->writer, b->size, next_payload(b));
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(b->writer, &op);
    if (op)
        IAsyncOperationUInt32_Release(op);
    return hr;
}

/* Bulk "partial": the payload IBuffer goes out as one message, without a copy. */
static HRESULT send_buffer(struct bench *b)
{
    IAsyncOperationUInt32 *op = NULL;
    HRESULT hr = IOutputStream_WriteAsync(b->out, b->pbuf, &op);
    if (op)
        IAsyncOperationUInt32_Release(op);
    return hr;
}

/* The time limit, looked at once every 256 messages (a clock read per message
 * would be the bench's cost, not the library's). */
static int past_deadline(const struct bench *b)
{
    return (b->received & 255) == 0 && now_ns() >= b->deadline_ns;
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
    uint32_t len = 0, at = b->mode == M_BULK_PARTIAL ? b->piece_at : 0;
    DataReader_get_UnconsumedBufferLength(reader, &len);
    if (len > b->rbuf_size - at) {
        DataReader_Release(reader);
        fprintf(stderr, "bench_rtws: unexpected message of %u bytes\n", len);
        finish(b, E_UNEXPECTED);
        return;
    }
    hr = DataReader_ReadBytes(reader, len, b->rbuf + at);
    DataReader_Release(reader);
    if (RTWS_FAILED(hr)) {
        finish(b, hr);
        return;
    }
    switch (b->mode) {
    case M_LAT_HANDLER: {
        int64_t t = now_ns();
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
        /* The time limit is looked at every 256 echoes, as the raw client does. */
        if (b->received >= b->target || past_deadline(b)) {
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
        if (b->received >= b->target || past_deadline(b))
            b->done = 1;
        /* Wake the sender once half the window has drained (or at the end). */
        if (b->done || b->sent - b->received == b->inflight / 2)
            pthread_cond_signal(&b->cond);
        pthread_mutex_unlock(&b->lock);
        return;
    }
    case M_BULK_PARTIAL: {
        bool complete = false;
        hr = MessageWebSocketMessageReceivedEventArgs_get_IsMessageComplete(args, &complete);
        if (RTWS_FAILED(hr)) {
            fail("IsMessageComplete", hr);
            finish(b, hr);
            return;
        }
        b->piece_at += len;
        if (!complete)
            return;
        len = b->piece_at;
        b->piece_at = 0;
    }
        /* fall through: a whole echo, as M_BULK */
    case M_BULK:
        if (len != b->size) {
            fprintf(stderr, "bench_rtws: echo of %u bytes, sent %u\n", len, b->size);
            finish(b, E_UNEXPECTED);
            return;
        }
        b->received++;
        b->bytes_received += len;
        if (b->received >= b->target || now_ns() >= b->deadline_ns) {
            finish(b, S_OK);
            return;
        }
        b->sent++;
        hr = b->mode == M_BULK_PARTIAL ? send_buffer(b) : send_payload(b);
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

/* A condvar whose timed waits count on CLOCK_MONOTONIC, as abs_deadline does. */
static void monotonic_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}

/* Queue mode: the main thread is where the handlers run. Like a host's event loop, it
 * polls the queue's descriptor (readable exactly while work is pending) and runs what
 * is pending in bounded batches, until the handler-driven loop is over or `limit_ns`.
 * b->done is set by the handlers, so on this very thread. */
static int drive_queue(struct bench *b, int64_t limit_ns)
{
    for (;;) {
        if (b->done)
            return 1;
        int64_t now = now_ns();
        if (now >= limit_ns)
            return 0;
        int64_t ms = (limit_ns - now) / 1000000 + 1;
        struct pollfd p = {.fd = b->queue_fd, .events = POLLIN};
        int n = poll(&p, 1, ms > 100 ? 100 : (int)ms);
        if (n < 0 && errno != EINTR) {
            perror("bench_rtws: poll");
            return 0;
        }
        if (n > 0) {
            uint32_t ran = 0;
            HRESULT hr = DispatcherQueue_RunPending(b->queue, 256, 10, &ran);
            if (RTWS_FAILED(hr)) {
                fail("DispatcherQueue_RunPending", hr);
                return 0;
            }
        }
    }
}

/* Waits for the handler-driven loop to end, at most until `limit_ns` (CLOCK_MONOTONIC);
 * in queue mode, runs the handlers meanwhile. */
static int wait_done(struct bench *b, int64_t limit_ns)
{
    if (b->queue)
        return drive_queue(b, limit_ns);
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

/* --json: the bytes this process's TCP sockets sent (acknowledged by the peer) and received,
 * from TCP_INFO of every socket it has open, and its CPU time, at one moment. */
struct io_mark {
    double io_bytes;
    double cpu_ms;
};

static struct io_mark io_mark(void)
{
    struct io_mark m = {0, 0};
    for (int fd = 0; fd < 1024; fd++) {
        struct stat st;
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
            getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && len >= sizeof ti)
            m.io_bytes += (double)ti.tcpi_bytes_acked + (double)ti.tcpi_bytes_received;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    m.cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    return m;
}

/* --json: bytes on the wire per payload byte (both ways), and CPU per echoed message. */
static void io_report(const char *mode, struct io_mark m0, long messages, uint32_t size)
{
    if (!json_payload || messages <= 0)
        return;
    struct io_mark m1 = io_mark();
    result(mode, "wire_bytes_per_payload_byte",
           (m1.io_bytes - m0.io_bytes) / (2.0 * (double)messages * size), messages);
    result(mode, "cpu_us_per_msg", (m1.cpu_ms - m0.cpu_ms) * 1e3 / (double)messages, messages);
}

/* Nearest-rank percentiles, as the raw client computes them. */
static void report_latency(const char *variant, double *s, long n)
{
    if (n <= 0) {
        fprintf(stderr, "bench_rtws: latency %s: no samples\n", variant);
        failures++;
        return;
    }
    latency_stats st = latency_summary(s, n);
    char name[64];
    snprintf(name, sizeof name, "latency_%s_p50_us", variant);
    result("latency", name, st.p50, n);
    snprintf(name, sizeof name, "latency_%s_p99_us", variant);
    result("latency", name, st.p99, n);
    snprintf(name, sizeof name, "latency_%s_mean_us", variant);
    result("latency", name, st.mean, n);
}

/* ---- the blocking style's floor -------------------------------------------------------- */

/* What a condvar hand-off between two threads costs on this CPU, with no rtws in it: the
 * blocking variants add one to every round trip (the echo arrives on rtws's thread, whose
 * handler signals the host thread, as in M_LAT_NOTIFY). A "worker" thread reads one byte
 * from a pipe and signals; the main thread writes the byte and waits for the signal. The
 * same write + read on one thread is subtracted: latency_handoff_us is the hand-off alone
 * (p50 of per-iteration differences is not needed; the mean is stable within ~0.1 us). */
static int handoff_pipe[2];
static pthread_mutex_t handoff_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t handoff_cond; /* on CLOCK_MONOTONIC, as abs_deadline counts */
static int handoff_got;

static void *handoff_worker(void *arg)
{
    long n = *(long *)arg;
    char byte;
    for (long i = 0; i < n; i++) {
        if (read(handoff_pipe[0], &byte, 1) != 1)
            break;
        pthread_mutex_lock(&handoff_lock);
        handoff_got = 1;
        pthread_cond_signal(&handoff_cond);
        pthread_mutex_unlock(&handoff_lock);
    }
    return NULL;
}

static void handoff_floor(long n)
{
    char byte = 'x';
    monotonic_cond_init(&handoff_cond);
    if (pipe(handoff_pipe) != 0) {
        fprintf(stderr, "bench_rtws: pipe failed\n");
        failures++;
        return;
    }
    int64_t t0 = now_ns();
    long i = 0;
    for (; i < n; i++) {
        if (write(handoff_pipe[1], &byte, 1) != 1 || read(handoff_pipe[0], &byte, 1) != 1)
            break;
    }
    double alone = (double)(now_ns() - t0) / (double)n;
    pthread_t worker;
    int ok = i == n && pthread_create(&worker, NULL, handoff_worker, &n) == 0;
    int64_t t1 = now_ns(), hard = t1 + 10 * (int64_t)1000000000;
    for (i = 0; ok && i < n; i++) {
        if (write(handoff_pipe[1], &byte, 1) != 1)
            break;
        struct timespec ts;
        abs_deadline(&ts, hard);
        pthread_mutex_lock(&handoff_lock);
        while (!handoff_got && pthread_cond_timedwait(&handoff_cond, &handoff_lock, &ts) == 0) {
        }
        int got = handoff_got;
        handoff_got = 0;
        pthread_mutex_unlock(&handoff_lock);
        if (!got)
            break;
    }
    double handed = (double)(now_ns() - t1) / (double)n;
    close(handoff_pipe[1]); /* the worker's read ends if it is still waiting */
    if (ok)
        pthread_join(worker, NULL);
    close(handoff_pipe[0]);
    if (!ok || i != n) {
        fprintf(stderr, "bench_rtws: handoff floor: %ld of %ld iterations\n", i, n);
        failures++;
        return;
    }
    result("latency", "latency_handoff_us", (handed - alone) / 1000.0, n);
}

/* ---- modes -------------------------------------------------------------------------- */

static double max_secs = 60;
static const char *only; /* --only VARIANT: run just that variant (profiling) */
static int no_queue;     /* --no-queue: no queue variant (and no second connection) */

static int want(const char *variant)
{
    return !only || strcmp(only, variant) == 0;
}

static void latency_handler(struct bench *b, long n, long warmup, const char *variant)
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
        fprintf(stderr, "bench_rtws: latency %s: no progress (%ld echoes)\n", variant,
                b->received);
        failures++;
        b->mode = M_IDLE;
        return;
    }
    b->mode = M_IDLE;
    long got = b->received - warmup;
    if (b->error != S_OK || got < n)
        failures++;
    report_latency(variant, b->samples, got > 0 ? got : 0);
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
        HRESULT hr = DataWriter_WriteBytes(b->writer, b->size, next_payload(b));
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
    struct io_mark m0 = io_mark();
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
    /* One send per echo: the process's CPU (every thread, user + system) per echo,
     * what the raw and lws clients report for the same loop. */
    if (strcmp(metric, "pipelined_msgs_per_s") == 0 && b->received > 0)
        result("pipelined", "pipelined_cpu_us_per_msg",
               (io_mark().cpu_ms - m0.cpu_ms) * 1e3 / (double)b->received, b->received);
    io_report("pipelined", m0, b->received, b->size);
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


/* `partial`: the lean style (see "bulk" in bench/README.md), else whole messages through a
 * DataWriter and DataReader. Peak RSS is counted from the start of this run. */
static void bulk(struct bench *b, long n, int partial)
{
    reset_peak_rss();
    struct io_mark m0 = io_mark();
    int64_t start = now_ns();
    reset(b, partial ? M_BULK_PARTIAL : M_BULK, 0, n, start + (int64_t)(max_secs * 1e9));
    b->sent = 1;
    b->piece_at = 0;
    HRESULT hr = partial ? send_buffer(b) : send_payload(b);
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
    result("bulk", partial ? "bulk_partial_MB_per_s" : "bulk_MB_per_s", bytes / secs / 1e6,
           b->received);
    io_report("bulk", m0, b->received, b->size);
    result("bulk", partial ? "bulk_partial_peak_rss_MiB" : "bulk_peak_rss_MiB",
           (double)peak_rss_kib() / 1024.0, b->received);
}

/* ---- connections ---------------------------------------------------------------------- */

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
    hr = set_roots(*ws);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_add_MessageReceived(*ws, on_conn_message, c, &t1);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_add_Closed(*ws, on_conn_closed, c, &t2);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_ConnectAsync(*ws, url, op);
    return hr;
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
    monotonic_cond_init(&c.cond);

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


/* ---- stream (StreamWebSocket) ------------------------------------------------------- */

static long stream_window = 16; /* --window W */
static long stream_writes = 2;  /* --writes K */

/* What both stream variants do: TOTAL bytes in CHUNK-byte messages (`chunks` of them), at
 * most `window` chunks outstanding and `writes` WriteAsync operations in flight. */
struct stream_plan {
    uint64_t total, chunk, chunks;
    long window, writes;
};

static struct stream_plan stream_plan(uint64_t total, uint64_t chunk)
{
    struct stream_plan p = {total, chunk, (total + chunk - 1) / chunk, stream_window,
                            stream_writes < stream_window ? stream_writes : stream_window};
    return p;
}

struct stream {
    IOutputStream *out;
    struct stream_plan plan;
    int64_t deadline_ns, hard_ns;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t sent;           /* chunks written (WriteAsync issued) */
    uint64_t bytes_received; /* echoed bytes read so far */
    int sender_done;         /* the sender stopped (all sent, deadline, error) */
    int stop;                /* the reader gave up: the sender stops too */
    HRESULT error;
};

static uint32_t chunk_len(const struct stream_plan *p, uint64_t i)
{
    uint64_t left = p->total - i * p->chunk;
    return (uint32_t)(left < p->chunk ? left : p->chunk);
}

/* The bytes of the first `sent` chunks. */
static uint64_t sent_bytes(const struct stream_plan *p, uint64_t sent)
{
    return sent * p->chunk < p->total ? sent * p->chunk : p->total;
}

static void stream_set_error(struct stream *s, HRESULT hr)
{
    pthread_mutex_lock(&s->lock);
    if (s->error == S_OK)
        s->error = hr;
    s->stop = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Waits for a write (bounded) and checks that it sent `len` bytes. */
static HRESULT stream_wait_write(struct stream *s, IAsyncOperationUInt32 *op, uint32_t len)
{
    uint32_t written = 0;
    HRESULT hr = IAsyncOperationUInt32_Wait(op, ms_until(s->hard_ns), &written);
    IAsyncOperationUInt32_Release(op);
    if (RTWS_SUCCEEDED(hr) && written != len) {
        fprintf(stderr, "bench_rtws: stream: WriteAsync wrote %u of %u bytes\n", written, len);
        hr = E_UNEXPECTED;
    }
    return hr;
}

static void *stream_sender(void *arg)
{
    struct stream *s = arg;
    long w = s->plan.window, k = s->plan.writes;
    IAsyncOperationUInt32 **ring = calloc((size_t)k, sizeof *ring);
    uint32_t *ring_len = calloc((size_t)k, sizeof *ring_len);
    uint8_t *chunk = malloc(s->plan.chunk); /* the payload pattern; byte 0 set per chunk */
    HRESULT hr = ring && ring_len && chunk ? S_OK : E_OUTOFMEMORY;
    for (uint64_t j = 0; chunk && j < s->plan.chunk; j++)
        chunk[j] = (uint8_t)(j * 31 + 7);
    uint64_t i = 0;
    for (; i < s->plan.chunks && RTWS_SUCCEEDED(hr); i++) {
        if (now_ns() >= s->deadline_ns)
            break;
        /* At most `window` chunks outstanding: wait for the reader to catch up. */
        struct timespec ts;
        abs_deadline(&ts, s->hard_ns);
        pthread_mutex_lock(&s->lock);
        while (!s->stop && i - s->bytes_received / s->plan.chunk >= (uint64_t)w) {
            if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
                break;
        }
        int go = !s->stop && i - s->bytes_received / s->plan.chunk < (uint64_t)w;
        pthread_mutex_unlock(&s->lock);
        if (!go)
            break;
        /* The write K writes ago: Wait for it before reusing its slot. */
        long slot = (long)(i % (uint64_t)k);
        if (ring[slot]) {
            hr = stream_wait_write(s, ring[slot], ring_len[slot]);
            ring[slot] = NULL;
            if (RTWS_FAILED(hr)) {
                fail("WriteAsync (Wait)", hr);
                break;
            }
        }
        uint32_t len = chunk_len(&s->plan, i);
        chunk[0] = (uint8_t)i;
        IBuffer *buf = NULL;
        hr = Buffer_CreateFromBytes(chunk, len, &buf);
        if (RTWS_SUCCEEDED(hr))
            hr = IOutputStream_WriteAsync(s->out, buf, &ring[slot]);
        if (buf)
            IBuffer_Release(buf); /* WriteAsync copied the bytes */
        if (RTWS_FAILED(hr)) {
            fail("WriteAsync", hr);
            break;
        }
        ring_len[slot] = len;
        pthread_mutex_lock(&s->lock);
        s->sent = i + 1;
        pthread_mutex_unlock(&s->lock);
    }
    /* Wait for the writes still in flight, oldest first. */
    for (uint64_t j = 0; ring && j < (uint64_t)k; j++) {
        long slot = (long)((i + j) % (uint64_t)k);
        if (!ring[slot])
            continue;
        HRESULT h = stream_wait_write(s, ring[slot], ring_len[slot]);
        ring[slot] = NULL;
        if (RTWS_FAILED(h) && RTWS_SUCCEEDED(hr)) {
            fail("WriteAsync (Wait)", h);
            hr = h;
        }
    }
    pthread_mutex_lock(&s->lock);
    if (RTWS_FAILED(hr) && s->error == S_OK)
        s->error = hr;
    s->sender_done = 1;
    pthread_mutex_unlock(&s->lock);
    free(ring);
    free(ring_len);
    free(chunk);
    return NULL;
}

/* A connected StreamWebSocket, its two streams and the one buffer every read goes into
 * (a pending ReadAsync holds its own reference to it). */
struct stream_conn {
    StreamWebSocket *ws;
    IOutputStream *out;
    IInputStream *in;
    IBuffer *rbuf;
};

/* Connects `c` to `url`, with a read buffer of `chunk` bytes. Returns S_OK, or the
 * failure (printed and counted). */
static HRESULT stream_open(const char *url, uint32_t chunk, struct stream_conn *c)
{
    memset(c, 0, sizeof *c);
    IAsyncAction *connect = NULL;
    HRESULT hr = StreamWebSocket_Create(&c->ws);
    if (RTWS_SUCCEEDED(hr))
        hr = stream_set_roots(c->ws);
    if (RTWS_SUCCEEDED(hr))
        hr = StreamWebSocket_ConnectAsync(c->ws, url, &connect);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncAction_Wait(connect, 10000);
        IAsyncAction_Release(connect);
    }
    if (RTWS_SUCCEEDED(hr))
        hr = StreamWebSocket_get_OutputStream(c->ws, &c->out);
    if (RTWS_SUCCEEDED(hr))
        hr = StreamWebSocket_get_InputStream(c->ws, &c->in);
    if (RTWS_SUCCEEDED(hr))
        hr = Buffer_Create(chunk, &c->rbuf);
    if (RTWS_FAILED(hr))
        fail("StreamWebSocket ConnectAsync, its streams and the read buffer", hr);
    return hr;
}

static void stream_close(struct stream_conn *c)
{
    if (c->rbuf)
        IBuffer_Release(c->rbuf);
    if (c->in)
        IInputStream_Release(c->in);
    if (c->out)
        IOutputStream_Release(c->out);
    if (c->ws) {
        StreamWebSocket_CloseWithStatus(c->ws, 1000, NULL);
        StreamWebSocket_Release(c->ws);
    }
    memset(c, 0, sizeof *c);
}

/* The "wait" variant: a sender thread writes TOTAL bytes in CHUNK-byte messages while
 * this thread reads the echoes back, each Waiting for its operations. */
static void stream_wait_run(const char *url, uint64_t total, uint64_t chunk_size)
{
    struct stream s;
    memset(&s, 0, sizeof s);
    s.plan = stream_plan(total, chunk_size);
    pthread_mutex_init(&s.lock, NULL);
    monotonic_cond_init(&s.cond);

    struct stream_conn c;
    HRESULT hr = stream_open(url, (uint32_t)chunk_size, &c);
    if (RTWS_FAILED(hr)) {
        stream_close(&c);
        return;
    }
    s.out = c.out;
    IInputStream *in = c.in;
    reset_peak_rss();

    double u0, s0, u1, s1;
    cpu_ms(&u0, &s0);
    int64_t start = now_ns();
    s.deadline_ns = start + (int64_t)(max_secs * 1e9);
    s.hard_ns = s.deadline_ns + 10 * (int64_t)1000000000;
    pthread_t sender;
    if (pthread_create(&sender, NULL, stream_sender, &s) != 0) {
        fprintf(stderr, "bench_rtws: pthread_create failed\n");
        failures++;
        stream_close(&c);
        return;
    }

    /* The reader: ReadAsync(Partial) into the one buffer until every byte came back. */
    uint64_t received = 0, reads = 0;
    uint64_t next_check = 0; /* the next chunk whose first byte is checked */
    HRESULT rerr = S_OK;
    while (received < total) {
        IAsyncOperationIBuffer *op = NULL;
        hr = IInputStream_ReadAsync(in, c.rbuf, (uint32_t)chunk_size, InputStreamOptions_Partial,
                                    &op);
        if (RTWS_FAILED(hr)) {
            fail("ReadAsync", hr);
            rerr = hr;
            break;
        }
        IBuffer *res = NULL;
        int finished = 0; /* the sender stopped early and every byte it sent came back */
        for (;;) {
            hr = IAsyncOperationIBuffer_Wait(op, 100, &res);
            if (hr != RTWS_E_TIMEOUT)
                break;
            pthread_mutex_lock(&s.lock);
            int sdone = s.sender_done, serr = s.error != S_OK;
            uint64_t sent = sent_bytes(&s.plan, s.sent);
            pthread_mutex_unlock(&s.lock);
            if ((sdone && received >= sent) || serr || now_ns() >= s.hard_ns) {
                IAsyncOperationIBuffer_Cancel(op);
                finished = sdone && received >= sent && !serr;
                break;
            }
        }
        IAsyncOperationIBuffer_Release(op);
        if (finished)
            break;
        if (hr == RTWS_E_TIMEOUT) {
            fprintf(stderr, "bench_rtws: stream: %llu of %llu bytes back in time\n",
                    (unsigned long long)received, (unsigned long long)total);
            rerr = hr;
            break;
        }
        if (RTWS_FAILED(hr)) {
            fail("ReadAsync (Wait)", hr);
            rerr = hr;
            break;
        }
        uint32_t len = 0;
        IBuffer_get_Length(res, &len);
        /* The index byte of every chunk that starts within these bytes. */
        for (; next_check < s.plan.chunks && next_check * chunk_size < received + len;
             next_check++) {
            uint8_t byte = 0;
            uint32_t copied = 0;
            hr = IBuffer_CopyTo(res, (uint32_t)(next_check * chunk_size - received), &byte, 1,
                                &copied);
            if (RTWS_FAILED(hr) || copied != 1 || byte != (uint8_t)next_check) {
                fprintf(stderr, "bench_rtws: stream: chunk %llu starts with %u (copied %u), "
                        "expected %u\n", (unsigned long long)next_check, byte, copied,
                        (uint8_t)next_check);
                rerr = E_UNEXPECTED;
                break;
            }
        }
        IBuffer_Release(res);
        if (rerr != S_OK)
            break;
        if (len == 0) {
            fprintf(stderr, "bench_rtws: stream: the input stream ended after %llu bytes\n",
                    (unsigned long long)received);
            rerr = E_UNEXPECTED;
            break;
        }
        received += len;
        reads++;
        pthread_mutex_lock(&s.lock);
        s.bytes_received = received;
        pthread_cond_signal(&s.cond);
        pthread_mutex_unlock(&s.lock);
    }
    int64_t end = now_ns();
    if (rerr != S_OK)
        stream_set_error(&s, rerr);
    pthread_join(sender, NULL);
    cpu_ms(&u1, &s1);
    fprintf(stderr, "bench_rtws: stream: %llu of %llu bytes back in %.1f ms (%llu reads; window "
            "%ld, %ld writes in flight); CPU user %.1f ms, sys %.1f ms\n",
            (unsigned long long)received, (unsigned long long)total,
            (double)(end - start) / 1e6, (unsigned long long)reads, s.plan.window,
            s.plan.writes, u1 - u0, s1 - s0);

    double secs = (double)(end - start) / 1e9;
    uint64_t full = received / chunk_size + (received == total && total % chunk_size ? 1 : 0);
    if (s.error == S_OK && received > 0) {
        /* Bytes sent that came back + bytes received, as bulk counts them. */
        result("stream", "stream_MB_per_s", 2.0 * (double)received / secs / 1e6, (long)full);
        result("stream", "stream_peak_rss_MiB", (double)peak_rss_kib() / 1024.0, (long)full);
    }
    if (s.error != S_OK || received < total)
        failures++;

    stream_close(&c);
}

/* ---- stream, handler style ----------------------------------------------------------- */

/* The "handler" variant: no thread of the host's waits on an operation. Each write's
 * Completed handler issues the next write, and each read's issues the next read, as a
 * C++/WinRT coroutine that co_awaits them would; the main thread only waits for the end.
 * Same window (W chunks outstanding), writes in flight (K) and checks as "wait". */
struct hstream {
    IOutputStream *out;
    IInputStream *in;
    IBuffer *rbuf;    /* the connection's (stream_conn) */
    uint8_t *pattern; /* the chunk payload; byte 0 set per chunk, under `lock` */
    struct stream_plan plan;
    int64_t deadline_ns;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t sent;          /* writes issued */
    uint64_t writes_done;   /* writes finished (their handler ran, or issuing failed) */
    uint64_t bytes_written; /* as their GetResults reported */
    uint64_t received;      /* echoed bytes read */
    uint64_t next_check;    /* the next chunk whose first byte is checked */
    uint64_t reads;
    int reading; /* a ReadAsync is pending */
    /* One thread at a time issues operations (writes must go out in chunk order). A pump
     * that finds another running returns: the running one re-reads the state under the
     * lock after each operation, so it sees what the other came to report. That includes
     * a Completed handler run inside put_Completed (its operation finished at once), so
     * the stack does not grow by a frame per operation. */
    int pumping;
    int busy;    /* handlers between their report and their return (they still use this) */
    int done;    /* every byte back, or the deadline passed and every sent byte back */
    int stop;    /* the main thread gave up waiting: issue nothing more */
    HRESULT error;
};

/* Under h->lock: records `hr` and whether the run is over. */
static void hstream_settle(struct hstream *h, HRESULT hr)
{
    if (RTWS_FAILED(hr) && h->error == S_OK && !h->done)
        h->error = hr;
    if (h->received >= h->plan.total ||
        (now_ns() >= h->deadline_ns && h->writes_done == h->sent &&
         h->received >= sent_bytes(&h->plan, h->sent)))
        h->done = 1;
    /* The main thread waits for the end, then (`stop`) for every handler to be over:
     * woken for those only, not for each operation. */
    if (h->done || h->error != S_OK || h->stop)
        pthread_cond_broadcast(&h->cond);
}

/* Under h->lock: nothing is in flight and no thread of rtws's uses `h` any more. */
static int hstream_idle(const struct hstream *h)
{
    return !h->reading && h->writes_done == h->sent && !h->busy && !h->pumping;
}

static void hstream_pump(struct hstream *h);

/* A handler's last step: issue what its report allows, then let go of `h`. */
static void hstream_handler_end(struct hstream *h)
{
    hstream_pump(h);
    pthread_mutex_lock(&h->lock);
    h->busy--;
    if (h->stop)
        pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static void hstream_on_write(void *context, IAsyncOperationUInt32 *op, AsyncStatus status)
{
    struct hstream *h = context;
    (void)status; /* GetResults reports the failure */
    uint32_t n = 0;
    HRESULT hr = IAsyncOperationUInt32_GetResults(op, &n);
    pthread_mutex_lock(&h->lock);
    h->writes_done++;
    h->bytes_written += n;
    h->busy++;
    hstream_settle(h, hr);
    pthread_mutex_unlock(&h->lock);
    hstream_handler_end(h);
}

static void hstream_on_read(void *context, IAsyncOperationIBuffer *op, AsyncStatus status)
{
    struct hstream *h = context;
    (void)status;
    IBuffer *res = NULL;
    uint32_t len = 0;
    HRESULT hr = IAsyncOperationIBuffer_GetResults(op, &res);
    if (RTWS_SUCCEEDED(hr)) {
        IBuffer_get_Length(res, &len);
        if (len == 0)
            hr = E_UNEXPECTED; /* the input stream ended */
        /* Only this handler moves `received` and `next_check`, one read at a time. */
        for (; RTWS_SUCCEEDED(hr) && h->next_check < h->plan.chunks &&
               h->next_check * h->plan.chunk < h->received + len;
             h->next_check++) {
            uint8_t byte = 0;
            uint32_t copied = 0;
            hr = IBuffer_CopyTo(res, (uint32_t)(h->next_check * h->plan.chunk - h->received),
                                &byte, 1, &copied);
            if (RTWS_SUCCEEDED(hr) && (copied != 1 || byte != (uint8_t)h->next_check))
                hr = E_UNEXPECTED;
        }
        IBuffer_Release(res);
    }
    pthread_mutex_lock(&h->lock);
    h->reading = 0;
    h->reads++;
    if (RTWS_SUCCEEDED(hr))
        h->received += len;
    h->busy++;
    hstream_settle(h, hr);
    pthread_mutex_unlock(&h->lock);
    hstream_handler_end(h);
}

/* Issues every write the window allows and the next read, until neither is due. */
static void hstream_pump(struct hstream *h)
{
    pthread_mutex_lock(&h->lock);
    if (h->pumping) {
        pthread_mutex_unlock(&h->lock);
        return;
    }
    h->pumping = 1;
    for (;;) {
        /* Under the lock here. */
        IBuffer *buf = NULL;
        HRESULT hr = S_OK;
        int live = !h->done && !h->stop && h->error == S_OK;
        int read = live && !h->reading && h->received < h->plan.total;
        int write = live && !read && h->sent < h->plan.chunks &&
                    h->sent - h->writes_done < (uint64_t)h->plan.writes &&
                    h->sent - h->received / h->plan.chunk < (uint64_t)h->plan.window &&
                    now_ns() < h->deadline_ns;
        if (!read && !write) {
            h->pumping = 0;
            if (h->stop)
                pthread_cond_broadcast(&h->cond);
            pthread_mutex_unlock(&h->lock);
            return;
        }
        if (read)
            h->reading = 1;
        if (write) {
            uint64_t i = h->sent++;
            h->pattern[0] = (uint8_t)i;
            hr = Buffer_CreateFromBytes(h->pattern, chunk_len(&h->plan, i), &buf);
        }
        pthread_mutex_unlock(&h->lock);
        if (read) {
            IAsyncOperationIBuffer *op = NULL;
            hr = IInputStream_ReadAsync(h->in, h->rbuf, (uint32_t)h->plan.chunk,
                                        InputStreamOptions_Partial, &op);
            if (RTWS_SUCCEEDED(hr))
                hr = IAsyncOperationIBuffer_put_Completed(op, hstream_on_read, h);
            if (op)
                IAsyncOperationIBuffer_Release(op);
        } else {
            IAsyncOperationUInt32 *op = NULL;
            if (RTWS_SUCCEEDED(hr))
                hr = IOutputStream_WriteAsync(h->out, buf, &op);
            if (buf)
                IBuffer_Release(buf); /* WriteAsync copied the bytes */
            if (RTWS_SUCCEEDED(hr))
                hr = IAsyncOperationUInt32_put_Completed(op, hstream_on_write, h);
            if (op)
                IAsyncOperationUInt32_Release(op);
        }
        if (RTWS_FAILED(hr))
            fail(read ? "ReadAsync" : "WriteAsync", hr);
        pthread_mutex_lock(&h->lock);
        if (RTWS_FAILED(hr)) {
            /* No handler will report this one: it is over here. */
            if (read)
                h->reading = 0;
            else
                h->writes_done++;
            hstream_settle(h, hr);
        }
    }
}

static void stream_handler_run(const char *url, uint64_t total, uint64_t chunk_size)
{
    /* On the heap: if an operation never reports back, its handler keeps a valid `h`. */
    struct hstream *h = calloc(1, sizeof *h);
    struct stream_conn c;
    memset(&c, 0, sizeof c);
    HRESULT hr = E_OUTOFMEMORY;
    if (h) {
        h->plan = stream_plan(total, chunk_size);
        pthread_mutex_init(&h->lock, NULL);
        monotonic_cond_init(&h->cond);
        h->pattern = malloc(chunk_size);
    }
    if (!h || !h->pattern) {
        fprintf(stderr, "bench_rtws: stream (handler): out of memory\n");
        failures++;
    } else {
        hr = stream_open(url, (uint32_t)chunk_size, &c); /* counts its own failure */
    }
    if (RTWS_FAILED(hr)) {
        stream_close(&c);
        if (h)
            free(h->pattern);
        free(h);
        return;
    }
    for (uint64_t j = 0; j < chunk_size; j++)
        h->pattern[j] = (uint8_t)(j * 31 + 7);
    h->out = c.out;
    h->in = c.in;
    h->rbuf = c.rbuf;
    reset_peak_rss();

    double u0, s0, u1, s1;
    cpu_ms(&u0, &s0);
    int64_t start = now_ns();
    h->deadline_ns = start + (int64_t)(max_secs * 1e9);
    int64_t hard_ns = h->deadline_ns + 10 * (int64_t)1000000000;
    hstream_pump(h);
    struct timespec ts;
    pthread_mutex_lock(&h->lock);
    while (!h->done && h->error == S_OK && now_ns() < hard_ns) {
        /* Past the deadline, the end may have come with no handler left to see it. */
        abs_deadline(&ts, now_ns() < h->deadline_ns ? h->deadline_ns : hard_ns);
        if (pthread_cond_timedwait(&h->cond, &h->lock, &ts) == ETIMEDOUT)
            hstream_settle(h, S_OK);
    }
    int done = h->done;
    HRESULT error = h->error;
    uint64_t received = h->received, reads = h->reads, written = h->bytes_written;
    h->stop = 1;
    pthread_mutex_unlock(&h->lock);
    int64_t end = now_ns();
    cpu_ms(&u1, &s1);
    fprintf(stderr, "bench_rtws: stream (handler): %llu of %llu bytes back in %.1f ms (%llu "
            "reads; window %ld, %ld writes in flight); CPU user %.1f ms, sys %.1f ms\n",
            (unsigned long long)received, (unsigned long long)total,
            (double)(end - start) / 1e6, (unsigned long long)reads, h->plan.window,
            h->plan.writes, u1 - u0, s1 - s0);
    if (error != S_OK || !done) {
        fprintf(stderr, "bench_rtws: stream (handler): %s (0x%08X), %llu bytes written\n",
                done ? "failed" : "not done in time", (unsigned)error,
                (unsigned long long)written);
        failures++;
    } else {
        double secs = (double)(end - start) / 1e9;
        uint64_t full = received / chunk_size + (received == total && total % chunk_size ? 1 : 0);
        result("stream", "stream_handler_MB_per_s", 2.0 * (double)received / secs / 1e6,
               (long)full);
        result("stream", "stream_handler_peak_rss_MiB", (double)peak_rss_kib() / 1024.0,
               (long)full);
        if (received < total)
            failures++;
    }
    /* Nobody issues once `stop` is seen: wait for a pump in progress to return, then close
     * (which ends a read still pending), then for every handler to be over (bounded). */
    abs_deadline(&ts, now_ns() + 5 * (int64_t)1000000000);
    pthread_mutex_lock(&h->lock);
    while (h->pumping && pthread_cond_timedwait(&h->cond, &h->lock, &ts) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&h->lock);
    stream_close(&c);
    pthread_mutex_lock(&h->lock);
    while (!hstream_idle(h) && pthread_cond_timedwait(&h->cond, &h->lock, &ts) != ETIMEDOUT) {
    }
    int idle = hstream_idle(h);
    pthread_mutex_unlock(&h->lock);
    if (!idle) {
        /* A handler may still come: `h` and its buffers stay for it (leaked). */
        fprintf(stderr, "bench_rtws: stream (handler): operations still pending after close\n");
        failures++;
        return;
    }
    free(h->pattern);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
}

/* stream: the "handler" variant, then "wait", each on a connection of its own. */
static int stream_mode(const char *url, uint64_t total, uint64_t chunk_size)
{
    if (want("handler"))
        stream_handler_run(url, total, chunk_size);
    if (want("wait"))
        stream_wait_run(url, total, chunk_size);
    rtws_Shutdown(2000);
    return failures ? 1 : 0;
}

/* ---- one connection ------------------------------------------------------------------ */

/* Connects `b` (messages of `size` bytes) with MessageReceived = on_message and one
 * DataWriter for every send; with `queued`, the socket is bound to a new
 * DispatcherQueue first. Returns 0, or 1 after printing why. */
static int open_bench(struct bench *b, const char *url, uint32_t size, int queued, int partial)
{
    pthread_mutex_init(&b->writer_lock, NULL);
    pthread_mutex_init(&b->lock, NULL);
    monotonic_cond_init(&b->cond);
    b->mode = M_IDLE;
    b->size = size;
    b->payload_len = json_payload && size < (4u << 20) ? (4u << 20) : size;
    b->payload = malloc(b->payload_len);
    b->rbuf_size = size;
    b->rbuf = malloc(size);
    if (!b->payload || !b->rbuf) {
        fprintf(stderr, "bench_rtws: out of memory\n");
        return 1;
    }
    if (json_payload)
        fill_json(b->payload, b->payload_len);
    else
        for (uint32_t i = 0; i < size; i++)
            b->payload[i] = (uint8_t)(i * 31 + 7);

    HRESULT hr = MessageWebSocket_Create(&b->ws);
    if (RTWS_FAILED(hr)) {
        fail("MessageWebSocket_Create", hr);
        return 1;
    }
    hr = set_roots(b->ws);
    if (RTWS_FAILED(hr)) {
        fail("put_TrustedRootCertificates", hr);
        return 1;
    }
    if (queued) {
        int32_t fd = -1;
        hr = DispatcherQueue_Create(&b->queue);
        if (RTWS_SUCCEEDED(hr))
            hr = DispatcherQueue_get_FileDescriptor(b->queue, &fd);
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocket_put_DispatcherQueue(b->ws, b->queue);
        if (RTWS_FAILED(hr)) {
            fail("DispatcherQueue", hr);
            return 1;
        }
        b->queue_fd = fd;
    }
    if (partial) {
        MessageWebSocketControl *control = NULL;
        hr = MessageWebSocket_get_Control(b->ws, &control);
        if (RTWS_SUCCEEDED(hr))
            hr = MessageWebSocketControl_put_ReceiveMode(control,
                                                         MessageWebSocketReceiveMode_PartialMessage);
        if (control)
            MessageWebSocketControl_Release(control);
        if (RTWS_FAILED(hr)) {
            fail("put_ReceiveMode", hr);
            return 1;
        }
    }
    MessageWebSocket_add_MessageReceived(b->ws, on_message, b, &b->token);
    IAsyncAction *connect = NULL;
    hr = MessageWebSocket_ConnectAsync(b->ws, url, &connect);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncAction_Wait(connect, 10000);
        IAsyncAction_Release(connect);
    }
    if (RTWS_FAILED(hr)) {
        fail("ConnectAsync", hr);
        return 1;
    }
    hr = MessageWebSocket_get_OutputStream(b->ws, &b->out);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_CreateDataWriter(b->out, &b->writer);
    if (RTWS_FAILED(hr)) {
        fail("CreateDataWriter", hr);
        return 1;
    }
    if (partial) {
        /* The app builds its message in an IBuffer once; its own copy goes. */
        hr = Buffer_CreateFromBytes(b->payload, size, &b->pbuf);
        if (RTWS_FAILED(hr)) {
            fail("Buffer_CreateFromBytes", hr);
            return 1;
        }
        free(b->payload);
        b->payload = NULL;
    }
    return 0;
}

static void close_bench(struct bench *b)
{
    MessageWebSocket_remove_MessageReceived(b->ws, b->token);
    MessageWebSocket_CloseWithStatus(b->ws, 1000, NULL);
    IOutputStream *detached = NULL;
    if (RTWS_SUCCEEDED(DataWriter_DetachStream(b->writer, &detached)))
        IOutputStream_Release(detached);
    DataWriter_Release(b->writer);
    if (b->out)
        IOutputStream_Release(b->out);
    if (b->pbuf)
        IBuffer_Release(b->pbuf);
    MessageWebSocket_Release(b->ws);
    if (b->queue)
        DispatcherQueue_Release(b->queue);
    free(b->payload);
    free(b->rbuf);
}

/* ---- setup -------------------------------------------------------------------------- */

/* Bulk: one variant runs here when --only names it; else each runs in a process of its own
 * (this program again, with --only), so that its peak RSS holds only its own buffers: the
 * 16 MiB blocks one variant frees would otherwise shape where the next one's come from.
 * "partial" first, then "message". */
static int bulk_mode(int argc, char **argv, const char *url, long n, uint32_t size)
{
    static const char *variants[] = {"partial", "message"};
    for (int i = 0; i < 2; i++) {
        if (only && strcmp(only, variants[i]) == 0) {
            static struct bench b; /* zeroed */
            if (open_bench(&b, url, size, 0, i == 0))
                return 1;
            bulk(&b, n, i == 0);
            close_bench(&b);
            rtws_Shutdown(2000);
            return failures ? 1 : 0;
        }
    }
    if (only) {
        fprintf(stderr, "bench_rtws: bulk has no variant %s\n", only);
        return 2;
    }
    for (int i = 0; i < 2; i++) {
        char **child_argv = calloc((size_t)argc + 3, sizeof *child_argv);
        if (!child_argv)
            return 1;
        memcpy(child_argv, argv, (size_t)argc * sizeof *child_argv);
        child_argv[argc] = "--only";
        child_argv[argc + 1] = (char *)variants[i];
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            execv("/proc/self/exe", child_argv);
            perror("bench_rtws: execv");
            _exit(127);
        }
        free(child_argv);
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            failures++;
    }
    return failures ? 1 : 0;
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s ws://127.0.0.1:PORT/echo latency N [--max-secs S]\n"
            "       %s URL pipelined N INFLIGHT [--max-secs S]\n"
            "       %s URL bulk N SIZE [--max-secs S]\n"
            "       %s URL connections N [--max-secs S] [--smaps] [--exit-open]\n"
            "       %s URL stream TOTAL CHUNK [--max-secs S] [--window W] [--writes K]\n"
            "       URL may be wss://127.0.0.1:PORT/echo, with [--ca FILE] (PEM roots to trust)\n",
            argv0, argv0, argv0, argv0, argv0);
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
        } else if (strcmp(argv[i], "--no-queue") == 0) {
            no_queue = 1;
        } else if (strcmp(argv[i], "--smaps") == 0) {
            want_smaps = 1;
        } else if (strcmp(argv[i], "--exit-open") == 0) {
            exit_open = 1;
        } else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
            stream_window = atol(argv[++i]);
            if (stream_window <= 0 || stream_window > 4096)
                return usage(argv[0]);
        } else if (strcmp(argv[i], "--writes") == 0 && i + 1 < argc) {
            stream_writes = atol(argv[++i]);
            if (stream_writes <= 0 || stream_writes > 4096)
                return usage(argv[0]);
        } else if (strcmp(argv[i], "--deflate") == 0) {
            offer_deflate = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            json_payload = 1;
        } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            piped_size = atol(argv[++i]);
            if (piped_size <= 0 || piped_size > (1L << 24))
                return usage(argv[0]);
        } else if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc) {
            const char *path = argv[++i];
            free(ca_pem);
            ca_pem = read_text(path);
            if (!ca_pem) {
                fprintf(stderr, "bench_rtws: --ca %s: cannot read it\n", path);
                return 2;
            }
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
    snprintf(metric_prefix_buf, sizeof metric_prefix_buf, "%s%s",
             strncmp(url, "wss://", 6) == 0 ? "wss_" : "", offer_deflate ? "deflate_" : "");
    metric_prefix = metric_prefix_buf;
    long n = atol(args[2]);
    long extra = nargs > 3 ? atol(args[3]) : 0;
    int conn_mode = strcmp(mode, "connections") == 0;
    if (n <= 0 || (strcmp(mode, "latency") != 0 && !conn_mode && extra <= 0))
        return usage(argv[0]);
    if (strcmp(mode, "bulk") == 0 && (extra > 0x7fffffffL))
        return usage(argv[0]);

    /* Each measured loop stops itself at max_secs; this only catches a hang. */
    watchdog("bench_rtws: watchdog: time limit exceeded, exiting\n", (unsigned)((max_secs + 15) * 3));

    const char *t = getenv("RTWS_WORKER_THREADS");
    if (t && *t)
        threads_label = t;

    if (conn_mode)
        return connections(url, n);
    if (strcmp(mode, "stream") == 0) {
        /* TOTAL and CHUNK: 64-bit counts; CHUNK must fit an IBuffer (uint32). */
        unsigned long long total = strtoull(args[2], NULL, 10);
        unsigned long long chunk = nargs > 3 ? strtoull(args[3], NULL, 10) : 0;
        if (total == 0 || chunk == 0 || chunk > 0xffffffffULL)
            return usage(argv[0]);
        return stream_mode(url, total, chunk);
    }

    if (strcmp(mode, "latency") && strcmp(mode, "pipelined") && strcmp(mode, "bulk"))
        return usage(argv[0]);
    uint32_t size = strcmp(mode, "latency") == 0     ? 32
                    : strcmp(mode, "pipelined") == 0 ? (uint32_t)piped_size
                                                     : (uint32_t)extra;
    int latency = strcmp(mode, "latency") == 0, piped = strcmp(mode, "pipelined") == 0;
    /* The queue variants run on a second connection, bound to a DispatcherQueue before
     * its ConnectAsync. Both connect here, before the main thread ever runs the queue (a
     * Wait on the queue's own thread for one of its operations would be refused). */
    int queued = !no_queue && ((latency && want("queue")) ||
                               (piped && (want("queue") || want("queue_hbatch"))));
    int inline_too = !only || (strcmp(only, "queue") && strcmp(only, "queue_hbatch"));
    static struct bench b, bq; /* zeroed */
    if (strcmp(mode, "bulk") == 0)
        return bulk_mode(argc, argv, url, n, size);
    if ((inline_too && open_bench(&b, url, size, 0, 0)) ||
        (queued && open_bench(&bq, url, size, 1, 0)))
        return 1;

    if (latency) {
        long warmup = n / 10;
        if (warmup < 100)
            warmup = 100;
        if (warmup > 2000)
            warmup = 2000;
        double *samples = calloc((size_t)n, sizeof *samples);
        if (!samples)
            return 1;
        b.samples = bq.samples = samples;
        if (inline_too && want("handler"))
            latency_handler(&b, n, warmup, "handler");
        if (inline_too && want("blocking"))
            latency_blocking(&b, n, warmup, 1);
        if (inline_too && want("blocking_nowait"))
            latency_blocking(&b, n, warmup, 0);
        if (inline_too && (want("blocking") || want("blocking_nowait")))
            handoff_floor(n);
        if (queued)
            latency_handler(&bq, n, warmup, "queue");
        free(samples);
    } else {
        long half = extra / 2 > 0 ? extra / 2 : 1;
        if (inline_too && want("handler"))
            pipelined(&b, n, extra, 1, "pipelined_msgs_per_s");
        if (inline_too && want("hbatch"))
            pipelined(&b, n, extra, half, "pipelined_hbatch_msgs_per_s");
        if (inline_too && want("burst"))
            pipelined_burst(&b, n, extra);
        if (queued && want("queue"))
            pipelined(&bq, n, extra, 1, "pipelined_queue_msgs_per_s");
        if (queued && want("queue_hbatch"))
            pipelined(&bq, n, extra, half, "pipelined_queue_hbatch_msgs_per_s");
    }

    if (inline_too)
        close_bench(&b);
    if (queued)
        close_bench(&bq);
    rtws_Shutdown(2000);
    return failures ? 1 : 0;
}
