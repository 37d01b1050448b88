/*
 * scale: scale and soak checks of rtws through its public C API only (bench/README.md,
 * "Scale and soak"). Every mode talks to the test server's /echo route.
 *
 *   scale URL idle N        N MessageWebSockets connected at once (every ConnectAsync
 *                           issued, then each Waited for): connects/s and RSS per open
 *                           socket; then, after --hold seconds idle, one echo on every
 *                           socket (all must still be open); then all closed
 *   scale URL cycles N      N connect + one echo + close + release cycles, --parallel P
 *                           at a time, in --samples rounds; after each round (a quiet
 *                           point: no socket alive) the open fds must be back to the
 *                           baseline exactly, and RSS is sampled: the last sample may
 *                           exceed the first one after the warm-up round by at most
 *                           --rss-tolerance-mib
 *   scale URL soak N SECS   N sockets, each echoing a 32-byte message in a loop (the next
 *                           one sent from MessageReceived) for SECS seconds; RSS sampled
 *                           every second; fails when every sample of the last quarter is
 *                           above the highest of the first half by more than
 *                           --rss-tolerance-mib, or on any failed, wrong or stalled echo
 *
 *   options: --max-secs S                idle, cycles: the connect loop and the cycles
 *                                        stop after S seconds (default 120): not all
 *                                        done is a failure
 *            --hold S                    idle: seconds idle before the echo check (1)
 *            --max-kib-per-socket K      idle: fail when RSS per open socket is above K
 *            --max-heap-kib-per-socket K idle: fail when the live heap per open socket
 *                                        (glibc's mallinfo2) is above K
 *            --parallel P                cycles: cycles run by P threads at once (1)
 *            --samples K                 cycles: rounds, one RSS/fd sample each (20)
 *            --rss-tolerance-mib M       cycles, soak: allowed RSS growth (4 MiB)
 *            --leak                      self-check of the checks: the host drops its
 *                                        socket, DataWriter and DataReader references
 *                                        instead of releasing them, so the RSS checks
 *                                        must fail (cycles: ~6 KiB per cycle; soak:
 *                                        ~4 KiB per echo, as a kept DataReader keeps the
 *                                        read buffer its message was cut from)
 *
 * Exit status: 0 on success; 1 with a "scale: FAIL: ..." line on stderr on failure; 77
 * ("scale: SKIP: ...") when the hard RLIMIT_NOFILE is below what N sockets need (the soft
 * limit is raised to the hard one first; ctest treats 77 as skipped); 2 on bad usage;
 * 3 when the watchdog (alarm) ends a hung run. Every number is printed on its own line,
 * and each mode ends with "RESULT mode=M metric=NAME value=V n=COUNT" lines.
 *
 * The test server is another process: it is started by tests/run_with_server.py in the
 * same environment, so it has the same hard limit, and raises its soft limit to it at
 * startup (testserver/src/main.rs, raise_nofile_limit). If it still ran out of
 * descriptors, its accepts would fail ("accept: ... Too many open files" on its stderr)
 * and the connects here would fail or time out, which is reported as a failure.
 *
 * RSS is VmRSS from /proc/self/status, the fd count the entries of /proc/self/fd (Linux).
 * Before any baseline is read, one socket goes through a whole cycle (connect, echo,
 * close, release) so that rtws's runtime and threads exist.
 */
#define _GNU_SOURCE
#include <rtws.h>

#include "procstat.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SKIP_STATUS 77
#define MSG_LEN 32             /* every message: MSG_LEN bytes, see fill_msg */
#define OP_TIMEOUT_MS 10000    /* one connect, store, echo or close of one socket */
#define FD_SETTLE_MS 5000      /* how long fds may take to come back after a close */
#define FD_MARGIN 64           /* descriptors beyond one per socket (runtime, stdio, ...) */
#define NS_PER_S 1000000000LL

static double max_secs = 120;
static double hold_secs = 1;
static double max_kib_per_socket = -1;      /* < 0: not checked */
static double max_heap_kib_per_socket = -1; /* < 0: not checked */
static long parallel = 1;
static long samples = 20;
static double rss_tolerance_mib = 4;
static int leak_handles; /* --leak: the self-check of the checks */

/* ---- small helpers ------------------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static double secs_since(int64_t t0)
{
    return (double)(now_ns() - t0) / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The first failure is kept (and printed at once); the run ends with status 1. */
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long failures;

static void failf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&fail_lock);
    /* Many sockets can fail the same way at once: the first few tell the story. */
    long n = atomic_fetch_add(&failures, 1);
    if (n < 10) {
        fputs("scale: FAIL: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    } else if (n == 10) {
        fputs("scale: (further failures not shown)\n", stderr);
    }
    pthread_mutex_unlock(&fail_lock);
    va_end(ap);
}

static void fail_hr(const char *what, long index, HRESULT hr)
{
    failf("%s (socket %ld): 0x%08X: %s", what, index, (unsigned)hr, rtws_GetLastErrorMessage());
}

