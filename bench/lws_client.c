/*
 * lws_client: the libwebsockets column of the benchmark (bench/README.md), a C client over
 * Debian's libwebsockets-dev (4.1), with the raw client's command line and RESULT lines.
 *
 *   lws_client URL latency N             32 B round trips, one in flight, after a warm-up
 *   lws_client URL pipelined N INFLIGHT  64 B messages, up to INFLIGHT in flight, msgs/s:
 *                                        one send per echo, then hbatch (refilled by
 *                                        halves); --batch B runs one variant with batch B
 *   lws_client URL bulk N SIZE           N messages of SIZE bytes, one round trip at a
 *                                        time: MB/s of (sent + received) bytes, peak RSS
 *   lws_client URL connections N         N connections opened at once: connections/s,
 *                                        then RSS per open (idle) connection, then all closed
 *   options: --max-secs S (default 60)   each measured loop stops at N or after S seconds
 *            --batch B                   pipelined: one variant, refilled B at a time
 *            --fragment BYTES            bulk: bytes per frame sent (default 65536)
 *            --rx-buffer BYTES           the protocol's rx_buffer_size (default 0: lws's
 *                                        own default, 4096)
 *            --ca FILE                   wss: PEM roots to trust besides the system's (the
 *                                        test server's ca.pem), set on the context's
 *                                        client TLS settings, shared by every connection
 *
 * URL is ws://HOST:PORT/PATH, or wss://HOST:PORT/PATH for the same over TLS (OpenSSL, with
 * the server's certificate and name verified); every metric name then gets a "wss_" prefix.
 *
 * Output: RESULT client=lws threads=1 mode=M metric=NAME value=V n=COUNT, the raw client's
 * metric names. Exit status 0 only if every loop ran its full count without an error; an
 * alarm ends the process if something hangs anyway.
 *
 * How libwebsockets is used (its documented rules, README.coding.md):
 * - one lws_context without a listener, one service thread: the main thread runs
 *   lws_service until the loop in progress is over (a 50 ms sul timer wakes it so that
 *   the time budget is checked even when nothing arrives);
 * - data is only written from LWS_CALLBACK_CLIENT_WRITEABLE, asked for with
 *   lws_callback_on_writable, one lws_write per callback, from a buffer with LWS_PRE
 *   bytes of headroom (lws writes the frame header there and masks in place);
 * - no extensions in the context, so permessage-deflate is not offered;
 * - a message is complete when lws_is_final_fragment says so and no payload of the
 *   frame remains (lws hands a frame over in pieces of at most rx_buffer_size).
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include "procstat.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum mode { M_LATENCY, M_PIPELINED, M_BULK, M_CONNECTIONS };

static struct lws_context *ctx;
static const char *mode_name;
static enum mode mode;
static double max_secs = 60;
static long fragment = 65536;
static long rx_buffer;
static int failures;
static int fatal;          /* the connection failed or closed under a loop */
static int loop_done;      /* the loop in progress is over */
static int closing;        /* WRITEABLE closes the connection instead of sending */
static int64_t deadline_ns; /* the loop in progress stops after this */
static int tls;             /* wss:// */
static const char *ca_file; /* --ca */

/* The one connection of latency, pipelined and bulk. */
static struct lws *conn;
static int established;
static int conn_closed;

/* latency */
static long lat_total, lat_warmup, lat_done;
static int64_t lat_t0;
static double *samples;
static int want_send;

/* pipelined */
static long p_n, p_inflight, p_batch, p_sent, p_received;
static int p_refill; /* refilling the window: WRITEABLE sends until it is full */

/* bulk */
static long b_n, b_done;
static size_t b_size, b_off, b_rx;
static int b_sending;
static uint8_t *b_payload, *b_rxbuf, *b_frame; /* b_frame: LWS_PRE + fragment bytes */
static double b_bytes;

/* latency and pipelined payloads, with their headroom */
static uint8_t small_msg[LWS_PRE + 64];
static size_t small_len;

