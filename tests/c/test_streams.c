/*
 * DataWriter / DataReader through the echo server (MessageType Binary unless
 * stated): typed writes and reads in both byte orders, wire bytes, strings in the
 * three encodings, bounds, stores as messages, flush, detach, and the UWP rule that
 * a DataWriter released or closed while attached closes the socket's output stream.
 */
#include "testutil.h"

#include <float.h>
#include <stdint.h>

#define WAIT_MS 5000

/* "κόσμε" with U+1F79 (the classic UTF-8 test word): 11 bytes in UTF-8, 5 UTF-16
 * code units (10 bytes). */
#define KOSME "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
/* U+1D11E MUSICAL SYMBOL G CLEF: 4 bytes in UTF-8, a surrogate pair in UTF-16. */
#define GCLEF "\xf0\x9d\x84\x9e"

/* ---- helpers ------------------------------------------------------------------ */

typedef struct {
    MessageWebSocket *ws;
    tu_inbox inbox;
    int ok;
} conn;

static void conn_open(conn *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->ok = RTWS_SUCCEEDED(MessageWebSocket_Create(&c->ws)) &&
            RTWS_SUCCEEDED(tu_inbox_attach(&c->inbox, c->ws)) &&
            RTWS_SUCCEEDED(tu_connect(c->ws, path));
    CHECK(c->ok);
}

static void conn_close(conn *c)
{
    if (c->ws) {
        tu_inbox_detach(&c->inbox, c->ws);
        MessageWebSocket_Release(c->ws);
    }
    c->ws = NULL;
}

/* Stores what `w` holds and waits; returns the store's HRESULT, bytes in *n. */
static HRESULT store(DataWriter *w, uint32_t *n)
{
    IAsyncOperationUInt32 *op = NULL;
    HRESULT hr = DataWriter_StoreAsync(w, &op);
    if (RTWS_FAILED(hr))
        return hr;
    hr = IAsyncOperationUInt32_Wait(op, WAIT_MS, n);
    IAsyncOperationUInt32_Release(op);
    return hr;
}

/* conn_open, then a DataWriter over the socket (checked); NULL if either failed. */
static DataWriter *conn_open_writer(conn *c, const char *path)
{
    DataWriter *w;
    conn_open(c, path);
    if (!c->ok)
        return NULL;
    w = tu_writer_for(c->ws);
    CHECK(w != NULL);
    return w;
}

/* Stores and returns a reader over the echoed message, checking both steps (NULL on any
 * failure). */
static DataReader *round_trip(conn *c, DataWriter *w)
{
    DataReader *r = NULL;
    HRESULT hr = store(w, NULL);
    CHECK_OK(hr);
    if (RTWS_SUCCEEDED(hr))
        r = tu_inbox_next_reader(&c->inbox, WAIT_MS);
    CHECK(r != NULL);
    return r;
}