static void result(const char *mode, const char *metric, double value, long n)
{
    printf("RESULT mode=%s metric=%s value=%.3f n=%ld\n", mode, metric, value, n);
    fflush(stdout);
}

/* Bytes malloc has handed out and not got back (all arenas, mmapped blocks included),
 * -1 when unknown: the live heap, which VmRSS exceeds by what the allocator keeps. */
static long heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return (long)(mi.uordblks + mi.hblkhd);
#else
    return -1;
#endif
}

/* Open file descriptors of this process (the directory's own one not counted), -1 when
 * unknown. */
static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1;
}

/* Polls (bounded) until the fd count is back to `baseline`; returns the last count. */
static long settle_fds(long baseline)
{
    int64_t limit = now_ns() + (int64_t)FD_SETTLE_MS * 1000000;
    long fds = count_fds();
    while (fds != baseline && now_ns() < limit) {
        sleep_ms(10);
        fds = count_fds();
    }
    return fds;
}

/* Soft RLIMIT_NOFILE raised to the hard limit. Returns 0, or SKIP_STATUS (with a message)
 * when the hard limit is below `need`. */
static int raise_nofile(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fprintf(stderr, "scale: getrlimit(RLIMIT_NOFILE): %s\n", strerror(errno));
        return 0; /* try anyway */
    }
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)need) {
        printf("scale: SKIP: %ld file descriptors needed, the hard RLIMIT_NOFILE is %lu "
               "(raise it, e.g. ulimit -Hn %ld as root, or nofile in limits.conf); the test "
               "server needs as many\n",
               need, (unsigned long)rl.rlim_max, need);
        fflush(stdout);
        return SKIP_STATUS;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            /* An unlimited hard limit may still refuse an unlimited soft one. */
            rl.rlim_cur = (rlim_t)need > old ? (rlim_t)need : old;
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                fprintf(stderr, "scale: setrlimit(RLIMIT_NOFILE): %s\n", strerror(errno));
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)need) {
        printf("scale: SKIP: %ld file descriptors needed, the soft RLIMIT_NOFILE stays at %lu\n",
               need, (unsigned long)rl.rlim_cur);
        fflush(stdout);
        return SKIP_STATUS;
    }
    return 0;
}

/* ---- sockets ---------------------------------------------------------------------------- */

/* What the handlers of a set of sockets report to the thread that waits for them. */
struct group {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long echoed; /* echoes that matched */
    long closed; /* Closed events */
    long idle;   /* soak: sockets whose last echo came back after the stop */
};

struct sock {
    MessageWebSocket *ws;
    IAsyncAction *connect;
    DataWriter *writer;
    struct group *group;
    long index;
    int connected;         /* its ConnectAsync succeeded */
    long seq;              /* the number in the message in flight */
    atomic_long echoes;    /* echoes received (and matched) */
    atomic_int closing;    /* set before the host closes it: a Closed is then expected */
    atomic_int closed;
    atomic_int soak;       /* the handler sends the next message */
    atomic_int *stop;      /* soak: set when the time is up (NULL otherwise) */
};

static void group_init(struct group *g)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cond, &ca);
    pthread_condattr_destroy(&ca);
}

static void group_destroy(struct group *g)
{
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->cond);
}

/* Waits until *counter reaches `want` or CLOCK_MONOTONIC passes `limit_ns` (or, with
 * `until_failure`, a failure is reported); returns the counter. */
static long group_wait_ex(struct group *g, long *counter, long want, int64_t limit_ns,
                          int until_failure)
{
    struct timespec ts = {limit_ns / NS_PER_S, limit_ns % NS_PER_S};
    pthread_mutex_lock(&g->lock);
    while (*counter < want && !(until_failure && atomic_load(&failures) != 0)) {
        if (pthread_cond_timedwait(&g->cond, &g->lock, &ts) == ETIMEDOUT)
            break;
    }
    long got = *counter;
    pthread_mutex_unlock(&g->lock);
    return got;
}

/* group_wait_ex that gives up at the first failure (a failed socket will not deliver). */
static long group_wait(struct group *g, long *counter, long want, int64_t limit_ns)
{
    return group_wait_ex(g, counter, want, limit_ns, 1);
}

static long group_get(struct group *g, const long *counter)
{
    pthread_mutex_lock(&g->lock);
    long v = *counter;
    pthread_mutex_unlock(&g->lock);
    return v;
}

