/*
 * permessage-deflate (RFC 7692) through the C ABI against an independent peer: Python
 * `websockets` (tests/deflate/peer.py), one port per server configuration. Run as
 *   peer.py -- test_deflate ws://127.0.0.1:{port_default} [TEST...]
 * with every port in RTWS_DEFLATE_PORTS. Checks the offer on the wire, what Information
 * reports as agreed, echoes in every configuration (text and binary, 0 B to 16 MiB,
 * compressible and not, fragmented sends), every offer against every configuration, a
 * server that declines, PartialMessage pieces and StreamWebSocket reads in bounded memory,
 * decompression bombs refused, and the Control's bad input.
 */
#include "recorder.h"

#include <sys/resource.h>

/* The peer's port of configuration `name` (peer.py's CONFIGS), as ws://127.0.0.1:PORT`path`. */
static const char *peer_url(const char *name, const char *path)
{
    static char url[256];
    const char *ports = getenv("RTWS_DEFLATE_PORTS");
    size_t n = strlen(name);
    url[0] = '\0';
    for (const char *p = ports; p && *p;) {
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", atoi(p + n + 1), path);
            return url;
        }
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    fprintf(stderr, "no port for configuration %s in RTWS_DEFLATE_PORTS\n", name);
    exit(2);
}

static const PerMessageDeflateOptions OFFER = {true, false, false, 15, 15, 0};

static void offer(MessageWebSocket *ws, PerMessageDeflateOptions o)
{
    MessageWebSocketControl *c = tu_control_of(ws);
    CHECK_OK(MessageWebSocketControl_put_PerMessageDeflate(c, o));
    MessageWebSocketControl_Release(c);
}

static PerMessageDeflateOptions agreed(MessageWebSocket *ws)
{
    MessageWebSocketInformation *info = NULL;
    PerMessageDeflateOptions o;
    memset(&o, 0xAB, sizeof o);
    CHECK_OK(MessageWebSocket_get_Information(ws, &info));
    CHECK_OK(MessageWebSocketInformation_get_PerMessageDeflate(info, &o));
    MessageWebSocketInformation_Release(info);
    return o;
}

/* Compares the negotiated fields (the level is checked where it matters). */
static int same(PerMessageDeflateOptions a, PerMessageDeflateOptions b)
{
    return a.Enabled == b.Enabled && a.ClientNoContextTakeover == b.ClientNoContextTakeover &&
           a.ServerNoContextTakeover == b.ServerNoContextTakeover &&
           a.ClientMaxWindowBits == b.ClientMaxWindowBits &&
           a.ServerMaxWindowBits == b.ServerMaxWindowBits;
}

static void print_options(const char *what, PerMessageDeflateOptions o)
{
    fprintf(stderr, "  %s: enabled %d, client reset %d, server reset %d, client bits %u, server bits %u\n",
            what, o.Enabled, o.ClientNoContextTakeover, o.ServerNoContextTakeover,
            (unsigned)o.ClientMaxWindowBits, (unsigned)o.ServerMaxWindowBits);
}

/* Messages of the echo tests: compressible JSON-like text, pseudo-random bytes (deflate
 * cannot shrink them), and the edges. */
static uint8_t *make_payload(int kind, uint32_t len)
{
    static const char json[] = "{\"symbol\":\"ACME\",\"bid\":101.25,\"ask\":101.5,\"size\":300},";
    uint8_t *p = malloc(len ? len : 1);
    uint32_t x = 2463534242u + len;
    for (uint32_t i = 0; i < len; i++) {
        if (kind == 0) {
            p[i] = (uint8_t)json[i % (sizeof json - 1)];
        } else {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            p[i] = (uint8_t)x;
        }
    }
    return p;
}

