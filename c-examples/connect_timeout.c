/*
 * The seed's "Setting timeouts on WebSocket operations" sample, in C: the app sets
 * its own connect timeout by canceling ConnectAsync after 5 seconds (here against a
 * server that never answers the upgrade), then reads the outcome from the
 * operation's Status and turns the HRESULT into a WebErrorStatus.
 *
 * Usage: connect_timeout ws://127.0.0.1:PORT/nohandshake [timeout_ms]
 */
#define _POSIX_C_SOURCE 200809L
#include <rtws.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The seed's TimeoutAsync: a timer that cancels the connect when it fires. It is
 * safe to cancel even if the connect has already completed. */
struct timeout_timer {
    IAsyncAction *connect;
    unsigned timeout_ms;
};

static void *cancel_after_timeout(void *arg)
{
    struct timeout_timer *t = arg;
    struct timespec delay = {t->timeout_ms / 1000, (long)(t->timeout_ms % 1000) * 1000000L};
    nanosleep(&delay, NULL);
    IAsyncAction_Cancel(t->connect);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ws://host:port/path [timeout_ms]\n", argv[0]);
        return 2;
    }
    struct timeout_timer timer = {NULL, argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 5000};

    MessageWebSocket *socket = NULL;
    HRESULT hr = MessageWebSocket_Create(&socket);
    if (RTWS_SUCCEEDED(hr))
        hr = MessageWebSocket_ConnectAsync(socket, argv[1], &timer.connect);
    if (RTWS_FAILED(hr)) {
        fprintf(stderr, "ConnectAsync failed: 0x%08X %s\n", (unsigned)hr, rtws_GetLastErrorMessage());
        return 1;
    }

    /* Cancel the connect action after the timeout. */
    pthread_t thread;
    pthread_create(&thread, NULL, cancel_after_timeout, &timer);

    /* Block until the ConnectAsync action completes or is canceled (the timer above
     * bounds this wait). */
    hr = IAsyncAction_Wait(timer.connect, RTWS_INFINITE);
    pthread_join(thread, NULL);

    AsyncStatus status = AsyncStatus_Started;
    IAsyncAction_get_Status(timer.connect, &status);
    int ok;
    if (status == AsyncStatus_Completed) {
        /* The connect ran to completion: the MessageWebSocket is connected. */
        printf("connected\n");
        ok = 1;
    } else {
        /* The connect did not run to completion: canceled by the timeout, or failed. */
        WebErrorStatus web_status = WebSocketError_GetStatus(hr);
        printf("ConnectAsync did not complete: status %d, HRESULT 0x%08X, WebErrorStatus %d%s\n",
               (int)status, (unsigned)hr, (int)web_status,
               web_status == WebErrorStatus_OperationCanceled ? " (OperationCanceled)" : "");
        ok = status == AsyncStatus_Canceled && web_status == WebErrorStatus_OperationCanceled;
    }

    IAsyncAction_Release(timer.connect);
    MessageWebSocket_Release(socket);
    rtws_Shutdown(5000);
    return ok ? 0 : 1;
}