static void group_add(struct group *g, long *counter)
{
    pthread_mutex_lock(&g->lock);
    (*counter)++;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* Wakes the waiter after a failure (group_wait gives up once failures != 0). */
static void group_poke(struct group *g)
{
    pthread_mutex_lock(&g->lock);
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* The message with number `seq` of socket `index`: MSG_LEN bytes, the rest spaces. */
static void fill_msg(uint8_t out[MSG_LEN], long index, long seq)
{
    char text[MSG_LEN + 1];
    int n = snprintf(text, sizeof text, "rtws-scale %ld %ld", index, seq);
    if (n < 0)
        n = 0;
    if (n > MSG_LEN)
        n = MSG_LEN;
    memset(out, ' ', MSG_LEN);
    memcpy(out, text, (size_t)n);
}

/* WriteBytes + StoreAsync of message `seq`; with wait_ms 0 the operation is released
 * unwaited (stores go out in call order; a failure then ends the connection, which the
 * missing echo shows). */
static HRESULT send_msg(struct sock *s, long seq, uint32_t wait_ms)
{
    uint8_t msg[MSG_LEN];
    fill_msg(msg, s->index, seq);
    IAsyncOperationUInt32 *op = NULL;
    HRESULT hr = DataWriter_WriteBytes(s->writer, MSG_LEN, msg);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(s->writer, &op);
    if (RTWS_SUCCEEDED(hr) && wait_ms) {
        uint32_t stored = 0;
        hr = IAsyncOperationUInt32_Wait(op, wait_ms, &stored);
        if (RTWS_SUCCEEDED(hr) && stored != MSG_LEN) {
            failf("StoreAsync (socket %ld) stored %u bytes, not %d", s->index, stored, MSG_LEN);
            hr = E_UNEXPECTED;
        }
    }
    if (op)
        IAsyncOperationUInt32_Release(op);
    return hr;
}

static void on_message(void *context, MessageWebSocket *sender,
                       MessageWebSocketMessageReceivedEventArgs *args)
{
    struct sock *s = context;
    (void)sender;
    DataReader *reader = NULL;
    HRESULT hr = MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &reader);
    if (RTWS_FAILED(hr)) {
        /* The connection failed (a Closed follows). */
        fail_hr("MessageReceived", s->index, hr);
        group_poke(s->group);
        return;
    }
    uint32_t len = 0;
    uint8_t got[MSG_LEN], want[MSG_LEN];
    DataReader_get_UnconsumedBufferLength(reader, &len);
    if (len == MSG_LEN)
        hr = DataReader_ReadBytes(reader, MSG_LEN, got);
    if (!leak_handles)
        DataReader_Release(reader);
    fill_msg(want, s->index, s->seq);
    if (len != MSG_LEN || RTWS_FAILED(hr) || memcmp(got, want, MSG_LEN) != 0) {
        if (RTWS_FAILED(hr))
            fail_hr("ReadBytes", s->index, hr);
        else
            failf("socket %ld: echo of %u bytes does not match message %ld", s->index, len,
                  s->seq);
        group_poke(s->group);
        return;
    }
    atomic_fetch_add(&s->echoes, 1);
    if (atomic_load(&s->soak)) {
        if (atomic_load(s->stop)) {
            group_add(s->group, &s->group->idle);
            return;
        }
        s->seq++;
        hr = send_msg(s, s->seq, 0);
        if (RTWS_FAILED(hr)) {
            fail_hr("StoreAsync (in MessageReceived)", s->index, hr);
            group_poke(s->group);
        }
        return;
    }
    group_add(s->group, &s->group->echoed);
}

static void on_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    struct sock *s = context;
    (void)sender;
    if (!atomic_load(&s->closing)) {
        uint16_t code = 0;
        WebSocketClosedEventArgs_get_Code(args, &code);
        failf("socket %ld closed unexpectedly (code %u) after %ld echoes", s->index,
              (unsigned)code, atomic_load(&s->echoes));
    }
    atomic_store(&s->closed, 1);
    group_add(s->group, &s->group->closed);
}

/* Creates the socket with both handlers and starts its ConnectAsync. */
static HRESULT sock_start(struct sock *s, const char *url)
{
    EventRegistrationToken t1, t2;
    HRESULT hr = MessageWebSocket_Create(&s->ws);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_add_MessageReceived(s->ws, on_message, s, &t1);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_add_Closed(s->ws, on_closed, s, &t2);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_ConnectAsync(s->ws, url, &s->connect);
    return hr;
}

/* Waits for the connect (bounded) and releases the operation. */
static HRESULT sock_wait_connect(struct sock *s, uint32_t wait_ms)
{
    HRESULT hr = IAsyncAction_Wait(s->connect, wait_ms);
    IAsyncAction_Release(s->connect);
    s->connect = NULL;
    s->connected = RTWS_SUCCEEDED(hr);
    return hr;
}

/* The socket's DataWriter, for every send. */
static HRESULT sock_make_writer(struct sock *s)
{
    IOutputStream *out = NULL;
    HRESULT hr = MessageWebSocket_get_OutputStream(s->ws, &out);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_CreateDataWriter(out, &s->writer);
    if (out)
        IOutputStream_Release(out);
    return hr;
}

/* Starts the close handshake (a Closed event is then expected). */
static void sock_close(struct sock *s)
{
    atomic_store(&s->closing, 1);
    if (s->ws)
        MessageWebSocket_CloseWithStatus(s->ws, 1000, NULL);
}