/* connections */
static long c_established, c_failed, c_closed;
static int64_t c_last_ns;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void result(const char *metric, double value, long n)
{
    printf("RESULT client=lws threads=1 mode=%s metric=%s%s value=%.3f n=%ld\n", mode_name,
           tls ? "wss_" : "", metric, value, n);
    fflush(stdout);
}



/* The raw client's payload pattern, so that every client sends the same bytes. */
static void fill_payload(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((uint8_t)i * 31 + 7);
}

static int send_small(struct lws *wsi)
{
    int n = lws_write(wsi, small_msg + LWS_PRE, small_len, LWS_WRITE_BINARY);
    if (n < (int)small_len) {
        fprintf(stderr, "lws_client: lws_write failed (%d)\n", n);
        fatal = 1;
        return -1;
    }
    return 0;
}

/* ---- the one connection: latency, pipelined, bulk ---------------------------------- */

static void on_message_end(struct lws *wsi, size_t len)
{
    int64_t t = now_ns();
    if (mode == M_LATENCY) {
        if (len != small_len) {
            fprintf(stderr, "lws_client: echo of %zu bytes, sent %zu\n", len, small_len);
            fatal = 1;
            return;
        }
        if (lat_done >= lat_warmup)
            samples[lat_done - lat_warmup] = (double)(t - lat_t0) / 1e3;
        lat_done++;
        if (lat_done >= lat_total || t >= deadline_ns) {
            loop_done = 1;
            return;
        }
        lat_t0 = now_ns();
        want_send = 1;
        lws_callback_on_writable(wsi);
    } else if (mode == M_PIPELINED) {
        p_received++;
        if (p_received >= p_n || (p_received % 256 == 0 && t >= deadline_ns)) {
            loop_done = 1;
            return;
        }
        /* Refill once `batch` slots are free (batch 1: one send per echo). */
        if (!p_refill && p_sent < p_n && p_sent - p_received + p_batch <= p_inflight) {
            p_refill = 1;
            lws_callback_on_writable(wsi);
        }
    } else if (mode == M_BULK) {
        if (len != b_size) {
            fprintf(stderr, "lws_client: echo of %zu bytes, sent %zu\n", len, b_size);
            fatal = 1;
            return;
        }
        b_bytes += (double)b_size + (double)len;
        b_done++;
        if (b_done >= b_n || t >= deadline_ns) {
            loop_done = 1;
            return;
        }
        b_off = 0;
        b_sending = 1;
        lws_callback_on_writable(wsi);
    }
}

