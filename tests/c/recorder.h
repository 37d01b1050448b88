/*
 * Recorder: the MessageReceived and Closed events of one socket, in the order its
 * handlers saw them (test_message_websocket, test_failures). The handlers only record:
 * they run on library threads and the check counters are not thread-safe, so the
 * rec_check_* and rec_expect_* helpers check on the main thread.
 *
 * A test may define REC_WAIT_MS (bound for an event that should come promptly) and
 * REC_QUIET_MS (how long to watch for an event that must not come) before including it.
 */
#ifndef RTWS_RECORDER_H
#define RTWS_RECORDER_H

#include "testutil.h"

#ifndef REC_WAIT_MS
#define REC_WAIT_MS 10000
#endif
#ifndef REC_QUIET_MS
#define REC_QUIET_MS 200
#endif

#define REC_MAX 256

typedef struct {
    char kind;             /* 'M' message with data, 'F' failure (GetDataReader failed), 'C' closed */
    SocketMessageType type;
    HRESULT hr;            /* GetDataReader's result */
    uint32_t len;
    unsigned char *data;   /* the whole message (malloc'd, NULL when empty; rec_free frees it) */
    char text[64];         /* its first bytes, NUL-terminated */
    uint16_t code;
    char reason[128];
    double at_ms;          /* tu_now_ms() when the handler ran */
} rec_event;

typedef struct {
    pthread_mutex_t lock;
    MessageWebSocket *ws;      /* expected sender (set by rec_socket); NULL: not checked */
    rec_event ev[REC_MAX];
    int n;
    int overflow;              /* events beyond REC_MAX (not stored) */
    int in_handler, overlaps;  /* handlers of one socket must never overlap */
    int wrong_sender;
    int not_complete;          /* IsMessageComplete false in FullMessage mode */
    int bad_reread;            /* a second GetDataReader did not start over */
    int closed_seen, after_closed; /* Closed events; events recorded after one */
    pthread_t owner;           /* the thread that called rec_init */
    int on_owner;              /* handler calls on that thread (rtws runs them on its own) */
    tu_signal msgs;   /* MessageReceived events */
    tu_signal closed; /* Closed events */
} recorder;

/* Initialises an empty recorder. */
static inline void rec_init(recorder *r)
{
    memset(r, 0, sizeof *r);
    r->owner = pthread_self();
    pthread_mutex_init(&r->lock, NULL);
    tu_signal_init(&r->msgs);
    tu_signal_init(&r->closed);
}

/* Frees what the recorder holds (the handlers must be gone). */
static inline void rec_free(recorder *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->ev[i].data);
    tu_signal_destroy(&r->msgs);
    tu_signal_destroy(&r->closed);
    pthread_mutex_destroy(&r->lock);
}

/* Call first in a handler: counts overlapping handlers and a wrong sender. */
static inline void rec_enter(recorder *r, MessageWebSocket *sender)
{
    pthread_mutex_lock(&r->lock);
    if (r->in_handler)
        r->overlaps++;
    r->in_handler++;
    if (r->ws && sender != r->ws)
        r->wrong_sender++;
    if (pthread_equal(pthread_self(), r->owner))
        r->on_owner++;
    pthread_mutex_unlock(&r->lock);
}

/* Call last in a handler (pairs with rec_enter). */
static inline void rec_leave(recorder *r)
{
    pthread_mutex_lock(&r->lock);
    r->in_handler--;
    pthread_mutex_unlock(&r->lock);
}

/* Appends one event (taking over its data); counts events after a Closed. */
static inline void rec_push(recorder *r, const rec_event *e)
{
    pthread_mutex_lock(&r->lock);
    if (r->closed_seen)
        r->after_closed++;
    if (e->kind == 'C')
        r->closed_seen++;
    if (r->n < REC_MAX)
        r->ev[r->n++] = *e;
    else {
        r->overflow++;
        free(e->data);
    }
    pthread_mutex_unlock(&r->lock);
}

/* Records one MessageReceived (the body of every recording handler). */
static inline void rec_message(recorder *r, MessageWebSocketMessageReceivedEventArgs *args)
{
    rec_event e;
    memset(&e, 0, sizeof e);
    e.at_ms = tu_now_ms();
    e.hr = tu_read_message(args, &e.data, &e.len);
    e.kind = RTWS_SUCCEEDED(e.hr) ? 'M' : 'F';
    if (e.kind == 'M') {
        uint32_t k = e.len < sizeof e.text - 1 ? e.len : (uint32_t)sizeof e.text - 1;
        if (k > 0)
            memcpy(e.text, e.data, k);
        e.text[k] = 0;
        bool complete = false;
        if (RTWS_FAILED(MessageWebSocketMessageReceivedEventArgs_get_MessageType(args, &e.type)))
            e.type = -1;
        if (RTWS_FAILED(MessageWebSocketMessageReceivedEventArgs_get_IsMessageComplete(args, &complete)) ||
            !complete) {
            pthread_mutex_lock(&r->lock);
            r->not_complete++;
            pthread_mutex_unlock(&r->lock);
        }
        /* Each GetDataReader gives a fresh reader at the start of the message. */
        DataReader *again = NULL;
        uint32_t n = 0;
        if (RTWS_FAILED(MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &again)) ||
            RTWS_FAILED(DataReader_get_UnconsumedBufferLength(again, &n)) || n != e.len) {
            pthread_mutex_lock(&r->lock);
            r->bad_reread++;
            pthread_mutex_unlock(&r->lock);
        }
        if (again)
            DataReader_Release(again);
    }
    rec_push(r, &e);
    tu_signal_bump(&r->msgs);
}