/* Gives the writer's stream back and releases the writer, the operation and the socket. */
static void sock_release(struct sock *s)
{
    if (leak_handles) {
        /* The self-check: the host "forgets" its references (closed sockets stay alive). */
        s->connect = NULL;
        s->writer = NULL;
        s->ws = NULL;
        return;
    }
    if (s->connect) {
        IAsyncAction_Release(s->connect);
        s->connect = NULL;
    }
    if (s->writer) {
        IOutputStream *detached = NULL;
        if (RTWS_SUCCEEDED(DataWriter_DetachStream(s->writer, &detached)))
            IOutputStream_Release(detached);
        DataWriter_Release(s->writer);
        s->writer = NULL;
    }
    if (s->ws) {
        MessageWebSocket_Release(s->ws);
        s->ws = NULL;
    }
}

static void sock_reset(struct sock *s, struct group *g, long index)
{
    memset(s, 0, sizeof *s);
    s->group = g;
    s->index = index;
}

/* One whole cycle on `s` (already reset): connect, one echo, close, release. Returns 0 on
 * success (a failure is reported). The group must be used by this thread only. */
static int one_cycle(struct sock *s, const char *url)
{
    struct group *g = s->group;
    long echoed0 = group_get(g, &g->echoed), closed0 = group_get(g, &g->closed);
    HRESULT hr = sock_start(s, url);
    if (RTWS_SUCCEEDED(hr))
        hr = sock_wait_connect(s, OP_TIMEOUT_MS);
    if (RTWS_SUCCEEDED(hr))
        hr = sock_make_writer(s);
    if (RTWS_FAILED(hr)) {
        fail_hr("ConnectAsync", s->index, hr);
        sock_release(s);
        return 1;
    }
    hr = send_msg(s, 0, OP_TIMEOUT_MS);
    if (RTWS_FAILED(hr)) {
        fail_hr("StoreAsync", s->index, hr);
        sock_close(s);
        sock_release(s);
        return 1;
    }
    int rc = 0;
    int64_t limit = now_ns() + (int64_t)OP_TIMEOUT_MS * 1000000;
    if (group_wait(g, &g->echoed, echoed0 + 1, limit) < echoed0 + 1) {
        if (atomic_load(&failures) == 0)
            failf("socket %ld: no echo within %d ms", s->index, OP_TIMEOUT_MS);
        rc = 1;
    }
    sock_close(s);
    limit = now_ns() + (int64_t)OP_TIMEOUT_MS * 1000000;
    if (rc == 0 && group_wait(g, &g->closed, closed0 + 1, limit) < closed0 + 1) {
        if (atomic_load(&failures) == 0)
            failf("socket %ld: no Closed event within %d ms of Close", s->index, OP_TIMEOUT_MS);
        rc = 1;
    }
    sock_release(s);
    return rc;
}

/* The warm-up: one whole cycle, so that rtws's runtime and threads exist before any
 * baseline is read. */
static int warm_up(const char *url)
{
    struct group g;
    group_init(&g);
    struct sock s;
    sock_reset(&s, &g, -1);
    int rc = one_cycle(&s, url);
    group_destroy(&g);
    if (rc)
        fprintf(stderr, "scale: the warm-up cycle (socket -1) failed\n");
    if (rc == 0)
        sleep_ms(100); /* let the warm-up's close settle */
    return rc;
}

/* Closes sockets [0, n), waits (bounded) for the Closed events of those that were open
 * (connected, no Closed yet: their number goes to *open), releases them all. Returns the
 * Closed events that came. */
static long close_all(struct sock *socks, long n, struct group *g, long *open)
{
    long closed0 = group_get(g, &g->closed);
    *open = 0;
    for (long i = 0; i < n; i++) {
        if (socks[i].connected && !atomic_load(&socks[i].closed))
            (*open)++;
        sock_close(&socks[i]);
    }
    int64_t limit = now_ns() + (int64_t)(30 + n / 1000) * NS_PER_S;
    /* Waited for even after a failure: the fd check after it needs the closes done. */
    long closed = group_wait_ex(g, &g->closed, closed0 + *open, limit, 0) - closed0;
    for (long i = 0; i < n; i++)
        sock_release(&socks[i]);
    return closed;
}

/* What idle and soak do first for n sockets: fds for them, a warmed-up library, their
 * group. 0, or the mode's exit status. */
static int start_sockets(const char *url, long n, struct group *g)
{
    int rc = raise_nofile(n + FD_MARGIN);
    if (rc)
        return rc;
    if (warm_up(url))
        return 1;
    group_init(g);
    return 0;
}

/* ---- idle ------------------------------------------------------------------------------- */