static int on_writeable(struct lws *wsi)
{
    if (mode == M_LATENCY) {
        if (!want_send)
            return 0; /* an extra WRITEABLE lws generated itself */
        want_send = 0;
        return send_small(wsi);
    }
    if (mode == M_PIPELINED) {
        if (!p_refill || p_sent >= p_n || p_sent - p_received >= p_inflight) {
            p_refill = 0;
            return 0;
        }
        if (send_small(wsi))
            return -1;
        p_sent++;
        if (p_sent < p_n && p_sent - p_received < p_inflight)
            lws_callback_on_writable(wsi);
        else
            p_refill = 0;
        return 0;
    }
    if (mode == M_BULK) {
        if (!b_sending)
            return 0;
        /* One frame per WRITEABLE, of at most tx_packet_size bytes: lws would buffer (copy)
         * whatever of a bigger write the socket does not take, which its documentation
         * asks clients to avoid. The fragment is copied next to its headroom because lws
         * masks it in place: the payload itself stays intact, as in the other clients. */
        size_t len = b_size - b_off < (size_t)fragment ? b_size - b_off : (size_t)fragment;
        memcpy(b_frame + LWS_PRE, b_payload + b_off, len);
        int flags = lws_write_ws_flags(LWS_WRITE_BINARY, b_off == 0, b_off + len == b_size);
        int n = lws_write(wsi, b_frame + LWS_PRE, len, (enum lws_write_protocol)flags);
        if (n < (int)len) {
            fprintf(stderr, "lws_client: lws_write failed (%d)\n", n);
            fatal = 1;
            return -1;
        }
        b_off += len;
        if (b_off < b_size)
            lws_callback_on_writable(wsi);
        else
            b_sending = 0;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (mode == M_CONNECTIONS) {
            if (c_failed++ < 5)
                fprintf(stderr, "lws_client: connect: %s\n", in ? (const char *)in : "error");
        } else {
            fprintf(stderr, "lws_client: connect: %s\n", in ? (const char *)in : "error");
            fatal = 1;
        }
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (mode == M_CONNECTIONS) {
            c_established++;
            c_last_ns = now_ns();
        } else {
            established = 1;
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (mode == M_CONNECTIONS)
            break; /* idle connections: nothing is expected */
        if (mode == M_BULK) {
            /* A host needs the message whole, as the other clients have it. */
            if (b_rx + len > b_size) {
                fprintf(stderr, "lws_client: echo longer than %zu bytes\n", b_size);
                fatal = 1;
                return -1;
            }
            memcpy(b_rxbuf + b_rx, in, len);
        }
        b_rx += len;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            size_t total = b_rx;
            b_rx = 0;
            on_message_end(wsi, total);
            if (fatal)
                return -1;
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1; /* lws sends the close frame and awaits the server's */
        }
        return on_writeable(wsi);
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (mode == M_CONNECTIONS) {
            c_closed++;
        } else {
            conn_closed = 1;
            if (!closing) {
                fprintf(stderr, "lws_client: the connection closed\n");
                fatal = 1;
            }
        }
        break;
    default:
        break;
    }
    return 0;
}

