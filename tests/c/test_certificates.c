/*
 * Certificates through the C ABI, against the bundled test server's TLS listeners (loopback):
 *   - Information's ServerCertificate / ServerIntermediateCertificates after a wss: connect
 *     (names, validity, SHA-1 / SHA-256 thumbprints and the DER blob, checked against the
 *     server's own files with OpenSSL's libcrypto), and NULL / empty before connect and for ws:;
 *   - Certificate_CreateCertificate (DER, PEM, garbage) and the hash caller-buffer pattern;
 *   - ServerCustomValidationRequested on both socket classes: accept, Reject, Ignorable errors,
 *     deferrals completed later on another thread, released without Complete, never completed
 *     (ConnectTimeout), abandoned by Cancel / Close; not raised when OpenSSL's validation failed,
 *     after remove_, or for ws:;
 *   - client certificates: CreateFromPkcs12 / CreateFromPem, Control get/put_ClientCertificate,
 *     mutual TLS against the clientauth listener with both socket classes;
 *   - bad input on every certificate-related function (NULL, released, wrong-type handles).
 *
 * Usage: test_certificates ws://127.0.0.1:PORT TLS_DIR VALID EXPIRED WRONGNAME SELFSIGNED
 *        CLIENTAUTH [TEST...]
 * where TLS_DIR is the server's --tls-dir (ca.pem, NAME.pem, client.pem, client-key.pem,
 * client.p12) and the others are its TLS ports (tests/CMakeLists.txt passes {tls_dir}
 * {tls_port_valid} ..., with the runner's --tls option).
 *
 * Handlers never use CHECK (they run on library threads, and the check counters are not
 * thread-safe): they record what they saw (and anything unexpected as text), and the main
 * thread checks it.
 */
#include "tlsutil.h"

#include <stdarg.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* DateTime units: 100 ns. */
#define TICKS_PER_SEC 10000000LL
#define TICKS_PER_DAY (86400LL * TICKS_PER_SEC)
/* Seconds from 1601-01-01 to 1970-01-01 (UTC). */
#define EPOCH_1601_TO_1970 11644473600LL

static char *client_pem, *client_key_pem, *valid_pem;
static unsigned char *client_p12;
static size_t client_p12_len;
static char *other_key_pem; /* a fresh EC key (PKCS#8 PEM) that matches no certificate */

/* What the test PKI (testserver/src/tls.rs) holds for one certificate, read from TLS_DIR. */
typedef struct {
    const char *file;    /* NAME.pem in TLS_DIR */
    const char *subject; /* its common name */
    const char *issuer;
    int from_days, to_days; /* validity, in days from now */
    unsigned char *der;
    int der_len;
    unsigned char sha1[20], sha256[32];
} pki_cert;

#define PKI_CERT(file_, subject_, from_, to_)                                                 \
    {.file = (file_), .subject = (subject_), .issuer = "rtws test CA", .from_days = (from_),  \
     .to_days = (to_)}
static pki_cert pki_valid = PKI_CERT("valid.pem", "rtws test valid", -1, 30);
static pki_cert pki_expired = PKI_CERT("expired.pem", "rtws test expired", -30, -1);
static pki_cert pki_wrongname = PKI_CERT("wrongname.pem", "rtws test wrongname", -1, 30);
static pki_cert pki_clientauth = PKI_CERT("clientauth.pem", "rtws test clientauth", -1, 30);
static pki_cert pki_client = PKI_CERT("client.pem", "rtws test client", -1, 30);
static pki_cert pki_ca = PKI_CERT("ca.pem", "rtws test CA", -1, 30); /* self-signed */

/* ---- files and libcrypto ----------------------------------------------------------- */

static void sha1_of(const void *data, size_t len, unsigned char out[20])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_sha1(), NULL) || n != 20)
        memset(out, 0, 20);
}

static void sha256_of(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != 32)
        memset(out, 0, 32);
}

/* Reads p->file (PEM), converts it to DER (PEM_read_X509 + i2d_X509), digests it. */
static int load_pki_cert(pki_cert *p)
{
    char path[1024];
    tls_path(path, sizeof path, p->file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return 0;
    }
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x) {
        fprintf(stderr, "%s holds no certificate libcrypto can read\n", path);
        return 0;
    }
    int n = i2d_X509(x, NULL);
    unsigned char *der = n > 0 ? malloc((size_t)n) : NULL, *q = der;
    if (der && i2d_X509(x, &q) == n) {
        p->der = der;
        p->der_len = n;
        sha1_of(der, (size_t)n, p->sha1);
        sha256_of(der, (size_t)n, p->sha256);
    } else {
        free(der);
    }
    X509_free(x);
    return p->der != NULL;
}

/* A new P-256 key (the test PKI's key type) as PKCS#8 PEM (malloc'd), or NULL. */
static char *generate_key_pem(void)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    char *text = NULL;
    if (ctx && EVP_PKEY_keygen_init(ctx) > 0 &&
        EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) > 0 &&
        EVP_PKEY_keygen(ctx, &key) > 0) {
        BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL;
        long len;
        if (bio && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) &&
            (len = BIO_get_mem_data(bio, &data)) > 0 && (text = malloc((size_t)len + 1))) {
            memcpy(text, data, (size_t)len);
            text[len] = '\0';
        }
        BIO_free(bio);
    }
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    return text;
}

/* DateTime of now + `days` days. */
static int64_t ticks_in_days(int days)
{
    return ((int64_t)time(NULL) + EPOCH_1601_TO_1970) * TICKS_PER_SEC + days * TICKS_PER_DAY;
}

/* ---- Certificate helpers ------------------------------------------------------------- */

/* The bytes of `c`'s GetCertificateBlob (malloc'd, length in `*len`), or NULL (checked). */
static unsigned char *cert_blob(Certificate *c, uint32_t *len)
{
    IBuffer *b = NULL;
    uint32_t n = 0, copied = 0;
    unsigned char *bytes = NULL;
    *len = 0;
    CHECK_OK(Certificate_GetCertificateBlob(c, &b));
    if (!b)
        return NULL;
    CHECK_OK(IBuffer_get_Length(b, &n));
    if (n > 0 && (bytes = malloc(n)) != NULL) {
        CHECK_OK(IBuffer_CopyTo(b, 0, bytes, n, &copied));
        CHECK(copied == n);
        *len = copied;
    }
    CHECK(IBuffer_Release(b) == 0);
    return bytes;
}

/* `c`'s SHA-1 thumbprint into `out` (zeros if it fails; checked). */
static void cert_sha1(Certificate *c, unsigned char out[20])
{
    uint32_t needed = 0;
    memset(out, 0, 20);
    CHECK_OK(Certificate_GetHashValue(c, out, 20, &needed));
    CHECK(needed == 20);
}

/* Checks that `c`'s SHA-1 thumbprint is `want` (three checks). */
static void check_thumbprint(Certificate *c, const unsigned char want[20])
{
    unsigned char h[20];
    cert_sha1(c, h);
    CHECK(memcmp(h, want, 20) == 0);
}

/* Checks that `a` and `b` have the same SHA-1 thumbprint (nothing if either is NULL). */
static void check_same_cert(Certificate *a, Certificate *b)
{
    if (a && b) {
        unsigned char ha[20];
        cert_sha1(a, ha);
        check_thumbprint(b, ha);
    }
}

static void check_string(const char *what, const char *got, const char *want)
{
    CHECK(got != NULL && strcmp(got, want) == 0);
    if (!got || strcmp(got, want) != 0)
        fprintf(stderr, "  %s is \"%s\", expected \"%s\"\n", what, got ? got : "(null)", want);
}

/* Checks a DateTime against now + `days` days, with one day of slack. */
static void check_date(const char *what, DateTime got, int days)
{
    int64_t want = ticks_in_days(days);
    int64_t diff = got.UniversalTime - want;
    CHECK(diff <= TICKS_PER_DAY && diff >= -TICKS_PER_DAY);
    if (diff > TICKS_PER_DAY || diff < -TICKS_PER_DAY)
        fprintf(stderr, "  %s is %lld ticks, expected about %lld (now %+d days): off by %.2f days\n",
                what, (long long)got.UniversalTime, (long long)want, days,
                (double)diff / (double)TICKS_PER_DAY);
}

/* Checks everything a Certificate tells against the PKI's file and digests. */
static void check_cert(Certificate *c, const pki_cert *want, bool has_key)
{
    const char *s = NULL;
    DateTime from = {0}, to = {0};
    bool key = !has_key;
    unsigned char h[64], digest[32];
    uint32_t needed = 0, len = 0;

    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_OK(Certificate_get_Subject(c, &s));
    check_string("Subject", s, want->subject);
    s = NULL;
    CHECK_OK(Certificate_get_Issuer(c, &s));
    check_string("Issuer", s, want->issuer);
    CHECK_OK(Certificate_get_ValidFrom(c, &from));
    check_date("ValidFrom", from, want->from_days);
    CHECK_OK(Certificate_get_ValidTo(c, &to));
    check_date("ValidTo", to, want->to_days);
    CHECK(to.UniversalTime > from.UniversalTime);
    CHECK_OK(Certificate_get_HasPrivateKey(c, &key));
    CHECK(key == has_key);

    /* The blob is the DER of the PKI's file; the thumbprints are its digests. */
    unsigned char *blob = cert_blob(c, &len);
    CHECK(blob != NULL && len == (uint32_t)want->der_len &&
          memcmp(blob, want->der, (size_t)want->der_len) == 0);
    if (!blob || len != (uint32_t)want->der_len)
        fprintf(stderr, "  blob of %s: %u bytes, expected %d\n", want->subject, (unsigned)len,
                want->der_len);

    memset(h, 0xEE, sizeof h);
    CHECK_OK(Certificate_GetHashValue(c, h, sizeof h, &needed));
    CHECK(needed == 20);
    if (blob) {
        sha1_of(blob, len, digest);
        CHECK(memcmp(h, digest, 20) == 0); /* SHA-1 of the blob */
    }
    CHECK(memcmp(h, want->sha1, 20) == 0);
    CHECK(h[20] == 0xEE); /* nothing past the 20 bytes */

    memset(h, 0xEE, sizeof h);
    needed = 0;
    CHECK_OK(Certificate_GetHashValueWithAlgorithm(c, "SHA256", h, sizeof h, &needed));
    CHECK(needed == 32);
    if (blob) {
        sha256_of(blob, len, digest);
        CHECK(memcmp(h, digest, 32) == 0);
    }
    CHECK(memcmp(h, want->sha256, 32) == 0);
    CHECK(h[32] == 0xEE);

    memset(h, 0xEE, sizeof h);
    needed = 0;
    CHECK_OK(Certificate_GetHashValueWithAlgorithm(c, "SHA1", h, sizeof h, &needed));
    CHECK(needed == 20);
    CHECK(memcmp(h, want->sha1, 20) == 0);
    free(blob);
}

/* Checks an IVectorViewCertificate's size and that GetAt past it is E_BOUNDS. */
static void check_cert_list(IVectorViewCertificate *v, uint32_t want)
{
    uint32_t size = 0xFFFFFFFFu;
    Certificate *c = NULL;
    CHECK(v != NULL);
    if (!v)
        return;
    CHECK_OK(IVectorViewCertificate_get_Size(v, &size));
    CHECK(size == want);
    if (size != want)
        fprintf(stderr, "  ServerIntermediateCertificates has %u, expected %u\n", (unsigned)size,
                (unsigned)want);
    for (uint32_t i = 0; i < size && i < 8; i++) {
        c = NULL;
        CHECK_OK(IVectorViewCertificate_GetAt(v, i, &c));
        CHECK(c != NULL);
        if (c)
            Certificate_Release(c);
    }
    c = NULL;
    CHECK_HR(IVectorViewCertificate_GetAt(v, size, &c), E_BOUNDS);
    CHECK(c == NULL);
    CHECK_HR(IVectorViewCertificate_GetAt(v, 0xFFFFFFFFu, &c), E_BOUNDS);
    CHECK(c == NULL);
}

/* ---- one socket of either class ------------------------------------------------------- */

typedef struct {
    int stream; /* StreamWebSocket (else MessageWebSocket) */
    MessageWebSocket *m;
    StreamWebSocket *s;
    tu_inbox in; /* MessageWebSocket: its received messages */
} sock;

