"""Builds the binding's compiled module, `rtws._rtws_cffi` (cffi's API mode, out of line),
from rtws.h itself: the declarations are the header's as `_header.preprocess` reduces them
(nothing is written by hand), and the C compiler checks them against the real header.

Besides the header's functions, the module holds a few C helpers (below) that call only
rtws's public C functions, so that a message costs one call from Python, not five:

- an *inbox*: a MessageReceived handler in C that keeps each message's DataReader (or the
  failure it reports) in a list, and `rtwspy_inbox_take`, which copies the oldest messages
  into one buffer the caller owns. The handler runs inside DispatcherQueue_RunPending on
  the thread that runs the socket's queue (every socket of the package is bound to one),
  so Python drains a whole RunPending's messages with one call and no callback into Python;
- `rtwspy_send`: a message's SendFinalFrameAsync (or a stream's WriteAsync) from bytes;
- `rtwspy_py_<Type>`: an `extern "Python"` function of each handler type in CALLBACKS,
  declared from the header's typedef (cheaper to enter than an ABI-mode `ffi.callback`),
  which `_native.py` binds to its dispatcher.

The module is not linked against librtws: `_ffi.py` loads the library (RTLD_GLOBAL) from
where the ABI mode would, then imports the module, whose rtws symbols then resolve (Python
loads extensions with RTLD_NOW: a missing one fails the import, not a call).

    python -m rtws._build HEADER OUTDIR   (or python path/to/_build.py HEADER OUTDIR)

writes OUTDIR/rtws/_rtws_cffi.<abi tag>.so and prints its path. setup.py runs it at
`pip install ./python`; tests/python/setup_venv.py for the build tree (RTWS_EXTENSION).
"""
import hashlib
import importlib.util
import os
import re
import sys

MODULE = "rtws._rtws_cffi"

# The handler types `_native.py` passes to rtws: each gets `extern "Python" void
# rtwspy_py_<Type>(<its parameters>)`.
CALLBACKS = ("Completed_IAsyncAction", "Completed_IAsyncOperationUInt32",
             "Completed_IAsyncOperationBoolean", "Completed_IAsyncOperationIBuffer",
             "MessageWebSocketMessageReceivedHandler", "MessageWebSocketClosedHandler",
             "MessageWebSocketServerCustomValidationRequestedHandler",
             "StreamWebSocketClosedHandler",
             "StreamWebSocketServerCustomValidationRequestedHandler", "DispatcherQueueHandler")

HELPERS_CDEF = """
typedef struct rtwspy_inbox rtwspy_inbox;
rtwspy_inbox *rtwspy_inbox_new(void);
void rtwspy_inbox_release(void *inbox);
HRESULT rtwspy_inbox_subscribe(rtwspy_inbox *inbox, MessageWebSocket *socket,
                               EventRegistrationToken *token);
uint32_t rtwspy_inbox_take(rtwspy_inbox *inbox, uint8_t *out, uint32_t capacity,
                           int64_t *meta, uint32_t max_count, uint32_t *needed);
HRESULT rtwspy_send(int32_t kind, void *target, const uint8_t *data, uint32_t length,
                    IAsyncOperationUInt32 **operation);
const char *rtwspy_header_digest(void);
uint32_t rtwspy_inboxes(void);
"""

