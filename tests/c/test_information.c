/*
 * MessageWebSocketInformation through the C ABI: BandwidthStatistics measured on a
 * real transfer, LocalAddress and Protocol before and after connect.
 */
#include "testutil.h"

static MessageWebSocketInformation *info_of(MessageWebSocket *ws)
{
    MessageWebSocketInformation *info = NULL;
    CHECK_OK(MessageWebSocket_get_Information(ws, &info));
    return info;
}

static void test_bandwidth_statistics(void)
{
    MessageWebSocket *ws = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    MessageWebSocketInformation *info = info_of(ws);
    BandwidthStatistics stats;
    memset(&stats, 0xAB, sizeof stats);
    CHECK_OK(MessageWebSocketInformation_get_BandwidthStatistics(info, &stats));
    CHECK(stats.OutboundBitsPerSecond == 0 && stats.InboundBitsPerSecond == 0);
    CHECK(!stats.OutboundBandwidthPeaked && !stats.InboundBandwidthPeaked);
    CHECK_HR(MessageWebSocketInformation_get_BandwidthStatistics(info, NULL), E_POINTER);

    double start = tu_now_ms();
    CHECK_OK(tu_connect(ws, "/echo"));
    /* 12 messages of 100,000 bytes over about 1.2 s; the server echoes each. */
    enum { SIZE = 100000, COUNT = 12 };
    static uint8_t payload[SIZE];
    for (int i = 0; i < COUNT; i++) {
        CHECK_OK(tu_send(ws, payload, SIZE));
        tu_sleep_ms(100);
    }
    double elapsed_s = (tu_now_ms() - start) / 1000.0;
    CHECK_OK(MessageWebSocketInformation_get_BandwidthStatistics(info, &stats));
    /* The window runs from the connect to this call: about what was sent over the
     * time since `start` (the handshake's few hundred bytes aside). */
    double expected = (double)SIZE * COUNT * 8.0 / elapsed_s;
    printf("  outbound %llu bit/s, inbound %llu bit/s, expected about %.0f\n",
           (unsigned long long)stats.OutboundBitsPerSecond,
           (unsigned long long)stats.InboundBitsPerSecond, expected);
    CHECK(stats.OutboundBitsPerSecond > expected * 0.5);
    CHECK(stats.OutboundBitsPerSecond < expected * 2.0);
    /* The echo comes back, except perhaps the last message's. */
    CHECK(stats.InboundBitsPerSecond > expected * 0.4);
    CHECK(stats.InboundBitsPerSecond < expected * 2.0);
    CHECK(stats.OutboundBitsPerSecondInstability == 0 && stats.InboundBitsPerSecondInstability == 0);

    /* Within the next second the same window's figures are reported. */
    BandwidthStatistics again;
    CHECK_OK(MessageWebSocketInformation_get_BandwidthStatistics(info, &again));
    CHECK(again.OutboundBitsPerSecond == stats.OutboundBitsPerSecond);

    /* An idle second later, the new window measured nothing. */
    tu_sleep_ms(1100);
    CHECK_OK(MessageWebSocketInformation_get_BandwidthStatistics(info, &again));
    CHECK(again.OutboundBitsPerSecond < 2000);
    CHECK(again.InboundBitsPerSecond < 2000);

    MessageWebSocketInformation_Release(info);
    MessageWebSocket_Release(ws);
}

static void test_addresses_and_protocol(void)
{
    MessageWebSocket *ws = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    MessageWebSocketInformation *info = info_of(ws);
    const char *local = NULL, *protocol = NULL;
    CHECK_OK(MessageWebSocketInformation_get_LocalAddress(info, &local));
    CHECK_OK(MessageWebSocketInformation_get_Protocol(info, &protocol));
    CHECK(local && strcmp(local, "") == 0);
    CHECK(protocol && strcmp(protocol, "") == 0);
    CHECK_OK(tu_connect(ws, "/echo"));
    CHECK_OK(MessageWebSocketInformation_get_LocalAddress(info, &local));
    CHECK(local && strcmp(local, "127.0.0.1") == 0);
    CHECK_OK(MessageWebSocketInformation_get_Protocol(info, &protocol));
    CHECK(protocol && strcmp(protocol, "") == 0);
    MessageWebSocketInformation_Release(info);
    MessageWebSocket_Release(ws);
}

static const tu_test tests[] = {
    TU_TEST(test_bandwidth_statistics),
    TU_TEST(test_addresses_and_protocol),
    TU_END,
};

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    tu_run(tests, argc - 2, argv + 2);
    return tu_finish();
}
