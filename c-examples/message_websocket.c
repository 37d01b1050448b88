/*
 * The seed's MessageWebSocket sample (docs "Use MessageWebSocket to connect"), in C.
 *
 * Sets MessageType to Utf8, subscribes to MessageReceived and Closed, connects,
 * sends "Hello, World!" through a DataWriter (StoreAsync, then DetachStream),
 * reads the echo through a DataReader inside MessageReceived and closes the
 * socket with 1000 there; Closed prints the code and reason.
 *
 * Usage: message_websocket ws://127.0.0.1:PORT/echo
 */
#include <rtws.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the handlers share with main: the socket, and a way to wait for Closed. */
struct page {
    MessageWebSocket *socket;
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

static void on_message_received(void *context, MessageWebSocket *sender,
                                MessageWebSocketMessageReceivedEventArgs *args)
{
    struct page *page = context;
    DataReader *reader = NULL;
    HRESULT hr = MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &reader);
    if (RTWS_FAILED(hr)) {
        report("GetDataReader", hr);
        return;
    }
    DataReader_put_UnicodeEncoding(reader, UnicodeEncoding_Utf8);
    uint32_t length = 0, needed = 0;
    DataReader_get_UnconsumedBufferLength(reader, &length);
    char *message = malloc((size_t)length + 1);
    hr = message ? DataReader_ReadString(reader, length, message, length + 1, &needed)
                 : E_OUTOFMEMORY;
    if (RTWS_SUCCEEDED(hr))
        printf("Message received from MessageWebSocket: %s\n", message);
    else
        report("ReadString", hr);
    free(message);
    DataReader_Release(reader);
    (void)sender;
    /* As the sample does: close the socket from inside the handler. */
    hr = MessageWebSocket_CloseWithStatus(page->socket, 1000, "");
    if (RTWS_FAILED(hr))
        report("Close", hr);
}

static void on_closed(void *context, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    struct page *page = context;
    uint16_t code = 0;
    const char *reason = "";
    WebSocketClosedEventArgs_get_Code(args, &code);
    WebSocketClosedEventArgs_get_Reason(args, &reason);
    printf("WebSocket_Closed; Code: %u, Reason: \"%s\"\n", (unsigned)code, reason);
    (void)sender;
    pthread_mutex_lock(&page->lock);
    page->closed = 1;
    pthread_cond_signal(&page->closed_cond);
    pthread_mutex_unlock(&page->lock);
}

static HRESULT send_message(MessageWebSocket *socket, const char *message)
{
    IOutputStream *stream = NULL;
    DataWriter *writer = NULL;
    IAsyncOperationUInt32 *store = NULL;
    HRESULT hr = MessageWebSocket_get_OutputStream(socket, &stream);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_CreateDataWriter(stream, &writer);
    if (stream)
        IOutputStream_Release(stream);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_WriteString(writer, message, NULL);
    if (RTWS_SUCCEEDED(hr))
        hr = DataWriter_StoreAsync(writer, &store);
    if (RTWS_SUCCEEDED(hr))
        hr = IAsyncOperationUInt32_Wait(store, RTWS_INFINITE, NULL);
    if (store)
        IAsyncOperationUInt32_Release(store);
    if (writer) {
        /* Give the stream back to the socket before the writer goes away. */
        IOutputStream *detached = NULL;
        if (RTWS_SUCCEEDED(DataWriter_DetachStream(writer, &detached)))
            IOutputStream_Release(detached);
        DataWriter_Release(writer);
    }
    if (RTWS_SUCCEEDED(hr))
        printf("Sending message using MessageWebSocket: %s\n", message);
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

    HRESULT hr = MessageWebSocket_Create(&page.socket);
    if (RTWS_FAILED(hr)) {
        report("MessageWebSocket_Create", hr);
        return 1;
    }

    /* In this example, we send/receive a string, so we need to set the MessageType to Utf8. */
    MessageWebSocketControl *control = NULL;
    MessageWebSocket_get_Control(page.socket, &control);
    MessageWebSocketControl_put_MessageType(control, SocketMessageType_Utf8);
    MessageWebSocketControl_Release(control);

    EventRegistrationToken received_token, closed_token;
    MessageWebSocket_add_MessageReceived(page.socket, on_message_received, &page, &received_token);
    MessageWebSocket_add_Closed(page.socket, on_closed, &page, &closed_token);

    IAsyncAction *connect = NULL;
    hr = MessageWebSocket_ConnectAsync(page.socket, argv[1], &connect);
    if (RTWS_SUCCEEDED(hr)) {
        hr = IAsyncAction_Wait(connect, RTWS_INFINITE);
        IAsyncAction_Release(connect);
    }
    int ok = 0;
    if (RTWS_FAILED(hr)) {
        report("ConnectAsync", hr);
    } else if (RTWS_FAILED(hr = send_message(page.socket, "Hello, World!"))) {
        report("StoreAsync", hr);
    } else {
        /* Wait (bounded) for Closed, raised after the handler's Close(1000). */
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += 10;
        pthread_mutex_lock(&page.lock);
        while (!page.closed &&
               pthread_cond_timedwait(&page.closed_cond, &page.lock, &deadline) == 0) {
        }
        ok = page.closed;
        pthread_mutex_unlock(&page.lock);
        if (!ok)
            fprintf(stderr, "Closed was not raised within 10 s\n");
    }

    MessageWebSocket_Release(page.socket);
    rtws_Shutdown(5000);
    pthread_cond_destroy(&page.closed_cond);
    pthread_mutex_destroy(&page.lock);
    return ok ? 0 : 1;
}