/* Checks that the next echoed message is the `len` (at most 16) bytes of `bytes`. */
static void expect_next_message(conn *c, const char *bytes, uint32_t len)
{
    uint8_t buf[16];
    DataReader *r = tu_inbox_next_reader(&c->inbox, WAIT_MS);
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK(tu_unconsumed(r) == len);
    if (len > 0) {
        CHECK_OK(DataReader_ReadBytes(r, len, buf));
        CHECK(memcmp(buf, bytes, len) == 0);
    }
    DataReader_Release(r);
}

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint64_t d2u(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static double u2d(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

/* ---- typed round trips ------------------------------------------------------------ */

static const uint32_t float_bits[] = {
    0x00000000u, 0x80000000u, /* +0, -0 */
    0x3F800000u,              /* 1 */
    0x7F7FFFFFu, 0xFF7FFFFFu, /* ±FLT_MAX */
    0x00000001u,              /* smallest denormal */
    0x7F800000u, 0xFF800000u, /* ±inf */
    0x7FC00000u, 0x7FC12345u, 0xFFC00001u, /* quiet NaNs with payloads */
};
static const uint64_t double_bits[] = {
    0x0000000000000000ull, 0x8000000000000000ull,
    0x3FF0000000000000ull,
    0x7FEFFFFFFFFFFFFFull, 0xFFEFFFFFFFFFFFFFull,
    0x0000000000000001ull,
    0x7FF0000000000000ull, 0xFFF0000000000000ull,
    0x7FF8000000000000ull, 0x7FF8000000012345ull, 0xFFF8000000000001ull,
};
#define N_FLOATS (sizeof float_bits / sizeof float_bits[0])
#define N_DOUBLES (sizeof double_bits / sizeof double_bits[0])

/* The integer types, each written and read back as its two extremes, one row a type:
 * X(Name of DataWriter_Write<Name> / DataReader_Read<Name>, C type, first, second). */
#define INT_EXTREMES(X)                     \
    X(Int16, int16_t, INT16_MIN, INT16_MAX) \
    X(UInt16, uint16_t, 0, UINT16_MAX)      \
    X(Int32, int32_t, INT32_MIN, INT32_MAX) \
    X(UInt32, uint32_t, 0, UINT32_MAX)      \
    X(Int64, int64_t, INT64_MIN, INT64_MAX) \
    X(UInt64, uint64_t, 0, UINT64_MAX)

/* One row written to `w`, */
#define WRITE_EXTREMES(Name, type, first, second) \
    CHECK_OK(DataWriter_Write##Name(w, first));   \
    CHECK_OK(DataWriter_Write##Name(w, second));
/* and read back from `r` (into values that a failed read cannot leave matching). */
#define READ_EXTREMES(Name, type, first, second)                              \
    {                                                                         \
        type first_ = (type)~(type)(first), second_ = (type)~(type)(second); \
        CHECK_OK(DataReader_Read##Name(r, &first_));                          \
        CHECK_OK(DataReader_Read##Name(r, &second_));                         \
        CHECK(first_ == (first) && second_ == (second));                      \
    }

static void typed_round_trip(ByteOrder order)
{
    conn c;
    DataWriter *w;
    DataReader *r;
    uint8_t u8 = 0, bytes[5] = {0};
    bool b1 = false, b2 = true;
    uint32_t len = 0, needed = 0;
    char text[64];
    size_t i;

    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto out;
    CHECK_OK(DataWriter_put_ByteOrder(w, order));
    CHECK_OK(DataWriter_WriteByte(w, 0));
    CHECK_OK(DataWriter_WriteByte(w, 255));
    CHECK_OK(DataWriter_WriteBytes(w, 5, (const uint8_t *)"\x00\x01\xfe\xff\x80"));
    CHECK_OK(DataWriter_WriteBoolean(w, true));
    CHECK_OK(DataWriter_WriteBoolean(w, false));
    INT_EXTREMES(WRITE_EXTREMES)
    for (i = 0; i < N_FLOATS; i++)
        CHECK_OK(DataWriter_WriteSingle(w, u2f(float_bits[i])));
    for (i = 0; i < N_DOUBLES; i++)
        CHECK_OK(DataWriter_WriteDouble(w, u2d(double_bits[i])));
    CHECK_OK(DataWriter_WriteString(w, KOSME, &len));
    CHECK(len == 11);
    {
        uint32_t expected = 2 + 5 + 2 + 2 * 2 + 2 * 2 + 4 * 2 + 4 * 2 + 8 * 2 + 8 * 2 +
                            4 * (uint32_t)N_FLOATS + 8 * (uint32_t)N_DOUBLES + 11;
        uint32_t unstored = 0;
        CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &unstored));
        CHECK(unstored == expected);
    }
    r = round_trip(&c, w);
    tu_writer_done(w);
    if (!r)
        goto out;

    CHECK_OK(DataReader_put_ByteOrder(r, order));
    CHECK_OK(DataReader_ReadByte(r, &u8));
    CHECK(u8 == 0);
    CHECK_OK(DataReader_ReadByte(r, &u8));
    CHECK(u8 == 255);
    CHECK_OK(DataReader_ReadBytes(r, 5, bytes));
    CHECK(memcmp(bytes, "\x00\x01\xfe\xff\x80", 5) == 0);
    CHECK_OK(DataReader_ReadBoolean(r, &b1));
    CHECK(b1 == true);
    CHECK_OK(DataReader_ReadBoolean(r, &b2));
    CHECK(b2 == false);
    INT_EXTREMES(READ_EXTREMES)
    for (i = 0; i < N_FLOATS; i++) {
        float f = 0;
        CHECK_OK(DataReader_ReadSingle(r, &f));
        CHECK(f2u(f) == float_bits[i]); /* bit for bit, NaN payloads included */
    }
    for (i = 0; i < N_DOUBLES; i++) {
        double d = 0;
        CHECK_OK(DataReader_ReadDouble(r, &d));
        CHECK(d2u(d) == double_bits[i]);
    }
    CHECK(tu_unconsumed(r) == 11);
    CHECK_OK(DataReader_ReadString(r, 11, text, sizeof text, &needed));
    CHECK(needed == 12);
    CHECK(strcmp(text, KOSME) == 0);
    CHECK(tu_unconsumed(r) == 0);
    DataReader_Release(r);
out:
    conn_close(&c);
}

static void test_typed_round_trip_big_endian(void) { typed_round_trip(ByteOrder_BigEndian); }
static void test_typed_round_trip_little_endian(void) { typed_round_trip(ByteOrder_LittleEndian); }

/* Wire bytes: BigEndian by default; LittleEndian when set; the reader's order
 * decides how they are read back. */
static void test_wire_bytes(void)
{
    conn c;
    DataWriter *w;
    DataReader *r;
    ByteOrder order = (ByteOrder)-1;
    UnicodeEncoding enc = (UnicodeEncoding)-1;
    uint8_t bytes[26];
    uint32_t u32 = 0;
    uint16_t u16 = 0;
    double d = 0;

    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto out;
    CHECK_OK(DataWriter_get_ByteOrder(w, &order));
    CHECK(order == ByteOrder_BigEndian);
    CHECK_OK(DataWriter_get_UnicodeEncoding(w, &enc));
    CHECK(enc == UnicodeEncoding_Utf8);
    CHECK_OK(DataWriter_WriteUInt32(w, 0x01020304u));            /* default: BE */
    CHECK_OK(DataWriter_WriteDouble(w, 1.0));                    /* 3F F0 00.. */
    CHECK_OK(DataWriter_put_ByteOrder(w, ByteOrder_LittleEndian));
    CHECK_OK(DataWriter_get_ByteOrder(w, &order));
    CHECK(order == ByteOrder_LittleEndian);
    CHECK_OK(DataWriter_WriteInt32(w, 0x0A0B0C0D));              /* LE: 0D 0C 0B 0A */
    CHECK_OK(DataWriter_WriteUInt16(w, 0xBEEF));                 /* LE: EF BE */
    CHECK_OK(DataWriter_WriteInt64(w, -2));                      /* LE: FE FF.. */
    r = round_trip(&c, w);
    tu_writer_done(w);
    if (!r)
        goto out;
    CHECK(tu_unconsumed(r) == 26);
    CHECK_OK(DataReader_get_ByteOrder(r, &order));
    CHECK(order == ByteOrder_BigEndian);
    CHECK_OK(DataReader_get_UnicodeEncoding(r, &enc));
    CHECK(enc == UnicodeEncoding_Utf8);
    CHECK_OK(DataReader_ReadBytes(r, 26, bytes));
    CHECK(memcmp(bytes, "\x01\x02\x03\x04", 4) == 0);
    CHECK(memcmp(bytes + 4, "\x3f\xf0\x00\x00\x00\x00\x00\x00", 8) == 0);
    CHECK(memcmp(bytes + 12, "\x0d\x0c\x0b\x0a", 4) == 0);
    CHECK(memcmp(bytes + 16, "\xef\xbe", 2) == 0);
    CHECK(memcmp(bytes + 18, "\xfe\xff\xff\xff\xff\xff\xff\xff", 8) == 0);
    DataReader_Release(r);

    /* The reader's ByteOrder governs the reads: read the same bytes both ways. */
    w = tu_writer_for(c.ws);
    CHECK(w != NULL);
    if (!w)
        goto out;
    CHECK_OK(DataWriter_WriteBytes(w, 14, (const uint8_t *)"\x01\x02\x03\x04\x01\x02\x03\x04\xbe\xef"
                                                           "\x00\x00\xf0\x3f"));
    r = round_trip(&c, w);
    tu_writer_done(w);
    if (!r)
        goto out;
    CHECK_OK(DataReader_ReadUInt32(r, &u32)); /* default BE */
    CHECK(u32 == 0x01020304u);
    CHECK_OK(DataReader_put_ByteOrder(r, ByteOrder_LittleEndian));
    CHECK_OK(DataReader_ReadUInt32(r, &u32));
    CHECK(u32 == 0x04030201u);
    CHECK_OK(DataReader_ReadUInt16(r, &u16));
    CHECK(u16 == 0xEFBE);
    CHECK_OK(DataReader_put_ByteOrder(r, ByteOrder_BigEndian));
    CHECK_HR(DataReader_ReadDouble(r, &d), E_BOUNDS); /* 4 bytes left */
    CHECK_OK(DataReader_put_ByteOrder(r, ByteOrder_LittleEndian));
    {
        float f = 0;
        CHECK_OK(DataReader_ReadSingle(r, &f));
        CHECK(f2u(f) == 0x3FF00000u);
    }
    DataReader_Release(r);
out:
    conn_close(&c);
}

/* ---- strings ------------------------------------------------------------------------- */

static void test_measure_and_write_string(void)
{
    DataWriter *w = NULL;
    uint32_t n = 0, unstored = 0;
    static const struct {
        const char *s;
        uint32_t utf8, utf16;
    } cases[] = {
        {"", 0, 0},
        {"abc", 3, 6},
        {KOSME, 11, 10},
        {GCLEF, 4, 4},
        {"a" GCLEF "\xc3\xa9", 7, 8},
    };
    size_t i;
    CHECK_OK(DataWriter_Create(&w));
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int e;
        for (e = UnicodeEncoding_Utf8; e <= UnicodeEncoding_Utf16BE; e++) {
            uint32_t expected = e == UnicodeEncoding_Utf8 ? cases[i].utf8 : cases[i].utf16;
            uint32_t before = 0, after = 0;
            CHECK_OK(DataWriter_put_UnicodeEncoding(w, e));
            n = 12345;
            CHECK_OK(DataWriter_MeasureString(w, cases[i].s, &n));
            CHECK(n == expected);
            CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &before));
            n = 12345;
            CHECK_OK(DataWriter_WriteString(w, cases[i].s, &n));
            CHECK(n == expected);
            CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &after));
            CHECK(after - before == expected);
        }
    }
    /* MeasureString does not write. */
    CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &unstored));
    CHECK_OK(DataWriter_MeasureString(w, KOSME, &n));
    CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &n));
    CHECK(n == unstored);
    /* WriteString's length may be NULL. */
    CHECK_OK(DataWriter_WriteString(w, "xy", NULL));
    CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &n));
    CHECK(n == unstored + 4); /* Utf16BE is current */
    DataWriter_Release(w);
}

