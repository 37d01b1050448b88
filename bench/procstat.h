/* What the bench programs (bench_rtws.c, scale.c, lws_client.c) share: what /proc and
 * getrusage say about this process, and the watchdog that ends a hung run. */
#ifndef RTWS_BENCH_PROCSTAT_H
#define RTWS_BENCH_PROCSTAT_H

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

/* Process CPU time (user, system) in ms. */
static inline void cpu_ms(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3;
    *sys = ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
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