static struct lws_protocols protos[] = {
    {"lws-bench", callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws sleeps until an event is due; this one keeps the time budget checked. */
static lws_sorted_usec_list_t tick_sul;
static void tick(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(ctx, 0, sul, tick, 50 * LWS_US_PER_MS);
}

/* Services until *flag is set, a fatal error, or limit_ns; returns whether *flag is set. */
static int service_until(const int *flag, int64_t limit_ns)
{
    while (!*flag && !fatal && now_ns() < limit_ns) {
        if (lws_service(ctx, 0) < 0) {
            fatal = 1;
            break;
        }
    }
    return *flag;
}

/* Services for `ms` milliseconds (the connections stay polled, as a receiving client's). */
static void service_for(long ms)
{
    static const int never = 0;
    service_until(&never, now_ns() + ms * 1000000);
    fatal = 0; /* only the deadline ends that loop */
}

static char address[256], path[512];
static int port;

static struct lws *connect_one(struct lws **pwsi)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = address;
    ci.port = port;
    ci.path = path;
    ci.host = address;
    ci.origin = address;
    ci.local_protocol_name = protos[0].name;
    ci.pwsi = pwsi;
    ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
    return lws_client_connect_via_info(&ci);
}

/* Closes the one connection: close frame, then the server's, bounded. */
static void close_conn(void)
{
    if (!conn || conn_closed)
        return;
    closing = 1;
    lws_callback_on_writable(conn);
    fatal = 0;
    if (!service_until(&conn_closed, now_ns() + 5 * (int64_t)1000000000)) {
        fprintf(stderr, "lws_client: close: no close from the server\n");
        failures++;
    }
}

static void latency(long n)
{
    lat_warmup = n / 10 < 100 ? 100 : n / 10 > 2000 ? 2000 : n / 10;
    lat_total = lat_warmup + n;
    samples = calloc((size_t)n, sizeof *samples);
    if (!samples) {
        fatal = 1;
        return;
    }
    small_len = 32;
    fill_payload(small_msg + LWS_PRE, small_len);
    int64_t start = now_ns();
    deadline_ns = start + (int64_t)(max_secs * 1e9);
    loop_done = 0;
    lat_t0 = now_ns();
    want_send = 1;
    lws_callback_on_writable(conn);
    service_until(&loop_done, deadline_ns + 10 * (int64_t)1000000000);
    long got = lat_done > lat_warmup ? lat_done - lat_warmup : 0;
    if (got <= 0) {
        fprintf(stderr, "lws_client: latency: no samples\n");
        failures++;
        return;
    }
    latency_stats st = latency_summary(samples, got);
    result("latency_p50_us", st.p50, got);
    result("latency_p99_us", st.p99, got);
    result("latency_mean_us", st.mean, got);
    if (got < n)
        failures++;
}

static void pipelined(long n, long inflight, long batch, const char *metric)
{
    small_len = 64;
    fill_payload(small_msg + LWS_PRE, small_len);
    p_n = n;
    p_inflight = inflight;
    p_batch = batch < inflight ? batch : inflight;
    p_sent = p_received = 0;
    double u0, s0, u1, s1;
    cpu_ms(&u0, &s0);
    int64_t start = now_ns();
    deadline_ns = start + (int64_t)(max_secs * 1e9);
    loop_done = 0;
    p_refill = 1;
    lws_callback_on_writable(conn);
    service_until(&loop_done, deadline_ns + 10 * (int64_t)1000000000);
    double secs = (double)(now_ns() - start) / 1e9;
    cpu_ms(&u1, &s1);
    p_refill = 0;
    result(metric, (double)p_received / secs, p_received);
    /* One send per echo: the process's CPU (user + system) per echo. */
    if (batch <= 1 && p_received > 0)
        result("pipelined_cpu_us_per_msg", (u1 - u0 + s1 - s0) * 1e3 / (double)p_received,
               p_received);
    if (p_received < n)
        failures++;
}


static void bulk(long n, size_t size)
{
    b_size = size;
    b_payload = malloc(size);
    b_rxbuf = malloc(size);
    b_frame = malloc(LWS_PRE + (size_t)fragment);
    if (!b_payload || !b_rxbuf || !b_frame) {
        fprintf(stderr, "lws_client: out of memory\n");
        fatal = 1;
        return;
    }
    fill_payload(b_payload, size);
    b_n = n;
    int64_t start = now_ns();
    deadline_ns = start + (int64_t)(max_secs * 1e9);
    loop_done = 0;
    b_off = 0;
    b_sending = 1;
    lws_callback_on_writable(conn);
    service_until(&loop_done, deadline_ns + 10 * (int64_t)1000000000);
    double secs = (double)(now_ns() - start) / 1e9;
    result("bulk_MB_per_s", b_bytes / secs / 1e6, b_done);
    result("bulk_peak_rss_MiB", (double)peak_rss_kib() / 1024.0, b_done);
    if (b_done < n)
        failures++;
}

/* ---- connections --------------------------------------------------------------------- */

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "lws_client: setrlimit(RLIMIT_NOFILE): %s\n", strerror(errno));
    }
}

static int wait_count(const long *count, long want, int64_t limit_ns)
{
    while (*count < want && now_ns() < limit_ns) {
        if (lws_service(ctx, 0) < 0)
            return 0;
    }
    return *count >= want;
}

