/*
 * The seed's MessageWebSocket sample (docs "Use MessageWebSocket to connect"), in C, over
 * wss: (TLS), as the sample itself does with wss://echo.websocket.org.
 *
 * Here the server is the bundled test server's TLS listener, whose certificate is issued by
 * a throwaway test CA that no system trusts: the example reads that CA (ca.pem) and gives it
 * to the socket with the rtws extension MessageWebSocketControl_put_TrustedRootCertificates.
 * Everything else is the sample: MessageType Utf8, MessageReceived and Closed subscribed,
 * connect, "Hello, World!" sent through a DataWriter (StoreAsync, then DetachStream), the
 * echo read through a DataReader inside MessageReceived, which closes the socket with 1000;
 * Closed prints the code and reason. After the connect it also prints the Information's
 * ServerCertificateErrorSeverity (None: the certificate had no error at all).
 *
 * Usage: wss_message_websocket wss://127.0.0.1:PORT/echo CA.pem
 */
#include <rtws.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the handlers share with main: the socket, and a way to wait for Closed. */
struct page {
    MessageWebSocket *socket;
    pthread_mutex_t lock;
    pthread_cond_t closed_cond;
    int closed;
};

static void report(const char *what, HRESULT hr)
{
    /* WebSocketError.GetStatus turns the HRESULT into a WebErrorStatus to switch on: for a
     * wss: connect, e.g. CertificateIsInvalid (5) when the server's CA is not trusted. */
    fprintf(stderr, "%s failed: 0x%08X (WebErrorStatus %d): %s\n", what, (unsigned)hr,
            (int)WebSocketError_GetStatus(hr), rtws_GetLastErrorMessage());
}

/* The whole text file at `path` (malloc'd, NUL-terminated), or NULL. */
static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL) {
        if (fread(text, 1, (size_t)size, f) == (size_t)size) {
            text[size] = '\0';
        } else {
            free(text);
            text = NULL;
        }
    }
    fclose(f);
    return text;
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

/* Prints how the server's certificate was judged (Information.ServerCertificateErrorSeverity). */
static void print_certificate_severity(MessageWebSocket *socket)
{
    static const char *const names[] = {"None", "Ignorable", "Fatal"};
    MessageWebSocketInformation *information = NULL;
    SocketSslErrorSeverity severity = SocketSslErrorSeverity_None;
    if (RTWS_FAILED(MessageWebSocket_get_Information(socket, &information)))
        return;
    if (RTWS_SUCCEEDED(
            MessageWebSocketInformation_get_ServerCertificateErrorSeverity(information, &severity)) &&
        severity >= 0 && severity <= 2)
        printf("Connected over TLS; ServerCertificateErrorSeverity: %s\n", names[severity]);
    MessageWebSocketInformation_Release(information);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s wss://host:port/path CA.pem\n", argv[0]);
        return 2;
    }
    char *ca_pem = read_text_file(argv[2]);
    if (!ca_pem) {
        fprintf(stderr, "cannot read the CA certificate %s\n", argv[2]);
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
        free(ca_pem);
        return 1;
    }

    MessageWebSocketControl *control = NULL;
    MessageWebSocket_get_Control(page.socket, &control);
    /* In this example, we send/receive a string, so we need to set the MessageType to Utf8. */
    MessageWebSocketControl_put_MessageType(control, SocketMessageType_Utf8);
    /* Trust the test server's private CA as a root, besides the system's store (validation
     * stays fully on: chain, dates and the host name are still checked). Against a public
     * server whose certificate chains to a publicly trusted CA, such as the sample's
     * wss://echo.websocket.org, this line is not needed: the system's trusted roots
     * suffice. Without it here, ConnectAsync fails with WININET_E_INVALID_CA. */
    hr = MessageWebSocketControl_put_TrustedRootCertificates(control, ca_pem);
    MessageWebSocketControl_Release(control);
    free(ca_pem);
    if (RTWS_FAILED(hr)) {
        report("put_TrustedRootCertificates", hr);
        MessageWebSocket_Release(page.socket);
        rtws_Shutdown(5000);
        return 1;
    }

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
    } else {
        print_certificate_severity(page.socket);
        if (RTWS_FAILED(hr = send_message(page.socket, "Hello, World!"))) {
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
    }

    MessageWebSocket_Release(page.socket);
    rtws_Shutdown(5000);
    pthread_cond_destroy(&page.closed_cond);
    pthread_mutex_destroy(&page.lock);
    return ok ? 0 : 1;
}
