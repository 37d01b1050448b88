/*
 * A large transfer through a StreamWebSocket: what the seed's StreamWebSocket section
 * says the class is for ("suitable when very large files (such as photos or videos)
 * are being transferred"). A file is streamed through an echo server and what comes
 * back is checked against it by SHA-256, with memory bounded whatever the file's size:
 *
 *  - a sender thread reads the file CHUNK bytes at a time and sends each chunk with
 *    IOutputStream_WriteAsync (a Buffer_CreateFromBytes copy), keeping at most
 *    IN_FLIGHT writes pending (a write completes once the kernel has taken it);
 *  - the main thread reads with IInputStream_ReadAsync into one reusable
 *    Buffer_Create(CHUNK) buffer (InputStreamOptions_Partial: a read completes as soon
 *    as any byte is there), copies each piece out with IBuffer_CopyTo and hashes it;
 *  - both sides hash with OpenSSL's libcrypto (EVP_Digest*); the example passes only
 *    when the hashes and the byte counts are equal. It prints the throughput and the
 *    process's peak RSS (getrusage).
 *
 * Without FILE (or with "-"), a deterministic pseudo-random file of SIZE bytes (default
 * 64 MiB; suffixes K, M, G are KiB, MiB, GiB) is generated in $TMPDIR (or /tmp) with
 * mkstemp; it is unlinked at once, so it is gone at exit whatever happens.
 * Every wait is bounded (WAIT_MS).
 *
 * Usage: large_transfer ws://127.0.0.1:PORT/echo [FILE|-] [SIZE]   (SIZE only without FILE)
 */
#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64
#include <rtws.h>

#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256u * 1024u)       /* bytes per write, and the read buffer's capacity */
#define IN_FLIGHT 4                /* writes pending at most */
#define WAIT_MS 60000              /* bound of every single wait */
#define DEFAULT_SIZE (64ull << 20) /* generated file */

struct closed_event {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int raised;
};

/* What the sender thread needs, and what it reports back. */
struct sender {
    StreamWebSocket *socket;
    int fd;
    uint64_t file_bytes; /* read from the file (and hashed) */
    uint64_t sent_bytes; /* acknowledged by the completed writes */
    uint32_t writes;
    int ok;
    unsigned char digest[EVP_MAX_MD_SIZE];
};

static void report(const char *what, HRESULT hr)
{
    /* WebSocketError.GetStatus turns the HRESULT into a WebErrorStatus to switch on. The
     * message is the calling thread's last error: report on the thread that failed. */
    fprintf(stderr, "%s failed: 0x%08X (WebErrorStatus %d): %s\n", what, (unsigned)hr,
            (int)WebSocketError_GetStatus(hr), rtws_GetLastErrorMessage());
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void to_hex(const unsigned char *digest, unsigned length, char *hex)
{
    for (unsigned i = 0; i < length; i++)
        sprintf(hex + 2 * i, "%02x", digest[i]);
}

static void on_closed(void *context, StreamWebSocket *sender, WebSocketClosedEventArgs *args)
{
    struct closed_event *closed = context;
    uint16_t code = 0;
    const char *reason = "";
    WebSocketClosedEventArgs_get_Code(args, &code);
    WebSocketClosedEventArgs_get_Reason(args, &reason);
    printf("WebSocket_Closed; Code: %u, Reason: \"%s\"\n", (unsigned)code, reason);
    fflush(stdout);
    (void)sender;
    pthread_mutex_lock(&closed->lock);
    closed->raised = 1;
    pthread_cond_signal(&closed->cond);
    pthread_mutex_unlock(&closed->lock);
}

/* "64M" -> 67108864. Returns 0 when not a size. */
static uint64_t parse_size(const char *text)
{
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || end == text)
        return 0;
    switch (*end) {
    case 'K': case 'k': value <<= 10; end++; break;
    case 'M': case 'm': value <<= 20; end++; break;
    case 'G': case 'g': value <<= 30; end++; break;
    default: break;
    }
    return *end ? 0 : (uint64_t)value;
}

/* splitmix64: a fixed, well-mixed byte sequence (not for crypto; only test data). */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Writes `size` deterministic pseudo-random bytes to a new temporary file, unlinked at once
 * (so it disappears with the descriptor, whatever happens). Returns the fd, or -1. */
