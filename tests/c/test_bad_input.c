/*
 * Bad input never crashes, hangs or is accepted silently: every case asserts the
 * exact HRESULT (and, where it matters, that nothing changed).
 *
 * - NULL for every pointer parameter of every exported function (E_POINTER; for
 *   handles too; AddRef/Release return 0), going through rtws.h function by function
 * - wrong enum values, out-of-range numbers (E_INVALIDARG)
 * - handles of the wrong type, released handles, made-up pointers (E_INVALIDARG)
 * - bad URIs, close codes and reasons, request headers
 * - calls in the wrong state (E_ILLEGAL_METHOD_CALL, RO_E_CLOSED)
 * - caller buffers too small (E_NOT_SUFFICIENT_BUFFER), indexes out of range (E_BOUNDS)
 * - rtws_GetLastErrorMessage after failures
 */
#include "testutil.h"

#include <sched.h>
#include <stdatomic.h>

#define WAIT_MS 5000
#define KOSME "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5" /* 11 bytes UTF-8, 5 UTF-16 units */

/* AddRef/Release of a non-handle: 0. */
#define CHECK_ZERO(expr) CHECK((expr) == 0)

/* Checks that `expr` returns E_INVALIDARG, for calls in a loop: the failure message names
 * the case with the printf-style arguments that follow (CHECK_HR shows only `expr`). */
#define CHECK_INVALIDARG_CASE(expr, ...)                                              \
    do {                                                                              \
        HRESULT hr_ = (expr);                                                         \
        tu_checks++;                                                                  \
        if (hr_ != E_INVALIDARG) {                                                    \
            tu_failures++;                                                            \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                             \
            fprintf(stderr, " returned 0x%08X, expected E_INVALIDARG\n", (unsigned)hr_); \
        }                                                                             \
    } while (0)

/* ---- objects of every class, shared by the tests ---------------------------------- */

static struct {
    MessageWebSocket *ws;                 /* connected to /echo */
    tu_inbox inbox;
    MessageWebSocketControl *control;
    MessageWebSocketInformation *info;
    IVectorString *protocols;             /* of a fresh, unconnected socket */
    MessageWebSocket *fresh;              /* never connected */
    IOutputStream *stream;                /* ws's output stream */
    DataWriter *writer;                   /* over `stream` */
    DataWriter *plain_writer;             /* DataWriter_Create: no stream */
    MessageWebSocketMessageReceivedEventArgs *args;
    DataReader *reader;                   /* over a message of 8 bytes */
    WebSocketClosedEventArgs *closed_args;
    MessageWebSocket *closed_ws;          /* connected then closed */
    IAsyncAction *connect_op;             /* finished */
    IAsyncOperationUInt32 *store_op;      /* finished */
    IAsyncOperationBoolean *flush_op;     /* finished */
    IBuffer *buffer;                      /* 8 bytes of capacity */
    StreamWebSocket *stream_ws;           /* never connected; its Control, Information and */
    StreamWebSocketControl *stream_control; /* input stream: handles of another class */
    StreamWebSocketInformation *stream_info;
    IInputStream *stream_in;
} o;

static tu_signal closed_signal;

static void keep_closed_args(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    (void)context; (void)sender;
    if (!o.closed_args) {
        WebSocketClosedEventArgs_AddRef(args);
        o.closed_args = args;
    }
    tu_signal_bump(&closed_signal);
}

static void on_message_noop(void *c, MessageWebSocket *s, MessageWebSocketMessageReceivedEventArgs *a)
{
    (void)c; (void)s; (void)a;
}
static void on_closed_noop(void *c, MessageWebSocket *s, WebSocketClosedEventArgs *a)
{
    (void)c; (void)s; (void)a;
}