static int idle_mode(const char *url, long n)
{
    struct group g;
    int rc = start_sockets(url, n, &g);
    if (rc)
        return rc;
    /* The host's own array, allocated and touched before the first reading. */
    struct sock *socks = calloc((size_t)n, sizeof *socks);
    if (!socks) {
        failf("out of memory");
        return 1;
    }
    for (long i = 0; i < n; i++)
        sock_reset(&socks[i], &g, i);
    long fds0 = count_fds(), rss0 = rss_kib(), heap0 = heap_in_use();

    int64_t t0 = now_ns();
    int64_t limit = t0 + (int64_t)(max_secs * 1e9);
    long started = 0;
    for (long i = 0; i < n && now_ns() < limit; i++) {
        HRESULT hr = sock_start(&socks[i], url);
        if (RTWS_FAILED(hr)) {
            fail_hr("ConnectAsync", i, hr);
            sock_release(&socks[i]);
            break;
        }
        started++;
    }
    double issued_s = secs_since(t0);
    long opened = 0;
    for (long i = 0; i < started; i++) {
        int64_t left = (limit + 30 * NS_PER_S - now_ns()) / 1000000;
        HRESULT hr = sock_wait_connect(&socks[i], left > 0 ? (uint32_t)left : 0);
        if (RTWS_SUCCEEDED(hr))
            opened++;
        else
            fail_hr("ConnectAsync (Wait)", i, hr);
    }
    double connect_s = secs_since(t0);
    sleep_ms(100); /* all open and idle */
    long rss_open = rss_kib(), fds_open = count_fds(), heap_open = heap_in_use();
    double kib_per = opened ? (double)(rss_open - rss0) / (double)opened : 0;
    printf("scale idle: %ld of %ld sockets connected in %.3f s (every ConnectAsync issued "
           "after %.3f s): %.0f connects/s\n",
           opened, n, connect_s, issued_s, connect_s > 0 ? (double)opened / connect_s : 0);
    printf("scale idle: VmRSS %ld KiB before, %ld KiB with %ld open: %+.2f KiB per socket\n",
           rss0, rss_open, opened, kib_per);
    double heap_per = heap0 >= 0 && opened ? (double)(heap_open - heap0) / 1024.0 / (double)opened
                                           : -1;
    if (heap_per >= 0)
        printf("scale idle: heap in use (mallinfo2) %ld KiB before, %ld KiB with %ld open: "
               "%+.2f KiB per socket\n",
               heap0 / 1024, heap_open / 1024, opened, heap_per);
#if defined(__GLIBC__)
    /* What of the RSS growth is free heap glibc kept (the connects' high-water mark):
     * malloc_trim returns every free page to the kernel. Read after the figure above. */
    malloc_trim(0);
    long rss_trim = rss_kib();
    printf("scale idle: after malloc_trim(0): VmRSS %ld KiB: %+.2f KiB per socket\n", rss_trim,
           opened ? (double)(rss_trim - rss0) / (double)opened : 0);
#endif
    printf("scale idle: open fds %ld before, %ld with %ld open (%+.3f per socket)\n", fds0,
           fds_open, opened, opened ? (double)(fds_open - fds0) / (double)opened : 0);
    fflush(stdout);
    if (opened < n)
        failf("only %ld of %ld sockets connected", opened, n);
    if (fds_open - fds0 > opened + FD_MARGIN)
        failf("%ld more fds with %ld sockets open: more than one per socket", fds_open - fds0,
              opened);
    if (max_kib_per_socket >= 0 && kib_per > max_kib_per_socket)
        failf("%.2f KiB of RSS per open socket, the limit is %g", kib_per, max_kib_per_socket);
    if (max_heap_kib_per_socket >= 0 && heap_per < 0)
        printf("scale idle: no mallinfo2 here (glibc 2.33 or later): the heap limit is not "
               "checked\n");
    else if (max_heap_kib_per_socket >= 0 && heap_per > max_heap_kib_per_socket)
        failf("%.2f KiB of live heap per open socket, the limit is %g", heap_per,
              max_heap_kib_per_socket);

    /* Idle for --hold seconds: no socket may close meanwhile. */
    int64_t hold_end = now_ns() + (int64_t)(hold_secs * 1e9);
    while (atomic_load(&failures) == 0 && now_ns() < hold_end)
        sleep_ms(50);
    long closed_idle = group_get(&g, &g.closed);

    /* Every socket echoes one message: all stores issued, then the echoes awaited. */
    int64_t t_echo = now_ns();
    long sent = 0;
    for (long i = 0; i < n && atomic_load(&failures) == 0; i++) {
        if (!socks[i].connected)
            continue; /* not started, or its connect failed (reported) */
        HRESULT hr = sock_make_writer(&socks[i]);
        if (RTWS_SUCCEEDED(hr))
            hr = send_msg(&socks[i], 0, 0);
        if (RTWS_FAILED(hr)) {
            fail_hr("StoreAsync", i, hr);
            break;
        }
        sent++;
    }
    long echoed = group_wait(&g, &g.echoed, sent, now_ns() + (int64_t)(30 + n / 500) * NS_PER_S);
    double echo_s = secs_since(t_echo);
    printf("scale idle: after %.1f s idle, %ld of %ld open sockets echoed (%.3f s), %ld "
           "closed meanwhile\n",
           hold_secs, echoed, opened, echo_s, closed_idle);
    if (echoed < opened && atomic_load(&failures) == 0)
        failf("%ld of %ld open sockets did not echo within the time limit", opened - echoed,
              opened);

    int64_t t_close = now_ns();
    long still_open = 0;
    long closed = close_all(socks, n, &g, &still_open);
    double close_s = secs_since(t_close);
    long fds_after = settle_fds(fds0), rss_after = rss_kib();
    printf("scale idle: %ld Closed events in %.3f s after closing; then open fds %ld "
           "(baseline %ld), VmRSS %ld KiB\n",
           closed, close_s, fds_after, fds0, rss_after);
    if (closed < still_open)
        failf("%ld of %ld Closed events after Close", closed, still_open);
    if (fds_after != fds0)
        failf("%ld fds open after closing every socket, %ld before: %+ld", fds_after, fds0,
              fds_after - fds0);

    result("idle", "connects_per_s", connect_s > 0 ? (double)opened / connect_s : 0, opened);
    result("idle", "rss_KiB_per_socket", kib_per, opened);
    if (heap_per >= 0)
        result("idle", "heap_KiB_per_socket", heap_per, opened);
    free(socks);
    group_destroy(&g);
    rtws_Shutdown(2000);
    return atomic_load(&failures) ? 1 : 0;
}