/* Wire bytes of each encoding and ReadString in each. */
static void test_strings_in_each_encoding(void)
{
    conn c;
    DataWriter *w;
    DataReader *r;
    uint8_t bytes[12];
    char text[64];
    uint32_t n = 0, needed = 0;
    UnicodeEncoding enc = (UnicodeEncoding)-1;

    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto out;
    CHECK_OK(DataWriter_put_UnicodeEncoding(w, UnicodeEncoding_Utf16LE));
    CHECK_OK(DataWriter_get_UnicodeEncoding(w, &enc));
    CHECK(enc == UnicodeEncoding_Utf16LE);
    CHECK_OK(DataWriter_WriteString(w, KOSME, &n));
    CHECK(n == 10);
    CHECK_OK(DataWriter_WriteString(w, GCLEF, &n));
    CHECK(n == 4);
    CHECK_OK(DataWriter_put_UnicodeEncoding(w, UnicodeEncoding_Utf16BE));
    CHECK_OK(DataWriter_WriteString(w, KOSME, &n));
    CHECK(n == 10);
    CHECK_OK(DataWriter_WriteString(w, GCLEF, &n));
    CHECK(n == 4);
    CHECK_OK(DataWriter_put_UnicodeEncoding(w, UnicodeEncoding_Utf8));
    CHECK_OK(DataWriter_WriteString(w, KOSME GCLEF, &n));
    CHECK(n == 15);
    r = round_trip(&c, w);
    tu_writer_done(w);
    if (!r)
        goto out;
    CHECK(tu_unconsumed(r) == 10 + 4 + 10 + 4 + 15);

    /* Utf16LE: κ = U+03BA → BA 03; check the first two units, then read as text. */
    CHECK_OK(DataReader_put_UnicodeEncoding(r, UnicodeEncoding_Utf16LE));
    CHECK_OK(DataReader_get_UnicodeEncoding(r, &enc));
    CHECK(enc == UnicodeEncoding_Utf16LE);
    CHECK_OK(DataReader_ReadString(r, 5, text, sizeof text, &needed));
    CHECK(needed == 12);
    CHECK(strcmp(text, KOSME) == 0);
    CHECK_OK(DataReader_ReadString(r, 2, text, sizeof text, &needed)); /* surrogate pair */
    CHECK(needed == 5);
    CHECK(strcmp(text, GCLEF) == 0);
    CHECK(tu_unconsumed(r) == 10 + 4 + 15);

    /* Utf16BE. */
    CHECK_OK(DataReader_put_UnicodeEncoding(r, UnicodeEncoding_Utf16BE));
    CHECK_OK(DataReader_ReadString(r, 5, text, sizeof text, &needed));
    CHECK(needed == 12);
    CHECK(strcmp(text, KOSME) == 0);
    CHECK_OK(DataReader_ReadString(r, 2, text, sizeof text, &needed));
    CHECK(strcmp(text, GCLEF) == 0);

    /* Utf8: code units are bytes. */
    CHECK_OK(DataReader_put_UnicodeEncoding(r, UnicodeEncoding_Utf8));
    CHECK_OK(DataReader_ReadString(r, 15, text, sizeof text, &needed));
    CHECK(needed == 16);
    CHECK(strcmp(text, KOSME GCLEF) == 0);
    CHECK(tu_unconsumed(r) == 0);
    /* ReadString(0) is the empty string. */
    CHECK_OK(DataReader_ReadString(r, 0, text, sizeof text, &needed));
    CHECK(needed == 1 && text[0] == '\0');
    DataReader_Release(r);

    /* Raw bytes of the two UTF-16 forms. */
    w = tu_writer_for(c.ws);
    CHECK(w != NULL);
    if (!w)
        goto out;
    CHECK_OK(DataWriter_put_UnicodeEncoding(w, UnicodeEncoding_Utf16LE));
    CHECK_OK(DataWriter_WriteString(w, "\xce\xba" GCLEF, NULL));
    CHECK_OK(DataWriter_put_UnicodeEncoding(w, UnicodeEncoding_Utf16BE));
    CHECK_OK(DataWriter_WriteString(w, "\xce\xba", NULL));
    r = round_trip(&c, w);
    tu_writer_done(w);
    if (!r)
        goto out;
    CHECK(tu_unconsumed(r) == 8);
    CHECK_OK(DataReader_ReadBytes(r, 8, bytes));
    CHECK(memcmp(bytes, "\xba\x03\x34\xd8\x1e\xdd\x03\xba", 8) == 0);
    DataReader_Release(r);
out:
    conn_close(&c);
}

