/* What the bench programs (bench_rtws.c, scale.c, lws_client.c) share: what /proc and
 * getrusage say about this process, latency percentiles computed one way, and the
 * watchdog that ends a hung run. */
#ifndef RTWS_BENCH_PROCSTAT_H
#define RTWS_BENCH_PROCSTAT_H

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A field of /proc/self/status in KiB ("VmRSS:", "VmHWM:"), -1 when unknown. */
static inline long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    size_t len = strlen(field);
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, len) == 0) {
            v = atol(line + len);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Current resident set size (VmRSS) in KiB, -1 when unknown. */
static inline long rss_kib(void)
{
    return status_kib("VmRSS:");
}

/* Peak RSS in KiB: VmHWM, this process image's high-water mark. Not getrusage's
 * ru_maxrss (only the fallback), which on Linux survives execve: it would report the
 * parent's RSS at fork time (run.py's Python, ~14 MiB) when that is higher than ours. */
static inline long peak_rss_kib(void)
{
    long v = status_kib("VmHWM:");
    if (v <= 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        v = ru.ru_maxrss; /* KiB on Linux */
    }
    return v;
}

/* Starts a new VmHWM from the current RSS (Linux: "5" to clear_refs), so that a variant
 * run after another reports its own peak; without it (older kernels) VmHWM keeps the
 * process's peak so far, which only overstates the later variant. */
static inline void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* Process CPU time (user, system) in ms. */
static inline void cpu_ms(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3;
    *sys = ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double p50, p99, mean;
} latency_stats;

/* Sorts `s` (n > 0 samples) and summarizes it: nearest-rank p50 and p99, as the raw
 * client computes them, and the mean. */
static inline latency_stats latency_summary(double *s, long n)
{
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += s[i];
    long i50 = (long)ceil(0.50 * n) - 1, i99 = (long)ceil(0.99 * n) - 1;
    return (latency_stats){s[i50 < 0 ? 0 : i50], s[i99 < 0 ? 0 : i99], sum / n};
}

static const char *watchdog_message = "watchdog: time limit exceeded, exiting\n";

static inline void on_watchdog(int sig)
{
    (void)sig;
    /* write(2) and _exit only: async-signal-safe. */
    ssize_t w = write(2, watchdog_message, strlen(watchdog_message));
    (void)w;
    _exit(3);
}

/* Ends the process with status 3 and `message` on stderr if it still runs after
 * `secs` (called again, it re-arms): every loop stops by itself, this catches a hang. */
static inline void watchdog(const char *message, unsigned secs)
{
    watchdog_message = message;
    signal(SIGALRM, on_watchdog);
    alarm(secs);
}

#endif