HELPERS_SOURCE = r"""
#include <stdlib.h>
#include <string.h>

/* One MessageReceived: the message's DataReader (owned) and size, or the failure the
   event reported (GetDataReader's HRESULT and rtws's message for it). */
typedef struct rtwspy_entry {
    struct rtwspy_entry *next;
    DataReader *reader;
    char *error;
    HRESULT hr;
    int32_t kind;   /* SocketMessageType, or RTWSPY_FAILED / RTWSPY_UNREADABLE */
    uint32_t size;
} rtwspy_entry;

#define RTWSPY_FAILED (-1)      /* the connection failed: GetDataReader's HRESULT */
#define RTWSPY_UNREADABLE (-2)  /* this message could not be read (HRESULT) */

typedef struct rtwspy_inbox {
    rtwspy_entry *head, *tail;
    uint32_t lost;  /* messages dropped for want of memory */
    int refs;       /* Python's, and the registration's (rtws releases it) */
} rtwspy_inbox;

static uint32_t rtwspy_live_inboxes;

/* How many inboxes are alive (the tests' leak check). */
uint32_t rtwspy_inboxes(void)
{
    return __atomic_load_n(&rtwspy_live_inboxes, __ATOMIC_ACQUIRE);
}

rtwspy_inbox *rtwspy_inbox_new(void)
{
    rtwspy_inbox *inbox = calloc(1, sizeof *inbox);
    if (inbox) {
        inbox->refs = 1;
        __atomic_add_fetch(&rtwspy_live_inboxes, 1, __ATOMIC_RELAXED);
    }
    return inbox;
}

static void rtwspy_entry_free(rtwspy_entry *e)
{
    if (e->reader)
        DataReader_Release(e->reader);
    free(e->error);
    free(e);
}

/* Drops one reference: the Python side's, or the registration's (rtws calls this once,
   on any thread, after the handler's last call). The last one frees what is left. */
void rtwspy_inbox_release(void *context)
{
    rtwspy_inbox *inbox = context;
    if (!inbox || __atomic_sub_fetch(&inbox->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    while (inbox->head) {
        rtwspy_entry *e = inbox->head;
        inbox->head = e->next;
        rtwspy_entry_free(e);
    }
    free(inbox);
    __atomic_sub_fetch(&rtwspy_live_inboxes, 1, __ATOMIC_RELEASE);
}

/* The MessageReceived handler: runs inside DispatcherQueue_RunPending, on the thread that
   runs the socket's queue (the only thread that takes from the inbox). */
static void rtwspy_on_message(void *context, MessageWebSocket *sender,
                              MessageWebSocketMessageReceivedEventArgs *args)
{
    rtwspy_inbox *inbox = context;
    rtwspy_entry *e = calloc(1, sizeof *e);
    HRESULT hr;
    (void)sender;
    if (!e) {
        inbox->lost++;
        return;
    }
    hr = MessageWebSocketMessageReceivedEventArgs_GetDataReader(args, &e->reader);
    if (hr < 0) {
        e->reader = NULL;
        e->kind = RTWSPY_FAILED;
    } else {
        SocketMessageType type = SocketMessageType_Binary;
        hr = DataReader_get_UnconsumedBufferLength(e->reader, &e->size);
        if (hr >= 0)
            hr = MessageWebSocketMessageReceivedEventArgs_get_MessageType(args, &type);
        e->kind = type;
        if (hr < 0) {
            DataReader_Release(e->reader);
            e->reader = NULL;
            e->kind = RTWSPY_UNREADABLE;
        }
    }
    if (hr < 0) {
        e->hr = hr;
        e->error = strdup(rtws_GetLastErrorMessage());
        e->size = e->error ? (uint32_t)strlen(e->error) : 0;
    }
    if (inbox->tail)
        inbox->tail->next = e;
    else
        inbox->head = e;
    inbox->tail = e;
}

HRESULT rtwspy_inbox_subscribe(rtwspy_inbox *inbox, MessageWebSocket *socket,
                               EventRegistrationToken *token)
{
    HRESULT hr;
    __atomic_add_fetch(&inbox->refs, 1, __ATOMIC_RELAXED);
    hr = MessageWebSocket_add_MessageReceivedEx(socket, rtwspy_on_message, inbox,
                                                rtwspy_inbox_release, token);
    if (hr < 0)
        rtwspy_inbox_release(inbox);  /* not registered: the reference is still ours */
    return hr;
}

/* Moves the oldest entries, in order, into `out` (their bytes one after the other; a
   failure's bytes are its message) and `meta` (3 per entry: size, kind, HRESULT), at most
   `max_count`, while they fit in `capacity`; returns how many. When the oldest does not
   fit at all, `*needed` is its size (else 0): call again with a buffer that big. */
uint32_t rtwspy_inbox_take(rtwspy_inbox *inbox, uint8_t *out, uint32_t capacity,
                           int64_t *meta, uint32_t max_count, uint32_t *needed)
{
    uint32_t n = 0, used = 0;
    *needed = 0;
    if (inbox->lost && n < max_count) {
        meta[0] = 0;
        meta[1] = RTWSPY_UNREADABLE;
        meta[2] = E_OUTOFMEMORY;
        inbox->lost--;
        n++;
    }
    while (inbox->head && n < max_count) {
        rtwspy_entry *e = inbox->head;
        int64_t *m = meta + 3 * (size_t)n;
        if (e->size > capacity - used) {
            if (n == 0)
                *needed = e->size;
            break;
        }
        m[0] = e->size;
        m[1] = e->kind;
        m[2] = e->hr;
        if (e->reader) {
            HRESULT hr = e->size ? DataReader_ReadBytes(e->reader, e->size, out + used) : 0;
            if (hr < 0) {  /* rtws's message stays this thread's last error */
                m[0] = 0;
                m[1] = RTWSPY_UNREADABLE;
                m[2] = hr;
            }
        } else if (e->size) {
            memcpy(out + used, e->error, e->size);
        }
        used += (uint32_t)m[0];
        n++;
        inbox->head = e->next;
        if (!inbox->head)
            inbox->tail = NULL;
        rtwspy_entry_free(e);
    }
    return n;
}

/* One send from bytes: kind 0, `target` a MessageWebSocket: SendFinalFrameAsync; kind 1,
   an IOutputStream: WriteAsync. The operation is handed over when `operation` is not
   NULL, else released (the send goes on). */
HRESULT rtwspy_send(int32_t kind, void *target, const uint8_t *data, uint32_t length,
                    IAsyncOperationUInt32 **operation)
{
    IBuffer *buffer;
    IAsyncOperationUInt32 *op = NULL;
    HRESULT hr = Buffer_CreateFromBytes(data, length, &buffer);
    if (hr < 0)
        return hr;
    if (kind == 0)
        hr = MessageWebSocket_SendFinalFrameAsync((MessageWebSocket *)target, buffer, &op);
    else
        hr = IOutputStream_WriteAsync((IOutputStream *)target, buffer, &op);
    IBuffer_Release(buffer);
    if (hr >= 0) {
        if (operation)
            *operation = op;
        else
            IAsyncOperationUInt32_Release(op);
    }
    return hr;
}
"""