/* Invalid text: nothing is consumed and the error is RTWS_E_NO_UNICODE_TRANSLATION. */
static void test_read_string_invalid_text(void)
{
    conn c;
    DataWriter *w;
    DataReader *r;
    char text[32];
    uint32_t needed = 0;
    uint8_t b = 0;

    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto out;
    /* Binary message (no UTF-8 check on the way): C3 28 is an invalid sequence. */
    CHECK_OK(DataWriter_WriteBytes(w, 4, (const uint8_t *)"\xc3\x28\xa0\xa1"));
    r = round_trip(&c, w);
    if (r) {
        CHECK_HR(DataReader_ReadString(r, 4, text, sizeof text, &needed),
                 RTWS_E_NO_UNICODE_TRANSLATION);
        CHECK_HR(DataReader_ReadString(r, 2, text, sizeof text, &needed),
                 RTWS_E_NO_UNICODE_TRANSLATION);
        CHECK(tu_unconsumed(r) == 4);
        CHECK_OK(DataReader_ReadByte(r, &b));
        CHECK(b == 0xC3);
        DataReader_Release(r);
    }

    /* A truncated sequence at the end of the range is invalid too. */
    CHECK_OK(DataWriter_WriteBytes(w, 3, (const uint8_t *)"a\xce\xba"));
    r = round_trip(&c, w);
    if (r) {
        CHECK_HR(DataReader_ReadString(r, 2, text, sizeof text, &needed),
                 RTWS_E_NO_UNICODE_TRANSLATION);
        CHECK(tu_unconsumed(r) == 3);
        CHECK_OK(DataReader_ReadString(r, 3, text, sizeof text, &needed));
        CHECK(strcmp(text, "a\xce\xba") == 0);
        DataReader_Release(r);
    }

    /* A lone UTF-16 surrogate (D800 then 'a'). */
    CHECK_OK(DataWriter_WriteBytes(w, 4, (const uint8_t *)"\x00\xd8\x61\x00"));
    r = round_trip(&c, w);
    if (r) {
        CHECK_OK(DataReader_put_UnicodeEncoding(r, UnicodeEncoding_Utf16LE));
        CHECK_HR(DataReader_ReadString(r, 2, text, sizeof text, &needed),
                 RTWS_E_NO_UNICODE_TRANSLATION);
        CHECK(tu_unconsumed(r) == 4);
        DataReader_Release(r);
    }
    tu_writer_done(w);
out:
    conn_close(&c);
}

/* ---- bounds ---------------------------------------------------------------------------- */