static const char *class_name(int stream)
{
    return stream ? "StreamWebSocket" : "MessageWebSocket";
}

/* A new socket of the class, trusting `roots` (NULL: not set) and ignoring `ignore[0..n)`.
 * Returns 1 if made (checked). */
static int sock_open(sock *k, int stream, const char *roots, const ChainValidationResult *ignore,
                     int n)
{
    IVectorChainValidationResult *v = NULL;
    memset(k, 0, sizeof *k);
    k->stream = stream;
    if (stream) {
        StreamWebSocketControl *c = NULL;
        CHECK_OK(StreamWebSocket_Create(&k->s));
        if (!k->s)
            return 0;
        CHECK_OK(StreamWebSocket_get_Control(k->s, &c));
        if (c) {
            if (roots)
                CHECK_OK(StreamWebSocketControl_put_TrustedRootCertificates(c, roots));
            if (n > 0)
                CHECK_OK(StreamWebSocketControl_get_IgnorableServerCertificateErrors(c, &v));
            StreamWebSocketControl_Release(c);
        }
    } else {
        MessageWebSocketControl *c = NULL;
        CHECK_OK(MessageWebSocket_Create(&k->m));
        if (!k->m)
            return 0;
        CHECK_OK(tu_inbox_attach(&k->in, k->m));
        CHECK_OK(MessageWebSocket_get_Control(k->m, &c));
        if (c) {
            CHECK_OK(MessageWebSocketControl_put_MessageType(c, SocketMessageType_Utf8));
            if (roots)
                CHECK_OK(MessageWebSocketControl_put_TrustedRootCertificates(c, roots));
            if (n > 0)
                CHECK_OK(MessageWebSocketControl_get_IgnorableServerCertificateErrors(c, &v));
            MessageWebSocketControl_Release(c);
        }
    }
    for (int i = 0; v && i < n; i++)
        CHECK_OK(IVectorChainValidationResult_Append(v, ignore[i]));
    if (v)
        IVectorChainValidationResult_Release(v);
    return 1;
}

/* Releases the socket (its last reference: checked). */
static void sock_free(sock *k)
{
    if (k->stream) {
        if (k->s)
            CHECK(StreamWebSocket_Release(k->s) == 0);
        k->s = NULL;
    } else if (k->m) {
        tu_inbox_detach(&k->in, k->m);
        CHECK(MessageWebSocket_Release(k->m) == 0);
        k->m = NULL;
    }
}

static HRESULT sock_connect_async(sock *k, const char *url, IAsyncAction **op)
{
    return k->stream ? StreamWebSocket_ConnectAsync(k->s, url, op)
                     : MessageWebSocket_ConnectAsync(k->m, url, op);
}

/* Connects to `url`, waiting at most WAIT_MS; checks that the status matches the result.
 * `*took_ms` (if not NULL) gets the time from ConnectAsync to the end of the wait. */
static HRESULT sock_connect_timed(sock *k, const char *url, double *took_ms)
{
    IAsyncAction *op = NULL;
    AsyncStatus status = -1;
    double start = tu_now_ms();
    HRESULT hr = sock_connect_async(k, url, &op);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncAction_Wait(op, WAIT_MS);
        CHECK_OK(IAsyncAction_get_Status(op, &status));
        CHECK(status == (hr == S_OK ? AsyncStatus_Completed : AsyncStatus_Error));
        if (hr == RTWS_E_TIMEOUT)
            IAsyncAction_Cancel(op);
        IAsyncAction_Release(op);
    }
    if (took_ms)
        *took_ms = tu_now_ms() - start;
    return hr;
}

static HRESULT sock_connect(sock *k, const char *url)
{
    return sock_connect_timed(k, url, NULL);
}

static HRESULT sock_close(sock *k)
{
    return k->stream ? StreamWebSocket_Close(k->s) : MessageWebSocket_Close(k->m);
}

/* The socket's Control: `c->s` for a StreamWebSocket, else `c->m`. */
typedef struct {
    StreamWebSocketControl *s;
    MessageWebSocketControl *m;
} sock_control;

static HRESULT sock_control_get(sock *k, sock_control *c)
{
    c->s = NULL;
    c->m = NULL;
    return k->stream ? StreamWebSocket_get_Control(k->s, &c->s)
                     : MessageWebSocket_get_Control(k->m, &c->m);
}

static void sock_control_release(sock_control *c)
{
    if (c->s)
        StreamWebSocketControl_Release(c->s);
    if (c->m)
        MessageWebSocketControl_Release(c->m);
}

static HRESULT sock_put_timeout(sock *k, int ms)
{
    TimeSpan t = {TS_MS(ms)};
    sock_control c;
    HRESULT hr = sock_control_get(k, &c);
    if (RTWS_SUCCEEDED(hr))
        hr = c.s ? StreamWebSocketControl_put_ConnectTimeout(c.s, t)
                 : MessageWebSocketControl_put_ConnectTimeout(c.m, t);
    sock_control_release(&c);
    return hr;
}

static HRESULT sock_put_client(sock *k, Certificate *cert)
{
    sock_control c;
    HRESULT hr = sock_control_get(k, &c);
    if (RTWS_SUCCEEDED(hr))
        hr = c.s ? StreamWebSocketControl_put_ClientCertificate(c.s, cert)
                 : MessageWebSocketControl_put_ClientCertificate(c.m, cert);
    sock_control_release(&c);
    return hr;
}

static HRESULT sock_get_client(sock *k, Certificate **cert)
{
    sock_control c;
    HRESULT hr = sock_control_get(k, &c);
    if (RTWS_SUCCEEDED(hr))
        hr = c.s ? StreamWebSocketControl_get_ClientCertificate(c.s, cert)
                 : MessageWebSocketControl_get_ClientCertificate(c.m, cert);
    sock_control_release(&c);
    return hr;
}

/* Information's ServerCertificate and ServerIntermediateCertificates (new references, or
 * NULL; both calls checked for S_OK). */
static void sock_server_certs(sock *k, Certificate **cert, IVectorViewCertificate **inter)
{
    *cert = NULL;
    *inter = NULL;
    if (k->stream) {
        StreamWebSocketInformation *info = NULL;
        CHECK_OK(StreamWebSocket_get_Information(k->s, &info));
        if (!info)
            return;
        CHECK_OK(StreamWebSocketInformation_get_ServerCertificate(info, cert));
        CHECK_OK(StreamWebSocketInformation_get_ServerIntermediateCertificates(info, inter));
        StreamWebSocketInformation_Release(info);
    } else {
        MessageWebSocketInformation *info = NULL;
        CHECK_OK(MessageWebSocket_get_Information(k->m, &info));
        if (!info)
            return;
        CHECK_OK(MessageWebSocketInformation_get_ServerCertificate(info, cert));
        CHECK_OK(MessageWebSocketInformation_get_ServerIntermediateCertificates(info, inter));
        MessageWebSocketInformation_Release(info);
    }
}

/* Checks that Information has no server certificate and an empty intermediates list. */
static void sock_check_no_server_cert(sock *k)
{
    Certificate *cert = (Certificate *)(void *)&cert; /* not NULL: must be set to NULL */
    IVectorViewCertificate *inter = NULL;
    sock_server_certs(k, &cert, &inter);
    CHECK(cert == NULL);
    if (cert)
        Certificate_Release(cert);
    check_cert_list(inter, 0);
    if (inter)
        IVectorViewCertificate_Release(inter);
}

/* Checks Information's server certificate against `want` (intermediates: `n_inter`). */
static void sock_check_server_cert(sock *k, const pki_cert *want, uint32_t n_inter)
{
    Certificate *cert = NULL, *again = NULL;
    IVectorViewCertificate *inter = NULL, *inter2 = NULL;
    sock_server_certs(k, &cert, &inter);
    check_cert(cert, want, false);
    check_cert_list(inter, n_inter);
    /* Asked again: the same certificate. */
    sock_server_certs(k, &again, &inter2);
    check_same_cert(cert, again);
    if (again)
        Certificate_Release(again);
    if (inter2)
        IVectorViewCertificate_Release(inter2);
    if (cert)
        Certificate_Release(cert);
    if (inter)
        IVectorViewCertificate_Release(inter);
}

/* Sends `text` and checks that the echo comes back. */
static void sock_check_echo(sock *k, const char *text)
{
    if (k->stream)
        sws_check_echo(k->s, (const uint8_t *)text, (uint32_t)strlen(text));
    else
        mws_check_echo(k->m, &k->in, text);
}

/* ---- a ServerCustomValidationRequested handler that records ----------------------------- */

enum {
    V_ACCEPT,               /* does nothing: the connect goes on */
    V_REJECT,               /* Reject */
    V_DEFER_INLINE,         /* GetDeferral, Complete and Release inside the handler */
    V_DEFER_RELEASE_INLINE, /* GetDeferral and Release (no Complete) inside the handler */
    V_DEFER_THREAD,         /* AddRef args, GetDeferral; a thread decides after delay_ms */
    V_DEFER_TWO,            /* two deferrals, completed by a thread at delay_ms and 2*delay_ms */
    V_DEFER_KEEP,           /* AddRef args, GetDeferral, kept (the main thread ends them) */
    V_KEEP_ARGS,            /* AddRef args and keep them (and a completed deferral) */
};

typedef struct {
    int mode;
    int reject;   /* V_DEFER_THREAD: Reject before ending the deferral */
    int complete; /* V_DEFER_THREAD: Complete (else the deferral is only released) */
    int delay_ms;
    const void *sender; /* the socket the handler should get */
    tu_signal calls;    /* handler calls; its lock guards everything below */
    char problems[1024];
    /* what the last call saw */
    char subject[128];
    unsigned char sha1[20];
    SocketSslErrorSeverity severity;
    ChainValidationResult errors[8];
    uint32_t n_errors, n_inter;
    double called_at, decided_at;
    /* deferral state */
    pthread_t thread;
    int thread_started;
    Deferral *d, *d2;
    WebSocketServerCustomValidationRequestedEventArgs *args; /* AddRef'd */
    WebSocketServerCustomValidationRequestedEventArgs *borrowed; /* as passed (no AddRef) */
} validator;

static void v_init(validator *v, int mode, const void *sender)
{
    memset(v, 0, sizeof *v);
    v->mode = mode;
    v->complete = 1;
    v->delay_ms = 200;
    v->sender = sender;
    v->severity = -1;
    tu_signal_init(&v->calls);
}

/* Records a problem seen on a library thread (the main thread prints and checks them). */
static void v_problem(validator *v, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&v->calls.lock);
    size_t used = strlen(v->problems);
    snprintf(v->problems + used, sizeof v->problems - used, "  handler: %s\n", line);
    pthread_mutex_unlock(&v->calls.lock);
}

#define V_EXPECT(v, expr, want)                                                             \
    do {                                                                                    \
        HRESULT v_hr_ = (expr);                                                             \
        if (v_hr_ != (HRESULT)(want))                                                       \
            v_problem((v), "%s returned 0x%08X, expected 0x%08X", #expr, (unsigned)v_hr_,   \
                      (unsigned)(HRESULT)(want));                                           \
    } while (0)

static void *v_thread(void *p)
{
    validator *v = p;
    tu_sleep_ms(v->delay_ms);
    if (v->mode == V_DEFER_TWO) {
        V_EXPECT(v, Deferral_Complete(v->d), S_OK);
        if (Deferral_Release(v->d) != 0)
            v_problem(v, "first Deferral_Release did not return 0");
        tu_sleep_ms(v->delay_ms);
        pthread_mutex_lock(&v->calls.lock);
        v->decided_at = tu_now_ms();
        pthread_mutex_unlock(&v->calls.lock);
        V_EXPECT(v, Deferral_Complete(v->d2), S_OK);
        if (Deferral_Release(v->d2) != 0)
            v_problem(v, "second Deferral_Release did not return 0");
    } else {
        if (v->reject)
            V_EXPECT(v, WebSocketServerCustomValidationRequestedEventArgs_Reject(v->args), S_OK);
        pthread_mutex_lock(&v->calls.lock);
        v->decided_at = tu_now_ms();
        pthread_mutex_unlock(&v->calls.lock);
        if (v->complete)
            V_EXPECT(v, Deferral_Complete(v->d), S_OK);
        if (Deferral_Release(v->d) != 0)
            v_problem(v, "Deferral_Release did not return 0");
    }
    v->d = v->d2 = NULL;
    WebSocketServerCustomValidationRequestedEventArgs_Release(v->args);
    v->args = NULL;
    return NULL;
}

