/* What /proc says about this process, for the bench programs (bench_rtws.c, scale.c). */
#ifndef RTWS_BENCH_PROCSTAT_H
#define RTWS_BENCH_PROCSTAT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Current resident set size (VmRSS) in KiB, -1 when unknown. */
static inline long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            v = atol(line + 6);
            break;
        }
    }
    fclose(f);
    return v;
}

#endif
