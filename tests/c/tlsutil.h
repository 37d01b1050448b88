/*
 * Shared support for the C tests that run against the test server's TLS listeners
 * (test_tls, test_certificates): their command line, the files of the test PKI, wss: URLs
 * and a StreamWebSocket byte echo. Both are run by ctest as
 *   tests/run_with_server.py --tls -- test_x ws://127.0.0.1:PORT TLS_DIR VALID EXPIRED
 *                                    WRONGNAME SELFSIGNED CLIENTAUTH [TEST...]
 * where TLS_DIR is the server's --tls-dir and the others are its TLS ports (TEST: see tu_run).
 */
#ifndef RTWS_TLSUTIL_H
#define RTWS_TLSUTIL_H

#include "testutil.h"

#include <errno.h>

/* Bound for anything that should happen promptly on loopback. */
#define WAIT_MS 10000

/* TimeSpan units: 100 ns. */
#define TS_MS(ms) ((int64_t)(ms) * 10000)

static const char *tls_dir;
static int port_valid, port_expired, port_wrongname, port_selfsigned, port_clientauth;
static char *ca_pem; /* the contents of TLS_DIR/ca.pem (each test's main reads it) */

static inline int tls_parse_port(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!end || *end != '\0' || v <= 0 || v > 65535) {
        fprintf(stderr, "bad port: %s\n", s);
        exit(2);
    }
    return (int)v;
}

/* The usual arguments of a TLS test, the program's name included (test names may follow). */
#define TLS_ARGC 8

/* Call first in main: tu_init, then TLS_DIR and the five ports (exits 2 if they are off). */
static inline void tls_init(int argc, char **argv)
{
    tu_init(argc, argv);
    if (argc < TLS_ARGC) {
        fprintf(stderr,
                "usage: %s ws://127.0.0.1:PORT TLS_DIR VALID EXPIRED WRONGNAME SELFSIGNED "
                "CLIENTAUTH\n",
                argv[0]);
        exit(2);
    }
    tls_dir = argv[2];
    port_valid = tls_parse_port(argv[3]);
    port_expired = tls_parse_port(argv[4]);
    port_wrongname = tls_parse_port(argv[5]);
    port_selfsigned = tls_parse_port(argv[6]);
    port_clientauth = tls_parse_port(argv[7]);
}

/* TLS_DIR/`name` into `path`. */
static inline void tls_path(char *path, size_t size, const char *name)
{
    snprintf(path, size, "%s/%s", tls_dir, name);
}

/* The whole file `name` in TLS_DIR, NUL-terminated (malloc'd; `*len`, if not NULL, without
 * the NUL), or NULL. */
static inline char *read_tls_file(const char *name, size_t *len)
{
    char path[1024];
    tls_path(path, sizeof path, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL) {
        if (fread(text, 1, (size_t)size, f) == (size_t)size) {
            text[size] = '\0';
            if (len)
                *len = (size_t)size;
        } else {
            free(text);
            text = NULL;
        }
    }
    fclose(f);
    return text;
}

/* "wss://HOST:PORT PATH" in a static buffer (one at a time; ConnectAsync copies it). */
static inline const char *wss(const char *host, int port, const char *path)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "wss://%s:%d%s", host, port, path);
    return buf;
}

/* Whether `hr` is one of WinINet's (HRESULT_FROM_WIN32 of 12000..12999: WININET_E_*). */
static inline int is_wininet(HRESULT hr)
{
    uint32_t u = (uint32_t)hr;
    return (u & 0xFFFF0000u) == 0x80070000u && (u & 0xFFFFu) >= 12000 && (u & 0xFFFFu) < 13000;
}

/* MessageWebSocket: sends `text` and checks that the echo comes back (through `in`, attached
 * with tu_inbox_attach) within WAIT_MS. */
static inline void mws_check_echo(MessageWebSocket *ws, tu_inbox *in, const char *text)
{
    CHECK_OK(tu_send_text(ws, text));
    MessageWebSocketMessageReceivedEventArgs *a = tu_inbox_next(in, WAIT_MS);
    CHECK(a != NULL);
    if (!a)
        return;
    unsigned char *data = NULL;
    uint32_t len = 0;
    CHECK_OK(tu_read_message(a, &data, &len));
    CHECK(len == strlen(text) && (len == 0 || memcmp(data, text, len) == 0));
    free(data);
    MessageWebSocketMessageReceivedEventArgs_Release(a);
}

/* StreamWebSocket: writes `len` bytes (at most 256) and reads them back (ReadAsync, Partial)
 * within WAIT_MS. */
static inline void sws_check_echo(StreamWebSocket *ws, const uint8_t *data, uint32_t len)
{
    IOutputStream *out = NULL;
    IInputStream *in = NULL;
    IBuffer *buf = NULL;
    IAsyncOperationUInt32 *wop = NULL;
    uint32_t n = 0, got = 0;
    uint8_t back[256] = {0};
    if (len > sizeof back)
        len = sizeof back;
    CHECK_OK(StreamWebSocket_get_OutputStream(ws, &out));
    CHECK_OK(StreamWebSocket_get_InputStream(ws, &in));
    CHECK_OK(Buffer_CreateFromBytes(data, len, &buf));
    if (!out || !in || !buf)
        goto out;
    CHECK_OK(IOutputStream_WriteAsync(out, buf, &wop));
    if (wop) {
        CHECK_OK(IAsyncOperationUInt32_Wait(wop, WAIT_MS, &n));
        CHECK(n == len);
        IAsyncOperationUInt32_Release(wop);
    }
    double deadline = tu_now_ms() + WAIT_MS;
    while (got < len && tu_now_ms() < deadline) {
        IBuffer *rbuf = NULL, *res = NULL;
        IAsyncOperationIBuffer *rop = NULL;
        uint32_t rlen = 0, copied = 0;
        CHECK_OK(Buffer_Create(len - got, &rbuf));
        if (!rbuf)
            break;
        HRESULT hr = IInputStream_ReadAsync(in, rbuf, len - got, InputStreamOptions_Partial, &rop);
        CHECK_OK(hr);
        if (rop) {
            hr = IAsyncOperationIBuffer_Wait(rop, WAIT_MS, &res);
            CHECK_OK(hr);
            if (hr == RTWS_E_TIMEOUT)
                IAsyncOperationIBuffer_Cancel(rop);
            IAsyncOperationIBuffer_Release(rop);
        }
        if (res) {
            CHECK_OK(IBuffer_get_Length(res, &rlen));
            CHECK_OK(IBuffer_CopyTo(res, 0, back + got, len - got, &copied));
            CHECK(copied == rlen);
            got += copied;
            IBuffer_Release(res);
        }
        IBuffer_Release(rbuf);
        if (hr != S_OK || rlen == 0)
            break;
    }
    CHECK(got == len);
    CHECK(memcmp(back, data, len) == 0);
out:
    if (buf)
        IBuffer_Release(buf);
    if (in)
        IInputStream_Release(in);
    if (out)
        IOutputStream_Release(out);
}

#endif
