/*
 * A program that uses an installed rtws, as any C project would (tests/consumer/README.md).
 * It checks that the header and the library it runs with are the same version, then
 * connects to an echo server, sends a text message, waits for the echo and closes.
 *
 * Its handlers run on the main thread: the socket is bound to a DispatcherQueue that
 * main() runs, so no threads or locks are needed here.
 *
 * Usage: consumer ws://127.0.0.1:PORT/echo      exit status 0 when the echo came back
 */
#include <rtws.h>

#include <stdio.h>
#include <string.h>

#if RTWS_VERSION < RTWS_MAKE_VERSION(0, 1, 0)
#error "this program needs rtws 0.1.0 or newer"
#endif

static const char MESSAGE[] = "hello from a C consumer";

struct state {
    char echo[64];
    int received;
    int closed;
};

static void on_message(void *context, MessageWebSocket *sender,
                       MessageWebSocketMessageReceivedEventArgs *args)
{
    struct state *state = context;
    DataReader *reader = NULL;
    uint32_t length = 0, needed = 0;
    (void)sender;
    if (RTWS_SUCCEEDED(MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &reader))) {
        DataReader_get_UnconsumedBufferLength(reader, &length);
        if (length < sizeof state->echo &&
            RTWS_SUCCEEDED(DataReader_ReadString(reader, length, state->echo,
                                                 sizeof state->echo, &needed)))
            state->received = 1;
        DataReader_Release(reader);
    }
}

static void on_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    (void)sender;
    (void)args;
    ((struct state *)context)->closed = 1;
}

static int fail(const char *what, HRESULT hr)
{
    fprintf(stderr, "consumer: %s failed: 0x%08X: %s\n", what, (unsigned)hr,
            rtws_GetLastErrorMessage());
    return 1;
}

/* Runs the queue's handlers until *flag is set or about 10 s have passed. */
static int run_until(DispatcherQueue *queue, const int *flag)
{
    for (int i = 0; i < 100 && !*flag; i++) {
        bool pending = false;
        uint32_t ran = 0;
        DispatcherQueue_Wait(queue, 100, &pending);
        if (pending)
            DispatcherQueue_RunPending(queue, RTWS_INFINITE, RTWS_INFINITE, &ran);
    }
    return *flag;
}

static int send_text(MessageWebSocket *ws, const char *text)
{
    IOutputStream *stream = NULL;
    DataWriter *writer = NULL;
    IAsyncOperationUInt32 *store = NULL;
    IOutputStream *detached = NULL;
    HRESULT hr = MessageWebSocket_get_OutputStream(ws, &stream);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_CreateDataWriter(stream, &writer);
    if (stream)
        IOutputStream_Release(stream);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_WriteString(writer, text, NULL);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(writer, &store);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncOperationUInt32_Wait(store, 10000, NULL);
        IAsyncOperationUInt32_Release(store);
    }
    if (writer) {
        if (RTWS_SUCCEEDED(DataWriter_DetachStream(writer, &detached)))
            IOutputStream_Release(detached);
        DataWriter_Release(writer);
    }
    return RTWS_SUCCEEDED(hr) ? 0 : fail("StoreAsync", hr);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s ws://host:port/echo\n", argv[0]);
        return 2;
    }
    uint32_t version = rtws_GetVersion();
    printf("consumer (C): header rtws %s, library %u.%u.%u\n", RTWS_VERSION_STRING,
           (unsigned)(version / 1000000), (unsigned)(version / 1000 % 1000),
           (unsigned)(version % 1000));
    if (version != RTWS_VERSION) {
        fprintf(stderr, "consumer: the library is not the header's version\n");
        return 1;
    }

    struct state state = {{0}, 0, 0};
    DispatcherQueue *queue = NULL;
    MessageWebSocket *ws = NULL;
    MessageWebSocketControl *control = NULL;
    IAsyncAction *connect = NULL;
    EventRegistrationToken token;
    int status = 1;
    HRESULT hr = DispatcherQueue_Create(&queue);
    if (RTWS_FAILED(hr))
        return fail("DispatcherQueue_Create", hr);
    hr = MessageWebSocket_Create(&ws);
    if (RTWS_FAILED(hr))
        return fail("MessageWebSocket_Create", hr);
    MessageWebSocket_put_DispatcherQueue(ws, queue);
    MessageWebSocket_get_Control(ws, &control);
    MessageWebSocketControl_put_MessageType(control, SocketMessageType_Utf8);
    MessageWebSocketControl_Release(control);
    MessageWebSocket_add_MessageReceived(ws, on_message, &state, &token);
    MessageWebSocket_add_Closed(ws, on_closed, &state, &token);

    hr = MessageWebSocket_ConnectAsync(ws, argv[1], &connect);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncAction_Wait(connect, 10000);
        IAsyncAction_Release(connect);
    }
    if (RTWS_FAILED(hr)) {
        fail("ConnectAsync", hr);
    } else if (send_text(ws, MESSAGE) == 0) {
        if (!run_until(queue, &state.received))
            fprintf(stderr, "consumer: no echo within 10 s\n");
        else if (strcmp(state.echo, MESSAGE) != 0)
            fprintf(stderr, "consumer: wrong echo \"%s\"\n", state.echo);
        else if (RTWS_FAILED(hr = MessageWebSocket_CloseWithStatus(ws, 1000, "done")))
            fail("Close", hr);
        else if (!run_until(queue, &state.closed))
            fprintf(stderr, "consumer: no Closed within 10 s\n");
        else
            status = 0;
    }
    MessageWebSocket_Release(ws);
    DispatcherQueue_Release(queue);
    rtws_Shutdown(5000);
    if (status == 0)
        printf("consumer (C): echo received, closed\n");
    return status;
}