static void test_read_past_end(void)
{
    conn c;
    DataWriter *w;
    DataReader *r;
    uint8_t u8 = 0x55, buf[4] = {9, 9, 9, 9};
    uint16_t u16 = 0;
    int16_t i16 = 0;
    uint32_t u32 = 0x12345678u, needed = 0;
    int32_t i32 = 0;
    uint64_t u64 = 0;
    int64_t i64 = 0;
    float f = 0;
    double d = 0;
    bool b = false;
    char text[16];

    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto out;
    CHECK_OK(DataWriter_WriteBytes(w, 3, (const uint8_t *)"\x01\x02\x03"));
    r = round_trip(&c, w);
    if (r) {
        CHECK_HR(DataReader_ReadUInt32(r, &u32), E_BOUNDS);
        CHECK(u32 == 0x12345678u); /* output untouched */
        CHECK_HR(DataReader_ReadInt32(r, &i32), E_BOUNDS);
        CHECK_HR(DataReader_ReadSingle(r, &f), E_BOUNDS);
        CHECK_HR(DataReader_ReadUInt64(r, &u64), E_BOUNDS);
        CHECK_HR(DataReader_ReadInt64(r, &i64), E_BOUNDS);
        CHECK_HR(DataReader_ReadDouble(r, &d), E_BOUNDS);
        CHECK_HR(DataReader_ReadBytes(r, 4, buf), E_BOUNDS);
        CHECK(buf[0] == 9);
        CHECK_HR(DataReader_ReadString(r, 4, text, sizeof text, &needed), E_BOUNDS);
        CHECK(tu_unconsumed(r) == 3); /* nothing consumed */
        CHECK_OK(DataReader_ReadUInt16(r, &u16));
        CHECK(u16 == 0x0102);
        CHECK_HR(DataReader_ReadUInt16(r, &u16), E_BOUNDS);
        CHECK_HR(DataReader_ReadInt16(r, &i16), E_BOUNDS);
        CHECK(tu_unconsumed(r) == 1);
        CHECK_OK(DataReader_ReadByte(r, &u8));
        CHECK(u8 == 3);
        CHECK(tu_unconsumed(r) == 0);
        u8 = 0x55;
        CHECK_HR(DataReader_ReadByte(r, &u8), E_BOUNDS);
        CHECK(u8 == 0x55);
        CHECK_HR(DataReader_ReadBoolean(r, &b), E_BOUNDS);
        CHECK_HR(DataReader_ReadBytes(r, 1, buf), E_BOUNDS);
        CHECK_HR(DataReader_ReadString(r, 1, text, sizeof text, &needed), E_BOUNDS);
        CHECK_OK(DataReader_ReadBytes(r, 0, NULL)); /* an empty read always fits */
        CHECK(tu_unconsumed(r) == 0);
        DataReader_Release(r);
    }
    /* In UTF-16, ReadString counts 16-bit units: 2 units need 4 bytes. */
    CHECK_OK(DataWriter_WriteBytes(w, 3, (const uint8_t *)"a\0b"));
    r = round_trip(&c, w);
    if (r) {
        CHECK_OK(DataReader_put_UnicodeEncoding(r, UnicodeEncoding_Utf16LE));
        CHECK_HR(DataReader_ReadString(r, 2, text, sizeof text, &needed), E_BOUNDS);
        CHECK(tu_unconsumed(r) == 3);
        CHECK_OK(DataReader_ReadString(r, 1, text, sizeof text, &needed));
        CHECK(strcmp(text, "a") == 0);
        CHECK(tu_unconsumed(r) == 1);
        DataReader_Release(r);
    }
    tu_writer_done(w);
out:
    conn_close(&c);
}

/* ---- stores and messages ------------------------------------------------------------------ */

static void test_unstored_buffer_length(void)
{
    conn c;
    DataWriter *w;
    IAsyncOperationUInt32 *op = NULL;
    uint32_t n = 99, sent = 0;

    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto out;
    CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &n));
    CHECK(n == 0);
    CHECK_OK(DataWriter_WriteUInt32(w, 1));
    CHECK_OK(DataWriter_WriteString(w, "hello", NULL));
    CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &n));
    CHECK(n == 9);
    CHECK_OK(DataWriter_StoreAsync(w, &op));
    CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &n)); /* emptied by StoreAsync itself */
    CHECK(n == 0);
    CHECK_OK(IAsyncOperationUInt32_Wait(op, WAIT_MS, &sent));
    CHECK(sent == 9);
    IAsyncOperationUInt32_Release(op);
    CHECK_OK(DataWriter_WriteByte(w, 7));
    CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &n));
    CHECK(n == 1);
    tu_writer_done(w);
out:
    conn_close(&c);
}

static void test_one_store_one_message(void)
{
    conn c;
    DataWriter *w;
    uint32_t n = 0;

    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto out;
    CHECK_OK(DataWriter_WriteBytes(w, 3, (const uint8_t *)"one"));
    CHECK_OK(store(w, &n));
    CHECK(n == 3);
    CHECK_OK(DataWriter_WriteBytes(w, 3, (const uint8_t *)"two"));
    CHECK_OK(DataWriter_WriteBytes(w, 2, (const uint8_t *)"!!"));
    CHECK_OK(store(w, &n));
    CHECK(n == 5);
    CHECK_OK(store(w, &n)); /* an empty store is an empty message */
    CHECK(n == 0);

    expect_next_message(&c, "one", 3);
    expect_next_message(&c, "two!!", 5);
    expect_next_message(&c, "", 0);
    /* Exactly three messages. */
    tu_sleep_ms(200);
    CHECK(tu_signal_get(&c.inbox.received) == 3);
    tu_writer_done(w);
out:
    conn_close(&c);
}

/* Several stores pending at once on one writer complete, and arrive, in call order. */
#define N_STORES 32
typedef struct {
    pthread_mutex_t lock;
    int order[N_STORES];
    int n;
    tu_signal done;
} store_order;

typedef struct {
    store_order *so;
    int index;
    uint32_t result;
    AsyncStatus status;
} store_ctx;

static void on_store(void *context, IAsyncOperationUInt32 *op, AsyncStatus status)
{
    store_ctx *sc = (store_ctx *)context;
    sc->status = status;
    IAsyncOperationUInt32_GetResults(op, &sc->result);
    pthread_mutex_lock(&sc->so->lock);
    if (sc->so->n < N_STORES)
        sc->so->order[sc->so->n] = sc->index;
    sc->so->n++;
    pthread_mutex_unlock(&sc->so->lock);
    tu_signal_bump(&sc->so->done);
}

