/*
 * The seed's StreamWebSocket sample (docs "Use StreamWebSocket to connect"), in C.
 *
 * Subscribes to Closed, connects, then does the sample's two parts: the receive
 * part (a DataReader over the InputStream, InputStreamOptions Partial, LoadAsync(256),
 * read UnconsumedBufferLength bytes) and the send part (a DataWriter over the
 * OutputStream, WriteBytes of 0x00..0x09, StoreAsync, DetachStream). The sample runs
 * them concurrently (Task.Run); here the LoadAsync is started first (it is
 * asynchronous), then the bytes are sent, then the load is waited for. With Partial
 * a load may complete with fewer than the 10 echoed bytes, so it is repeated (bounded)
 * until all 10 came, and they are checked to be 0..9. Then the socket is closed
 * with 1000 (the sample disposes it) and Closed prints the code and reason.
 *
 * The sample connects to wss://echo.websocket.org; pass the URL of an echo server.
 *
 * Usage: stream_websocket ws://127.0.0.1:PORT/echo
 */
#define _POSIX_C_SOURCE 200809L
#include <rtws.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every wait is bounded: a hang fails the example instead of blocking it. */
#define WAIT_MS 10000

static const uint8_t message[10] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

/* What the Closed handler shares with main: a way to wait for it. */
struct page {
    pthread_mutex_t lock;
    pthread_cond_t closed_cond;
    int closed;
};

static void report(const char *what, HRESULT hr)
{
    /* WebSocketError.GetStatus turns the HRESULT into a WebErrorStatus to switch on. */
    fprintf(stderr, "%s failed: 0x%08X (WebErrorStatus %d): %s\n", what, (unsigned)hr,
            (int)WebSocketError_GetStatus(hr), rtws_GetLastErrorMessage());
}

static void on_closed(void *context, StreamWebSocket *sender, WebSocketClosedEventArgs *args)
{
    struct page *page = context;
    uint16_t code = 0;
    const char *reason = "";
    WebSocketClosedEventArgs_get_Code(args, &code);
    WebSocketClosedEventArgs_get_Reason(args, &reason);
    printf("WebSocket_Closed; Code: %u, Reason: \"%s\"\n", (unsigned)code, reason);
    fflush(stdout);
    (void)sender;
    pthread_mutex_lock(&page->lock);
    page->closed = 1;
    pthread_cond_signal(&page->closed_cond);
    pthread_mutex_unlock(&page->lock);
}

/* The sample's SendMessageUsingStreamWebSocket: a DataWriter over the OutputStream,
 * WriteBytes, StoreAsync, then DetachStream so the socket keeps its stream. */
static HRESULT send_message(StreamWebSocket *socket, const uint8_t *bytes, uint32_t length)
{
    IOutputStream *stream = NULL;
    DataWriter *writer = NULL;
    IAsyncOperationUInt32 *store = NULL;
    uint32_t stored = 0;
    HRESULT hr = StreamWebSocket_get_OutputStream(socket, &stream);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_CreateDataWriter(stream, &writer);
    if (stream)
        IOutputStream_Release(stream);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_WriteBytes(writer, length, bytes);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(writer, &store);
    if (RTWS_SUCCEEDED(hr))
        hr = IAsyncOperationUInt32_Wait(store, WAIT_MS, &stored);
    if (store) {
        if (hr == RTWS_E_TIMEOUT)
            IAsyncOperationUInt32_Cancel(store);
        IAsyncOperationUInt32_Release(store);
    }
    if (writer) {
        /* Give the stream back to the socket before the writer goes away. */
        IOutputStream *detached = NULL;
        if (RTWS_SUCCEEDED(DataWriter_DetachStream(writer, &detached)))
            IOutputStream_Release(detached);
        DataWriter_Release(writer);
    }
    if (RTWS_SUCCEEDED(hr))
        printf("Sending data using StreamWebSocket: %u bytes\n", (unsigned)stored);
    return hr;
}

/* Waits (bounded) for one LoadAsync and appends what it loaded to received[*total..].
 * Returns the load's HRESULT; *loaded gets its byte count (0: the stream ended). */