/* Echoes `count` messages through `ws` (connected to /echo) and checks them. */
static void echo_round(recorder *r, MessageWebSocket *ws, const char *what)
{
    static const uint32_t sizes[] = {0, 1, 125, 126, 4096, 70000, 300000};
    enum { N = sizeof sizes / sizeof sizes[0] };
    uint8_t *sent[2 * N];
    int before = rec_count(r);
    for (int i = 0; i < 2 * N; i++) {
        uint32_t len = sizes[i % N];
        int random = i >= N;
        sent[i] = make_payload(random, len);
        /* Text for the JSON-like half (valid UTF-8), binary for the random half. */
        CHECK_OK(tu_set_type(ws, random ? SocketMessageType_Binary : SocketMessageType_Utf8));
        CHECK_OK(tu_send(ws, sent[i], len));
    }
    CHECK(tu_signal_wait(&r->msgs, before + 2 * N, REC_WAIT_MS));
    for (int i = 0; i < 2 * N; i++) {
        rec_event e = rec_get(r, before + i);
        int random = i >= N;
        int ok = rec_is_message(&e, random ? SocketMessageType_Binary : SocketMessageType_Utf8,
                                sent[i], sizes[i % N]);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  %s: message %d (%u bytes) came back as kind %c, %u bytes\n", what,
                    i, (unsigned)sizes[i % N], e.kind ? e.kind : '-', (unsigned)e.len);
        free(sent[i]);
    }
}

static void test_echo_in_every_configuration(void)
{
    static const struct {
        const char *name;
        PerMessageDeflateOptions agreed;
    } configs[] = {
        {"default", {true, false, false, 15, 15, 0}},
        {"server_reset", {true, false, true, 15, 15, 0}},
        {"client_reset", {true, true, false, 15, 15, 0}},
        {"server_w9", {true, false, false, 15, 9, 0}},
        {"client_w9", {true, false, false, 9, 15, 0}},
        {"client_w8", {true, false, false, 8, 15, 0}},
        {"all", {true, true, true, 11, 10, 0}},
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        PerMessageDeflateOptions o = OFFER;
        o.CompressionLevel = (uint8_t)(1 + i % 9); /* every level somewhere */
        offer(ws, o);
        CHECK_OK(tu_connect_url(ws, peer_url(configs[i].name, "/echo"), 10000, NULL, NULL));
        PerMessageDeflateOptions got = agreed(ws);
        CHECK(got.CompressionLevel == o.CompressionLevel);
        CHECK(same(got, configs[i].agreed));
        if (!same(got, configs[i].agreed)) {
            fprintf(stderr, "  configuration %s:\n", configs[i].name);
            print_options("agreed", got);
            print_options("expected", configs[i].agreed);
        }
        echo_round(&r, ws, configs[i].name);
        CHECK_OK(MessageWebSocket_CloseWithStatus(ws, 1000, "done"));
        rec_expect_closed(&r, 1000, NULL);
        rec_check_invariants(&r);
        MessageWebSocket_Release(ws);
        rec_free(&r);
    }
}

/* Every offer rtws can make (each takeover flag, small and full windows both ways) against
 * every server configuration: whatever is agreed lies within the offer and the server's
 * settings, or the server declines; messages round-trip either way. */