static void test_pending_stores_complete_in_order(void)
{
    conn c;
    DataWriter *w;
    IAsyncOperationUInt32 *ops[N_STORES];
    store_ctx ctx[N_STORES];
    store_order so;
    int i, in_order = 1, arrived_in_order = 1;

    memset(&so, 0, sizeof so);
    pthread_mutex_init(&so.lock, NULL);
    tu_signal_init(&so.done);
    memset(ops, 0, sizeof ops);
    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto out;
    for (i = 0; i < N_STORES; i++) {
        uint32_t len = 1 + (uint32_t)i * 1000; /* sizes vary: 1 B .. 31 KB */
        uint8_t *data = malloc(len);
        memset(data, i, len);
        CHECK_OK(DataWriter_WriteBytes(w, len, data));
        free(data);
        ctx[i].so = &so;
        ctx[i].index = i;
        ctx[i].result = 0;
        ctx[i].status = (AsyncStatus)-1;
        CHECK_OK(DataWriter_StoreAsync(w, &ops[i]));
        CHECK_OK(IAsyncOperationUInt32_put_Completed(ops[i], on_store, &ctx[i]));
    }
    for (i = 0; i < N_STORES; i++) {
        uint32_t n = 0;
        CHECK_OK(IAsyncOperationUInt32_Wait(ops[i], WAIT_MS, &n));
        CHECK(n == 1 + (uint32_t)i * 1000);
    }
    CHECK(tu_signal_wait(&so.done, N_STORES, WAIT_MS));
    for (i = 0; i < N_STORES; i++) {
        CHECK(ctx[i].status == AsyncStatus_Completed);
        CHECK(ctx[i].result == 1 + (uint32_t)i * 1000);
        if (so.order[i] != i)
            in_order = 0;
    }
    CHECK(in_order);
    for (i = 0; i < N_STORES; i++) {
        DataReader *r = tu_inbox_next_reader(&c.inbox, WAIT_MS);
        uint8_t first = 0xEE;
        if (!r) {
            arrived_in_order = 0;
            break;
        }
        if (tu_unconsumed(r) != 1 + (uint32_t)i * 1000)
            arrived_in_order = 0;
        DataReader_ReadByte(r, &first);
        if (first != (uint8_t)i)
            arrived_in_order = 0;
        DataReader_Release(r);
    }
    CHECK(arrived_in_order);
    for (i = 0; i < N_STORES; i++)
        if (ops[i])
            IAsyncOperationUInt32_Release(ops[i]);
    tu_writer_done(w);
out:
    conn_close(&c);
    tu_signal_destroy(&so.done);
    pthread_mutex_destroy(&so.lock);
}

static void test_flush(void)
{
    conn c;
    DataWriter *w;
    IOutputStream *out = NULL;
    IAsyncOperationBoolean *flush = NULL;
    IAsyncOperationUInt32 *st = NULL;
    bool result = false;
    AsyncStatus status = (AsyncStatus)-1;

    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto done;
    CHECK_OK(DataWriter_WriteBytes(w, 4, (const uint8_t *)"abcd"));
    CHECK_OK(DataWriter_StoreAsync(w, &st));
    CHECK_OK(DataWriter_FlushAsync(w, &flush));
    CHECK_OK(IAsyncOperationBoolean_Wait(flush, WAIT_MS, &result));
    CHECK(result == true);
    /* The flush completed after the store queued before it. */
    CHECK_OK(IAsyncOperationUInt32_get_Status(st, &status));
    CHECK(status == AsyncStatus_Completed);
    IAsyncOperationBoolean_Release(flush);
    IAsyncOperationUInt32_Release(st);
    flush = NULL;

    /* The same through the stream, with nothing queued. */
    CHECK_OK(MessageWebSocket_get_OutputStream(c.ws, &out));
    CHECK_OK(IOutputStream_FlushAsync(out, &flush));
    result = false;
    CHECK_OK(IAsyncOperationBoolean_Wait(flush, WAIT_MS, &result));
    CHECK(result == true);
    IAsyncOperationBoolean_Release(flush);
    IOutputStream_Release(out);
    tu_writer_done(w);
    {
        MessageWebSocketMessageReceivedEventArgs *a = tu_inbox_next(&c.inbox, WAIT_MS);
        CHECK(a != NULL); /* the stored message was echoed */
        if (a)
            MessageWebSocketMessageReceivedEventArgs_Release(a);
    }
done:
    conn_close(&c);
}

/* ---- detach, release, close ------------------------------------------------------------------ */

static void test_detach_stream_then_new_writer(void)
{
    conn c;
    DataWriter *w1, *w2 = NULL;
    IOutputStream *out = NULL, *none = NULL;
    IAsyncOperationUInt32 *op = NULL;
    DataReader *r;
    uint32_t n = 0;
    uint8_t buf[8];

    w1 = conn_open_writer(&c, "/echo");
    if (!w1)
        goto done;
    CHECK_OK(DataWriter_WriteBytes(w1, 3, (const uint8_t *)"one"));
    CHECK_OK(store(w1, NULL));
    CHECK_OK(DataWriter_WriteBytes(w1, 4, (const uint8_t *)"kept"));
    CHECK_OK(DataWriter_DetachStream(w1, &out));
    CHECK(out != NULL);
    /* Detached: the writer keeps its bytes but has no stream any more. */
    CHECK_OK(DataWriter_get_UnstoredBufferLength(w1, &n));
    CHECK(n == 4);
    CHECK_HR(DataWriter_DetachStream(w1, &none), E_ILLEGAL_METHOD_CALL);
    CHECK(none == NULL);
    CHECK_HR(DataWriter_StoreAsync(w1, &op), E_ILLEGAL_METHOD_CALL);
    CHECK(op == NULL);
    DataWriter_Release(w1); /* detached: the stream stays open */

    if (out) {
        CHECK_OK(DataWriter_CreateDataWriter(out, &w2));
        IOutputStream_Release(out);
    }
    CHECK(w2 != NULL);
    if (w2) {
        CHECK_OK(DataWriter_WriteBytes(w2, 3, (const uint8_t *)"two"));
        CHECK_OK(store(w2, &n));
        CHECK(n == 3);
        tu_writer_done(w2);
    }
    r = tu_inbox_next_reader(&c.inbox, WAIT_MS);
    CHECK(r != NULL);
    if (r) {
        CHECK_OK(DataReader_ReadBytes(r, 3, buf));
        CHECK(memcmp(buf, "one", 3) == 0);
        DataReader_Release(r);
    }
    expect_next_message(&c, "two", 3);
    /* A third writer (over a fresh OutputStream reference) still sends. */
    w2 = tu_writer_for(c.ws);
    CHECK(w2 != NULL);
    if (w2) {
        CHECK_OK(DataWriter_WriteBytes(w2, 5, (const uint8_t *)"three"));
        CHECK_OK(store(w2, &n));
        CHECK(n == 5);
        tu_writer_done(w2);
        r = tu_inbox_next_reader(&c.inbox, WAIT_MS);
        CHECK(r != NULL);
        if (r) {
            CHECK(tu_unconsumed(r) == 5);
            DataReader_Release(r);
        }
    }
done:
    conn_close(&c);
}