/* ---- cycles ----------------------------------------------------------------------------- */

struct worker {
    pthread_t thread;
    const char *url;
    long first, count; /* cycle numbers [first, first + count) */
    int64_t limit_ns;
    long done;
};

static void *cycle_worker(void *arg)
{
    struct worker *w = arg;
    struct group g;
    group_init(&g);
    struct sock s;
    for (long i = 0; i < w->count; i++) {
        if (atomic_load(&failures) || now_ns() >= w->limit_ns)
            break;
        sock_reset(&s, &g, w->first + i);
        if (one_cycle(&s, w->url))
            break;
        w->done++;
    }
    group_destroy(&g);
    return NULL;
}

static int cycles_mode(const char *url, long n)
{
    int rc = raise_nofile(parallel + FD_MARGIN);
    if (rc)
        return rc;
    if (samples < 2)
        samples = 2;
    if (samples > n)
        samples = n;
    if (warm_up(url))
        return 1;
    struct worker *workers = calloc((size_t)parallel, sizeof *workers);
    long *rss = calloc((size_t)samples, sizeof *rss);
    if (!workers || !rss) {
        failf("out of memory");
        return 1;
    }
    long fds0 = count_fds(), rss0 = rss_kib();
    printf("scale cycles: %ld cycles (connect, one echo, close, release), %ld at a time, in "
           "%ld rounds; baseline: open fds %ld, VmRSS %ld KiB\n",
           n, parallel, samples, fds0, rss0);
    fflush(stdout);

    int64_t t0 = now_ns();
    int64_t limit = t0 + (int64_t)(max_secs * 1e9);
    long done = 0, taken = 0;
    for (long r = 0; r < samples && atomic_load(&failures) == 0; r++) {
        /* Round r: cycles [done, end), split between the workers. */
        long end = n * (r + 1) / samples, round = end - done;
        int64_t tr = now_ns();
        for (long p = 0; p < parallel; p++) {
            struct worker *w = &workers[p];
            w->url = url;
            w->first = done + round * p / parallel;
            w->count = done + round * (p + 1) / parallel - w->first;
            w->limit_ns = limit;
            w->done = 0;
            if (pthread_create(&w->thread, NULL, cycle_worker, w) != 0) {
                failf("pthread_create: %s", strerror(errno));
                w->count = -1;
            }
        }
        long round_done = 0;
        for (long p = 0; p < parallel; p++) {
            if (workers[p].count >= 0) {
                pthread_join(workers[p].thread, NULL);
                round_done += workers[p].done;
            }
        }
        done += round_done;
        double round_s = secs_since(tr);
        /* A quiet point: every socket of the round is released. */
        long fds = settle_fds(fds0);
        rss[taken++] = rss_kib();
        printf("scale cycles: sample %ld: %ld cycles done (%.0f cycles/s in this round), open "
               "fds %ld, VmRSS %ld KiB\n",
               taken, done, round_s > 0 ? (double)round_done / round_s : 0, fds, rss[taken - 1]);
        fflush(stdout);
        if (fds != fds0)
            failf("after %ld cycles %ld fds are open, %ld at the start: %+ld", done, fds, fds0,
                  fds - fds0);
        if (round_done < round && atomic_load(&failures) == 0)
            failf("only %ld of %ld cycles done within --max-secs %g", done, n, max_secs);
    }
    double total_s = secs_since(t0);
    /* Sample 1 follows the warm-up round (the first 1/samples of the cycles). */
    long growth = taken >= 2 ? rss[taken - 1] - rss[0] : 0;
    long peak = 0;
    for (long i = 0; i < taken; i++)
        peak = rss[i] > peak ? rss[i] : peak;
    printf("scale cycles: %ld cycles in %.2f s (%.0f cycles/s); VmRSS %ld KiB at the start, "
           "%ld after the warm-up round, %ld at the end (%+ld KiB since the warm-up round, "
           "tolerance %.0f KiB), highest sample %ld KiB\n",
           done, total_s, total_s > 0 ? (double)done / total_s : 0, rss0, taken ? rss[0] : -1,
           taken ? rss[taken - 1] : -1, growth, rss_tolerance_mib * 1024, peak);
    if ((double)growth > rss_tolerance_mib * 1024)
        failf("VmRSS grew by %ld KiB between the first sample after the warm-up round and the "
              "last (tolerance %g MiB)",
              growth, rss_tolerance_mib);
    if (done < n && atomic_load(&failures) == 0)
        failf("only %ld of %ld cycles done", done, n);
    result("cycles", "cycles_per_s", total_s > 0 ? (double)done / total_s : 0, done);
    result("cycles", "rss_growth_KiB", (double)growth, done);
    free(workers);
    free(rss);
    rtws_Shutdown(2000);
    return atomic_load(&failures) ? 1 : 0;
}