static HRESULT finish_load(DataReader *reader, IAsyncOperationUInt32 *load, uint8_t *received,
                           uint32_t capacity, uint32_t *total, uint32_t *loaded)
{
    *loaded = 0;
    HRESULT hr = IAsyncOperationUInt32_Wait(load, WAIT_MS, loaded);
    if (hr == RTWS_E_TIMEOUT)
        IAsyncOperationUInt32_Cancel(load); /* a canceled load loses nothing */
    if (RTWS_FAILED(hr))
        return hr;
    /* byte[] message = new byte[dataReader.UnconsumedBufferLength]; ReadBytes(message); */
    uint32_t length = 0;
    hr = DataReader_get_UnconsumedBufferLength(reader, &length);
    if (RTWS_SUCCEEDED(hr) && length > capacity - *total) {
        fprintf(stderr, "received %u bytes more than the %u sent\n",
                (unsigned)(length - (capacity - *total)), (unsigned)capacity);
        return E_FAIL;
    }
    if (RTWS_SUCCEEDED(hr))
        hr = DataReader_ReadBytes(reader, length, received + *total);
    if (RTWS_SUCCEEDED(hr))
        *total += length;
    return hr;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ws://host:port/path\n", argv[0]);
        return 2;
    }
    struct page page = {0};
    pthread_mutex_init(&page.lock, NULL);
    /* Deadlines on the monotonic clock: a step of the wall clock must not end a wait. */
    pthread_condattr_t cond_attr;
    pthread_condattr_init(&cond_attr);
    pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
    pthread_cond_init(&page.closed_cond, &cond_attr);
    pthread_condattr_destroy(&cond_attr);

    /* this.streamWebSocket = new Windows.Networking.Sockets.StreamWebSocket(); */
    StreamWebSocket *socket = NULL;
    HRESULT hr = StreamWebSocket_Create(&socket);
    if (RTWS_FAILED(hr)) {
        report("StreamWebSocket_Create", hr);
        return 1;
    }

    /* this.streamWebSocket.Closed += WebSocket_Closed; */
    EventRegistrationToken closed_token;
    StreamWebSocket_add_Closed(socket, on_closed, &page, &closed_token);

    /* ConnectAsync(new Uri("wss://echo.websocket.org")): here the URL from the command line. */
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

    int ok = 0;
    uint8_t received[sizeof message];
    uint32_t total = 0, loads = 0;

    /* ReceiveMessageUsingStreamWebSocket: a DataReader over the InputStream, with
     * InputStreamOptions.Partial, so that a load completes as soon as any byte is there. */
    IInputStream *input = NULL;
    DataReader *reader = NULL;
    IAsyncOperationUInt32 *load = NULL;
    hr = StreamWebSocket_get_InputStream(socket, &input);
    if (RTWS_SUCCEEDED(hr))
        hr = DataReader_CreateDataReader(input, &reader);
    if (input)
        IInputStream_Release(input); /* the reader holds the stream now */
    if (RTWS_SUCCEEDED(hr))
        hr = DataReader_put_InputStreamOptions(reader, InputStreamOptions_Partial);
    /* await dataReader.LoadAsync(256): started now, waited for after the send. */
    if (RTWS_SUCCEEDED(hr))
        hr = DataReader_LoadAsync(reader, 256, &load);
    if (RTWS_FAILED(hr)) {
        report("LoadAsync", hr);
    } else if (RTWS_FAILED(hr = send_message(socket, message, sizeof message))) {
        /* SendMessageUsingStreamWebSocket(new byte[] { 0x00, ..., 0x09 }) */
        report("StoreAsync", hr);
    } else {
        /* The load started above, then (Partial may give fewer bytes) more loads, each
         * bounded, until the 10 echoed bytes are all there. */
        uint32_t loaded = 0;
        for (;;) {
            hr = finish_load(reader, load, received, sizeof message, &total, &loaded);
            IAsyncOperationUInt32_Release(load);
            load = NULL;
            loads++;
            if (RTWS_FAILED(hr) || loaded == 0 || total == sizeof message || loads == 100)
                break;
            if (RTWS_FAILED(hr = DataReader_LoadAsync(reader, 256, &load)))
                break;
        }
        if (RTWS_FAILED(hr)) {
            report("LoadAsync", hr);
        } else if (total != sizeof message) {
            fprintf(stderr, "only %u of %u bytes came back (%u loads; the last loaded %u)\n",
                    (unsigned)total, (unsigned)sizeof message, (unsigned)loads, (unsigned)loaded);
        } else if (memcmp(received, message, sizeof message) != 0) {
            fprintf(stderr, "the echoed bytes differ from the bytes sent\n");
        } else {
            /* Debug.WriteLine("Data received from StreamWebSocket: " + message.Length + " bytes"); */
            printf("Data received from StreamWebSocket: %u bytes", (unsigned)total);
            if (loads > 1)
                printf(" (in %u loads)", (unsigned)loads);
            printf("\n");
            ok = 1;
        }
    }
    if (load) {
        /* Only after a failure before the first wait: the load must not outlive the reader. */
        IAsyncOperationUInt32_Cancel(load);
        IAsyncOperationUInt32_Release(load);
    }
    if (reader)
        DataReader_Release(reader);

    /* this.streamWebSocket.Dispose(): the close handshake, with 1000 (normal closure). */
    hr = StreamWebSocket_CloseWithStatus(socket, 1000, "");
    if (RTWS_FAILED(hr)) {
        report("Close", hr);
        ok = 0;
    }
    /* Wait (bounded) for Closed, raised once the server confirms the close. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&page.lock);
    while (!page.closed &&
           pthread_cond_timedwait(&page.closed_cond, &page.lock, &deadline) == 0) {
    }
    int closed = page.closed;
    pthread_mutex_unlock(&page.lock);
    if (!closed) {
        fprintf(stderr, "Closed was not raised within %d s\n", WAIT_MS / 1000);
        ok = 0;
    }

    StreamWebSocket_Release(socket);
    rtws_Shutdown(5000);
    pthread_cond_destroy(&page.closed_cond);
    pthread_mutex_destroy(&page.lock);
    return ok ? 0 : 1;
}