/* Checks that `ws`'s output stream is closed for good: a new writer's store and a
 * flush fail with RO_E_CLOSED (synchronously or through the operation). */
static void check_stream_closed(MessageWebSocket *ws, IOutputStream *old_stream)
{
    DataWriter *w = tu_writer_for(ws);
    IAsyncOperationUInt32 *op = NULL;
    IAsyncOperationBoolean *flush = NULL;
    HRESULT hr;
    CHECK(w != NULL);
    if (w) {
        CHECK_OK(DataWriter_WriteBytes(w, 3, (const uint8_t *)"abc"));
        hr = DataWriter_StoreAsync(w, &op);
        if (hr == S_OK) {
            hr = IAsyncOperationUInt32_Wait(op, WAIT_MS, NULL);
            IAsyncOperationUInt32_Release(op);
        }
        CHECK_HR(hr, RO_E_CLOSED);
        tu_writer_done(w);
    }
    hr = IOutputStream_FlushAsync(old_stream, &flush);
    if (hr == S_OK) {
        hr = IAsyncOperationBoolean_Wait(flush, WAIT_MS, NULL);
        IAsyncOperationBoolean_Release(flush);
    }
    CHECK_HR(hr, RO_E_CLOSED);
}

static void test_released_writer_closes_stream(void)
{
    conn c;
    DataWriter *w;
    IOutputStream *out = NULL;
    DataReader *r;
    conn_open(&c, "/echo");
    if (!c.ok)
        goto done;
    CHECK_OK(MessageWebSocket_get_OutputStream(c.ws, &out));
    w = tu_writer_for(c.ws);
    CHECK(w != NULL);
    if (!w || !out)
        goto done;
    CHECK_OK(DataWriter_WriteBytes(w, 2, (const uint8_t *)"hi"));
    CHECK_OK(store(w, NULL));
    r = tu_inbox_next_reader(&c.inbox, WAIT_MS); /* the stream worked */
    CHECK(r != NULL);
    if (r)
        DataReader_Release(r);
    CHECK(DataWriter_Release(w) == 0); /* still attached: closes the stream */
    check_stream_closed(c.ws, out);
    /* The socket itself is still open: only its output stream is closed. */
    CHECK_OK(tu_set_type(c.ws, SocketMessageType_Utf8));
done:
    if (out)
        IOutputStream_Release(out);
    conn_close(&c);
}

static void test_closed_writer_closes_stream(void)
{
    conn c;
    DataWriter *w;
    IOutputStream *out = NULL, *none = NULL;
    IAsyncOperationUInt32 *op = NULL;
    uint32_t n = 0;
    conn_open(&c, "/echo");
    if (!c.ok)
        goto done;
    CHECK_OK(MessageWebSocket_get_OutputStream(c.ws, &out));
    w = tu_writer_for(c.ws);
    CHECK(w != NULL);
    if (!w || !out)
        goto done;
    CHECK_OK(DataWriter_WriteBytes(w, 2, (const uint8_t *)"hi"));
    CHECK_OK(DataWriter_Close(w));
    /* The writer is closed... */
    CHECK_HR(DataWriter_WriteByte(w, 1), RO_E_CLOSED);
    CHECK_HR(DataWriter_get_UnstoredBufferLength(w, &n), RO_E_CLOSED);
    CHECK_HR(DataWriter_StoreAsync(w, &op), RO_E_CLOSED);
    CHECK(op == NULL);
    CHECK_HR(DataWriter_DetachStream(w, &none), RO_E_CLOSED);
    CHECK(none == NULL);
    /* ...and so is the stream it owned. */
    check_stream_closed(c.ws, out);
    CHECK(DataWriter_Release(w) == 0);
done:
    if (out)
        IOutputStream_Release(out);
    conn_close(&c);
}

/* Utf8 MessageType with bytes that are not UTF-8: the store's operation fails, the
 * connection stays usable. */
static void test_utf8_message_with_invalid_bytes(void)
{
    conn c;
    DataWriter *w;
    IAsyncOperationUInt32 *op = NULL;
    MessageWebSocketMessageReceivedEventArgs *a;
    AsyncStatus status = (AsyncStatus)-1;
    HRESULT code = 0;
    conn_open(&c, "/echo");
    if (!c.ok)
        goto done;
    CHECK_OK(tu_set_type(c.ws, SocketMessageType_Utf8));
    w = tu_writer_for(c.ws);
    CHECK(w != NULL);
    if (!w)
        goto done;
    CHECK_OK(DataWriter_WriteBytes(w, 4, (const uint8_t *)"\xc3\x28\xa0\xa1"));
    CHECK_OK(DataWriter_StoreAsync(w, &op));
    if (op) {
        CHECK_HR(IAsyncOperationUInt32_Wait(op, WAIT_MS, NULL), RTWS_E_NO_UNICODE_TRANSLATION);
        CHECK_OK(IAsyncOperationUInt32_get_Status(op, &status));
        CHECK(status == AsyncStatus_Error);
        CHECK_OK(IAsyncOperationUInt32_get_ErrorCode(op, &code));
        CHECK(code == RTWS_E_NO_UNICODE_TRANSLATION);
        IAsyncOperationUInt32_Release(op);
    }
    /* Nothing went out; the next valid text does, as Utf8. */
    CHECK_OK(DataWriter_WriteString(w, KOSME, NULL));
    CHECK_OK(store(w, NULL));
    a = tu_inbox_next(&c.inbox, WAIT_MS);
    CHECK(a != NULL);
    if (a) {
        SocketMessageType type = (SocketMessageType)-1;
        DataReader *r = NULL;
        CHECK_OK(MessageWebSocketMessageReceivedEventArgs_get_MessageType(a, &type));
        CHECK(type == SocketMessageType_Utf8);
        CHECK_OK(MessageWebSocketMessageReceivedEventArgs_GetDataReader(a, &r));
        if (r) {
            CHECK(tu_unconsumed(r) == 11);
            DataReader_Release(r);
        }
        MessageWebSocketMessageReceivedEventArgs_Release(a);
    }
    tu_sleep_ms(100);
    CHECK(tu_signal_get(&c.inbox.received) == 1);
    CHECK(tu_signal_get(&c.inbox.closed) == 0);
    tu_writer_done(w);
done:
    conn_close(&c);
}