static void v_handle(validator *v, const void *sender,
                     WebSocketServerCustomValidationRequestedEventArgs *args)
{
    Certificate *cert = NULL;
    IVectorChainValidationResult *errors = NULL;
    IVectorViewCertificate *inter = NULL;
    SocketSslErrorSeverity severity = -1;
    ChainValidationResult list[8];
    uint32_t n_errors = 0, n_inter = 0xFFFFFFFFu, needed = 0;
    const char *subject = NULL;
    unsigned char sha1[20] = {0};

    if (sender != v->sender)
        v_problem(v, "sender %p, expected %p", sender, v->sender);
    V_EXPECT(v, WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificate(args, &cert),
             S_OK);
    if (cert) {
        V_EXPECT(v, Certificate_get_Subject(cert, &subject), S_OK);
        V_EXPECT(v, Certificate_GetHashValue(cert, sha1, sizeof sha1, &needed), S_OK);
    } else {
        v_problem(v, "no ServerCertificate");
    }
    V_EXPECT(v,
             WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrorSeverity(
                 args, &severity),
             S_OK);
    V_EXPECT(v,
             WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrors(args,
                                                                                          &errors),
             S_OK);
    if (errors) {
        V_EXPECT(v, IVectorChainValidationResult_get_Size(errors, &n_errors), S_OK);
        for (uint32_t i = 0; i < n_errors && i < 8; i++)
            V_EXPECT(v, IVectorChainValidationResult_GetAt(errors, i, &list[i]), S_OK);
        /* read-only */
        V_EXPECT(v, IVectorChainValidationResult_Append(errors, ChainValidationResult_Revoked),
                 E_ILLEGAL_METHOD_CALL);
        IVectorChainValidationResult_Release(errors);
    }
    V_EXPECT(v,
             WebSocketServerCustomValidationRequestedEventArgs_get_ServerIntermediateCertificates(
                 args, &inter),
             S_OK);
    if (inter) {
        V_EXPECT(v, IVectorViewCertificate_get_Size(inter, &n_inter), S_OK);
        IVectorViewCertificate_Release(inter);
    }

    pthread_mutex_lock(&v->calls.lock);
    snprintf(v->subject, sizeof v->subject, "%s", subject ? subject : "(none)");
    memcpy(v->sha1, sha1, sizeof sha1);
    v->severity = severity;
    v->n_errors = n_errors;
    memcpy(v->errors, list, sizeof(ChainValidationResult) * (n_errors < 8 ? n_errors : 8));
    v->n_inter = n_inter;
    v->called_at = tu_now_ms();
    v->borrowed = args;
    pthread_mutex_unlock(&v->calls.lock);
    if (cert)
        Certificate_Release(cert); /* `subject` is not used past this */

    switch (v->mode) {
    case V_ACCEPT:
        break;
    case V_REJECT:
        V_EXPECT(v, WebSocketServerCustomValidationRequestedEventArgs_Reject(args), S_OK);
        break;
    case V_DEFER_INLINE: {
        Deferral *d = NULL;
        V_EXPECT(v, WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(args, &d), S_OK);
        V_EXPECT(v, Deferral_Complete(d), S_OK);
        V_EXPECT(v, Deferral_Complete(d), S_OK); /* again: nothing happens */
        if (Deferral_Release(d) != 0)
            v_problem(v, "Deferral_Release did not return 0");
        break;
    }
    case V_DEFER_RELEASE_INLINE: {
        Deferral *d = NULL;
        V_EXPECT(v, WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(args, &d), S_OK);
        if (Deferral_Release(d) != 0)
            v_problem(v, "Deferral_Release did not return 0");
        break;
    }
    case V_DEFER_THREAD:
    case V_DEFER_TWO:
        if (WebSocketServerCustomValidationRequestedEventArgs_AddRef(args) < 2)
            v_problem(v, "AddRef of the args did not return >= 2");
        v->args = args;
        V_EXPECT(v, WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(args, &v->d),
                 S_OK);
        if (v->mode == V_DEFER_TWO)
            V_EXPECT(v,
                     WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(args, &v->d2),
                     S_OK);
        if (pthread_create(&v->thread, NULL, v_thread, v) == 0)
            v->thread_started = 1;
        else
            v_problem(v, "pthread_create failed");
        break;
    case V_DEFER_KEEP:
        WebSocketServerCustomValidationRequestedEventArgs_AddRef(args);
        v->args = args;
        V_EXPECT(v, WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(args, &v->d),
                 S_OK);
        break;
    case V_KEEP_ARGS:
        WebSocketServerCustomValidationRequestedEventArgs_AddRef(args);
        v->args = args;
        V_EXPECT(v, WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(args, &v->d),
                 S_OK);
        V_EXPECT(v, Deferral_Complete(v->d), S_OK);
        break;
    }
    tu_signal_bump(&v->calls);
}

static void on_validate_message(void *ctx, MessageWebSocket *sender,
                                WebSocketServerCustomValidationRequestedEventArgs *args)
{
    v_handle(ctx, sender, args);
}

static void on_validate_stream(void *ctx, StreamWebSocket *sender,
                               WebSocketServerCustomValidationRequestedEventArgs *args)
{
    v_handle(ctx, sender, args);
}

static HRESULT sock_add_validator(sock *k, validator *v, EventRegistrationToken *token)
{
    v->sender = k->stream ? (const void *)k->s : (const void *)k->m;
    return k->stream
               ? StreamWebSocket_add_ServerCustomValidationRequested(k->s, on_validate_stream, v,
                                                                     token)
               : MessageWebSocket_add_ServerCustomValidationRequested(k->m, on_validate_message,
                                                                      v, token);
}

static HRESULT sock_remove_validator(sock *k, EventRegistrationToken token)
{
    return k->stream ? StreamWebSocket_remove_ServerCustomValidationRequested(k->s, token)
                     : MessageWebSocket_remove_ServerCustomValidationRequested(k->m, token);
}

/* Joins the deferral thread (if any), checks that no problem was recorded, and cleans up. */
static void v_finish(validator *v)
{
    if (v->thread_started) {
        pthread_join(v->thread, NULL);
        v->thread_started = 0;
    }
    pthread_mutex_lock(&v->calls.lock);
    CHECK(v->problems[0] == '\0');
    if (v->problems[0])
        fprintf(stderr, "%s", v->problems);
    v->problems[0] = '\0';
    pthread_mutex_unlock(&v->calls.lock);
}

static void v_destroy(validator *v)
{
    v_finish(v);
    if (v->d)
        Deferral_Release(v->d);
    if (v->args)
        WebSocketServerCustomValidationRequestedEventArgs_Release(v->args);
    v->d = NULL;
    v->args = NULL;
    tu_signal_destroy(&v->calls);
}

/* Completes and releases the deferral a V_DEFER_KEEP handler kept (if it got one; checked). */
static void v_complete_kept(validator *v)
{
    if (v->d) {
        CHECK_OK(Deferral_Complete(v->d));
        CHECK(Deferral_Release(v->d) == 0);
        v->d = NULL;
    }
}

/* Checks the calls so far and what the last one saw of `want`'s certificate. */
static void v_check_seen(validator *v, int calls, const pki_cert *want,
                         SocketSslErrorSeverity severity, const ChainValidationResult *errors,
                         uint32_t n_errors)
{
    int got = tu_signal_get(&v->calls);
    CHECK(got == calls);
    if (got != calls)
        fprintf(stderr, "  the handler ran %d times, expected %d\n", got, calls);
    if (got == 0 || !want)
        return;
    pthread_mutex_lock(&v->calls.lock);
    check_string("the args' ServerCertificate Subject", v->subject, want->subject);
    CHECK(memcmp(v->sha1, want->sha1, 20) == 0);
    CHECK(v->severity == severity);
    if (v->severity != severity)
        fprintf(stderr, "  the args' severity is %d, expected %d\n", (int)v->severity,
                (int)severity);
    CHECK(v->n_errors == n_errors);
    if (v->n_errors != n_errors)
        fprintf(stderr, "  the args' errors list has %u items, expected %u\n",
                (unsigned)v->n_errors, (unsigned)n_errors);
    for (uint32_t i = 0; i < n_errors && i < v->n_errors && i < 8; i++)
        CHECK(v->errors[i] == errors[i]);
    CHECK(v->n_inter == 0); /* the test server sends its certificate alone */
    pthread_mutex_unlock(&v->calls.lock);
}

/* ---- 1. Information ------------------------------------------------------------------------ */

static void information_for(int stream)
{
    static const ChainValidationResult expired[] = {ChainValidationResult_Expired};
    sock k;

    /* Before connect: no certificate (S_OK, NULL), no intermediates. */
    if (!sock_open(&k, stream, ca_pem, NULL, 0))
        return;
    sock_check_no_server_cert(&k);

    /* Connected to `valid`: its certificate, as on disk; the server sends no intermediates. */
    HRESULT hr = sock_connect(&k, wss("127.0.0.1", port_valid, "/echo"));
    CHECK_OK(hr);
    if (hr == S_OK) {
        sock_check_server_cert(&k, &pki_valid, 0);
        sock_check_echo(&k, "certificate checked");
        /* Still there once closed. */
        CHECK_OK(sock_close(&k));
        tu_sleep_ms(50);
        Certificate *c = NULL;
        IVectorViewCertificate *iv = NULL;
        sock_server_certs(&k, &c, &iv);
        if (c) {
            check_thumbprint(c, pki_valid.sha1);
            Certificate_Release(c);
        } else {
            printf("  %s: no ServerCertificate after Close\n", class_name(stream));
        }
        if (iv)
            IVectorViewCertificate_Release(iv);
    }
    sock_free(&k);

    /* By DNS name: the same certificate. */
    if (sock_open(&k, stream, ca_pem, NULL, 0)) {
        CHECK_OK(sock_connect(&k, wss("localhost", port_valid, "/echo")));
        sock_check_server_cert(&k, &pki_valid, 0);
        sock_free(&k);
    }

    /* An expired certificate, its error ignored: that certificate, with its dates. */
    if (sock_open(&k, stream, ca_pem, expired, 1)) {
        CHECK_OK(sock_connect(&k, wss("127.0.0.1", port_expired, "/echo")));
        sock_check_server_cert(&k, &pki_expired, 0);
        sock_free(&k);
    }

    /* A failed connect (untrusted): still none. */
    if (sock_open(&k, stream, NULL, NULL, 0)) {
        CHECK_HR(sock_connect(&k, wss("127.0.0.1", port_valid, "/echo")), WININET_E_INVALID_CA);
        sock_check_no_server_cert(&k);
        sock_free(&k);
    }

    /* ws: has none. */
    if (sock_open(&k, stream, NULL, NULL, 0)) {
        CHECK_OK(sock_connect(&k, tu_url("/echo")));
        sock_check_no_server_cert(&k);
        sock_check_echo(&k, "plain");
        sock_free(&k);
    }
}

static void test_information_message(void)
{
    information_for(0);
}

static void test_information_stream(void)
{
    information_for(1);
}

/* ---- 2. Certificate_CreateCertificate and the hashes ---------------------------------------- */

/* Certificate_CreateCertificate over a buffer holding `data[0..len)`; returns its HRESULT. */
static HRESULT create_from_bytes(const void *data, uint32_t len, Certificate **c)
{
    IBuffer *b = NULL;
    *c = NULL;
    HRESULT hr = Buffer_CreateFromBytes(data, len, &b);
    if (RTWS_FAILED(hr))
        return hr;
    hr = Certificate_CreateCertificate(b, c);
    IBuffer_Release(b);
    return hr;
}

