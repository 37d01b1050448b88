// The C++ twin of consumer.c: a C++ program that uses an installed rtws through its C
// header (tests/consumer/README.md). Same checks: header and library versions agree, a
// text message comes back from an echo server, the socket closes.
//
// Usage: consumer_cpp ws://127.0.0.1:PORT/echo      exit status 0 when the echo came back
#include <rtws.h>

#include <cstdio>
#include <memory>
#include <string>

static_assert(RTWS_VERSION >= RTWS_MAKE_VERSION(0, 1, 0), "this program needs rtws 0.1.0+");

namespace {

// Owning handles: Release on scope exit.
struct SocketRelease {
    void operator()(MessageWebSocket *ws) const { MessageWebSocket_Release(ws); }
};
struct QueueRelease {
    void operator()(DispatcherQueue *queue) const { DispatcherQueue_Release(queue); }
};
using Socket = std::unique_ptr<MessageWebSocket, SocketRelease>;
using Queue = std::unique_ptr<DispatcherQueue, QueueRelease>;

const std::string kMessage = "hello from a C++ consumer";

struct State {
    std::string echo;
    bool received = false;
    bool closed = false;
};

bool check(HRESULT hr, const char *what)
{
    if (RTWS_FAILED(hr))
        std::fprintf(stderr, "consumer_cpp: %s failed: 0x%08X: %s\n", what,
                     static_cast<unsigned>(hr), rtws_GetLastErrorMessage());
    return RTWS_SUCCEEDED(hr);
}

// Runs the queue's handlers until `flag` is set or about 10 s have passed.
bool run_until(DispatcherQueue *queue, const bool &flag)
{
    for (int i = 0; i < 100 && !flag; i++) {
        bool pending = false;
        uint32_t ran = 0;
        DispatcherQueue_Wait(queue, 100, &pending);
        if (pending)
            DispatcherQueue_RunPending(queue, RTWS_INFINITE, RTWS_INFINITE, &ran);
    }
    return flag;
}

bool send_text(MessageWebSocket *ws, const std::string &text)
{
    IOutputStream *stream = nullptr;
    if (!check(MessageWebSocket_get_OutputStream(ws, &stream), "get_OutputStream"))
        return false;
    DataWriter *writer = nullptr;
    HRESULT hr = DataWriter_CreateDataWriter(stream, &writer);
    IOutputStream_Release(stream);
    if (!check(hr, "CreateDataWriter"))
        return false;
    IAsyncOperationUInt32 *store = nullptr;
    hr = DataWriter_WriteString(writer, text.c_str(), nullptr);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(writer, &store);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncOperationUInt32_Wait(store, 10000, nullptr);
        IAsyncOperationUInt32_Release(store);
    }
    IOutputStream *detached = nullptr;
    if (RTWS_SUCCEEDED(DataWriter_DetachStream(writer, &detached)))
        IOutputStream_Release(detached);
    DataWriter_Release(writer);
    return check(hr, "StoreAsync");
}

int run(const char *url)
{
    State state;
    DispatcherQueue *raw_queue = nullptr;
    MessageWebSocket *raw_ws = nullptr;
    if (!check(DispatcherQueue_Create(&raw_queue), "DispatcherQueue_Create"))
        return 1;
    Queue queue(raw_queue);
    if (!check(MessageWebSocket_Create(&raw_ws), "MessageWebSocket_Create"))
        return 1;
    Socket ws(raw_ws);
    MessageWebSocket_put_DispatcherQueue(ws.get(), queue.get());
    MessageWebSocketControl *control = nullptr;
    MessageWebSocket_get_Control(ws.get(), &control);
    MessageWebSocketControl_put_MessageType(control, SocketMessageType_Utf8);
    MessageWebSocketControl_Release(control);

    // Captureless lambdas convert to the C handler types.
    EventRegistrationToken token;
    MessageWebSocket_add_MessageReceived(
        ws.get(),
        [](void *context, MessageWebSocket *, MessageWebSocketMessageReceivedEventArgs *args) {
            auto &state = *static_cast<State *>(context);
            DataReader *reader = nullptr;
            if (RTWS_FAILED(MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &reader)))
                return;
            uint32_t length = 0, needed = 0;
            DataReader_get_UnconsumedBufferLength(reader, &length);
            std::string text(length + 1, '\0');
            if (RTWS_SUCCEEDED(DataReader_ReadString(reader, length, &text[0],
                                                     length + 1, &needed))) {
                text.resize(length);
                state.echo = text;
                state.received = true;
            }
            DataReader_Release(reader);
        },
        &state, &token);
    MessageWebSocket_add_Closed(
        ws.get(),
        [](void *context, MessageWebSocket *, WebSocketClosedEventArgs *) {
            static_cast<State *>(context)->closed = true;
        },
        &state, &token);

    IAsyncAction *connect = nullptr;
    HRESULT hr = MessageWebSocket_ConnectAsync(ws.get(), url, &connect);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncAction_Wait(connect, 10000);
        IAsyncAction_Release(connect);
    }
    if (!check(hr, "ConnectAsync") || !send_text(ws.get(), kMessage))
        return 1;
    if (!run_until(queue.get(), state.received)) {
        std::fprintf(stderr, "consumer_cpp: no echo within 10 s\n");
        return 1;
    }
    if (state.echo != kMessage) {
        std::fprintf(stderr, "consumer_cpp: wrong echo \"%s\"\n", state.echo.c_str());
        return 1;
    }
    if (!check(MessageWebSocket_CloseWithStatus(ws.get(), 1000, "done"), "Close"))
        return 1;
    if (!run_until(queue.get(), state.closed)) {
        std::fprintf(stderr, "consumer_cpp: no Closed within 10 s\n");
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s ws://host:port/echo\n", argv[0]);
        return 2;
    }
    const uint32_t version = rtws_GetVersion();
    std::printf("consumer (C++): header rtws %s, library %u.%u.%u\n", RTWS_VERSION_STRING,
                version / 1000000, version / 1000 % 1000, version % 1000);
    if (version != RTWS_VERSION) {
        std::fprintf(stderr, "consumer_cpp: the library is not the header's version\n");
        return 1;
    }
    const int status = run(argv[1]);  // every handle released here
    rtws_Shutdown(5000);
    if (status == 0)
        std::printf("consumer (C++): echo received, closed\n");
    return status;
}