static void test_every_offer_against_every_configuration(void)
{
    static const char *configs[] = {"default", "server_reset", "client_reset", "server_w9",
                                    "client_w9", "client_w8", "all"};
    int agreed_count = 0;
    for (int bits = 0; bits < 16; bits++) {
        PerMessageDeflateOptions o = {true, (bits & 1) != 0, (bits & 2) != 0,
                                      (bits & 4) ? 9 : 15, (bits & 8) ? 10 : 15, 0};
        for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
            recorder r;
            rec_init(&r);
            MessageWebSocket *ws = rec_socket(&r);
            offer(ws, o);
            CHECK_OK(tu_connect_url(ws, peer_url(configs[c], "/echo"), 10000, NULL, NULL));
            PerMessageDeflateOptions a = agreed(ws);
            if (a.Enabled) {
                agreed_count++;
                int within = a.ClientMaxWindowBits <= o.ClientMaxWindowBits &&
                             a.ServerMaxWindowBits <= o.ServerMaxWindowBits &&
                             (a.ClientNoContextTakeover || !o.ClientNoContextTakeover) &&
                             (a.ServerNoContextTakeover || !o.ServerNoContextTakeover);
                CHECK(within);
                if (!within) {
                    fprintf(stderr, "  configuration %s:\n", configs[c]);
                    print_options("offered", o);
                    print_options("agreed", a);
                }
            }
            uint8_t *json = make_payload(0, 20000), *noise = make_payload(1, 20000);
            CHECK_OK(tu_set_type(ws, SocketMessageType_Utf8));
            CHECK_OK(tu_send(ws, json, 20000));
            CHECK_OK(tu_send(ws, json, 20000)); /* again: context takeover's case */
            CHECK_OK(tu_set_type(ws, SocketMessageType_Binary));
            CHECK_OK(tu_send(ws, noise, 20000));
            CHECK(tu_signal_wait(&r.msgs, 3, REC_WAIT_MS));
            rec_event e0 = rec_get(&r, 0), e1 = rec_get(&r, 1), e2 = rec_get(&r, 2);
            CHECK(rec_is_message(&e0, SocketMessageType_Utf8, json, 20000));
            CHECK(rec_is_message(&e1, SocketMessageType_Utf8, json, 20000));
            CHECK(rec_is_message(&e2, SocketMessageType_Binary, noise, 20000));
            free(json);
            free(noise);
            MessageWebSocket_Release(ws);
            rec_free(&r);
        }
    }
    /* websockets accepts most of them: the test is not passing by declines. */
    CHECK(agreed_count >= 64);
}

/* A 16 MiB message each way, compressible and not. */
static void test_sixteen_mib_messages(void)
{
    recorder r;
    rec_init(&r);
    MessageWebSocket *ws = rec_socket(&r);
    const uint32_t len = 16u << 20;
    offer(ws, OFFER);
    CHECK_OK(tu_connect_url(ws, peer_url("default", "/echo"), 10000, NULL, NULL));
    for (int random = 0; random < 2; random++) {
        uint8_t *data = make_payload(random, len);
        CHECK_OK(tu_set_type(ws, random ? SocketMessageType_Binary : SocketMessageType_Utf8));
        CHECK_OK(tu_send(ws, data, len));
        CHECK(tu_signal_wait(&r.msgs, random + 1, 30000));
        rec_event e = rec_get(&r, random);
        CHECK(rec_is_message(&e, random ? SocketMessageType_Binary : SocketMessageType_Utf8, data,
                             len));
        free(data);
    }
    MessageWebSocket_Release(ws);
    rec_free(&r);
}

/* PartialMessage: a message that inflates to 8 MiB arrives in pieces of at most 64 KiB. */
typedef struct {
    tu_signal done;
    uint64_t total;
    uint32_t largest;
    int pieces, nonzero, complete_seen;
} pieces;

static void on_piece(void *context, MessageWebSocket *sender,
                     MessageWebSocketMessageReceivedEventArgs *args)
{
    pieces *p = context;
    DataReader *rd = NULL;
    uint32_t n = 0;
    bool complete = false;
    static uint8_t buf[1 << 17];
    (void)sender;
    if (RTWS_FAILED(MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &rd)))
        return;
    DataReader_get_UnconsumedBufferLength(rd, &n);
    if (n <= sizeof buf && RTWS_SUCCEEDED(DataReader_ReadBytes(rd, n, buf)))
        for (uint32_t i = 0; i < n; i += 256)
            p->nonzero |= buf[i];
    DataReader_Release(rd);
    MessageWebSocketMessageReceivedEventArgs_get_IsMessageComplete(args, &complete);
    p->pieces++;
    p->total += n;
    if (n > p->largest)
        p->largest = n;
    if (complete) {
        p->complete_seen++;
        tu_signal_bump(&p->done);
    }
}