static void test_create_certificate(void)
{
    Certificate *c = NULL;

    /* From DER, and from PEM text: the same certificate, without a key. */
    CHECK_OK(create_from_bytes(pki_valid.der, (uint32_t)pki_valid.der_len, &c));
    check_cert(c, &pki_valid, false);
    if (c)
        CHECK(Certificate_Release(c) == 0);
    CHECK_OK(create_from_bytes(valid_pem, (uint32_t)strlen(valid_pem), &c));
    check_cert(c, &pki_valid, false);
    if (c)
        CHECK(Certificate_Release(c) == 0);
    /* The CA (self-signed: Subject = Issuer), the client certificate (no key this way). */
    CHECK_OK(create_from_bytes(pki_ca.der, (uint32_t)pki_ca.der_len, &c));
    check_cert(c, &pki_ca, false);
    if (c)
        CHECK(Certificate_Release(c) == 0);
    CHECK_OK(create_from_bytes(client_pem, (uint32_t)strlen(client_pem), &c));
    check_cert(c, &pki_client, false);
    if (c)
        CHECK(Certificate_Release(c) == 0);

    /* Only the first Length bytes count. */
    {
        uint32_t n = (uint32_t)pki_valid.der_len;
        unsigned char *more = malloc(n + 16);
        IBuffer *b = NULL;
        if (more) {
            memcpy(more, pki_valid.der, n);
            memset(more + n, 'x', 16);
            CHECK_OK(Buffer_CreateFromBytes(more, n + 16, &b));
            if (b) {
                CHECK_OK(IBuffer_put_Length(b, n));
                c = NULL;
                CHECK_OK(Certificate_CreateCertificate(b, &c));
                check_cert(c, &pki_valid, false);
                if (c)
                    CHECK(Certificate_Release(c) == 0);
                /* One byte short: no certificate. */
                CHECK_OK(IBuffer_put_Length(b, n - 1));
                c = NULL;
                CHECK_HR(Certificate_CreateCertificate(b, &c), E_INVALIDARG);
                CHECK(c == NULL);
                IBuffer_Release(b);
            }
            free(more);
        }
    }

    /* Garbage, empty, a private key, a PEM with broken base64: E_INVALIDARG, no handle. */
    static const char garbage[] = "this is not a certificate";
    CHECK_HR(create_from_bytes(garbage, sizeof garbage - 1, &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(create_from_bytes(NULL, 0, &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(create_from_bytes(client_key_pem, (uint32_t)strlen(client_key_pem), &c),
             E_INVALIDARG);
    CHECK(c == NULL);
    static const char bad_pem[] =
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n";
    CHECK_HR(create_from_bytes(bad_pem, sizeof bad_pem - 1, &c), E_INVALIDARG);
    CHECK(c == NULL);
    {
        unsigned char broken[64];
        memcpy(broken, pki_valid.der, sizeof broken); /* a DER header claiming more */
        CHECK_HR(create_from_bytes(broken, sizeof broken, &c), E_INVALIDARG);
        CHECK(c == NULL);
    }

    /* Two certificates made from the same bytes are independent objects. */
    Certificate *a = NULL, *b2 = NULL;
    CHECK_OK(create_from_bytes(pki_valid.der, (uint32_t)pki_valid.der_len, &a));
    CHECK_OK(create_from_bytes(pki_valid.der, (uint32_t)pki_valid.der_len, &b2));
    if (a && b2) {
        CHECK(Certificate_AddRef(a) == 2);
        CHECK(Certificate_Release(a) == 1);
        CHECK(Certificate_Release(a) == 0);
        check_cert(b2, &pki_valid, false);
    }
    if (b2)
        CHECK(Certificate_Release(b2) == 0);
}

static void test_hash_buffer_pattern(void)
{
    Certificate *c = NULL;
    unsigned char h[40];
    uint32_t needed = 0;

    CHECK_OK(create_from_bytes(pki_valid.der, (uint32_t)pki_valid.der_len, &c));
    if (!c)
        return;

    /* NULL buffer: the size needed. */
    CHECK_HR(Certificate_GetHashValue(c, NULL, 0, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 20);
    needed = 0;
    CHECK_HR(Certificate_GetHashValue(c, NULL, 20, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 20);
    /* Too small: nothing written. */
    needed = 0;
    memset(h, 0xEE, sizeof h);
    CHECK_HR(Certificate_GetHashValue(c, h, 19, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 20);
    CHECK(h[0] == 0xEE && h[18] == 0xEE);
    /* Exactly right, and larger. */
    needed = 0;
    CHECK_OK(Certificate_GetHashValue(c, h, 20, &needed));
    CHECK(needed == 20 && memcmp(h, pki_valid.sha1, 20) == 0);
    /* `needed` is required. */
    CHECK_HR(Certificate_GetHashValue(c, h, sizeof h, NULL), E_POINTER);

    /* By name. */
    needed = 0;
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(c, "SHA256", NULL, 0, &needed),
             E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 32);
    needed = 0;
    memset(h, 0xEE, sizeof h);
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(c, "SHA256", h, 31, &needed),
             E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 32);
    CHECK(h[0] == 0xEE);
    CHECK_OK(Certificate_GetHashValueWithAlgorithm(c, "SHA256", h, 32, &needed));
    CHECK(needed == 32 && memcmp(h, pki_valid.sha256, 32) == 0);
    needed = 0;
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(c, "SHA1", NULL, 0, &needed),
             E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 20);

    /* Unknown algorithms: E_INVALIDARG. */
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(c, "MD5", h, sizeof h, &needed), E_INVALIDARG);
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(c, "SHA512", h, sizeof h, &needed),
             E_INVALIDARG);
    /* "" is no algorithm name either (the header names only "SHA1" and "SHA256"). */
    needed = 0;
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(c, "", h, sizeof h, &needed), E_INVALIDARG);
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(c, "nonsense", NULL, 0, &needed),
             E_INVALIDARG);
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(c, NULL, h, sizeof h, &needed), E_POINTER);
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(c, "SHA256", h, sizeof h, NULL), E_POINTER);

    CHECK(Certificate_Release(c) == 0);
}

/* ---- 3. ServerCustomValidationRequested --------------------------------------------------- */

/* A socket that ignores `ignore[0]` and has a `mode` validator connects to `port`: the connect
 * returns `want`, and the handler saw `cert` as Ignorable with that one error. */
static void validation_ignorable(int stream, const ChainValidationResult *ignore, int port,
                                 const pki_cert *cert, int mode, HRESULT want)
{
    EventRegistrationToken t = {0};
    validator v;
    sock k;
    if (!sock_open(&k, stream, ca_pem, ignore, 1))
        return;
    v_init(&v, mode, NULL);
    CHECK_OK(sock_add_validator(&k, &v, &t));
    HRESULT hr = sock_connect(&k, wss("127.0.0.1", port, "/echo"));
    CHECK_HR(hr, want);
    if (RTWS_FAILED(want))
        CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_CertificateIsInvalid);
    v_check_seen(&v, 1, cert, SocketSslErrorSeverity_Ignorable, ignore, 1);
    v_finish(&v);
    sock_free(&k);
    v_destroy(&v);
}

static void validation_accept_reject(int stream)
{
    static const ChainValidationResult expired[] = {ChainValidationResult_Expired};
    static const ChainValidationResult invalid_name[] = {ChainValidationResult_InvalidName};
    static const ChainValidationResult untrusted[] = {ChainValidationResult_Untrusted};
    EventRegistrationToken t1 = {0}, t2 = {0};
    validator v, w;
    sock k;
    HRESULT hr;

    /* Accepting: connects, one call, which saw the valid certificate with no error. */
    if (!sock_open(&k, stream, ca_pem, NULL, 0))
        return;
    v_init(&v, V_ACCEPT, NULL);
    CHECK_OK(sock_add_validator(&k, &v, &t1));
    hr = sock_connect(&k, wss("127.0.0.1", port_valid, "/echo"));
    CHECK_OK(hr);
    v_check_seen(&v, 1, &pki_valid, SocketSslErrorSeverity_None, NULL, 0);
    if (hr == S_OK) {
        sock_check_echo(&k, "validated");
        sock_check_server_cert(&k, &pki_valid, 0);
    }
    v_finish(&v);
    CHECK(tu_signal_get(&v.calls) == 1);
    sock_free(&k);
    v_destroy(&v);

    /* Rejecting: WININET_E_SEC_INVALID_CERT; the socket may retry without the handler. */
    if (!sock_open(&k, stream, ca_pem, NULL, 0))
        return;
    v_init(&v, V_REJECT, NULL);
    CHECK_OK(sock_add_validator(&k, &v, &t1));
    hr = sock_connect(&k, wss("127.0.0.1", port_valid, "/echo"));
    CHECK_HR(hr, WININET_E_SEC_INVALID_CERT);
    CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_CertificateIsInvalid);
    v_check_seen(&v, 1, &pki_valid, SocketSslErrorSeverity_None, NULL, 0);
    /* Raised again for the next connect. */
    hr = sock_connect(&k, wss("localhost", port_valid, "/echo"));
    CHECK_HR(hr, WININET_E_SEC_INVALID_CERT);
    v_check_seen(&v, 2, &pki_valid, SocketSslErrorSeverity_None, NULL, 0);
    /* Removed (twice: the unknown token is ignored): not raised, and the connect works. */
    CHECK_OK(sock_remove_validator(&k, t1));
    CHECK_OK(sock_remove_validator(&k, t1));
    hr = sock_connect(&k, wss("127.0.0.1", port_valid, "/echo"));
    CHECK_OK(hr);
    CHECK(tu_signal_get(&v.calls) == 2);
    if (hr == S_OK)
        sock_check_echo(&k, "after the rejecting handler was removed");
    v_finish(&v);
    sock_free(&k);
    v_destroy(&v);

    /* Two handlers: both run; one Reject is enough. Removing the rejecting one. */
    if (!sock_open(&k, stream, ca_pem, NULL, 0))
        return;
    v_init(&v, V_ACCEPT, NULL);
    v_init(&w, V_REJECT, NULL);
    CHECK_OK(sock_add_validator(&k, &v, &t1));
    CHECK_OK(sock_add_validator(&k, &w, &t2));
    CHECK(t1.value != t2.value);
    CHECK_HR(sock_connect(&k, wss("127.0.0.1", port_valid, "/echo")), WININET_E_SEC_INVALID_CERT);
    v_check_seen(&v, 1, &pki_valid, SocketSslErrorSeverity_None, NULL, 0);
    v_check_seen(&w, 1, &pki_valid, SocketSslErrorSeverity_None, NULL, 0);
    CHECK_OK(sock_remove_validator(&k, t2));
    CHECK_OK(sock_connect(&k, wss("127.0.0.1", port_valid, "/echo")));
    CHECK(tu_signal_get(&v.calls) == 2);
    CHECK(tu_signal_get(&w.calls) == 1);
    v_finish(&v);
    v_finish(&w);
    sock_free(&k);
    v_destroy(&v);
    v_destroy(&w);

    /* Ignorable errors reach the handler as Ignorable, with the list of them. */
    validation_ignorable(stream, expired, port_expired, &pki_expired, V_ACCEPT, S_OK);
    validation_ignorable(stream, invalid_name, port_wrongname, &pki_wrongname, V_ACCEPT, S_OK);
    /* An ignorable error, then Reject: the handler's Reject still wins. */
    validation_ignorable(stream, expired, port_expired, &pki_expired, V_REJECT,
                         WININET_E_SEC_INVALID_CERT);
    /* Self-signed with Untrusted ignored. */
    if (sock_open(&k, stream, NULL, untrusted, 1)) {
        v_init(&v, V_ACCEPT, NULL);
        CHECK_OK(sock_add_validator(&k, &v, &t1));
        CHECK_OK(sock_connect(&k, wss("127.0.0.1", port_selfsigned, "/echo")));
        CHECK(tu_signal_get(&v.calls) == 1);
        pthread_mutex_lock(&v.calls.lock);
        check_string("the args' ServerCertificate Subject", v.subject, "rtws test selfsigned");
        CHECK(v.severity == SocketSslErrorSeverity_Ignorable);
        CHECK(v.n_errors == 1 && v.errors[0] == ChainValidationResult_Untrusted);
        pthread_mutex_unlock(&v.calls.lock);
        v_finish(&v);
        sock_free(&k);
        v_destroy(&v);
    }
}