static int connections(long n)
{
    /* Warm-up: one connect and close, so lws's per-thread buffers exist before the first
     * VmRSS reading. */
    struct lws *w = NULL;
    if (!connect_one(&w) && !w) {
        fprintf(stderr, "lws_client: connect (warm-up) failed\n");
        return 1;
    }
    if (!wait_count(&c_established, 1, now_ns() + 10 * (int64_t)1000000000)) {
        fprintf(stderr, "lws_client: connect (warm-up) failed\n");
        return 1;
    }
    closing = 1;
    lws_callback_on_writable(w);
    if (!wait_count(&c_closed, 1, now_ns() + 10 * (int64_t)1000000000)) {
        fprintf(stderr, "lws_client: connections: the warm-up connection did not close\n");
        failures++;
    }
    closing = 0;
    c_established = c_closed = c_failed = 0;

    /* The client's own array, allocated and touched before the first reading. */
    struct lws **wsis = calloc((size_t)n, sizeof *wsis);
    if (!wsis) {
        fprintf(stderr, "lws_client: out of memory\n");
        return 1;
    }
    memset(wsis, 0, (size_t)n * sizeof *wsis);
    service_for(100);
    long rss_before = rss_kib();

    double u0, s0, u1, s1;
    cpu_ms(&u0, &s0);
    int64_t start = now_ns();
    int64_t limit = start + (int64_t)(max_secs * 1e9);
    long started = 0;
    for (long i = 0; i < n && now_ns() < limit; i++) {
        /* A NULL return with *pwsi set: the error callback has already counted it. */
        if (!connect_one(&wsis[i]) && !wsis[i] && c_failed++ < 5)
            fprintf(stderr, "lws_client: lws_client_connect_via_info failed\n");
        started++;
    }
    while (c_established + c_failed < started && now_ns() < limit + 10 * (int64_t)1000000000)
        if (lws_service(ctx, 0) < 0)
            break;
    int64_t end = c_established ? c_last_ns : now_ns();
    cpu_ms(&u1, &s1);
    long opened = c_established;
    service_for(100); /* idle */
    long rss_open = rss_kib();
    double secs = (double)(end - start) / 1e9;
    result("connections_per_s", (double)opened / secs, opened);
    result("connection_rss_KiB",
           opened > 0 ? (double)(rss_open - rss_before) / (double)opened : 0.0, opened);

    /* Close all: each WRITEABLE sends a close frame, lws then awaits the server's. */
    int64_t t_close = now_ns();
    closing = 1;
    lws_callback_on_writable_all_protocol(ctx, &protos[0]);
    int all = wait_count(&c_closed, opened, now_ns() + (int64_t)((max_secs + 10) * 1e9));
    int64_t t_closed = now_ns();
    if (!all) {
        fprintf(stderr, "lws_client: connections: %ld of %ld closed\n", c_closed, opened);
        failures++;
    }
    fprintf(stderr,
            "lws_client: connections: %ld opened of %ld in %.1f ms (CPU user %.1f ms, sys %.1f "
            "ms); VmRSS %ld KiB before, %ld KiB open, %ld KiB after closing (%ld closed in %.1f "
            "ms)\n",
            opened, n, secs * 1e3, u1 - u0, s1 - s0, rss_before, rss_open,
            rss_kib(), c_closed, (double)(t_closed - t_close) / 1e6);
    if (opened < n || c_failed)
        failures++;
    free(wsis);
    return failures ? 1 : 0;
}

/* ---- setup --------------------------------------------------------------------------- */


static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s ws://127.0.0.1:PORT/echo latency N [--max-secs S]\n"
            "       %s URL pipelined N INFLIGHT [--batch B] [--max-secs S]\n"
            "       %s URL bulk N SIZE [--fragment BYTES] [--max-secs S]\n"
            "       %s URL connections N [--max-secs S]\n"
            "       [--rx-buffer BYTES] (the protocol's rx_buffer_size; 0: lws's default)\n"
            "       URL may be wss://127.0.0.1:PORT/echo, with [--ca FILE] (PEM roots to trust)\n",
            argv0, argv0, argv0, argv0);
    return 2;
}

