/*
 * One 1 GiB binary message from the server (test server route /stream: a single
 * frame, byte i = i % 251), received twice in bounded memory: by a StreamWebSocket
 * reading its InputStream in sections, and by a MessageWebSocket in PartialMessage
 * mode (one MessageReceived per piece). ctest runs this with
 * `run_with_server.py --max-rss-mib 64`: the harness fails the test if the process's
 * peak RSS goes over 64 MiB, so "delivered in pieces as it arrives" is measured,
 * not assumed. Every wait is bounded.
 *
 * Usage: test_big_message ws://127.0.0.1:PORT [BYTES] [TEST...]   (BYTES: the message size,
 * default 1 GiB; the valgrind and asan runs use a few MiB. TEST: see tu_run in testutil.h.)
 */
#include "testutil.h"

#define GIB (1024ull * 1024ull * 1024ull)
static uint64_t message_bytes = GIB;
#define PIECE (256u * 1024u)
#define WAIT_MS 30000

/* Checks that `n` bytes at message offset `offset` follow the route's pattern. */
static int pattern_ok(const uint8_t *p, uint32_t n, uint64_t offset)
{
    for (uint32_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)((offset + i) % 251))
            return 0;
    return 1;
}

static void test_stream_websocket_reads_one_gib_message_in_sections(void)
{
    StreamWebSocket *ws = NULL;
    IAsyncAction *connect = NULL;
    IInputStream *in = NULL;
    IBuffer *buf = NULL;
    static uint8_t copy[PIECE];
    uint64_t total = 0;
    uint32_t reads = 0;
    int pattern = 1;
    char path[64];

    snprintf(path, sizeof path, "/stream?bytes=%llu", (unsigned long long)message_bytes);
    CHECK_OK(StreamWebSocket_Create(&ws));
    CHECK_OK(StreamWebSocket_ConnectAsync(ws, tu_url(path), &connect));
    CHECK_OK(IAsyncAction_Wait(connect, WAIT_MS));
    IAsyncAction_Release(connect);
    CHECK_OK(StreamWebSocket_get_InputStream(ws, &in));
    CHECK_OK(Buffer_Create(PIECE, &buf));
    /* Bounded: at most one read per byte would be 1 Gi reads; pieces are large, so
     * 100,000 reads (>= 10 KiB each on average) is a generous cap. */
    while (total < message_bytes && reads < 100000) {
        IAsyncOperationIBuffer *op = NULL;
        IBuffer *got = NULL;
        uint32_t len = 0, copied = 0;
        HRESULT hr = IInputStream_ReadAsync(in, buf, PIECE, InputStreamOptions_Partial, &op);
        if (RTWS_SUCCEEDED(hr))
            hr = IAsyncOperationIBuffer_Wait(op, WAIT_MS, &got);
        if (op)
            IAsyncOperationIBuffer_Release(op);
        CHECK_OK(hr);
        if (RTWS_FAILED(hr))
            break;
        CHECK_OK(IBuffer_get_Length(got, &len));
        CHECK_OK(IBuffer_CopyTo(got, 0, copy, len, &copied));
        IBuffer_Release(got);
        if (len == 0 || copied != len)
            break;
        if (pattern && !pattern_ok(copy, len, total))
            pattern = 0;
        total += len;
        reads++;
    }
    CHECK(total == message_bytes);
    CHECK(pattern);
    CHECK(reads > 1); /* in sections, not whole */
    printf("StreamWebSocket: %llu bytes in %u reads\n", (unsigned long long)total, reads);
    IBuffer_Release(buf);
    IInputStream_Release(in);
    CHECK_OK(StreamWebSocket_Close(ws));
    StreamWebSocket_Release(ws);
}

struct pieces {
    pthread_mutex_t lock;
    uint64_t total;
    uint32_t events;
    uint32_t complete_flags; /* events with IsMessageComplete */
    int pattern;
    int failed;
    tu_signal done;
};

static void on_piece(void *context, MessageWebSocket *sender,
                     MessageWebSocketMessageReceivedEventArgs *args)
{
    struct pieces *p = context;
    DataReader *r = NULL;
    bool complete = false;
    uint32_t n = 0;
    static uint8_t copy[4u << 20];
    (void)sender;
    if (RTWS_FAILED(MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &r))) {
        p->failed = 1;
        tu_signal_bump(&p->done);
        return;
    }
    MessageWebSocketMessageReceivedEventArgs_get_IsMessageComplete(args, &complete);
    DataReader_get_UnconsumedBufferLength(r, &n);
    pthread_mutex_lock(&p->lock);
    if (n > sizeof copy || RTWS_FAILED(DataReader_ReadBytes(r, n, copy)))
        p->failed = 1;
    else if (p->pattern && !pattern_ok(copy, n, p->total))
        p->pattern = 0;
    p->total += n;
    p->events++;
    if (complete)
        p->complete_flags++;
    pthread_mutex_unlock(&p->lock);
    DataReader_Release(r);
    if (complete)
        tu_signal_bump(&p->done);
}

static void test_partial_message_mode_gets_one_gib_in_pieces(void)
{
    MessageWebSocket *ws = NULL;
    MessageWebSocketControl *c = NULL;
    EventRegistrationToken token;
    struct pieces p;
    char path[64];

    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.lock, NULL);
    tu_signal_init(&p.done);
    p.pattern = 1;
    snprintf(path, sizeof path, "/stream?bytes=%llu", (unsigned long long)message_bytes);
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_get_Control(ws, &c));
    CHECK_OK(MessageWebSocketControl_put_ReceiveMode(c, MessageWebSocketReceiveMode_PartialMessage));
    MessageWebSocketControl_Release(c);
    CHECK_OK(MessageWebSocket_add_MessageReceived(ws, on_piece, &p, &token));
    CHECK_OK(tu_connect_url(ws, tu_url(path), WAIT_MS, NULL, NULL));
    CHECK(tu_signal_wait(&p.done, 1, 120000));
    pthread_mutex_lock(&p.lock);
    CHECK(!p.failed);
    CHECK(p.total == message_bytes);
    CHECK(p.pattern);
    CHECK(p.events > 1);
    CHECK(p.complete_flags == 1);
    printf("PartialMessage: %llu bytes in %u events\n", (unsigned long long)p.total, p.events);
    pthread_mutex_unlock(&p.lock);
    CHECK_OK(MessageWebSocket_remove_MessageReceived(ws, token));
    CHECK_OK(MessageWebSocket_Close(ws));
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&p.done);
    pthread_mutex_destroy(&p.lock);
}

static const tu_test tests[] = {
    TU_TEST(test_stream_websocket_reads_one_gib_message_in_sections),
    TU_TEST(test_partial_message_mode_gets_one_gib_in_pieces),
    TU_END,
};

int main(int argc, char **argv)
{
    int first_name = 2;
    tu_init(argc, argv);
    if (argc > 2 && argv[2][0] >= '0' && argv[2][0] <= '9') {
        message_bytes = strtoull(argv[2], NULL, 10);
        first_name = 3;
    }
    if (message_bytes == 0) {
        fprintf(stderr, "test_big_message: BYTES must be a positive number\n");
        return 2;
    }
    tu_run(tests, argc - first_name, argv + first_name);
    return tu_finish();
}