static void validation_not_raised(int stream)
{
    static const ChainValidationResult expired[] = {ChainValidationResult_Expired};
    EventRegistrationToken t = {0};
    validator v;
    sock k;
    HRESULT hr;

    /* OpenSSL's validation failed: the connect fails as without a handler; no call. */
    struct {
        const char *roots;
        const ChainValidationResult *ignore;
        int n;
        int port;
        HRESULT want;
    } cases[] = {
        {NULL, NULL, 0, port_valid, WININET_E_INVALID_CA}, /* the CA not trusted */
        {ca_pem, NULL, 0, port_expired, WININET_E_SEC_CERT_DATE_INVALID},
        {ca_pem, expired, 1, port_wrongname, WININET_E_SEC_CERT_CN_INVALID},
        {ca_pem, NULL, 0, port_selfsigned, WININET_E_INVALID_CA},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!sock_open(&k, stream, cases[i].roots, cases[i].ignore, cases[i].n))
            return;
        v_init(&v, V_ACCEPT, NULL);
        CHECK_OK(sock_add_validator(&k, &v, &t));
        hr = sock_connect(&k, wss("127.0.0.1", cases[i].port, "/echo"));
        CHECK_HR(hr, cases[i].want);
        CHECK(tu_signal_get(&v.calls) == 0);
        v_finish(&v);
        sock_free(&k);
        v_destroy(&v);
    }

    /* ws: has no certificate to validate. */
    if (sock_open(&k, stream, NULL, NULL, 0)) {
        v_init(&v, V_REJECT, NULL);
        CHECK_OK(sock_add_validator(&k, &v, &t));
        hr = sock_connect(&k, tu_url("/echo"));
        CHECK_OK(hr);
        if (hr == S_OK)
            sock_check_echo(&k, "ws: is not validated");
        CHECK(tu_signal_get(&v.calls) == 0);
        v_finish(&v);
        sock_free(&k);
        v_destroy(&v);
    }

    /* Removed before the first connect. */
    if (sock_open(&k, stream, ca_pem, NULL, 0)) {
        v_init(&v, V_REJECT, NULL);
        CHECK_OK(sock_add_validator(&k, &v, &t));
        CHECK_OK(sock_remove_validator(&k, t));
        CHECK_OK(sock_connect(&k, wss("127.0.0.1", port_valid, "/echo")));
        CHECK(tu_signal_get(&v.calls) == 0);
        v_finish(&v);
        sock_free(&k);
        v_destroy(&v);
    }
}

static void test_validation_message(void)
{
    validation_accept_reject(0);
    validation_not_raised(0);
}

static void test_validation_stream(void)
{
    validation_accept_reject(1);
    validation_not_raised(1);
}

/* One connect to `valid` with a deferring handler: checks the result and the timing. */
static void deferred_connect(int stream, int mode, int reject, int complete, HRESULT want,
                             double min_ms)
{
    EventRegistrationToken t = {0};
    validator v;
    sock k;
    double took = 0;
    if (!sock_open(&k, stream, ca_pem, NULL, 0))
        return;
    v_init(&v, mode, NULL);
    v.reject = reject;
    v.complete = complete;
    CHECK_OK(sock_add_validator(&k, &v, &t));
    double start = tu_now_ms();
    HRESULT hr = sock_connect_timed(&k, wss("127.0.0.1", port_valid, "/echo"), &took);
    double done_at = start + took;
    CHECK_HR(hr, want);
    if (RTWS_FAILED(hr))
        CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_CertificateIsInvalid);
    v_check_seen(&v, 1, &pki_valid, SocketSslErrorSeverity_None, NULL, 0);
    CHECK(took >= min_ms);
    CHECK(took < 5000);
    v_finish(&v); /* joins the thread */
    if (mode == V_DEFER_THREAD || mode == V_DEFER_TWO) {
        /* The connect finished only after the decision. */
        CHECK(v.decided_at > 0 && done_at >= v.decided_at);
    }
    printf("  %s, deferral mode %d%s%s: 0x%08X after %.0f ms\n", class_name(stream), mode,
           reject ? ", Reject" : "", complete ? "" : ", no Complete", (unsigned)hr, took);
    if (hr == S_OK)
        sock_check_echo(&k, "after the deferral");
    sock_free(&k);
    v_destroy(&v);
}

/* Starts a connect of `k` to the valid listener with a V_DEFER_KEEP validator `v` and waits
 * until its handler ran (checked), so that the connect waits on the kept deferral. Returns the
 * connect's operation (the caller releases it), or NULL. */
static IAsyncAction *deferral_pending(sock *k, validator *v, EventRegistrationToken *t)
{
    IAsyncAction *op = NULL;
    v_init(v, V_DEFER_KEEP, NULL);
    CHECK_OK(sock_add_validator(k, v, t));
    CHECK_OK(sock_connect_async(k, wss("127.0.0.1", port_valid, "/echo"), &op));
    CHECK(tu_signal_wait(&v->calls, 1, WAIT_MS));
    return op;
}

static void validation_deferrals(int stream)
{
    /* Completed inside the handler, released inside it without Complete. */
    deferred_connect(stream, V_DEFER_INLINE, 0, 1, S_OK, 0);
    deferred_connect(stream, V_DEFER_RELEASE_INLINE, 0, 1, S_OK, 0);
    /* Decided 200 ms later on another thread: accepted, rejected, released without Complete
     * (which completes it), rejected and only released. */
    deferred_connect(stream, V_DEFER_THREAD, 0, 1, S_OK, 180);
    deferred_connect(stream, V_DEFER_THREAD, 1, 1, WININET_E_SEC_INVALID_CERT, 180);
    deferred_connect(stream, V_DEFER_THREAD, 0, 0, S_OK, 180);
    deferred_connect(stream, V_DEFER_THREAD, 1, 0, WININET_E_SEC_INVALID_CERT, 180);
    /* Two deferrals: the connect waits for the second (200 + 200 ms). */
    deferred_connect(stream, V_DEFER_TWO, 0, 1, S_OK, 380);

    /* Never completed: ConnectTimeout (500 ms), WININET_E_TIMEOUT; then the deferral may still
     * be completed (nothing happens), and the socket can connect again. */
    EventRegistrationToken t = {0};
    validator v;
    sock k;
    double took = 0;
    if (sock_open(&k, stream, ca_pem, NULL, 0)) {
        v_init(&v, V_DEFER_KEEP, NULL);
        CHECK_OK(sock_add_validator(&k, &v, &t));
        CHECK_OK(sock_put_timeout(&k, 500));
        HRESULT hr = sock_connect_timed(&k, wss("127.0.0.1", port_valid, "/echo"), &took);
        printf("  %s, deferral never completed, ConnectTimeout 500 ms: 0x%08X after %.0f ms\n",
               class_name(stream), (unsigned)hr, took);
        CHECK_HR(hr, WININET_E_TIMEOUT);
        CHECK(WebSocketError_GetStatus(hr) == WebErrorStatus_Timeout);
        CHECK(took >= 450);
        CHECK(took < 5000);
        v_check_seen(&v, 1, &pki_valid, SocketSslErrorSeverity_None, NULL, 0);
        CHECK(v.d != NULL && v.args != NULL);
        v_complete_kept(&v);
        if (v.args) {
            /* The args outlive the connect while referenced; a Reject now changes nothing. */
            Certificate *c = NULL;
            CHECK_OK(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificate(
                v.args, &c));
            if (c) {
                check_thumbprint(c, pki_valid.sha1);
                Certificate_Release(c);
            }
            WebSocketServerCustomValidationRequestedEventArgs_Release(v.args);
            v.args = NULL;
        }
        /* Retry on the same socket, the handler now accepting at once. */
        v.mode = V_ACCEPT;
        hr = sock_connect(&k, wss("127.0.0.1", port_valid, "/echo"));
        CHECK_OK(hr);
        CHECK(tu_signal_get(&v.calls) == 2);
        if (hr == S_OK)
            sock_check_echo(&k, "after the timed-out deferral");
        v_finish(&v);
        sock_free(&k);
        v_destroy(&v);
    }

    /* A pending deferral and Cancel: Canceled at once; the deferral may be completed later. */
    if (sock_open(&k, stream, ca_pem, NULL, 0)) {
        IAsyncAction *op = deferral_pending(&k, &v, &t);
        if (op) {
            AsyncStatus status = -1;
            tu_sleep_ms(50);
            CHECK_HR(IAsyncAction_Wait(op, 0), RTWS_E_TIMEOUT); /* still waiting for it */
            /* Settings are frozen meanwhile. */
            CHECK_HR(sock_put_client(&k, NULL), E_ILLEGAL_METHOD_CALL);
            CHECK_OK(IAsyncAction_Cancel(op));
            CHECK_HR(IAsyncAction_Wait(op, WAIT_MS), RTWS_E_CANCELLED);
            CHECK_OK(IAsyncAction_get_Status(op, &status));
            CHECK(status == AsyncStatus_Canceled);
            IAsyncAction_Release(op);
        }
        v_complete_kept(&v);
        v.mode = V_ACCEPT;
        CHECK_OK(sock_connect(&k, wss("127.0.0.1", port_valid, "/echo")));
        CHECK(tu_signal_get(&v.calls) == 2);
        v_finish(&v);
        sock_free(&k);
        v_destroy(&v);
    }

    /* A pending deferral and Close: the connect fails with RTWS_E_OPERATION_ABORTED. */
    if (sock_open(&k, stream, ca_pem, NULL, 0)) {
        IAsyncAction *op = deferral_pending(&k, &v, &t);
        if (op) {
            CHECK_OK(sock_close(&k));
            CHECK_HR(IAsyncAction_Wait(op, WAIT_MS), RTWS_E_OPERATION_ABORTED);
            IAsyncAction_Release(op);
        }
        v_complete_kept(&v);
        v_finish(&v);
        sock_free(&k);
        v_destroy(&v);
    }

    /* A pending deferral released by the socket's last Release: nothing hangs or crashes. */
    if (sock_open(&k, stream, ca_pem, NULL, 0)) {
        IAsyncAction *op = deferral_pending(&k, &v, &t);
        sock_free(&k);
        if (op) {
            /* The last Release closes the socket, as Close. */
            CHECK_HR(IAsyncAction_Wait(op, WAIT_MS), RTWS_E_OPERATION_ABORTED);
            IAsyncAction_Release(op);
        }
        v_complete_kept(&v);
        v_destroy(&v);
    }
}

static void test_deferrals_message(void)
{
    validation_deferrals(0);
}

static void test_deferrals_stream(void)
{
    validation_deferrals(1);
}

/* ---- 4. client certificates ------------------------------------------------------------------ */

static Certificate *client_from_p12(void)
{
    Certificate *c = NULL;
    CHECK_OK(Certificate_CreateFromPkcs12(client_p12, (uint32_t)client_p12_len, "rtws", &c));
    return c;
}

static Certificate *client_from_pem(void)
{
    Certificate *c = NULL;
    CHECK_OK(Certificate_CreateFromPem(client_pem, client_key_pem, &c));
    return c;
}