/* The recorder's MessageReceived handler (context: the recorder). */
static inline void on_rec_message(void *ctx, MessageWebSocket *sender,
                                  MessageWebSocketMessageReceivedEventArgs *args)
{
    recorder *r = ctx;
    rec_enter(r, sender);
    rec_message(r, args);
    rec_leave(r);
}

/* The recorder's Closed handler (context: the recorder). */
static inline void on_rec_closed(void *ctx, MessageWebSocket *sender, WebSocketClosedEventArgs *args)
{
    recorder *r = ctx;
    rec_enter(r, sender);
    rec_event e;
    memset(&e, 0, sizeof e);
    e.kind = 'C';
    e.at_ms = tu_now_ms();
    const char *reason = NULL;
    if (RTWS_FAILED(WebSocketClosedEventArgs_get_Code(args, &e.code)))
        e.code = 0;
    if (RTWS_SUCCEEDED(WebSocketClosedEventArgs_get_Reason(args, &reason)) && reason)
        snprintf(e.reason, sizeof e.reason, "%s", reason);
    else
        snprintf(e.reason, sizeof e.reason, "<no reason>");
    rec_push(r, &e);
    rec_leave(r);
    tu_signal_bump(&r->closed);
}

/* A new socket with the recorder's handlers on both events. */
static inline MessageWebSocket *rec_socket(recorder *r)
{
    MessageWebSocket *ws = NULL;
    EventRegistrationToken t1, t2;
    CHECK_OK(MessageWebSocket_Create(&ws));
    r->ws = ws;
    CHECK_OK(MessageWebSocket_add_MessageReceived(ws, on_rec_message, r, &t1));
    CHECK_OK(MessageWebSocket_add_Closed(ws, on_rec_closed, r, &t2));
    return ws;
}

/* Snapshot accessors (the handlers may still be appending): the number of events, and
 * a copy of event `i` (all zero if there is none; its data stays the recorder's). */
static inline int rec_count(recorder *r)
{
    pthread_mutex_lock(&r->lock);
    int n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static inline rec_event rec_get(recorder *r, int i)
{
    rec_event e;
    memset(&e, 0, sizeof e);
    pthread_mutex_lock(&r->lock);
    if (i >= 0 && i < r->n)
        e = r->ev[i];
    pthread_mutex_unlock(&r->lock);
    return e;
}

/* Whether `e` is the message `data` (`len` bytes) of the given type. */
static inline int rec_is_message(const rec_event *e, SocketMessageType type, const void *data,
                                 uint32_t len)
{
    return e->kind == 'M' && e->type == type && e->len == len &&
           (len == 0 || memcmp(e->data, data, len) == 0);
}

/* Checks the invariants every recorded socket must keep. */
static inline void rec_check_invariants(recorder *r)
{
    pthread_mutex_lock(&r->lock);
    int overlaps = r->overlaps, wrong = r->wrong_sender, notc = r->not_complete,
        reread = r->bad_reread, after = r->after_closed, overflow = r->overflow;
    pthread_mutex_unlock(&r->lock);
    CHECK(overlaps == 0);      /* handlers of one socket never run concurrently */
    CHECK(wrong == 0);         /* sender is the socket */
    CHECK(notc == 0);          /* FullMessage: every message is complete */
    CHECK(reread == 0);        /* GetDataReader gives a fresh reader each time */
    CHECK(after == 0);         /* no event after Closed */
    CHECK(overflow == 0);
}

/* Waits for the Closed event, then REC_QUIET_MS more to see that no second one comes;
 * checks both (the first half of every rec_expect_closed*). */
static inline void rec_wait_closed(recorder *r)
{
    CHECK(tu_signal_wait(&r->closed, 1, REC_WAIT_MS));
    tu_sleep_ms(REC_QUIET_MS);
    CHECK(tu_signal_get(&r->closed) == 1);
}

/* rec_wait_closed, then checks that Closed was the last event, with `code` and `reason`
 * (NULL: any reason). */
static inline void rec_expect_closed(recorder *r, uint16_t code, const char *reason)
{
    rec_wait_closed(r);
    pthread_mutex_lock(&r->lock);
    int n = r->n;
    rec_event last = n > 0 ? r->ev[n - 1] : (rec_event){0};
    pthread_mutex_unlock(&r->lock);
    CHECK(n > 0 && last.kind == 'C');
    if (last.kind == 'C') {
        CHECK(last.code == code);
        if (last.code != code)
            fprintf(stderr, "  Closed code %u, expected %u\n", (unsigned)last.code, (unsigned)code);
        if (reason) {
            CHECK(strcmp(last.reason, reason) == 0);
            if (strcmp(last.reason, reason) != 0)
                fprintf(stderr, "  Closed reason \"%s\", expected \"%s\"\n", last.reason, reason);
        }
    }
}

#endif