static int generate_file(uint64_t size, uint8_t *chunk)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/rtws-large-transfer-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "mkstemp(%s): %s\n", path, strerror(errno));
        return -1;
    }
    unlink(path);
    uint64_t state = 0x5254575300000001ull; /* fixed seed: the same file every run */
    for (uint64_t done = 0; done < size;) {
        uint32_t n = size - done < CHUNK ? (uint32_t)(size - done) : CHUNK;
        for (uint32_t i = 0; i < n; i += 8) {
            uint64_t r = next_random(&state);
            memcpy(chunk + i, &r, n - i < 8 ? n - i : 8);
        }
        for (uint32_t off = 0; off < n;) {
            ssize_t w = write(fd, chunk + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                fprintf(stderr, "writing %s: %s\n", path, strerror(errno));
                close(fd);
                return -1;
            }
            off += (uint32_t)w;
        }
        done += n;
    }
    printf("Generated %" PRIu64 " pseudo-random bytes in %s (deleted at exit)\n", size, path);
    return fd;
}

/* Waits (bounded) for one pending write, then releases it. */
static HRESULT finish_write(struct sender *s, IAsyncOperationUInt32 *op)
{
    uint32_t written = 0;
    HRESULT hr = IAsyncOperationUInt32_Wait(op, WAIT_MS, &written);
    if (hr == RTWS_E_TIMEOUT)
        IAsyncOperationUInt32_Cancel(op);
    IAsyncOperationUInt32_Release(op);
    if (RTWS_SUCCEEDED(hr))
        s->sent_bytes += written;
    return hr;
}

/* The sender thread: the file, chunk by chunk, each chunk one WriteAsync (one binary
 * message), at most IN_FLIGHT of them pending. */
static void *send_file(void *arg)
{
    struct sender *s = arg;
    IOutputStream *output = NULL;
    IAsyncOperationUInt32 *pending[IN_FLIGHT];
    unsigned first = 0, count = 0;
    uint8_t *chunk = malloc(CHUNK);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = chunk && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    if (!ok)
        fprintf(stderr, "sender: out of memory or no SHA-256\n");

    HRESULT hr = S_OK;
    if (ok && RTWS_FAILED(hr = StreamWebSocket_get_OutputStream(s->socket, &output))) {
        report("get_OutputStream", hr);
        ok = 0;
    }
    while (ok) {
        ssize_t n = pread(s->fd, chunk, CHUNK, (off_t)s->file_bytes);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "sender: reading the file: %s\n", strerror(errno));
            ok = 0;
            break;
        }
        if (n == 0)
            break; /* end of file */
        EVP_DigestUpdate(md, chunk, (size_t)n);
        s->file_bytes += (uint64_t)n;
        /* Keep at most IN_FLIGHT writes pending: wait for the oldest first. */
        if (count == IN_FLIGHT) {
            hr = finish_write(s, pending[first]);
            first = (first + 1) % IN_FLIGHT;
            count--;
            if (RTWS_FAILED(hr)) {
                report("WriteAsync", hr);
                ok = 0;
                break;
            }
        }
        /* The buffer's bytes are copied by WriteAsync: the buffer can go at once. */
        IBuffer *buffer = NULL;
        IAsyncOperationUInt32 *op = NULL;
        hr = Buffer_CreateFromBytes(chunk, (uint32_t)n, &buffer);
        if (RTWS_SUCCEEDED(hr))
            hr = IOutputStream_WriteAsync(output, buffer, &op);
        if (buffer)
            IBuffer_Release(buffer);
        if (RTWS_FAILED(hr)) {
            report("WriteAsync", hr);
            ok = 0;
            break;
        }
        pending[(first + count) % IN_FLIGHT] = op;
        count++;
        s->writes++;
    }
    /* The writes still pending: waited for (bounded) on success, canceled after a failure. */
    for (; count > 0; first = (first + 1) % IN_FLIGHT, count--) {
        if (!ok)
            IAsyncOperationUInt32_Cancel(pending[first]);
        hr = finish_write(s, pending[first]);
        if (ok && RTWS_FAILED(hr)) {
            report("WriteAsync", hr);
            ok = 0;
        }
    }
    unsigned length = 0;
    if (md && !EVP_DigestFinal_ex(md, s->digest, &length))
        ok = 0;
    EVP_MD_CTX_free(md);
    free(chunk);
    if (output)
        IOutputStream_Release(output);
    if (!ok)
        StreamWebSocket_Close(s->socket); /* ends the main thread's reads at once */
    s->ok = ok;
    return NULL;
}