static void test_client_certificate_create(void)
{
    Certificate *c = NULL;
    uint32_t n = (uint32_t)client_p12_len;

    /* PKCS#12 with its password: the client certificate, with its key. */
    c = client_from_p12();
    check_cert(c, &pki_client, true);
    if (c)
        CHECK(Certificate_Release(c) == 0);
    /* Wrong or empty password, truncated or garbage data: E_INVALIDARG, no handle. */
    c = NULL;
    CHECK_HR(Certificate_CreateFromPkcs12(client_p12, n, "wrong", &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPkcs12(client_p12, n, "", &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPkcs12(client_p12, n / 2, "rtws", &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPkcs12((const uint8_t *)"garbage", 7, "rtws", &c),
             E_INVALIDARG);
    CHECK(c == NULL);
    /* A PEM certificate is no PKCS#12. */
    CHECK_HR(Certificate_CreateFromPkcs12((const uint8_t *)client_pem, (uint32_t)strlen(client_pem),
                                          "rtws", &c),
             E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPkcs12(client_p12, n, "\xff\xfe", &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPkcs12(client_p12, n, NULL, &c), E_POINTER);
    CHECK_HR(Certificate_CreateFromPkcs12(NULL, n, "rtws", &c), E_POINTER);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPkcs12(client_p12, n, "rtws", NULL), E_POINTER);

    /* PEM certificate + PKCS#8 key. */
    c = client_from_pem();
    check_cert(c, &pki_client, true);
    if (c)
        CHECK(Certificate_Release(c) == 0);
    /* With the CA after it (a chain to send along): still the client's certificate. */
    {
        size_t a = strlen(client_pem), b = strlen(ca_pem);
        char *chain = malloc(a + b + 1);
        if (chain) {
            memcpy(chain, client_pem, a);
            memcpy(chain + a, ca_pem, b + 1);
            c = NULL;
            CHECK_OK(Certificate_CreateFromPem(chain, client_key_pem, &c));
            check_cert(c, &pki_client, true);
            if (c)
                CHECK(Certificate_Release(c) == 0);
            free(chain);
        }
    }
    /* A key that does not match: a garbage key, a freshly made key, the key with another
     * certificate. */
    c = NULL;
    CHECK_HR(Certificate_CreateFromPem(client_pem, "garbage", &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPem(client_pem, "", &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK(other_key_pem != NULL);
    if (other_key_pem) {
        CHECK_HR(Certificate_CreateFromPem(client_pem, other_key_pem, &c), E_INVALIDARG);
        CHECK(c == NULL);
    }
    CHECK_HR(Certificate_CreateFromPem(valid_pem, client_key_pem, &c), E_INVALIDARG);
    CHECK(c == NULL);
    /* No certificate: garbage, empty, a key in its place. */
    CHECK_HR(Certificate_CreateFromPem("garbage", client_key_pem, &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPem("", client_key_pem, &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPem(client_key_pem, client_key_pem, &c), E_INVALIDARG);
    CHECK(c == NULL);
    /* The certificate in place of the key. */
    CHECK_HR(Certificate_CreateFromPem(client_pem, client_pem, &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPem(NULL, client_key_pem, &c), E_POINTER);
    CHECK_HR(Certificate_CreateFromPem(client_pem, NULL, &c), E_POINTER);
    CHECK(c == NULL);
    CHECK_HR(Certificate_CreateFromPem(client_pem, client_key_pem, NULL), E_POINTER);

    /* Both ways: the same certificate. */
    Certificate *a = client_from_p12(), *b = client_from_pem();
    check_same_cert(a, b);
    if (a)
        Certificate_Release(a);
    if (b)
        Certificate_Release(b);
}

/* Checks that the socket's ClientCertificate is none (`want` NULL) or `want`'s certificate
 * with its key. */
static void sock_check_client(sock *k, const pki_cert *want)
{
    Certificate *c = (Certificate *)(void *)&c; /* not NULL: must be set */
    CHECK_OK(sock_get_client(k, &c));
    if (!want) {
        CHECK(c == NULL);
        return;
    }
    CHECK(c != NULL);
    if (!c)
        return;
    bool key = false;
    check_thumbprint(c, want->sha1);
    CHECK_OK(Certificate_get_HasPrivateKey(c, &key));
    CHECK(key);
    Certificate_Release(c);
}

static void client_control(int stream)
{
    sock k;
    Certificate *p12 = NULL, *pem = NULL, *nokey = NULL, *server = NULL;
    IVectorViewCertificate *iv = NULL;
    if (!sock_open(&k, stream, ca_pem, NULL, 0))
        return;

    /* None by default. */
    sock_check_client(&k, NULL);
    /* A certificate without its private key is refused; nothing changes. */
    CHECK_OK(create_from_bytes(pki_client.der, (uint32_t)pki_client.der_len, &nokey));
    if (nokey) {
        CHECK_HR(sock_put_client(&k, nokey), E_INVALIDARG);
        sock_check_client(&k, NULL);
    }
    /* Put, get back; replaced; NULL removes it. */
    p12 = client_from_p12();
    pem = client_from_pem();
    if (p12 && pem) {
        CHECK_OK(sock_put_client(&k, p12));
        sock_check_client(&k, &pki_client);
        if (nokey) {
            CHECK_HR(sock_put_client(&k, nokey), E_INVALIDARG);
            sock_check_client(&k, &pki_client); /* the refused put changed nothing */
        }
        CHECK_OK(sock_put_client(&k, pem));
        sock_check_client(&k, &pki_client);
        CHECK_OK(sock_put_client(&k, NULL));
        sock_check_client(&k, NULL);
        CHECK_OK(sock_put_client(&k, NULL)); /* again: still none */
        sock_check_client(&k, NULL);
        /* The socket keeps its own reference: ours may go. */
        CHECK_OK(sock_put_client(&k, p12));
        CHECK(Certificate_Release(p12) < 2);
        p12 = NULL;
        sock_check_client(&k, &pki_client);
    }

    /* Connected (to a server that asks for none: the certificate is simply not used). */
    HRESULT hr = sock_connect(&k, wss("127.0.0.1", port_valid, "/echo"));
    CHECK_OK(hr);
    if (hr == S_OK) {
        sock_check_echo(&k, "a client certificate nobody asked for");
        /* The server's certificate has no private key: refused as a client certificate. */
        sock_server_certs(&k, &server, &iv);
        /* Frozen: E_ILLEGAL_METHOD_CALL, also for NULL; get still answers. */
        if (pem)
            CHECK_HR(sock_put_client(&k, pem), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(sock_put_client(&k, NULL), E_ILLEGAL_METHOD_CALL);
        sock_check_client(&k, &pki_client);
        /* Closed: RO_E_CLOSED. */
        CHECK_OK(sock_close(&k));
        if (pem)
            CHECK_HR(sock_put_client(&k, pem), RO_E_CLOSED);
    }
    sock_free(&k);

    /* Before any connect, the server's certificate (no key) is refused too. */
    if (server && sock_open(&k, stream, ca_pem, NULL, 0)) {
        CHECK_HR(sock_put_client(&k, server), E_INVALIDARG);
        sock_check_client(&k, NULL);
        sock_free(&k);
    }
    if (server)
        Certificate_Release(server);
    if (iv)
        IVectorViewCertificate_Release(iv);
    if (nokey)
        Certificate_Release(nokey);
    if (pem)
        Certificate_Release(pem);
    if (p12)
        Certificate_Release(p12);
}

static void test_client_certificate_control(void)
{
    client_control(0);
    client_control(1);
}

/* A connect to clientauth with `cert` (released here) succeeds and echoes. */
static void clientauth_with(int stream, Certificate *cert, const char *how)
{
    sock k;
    if (!cert)
        return;
    if (!sock_open(&k, stream, ca_pem, NULL, 0)) {
        Certificate_Release(cert);
        return;
    }
    CHECK_OK(sock_put_client(&k, cert));
    Certificate_Release(cert);
    HRESULT hr = sock_connect(&k, wss("127.0.0.1", port_clientauth, "/echo"));
    CHECK_OK(hr);
    if (hr != S_OK) {
        fprintf(stderr, "  %s, clientauth with the %s certificate: 0x%08X: %s\n",
                class_name(stream), how, (unsigned)hr, rtws_GetLastErrorMessage());
    } else {
        sock_check_server_cert(&k, &pki_clientauth, 0);
        sock_check_echo(&k, "mutual TLS");
        sock_check_echo(&k, "mutual TLS, again");
        /* Frozen after the connect. */
        CHECK_HR(sock_put_client(&k, NULL), E_ILLEGAL_METHOD_CALL);
    }
    sock_free(&k);
}

static void client_connect(int stream)
{
    clientauth_with(stream, client_from_p12(), "PKCS#12");
    clientauth_with(stream, client_from_pem(), "PEM");

    /* Without one: a WinINet error (which depends on TLS timing: printed); then the same
     * socket, with the certificate put after the failure, connects. */
    sock k;
    if (!sock_open(&k, stream, ca_pem, NULL, 0))
        return;
    HRESULT hr = sock_connect(&k, wss("127.0.0.1", port_clientauth, "/echo"));
    printf("  %s, clientauth without a client certificate: 0x%08X, WebErrorStatus %d\n",
           class_name(stream), (unsigned)hr, (int)WebSocketError_GetStatus(hr));
    CHECK(RTWS_FAILED(hr));
    CHECK(is_wininet(hr));
    Certificate *c = client_from_pem();
    if (c) {
        CHECK_OK(sock_put_client(&k, c));
        Certificate_Release(c);
        hr = sock_connect(&k, wss("127.0.0.1", port_clientauth, "/echo"));
        CHECK_OK(hr);
        if (hr == S_OK)
            sock_check_echo(&k, "after the retry with a certificate");
    }
    sock_free(&k);

    /* Put right after ConnectAsync (pending or done): E_ILLEGAL_METHOD_CALL. */
    if (sock_open(&k, stream, ca_pem, NULL, 0)) {
        IAsyncAction *op = NULL;
        c = client_from_p12();
        CHECK_OK(sock_connect_async(&k, wss("127.0.0.1", port_valid, "/echo"), &op));
        if (c) {
            CHECK_HR(sock_put_client(&k, c), E_ILLEGAL_METHOD_CALL);
            Certificate_Release(c);
        }
        if (op) {
            CHECK_OK(IAsyncAction_Wait(op, WAIT_MS));
            IAsyncAction_Release(op);
        }
        sock_check_client(&k, NULL);
        sock_free(&k);
    }

    /* A validation handler together with a client certificate: both work. */
    if (sock_open(&k, stream, ca_pem, NULL, 0)) {
        EventRegistrationToken t = {0};
        validator v;
        v_init(&v, V_DEFER_THREAD, NULL);
        CHECK_OK(sock_add_validator(&k, &v, &t));
        c = client_from_p12();
        if (c) {
            CHECK_OK(sock_put_client(&k, c));
            Certificate_Release(c);
        }
        hr = sock_connect(&k, wss("127.0.0.1", port_clientauth, "/echo"));
        CHECK_OK(hr);
        v_check_seen(&v, 1, &pki_clientauth, SocketSslErrorSeverity_None, NULL, 0);
        if (hr == S_OK)
            sock_check_echo(&k, "validated mutual TLS");
        v_finish(&v);
        sock_free(&k);
        v_destroy(&v);
    }
}

static void test_client_certificate_connect_message(void)
{
    client_connect(0);
}

static void test_client_certificate_connect_stream(void)
{
    client_connect(1);
}

/* ---- 5. bad input -------------------------------------------------------------------------- */

static void test_bad_input_certificate(void)
{
    Certificate *c = NULL, *gone = NULL, *out = NULL;
    IBuffer *buf = NULL, *dead_buf = NULL, *blob = NULL;
    MessageWebSocket *ws = NULL;
    const char *s = NULL;
    DateTime dt;
    bool b;
    unsigned char h[32];
    uint32_t needed = 0;

    CHECK_OK(create_from_bytes(pki_valid.der, (uint32_t)pki_valid.der_len, &c));
    CHECK_OK(create_from_bytes(pki_valid.der, (uint32_t)pki_valid.der_len, &gone));
    CHECK_OK(Buffer_CreateFromBytes(pki_valid.der, (uint32_t)pki_valid.der_len, &buf));
    CHECK_OK(Buffer_CreateFromBytes(pki_valid.der, (uint32_t)pki_valid.der_len, &dead_buf));
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (!c || !gone || !buf || !dead_buf || !ws)
        return;
    CHECK(Certificate_Release(gone) == 0);
    CHECK(IBuffer_Release(dead_buf) == 0);
    Certificate *wrong = (Certificate *)(void *)buf; /* a live handle of another type */
    Certificate *made_up = (Certificate *)(void *)&needed;

    /* CreateCertificate. */
    CHECK_HR(Certificate_CreateCertificate(NULL, &out), E_POINTER);
    CHECK_HR(Certificate_CreateCertificate(buf, NULL), E_POINTER);
    CHECK_HR(Certificate_CreateCertificate(dead_buf, &out), E_INVALIDARG);
    CHECK_HR(Certificate_CreateCertificate((IBuffer *)(void *)c, &out), E_INVALIDARG);
    CHECK_HR(Certificate_CreateCertificate((IBuffer *)(void *)ws, &out), E_INVALIDARG);
    CHECK(out == NULL);

    /* AddRef / Release: 0 for anything but a live Certificate. */
    CHECK(Certificate_AddRef(NULL) == 0);
    CHECK(Certificate_Release(NULL) == 0);
    CHECK(Certificate_AddRef(gone) == 0);
    CHECK(Certificate_Release(gone) == 0);
    CHECK(Certificate_AddRef(wrong) == 0);
    CHECK(Certificate_Release(wrong) == 0);
    CHECK(Certificate_AddRef(made_up) == 0);
    CHECK(IBuffer_AddRef(buf) == 2); /* the buffer's count was untouched */
    CHECK(IBuffer_Release(buf) == 1);

    /* Getters: NULL handle or output -> E_POINTER; released, wrong type -> E_INVALIDARG. */
    Certificate *bad[] = {gone, wrong, made_up};
    CHECK_HR(Certificate_get_Subject(NULL, &s), E_POINTER);
    CHECK_HR(Certificate_get_Subject(c, NULL), E_POINTER);
    CHECK_HR(Certificate_get_Issuer(NULL, &s), E_POINTER);
    CHECK_HR(Certificate_get_Issuer(c, NULL), E_POINTER);
    CHECK_HR(Certificate_get_ValidFrom(NULL, &dt), E_POINTER);
    CHECK_HR(Certificate_get_ValidFrom(c, NULL), E_POINTER);
    CHECK_HR(Certificate_get_ValidTo(NULL, &dt), E_POINTER);
    CHECK_HR(Certificate_get_ValidTo(c, NULL), E_POINTER);
    CHECK_HR(Certificate_get_HasPrivateKey(NULL, &b), E_POINTER);
    CHECK_HR(Certificate_get_HasPrivateKey(c, NULL), E_POINTER);
    CHECK_HR(Certificate_GetHashValue(NULL, h, sizeof h, &needed), E_POINTER);
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(NULL, "SHA1", h, sizeof h, &needed), E_POINTER);
    CHECK_HR(Certificate_GetCertificateBlob(NULL, &blob), E_POINTER);
    CHECK_HR(Certificate_GetCertificateBlob(c, NULL), E_POINTER);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Certificate *x = bad[i];
        CHECK_HR(Certificate_get_Subject(x, &s), E_INVALIDARG);
        CHECK_HR(Certificate_get_Issuer(x, &s), E_INVALIDARG);
        CHECK_HR(Certificate_get_ValidFrom(x, &dt), E_INVALIDARG);
        CHECK_HR(Certificate_get_ValidTo(x, &dt), E_INVALIDARG);
        CHECK_HR(Certificate_get_HasPrivateKey(x, &b), E_INVALIDARG);
        CHECK_HR(Certificate_GetHashValue(x, h, sizeof h, &needed), E_INVALIDARG);
        CHECK_HR(Certificate_GetHashValue(x, NULL, 0, &needed), E_INVALIDARG);
        CHECK_HR(Certificate_GetHashValueWithAlgorithm(x, "SHA256", h, sizeof h, &needed),
                 E_INVALIDARG);
        CHECK_HR(Certificate_GetCertificateBlob(x, &blob), E_INVALIDARG);
        CHECK(blob == NULL);
    }
    /* A name that is not UTF-8. */
    CHECK_HR(Certificate_GetHashValueWithAlgorithm(c, "SHA\xff", h, sizeof h, &needed),
             E_INVALIDARG);
    /* The live one is fine after all that. */
    check_cert(c, &pki_valid, false);

    /* put_ClientCertificate with a released, wrong-type or made-up handle. */
    MessageWebSocketControl *control = NULL;
    CHECK_OK(MessageWebSocket_get_Control(ws, &control));
    if (control) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK_HR(MessageWebSocketControl_put_ClientCertificate(control, bad[i]), E_INVALIDARG);
        CHECK_HR(MessageWebSocketControl_put_ClientCertificate(
                     control, (Certificate *)(void *)control),
                 E_INVALIDARG);
        CHECK_HR(MessageWebSocketControl_put_ClientCertificate(NULL, c), E_POINTER);
        CHECK_HR(MessageWebSocketControl_get_ClientCertificate(NULL, &out), E_POINTER);
        CHECK_HR(MessageWebSocketControl_get_ClientCertificate(control, NULL), E_POINTER);
        CHECK_HR(MessageWebSocketControl_get_ClientCertificate(
                     (MessageWebSocketControl *)(void *)c, &out),
                 E_INVALIDARG);
        CHECK_HR(MessageWebSocketControl_put_ClientCertificate(
                     (MessageWebSocketControl *)(void *)c, NULL),
                 E_INVALIDARG);
        CHECK(out == NULL);
        MessageWebSocketControl_Release(control);
    }
    CHECK(MessageWebSocket_Release(ws) == 0);
    CHECK(Certificate_Release(c) == 0);
    CHECK(IBuffer_Release(buf) == 0);
}

static void test_bad_input_lists_and_sockets(void)
{
    sock k;
    Certificate *cert = NULL, *out = NULL;
    IVectorViewCertificate *iv = NULL, *gone_iv = NULL;
    IVectorChainValidationResult *errs = NULL;
    MessageWebSocketInformation *info = NULL;
    StreamWebSocket *sws = NULL;
    StreamWebSocketInformation *sinfo = NULL;
    StreamWebSocketControl *scontrol = NULL;
    MessageWebSocket *dead_ws = NULL;
    EventRegistrationToken t = {0};
    uint32_t n = 0;

    if (!sock_open(&k, 0, ca_pem, NULL, 0))
        return;
    CHECK_OK(sock_connect(&k, wss("127.0.0.1", port_valid, "/echo")));
    CHECK_OK(MessageWebSocket_get_Information(k.m, &info));
    if (!info) {
        sock_free(&k);
        return;
    }
    CHECK_OK(MessageWebSocketInformation_get_ServerCertificate(info, &cert));
    CHECK_OK(MessageWebSocketInformation_get_ServerIntermediateCertificates(info, &iv));
    CHECK_OK(MessageWebSocketInformation_get_ServerIntermediateCertificates(info, &gone_iv));
    CHECK_OK(MessageWebSocketInformation_get_ServerCertificateErrors(info, &errs));
    CHECK_OK(StreamWebSocket_Create(&sws));
    CHECK_OK(MessageWebSocket_Create(&dead_ws));
    if (!cert || !iv || !gone_iv || !errs || !sws || !dead_ws)
        goto out;
    CHECK(IVectorViewCertificate_Release(gone_iv) == 0 || iv == gone_iv);
    CHECK(MessageWebSocket_Release(dead_ws) == 0);
    CHECK_OK(StreamWebSocket_get_Information(sws, &sinfo));
    CHECK_OK(StreamWebSocket_get_Control(sws, &scontrol));

    /* IVectorViewCertificate. */
    IVectorViewCertificate *bad_iv[] = {(IVectorViewCertificate *)(void *)cert,
                                        (IVectorViewCertificate *)(void *)errs,
                                        (IVectorViewCertificate *)(void *)&n};
    CHECK(IVectorViewCertificate_AddRef(NULL) == 0);
    CHECK(IVectorViewCertificate_Release(NULL) == 0);
    CHECK_HR(IVectorViewCertificate_get_Size(NULL, &n), E_POINTER);
    CHECK_HR(IVectorViewCertificate_get_Size(iv, NULL), E_POINTER);
    CHECK_HR(IVectorViewCertificate_GetAt(NULL, 0, &out), E_POINTER);
    CHECK_HR(IVectorViewCertificate_GetAt(iv, 0, NULL), E_POINTER);
    for (size_t i = 0; i < sizeof bad_iv / sizeof bad_iv[0]; i++) {
        CHECK(IVectorViewCertificate_AddRef(bad_iv[i]) == 0);
        CHECK(IVectorViewCertificate_Release(bad_iv[i]) == 0);
        CHECK_HR(IVectorViewCertificate_get_Size(bad_iv[i], &n), E_INVALIDARG);
        CHECK_HR(IVectorViewCertificate_GetAt(bad_iv[i], 0, &out), E_INVALIDARG);
    }
    if (gone_iv != iv) {
        CHECK(IVectorViewCertificate_AddRef(gone_iv) == 0);
        CHECK_HR(IVectorViewCertificate_get_Size(gone_iv, &n), E_INVALIDARG);
        CHECK_HR(IVectorViewCertificate_GetAt(gone_iv, 0, &out), E_INVALIDARG);
    }
    CHECK(out == NULL);
    /* The list and the certificate (the Release attempts above did not count). */
    check_cert_list(iv, 0);
    check_cert(cert, &pki_valid, false);
    /* An IVectorViewCertificate is no IVectorChainValidationResult. */
    CHECK_HR(IVectorChainValidationResult_get_Size((IVectorChainValidationResult *)(void *)iv, &n),
             E_INVALIDARG);

    /* Information getters. */
    CHECK_HR(MessageWebSocketInformation_get_ServerCertificate(NULL, &out), E_POINTER);
    CHECK_HR(MessageWebSocketInformation_get_ServerCertificate(info, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketInformation_get_ServerIntermediateCertificates(NULL, &iv), E_POINTER);
    CHECK_HR(MessageWebSocketInformation_get_ServerIntermediateCertificates(info, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketInformation_get_ServerCertificate(
                 (MessageWebSocketInformation *)(void *)sinfo, &out),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocketInformation_get_ServerCertificate(
                 (MessageWebSocketInformation *)(void *)cert, &out),
             E_INVALIDARG);
    {
        IVectorViewCertificate *x = NULL;
        CHECK_HR(MessageWebSocketInformation_get_ServerIntermediateCertificates(
                     (MessageWebSocketInformation *)(void *)iv, &x),
                 E_INVALIDARG);
        CHECK_HR(StreamWebSocketInformation_get_ServerIntermediateCertificates(
                     (StreamWebSocketInformation *)(void *)info, &x),
                 E_INVALIDARG);
        CHECK(x == NULL);
    }
    CHECK_HR(StreamWebSocketInformation_get_ServerCertificate(NULL, &out), E_POINTER);
    CHECK_HR(StreamWebSocketInformation_get_ServerCertificate(sinfo, NULL), E_POINTER);
    CHECK_HR(StreamWebSocketInformation_get_ServerCertificate(
                 (StreamWebSocketInformation *)(void *)info, &out),
             E_INVALIDARG);
    CHECK_HR(StreamWebSocketInformation_get_ServerIntermediateCertificates(NULL, &iv), E_POINTER);
    CHECK(out == NULL);

    /* Stream Control's ClientCertificate. */
    if (scontrol) {
        CHECK_HR(StreamWebSocketControl_get_ClientCertificate(NULL, &out), E_POINTER);
        CHECK_HR(StreamWebSocketControl_get_ClientCertificate(scontrol, NULL), E_POINTER);
        CHECK_HR(StreamWebSocketControl_put_ClientCertificate(NULL, NULL), E_POINTER);
        CHECK_HR(StreamWebSocketControl_put_ClientCertificate(scontrol, cert), E_INVALIDARG);
        CHECK_HR(StreamWebSocketControl_put_ClientCertificate(scontrol,
                                                              (Certificate *)(void *)iv),
                 E_INVALIDARG);
        CHECK_HR(StreamWebSocketControl_get_ClientCertificate(
                     (StreamWebSocketControl *)(void *)sinfo, &out),
                 E_INVALIDARG);
        CHECK(out == NULL);
    }

    /* add_ / remove_ServerCustomValidationRequested. */
    {
        validator v;
        v_init(&v, V_ACCEPT, NULL);
        CHECK_HR(MessageWebSocket_add_ServerCustomValidationRequested(NULL, on_validate_message, &v,
                                                                      &t),
                 E_POINTER);
        CHECK_HR(MessageWebSocket_add_ServerCustomValidationRequested(k.m, NULL, &v, &t),
                 E_POINTER);
        CHECK_HR(MessageWebSocket_add_ServerCustomValidationRequested(k.m, on_validate_message, &v,
                                                                      NULL),
                 E_POINTER);
        CHECK_HR(MessageWebSocket_add_ServerCustomValidationRequested(
                     (MessageWebSocket *)(void *)sws, on_validate_message, &v, &t),
                 E_INVALIDARG);
        CHECK_HR(MessageWebSocket_add_ServerCustomValidationRequested(dead_ws, on_validate_message,
                                                                      &v, &t),
                 E_INVALIDARG);
        CHECK_HR(MessageWebSocket_add_ServerCustomValidationRequested(
                     (MessageWebSocket *)(void *)cert, on_validate_message, &v, &t),
                 E_INVALIDARG);
        CHECK_HR(MessageWebSocket_remove_ServerCustomValidationRequested(NULL, t), E_POINTER);
        CHECK_HR(MessageWebSocket_remove_ServerCustomValidationRequested(dead_ws, t), E_INVALIDARG);
        CHECK_HR(MessageWebSocket_remove_ServerCustomValidationRequested(
                     (MessageWebSocket *)(void *)sws, t),
                 E_INVALIDARG);
        CHECK_HR(StreamWebSocket_add_ServerCustomValidationRequested(NULL, on_validate_stream, &v,
                                                                     &t),
                 E_POINTER);
        CHECK_HR(StreamWebSocket_add_ServerCustomValidationRequested(sws, NULL, &v, &t), E_POINTER);
        CHECK_HR(StreamWebSocket_add_ServerCustomValidationRequested(sws, on_validate_stream, &v,
                                                                     NULL),
                 E_POINTER);
        CHECK_HR(StreamWebSocket_add_ServerCustomValidationRequested(
                     (StreamWebSocket *)(void *)k.m, on_validate_stream, &v, &t),
                 E_INVALIDARG);
        CHECK_HR(StreamWebSocket_remove_ServerCustomValidationRequested(NULL, t), E_POINTER);
        CHECK_HR(StreamWebSocket_remove_ServerCustomValidationRequested(
                     (StreamWebSocket *)(void *)k.m, t),
                 E_INVALIDARG);
        /* Unknown tokens are ignored. */
        EventRegistrationToken unknown = {123456789};
        CHECK_OK(MessageWebSocket_remove_ServerCustomValidationRequested(k.m, unknown));
        CHECK_OK(StreamWebSocket_remove_ServerCustomValidationRequested(sws, unknown));
        /* Added after connect (allowed), not raised for a connection already made. */
        CHECK_OK(MessageWebSocket_add_ServerCustomValidationRequested(k.m, on_validate_message, &v,
                                                                      &t));
        sock_check_echo(&k, "still connected");
        CHECK(tu_signal_get(&v.calls) == 0);
        CHECK_OK(MessageWebSocket_remove_ServerCustomValidationRequested(k.m, t));
        v_destroy(&v);
    }

out:
    if (scontrol)
        StreamWebSocketControl_Release(scontrol);
    if (sinfo)
        StreamWebSocketInformation_Release(sinfo);
    if (sws)
        CHECK(StreamWebSocket_Release(sws) == 0);
    if (errs)
        IVectorChainValidationResult_Release(errs);
    if (iv)
        IVectorViewCertificate_Release(iv);
    if (cert)
        Certificate_Release(cert);
    MessageWebSocketInformation_Release(info);
    sock_free(&k);
}

static void test_bad_input_args_and_deferral(void)
{
    EventRegistrationToken t = {0};
    validator v;
    sock k;
    Certificate *cert = NULL, *out = NULL;
    IVectorChainValidationResult *errs = NULL;
    IVectorViewCertificate *iv = NULL;
    SocketSslErrorSeverity sev;
    Deferral *d = NULL;

    /* Live args and a (completed) deferral kept past the handler. */
    if (!sock_open(&k, 0, ca_pem, NULL, 0))
        return;
    v_init(&v, V_KEEP_ARGS, NULL);
    CHECK_OK(sock_add_validator(&k, &v, &t));
    CHECK_OK(sock_connect(&k, wss("127.0.0.1", port_valid, "/echo")));
    v_check_seen(&v, 1, &pki_valid, SocketSslErrorSeverity_None, NULL, 0);
    v_finish(&v);
    WebSocketServerCustomValidationRequestedEventArgs *args = v.args;
    Deferral *deferral = v.d;
    CHECK(args != NULL && deferral != NULL);
    if (!args || !deferral) {
        sock_free(&k);
        v_destroy(&v);
        return;
    }
    CHECK_OK(Certificate_CreateFromPem(client_pem, client_key_pem, &cert));

    /* The kept args still answer. */
    {
        Certificate *c = NULL;
        IVectorViewCertificate *x = NULL;
        CHECK_OK(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificate(args, &c));
        check_cert(c, &pki_valid, false);
        if (c)
            Certificate_Release(c);
        CHECK_OK(WebSocketServerCustomValidationRequestedEventArgs_get_ServerIntermediateCertificates(
            args, &x));
        check_cert_list(x, 0);
        if (x)
            IVectorViewCertificate_Release(x);
        sev = -1;
        CHECK_OK(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrorSeverity(
            args, &sev));
        CHECK(sev == SocketSslErrorSeverity_None);
        /* A Reject once the connect is done changes nothing there (printed, not asserted). */
        HRESULT late = WebSocketServerCustomValidationRequestedEventArgs_Reject(args);
        printf("  Reject after the connect completed: 0x%08X\n", (unsigned)late);
        sock_check_echo(&k, "still connected after a late Reject");
    }

    /* NULL handles / outputs: E_POINTER; 0 from AddRef/Release. */
    CHECK(WebSocketServerCustomValidationRequestedEventArgs_AddRef(NULL) == 0);
    CHECK(WebSocketServerCustomValidationRequestedEventArgs_Release(NULL) == 0);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificate(NULL, &out),
             E_POINTER);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificate(args, NULL),
             E_POINTER);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrorSeverity(
                 NULL, &sev),
             E_POINTER);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrorSeverity(
                 args, NULL),
             E_POINTER);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrors(NULL,
                                                                                          &errs),
             E_POINTER);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrors(args,
                                                                                          NULL),
             E_POINTER);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerIntermediateCertificates(
                 NULL, &iv),
             E_POINTER);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerIntermediateCertificates(
                 args, NULL),
             E_POINTER);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_Reject(NULL), E_POINTER);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(NULL, &d), E_POINTER);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(args, NULL), E_POINTER);
    CHECK(Deferral_AddRef(NULL) == 0);
    CHECK(Deferral_Release(NULL) == 0);
    CHECK_HR(Deferral_Complete(NULL), E_POINTER);

    /* Wrong types, made up, and the args the handler was lent (gone after the connect). */
    WebSocketServerCustomValidationRequestedEventArgs *bad_args[] = {
        (WebSocketServerCustomValidationRequestedEventArgs *)(void *)deferral,
        (WebSocketServerCustomValidationRequestedEventArgs *)(void *)cert,
        (WebSocketServerCustomValidationRequestedEventArgs *)(void *)&t,
    };
    for (size_t i = 0; i < sizeof bad_args / sizeof bad_args[0]; i++) {
        WebSocketServerCustomValidationRequestedEventArgs *x = bad_args[i];
        CHECK(WebSocketServerCustomValidationRequestedEventArgs_AddRef(x) == 0);
        CHECK(WebSocketServerCustomValidationRequestedEventArgs_Release(x) == 0);
        CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificate(x, &out),
                 E_INVALIDARG);
        CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrorSeverity(
                     x, &sev),
                 E_INVALIDARG);
        CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificateErrors(
                     x, &errs),
                 E_INVALIDARG);
        CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerIntermediateCertificates(
                     x, &iv),
                 E_INVALIDARG);
        CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_Reject(x), E_INVALIDARG);
        CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(x, &d),
                 E_INVALIDARG);
    }
    CHECK(out == NULL && errs == NULL && iv == NULL && d == NULL);
    Deferral *bad_d[] = {(Deferral *)(void *)args, (Deferral *)(void *)cert,
                         (Deferral *)(void *)&t};
    for (size_t i = 0; i < sizeof bad_d / sizeof bad_d[0]; i++) {
        CHECK(Deferral_AddRef(bad_d[i]) == 0);
        CHECK(Deferral_Release(bad_d[i]) == 0);
        CHECK_HR(Deferral_Complete(bad_d[i]), E_INVALIDARG);
    }
    /* The real ones are untouched by all that. */
    CHECK(Deferral_AddRef(deferral) == 2);
    CHECK(Deferral_Release(deferral) == 1);
    CHECK_OK(Deferral_Complete(deferral)); /* again: nothing happens */
    CHECK(WebSocketServerCustomValidationRequestedEventArgs_AddRef(args) >= 2);
    CHECK(WebSocketServerCustomValidationRequestedEventArgs_Release(args) >= 1);

    /* Released: the deferral, then the args. */
    CHECK(Deferral_Release(deferral) == 0);
    v.d = NULL;
    CHECK(Deferral_AddRef(deferral) == 0);
    CHECK_HR(Deferral_Complete(deferral), E_INVALIDARG);
    CHECK(WebSocketServerCustomValidationRequestedEventArgs_Release(args) == 0);
    v.args = NULL;
    CHECK(WebSocketServerCustomValidationRequestedEventArgs_AddRef(args) == 0);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_get_ServerCertificate(args, &out),
             E_INVALIDARG);
    CHECK(out == NULL);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_Reject(args), E_INVALIDARG);
    CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(args, &d),
             E_INVALIDARG);
    CHECK(d == NULL);

    if (cert)
        Certificate_Release(cert);
    sock_free(&k);
    v_destroy(&v);

    /* The borrowed args of a handler that kept no reference: invalid once the connect is done. */
    if (sock_open(&k, 1, ca_pem, NULL, 0)) {
        v_init(&v, V_ACCEPT, NULL);
        CHECK_OK(sock_add_validator(&k, &v, &t));
        CHECK_OK(sock_connect(&k, wss("127.0.0.1", port_valid, "/echo")));
        CHECK(tu_signal_get(&v.calls) == 1);
        WebSocketServerCustomValidationRequestedEventArgs *lent = v.borrowed;
        Deferral *late = NULL;
        CHECK(lent != NULL);
        if (lent) {
            CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_Reject(lent), E_INVALIDARG);
            CHECK_HR(WebSocketServerCustomValidationRequestedEventArgs_GetDeferral(lent, &late),
                     E_INVALIDARG);
            CHECK(late == NULL);
            CHECK(WebSocketServerCustomValidationRequestedEventArgs_AddRef(lent) == 0);
        }
        if (late)
            Deferral_Release(late);
        sws_check_echo(k.s, (const uint8_t *)"xyz", 3);
        v_finish(&v);
        sock_free(&k);
        v_destroy(&v);
    }
}