/* ---- soak ------------------------------------------------------------------------------- */

#define STALL_SECS 5 /* a socket without an echo for this long is stuck */

static int soak_mode(const char *url, long n, long secs)
{
    struct group g;
    int rc = start_sockets(url, n, &g);
    if (rc)
        return rc;
    atomic_int stop = 0;
    struct sock *socks = calloc((size_t)n, sizeof *socks);
    long *last = calloc((size_t)n, sizeof *last);
    int64_t *last_change = calloc((size_t)n, sizeof *last_change);
    long *rss = calloc((size_t)secs + 1, sizeof *rss);
    if (!socks || !last || !last_change || !rss) {
        failf("out of memory");
        return 1;
    }
    long fds0 = count_fds(), rss0 = rss_kib();
    long opened = 0;
    for (long i = 0; i < n; i++) {
        sock_reset(&socks[i], &g, i);
        socks[i].stop = &stop;
        atomic_store(&socks[i].soak, 1);
        HRESULT hr = sock_start(&socks[i], url);
        if (RTWS_FAILED(hr)) {
            fail_hr("ConnectAsync", i, hr);
            break;
        }
    }
    for (long i = 0; i < n && atomic_load(&failures) == 0; i++) {
        HRESULT hr = sock_wait_connect(&socks[i], OP_TIMEOUT_MS);
        if (RTWS_SUCCEEDED(hr))
            hr = sock_make_writer(&socks[i]);
        if (RTWS_FAILED(hr))
            fail_hr("ConnectAsync (Wait)", i, hr);
        else
            opened++;
    }
    printf("scale soak: %ld sockets open, each echoing %d-byte messages for %ld s; baseline: "
           "open fds %ld, VmRSS %ld KiB\n",
           opened, MSG_LEN, secs, fds0, rss0);
    fflush(stdout);

    int64_t t0 = now_ns();
    for (long i = 0; i < n && atomic_load(&failures) == 0; i++) {
        HRESULT hr = send_msg(&socks[i], 0, 0);
        if (RTWS_FAILED(hr))
            fail_hr("StoreAsync", i, hr);
        last_change[i] = t0;
    }
    long taken = 0, prev_total = 0;
    for (long s = 1; s <= secs && atomic_load(&failures) == 0; s++) {
        int64_t at = t0 + s * NS_PER_S;
        for (int64_t left; (left = at - now_ns()) > 0 && atomic_load(&failures) == 0;)
            sleep_ms(left > 50000000 ? 50 : (long)(left / 1000000) + 1);
        if (atomic_load(&failures))
            break;
        int64_t t = now_ns();
        long total = 0, slowest = -1;
        for (long i = 0; i < n; i++) {
            long e = atomic_load(&socks[i].echoes);
            total += e;
            if (e != last[i]) {
                last[i] = e;
                last_change[i] = t;
            } else if (t - last_change[i] >= STALL_SECS * NS_PER_S) {
                failf("socket %ld: no echo for %d s (after %ld echoes)", i, STALL_SECS, e);
                break;
            }
            if (slowest < 0 || e < last[slowest])
                slowest = i;
        }
        rss[taken++] = rss_kib();
        printf("scale soak: t=%ld s VmRSS %ld KiB, %ld echoes/s, %ld in all (fewest on one "
               "socket: %ld)\n",
               s, rss[taken - 1], total - prev_total, total, slowest >= 0 ? last[slowest] : 0);
        fflush(stdout);
        prev_total = total;
    }
    double soak_s = secs_since(t0);
    atomic_store(&stop, 1);
    /* Each socket has one message in flight: its echo ends its loop. */
    long idle = group_wait(&g, &g.idle, opened, now_ns() + (int64_t)OP_TIMEOUT_MS * 1000000);
    long total = 0;
    for (long i = 0; i < n; i++)
        total += atomic_load(&socks[i].echoes);
    if (idle < opened && atomic_load(&failures) == 0)
        failf("%ld of %ld sockets did not get their last echo after the stop", opened - idle,
              opened);

    long still_open = 0;
    long closed = close_all(socks, n, &g, &still_open);
    long fds_after = settle_fds(fds0), rss_after = rss_kib();
    printf("scale soak: %ld echoes in %.1f s (%.0f/s), %ld Closed events; then open fds %ld "
           "(baseline %ld), VmRSS %ld KiB\n",
           total, soak_s, soak_s > 0 ? (double)total / soak_s : 0, closed, fds_after, fds0,
           rss_after);
    if (closed < still_open)
        failf("%ld of %ld Closed events after Close", closed, still_open);
    if (fds_after != fds0)
        failf("%ld fds open after closing every socket, %ld before: %+ld", fds_after, fds0,
              fds_after - fds0);

    /* Growth: every sample of the last quarter above the highest of the first half. */
    if (taken >= 4) {
        long half = taken / 2, quarter = taken / 4;
        long max_first = 0, min_last = -1;
        for (long i = 0; i < half; i++)
            max_first = rss[i] > max_first ? rss[i] : max_first;
        for (long i = taken - quarter; i < taken; i++)
            min_last = min_last < 0 || rss[i] < min_last ? rss[i] : min_last;
        printf("scale soak: VmRSS highest in the first half %ld KiB, lowest in the last "
               "quarter %ld KiB (%+ld KiB, tolerance %.0f KiB)\n",
               max_first, min_last, min_last - max_first, rss_tolerance_mib * 1024);
        if ((double)(min_last - max_first) > rss_tolerance_mib * 1024)
            failf("VmRSS keeps growing: the last quarter of the samples is %ld KiB or more above "
                  "the first half's highest (tolerance %g MiB)",
                  min_last - max_first, rss_tolerance_mib);
        result("soak", "rss_growth_KiB", (double)(min_last - max_first), taken);
    } else if (atomic_load(&failures) == 0) {
        failf("%ld RSS samples: the growth check needs 4 or more (run for 4 s or more)", taken);
    }
    result("soak", "echoes_per_s", soak_s > 0 ? (double)total / soak_s : 0, total);
    free(socks);
    free(last);
    free(last_change);
    free(rss);
    group_destroy(&g);
    rtws_Shutdown(2000);
    return atomic_load(&failures) ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------------------- */


static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s ws://127.0.0.1:PORT/echo idle N [--hold S] [--max-kib-per-socket K]\n"
            "                                   [--max-heap-kib-per-socket K]\n"
            "       %s URL cycles N [--parallel P] [--samples K] [--rss-tolerance-mib M]\n"
            "       %s URL soak N SECONDS [--rss-tolerance-mib M]\n"
            "       (idle, cycles: [--max-secs S], default 120; any mode: [--leak])\n",
            argv0, argv0, argv0);
    return 2;
}