/* ---- readers ------------------------------------------------------------------------------------ */

static void test_reader_close(void)
{
    conn c;
    DataWriter *w;
    DataReader *r;
    uint8_t u8 = 0, buf[2];
    uint16_t u16 = 0;
    uint32_t n = 0, needed = 0;
    char text[8];
    ByteOrder order;
    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto done;
    CHECK_OK(DataWriter_WriteBytes(w, 4, (const uint8_t *)"data"));
    r = round_trip(&c, w);
    tu_writer_done(w);
    if (!r)
        goto done;
    CHECK_OK(DataReader_ReadByte(r, &u8));
    CHECK_OK(DataReader_Close(r));
    CHECK_HR(DataReader_ReadByte(r, &u8), RO_E_CLOSED);
    CHECK_HR(DataReader_ReadBytes(r, 2, buf), RO_E_CLOSED);
    CHECK_HR(DataReader_ReadUInt16(r, &u16), RO_E_CLOSED);
    CHECK_HR(DataReader_ReadString(r, 1, text, sizeof text, &needed), RO_E_CLOSED);
    CHECK_HR(DataReader_get_UnconsumedBufferLength(r, &n), RO_E_CLOSED);
    CHECK_HR(DataReader_get_ByteOrder(r, &order), RO_E_CLOSED);
    CHECK_HR(DataReader_put_ByteOrder(r, ByteOrder_LittleEndian), RO_E_CLOSED);
    CHECK_HR(DataReader_put_UnicodeEncoding(r, UnicodeEncoding_Utf16LE), RO_E_CLOSED);
    CHECK(DataReader_Release(r) == 0); /* the handle still needed its Release */
done:
    conn_close(&c);
}

static void test_two_readers_are_independent(void)
{
    conn c;
    DataWriter *w;
    MessageWebSocketMessageReceivedEventArgs *a;
    DataReader *r1 = NULL, *r2 = NULL, *r3 = NULL;
    uint32_t u32 = 0;
    uint8_t buf[8];
    w = conn_open_writer(&c, "/echo");
    if (!w)
        goto done;
    CHECK_OK(DataWriter_WriteBytes(w, 8, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08"));
    CHECK_OK(store(w, NULL));
    tu_writer_done(w);
    a = tu_inbox_next(&c.inbox, WAIT_MS);
    CHECK(a != NULL);
    if (!a)
        goto done;
    CHECK_OK(MessageWebSocketMessageReceivedEventArgs_GetDataReader(a, &r1));
    CHECK_OK(MessageWebSocketMessageReceivedEventArgs_GetDataReader(a, &r2));
    CHECK(r1 != NULL && r2 != NULL && r1 != r2);
    if (r1 && r2) {
        CHECK_OK(DataReader_put_ByteOrder(r1, ByteOrder_LittleEndian));
        CHECK_OK(DataReader_ReadUInt32(r1, &u32));
        CHECK(u32 == 0x04030201u);
        CHECK(tu_unconsumed(r1) == 4);
        /* r2: still at position 0, with its own (default) byte order. */
        CHECK(tu_unconsumed(r2) == 8);
        CHECK_OK(DataReader_ReadUInt32(r2, &u32));
        CHECK(u32 == 0x01020304u);
        /* Closing one leaves the other readable. */
        CHECK_OK(DataReader_Close(r1));
        CHECK_OK(DataReader_ReadBytes(r2, 4, buf));
        CHECK(memcmp(buf, "\x05\x06\x07\x08", 4) == 0);
        /* A third reader after the others are consumed/closed starts over too. */
        CHECK_OK(MessageWebSocketMessageReceivedEventArgs_GetDataReader(a, &r3));
        if (r3) {
            CHECK(tu_unconsumed(r3) == 8);
            DataReader_Release(r3);
        }
    }
    if (r1)
        DataReader_Release(r1);
    if (r2)
        DataReader_Release(r2);
    MessageWebSocketMessageReceivedEventArgs_Release(a);
done:
    conn_close(&c);
}

static const tu_test tests[] = {
    TU_TEST(test_typed_round_trip_big_endian),
    TU_TEST(test_typed_round_trip_little_endian),
    TU_TEST(test_wire_bytes),
    TU_TEST(test_measure_and_write_string),
    TU_TEST(test_strings_in_each_encoding),
    TU_TEST(test_read_string_invalid_text),
    TU_TEST(test_read_past_end),
    TU_TEST(test_unstored_buffer_length),
    TU_TEST(test_one_store_one_message),
    TU_TEST(test_pending_stores_complete_in_order),
    TU_TEST(test_flush),
    TU_TEST(test_detach_stream_then_new_writer),
    TU_TEST(test_released_writer_closes_stream),
    TU_TEST(test_closed_writer_closes_stream),
    TU_TEST(test_utf8_message_with_invalid_bytes),
    TU_TEST(test_reader_close),
    TU_TEST(test_two_readers_are_independent),
    TU_END,
};

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    tu_run(tests, argc - 2, argv + 2);
    return tu_finish();
}