/* One bounded ReadAsync into `buffer`; `*length` gets the bytes read (0: the stream ended),
 * copied to `out`. */
static HRESULT read_once(IInputStream *input, IBuffer *buffer, uint8_t *out, uint32_t *length)
{
    IAsyncOperationIBuffer *op = NULL;
    IBuffer *result = NULL;
    *length = 0;
    HRESULT hr = IInputStream_ReadAsync(input, buffer, CHUNK, InputStreamOptions_Partial, &op);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncOperationIBuffer_Wait(op, WAIT_MS, &result);
        if (hr == RTWS_E_TIMEOUT)
            IAsyncOperationIBuffer_Cancel(op); /* a canceled read loses nothing */
        IAsyncOperationIBuffer_Release(op);
    }
    uint32_t filled = 0;
    if (RTWS_SUCCEEDED(hr))
        hr = IBuffer_get_Length(result, &filled);
    if (RTWS_SUCCEEDED(hr) && filled > 0)
        hr = IBuffer_CopyTo(result, 0, out, CHUNK, length);
    if (result)
        IBuffer_Release(result);
    return hr;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s ws://host:port/echo [FILE|-] [SIZE]\n", argv[0]);
        return 2;
    }
    const char *file = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
    uint64_t size = DEFAULT_SIZE;
    if (argc > 3 && (size = parse_size(argv[3])) == 0) {
        fprintf(stderr, "not a size (bytes, or with K, M, G): %s\n", argv[3]);
        return 2;
    }
    uint8_t *chunk = malloc(CHUNK);
    if (!chunk)
        return 1;

    /* The file: given, or generated. */
    int fd;
    if (file) {
        struct stat st;
        fd = open(file, O_RDONLY);
        if (fd < 0 || fstat(fd, &st) != 0) {
            fprintf(stderr, "%s: %s\n", file, strerror(errno));
            return 1;
        }
        size = (uint64_t)st.st_size;
        printf("Sending %s: %" PRIu64 " bytes\n", file, size);
    } else if ((fd = generate_file(size, chunk)) < 0) {
        return 1;
    }
    fflush(stdout);

    struct closed_event closed = {.raised = 0};
    pthread_mutex_init(&closed.lock, NULL);
    /* Deadlines on the monotonic clock: a step of the wall clock must not end a wait. */
    pthread_condattr_t cond_attr;
    pthread_condattr_init(&cond_attr);
    pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
    pthread_cond_init(&closed.cond, &cond_attr);
    pthread_condattr_destroy(&cond_attr);
    struct sender sender = {.fd = fd};

    StreamWebSocket *socket = NULL;
    IInputStream *input = NULL;
    IBuffer *buffer = NULL;
    HRESULT hr = StreamWebSocket_Create(&socket);
    if (RTWS_FAILED(hr)) {
        report("StreamWebSocket_Create", hr);
        return 1;
    }
    EventRegistrationToken closed_token;
    StreamWebSocket_add_Closed(socket, on_closed, &closed, &closed_token);

    IAsyncAction *connect = NULL;
    hr = StreamWebSocket_ConnectAsync(socket, argv[1], &connect);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncAction_Wait(connect, WAIT_MS);
        if (hr == RTWS_E_TIMEOUT)
            IAsyncAction_Cancel(connect);
        IAsyncAction_Release(connect);
    }
    if (RTWS_FAILED(hr)) {
        report("ConnectAsync", hr);
        StreamWebSocket_Release(socket);
        rtws_Shutdown(5000);
        return 1;
    }
    /* One reusable receive buffer for the whole transfer. */
    if (RTWS_SUCCEEDED(hr = StreamWebSocket_get_InputStream(socket, &input)))
        hr = Buffer_Create(CHUNK, &buffer);
    if (RTWS_FAILED(hr)) {
        report("get_InputStream / Buffer_Create", hr);
        if (input)
            IInputStream_Release(input);
        StreamWebSocket_Release(socket);
        rtws_Shutdown(5000);
        return 1;
    }

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        fprintf(stderr, "EVP_DigestInit_ex(SHA-256) failed\n");
        return 1;
    }

    double start = now_seconds();
    sender.socket = socket;
    pthread_t thread;
    if (pthread_create(&thread, NULL, send_file, &sender) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }

    /* Receive the echo until as many bytes came back as the file has. */
    uint64_t received = 0;
    uint32_t reads = 0, length = 0;
    int read_ok = 1;
    while (received < size) {
        hr = read_once(input, buffer, chunk, &length);
        if (RTWS_FAILED(hr)) {
            report("ReadAsync", hr);
            read_ok = 0;
            break;
        }
        if (length == 0) {
            fprintf(stderr, "the stream ended after %" PRIu64 " of %" PRIu64 " bytes\n",
                    received, size);
            read_ok = 0;
            break;
        }
        EVP_DigestUpdate(md, chunk, length);
        received += length;
        reads++;
    }
    double elapsed = now_seconds() - start;
    if (!read_ok)
        StreamWebSocket_Close(socket); /* fails the sender's writes, so the join below is quick */
    pthread_join(thread, NULL);

    /* Close with 1000; then the stream must end (a read completes with 0 bytes) with no
     * byte more than was sent. */
    hr = StreamWebSocket_CloseWithStatus(socket, 1000, "");
    if (RTWS_FAILED(hr)) {
        report("Close", hr);
        read_ok = 0;
    }
    uint64_t extra = 0;
    while (read_ok) {
        hr = read_once(input, buffer, chunk, &length);
        if (RTWS_FAILED(hr)) {
            report("ReadAsync after Close", hr);
            read_ok = 0;
        } else if (length == 0) {
            break;
        } else {
            EVP_DigestUpdate(md, chunk, length);
            extra += length;
        }
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned digest_length = 0;
    EVP_DigestFinal_ex(md, digest, &digest_length);
    EVP_MD_CTX_free(md);

    /* Wait (bounded) for Closed. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&closed.lock);
    while (!closed.raised && pthread_cond_timedwait(&closed.cond, &closed.lock, &deadline) == 0) {
    }
    int closed_ok = closed.raised;
    pthread_mutex_unlock(&closed.lock);
    if (!closed_ok)
        fprintf(stderr, "Closed was not raised within %d s\n", WAIT_MS / 1000);

    char sent_hex[2 * EVP_MAX_MD_SIZE + 1] = "", received_hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    to_hex(sender.digest, digest_length, sent_hex);
    to_hex(digest, digest_length, received_hex);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    received += extra;
    printf("Sent %" PRIu64 " bytes in %u writes; received %" PRIu64 " bytes in %u reads\n",
           sender.sent_bytes, (unsigned)sender.writes, received, (unsigned)reads);
    printf("SHA-256 of the file: %s\n", sent_hex);
    printf("SHA-256 of the echo: %s\n", received_hex);
    printf("Throughput: %.1f MB/s (%" PRIu64 " bytes echoed in %.2f s)\n",
           elapsed > 0 ? (double)received / 1e6 / elapsed : 0.0, received, elapsed);
    printf("Peak RSS: %.1f MiB\n", (double)usage.ru_maxrss / 1024.0); /* ru_maxrss: KiB */

    int ok = sender.ok && read_ok && closed_ok && sender.file_bytes == size &&
             sender.sent_bytes == size && received == size &&
             strcmp(sent_hex, received_hex) == 0;
    if (ok)
        printf("Transfer verified: %" PRIu64 " bytes, SHA-256 equal\n", size);
    else
        fprintf(stderr, "Transfer FAILED: file %" PRIu64 " bytes, read %" PRIu64
                        ", sent %" PRIu64 ", received %" PRIu64 ", hashes %s\n",
                size, sender.file_bytes, sender.sent_bytes, received,
                strcmp(sent_hex, received_hex) == 0 ? "equal" : "differ");

    IBuffer_Release(buffer);
    IInputStream_Release(input);
    StreamWebSocket_Release(socket);
    rtws_Shutdown(5000);
    close(fd);
    free(chunk);
    pthread_cond_destroy(&closed.cond);
    pthread_mutex_destroy(&closed.lock);
    return ok ? 0 : 1;
}