static int setup(void)
{
    EventRegistrationToken token;
    memset(&o, 0, sizeof o);
    tu_signal_init(&closed_signal);
    if (RTWS_FAILED(MessageWebSocket_Create(&o.ws)) || RTWS_FAILED(tu_inbox_attach(&o.inbox, o.ws)))
        return 0;
    if (RTWS_FAILED(MessageWebSocket_ConnectAsync(o.ws, tu_url("/echo"), &o.connect_op)) ||
        IAsyncAction_Wait(o.connect_op, 10000) != S_OK)
        return 0;
    if (RTWS_FAILED(MessageWebSocket_get_Control(o.ws, &o.control)) ||
        RTWS_FAILED(MessageWebSocket_get_Information(o.ws, &o.info)) ||
        RTWS_FAILED(MessageWebSocket_get_OutputStream(o.ws, &o.stream)) ||
        RTWS_FAILED(DataWriter_CreateDataWriter(o.stream, &o.writer)) ||
        RTWS_FAILED(DataWriter_Create(&o.plain_writer)))
        return 0;
    {
        MessageWebSocketControl *fc = NULL;
        if (RTWS_FAILED(MessageWebSocket_Create(&o.fresh)) ||
            RTWS_FAILED(MessageWebSocket_get_Control(o.fresh, &fc)))
            return 0;
        if (RTWS_FAILED(MessageWebSocketControl_get_SupportedProtocols(fc, &o.protocols)))
            return 0;
        MessageWebSocketControl_Release(fc);
        if (RTWS_FAILED(IVectorString_Append(o.protocols, "chat")) ||
            RTWS_FAILED(IVectorString_Append(o.protocols, "superchat")))
            return 0;
    }
    /* One message: 8 bytes; keep its args and a reader over it. */
    if (RTWS_FAILED(DataWriter_WriteBytes(o.writer, 8, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08")) ||
        RTWS_FAILED(DataWriter_StoreAsync(o.writer, &o.store_op)) ||
        IAsyncOperationUInt32_Wait(o.store_op, WAIT_MS, NULL) != S_OK)
        return 0;
    if (RTWS_FAILED(DataWriter_FlushAsync(o.writer, &o.flush_op)) ||
        IAsyncOperationBoolean_Wait(o.flush_op, WAIT_MS, NULL) != S_OK)
        return 0;
    o.args = tu_inbox_next(&o.inbox, WAIT_MS);
    if (!o.args || RTWS_FAILED(MessageWebSocketMessageReceivedEventArgs_GetDataReader(o.args, &o.reader)))
        return 0;
    /* A Closed event's args: a second socket closed with a status. */
    if (RTWS_FAILED(MessageWebSocket_Create(&o.closed_ws)) ||
        RTWS_FAILED(MessageWebSocket_add_Closed(o.closed_ws, keep_closed_args, NULL, &token)) ||
        RTWS_FAILED(tu_connect(o.closed_ws, "/echo")))
        return 0;
    if (RTWS_FAILED(MessageWebSocket_CloseWithStatus(o.closed_ws, 3001, "bye")))
        return 0;
    if (!tu_signal_wait(&closed_signal, 1, WAIT_MS) || !o.closed_args)
        return 0;
    if (RTWS_FAILED(Buffer_Create(8, &o.buffer)) ||
        RTWS_FAILED(StreamWebSocket_Create(&o.stream_ws)) ||
        RTWS_FAILED(StreamWebSocket_get_Control(o.stream_ws, &o.stream_control)) ||
        RTWS_FAILED(StreamWebSocket_get_Information(o.stream_ws, &o.stream_info)) ||
        RTWS_FAILED(StreamWebSocket_get_InputStream(o.stream_ws, &o.stream_in)))
        return 0;
    return 1;
}

static void teardown(void)
{
    IOutputStream *out = NULL;
    if (o.stream_in) IInputStream_Release(o.stream_in);
    if (o.stream_info) StreamWebSocketInformation_Release(o.stream_info);
    if (o.stream_control) StreamWebSocketControl_Release(o.stream_control);
    if (o.stream_ws) StreamWebSocket_Release(o.stream_ws);
    if (o.buffer) IBuffer_Release(o.buffer);
    if (o.reader) DataReader_Release(o.reader);
    if (o.args) MessageWebSocketMessageReceivedEventArgs_Release(o.args);
    if (o.closed_args) WebSocketClosedEventArgs_Release(o.closed_args);
    if (o.connect_op) IAsyncAction_Release(o.connect_op);
    if (o.store_op) IAsyncOperationUInt32_Release(o.store_op);
    if (o.flush_op) IAsyncOperationBoolean_Release(o.flush_op);
    if (o.protocols) IVectorString_Release(o.protocols);
    if (o.plain_writer) DataWriter_Release(o.plain_writer);
    if (o.writer) {
        if (RTWS_SUCCEEDED(DataWriter_DetachStream(o.writer, &out)))
            IOutputStream_Release(out);
        DataWriter_Release(o.writer);
    }
    if (o.stream) IOutputStream_Release(o.stream);
    if (o.info) MessageWebSocketInformation_Release(o.info);
    if (o.control) MessageWebSocketControl_Release(o.control);
    if (o.ws) {
        tu_inbox_detach(&o.inbox, o.ws);
        MessageWebSocket_Release(o.ws);
    }
    if (o.fresh) MessageWebSocket_Release(o.fresh);
    if (o.closed_ws) MessageWebSocket_Release(o.closed_ws);
    tu_signal_destroy(&closed_signal);
}

static uint32_t unstored(DataWriter *w)
{
    uint32_t n = 0xFFFFFFFFu;
    CHECK_OK(DataWriter_get_UnstoredBufferLength(w, &n));
    return n;
}

static int message_contains(const char *needle)
{
    const char *m = rtws_GetLastErrorMessage();
    return m != NULL && strstr(m, needle) != NULL;
}

/* ---- NULL, function by function ---------------------------------------------------- */

static void test_null_async_action(void)
{
    IAsyncAction *op = o.connect_op;
    AsyncStatus st;
    HRESULT code;
    uint32_t id;
    CHECK_ZERO(IAsyncAction_AddRef(NULL));
    CHECK(message_contains("NULL"));
    CHECK_ZERO(IAsyncAction_Release(NULL));
    CHECK_HR(IAsyncAction_put_Completed(NULL, tu_on_action_noop, NULL), E_POINTER);
    CHECK_HR(IAsyncAction_put_Completed(op, NULL, NULL), E_POINTER);
    CHECK_HR(IAsyncAction_get_Status(NULL, &st), E_POINTER);
    CHECK_HR(IAsyncAction_get_Status(op, NULL), E_POINTER);
    CHECK_HR(IAsyncAction_get_ErrorCode(NULL, &code), E_POINTER);
    CHECK_HR(IAsyncAction_get_ErrorCode(op, NULL), E_POINTER);
    CHECK_HR(IAsyncAction_get_Id(NULL, &id), E_POINTER);
    CHECK_HR(IAsyncAction_get_Id(op, NULL), E_POINTER);
    CHECK_HR(IAsyncAction_Cancel(NULL), E_POINTER);
    CHECK_HR(IAsyncAction_Close(NULL), E_POINTER);
    CHECK_HR(IAsyncAction_GetResults(NULL), E_POINTER);
    CHECK_HR(IAsyncAction_Wait(NULL, 0), E_POINTER);
    CHECK_HR(IAsyncAction_Wait(NULL, 100), E_POINTER);
    /* The NULL handler was not installed: a real one still can be. */
    CHECK_OK(IAsyncAction_put_Completed(op, tu_on_action_noop, NULL));
}

static void test_null_async_uint32(void)
{
    IAsyncOperationUInt32 *op = o.store_op;
    AsyncStatus st;
    HRESULT code;
    uint32_t id, n;
    CHECK_ZERO(IAsyncOperationUInt32_AddRef(NULL));
    CHECK_ZERO(IAsyncOperationUInt32_Release(NULL));
    CHECK_HR(IAsyncOperationUInt32_put_Completed(NULL, tu_on_uint32_noop, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_put_Completed(op, NULL, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_get_Status(NULL, &st), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_get_Status(op, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_get_ErrorCode(NULL, &code), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_get_ErrorCode(op, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_get_Id(NULL, &id), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_get_Id(op, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_Cancel(NULL), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_Close(NULL), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_GetResults(NULL, &n), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_GetResults(op, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationUInt32_Wait(NULL, 0, &n), E_POINTER);
    CHECK_OK(IAsyncOperationUInt32_Wait(op, 0, NULL)); /* documented: results may be NULL */
    CHECK_OK(IAsyncOperationUInt32_put_Completed(op, tu_on_uint32_noop, NULL));
}

static void test_null_async_boolean(void)
{
    IAsyncOperationBoolean *op = o.flush_op;
    AsyncStatus st;
    HRESULT code;
    uint32_t id;
    bool b;
    CHECK_ZERO(IAsyncOperationBoolean_AddRef(NULL));
    CHECK_ZERO(IAsyncOperationBoolean_Release(NULL));
    CHECK_HR(IAsyncOperationBoolean_put_Completed(NULL, tu_on_boolean_noop, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_put_Completed(op, NULL, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_get_Status(NULL, &st), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_get_Status(op, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_get_ErrorCode(NULL, &code), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_get_ErrorCode(op, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_get_Id(NULL, &id), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_get_Id(op, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_Cancel(NULL), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_Close(NULL), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_GetResults(NULL, &b), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_GetResults(op, NULL), E_POINTER);
    CHECK_HR(IAsyncOperationBoolean_Wait(NULL, 0, &b), E_POINTER);
    CHECK_OK(IAsyncOperationBoolean_Wait(op, 0, NULL));
    CHECK_OK(IAsyncOperationBoolean_put_Completed(op, tu_on_boolean_noop, NULL));
}

static void test_null_message_websocket(void)
{
    MessageWebSocket *ws = NULL, *f = o.fresh;
    MessageWebSocketControl *c = NULL;
    MessageWebSocketInformation *i = NULL;
    IOutputStream *s = NULL;
    IAsyncAction *op = NULL;
    IAsyncOperationUInt32 *frame = NULL;
    EventRegistrationToken t = {0};

    CHECK_HR(MessageWebSocket_Create(NULL), E_POINTER);
    CHECK(message_contains("NULL"));
    CHECK_ZERO(MessageWebSocket_AddRef(NULL));
    CHECK_ZERO(MessageWebSocket_Release(NULL));
    CHECK_HR(MessageWebSocket_get_Control(NULL, &c), E_POINTER);
    CHECK_HR(MessageWebSocket_get_Control(f, NULL), E_POINTER);
    CHECK_HR(MessageWebSocket_get_Information(NULL, &i), E_POINTER);
    CHECK_HR(MessageWebSocket_get_Information(f, NULL), E_POINTER);
    CHECK_HR(MessageWebSocket_get_OutputStream(NULL, &s), E_POINTER);
    CHECK_HR(MessageWebSocket_get_OutputStream(f, NULL), E_POINTER);
    CHECK(c == NULL && i == NULL && s == NULL);

    CHECK_HR(MessageWebSocket_ConnectAsync(NULL, tu_url("/echo"), &op), E_POINTER);
    CHECK_HR(MessageWebSocket_ConnectAsync(f, NULL, &op), E_POINTER);
    CHECK(op == NULL);
    /* NULL operation pointer: refused before anything starts. */
    CHECK_HR(MessageWebSocket_ConnectAsync(f, tu_url("/echo"), NULL), E_POINTER);

    CHECK_HR(MessageWebSocket_SetRequestHeader(NULL, "X-A", "1"), E_POINTER);
    CHECK_HR(MessageWebSocket_SetRequestHeader(f, NULL, "1"), E_POINTER);
    CHECK_HR(MessageWebSocket_SetRequestHeader(f, "X-A", NULL), E_POINTER);
    CHECK_HR(MessageWebSocket_Close(NULL), E_POINTER);
    CHECK_HR(MessageWebSocket_CloseWithStatus(NULL, 1000, "x"), E_POINTER);
    CHECK_HR(MessageWebSocket_CloseWithStatus(NULL, 1000, NULL), E_POINTER);

    CHECK_HR(MessageWebSocket_add_MessageReceived(NULL, on_message_noop, NULL, &t), E_POINTER);
    CHECK_HR(MessageWebSocket_add_MessageReceived(f, NULL, NULL, &t), E_POINTER);
    CHECK_HR(MessageWebSocket_add_MessageReceived(f, on_message_noop, NULL, NULL), E_POINTER);
    CHECK_HR(MessageWebSocket_remove_MessageReceived(NULL, t), E_POINTER);
    CHECK_HR(MessageWebSocket_add_Closed(NULL, on_closed_noop, NULL, &t), E_POINTER);
    CHECK_HR(MessageWebSocket_add_Closed(f, NULL, NULL, &t), E_POINTER);
    CHECK_HR(MessageWebSocket_add_Closed(f, on_closed_noop, NULL, NULL), E_POINTER);
    CHECK_HR(MessageWebSocket_remove_Closed(NULL, t), E_POINTER);

    CHECK_HR(MessageWebSocket_SendNonfinalFrameAsync(NULL, o.buffer, &frame), E_POINTER);
    CHECK_HR(MessageWebSocket_SendNonfinalFrameAsync(f, NULL, &frame), E_POINTER);
    CHECK_HR(MessageWebSocket_SendNonfinalFrameAsync(f, o.buffer, NULL), E_POINTER);
    CHECK_HR(MessageWebSocket_SendFinalFrameAsync(NULL, o.buffer, &frame), E_POINTER);
    CHECK_HR(MessageWebSocket_SendFinalFrameAsync(f, NULL, &frame), E_POINTER);
    CHECK_HR(MessageWebSocket_SendFinalFrameAsync(f, o.buffer, NULL), E_POINTER);
    CHECK(frame == NULL);

    /* None of this froze or closed the socket: it is still configurable, and a
     * real ConnectAsync works (the NULL-operation call above started nothing). */
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_HR(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), NULL), E_POINTER);
    CHECK_OK(MessageWebSocket_SetRequestHeader(ws, "X-After-Null", "1"));
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op));
    if (op) {
        CHECK_OK(IAsyncAction_Wait(op, WAIT_MS));
        IAsyncAction_Release(op);
    }
    MessageWebSocket_Release(ws);
}

static void test_null_control(void)
{
    MessageWebSocketControl *c = o.control;
    SocketMessageType mt;
    MessageWebSocketReceiveMode rm;
    uint32_t n;
    IVectorString *v = NULL;
    CHECK_ZERO(MessageWebSocketControl_AddRef(NULL));
    CHECK_ZERO(MessageWebSocketControl_Release(NULL));
    CHECK_HR(MessageWebSocketControl_get_MessageType(NULL, &mt), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_MessageType(c, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketControl_put_MessageType(NULL, SocketMessageType_Binary), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_MaxMessageSize(NULL, &n), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_MaxMessageSize(c, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketControl_put_MaxMessageSize(NULL, 100), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_ReceiveMode(NULL, &rm), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_ReceiveMode(c, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketControl_put_ReceiveMode(NULL, 0), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_OutboundBufferSizeInBytes(NULL, &n), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_OutboundBufferSizeInBytes(c, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketControl_put_OutboundBufferSizeInBytes(NULL, 4096), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_SupportedProtocols(NULL, &v), E_POINTER);
    CHECK_HR(MessageWebSocketControl_get_SupportedProtocols(c, NULL), E_POINTER);
    CHECK(v == NULL);
}

static void test_null_information(void)
{
    const char *s = NULL;
    CHECK_ZERO(MessageWebSocketInformation_AddRef(NULL));
    CHECK_ZERO(MessageWebSocketInformation_Release(NULL));
    CHECK_HR(MessageWebSocketInformation_get_Protocol(NULL, &s), E_POINTER);
    CHECK_HR(MessageWebSocketInformation_get_Protocol(o.info, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketInformation_get_LocalAddress(NULL, &s), E_POINTER);
    CHECK_HR(MessageWebSocketInformation_get_LocalAddress(o.info, NULL), E_POINTER);
    CHECK(s == NULL);
}

static void test_null_event_args(void)
{
    SocketMessageType mt;
    bool complete;
    DataReader *r = NULL;
    IInputStream *stream = NULL;
    uint16_t code;
    const char *reason = NULL;
    CHECK_ZERO(MessageWebSocketMessageReceivedEventArgs_AddRef(NULL));
    CHECK_ZERO(MessageWebSocketMessageReceivedEventArgs_Release(NULL));
    CHECK_HR(MessageWebSocketMessageReceivedEventArgs_get_MessageType(NULL, &mt), E_POINTER);
    CHECK_HR(MessageWebSocketMessageReceivedEventArgs_get_MessageType(o.args, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketMessageReceivedEventArgs_get_IsMessageComplete(NULL, &complete), E_POINTER);
    CHECK_HR(MessageWebSocketMessageReceivedEventArgs_get_IsMessageComplete(o.args, NULL), E_POINTER);
    CHECK_HR(MessageWebSocketMessageReceivedEventArgs_GetDataReader(NULL, &r), E_POINTER);
    CHECK_HR(MessageWebSocketMessageReceivedEventArgs_GetDataReader(o.args, NULL), E_POINTER);
    CHECK(r == NULL);
    CHECK_HR(MessageWebSocketMessageReceivedEventArgs_GetDataStream(NULL, &stream), E_POINTER);
    CHECK(stream == NULL);

    CHECK_ZERO(WebSocketClosedEventArgs_AddRef(NULL));
    CHECK_ZERO(WebSocketClosedEventArgs_Release(NULL));
    CHECK_HR(WebSocketClosedEventArgs_get_Code(NULL, &code), E_POINTER);
    CHECK_HR(WebSocketClosedEventArgs_get_Code(o.closed_args, NULL), E_POINTER);
    CHECK_HR(WebSocketClosedEventArgs_get_Reason(NULL, &reason), E_POINTER);
    CHECK_HR(WebSocketClosedEventArgs_get_Reason(o.closed_args, NULL), E_POINTER);
    CHECK(reason == NULL);
    /* The args are intact. */
    CHECK_OK(WebSocketClosedEventArgs_get_Code(o.closed_args, &code));
    CHECK(code == 3001);
}

static void test_null_output_stream(void)
{
    IAsyncOperationBoolean *op = NULL;
    CHECK_ZERO(IOutputStream_AddRef(NULL));
    CHECK_ZERO(IOutputStream_Release(NULL));
    CHECK_HR(IOutputStream_FlushAsync(NULL, &op), E_POINTER);
    CHECK_HR(IOutputStream_FlushAsync(o.stream, NULL), E_POINTER);
    CHECK(op == NULL);
}

static void test_null_data_writer(void)
{
    DataWriter *w = NULL, *pw = o.plain_writer, *sw = o.writer;
    IOutputStream *s = NULL;
    IAsyncOperationUInt32 *st = NULL;
    IAsyncOperationBoolean *fl = NULL;
    uint32_t n = 0;
    UnicodeEncoding e;
    ByteOrder b;
    uint32_t before;

    CHECK_HR(DataWriter_Create(NULL), E_POINTER);
    CHECK_HR(DataWriter_CreateDataWriter(NULL, &w), E_POINTER);
    CHECK(w == NULL);
    CHECK_HR(DataWriter_CreateDataWriter(o.stream, NULL), E_POINTER);
    CHECK_ZERO(DataWriter_AddRef(NULL));
    CHECK_ZERO(DataWriter_Release(NULL));
    CHECK_HR(DataWriter_get_UnstoredBufferLength(NULL, &n), E_POINTER);
    CHECK_HR(DataWriter_get_UnstoredBufferLength(pw, NULL), E_POINTER);
    CHECK_HR(DataWriter_get_UnicodeEncoding(NULL, &e), E_POINTER);
    CHECK_HR(DataWriter_get_UnicodeEncoding(pw, NULL), E_POINTER);
    CHECK_HR(DataWriter_put_UnicodeEncoding(NULL, UnicodeEncoding_Utf8), E_POINTER);
    CHECK_HR(DataWriter_get_ByteOrder(NULL, &b), E_POINTER);
    CHECK_HR(DataWriter_get_ByteOrder(pw, NULL), E_POINTER);
    CHECK_HR(DataWriter_put_ByteOrder(NULL, ByteOrder_BigEndian), E_POINTER);
    CHECK_HR(DataWriter_WriteByte(NULL, 1), E_POINTER);
    CHECK_HR(DataWriter_WriteBytes(NULL, 1, (const uint8_t *)"x"), E_POINTER);
    CHECK_HR(DataWriter_WriteBoolean(NULL, true), E_POINTER);
    CHECK_HR(DataWriter_WriteInt16(NULL, 1), E_POINTER);
    CHECK_HR(DataWriter_WriteUInt16(NULL, 1), E_POINTER);
    CHECK_HR(DataWriter_WriteInt32(NULL, 1), E_POINTER);
    CHECK_HR(DataWriter_WriteUInt32(NULL, 1), E_POINTER);
    CHECK_HR(DataWriter_WriteInt64(NULL, 1), E_POINTER);
    CHECK_HR(DataWriter_WriteUInt64(NULL, 1), E_POINTER);
    CHECK_HR(DataWriter_WriteSingle(NULL, 1.0f), E_POINTER);
    CHECK_HR(DataWriter_WriteDouble(NULL, 1.0), E_POINTER);
    CHECK_HR(DataWriter_WriteString(NULL, "x", &n), E_POINTER);
    CHECK_HR(DataWriter_MeasureString(NULL, "x", &n), E_POINTER);
    CHECK_HR(DataWriter_StoreAsync(NULL, &st), E_POINTER);
    CHECK_HR(DataWriter_FlushAsync(NULL, &fl), E_POINTER);
    CHECK_HR(DataWriter_DetachStream(NULL, &s), E_POINTER);
    CHECK_HR(DataWriter_Close(NULL), E_POINTER);
    CHECK(st == NULL && fl == NULL && s == NULL);

    /* NULL arrays and strings on a live writer; nothing is written. */
    before = unstored(pw);
    CHECK_HR(DataWriter_WriteBytes(pw, 1, NULL), E_POINTER);
    CHECK_HR(DataWriter_WriteBytes(pw, 0xFFFFFFFFu, NULL), E_POINTER);
    CHECK_HR(DataWriter_WriteString(pw, NULL, &n), E_POINTER);
    CHECK_HR(DataWriter_WriteString(pw, NULL, NULL), E_POINTER);
    CHECK_HR(DataWriter_MeasureString(pw, NULL, &n), E_POINTER);
    CHECK_HR(DataWriter_MeasureString(pw, "x", NULL), E_POINTER);
    CHECK(unstored(pw) == before);
    CHECK_OK(DataWriter_WriteBytes(pw, 0, NULL)); /* documented: NULL with length 0 */
    CHECK_OK(DataWriter_WriteString(pw, "ab", NULL)); /* documented: length may be NULL */
    CHECK(unstored(pw) == before + 2);

    /* NULL outputs on a writer with a stream: nothing stored, flushed or detached. */
    CHECK_OK(DataWriter_WriteBytes(sw, 3, (const uint8_t *)"abc"));
    CHECK_HR(DataWriter_StoreAsync(sw, NULL), E_POINTER);
    CHECK(unstored(sw) == 3);
    CHECK_HR(DataWriter_FlushAsync(sw, NULL), E_POINTER);
    CHECK_HR(DataWriter_DetachStream(sw, NULL), E_POINTER);
    /* Still attached: a real store works and is the only message sent. */
    CHECK_OK(DataWriter_StoreAsync(sw, &st));
    if (st) {
        CHECK_OK(IAsyncOperationUInt32_Wait(st, WAIT_MS, &n));
        CHECK(n == 3);
        IAsyncOperationUInt32_Release(st);
    }
    {
        MessageWebSocketMessageReceivedEventArgs *a = tu_inbox_next(&o.inbox, WAIT_MS);
        DataReader *r = NULL;
        CHECK(a != NULL);
        if (a) {
            CHECK_OK(MessageWebSocketMessageReceivedEventArgs_GetDataReader(a, &r));
            if (r) {
                CHECK(tu_unconsumed(r) == 3);
                DataReader_Release(r);
            }
            MessageWebSocketMessageReceivedEventArgs_Release(a);
        }
        tu_sleep_ms(100);
        CHECK(tu_signal_get(&o.inbox.received) == o.inbox.taken);
    }
}

static void test_null_data_reader(void)
{
    DataReader *r = o.reader;
    uint32_t n, before, needed = 0;
    UnicodeEncoding e;
    ByteOrder b;
    uint8_t u8, buf[4];
    bool bl;
    int16_t i16; uint16_t u16; int32_t i32; uint32_t u32; int64_t i64; uint64_t u64;
    float f; double d;
    char text[16];

    CHECK_ZERO(DataReader_AddRef(NULL));
    CHECK_ZERO(DataReader_Release(NULL));
    CHECK_HR(DataReader_get_UnconsumedBufferLength(NULL, &n), E_POINTER);
    CHECK_HR(DataReader_get_UnconsumedBufferLength(r, NULL), E_POINTER);
    CHECK_HR(DataReader_get_UnicodeEncoding(NULL, &e), E_POINTER);
    CHECK_HR(DataReader_get_UnicodeEncoding(r, NULL), E_POINTER);
    CHECK_HR(DataReader_put_UnicodeEncoding(NULL, UnicodeEncoding_Utf8), E_POINTER);
    CHECK_HR(DataReader_get_ByteOrder(NULL, &b), E_POINTER);
    CHECK_HR(DataReader_get_ByteOrder(r, NULL), E_POINTER);
    CHECK_HR(DataReader_put_ByteOrder(NULL, ByteOrder_BigEndian), E_POINTER);
    CHECK_HR(DataReader_ReadByte(NULL, &u8), E_POINTER);
    CHECK_HR(DataReader_ReadBytes(NULL, 1, buf), E_POINTER);
    CHECK_HR(DataReader_ReadBoolean(NULL, &bl), E_POINTER);
    CHECK_HR(DataReader_ReadInt16(NULL, &i16), E_POINTER);
    CHECK_HR(DataReader_ReadUInt16(NULL, &u16), E_POINTER);
    CHECK_HR(DataReader_ReadInt32(NULL, &i32), E_POINTER);
    CHECK_HR(DataReader_ReadUInt32(NULL, &u32), E_POINTER);
    CHECK_HR(DataReader_ReadInt64(NULL, &i64), E_POINTER);
    CHECK_HR(DataReader_ReadUInt64(NULL, &u64), E_POINTER);
    CHECK_HR(DataReader_ReadSingle(NULL, &f), E_POINTER);
    CHECK_HR(DataReader_ReadDouble(NULL, &d), E_POINTER);
    CHECK_HR(DataReader_ReadString(NULL, 1, text, sizeof text, &needed), E_POINTER);
    CHECK_HR(DataReader_Close(NULL), E_POINTER);

    /* NULL outputs on a live reader: E_POINTER and nothing consumed. */
    before = tu_unconsumed(r);
    CHECK(before == 8);
    CHECK_HR(DataReader_ReadByte(r, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadBytes(r, 1, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadBoolean(r, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadInt16(r, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadUInt16(r, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadInt32(r, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadUInt32(r, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadInt64(r, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadUInt64(r, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadSingle(r, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadDouble(r, NULL), E_POINTER);
    CHECK_HR(DataReader_ReadString(r, 1, text, sizeof text, NULL), E_POINTER);
    CHECK(tu_unconsumed(r) == before);
    CHECK_OK(DataReader_ReadBytes(r, 0, NULL)); /* documented: NULL with length 0 */
    CHECK(tu_unconsumed(r) == before);
    CHECK_OK(DataReader_ReadByte(r, &u8));
    CHECK(u8 == 1); /* still at the start */
}

static void test_null_vector(void)
{
    IVectorString *v = o.protocols;
    uint32_t n = 0, needed = 0;
    char buf[32];
    CHECK_ZERO(IVectorString_AddRef(NULL));
    CHECK_ZERO(IVectorString_Release(NULL));
    CHECK_HR(IVectorString_get_Size(NULL, &n), E_POINTER);
    CHECK_HR(IVectorString_get_Size(v, NULL), E_POINTER);
    CHECK_HR(IVectorString_GetAt(NULL, 0, buf, sizeof buf, &needed), E_POINTER);
    CHECK_HR(IVectorString_GetAt(v, 0, buf, sizeof buf, NULL), E_POINTER);
    CHECK_HR(IVectorString_Append(NULL, "x"), E_POINTER);
    CHECK_HR(IVectorString_Append(v, NULL), E_POINTER);
    CHECK_HR(IVectorString_RemoveAt(NULL, 0), E_POINTER);
    CHECK_HR(IVectorString_Clear(NULL), E_POINTER);
    CHECK_OK(IVectorString_get_Size(v, &n));
    CHECK(n == 2);
}

/* ---- wrong enum values and out-of-range numbers ---------------------------------------- */

static void test_bad_enum_values(void)
{
    MessageWebSocketControl *c = NULL;
    SocketMessageType mt = (SocketMessageType)-5;
    MessageWebSocketReceiveMode rm = (MessageWebSocketReceiveMode)-5;
    UnicodeEncoding e = (UnicodeEncoding)-5;
    ByteOrder b = (ByteOrder)-5;
    uint32_t n = 0;

    CHECK_OK(MessageWebSocket_get_Control(o.fresh, &c));
    if (!c)
        return;
    CHECK_HR(MessageWebSocketControl_put_MessageType(c, 2), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_MessageType(c, -1), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_MessageType(c, INT32_MIN), E_INVALIDARG);
    CHECK_OK(MessageWebSocketControl_get_MessageType(c, &mt));
    CHECK(mt == SocketMessageType_Binary);

    CHECK_HR(MessageWebSocketControl_put_ReceiveMode(c, 7), E_INVALIDARG);
    CHECK(message_contains("7"));
    CHECK_HR(MessageWebSocketControl_put_ReceiveMode(c, -1), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_ReceiveMode(c, 2), E_INVALIDARG);
    CHECK_OK(MessageWebSocketControl_get_ReceiveMode(c, &rm));
    CHECK(rm == MessageWebSocketReceiveMode_FullMessage); /* refused values changed nothing */
    CHECK_OK(MessageWebSocketControl_put_ReceiveMode(c, MessageWebSocketReceiveMode_PartialMessage));
    CHECK_OK(MessageWebSocketControl_get_ReceiveMode(c, &rm));
    CHECK(rm == MessageWebSocketReceiveMode_PartialMessage);

    CHECK_HR(MessageWebSocketControl_put_MaxMessageSize(c, 0), E_INVALIDARG);
    CHECK_OK(MessageWebSocketControl_get_MaxMessageSize(c, &n));
    CHECK(n == 0xFFFFFFFFu);
    CHECK_HR(MessageWebSocketControl_put_OutboundBufferSizeInBytes(c, 0), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_OutboundBufferSizeInBytes(c, 0x80000000u), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_OutboundBufferSizeInBytes(c, 0xFFFFFFFFu), E_INVALIDARG);
    CHECK_OK(MessageWebSocketControl_put_OutboundBufferSizeInBytes(c, 0x7FFFFFFFu)); /* the max */
    CHECK_OK(MessageWebSocketControl_get_OutboundBufferSizeInBytes(c, &n));
    CHECK(n == 0x7FFFFFFFu);
    MessageWebSocketControl_Release(c);

    CHECK_HR(DataWriter_put_UnicodeEncoding(o.plain_writer, 3), E_INVALIDARG);
    CHECK_HR(DataWriter_put_UnicodeEncoding(o.plain_writer, -1), E_INVALIDARG);
    CHECK_OK(DataWriter_get_UnicodeEncoding(o.plain_writer, &e));
    CHECK(e == UnicodeEncoding_Utf8);
    CHECK_HR(DataWriter_put_ByteOrder(o.plain_writer, 2), E_INVALIDARG);
    CHECK_HR(DataWriter_put_ByteOrder(o.plain_writer, -1), E_INVALIDARG);
    CHECK_OK(DataWriter_get_ByteOrder(o.plain_writer, &b));
    CHECK(b == ByteOrder_BigEndian);

    CHECK_HR(DataReader_put_UnicodeEncoding(o.reader, 3), E_INVALIDARG);
    CHECK_HR(DataReader_put_UnicodeEncoding(o.reader, -1), E_INVALIDARG);
    CHECK_OK(DataReader_get_UnicodeEncoding(o.reader, &e));
    CHECK(e == UnicodeEncoding_Utf8);
    CHECK_HR(DataReader_put_ByteOrder(o.reader, 2), E_INVALIDARG);
    CHECK_HR(DataReader_put_ByteOrder(o.reader, INT32_MAX), E_INVALIDARG);
    CHECK_OK(DataReader_get_ByteOrder(o.reader, &b));
    CHECK(b == ByteOrder_BigEndian);
}

/* Strings that are not UTF-8 are refused, not mangled. */
static void test_invalid_utf8_strings(void)
{
    uint32_t before = unstored(o.plain_writer), n = 77, size = 0;
    CHECK_HR(DataWriter_WriteString(o.plain_writer, "ab\xff", &n), E_INVALIDARG);
    CHECK_HR(DataWriter_WriteString(o.plain_writer, "\xc3\x28", NULL), E_INVALIDARG);
    CHECK_HR(DataWriter_WriteString(o.plain_writer, "\xed\xa0\x80", NULL), E_INVALIDARG); /* CESU surrogate */
    CHECK_HR(DataWriter_MeasureString(o.plain_writer, "\xc0\xaf", &n), E_INVALIDARG); /* overlong */
    CHECK(unstored(o.plain_writer) == before);
    CHECK_HR(IVectorString_Append(o.protocols, "ch\xfft"), E_INVALIDARG);
    CHECK_HR(MessageWebSocket_SetRequestHeader(o.fresh, "X-Bad", "\xff\xfe"), E_INVALIDARG);
    CHECK_OK(IVectorString_get_Size(o.protocols, &size));
    CHECK(size == 2);
}

/* ---- handles of the wrong type, released, made up -------------------------------------- */

static void test_wrong_type_handles(void)
{
    MessageWebSocketControl *c = NULL;
    IInputStream *in = NULL;
    IAsyncAction *op = NULL;
    IAsyncOperationUInt32 *st = NULL;
    IAsyncOperationBoolean *fl = NULL;
    DataReader *r = NULL;
    DataWriter *w = NULL;
    SocketMessageType mt;
    AsyncStatus status;
    const char *s = NULL;
    uint16_t code;
    uint32_t n;
    uint8_t u8;
    bool b;

    CHECK_HR(MessageWebSocket_get_Control((MessageWebSocket *)(void *)o.writer, &c), E_INVALIDARG);
    CHECK(message_contains("not a live MessageWebSocket"));
    CHECK(c == NULL);
    CHECK_HR(MessageWebSocket_ConnectAsync((MessageWebSocket *)(void *)o.control, tu_url("/echo"), &op),
             E_INVALIDARG);
    CHECK(op == NULL);
    CHECK_HR(MessageWebSocket_Close((MessageWebSocket *)(void *)o.info), E_INVALIDARG);
    CHECK_HR(MessageWebSocket_Close((MessageWebSocket *)(void *)o.plain_writer), E_INVALIDARG);
    CHECK_HR(MessageWebSocket_SetRequestHeader((MessageWebSocket *)(void *)o.reader, "X-A", "1"),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_get_MessageType((MessageWebSocketControl *)(void *)o.fresh, &mt),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_MessageType((MessageWebSocketControl *)(void *)o.info, 0),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocketInformation_get_Protocol((MessageWebSocketInformation *)(void *)o.control, &s),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocketInformation_get_LocalAddress((MessageWebSocketInformation *)(void *)o.fresh,
                                                          &s),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocketMessageReceivedEventArgs_GetDataReader(
                 (MessageWebSocketMessageReceivedEventArgs *)(void *)o.closed_args, &r),
             E_INVALIDARG);
    CHECK(r == NULL);
    CHECK_HR(WebSocketClosedEventArgs_get_Code((WebSocketClosedEventArgs *)(void *)o.args, &code),
             E_INVALIDARG);
    CHECK_HR(IOutputStream_FlushAsync((IOutputStream *)(void *)o.writer, &fl), E_INVALIDARG);
    CHECK_HR(DataWriter_CreateDataWriter((IOutputStream *)(void *)o.ws, &w), E_INVALIDARG);
    CHECK_HR(DataWriter_CreateDataWriter((IOutputStream *)(void *)o.plain_writer, &w), E_INVALIDARG);
    CHECK(w == NULL);
    CHECK_HR(DataWriter_WriteByte((DataWriter *)(void *)o.reader, 1), E_INVALIDARG);
    CHECK(message_contains("DataWriter"));
    CHECK_HR(DataWriter_WriteByte((DataWriter *)(void *)o.fresh, 1), E_INVALIDARG);
    CHECK_HR(DataWriter_StoreAsync((DataWriter *)(void *)o.stream, &st), E_INVALIDARG);
    CHECK(st == NULL);
    CHECK_HR(DataReader_ReadByte((DataReader *)(void *)o.writer, &u8), E_INVALIDARG);
    CHECK_HR(DataReader_get_UnconsumedBufferLength((DataReader *)(void *)o.args, &n), E_INVALIDARG);
    CHECK_HR(IVectorString_Append((IVectorString *)(void *)o.control, "x"), E_INVALIDARG);
    CHECK_HR(IVectorString_get_Size((IVectorString *)(void *)o.fresh, &n), E_INVALIDARG);
    CHECK_HR(IAsyncAction_get_Status((IAsyncAction *)(void *)o.store_op, &status), E_INVALIDARG);
    CHECK_HR(IAsyncAction_get_Status((IAsyncAction *)(void *)o.fresh, &status), E_INVALIDARG);
    CHECK_HR(IAsyncOperationBoolean_get_Status((IAsyncOperationBoolean *)(void *)o.store_op, &status),
             E_INVALIDARG);
    CHECK_HR(IAsyncAction_Wait((IAsyncAction *)(void *)o.ws, 0), E_INVALIDARG);
    CHECK_HR(IAsyncOperationUInt32_get_Status((IAsyncOperationUInt32 *)(void *)o.flush_op, &status),
             E_INVALIDARG);
    CHECK_HR(IAsyncOperationUInt32_GetResults((IAsyncOperationUInt32 *)(void *)o.connect_op, &n),
             E_INVALIDARG);
    CHECK_HR(IAsyncOperationBoolean_GetResults((IAsyncOperationBoolean *)(void *)o.connect_op, &b),
             E_INVALIDARG);
    CHECK_HR(IAsyncOperationBoolean_Close((IAsyncOperationBoolean *)(void *)o.store_op), E_INVALIDARG);

    /* StreamWebSocket handles (a socket, its Control, Information and input stream) are no
     * MessageWebSocket handles, nor IBuffers. */
    CHECK_HR(MessageWebSocket_get_Control((MessageWebSocket *)(void *)o.stream_ws, &c), E_INVALIDARG);
    CHECK(c == NULL);
    CHECK_HR(MessageWebSocketControl_get_OutboundBufferSizeInBytes(
                 (MessageWebSocketControl *)(void *)o.stream_control, &n), E_INVALIDARG);
    CHECK_HR(MessageWebSocketInformation_get_Protocol((MessageWebSocketInformation *)(void *)o.stream_info,
                                                      &s),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocket_SendFinalFrameAsync(o.fresh, (IBuffer *)(void *)o.stream_in, &st),
             E_INVALIDARG);
    CHECK_HR(MessageWebSocket_SendNonfinalFrameAsync((MessageWebSocket *)(void *)o.stream_ws, o.buffer,
                                                     &st),
             E_INVALIDARG);
    CHECK(st == NULL);
    CHECK_HR(MessageWebSocketMessageReceivedEventArgs_GetDataStream(
                 (MessageWebSocketMessageReceivedEventArgs *)(void *)o.stream_in, &in), E_INVALIDARG);
    CHECK(in == NULL);

    /* AddRef/Release of the wrong type: 0, and the real object's count is untouched. */
    CHECK_ZERO(MessageWebSocket_AddRef((MessageWebSocket *)(void *)o.plain_writer));
    CHECK_ZERO(MessageWebSocket_Release((MessageWebSocket *)(void *)o.plain_writer));
    CHECK_ZERO(DataWriter_Release((DataWriter *)(void *)o.fresh));
    CHECK_ZERO(DataReader_Release((DataReader *)(void *)o.protocols));
    CHECK_ZERO(DataReader_Release((DataReader *)(void *)o.fresh));
    CHECK_ZERO(IVectorString_Release((IVectorString *)(void *)o.reader));
    CHECK_ZERO(IAsyncAction_Release((IAsyncAction *)(void *)o.flush_op));
    CHECK_ZERO(IAsyncOperationUInt32_Release((IAsyncOperationUInt32 *)(void *)o.connect_op));
    CHECK_ZERO(IAsyncOperationBoolean_Release((IAsyncOperationBoolean *)(void *)o.store_op));
    CHECK_ZERO(IOutputStream_Release((IOutputStream *)(void *)o.writer));
    CHECK_ZERO(MessageWebSocketControl_Release((MessageWebSocketControl *)(void *)o.info));
    CHECK_ZERO(MessageWebSocketInformation_Release((MessageWebSocketInformation *)(void *)o.control));
    CHECK_ZERO(MessageWebSocketMessageReceivedEventArgs_Release(
        (MessageWebSocketMessageReceivedEventArgs *)(void *)o.reader));
    CHECK_ZERO(WebSocketClosedEventArgs_Release((WebSocketClosedEventArgs *)(void *)o.args));
    CHECK_ZERO(MessageWebSocket_Release((MessageWebSocket *)(void *)o.stream_ws));
    CHECK(DataWriter_AddRef(o.plain_writer) == 2);
    CHECK(DataWriter_Release(o.plain_writer) == 1);
    CHECK(MessageWebSocket_AddRef(o.fresh) == 2);
    CHECK(MessageWebSocket_Release(o.fresh) == 1);
    CHECK(DataReader_AddRef(o.reader) == 2);
    CHECK(DataReader_Release(o.reader) == 1);
    CHECK(IVectorString_AddRef(o.protocols) == 2);
    CHECK(IVectorString_Release(o.protocols) == 1);
    CHECK(StreamWebSocket_AddRef(o.stream_ws) == 2);
    CHECK(StreamWebSocket_Release(o.stream_ws) == 1);
    CHECK(IAsyncOperationBoolean_AddRef(o.flush_op) >= 2); /* a Completed handler may hold one */
    CHECK(IAsyncOperationBoolean_Release(o.flush_op) >= 1);
    CHECK_OK(IAsyncOperationBoolean_GetResults(o.flush_op, &b));
    CHECK_OK(MessageWebSocketControl_get_MessageType(o.control, &mt));
}

static void test_released_handles(void)
{
    MessageWebSocket *ws = NULL, *ws2 = NULL;
    MessageWebSocketControl *c = NULL;
    MessageWebSocketInformation *info = NULL;
    IVectorString *v = NULL;
    IOutputStream *s = NULL;
    DataWriter *w = NULL, *w2 = NULL;
    DataReader *r = NULL;
    MessageWebSocketMessageReceivedEventArgs *a = NULL;
    IAsyncAction *op = NULL;
    IAsyncOperationUInt32 *st = NULL;
    IAsyncOperationBoolean *fl = NULL;
    SocketMessageType mt;
    AsyncStatus status;
    const char *text;
    uint32_t n;
    uint8_t u8;
    bool b;

    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_get_Control(ws, &c));
    CHECK_OK(MessageWebSocket_get_Information(ws, &info));
    CHECK_OK(MessageWebSocketControl_get_SupportedProtocols(c, &v));
    CHECK_OK(MessageWebSocket_get_OutputStream(ws, &s));
    CHECK_OK(DataWriter_Create(&w));
    CHECK_OK(MessageWebSocketMessageReceivedEventArgs_GetDataReader(o.args, &r));
    a = o.args;
    CHECK(MessageWebSocketMessageReceivedEventArgs_AddRef(a) == 2);
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op));
    CHECK_OK(IAsyncAction_Wait(op, WAIT_MS));
    st = NULL;
    {
        DataWriter *sw = tu_writer_for(o.ws);
        CHECK(sw != NULL);
        if (sw) {
            CHECK_OK(DataWriter_StoreAsync(sw, &st));
            CHECK_OK(DataWriter_FlushAsync(sw, &fl));
            if (st) IAsyncOperationUInt32_Wait(st, WAIT_MS, NULL);
            if (fl) IAsyncOperationBoolean_Wait(fl, WAIT_MS, NULL);
            tu_writer_done(sw);
        }
        /* its (empty) echo */
        {
            MessageWebSocketMessageReceivedEventArgs *echo = tu_inbox_next(&o.inbox, WAIT_MS);
            CHECK(echo != NULL);
            if (echo)
                MessageWebSocketMessageReceivedEventArgs_Release(echo);
        }
    }
    if (!(ws && c && info && v && s && w && r && op && st && fl))
        return;

    /* Release each to 0... */
    CHECK(IAsyncAction_Release(op) == 0);
    CHECK(IAsyncOperationUInt32_Release(st) == 0);
    CHECK(IAsyncOperationBoolean_Release(fl) == 0);
    CHECK(MessageWebSocketControl_Release(c) == 0);
    CHECK(MessageWebSocketInformation_Release(info) == 0);
    CHECK(IVectorString_Release(v) == 0);
    CHECK(IOutputStream_Release(s) == 0);
    CHECK(DataWriter_Release(w) == 0);
    CHECK(DataReader_Release(r) == 0);
    CHECK(MessageWebSocketMessageReceivedEventArgs_Release(a) == 1); /* o.args keeps one */
    CHECK(MessageWebSocket_Release(ws) == 0);

    /* ...then every use is refused. */
    CHECK_HR(MessageWebSocket_get_Control(ws, &c), E_INVALIDARG);
    CHECK(message_contains("not a live MessageWebSocket"));
    CHECK_HR(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op), E_INVALIDARG);
    CHECK_HR(MessageWebSocket_Close(ws), E_INVALIDARG);
    CHECK_ZERO(MessageWebSocket_AddRef(ws));
    CHECK_ZERO(MessageWebSocket_Release(ws));
    CHECK_HR(MessageWebSocketControl_get_MessageType(c, &mt), E_INVALIDARG);
    CHECK_HR(MessageWebSocketControl_put_MaxMessageSize(c, 10), E_INVALIDARG);
    CHECK_ZERO(MessageWebSocketControl_AddRef(c));
    CHECK_ZERO(MessageWebSocketControl_Release(c));
    CHECK_HR(MessageWebSocketInformation_get_LocalAddress(info, &text), E_INVALIDARG);
    CHECK_ZERO(MessageWebSocketInformation_AddRef(info));
    CHECK_ZERO(MessageWebSocketInformation_Release(info));
    CHECK_HR(IVectorString_Append(v, "x"), E_INVALIDARG);
    CHECK_HR(IVectorString_get_Size(v, &n), E_INVALIDARG);
    CHECK_ZERO(IVectorString_AddRef(v));
    CHECK_ZERO(IVectorString_Release(v));
    CHECK_HR(IOutputStream_FlushAsync(s, &fl), E_INVALIDARG);
    CHECK_HR(DataWriter_CreateDataWriter(s, &w2), E_INVALIDARG);
    CHECK(w2 == NULL);
    CHECK_ZERO(IOutputStream_AddRef(s));
    CHECK_ZERO(IOutputStream_Release(s));
    CHECK_HR(DataWriter_WriteByte(w, 1), E_INVALIDARG);
    CHECK_HR(DataWriter_get_UnstoredBufferLength(w, &n), E_INVALIDARG);
    CHECK_HR(DataWriter_Close(w), E_INVALIDARG);
    CHECK_ZERO(DataWriter_AddRef(w));
    CHECK_ZERO(DataWriter_Release(w));
    CHECK_HR(DataReader_ReadByte(r, &u8), E_INVALIDARG);
    CHECK_HR(DataReader_Close(r), E_INVALIDARG);
    CHECK_ZERO(DataReader_AddRef(r));
    CHECK_ZERO(DataReader_Release(r));
    CHECK_HR(IAsyncAction_get_Status(op, &status), E_INVALIDARG);
    CHECK_HR(IAsyncAction_Wait(op, 100), E_INVALIDARG);
    CHECK_ZERO(IAsyncAction_AddRef(op));
    CHECK_ZERO(IAsyncAction_Release(op));
    CHECK_HR(IAsyncOperationUInt32_GetResults(st, &n), E_INVALIDARG);
    CHECK_ZERO(IAsyncOperationUInt32_AddRef(st));
    CHECK_ZERO(IAsyncOperationUInt32_Release(st));
    CHECK_HR(IAsyncOperationBoolean_GetResults(fl, &b), E_INVALIDARG);
    CHECK_ZERO(IAsyncOperationBoolean_AddRef(fl));
    CHECK_ZERO(IAsyncOperationBoolean_Release(fl));

    /* A new object never gets a released handle's value back. */
    CHECK_OK(MessageWebSocket_Create(&ws2));
    CHECK_OK(DataWriter_Create(&w2));
    CHECK(ws2 != ws && (void *)w2 != (void *)w && (void *)w2 != (void *)ws);
    CHECK_HR(DataWriter_WriteByte(w, 1), E_INVALIDARG);
    CHECK_ZERO(MessageWebSocket_AddRef(ws));
    if (w2) DataWriter_Release(w2);
    if (ws2) MessageWebSocket_Release(ws2);

    /* Released args: from a handler's borrowed pointer kept too long. */
    {
        MessageWebSocketMessageReceivedEventArgs *gone = NULL;
        DataWriter *sw = tu_writer_for(o.ws);
        if (sw) {
            CHECK_OK(DataWriter_WriteByte(sw, 1));
            CHECK_OK(DataWriter_StoreAsync(sw, &st));
            if (st) {
                IAsyncOperationUInt32_Wait(st, WAIT_MS, NULL);
                IAsyncOperationUInt32_Release(st);
            }
            tu_writer_done(sw);
        }
        gone = tu_inbox_next(&o.inbox, WAIT_MS);
        CHECK(gone != NULL);
        tu_sleep_ms(100); /* let the handler return: rtws drops its borrowed reference then */
        if (gone) {
            CHECK(MessageWebSocketMessageReceivedEventArgs_Release(gone) == 0);
            CHECK_HR(MessageWebSocketMessageReceivedEventArgs_GetDataReader(gone, &r), E_INVALIDARG);
            CHECK_ZERO(MessageWebSocketMessageReceivedEventArgs_AddRef(gone));
        }
    }
}

static void test_made_up_handles(void)
{
    /* Values no handle has, aligned or not, and the address of real memory that is no
     * handle at all (rtws must not write through it). */
    uint64_t local[2] = {0, 0};
    void *const fakes[] = {(void *)0x1234, (void *)(uintptr_t)0xDEADBEE0u, (void *)(uintptr_t)-1,
                           (void *)(uintptr_t)-16, (void *)(uintptr_t)0x7fffdeadbee0ull,
                           (void *)(uintptr_t)0x7fffdeadbee3ull, (void *)local};
    size_t i;
    for (i = 0; i < sizeof fakes / sizeof fakes[0]; i++) {
        void *p = fakes[i];
        MessageWebSocketControl *c = NULL;
        IAsyncAction *op = NULL;
        SocketMessageType mt;
        AsyncStatus st;
        const char *s;
        uint16_t code;
        uint32_t n;
        uint8_t u8;
        bool b;
        DataWriter *w = NULL;
        IAsyncOperationBoolean *fl = NULL;
        CHECK_HR(MessageWebSocket_get_Control((MessageWebSocket *)p, &c), E_INVALIDARG);
        CHECK_HR(MessageWebSocket_ConnectAsync((MessageWebSocket *)p, tu_url("/echo"), &op), E_INVALIDARG);
        CHECK_HR(MessageWebSocket_Close((MessageWebSocket *)p), E_INVALIDARG);
        CHECK_ZERO(MessageWebSocket_AddRef((MessageWebSocket *)p));
        CHECK_ZERO(MessageWebSocket_Release((MessageWebSocket *)p));
        CHECK_HR(MessageWebSocketControl_get_MessageType((MessageWebSocketControl *)p, &mt), E_INVALIDARG);
        CHECK_HR(MessageWebSocketInformation_get_Protocol((MessageWebSocketInformation *)p, &s), E_INVALIDARG);
        CHECK_HR(MessageWebSocketMessageReceivedEventArgs_get_MessageType(
                     (MessageWebSocketMessageReceivedEventArgs *)p, &mt), E_INVALIDARG);
        CHECK_HR(WebSocketClosedEventArgs_get_Code((WebSocketClosedEventArgs *)p, &code), E_INVALIDARG);
        CHECK_HR(IOutputStream_FlushAsync((IOutputStream *)p, &fl), E_INVALIDARG);
        CHECK_HR(DataWriter_CreateDataWriter((IOutputStream *)p, &w), E_INVALIDARG);
        CHECK_HR(DataWriter_WriteByte((DataWriter *)p, 1), E_INVALIDARG);
        CHECK_ZERO(DataWriter_Release((DataWriter *)p));
        CHECK_HR(DataReader_ReadByte((DataReader *)p, &u8), E_INVALIDARG);
        CHECK_HR(IVectorString_get_Size((IVectorString *)p, &n), E_INVALIDARG);
        CHECK_HR(IAsyncAction_get_Status((IAsyncAction *)p, &st), E_INVALIDARG);
        CHECK_HR(IAsyncAction_Wait((IAsyncAction *)p, 0), E_INVALIDARG);
        CHECK_HR(IAsyncAction_Cancel((IAsyncAction *)p), E_INVALIDARG);
        CHECK_HR(IAsyncOperationUInt32_Cancel((IAsyncOperationUInt32 *)p), E_INVALIDARG);
        CHECK_HR(IAsyncOperationBoolean_GetResults((IAsyncOperationBoolean *)p, &b), E_INVALIDARG);
        CHECK(c == NULL && op == NULL && w == NULL && fl == NULL);
    }
    CHECK(local[0] == 0 && local[1] == 0); /* nothing written through a made-up handle */
    CHECK(rtws_GetLastErrorMessage()[0] != '\0');
}

/* A misaligned output pointer is refused (E_INVALIDARG), and nothing is written through it. */
static void test_misaligned_output(void)
{
    MessageWebSocketControl *c = NULL;
    uint64_t storage[2] = {0, 0};
    uint32_t *misaligned = (uint32_t *)(void *)((unsigned char *)storage + 1);
    CHECK_OK(MessageWebSocket_get_Control(o.fresh, &c));
    if (!c)
        return;
    CHECK_HR(MessageWebSocketControl_get_MaxMessageSize(c, misaligned), E_INVALIDARG);
    CHECK(storage[0] == 0 && storage[1] == 0);
    MessageWebSocketControl_Release(c);
}

/* ---- URIs ------------------------------------------------------------------------------ */

static void test_bad_uris(void)
{
    static const char *const bad[] = {
        "",
        "http://127.0.0.1/",
        "https://127.0.0.1/",
        "ftp://127.0.0.1/",
        "ws://",
        "relative/path",
        "/echo",
        "//127.0.0.1/echo",
        "ws://127.0.0.1/#frag",
        "ws://host/#frag",
        "ws://[::1",
        "ws://127.0.0.1:99999/",
        "ws://127.0.0.1:port/",
        "not a uri at all",
        "ws://127.0.0.1/\xff\xfe",
        "ws://\xc3\x28/",
        /* Malformed hosts: refused here, not handed to the resolver. */
        "ws://[not-ip]:80/",
        "ws://a b/",
        /* Userinfo is refused (the credential goes in Control.ServerCredential),
         * never dropped. */
        "ws://u:p@127.0.0.1/",
        "ws://@127.0.0.1/",
        /* What a lenient parser would rewrite without a word. */
        "ws://127.0.0.1/a\tb",
        "ws:127.0.0.1/",
    };
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL;
    char *garbage;
    size_t i;
    uint32_t seed = 12345;

    CHECK_OK(MessageWebSocket_Create(&ws));
    if (!ws)
        return;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        HRESULT hr = MessageWebSocket_ConnectAsync(ws, bad[i], &op);
        tu_checks++;
        if (hr != E_INVALIDARG || op != NULL) {
            tu_failures++;
            fprintf(stderr, "%s:%d: ConnectAsync(\"%s\") returned 0x%08X (op %p), expected E_INVALIDARG\n",
                    __FILE__, __LINE__, bad[i], (unsigned)hr, (void *)op);
            if (op) {
                IAsyncAction_Cancel(op);
                IAsyncAction_Wait(op, WAIT_MS);
                IAsyncAction_Release(op);
                op = NULL;
            }
        }
    }
    CHECK(rtws_GetLastErrorMessage()[0] != '\0');

    /* 10 KB of random bytes (mostly not UTF-8) and 10 KB of printable garbage. */
    garbage = malloc(10 * 1024 + 1);
    if (garbage) {
        for (i = 0; i < 10 * 1024; i++) {
            seed = seed * 1103515245u + 12345u;
            garbage[i] = (char)(1 + (seed >> 16) % 255);
        }
        garbage[10 * 1024] = '\0';
        CHECK_HR(MessageWebSocket_ConnectAsync(ws, garbage, &op), E_INVALIDARG);
        CHECK(op == NULL);
        for (i = 0; i < 10 * 1024; i++) {
            seed = seed * 1103515245u + 12345u;
            garbage[i] = (char)(' ' + (seed >> 16) % 95);
            if (garbage[i] == ':')
                garbage[i] = '%';
        }
        CHECK_HR(MessageWebSocket_ConnectAsync(ws, garbage, &op), E_INVALIDARG);
        CHECK(op == NULL);
        free(garbage);
    }

    /* The message of a refused userinfo names the way that works. */
    CHECK_HR(MessageWebSocket_ConnectAsync(ws, "ws://u:p@127.0.0.1/", &op), E_INVALIDARG);
    CHECK(op == NULL);
    CHECK(strstr(rtws_GetLastErrorMessage(), "ServerCredential") != NULL);

    /* A malformed proxy host is refused when it is set (and sets nothing: the
     * connect below goes direct). */
    {
        MessageWebSocketControl *c = NULL;
        CHECK_OK(MessageWebSocket_get_Control(ws, &c));
        if (c) {
            CHECK_HR(MessageWebSocketControl_put_ProxyUri(c, "http://a b:8080"), E_INVALIDARG);
            CHECK_HR(MessageWebSocketControl_put_ProxyUri(c, "http://[not-ip]:8080"), E_INVALIDARG);
            MessageWebSocketControl_Release(c);
        }
    }

    /* wss: is accepted as a scheme; the port is what is wrong here. */
    CHECK_HR(MessageWebSocket_ConnectAsync(ws, "wss://127.0.0.1:0/", &op), E_INVALIDARG);
    CHECK(op == NULL);

    /* None of the refused URIs left the socket connecting or frozen. */
    {
        MessageWebSocketControl *c = NULL;
        CHECK_OK(MessageWebSocket_get_Control(ws, &c));
        if (c) {
            CHECK_OK(MessageWebSocketControl_put_MaxMessageSize(c, 1 << 20));
            MessageWebSocketControl_Release(c);
        }
    }
    CHECK_OK(tu_connect(ws, "/echo"));
    MessageWebSocket_Release(ws);
}

/* ---- Close codes and reasons ------------------------------------------------------------- */

static void test_close_codes(void)
{
    static const uint16_t bad[] = {0, 1, 999, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1011, 1015,
                                   2999, 5000, 65535};
    static const uint16_t good[] = {1000, 3000, 4999};
    size_t i;
    MessageWebSocket *ws = NULL;
    tu_inbox in;

    /* On a connected socket: each bad code is refused and the socket stays open. */
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (!ws)
        return;
    CHECK_OK(tu_inbox_attach(&in, ws));
    CHECK_OK(tu_connect(ws, "/echo"));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INVALIDARG_CASE(MessageWebSocket_CloseWithStatus(ws, bad[i], NULL),
                              "CloseWithStatus(%u)", bad[i]);
    CHECK_HR(MessageWebSocket_CloseWithStatus(ws, 1005, ""), E_INVALIDARG);
    CHECK_OK(tu_send_text(ws, "still open"));
    {
        MessageWebSocketMessageReceivedEventArgs *a = tu_inbox_next(&in, WAIT_MS);
        CHECK(a != NULL);
        if (a)
            MessageWebSocketMessageReceivedEventArgs_Release(a);
    }
    CHECK(tu_signal_get(&in.closed) == 0);
    tu_inbox_detach(&in, ws);
    MessageWebSocket_Release(ws);

    /* Each good code is sent: the echo server answers with the same code. */
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        ws = NULL;
        CHECK_OK(MessageWebSocket_Create(&ws));
        if (!ws)
            continue;
        CHECK_OK(tu_inbox_attach(&in, ws));
        CHECK_OK(tu_connect(ws, "/echo"));
        CHECK_OK(MessageWebSocket_CloseWithStatus(ws, good[i], "done"));
        CHECK(tu_signal_wait(&in.closed, 1, WAIT_MS));
        CHECK(in.close_code == good[i]);
        CHECK_OK(MessageWebSocket_CloseWithStatus(ws, good[i], "again")); /* harmless */
        CHECK_OK(MessageWebSocket_Close(ws));
        tu_inbox_detach(&in, ws);
        MessageWebSocket_Release(ws);
    }
}

static void test_close_reasons(void)
{
    char reason[256];
    MessageWebSocket *ws = NULL;
    int i;

    /* ASCII: 124 bytes refused, 123 accepted. */
    CHECK_OK(MessageWebSocket_Create(&ws));
    memset(reason, 'r', 124);
    reason[124] = '\0';
    CHECK_HR(MessageWebSocket_CloseWithStatus(ws, 1000, reason), E_INVALIDARG);
    memset(reason, 'r', 255);
    reason[255] = '\0';
    CHECK_HR(MessageWebSocket_CloseWithStatus(ws, 1000, reason), E_INVALIDARG);
    CHECK_HR(MessageWebSocket_CloseWithStatus(ws, 1000, "bad \xff utf8"), E_INVALIDARG);
    CHECK_OK(tu_set_type(ws, SocketMessageType_Utf8)); /* still open */
    reason[123] = '\0';
    CHECK_OK(MessageWebSocket_CloseWithStatus(ws, 1000, reason));
    CHECK_HR(tu_set_type(ws, SocketMessageType_Binary), RO_E_CLOSED); /* really closed */
    MessageWebSocket_Release(ws);

    /* Two-byte characters count as two bytes: 62 × "é" = 124 bytes (62 chars) refused,
     * 61 × "é" + "a" = 123 bytes accepted. */
    CHECK_OK(MessageWebSocket_Create(&ws));
    reason[0] = '\0';
    for (i = 0; i < 62; i++)
        strcat(reason, "\xc3\xa9");
    CHECK(strlen(reason) == 124);
    CHECK_HR(MessageWebSocket_CloseWithStatus(ws, 3000, reason), E_INVALIDARG);
    CHECK_OK(tu_set_type(ws, SocketMessageType_Utf8));
    reason[122] = 'a';
    reason[123] = '\0';
    CHECK_OK(MessageWebSocket_CloseWithStatus(ws, 3000, reason));
    MessageWebSocket_Release(ws);

    /* NULL and empty reasons are fine. */
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_CloseWithStatus(ws, 4999, NULL));
    MessageWebSocket_Release(ws);
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_CloseWithStatus(ws, 1000, ""));
    MessageWebSocket_Release(ws);

    /* On a connected socket, the 123-byte reason reaches the server and comes back. */
    {
        tu_inbox in;
        CHECK_OK(MessageWebSocket_Create(&ws));
        CHECK_OK(tu_inbox_attach(&in, ws));
        CHECK_OK(tu_connect(ws, "/echo"));
        memset(reason, 'q', 124);
        reason[124] = '\0';
        CHECK_HR(MessageWebSocket_CloseWithStatus(ws, 4000, reason), E_INVALIDARG);
        reason[123] = '\0';
        CHECK_OK(MessageWebSocket_CloseWithStatus(ws, 4000, reason));
        CHECK(tu_signal_wait(&in.closed, 1, WAIT_MS));
        CHECK(in.close_code == 4000);
        tu_inbox_detach(&in, ws);
        MessageWebSocket_Release(ws);
    }
}

/* ---- wrong state --------------------------------------------------------------------------- */

static void test_connect_twice(void)
{
    MessageWebSocket *ws = NULL;
    IAsyncAction *op = NULL, *op2 = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    /* While connecting. */
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/nohandshake"), &op));
    CHECK_HR(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op2), E_ILLEGAL_METHOD_CALL);
    CHECK(op2 == NULL);
    CHECK_HR(MessageWebSocket_ConnectAsync(ws, tu_url("/nohandshake"), &op2), E_ILLEGAL_METHOD_CALL);
    if (op) {
        CHECK_OK(IAsyncAction_Cancel(op));
        CHECK_HR(IAsyncAction_Wait(op, WAIT_MS), RTWS_E_CANCELLED);
        IAsyncAction_Release(op);
        op = NULL;
    }
    /* Once connected. */
    CHECK_OK(tu_connect(ws, "/echo"));
    CHECK_HR(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op2), E_ILLEGAL_METHOD_CALL);
    CHECK(op2 == NULL);
    CHECK_HR(MessageWebSocket_ConnectAsync(ws, "ws://127.0.0.1:1/", &op2), E_ILLEGAL_METHOD_CALL);
    MessageWebSocket_Release(ws);
}

static void check_control_frozen(MessageWebSocket *ws)
{
    MessageWebSocketControl *c = NULL;
    IVectorString *v = NULL;
    uint32_t n = 0;
    SocketMessageType mt = SocketMessageType_Binary;
    MessageWebSocketReceiveMode rm;
    CHECK_OK(MessageWebSocket_get_Control(ws, &c));
    if (!c)
        return;
    CHECK_HR(MessageWebSocketControl_put_MaxMessageSize(c, 1000), E_ILLEGAL_METHOD_CALL);
    CHECK_OK(MessageWebSocketControl_get_MaxMessageSize(c, &n));
    CHECK(n == 0xFFFFFFFFu);
    CHECK_HR(MessageWebSocketControl_put_ReceiveMode(c, MessageWebSocketReceiveMode_FullMessage),
             E_ILLEGAL_METHOD_CALL);
    CHECK_OK(MessageWebSocketControl_get_ReceiveMode(c, &rm));
    CHECK(rm == MessageWebSocketReceiveMode_FullMessage);
    CHECK_HR(MessageWebSocketControl_put_OutboundBufferSizeInBytes(c, 8192), E_ILLEGAL_METHOD_CALL);
    CHECK_OK(MessageWebSocketControl_get_SupportedProtocols(c, &v));
    if (v) {
        CHECK_HR(IVectorString_Append(v, "other"), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IVectorString_Clear(v), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(IVectorString_RemoveAt(v, 0), E_ILLEGAL_METHOD_CALL);
        CHECK_OK(IVectorString_get_Size(v, &n));
        CHECK(n == 1);
        IVectorString_Release(v);
    }
    CHECK_HR(MessageWebSocket_SetRequestHeader(ws, "X-Late", "1"), E_ILLEGAL_METHOD_CALL);
    /* MessageType may change at any time. */
    CHECK_OK(MessageWebSocketControl_put_MessageType(c, SocketMessageType_Utf8));
    CHECK_OK(MessageWebSocketControl_get_MessageType(c, &mt));
    CHECK(mt == SocketMessageType_Utf8);
    CHECK_OK(MessageWebSocketControl_put_MessageType(c, SocketMessageType_Binary));
    MessageWebSocketControl_Release(c);
}

static void test_control_frozen_after_connect(void)
{
    MessageWebSocket *ws = NULL;
    MessageWebSocketControl *c = NULL;
    IVectorString *v = NULL;
    IAsyncAction *op = NULL;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_get_Control(ws, &c));
    if (!c)
        return;
    CHECK_OK(MessageWebSocketControl_get_SupportedProtocols(c, &v));
    if (v) {
        CHECK_OK(IVectorString_Append(v, "chat"));
        IVectorString_Release(v);
    }

    /* Frozen while the connect is pending... */
    CHECK_OK(MessageWebSocket_ConnectAsync(ws, tu_url("/nohandshake"), &op));
    check_control_frozen(ws);
    /* ...settable again once it is canceled... */
    if (op) {
        CHECK_OK(IAsyncAction_Cancel(op));
        CHECK_HR(IAsyncAction_Wait(op, WAIT_MS), RTWS_E_CANCELLED);
        IAsyncAction_Release(op);
    }
    CHECK_OK(MessageWebSocketControl_put_OutboundBufferSizeInBytes(c, 65536));
    CHECK_OK(MessageWebSocket_SetRequestHeader(ws, "X-Retry", "1"));
    /* ...and frozen for good once connected. */
    CHECK_OK(tu_connect(ws, "/echo"));
    check_control_frozen(ws);
    MessageWebSocketControl_Release(c);
    MessageWebSocket_Release(ws);
}

static void test_request_headers(void)
{
    static const char *const reserved[] = {
        "Host", "host", "HOST", "Upgrade", "Connection", "connection", "Sec-WebSocket-Key",
        "Sec-WebSocket-Protocol", "sec-websocket-protocol", "Sec-WebSocket-Version",
        "Sec-WebSocket-Extensions", "Sec-WebSocket-Accept",
    };
    static const char *const bad_names[] = {
        "a b", "", "a:b", "X-A\r\nEvil", "X-A\n", "(x)", "x\ty", "\xc3\xa9",
    };
    static const char *const bad_values[] = {"x\r\nEvil: 1", "x\n", "x\r", "\r\n"};
    MessageWebSocket *ws = NULL;
    tu_inbox in;
    size_t i;

    CHECK_OK(MessageWebSocket_Create(&ws));
    if (!ws)
        return;
    CHECK_OK(tu_inbox_attach(&in, ws));
    for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        CHECK_INVALIDARG_CASE(MessageWebSocket_SetRequestHeader(ws, reserved[i], "x"),
                              "SetRequestHeader(\"%s\")", reserved[i]);
    for (i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        CHECK_INVALIDARG_CASE(MessageWebSocket_SetRequestHeader(ws, bad_names[i], "x"),
                              "SetRequestHeader(name #%u)", (unsigned)i);
    for (i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
        CHECK_INVALIDARG_CASE(MessageWebSocket_SetRequestHeader(ws, "X-Value", bad_values[i]),
                              "SetRequestHeader(value #%u)", (unsigned)i);
    CHECK_OK(MessageWebSocket_SetRequestHeader(ws, "X-Test", "1"));
    CHECK_OK(MessageWebSocket_SetRequestHeader(ws, "Cookie", "a=b"));

    /* What reached the server: the accepted headers, none of the refused ones. */
    CHECK_OK(tu_connect(ws, "/headers"));
    {
        MessageWebSocketMessageReceivedEventArgs *a = tu_inbox_next(&in, WAIT_MS);
        DataReader *r = NULL;
        char text[4096];
        uint32_t n = 0, needed = 0;
        CHECK(a != NULL);
        if (a) {
            CHECK_OK(MessageWebSocketMessageReceivedEventArgs_GetDataReader(a, &r));
            if (r) {
                CHECK_OK(DataReader_get_UnconsumedBufferLength(r, &n));
                if (n < sizeof text) {
                    CHECK_OK(DataReader_ReadString(r, n, text, sizeof text, &needed));
                    CHECK(strstr(text, "x-test: 1") != NULL);
                    CHECK(strstr(text, "cookie: a=b") != NULL);
                    CHECK(strstr(text, "evil") == NULL && strstr(text, "Evil") == NULL);
                    CHECK(strstr(text, "x-value") == NULL);
                }
                DataReader_Release(r);
            }
            MessageWebSocketMessageReceivedEventArgs_Release(a);
        }
    }
    CHECK_HR(MessageWebSocket_SetRequestHeader(ws, "X-Late", "1"), E_ILLEGAL_METHOD_CALL);
    tu_inbox_detach(&in, ws);
    MessageWebSocket_Release(ws);
}

static void test_calls_on_closed_socket(void)
{
    MessageWebSocket *ws = NULL;
    MessageWebSocketControl *c = NULL;
    IOutputStream *s = NULL;
    DataWriter *w = NULL;
    IAsyncAction *op = NULL;
    IAsyncOperationUInt32 *st = NULL;
    IAsyncOperationBoolean *fl = NULL;

    /* Connected, then closed. */
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(tu_connect(ws, "/echo"));
    CHECK_OK(MessageWebSocket_get_Control(ws, &c));
    CHECK_OK(MessageWebSocket_get_OutputStream(ws, &s));
    CHECK_OK(MessageWebSocket_Close(ws));
    CHECK_OK(MessageWebSocket_Close(ws)); /* harmless */
    CHECK_HR(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op), RO_E_CLOSED);
    CHECK(op == NULL);
    if (s) {
        CHECK_OK(DataWriter_CreateDataWriter(s, &w));
        if (w) {
            CHECK_OK(DataWriter_WriteBytes(w, 2, (const uint8_t *)"hi"));
            CHECK_HR(DataWriter_StoreAsync(w, &st), RO_E_CLOSED);
            CHECK(st == NULL);
            CHECK_HR(DataWriter_FlushAsync(w, &fl), RO_E_CLOSED);
            tu_writer_done(w);
        }
        CHECK_HR(IOutputStream_FlushAsync(s, &fl), RO_E_CLOSED);
        CHECK(fl == NULL);
    }
    if (c)
        CHECK_HR(MessageWebSocketControl_put_MessageType(c, SocketMessageType_Utf8), RO_E_CLOSED);
    CHECK_HR(MessageWebSocket_SetRequestHeader(ws, "X-A", "1"), RO_E_CLOSED);
    if (c) MessageWebSocketControl_Release(c);
    if (s) IOutputStream_Release(s);
    MessageWebSocket_Release(ws);

    /* The socket from setup(), closed with a status after its Closed event. */
    CHECK_HR(MessageWebSocket_ConnectAsync(o.closed_ws, tu_url("/echo"), &op), RO_E_CLOSED);
    CHECK_HR(tu_set_type(o.closed_ws, SocketMessageType_Utf8), RO_E_CLOSED);
    w = tu_writer_for(o.closed_ws);
    if (w) {
        CHECK_HR(DataWriter_StoreAsync(w, &st), RO_E_CLOSED);
        tu_writer_done(w);
    }

    /* Never connected, then closed. */
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_Close(ws));
    CHECK_HR(MessageWebSocket_ConnectAsync(ws, tu_url("/echo"), &op), RO_E_CLOSED);
    CHECK_HR(tu_set_type(ws, SocketMessageType_Utf8), RO_E_CLOSED);
    CHECK_HR(MessageWebSocket_SetRequestHeader(ws, "X-A", "1"), RO_E_CLOSED);
    CHECK_OK(MessageWebSocket_get_Control(ws, &c));
    if (c) {
        CHECK_HR(MessageWebSocketControl_put_MaxMessageSize(c, 100), RO_E_CLOSED);
        CHECK_HR(MessageWebSocketControl_put_OutboundBufferSizeInBytes(c, 100), RO_E_CLOSED);
        MessageWebSocketControl_Release(c);
    }
    MessageWebSocket_Release(ws);
}

static void test_store_without_connection(void)
{
    MessageWebSocket *ws = NULL;
    DataWriter *w = NULL;
    IOutputStream *s = NULL;
    IAsyncOperationUInt32 *st = NULL;
    IAsyncOperationBoolean *fl = NULL;
    tu_inbox in;
    uint32_t n = 0;

    /* A writer over a socket that is not connected yet. */
    CHECK_OK(MessageWebSocket_Create(&ws));
    if (!ws)
        return;
    CHECK_OK(tu_inbox_attach(&in, ws));
    w = tu_writer_for(ws);
    CHECK(w != NULL);
    if (w) {
        CHECK_OK(DataWriter_WriteBytes(w, 5, (const uint8_t *)"early"));
        CHECK_HR(DataWriter_StoreAsync(w, &st), E_ILLEGAL_METHOD_CALL);
        CHECK(st == NULL);
        CHECK_HR(DataWriter_FlushAsync(w, &fl), E_ILLEGAL_METHOD_CALL);
        CHECK(fl == NULL);
        /* A refused store loses nothing: the bytes go out once connected. */
        CHECK(unstored(w) == 5);
        CHECK_OK(tu_connect(ws, "/echo"));
        CHECK_OK(DataWriter_StoreAsync(w, &st));
        if (st) {
            CHECK_OK(IAsyncOperationUInt32_Wait(st, WAIT_MS, &n));
            CHECK(n == 5);
            IAsyncOperationUInt32_Release(st);
            st = NULL;
        }
        tu_writer_done(w);
    }
    tu_inbox_detach(&in, ws);
    MessageWebSocket_Release(ws);

    /* DataWriter() has no stream. */
    w = NULL;
    CHECK_OK(DataWriter_Create(&w));
    if (w) {
        CHECK_OK(DataWriter_WriteUInt32(w, 42));
        CHECK_HR(DataWriter_StoreAsync(w, &st), E_ILLEGAL_METHOD_CALL);
        CHECK(st == NULL);
        CHECK_HR(DataWriter_FlushAsync(w, &fl), E_ILLEGAL_METHOD_CALL);
        CHECK_HR(DataWriter_DetachStream(w, &s), E_ILLEGAL_METHOD_CALL);
        CHECK(unstored(w) == 4);
        CHECK(DataWriter_Release(w) == 0);
    }
}

/* ---- caller buffers and indexes ---------------------------------------------------------------- */

static void test_read_string_buffer_too_small(void)
{
    DataWriter *w = tu_writer_for(o.ws);
    DataReader *r;
    char text[16];
    uint32_t needed = 0;
    if (!w)
        return;
    CHECK_OK(DataWriter_WriteString(w, KOSME, NULL)); /* 11 bytes */
    CHECK_OK(DataWriter_put_UnicodeEncoding(w, UnicodeEncoding_Utf16LE));
    CHECK_OK(DataWriter_WriteString(w, KOSME, NULL)); /* 10 bytes */
    CHECK_OK(tu_set_type(o.ws, SocketMessageType_Binary));
    {
        IAsyncOperationUInt32 *st = NULL;
        CHECK_OK(DataWriter_StoreAsync(w, &st));
        if (st) {
            CHECK_OK(IAsyncOperationUInt32_Wait(st, WAIT_MS, NULL));
            IAsyncOperationUInt32_Release(st);
        }
    }
    tu_writer_done(w);
    r = tu_inbox_next_reader(&o.inbox, WAIT_MS);
    CHECK(r != NULL);
    if (!r)
        return;
    /* UTF-8: 11 bytes need 12 with the NUL. */
    memset(text, 'Z', sizeof text);
    CHECK_HR(DataReader_ReadString(r, 11, text, 11, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 12);
    CHECK(text[0] == 'Z' || text[0] == '\0'); /* no partial text handed out as a result */
    CHECK(tu_unconsumed(r) == 21);
    needed = 0;
    CHECK_HR(DataReader_ReadString(r, 11, NULL, 0, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 12);
    needed = 0;
    CHECK_HR(DataReader_ReadString(r, 11, NULL, 100, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 12);
    CHECK_HR(DataReader_ReadString(r, 11, text, 0, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(tu_unconsumed(r) == 21);
    CHECK_OK(DataReader_ReadString(r, 11, text, 12, &needed));
    CHECK(needed == 12 && strcmp(text, KOSME) == 0);
    CHECK(tu_unconsumed(r) == 10);
    /* UTF-16: 5 code units decode to 11 UTF-8 bytes: 12 needed, not 5 or 6. */
    CHECK_OK(DataReader_put_UnicodeEncoding(r, UnicodeEncoding_Utf16LE));
    CHECK_HR(DataReader_ReadString(r, 5, text, 6, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 12);
    CHECK_HR(DataReader_ReadString(r, 5, text, 11, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(tu_unconsumed(r) == 10);
    CHECK_OK(DataReader_ReadString(r, 5, text, 12, &needed));
    CHECK(strcmp(text, KOSME) == 0);
    CHECK(tu_unconsumed(r) == 0);
    DataReader_Release(r);
}

static void test_vector_bounds_and_buffers(void)
{
    IVectorString *v = NULL;
    MessageWebSocket *ws = NULL;
    MessageWebSocketControl *c = NULL;
    char buf[32];
    uint32_t needed = 0, n = 0;
    CHECK_OK(MessageWebSocket_Create(&ws));
    CHECK_OK(MessageWebSocket_get_Control(ws, &c));
    if (!c)
        return;
    CHECK_OK(MessageWebSocketControl_get_SupportedProtocols(c, &v));
    if (!v)
        return;
    CHECK_OK(IVectorString_get_Size(v, &n));
    CHECK(n == 0);
    CHECK_HR(IVectorString_GetAt(v, 0, buf, sizeof buf, &needed), E_BOUNDS);
    CHECK_HR(IVectorString_RemoveAt(v, 0), E_BOUNDS);
    CHECK_OK(IVectorString_Append(v, "chat"));
    CHECK_OK(IVectorString_Append(v, "v2.proto"));
    CHECK_HR(IVectorString_GetAt(v, 2, buf, sizeof buf, &needed), E_BOUNDS);
    CHECK_HR(IVectorString_GetAt(v, 0xFFFFFFFFu, buf, sizeof buf, &needed), E_BOUNDS);
    CHECK_HR(IVectorString_RemoveAt(v, 2), E_BOUNDS);
    CHECK_HR(IVectorString_RemoveAt(v, 0xFFFFFFFFu), E_BOUNDS);
    /* Short buffers: the size needed, including the NUL. */
    CHECK_HR(IVectorString_GetAt(v, 1, buf, 8, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 9);
    needed = 0;
    CHECK_HR(IVectorString_GetAt(v, 1, NULL, 0, &needed), E_NOT_SUFFICIENT_BUFFER);
    CHECK(needed == 9);
    CHECK_OK(IVectorString_GetAt(v, 1, buf, 9, &needed));
    CHECK(strcmp(buf, "v2.proto") == 0);
    /* Bad subprotocol names. */
    CHECK_HR(IVectorString_Append(v, ""), E_INVALIDARG);
    CHECK_HR(IVectorString_Append(v, "a b"), E_INVALIDARG);
    CHECK_HR(IVectorString_Append(v, "a,b"), E_INVALIDARG);
    CHECK_HR(IVectorString_Append(v, "a\r\nb"), E_INVALIDARG);
    CHECK_OK(IVectorString_get_Size(v, &n));
    CHECK(n == 2);
    CHECK_OK(IVectorString_RemoveAt(v, 0));
    CHECK_OK(IVectorString_GetAt(v, 0, buf, sizeof buf, &needed));
    CHECK(strcmp(buf, "v2.proto") == 0);
    CHECK_OK(IVectorString_Clear(v));
    CHECK_OK(IVectorString_get_Size(v, &n));
    CHECK(n == 0);
    IVectorString_Release(v);
    MessageWebSocketControl_Release(c);
    MessageWebSocket_Release(ws);
}

/* ---- the last error message -------------------------------------------------------------------- */

/* Fails on a thread of its own; `arg` (an int) is set when the thread had no last error
 * message before (an empty one). */
static void *fail_on_other_thread(void *arg)
{
    *(int *)arg = rtws_GetLastErrorMessage()[0] == '\0';
    DataWriter_WriteByte((DataWriter *)0x1234, 1);
    return NULL;
}

static void test_last_error_message(void)
{
    char copy[512];
    const char *m;
    uint32_t n = 0;
    pthread_t t;
    int fresh_was_empty = 0;

    CHECK_HR(DataWriter_get_UnstoredBufferLength(o.plain_writer, NULL), E_POINTER);
    m = rtws_GetLastErrorMessage();
    CHECK(m != NULL && m[0] != '\0');
    CHECK(message_contains("NULL"));
    snprintf(copy, sizeof copy, "%s", rtws_GetLastErrorMessage());

    /* Successful calls leave it unchanged. */
    CHECK_OK(DataWriter_get_UnstoredBufferLength(o.plain_writer, &n));
    CHECK(strcmp(rtws_GetLastErrorMessage(), copy) == 0);

    /* It is per thread: another thread's failure does not replace it. */
    CHECK(pthread_create(&t, NULL, fail_on_other_thread, &fresh_was_empty) == 0);
    pthread_join(t, NULL);
    CHECK(strcmp(rtws_GetLastErrorMessage(), copy) == 0);
    CHECK(fresh_was_empty); /* a new thread starts with no message */

    /* A different failure gives a different, sensible message. */
    CHECK_HR(DataWriter_put_ByteOrder(o.plain_writer, 2), E_INVALIDARG);
    CHECK(message_contains("2"));
    CHECK(strcmp(rtws_GetLastErrorMessage(), copy) != 0);
    CHECK_HR(DataReader_ReadBytes(o.reader, 1000, (uint8_t *)copy), E_BOUNDS);
    CHECK(rtws_GetLastErrorMessage()[0] != '\0');
    CHECK_HR(DataWriter_WriteByte((DataWriter *)0x1234, 1), E_INVALIDARG);
    CHECK(message_contains("1234"));
    CHECK(message_contains("DataWriter")); /* it names the class and the handle */
}

/* Calls on a DataWriter while another thread makes its last Release: each call
 * sees the writer whole or not at all (S_OK or E_INVALIDARG, never freed memory:
 * the asan and valgrind runs check that), and every call after the Release is
 * refused. Reads and writes borrow the object under the handle's lock instead of
 * taking a reference: the Release must wait for a copy in progress. Writes of
 * 1 MiB make that copy long enough for the Release to land in it. */
#define RACE_CHUNK (1u << 20)

struct race {
    DataWriter *w;
    const uint8_t *chunk;
    atomic_int started;
    long ok, refused, other;
    int refused_at; /* the call the refusal came at */
};

static void *call_until_refused(void *arg)
{
    struct race *r = arg;
    uint32_t n = 0;
    double deadline = tu_now_ms() + 3000.0;
    atomic_store(&r->started, 1);
    /* Up to 32 MiB written, then lookups only, until the refusal: at most 3 s
     * (under valgrind, one thread runs at a time and the other waits its turn). */
    for (long i = 0; i < 50000000L && ((i & 1023) || tu_now_ms() < deadline); i++) {
        HRESULT hr = (i & 1) && i < 64 ? DataWriter_WriteBytes(r->w, RACE_CHUNK, r->chunk)
                                       : DataWriter_get_UnstoredBufferLength(r->w, &n);
        if (hr == S_OK) {
            r->ok++;
        } else if (hr == E_INVALIDARG) {
            r->refused++;
            r->refused_at = (int)i;
            break;
        } else {
            r->other++;
            break;
        }
    }
    return NULL;
}

static void test_release_races_borrowed_calls(void)
{
    /* Valgrind runs one thread at a time and lets the caller's loop run out its
     * time before the Release: there only the memory checks count, once. */
    const char *preload = getenv("LD_PRELOAD");
    int valgrind = preload && strstr(preload, "vgpreload");
    int refused_in_writes = 0;
    uint8_t *chunk = calloc(1, RACE_CHUNK);
    CHECK(chunk != NULL);
    for (int round = 0; round < (valgrind ? 1 : 10) && chunk; round++) {
        struct race r = {.chunk = chunk};
        pthread_t t;
        uint32_t n = 0;
        CHECK_OK(DataWriter_Create(&r.w));
        CHECK(pthread_create(&t, NULL, call_until_refused, &r) == 0);
        while (!atomic_load(&r.started))
            sched_yield();
        tu_sleep_ms(round % 3);
        CHECK(DataWriter_Release(r.w) == 0);
        CHECK_HR(DataWriter_get_UnstoredBufferLength(r.w, &n), E_INVALIDARG);
        pthread_join(t, NULL);
        CHECK(r.other == 0);
        CHECK(valgrind || r.refused == 1); /* natively the Release comes within 3 s */
        refused_in_writes += r.refused && r.refused_at < 64;
    }
    /* The race did happen: a Release landed while the 1 MiB writes went on. */
    CHECK(valgrind || refused_in_writes > 0);
    free(chunk);
}

static const tu_test tests[] = {
    TU_TEST(test_null_async_action),
    TU_TEST(test_null_async_uint32),
    TU_TEST(test_null_async_boolean),
    TU_TEST(test_null_message_websocket),
    TU_TEST(test_null_control),
    TU_TEST(test_null_information),
    TU_TEST(test_null_event_args),
    TU_TEST(test_null_output_stream),
    TU_TEST(test_null_data_writer),
    TU_TEST(test_null_data_reader),
    TU_TEST(test_null_vector),
    TU_TEST(test_bad_enum_values),
    TU_TEST(test_invalid_utf8_strings),
    TU_TEST(test_wrong_type_handles),
    TU_TEST(test_released_handles),
    TU_TEST(test_release_races_borrowed_calls),
    TU_TEST(test_made_up_handles),
    TU_TEST(test_misaligned_output),
    TU_TEST(test_bad_uris),
    TU_TEST(test_close_codes),
    TU_TEST(test_close_reasons),
    TU_TEST(test_connect_twice),
    TU_TEST(test_control_frozen_after_connect),
    TU_TEST(test_request_headers),
    TU_TEST(test_calls_on_closed_socket),
    TU_TEST(test_store_without_connection),
    TU_TEST(test_read_string_buffer_too_small),
    TU_TEST(test_vector_bounds_and_buffers),
    TU_TEST(test_last_error_message),
    TU_END,
};

int main(int argc, char **argv)
{
    tu_init(argc, argv);
    if (!setup()) {
        fprintf(stderr, "setup failed: %s\n", rtws_GetLastErrorMessage());
        tu_failures++;
        teardown();
        return tu_finish();
    }
    tu_run(tests, argc - 2, argv + 2);
    teardown();
    return tu_finish();
}