int main(int argc, char **argv)
{
    int nargs = 0;
    char *args[4];
    long batch = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-secs") == 0 && i + 1 < argc) {
            max_secs = atof(argv[++i]);
            if (!(max_secs > 0) || max_secs > 86400)
                return usage(argv[0]);
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            batch = atol(argv[++i]);
            if (batch <= 0)
                return usage(argv[0]);
        } else if (strcmp(argv[i], "--fragment") == 0 && i + 1 < argc) {
            fragment = atol(argv[++i]);
            if (fragment <= 0 || fragment > (1L << 30))
                return usage(argv[0]);
        } else if (strcmp(argv[i], "--rx-buffer") == 0 && i + 1 < argc) {
            rx_buffer = atol(argv[++i]);
            if (rx_buffer < 0 || rx_buffer > (1L << 30))
                return usage(argv[0]);
        } else if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc) {
            ca_file = argv[++i];
        } else if (nargs < 4) {
            args[nargs++] = argv[i];
        } else {
            return usage(argv[0]);
        }
    }
    if (nargs < 3)
        return usage(argv[0]);
    mode_name = args[1];
    long n = atol(args[2]);
    long extra = nargs > 3 ? atol(args[3]) : 0;
    if (strcmp(mode_name, "latency") == 0)
        mode = M_LATENCY;
    else if (strcmp(mode_name, "pipelined") == 0)
        mode = M_PIPELINED;
    else if (strcmp(mode_name, "bulk") == 0)
        mode = M_BULK;
    else if (strcmp(mode_name, "connections") == 0)
        mode = M_CONNECTIONS;
    else
        return usage(argv[0]);
    if (n <= 0 || ((mode == M_PIPELINED || mode == M_BULK) && extra <= 0) ||
        (mode == M_BULK && extra > 0x7fffffffL))
        return usage(argv[0]);

    /* lws_parse_uri cuts the string it is given into pieces. */
    char url[sizeof address + sizeof path];
    snprintf(url, sizeof url, "%s", args[0]);
    const char *scheme, *host, *p;
    if (lws_parse_uri(url, &scheme, &host, &port, &p) ||
        (strcmp(scheme, "ws") != 0 && strcmp(scheme, "wss") != 0)) {
        fprintf(stderr, "lws_client: the URL must be ws://HOST:PORT/PATH or wss://...\n");
        return 2;
    }
    tls = strcmp(scheme, "wss") == 0;
    snprintf(address, sizeof address, "%s", host);
    snprintf(path, sizeof path, "/%s", p);

    /* Each measured loop stops itself at max_secs; this only catches a hang. */
    watchdog("lws_client: watchdog: time limit exceeded, exiting\n", (unsigned)((max_secs + 15) * 3));

    /* Before the context: lws sizes its fd tables from the limit it sees then. */
    if (mode == M_CONNECTIONS)
        raise_nofile();

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    protos[0].rx_buffer_size = (size_t)rx_buffer;
    /* Sends up to one bulk fragment go out in one send(); lws would buffer the rest. */
    protos[0].tx_packet_size = (size_t)(LWS_PRE + fragment);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protos;
    info.gid = -1;
    info.uid = -1;
    if (tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = ca_file;
    }
    ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "lws_client: lws_create_context failed\n");
        return 1;
    }
    lws_sul_schedule(ctx, 0, &tick_sul, tick, 50 * LWS_US_PER_MS);

    int rc;
    if (mode == M_CONNECTIONS) {
        rc = connections(n);
    } else {
        if (!connect_one(&conn) && !conn) {
            fprintf(stderr, "lws_client: lws_client_connect_via_info failed\n");
            lws_context_destroy(ctx);
            return 1;
        }
        if (!service_until(&established, now_ns() + 10 * (int64_t)1000000000)) {
            fprintf(stderr, "lws_client: connect failed\n");
            lws_context_destroy(ctx);
            return 1;
        }
        if (mode == M_LATENCY) {
            latency(n);
        } else if (mode == M_PIPELINED) {
            if (batch) {
                pipelined(n, extra, batch,
                          batch > 1 ? "pipelined_hbatch_msgs_per_s" : "pipelined_msgs_per_s");
            } else {
                pipelined(n, extra, 1, "pipelined_msgs_per_s");
                if (!fatal)
                    pipelined(n, extra, extra / 2 > 0 ? extra / 2 : 1,
                              "pipelined_hbatch_msgs_per_s");
            }
        } else {
            bulk(n, (size_t)extra);
        }
        if (fatal)
            failures++;
        close_conn();
        rc = failures ? 1 : 0;
    }
    lws_sul_cancel(&tick_sul);
    lws_context_destroy(ctx);
    free(samples);
    free(b_payload);
    free(b_rxbuf);
    free(b_frame);
    return rc;
}