def digest(header_text):
    """What the module records of the header it was built from (`rtwspy_header_digest`)."""
    return hashlib.sha256(header_text.encode("utf-8")).hexdigest()


def _load_header_module():
    # This file's sibling, without importing the package (which loads the library).
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("_rtws_header",
                                                  os.path.join(here, "_header.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def extern_python(declarations):
    """The `extern "Python"` declarations of CALLBACKS, from their typedefs."""
    out = []
    for name in CALLBACKS:
        m = re.search(r"typedef\s+void\s*\(\s*\*\s*" + name + r"\s*\)\s*\(([^;]*)\)\s*;",
                      declarations)
        if not m:
            raise ValueError(f"rtws: no typedef of {name} in rtws.h")
        params = " ".join(m[1].split())
        out.append(f'extern "Python" void rtwspy_py_{name}({params});')
    return "\n".join(out) + "\n"


def builder(header_path):
    """The cffi.FFI to compile, for the header at `header_path`."""
    import cffi

    with open(header_path, encoding="utf-8") as f:
        text = f.read()
    declarations, _ = _load_header_module().preprocess(text)
    ffi = cffi.FFI()
    ffi.cdef(declarations + HELPERS_CDEF + extern_python(declarations))
    source = (f'#include "rtws.h"\n'
              f'const char *rtwspy_header_digest(void) {{ return "{digest(text)}"; }}\n'
              + HELPERS_SOURCE)
    ffi.set_source(MODULE, source,
                   include_dirs=[os.path.dirname(os.path.abspath(header_path))],
                   extra_compile_args=["-O2"])
    return ffi


def build(header_path, out_dir):
    """Compiles the module into `out_dir` (its C and object files too); returns its path."""
    os.makedirs(out_dir, exist_ok=True)
    return builder(header_path).compile(tmpdir=out_dir, verbose=False)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: _build.py HEADER OUTDIR")
    print(build(sys.argv[1], sys.argv[2]))