static void test_partial_message_pieces_are_bounded(void)
{
    MessageWebSocket *ws = NULL;
    MessageWebSocketControl *c = NULL;
    EventRegistrationToken t;
    pieces p;
    memset(&p, 0, sizeof p);
    tu_signal_init(&p.done);
    CHECK_OK(MessageWebSocket_Create(&ws));
    c = tu_control_of(ws);
    CHECK_OK(MessageWebSocketControl_put_ReceiveMode(c, MessageWebSocketReceiveMode_PartialMessage));
    MessageWebSocketControl_Release(c);
    offer(ws, OFFER);
    CHECK_OK(MessageWebSocket_add_MessageReceived(ws, on_piece, &p, &t));
    CHECK_OK(tu_connect_url(ws, peer_url("default", "/bomb?size=8388608"), 10000, NULL, NULL));
    CHECK(tu_signal_wait(&p.done, 1, 30000));
    CHECK(p.total == 8u << 20);
    CHECK(p.largest <= 64 * 1024);
    CHECK(p.pieces >= 128);
    CHECK(p.complete_seen == 1);
    CHECK(!p.nonzero);
    MessageWebSocket_Release(ws);
    tu_signal_destroy(&p.done);
}

/* What rtws puts in the request, as the peer saw it, and what it agreed to. */
static void test_offer_on_the_wire(void)
{
    static const struct {
        PerMessageDeflateOptions offer;
        const char *header;
    } cases[] = {
        {{true, false, false, 15, 15, 0}, "permessage-deflate; client_max_window_bits"},
        {{true, true, true, 10, 12, 0},
         "permessage-deflate; client_no_context_takeover; server_no_context_takeover; "
         "server_max_window_bits=12; client_max_window_bits=10"},
        {{false, true, true, 0, 0, 0}, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        recorder r;
        rec_init(&r);
        MessageWebSocket *ws = rec_socket(&r);
        offer(ws, cases[i].offer);
        CHECK_OK(tu_connect_url(ws, peer_url("default", "/info"), 10000, NULL, NULL));
        CHECK(tu_signal_wait(&r.msgs, 1, REC_WAIT_MS));
        rec_event e = rec_get(&r, 0);
        char text[512] = "";
        if (e.kind == 'M' && e.len < sizeof text)
            memcpy(text, e.data, e.len);
        char *nl = strchr(text, '\n');
        if (nl)
            *nl = '\0';
        CHECK(strcmp(text, cases[i].header) == 0);
        if (strcmp(text, cases[i].header) != 0)
            fprintf(stderr, "  the peer saw '%s', expected '%s'\n", text, cases[i].header);
        PerMessageDeflateOptions got = agreed(ws);
        CHECK(got.Enabled == cases[i].offer.Enabled);
        if (cases[i].offer.Enabled) {
            /* The peer (websockets' defaults) takes the offer as made. */
            CHECK(same(got, cases[i].offer));
        }
        MessageWebSocket_Release(ws);
        rec_free(&r);
    }
}

static void test_a_server_that_declines(void)
{
    recorder r;
    rec_init(&r);
    MessageWebSocket *ws = rec_socket(&r);
    offer(ws, OFFER);
    CHECK_OK(tu_connect_url(ws, peer_url("none", "/echo"), 10000, NULL, NULL));
    CHECK(!agreed(ws).Enabled);
    echo_round(&r, ws, "declined");
    MessageWebSocket_Release(ws);
    rec_free(&r);
}

static void test_fragmented_sends(void)
{
    recorder r;
    rec_init(&r);
    MessageWebSocket *ws = rec_socket(&r);
    IAsyncOperationUInt32 *op = NULL;
    IBuffer *b = NULL;
    const char *parts[] = {"a fragmented ", "", "message, ", "compressed once"};
    offer(ws, OFFER);
    CHECK_OK(tu_connect_url(ws, peer_url("default", "/echo"), 10000, NULL, NULL));
    CHECK_OK(tu_set_type(ws, SocketMessageType_Utf8));
    for (int i = 0; i < 4; i++) {
        CHECK_OK(Buffer_CreateFromBytes((const uint8_t *)parts[i], (uint32_t)strlen(parts[i]), &b));
        if (i < 3)
            CHECK_OK(MessageWebSocket_SendNonfinalFrameAsync(ws, b, &op));
        else
            CHECK_OK(MessageWebSocket_SendFinalFrameAsync(ws, b, &op));
        CHECK_OK(IAsyncOperationUInt32_Wait(op, 10000, NULL));
        IAsyncOperationUInt32_Release(op);
        IBuffer_Release(b);
    }
    CHECK(tu_signal_wait(&r.msgs, 1, REC_WAIT_MS));
    rec_event e = rec_get(&r, 0);
    const char *whole = "a fragmented message, compressed once";
    CHECK(rec_is_message(&e, SocketMessageType_Utf8, whole, (uint32_t)strlen(whole)));
    MessageWebSocket_Release(ws);
    rec_free(&r);
}

static long max_rss_kib(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

/* A message that inflates far past MaxMessageSize: refused with 1009 before it is held. */
static void test_bomb_over_max_message_size(void)
{
    recorder r;
    rec_init(&r);
    MessageWebSocket *ws = rec_socket(&r);
    MessageWebSocketControl *c = tu_control_of(ws);
    long before = max_rss_kib();
    CHECK_OK(MessageWebSocketControl_put_MaxMessageSize(c, 1 << 20));
    MessageWebSocketControl_Release(c);
    offer(ws, OFFER);
    /* 256 MiB of zeros, about 256 KiB on the wire. */
    CHECK_OK(tu_connect_url(ws, peer_url("default", "/bomb?size=268435456"), 10000, NULL, NULL));
    rec_expect_closed(&r, 1009, NULL);
    CHECK(rec_count(&r) == 2);
    rec_event e = rec_get(&r, 0);
    CHECK(e.kind == 'F' && e.hr == RTWS_E_MESSAGE_EXCEEDS_MAX_SIZE);
    CHECK(max_rss_kib() - before < 64 * 1024);
    MessageWebSocket_Release(ws);
    rec_free(&r);
}

/* Without a limit the whole message arrives (FullMessage holds it: 64 MiB). */
static void test_large_compressed_message(void)
{
    recorder r;
    rec_init(&r);
    MessageWebSocket *ws = rec_socket(&r);
    offer(ws, OFFER);
    CHECK_OK(tu_connect_url(ws, peer_url("default", "/bomb?size=67108864"), 10000, NULL, NULL));
    CHECK(tu_signal_wait(&r.msgs, 1, 30000));
    rec_event e = rec_get(&r, 0);
    CHECK(e.kind == 'M' && e.len == 64u << 20);
    int zeros = e.kind == 'M' && e.data != NULL;
    for (uint32_t i = 0; zeros && i < e.len; i += 4096)
        zeros = e.data[i] == 0;
    CHECK(zeros);
    MessageWebSocket_Release(ws);
    rec_free(&r);
}

/* A StreamWebSocket reads 256 MiB that inflate from ~256 KiB, in bounded memory. */
static void test_stream_websocket_reads_inflated_data_in_bounded_memory(void)
{
    StreamWebSocket *ws = NULL;
    StreamWebSocketControl *c = NULL;
    IAsyncAction *connect = NULL;
    IInputStream *in = NULL;
    const uint32_t total = 256u << 20;
    uint32_t got = 0;
    long before = max_rss_kib();
    static uint8_t chunk[1 << 16];
    CHECK_OK(StreamWebSocket_Create(&ws));
    CHECK_OK(StreamWebSocket_get_Control(ws, &c));
    CHECK_OK(StreamWebSocketControl_put_PerMessageDeflate(c, OFFER));
    StreamWebSocketControl_Release(c);
    CHECK_OK(StreamWebSocket_ConnectAsync(ws, peer_url("default", "/bomb?size=268435456"),
                                          &connect));
    CHECK_OK(IAsyncAction_Wait(connect, 10000));
    IAsyncAction_Release(connect);
    CHECK_OK(StreamWebSocket_get_InputStream(ws, &in));
    double deadline = tu_now_ms() + 60000;
    int nonzero = 0;
    for (int i = 0; i < 100000 && got < total && tu_now_ms() < deadline; i++) {
        uint32_t n = 0;
        HRESULT hr = tu_read_once(in, sizeof chunk, sizeof chunk, InputStreamOptions_Partial,
                                  chunk, &n, 10000);
        if (hr != S_OK || n == 0)
            break;
        for (uint32_t k = 0; k < n; k += 512)
            nonzero |= chunk[k];
        got += n;
    }
    CHECK(got == total);
    CHECK(!nonzero);
    long grew = max_rss_kib() - before;
    CHECK(grew < 48 * 1024);
    if (grew >= 48 * 1024)
        fprintf(stderr, "  peak RSS grew by %ld KiB reading %u MiB\n", grew, total >> 20);
    IInputStream_Release(in);
    StreamWebSocket_Release(ws);
}

static void test_control_bad_input(void)
{
    MessageWebSocket *ws = NULL;
    MessageWebSocketControl *c = NULL;
    PerMessageDeflateOptions o;
    CHECK_OK(MessageWebSocket_Create(&ws));
    c = tu_control_of(ws);
    /* The default: not offered, the RFC's defaults otherwise. */
    CHECK_OK(MessageWebSocketControl_get_PerMessageDeflate(c, &o));
    CHECK(same(o, (PerMessageDeflateOptions){false, false, false, 15, 15, 0}));
    CHECK(o.CompressionLevel == 1);
    /* Before connect, Information says: not in use. */
    CHECK(!agreed(ws).Enabled);
    CHECK_HR(MessageWebSocketControl_put_PerMessageDeflate(c, (PerMessageDeflateOptions){true, false, false, 7, 15, 0}),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_PerMessageDeflate(c, (PerMessageDeflateOptions){true, false, false, 15, 16, 0}),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_PerMessageDeflate(c, (PerMessageDeflateOptions){true, false, false, 15, 15, 10}),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_get_PerMessageDeflate(c, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_PerMessageDeflate(NULL, &o), E_POINTER);
    /* A refused value changed nothing; a value with Enabled false is "not offered". */
    CHECK_OK(MessageWebSocketControl_get_PerMessageDeflate(c, &o));
    CHECK(!o.Enabled);
    CHECK_OK(MessageWebSocketControl_put_PerMessageDeflate(c, (PerMessageDeflateOptions){true, true, false, 9, 12, 0}));
    CHECK_OK(MessageWebSocketControl_get_PerMessageDeflate(c, &o));
    CHECK(same(o, (PerMessageDeflateOptions){true, true, false, 9, 12, 0}));
    CHECK(o.CompressionLevel == 1); /* 0: rtws's default */
    CHECK_OK(MessageWebSocketControl_put_PerMessageDeflate(c, (PerMessageDeflateOptions){true, false, false, 15, 15, 9}));
    CHECK_OK(MessageWebSocketControl_get_PerMessageDeflate(c, &o));
    CHECK(o.CompressionLevel == 9);
    CHECK_OK(MessageWebSocketControl_put_PerMessageDeflate(c, (PerMessageDeflateOptions){false, true, true, 0, 99, 0}));
    CHECK_OK(MessageWebSocketControl_get_PerMessageDeflate(c, &o));
    CHECK(same(o, (PerMessageDeflateOptions){false, false, false, 15, 15, 0}));
    /* Frozen once connected. */
    CHECK_OK(tu_connect_url(ws, peer_url("default", "/echo"), 10000, NULL, NULL));
    CHECK_HR(MessageWebSocketControl_put_PerMessageDeflate(c, OFFER), E_ILLEGAL_METHOD_CALL);
    MessageWebSocketControl_Release(c);
    MessageWebSocket_Release(ws);
}

static const tu_test tests[] = {
    TU_TEST(test_echo_in_every_configuration),
    TU_TEST(test_every_offer_against_every_configuration),
    TU_TEST(test_sixteen_mib_messages),
    TU_TEST(test_partial_message_pieces_are_bounded),
    TU_TEST(test_offer_on_the_wire),
    TU_TEST(test_a_server_that_declines),
    TU_TEST(test_fragmented_sends),
    TU_TEST(test_bomb_over_max_message_size),
    TU_TEST(test_large_compressed_message),
    TU_TEST(test_stream_websocket_reads_inflated_data_in_bounded_memory),
    TU_TEST(test_control_bad_input),
    TU_END,
};

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    tu_run(tests, argc - 2, argv + 2);
    return tu_finish();
}