static int num_arg(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *args[4];
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        double v;
        const char *o = argv[i];
        int has = i + 1 < argc;
        if (strcmp(o, "--max-secs") == 0 && has && num_arg(argv[i + 1], 0.001, 86400, &v) == 0) {
            max_secs = v;
        } else if (strcmp(o, "--hold") == 0 && has && num_arg(argv[i + 1], 0, 3600, &v) == 0) {
            hold_secs = v;
        } else if (strcmp(o, "--max-kib-per-socket") == 0 && has &&
                   num_arg(argv[i + 1], 0, 1e9, &v) == 0) {
            max_kib_per_socket = v;
        } else if (strcmp(o, "--max-heap-kib-per-socket") == 0 && has &&
                   num_arg(argv[i + 1], 0, 1e9, &v) == 0) {
            max_heap_kib_per_socket = v;
        } else if (strcmp(o, "--parallel") == 0 && has &&
                   num_arg(argv[i + 1], 1, 256, &v) == 0) {
            parallel = (long)v;
        } else if (strcmp(o, "--samples") == 0 && has &&
                   num_arg(argv[i + 1], 2, 100000, &v) == 0) {
            samples = (long)v;
        } else if (strcmp(o, "--rss-tolerance-mib") == 0 && has &&
                   num_arg(argv[i + 1], 0, 1e6, &v) == 0) {
            rss_tolerance_mib = v;
        } else if (strcmp(o, "--leak") == 0) {
            leak_handles = 1;
            continue;
        } else if (o[0] == '-' && o[1] == '-') {
            return usage(argv[0]);
        } else if (nargs < 4) {
            args[nargs++] = o;
            continue;
        } else {
            return usage(argv[0]);
        }
        i++; /* the option's value */
    }
    if (nargs < 3)
        return usage(argv[0]);
    const char *url = args[0], *mode = args[1];
    double n, secs = 0;
    if (num_arg(args[2], 1, 1e7, &n) != 0)
        return usage(argv[0]);
    int soak = strcmp(mode, "soak") == 0;
    if (soak ? nargs != 4 || num_arg(args[3], 1, 86400, &secs) != 0 : nargs != 3)
        return usage(argv[0]);

    /* Every loop stops itself; the watchdog only catches a hang. */
    static const char hung[] = "scale: FAIL: watchdog: time limit exceeded, exiting\n";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "idle") == 0) {
        watchdog(hung, (unsigned)(max_secs + hold_secs + 120 + n / 200));
        return idle_mode(url, (long)n);
    }
    if (strcmp(mode, "cycles") == 0) {
        watchdog(hung, (unsigned)(max_secs + 120));
        return cycles_mode(url, (long)n);
    }
    if (soak) {
        watchdog(hung, (unsigned)(secs + 120 + n / 200));
        return soak_mode(url, (long)n, (long)secs);
    }
    return usage(argv[0]);
}