/* --------------------------------------------------------------------------------------- */

static const tu_test tests[] = {
    TU_TEST(test_information_message),
    TU_TEST(test_information_stream),
    TU_TEST(test_create_certificate),
    TU_TEST(test_hash_buffer_pattern),
    TU_TEST(test_validation_message),
    TU_TEST(test_validation_stream),
    TU_TEST(test_deferrals_message),
    TU_TEST(test_deferrals_stream),
    TU_TEST(test_client_certificate_create),
    TU_TEST(test_client_certificate_control),
    TU_TEST(test_client_certificate_connect_message),
    TU_TEST(test_client_certificate_connect_stream),
    TU_TEST(test_bad_input_certificate),
    TU_TEST(test_bad_input_lists_and_sockets),
    TU_TEST(test_bad_input_args_and_deferral),
    TU_END,
};

int main(int argc, char **argv)
{
    tls_init(argc, argv);
    ca_pem = read_tls_file("ca.pem", NULL);
    client_pem = read_tls_file("client.pem", NULL);
    client_key_pem = read_tls_file("client-key.pem", NULL);
    valid_pem = read_tls_file("valid.pem", NULL);
    client_p12 = (unsigned char *)read_tls_file("client.p12", &client_p12_len);
    other_key_pem = generate_key_pem();
    pki_cert *all[] = {&pki_valid, &pki_expired, &pki_wrongname, &pki_clientauth, &pki_client,
                       &pki_ca};
    int loaded = 1;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        loaded &= load_pki_cert(all[i]);
    if (!ca_pem || !client_pem || !client_key_pem || !valid_pem || !client_p12 || !loaded) {
        fprintf(stderr, "%s lacks a file of the test PKI\n", tls_dir);
        return 2;
    }

    tu_run(tests, argc - TLS_ARGC, argv + TLS_ARGC);

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->der);
    free(ca_pem);
    free(client_pem);
    free(client_key_pem);
    free(valid_pem);
    free(client_p12);
    free(other_key_pem);
    return tu_finish();
}
