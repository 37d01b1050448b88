//! Handle checks of the exported C functions: NULL handles and outputs
//! (E_POINTER), released, wrong-type and made-up handles (E_INVALIDARG, AddRef and
//! Release returning 0), reference counts, and the thread-local last error
//! message. These need no server: a handle is refused before any I/O.

mod common;

use common::*;
use rtws::ffi::async_op::*;
use rtws::ffi::message_websocket::*;
use rtws::ffi::streams::*;
use rtws::ffi::vector::*;
use rtws::ffi::EventRegistrationToken;
use rtws_types::AsyncStatus;
use rtws_types::SocketMessageType;
use std::ptr::null_mut;

/// A handle value that names nothing rtws ever created: aligned like a real one,
/// far above anything the registry hands out in a test run.
const MADE_UP: usize = 0x7fff_dead_bee0;

#[test]
fn null_handles_give_e_pointer() {
    let mut control = null_mut();
    assert_hr(
        MessageWebSocket_get_Control(null_mut(), &mut control),
        E_POINTER,
    );
    assert!(control.is_null(), "an output was written on failure");
    assert!(
        last_error().contains("NULL"),
        "last error should say the pointer is NULL: {:?}",
        last_error()
    );
    let url = c"ws://127.0.0.1:1/";
    let mut op = null_mut();
    assert_hr(
        MessageWebSocket_ConnectAsync(null_mut(), url.as_ptr(), &mut op),
        E_POINTER,
    );
    assert_hr(MessageWebSocket_Close(null_mut()), E_POINTER);
    assert_hr(
        MessageWebSocket_CloseWithStatus(null_mut(), 1000, std::ptr::null()),
        E_POINTER,
    );
    assert_hr(DataWriter_WriteByte(null_mut(), 1), E_POINTER);
    assert_hr(DataWriter_Close(null_mut()), E_POINTER);
    let mut n = 0u32;
    assert_hr(
        DataReader_get_UnconsumedBufferLength(null_mut(), &mut n),
        E_POINTER,
    );
    let mut status = AsyncStatus::Started;
    assert_hr(IAsyncAction_get_Status(null_mut(), &mut status), E_POINTER);
    assert_hr(IAsyncAction_Cancel(null_mut()), E_POINTER);
    assert_hr(IAsyncAction_Wait(null_mut(), 0), E_POINTER);
    assert_hr(IAsyncOperationUInt32_Wait(null_mut(), 0, &mut n), E_POINTER);
    assert_hr(IVectorString_get_Size(null_mut(), &mut n), E_POINTER);

    // AddRef/Release cannot return an HRESULT: 0 means "not a live handle".
    assert_eq!(MessageWebSocket_AddRef(null_mut()), 0);
    assert_eq!(MessageWebSocket_Release(null_mut()), 0);
    assert_eq!(DataWriter_Release(null_mut()), 0);
    assert_eq!(IAsyncAction_Release(null_mut()), 0);
    assert!(last_error().contains("NULL"), "{:?}", last_error());
}

#[test]
fn null_outputs_and_inputs_give_e_pointer() {
    assert_hr(MessageWebSocket_Create(null_mut()), E_POINTER);
    let ws = create_socket();
    assert_hr(MessageWebSocket_get_Control(ws, null_mut()), E_POINTER);
    assert_hr(MessageWebSocket_get_Information(ws, null_mut()), E_POINTER);
    assert_hr(MessageWebSocket_get_OutputStream(ws, null_mut()), E_POINTER);
    let mut op = null_mut();
    assert_hr(
        MessageWebSocket_ConnectAsync(ws, std::ptr::null(), &mut op),
        E_POINTER,
    );
    assert_hr(
        MessageWebSocket_ConnectAsync(ws, c"ws://127.0.0.1:1/".as_ptr(), null_mut()),
        E_POINTER,
    );
    let mut token = EventRegistrationToken { value: 0 };
    assert_hr(
        MessageWebSocket_add_MessageReceived(ws, None, null_mut(), &mut token),
        E_POINTER,
    );
    assert_hr(
        MessageWebSocket_add_Closed(ws, None, null_mut(), &mut token),
        E_POINTER,
    );

    let mut w = null_mut();
    assert_hr(DataWriter_Create(&mut w), S_OK);
    assert_hr(
        DataWriter_WriteString(w, std::ptr::null(), null_mut()),
        E_POINTER,
    );
    // NULL data is allowed with length 0 only.
    assert_hr(DataWriter_WriteBytes(w, 0, std::ptr::null()), S_OK);
    assert_hr(DataWriter_WriteBytes(w, 3, std::ptr::null()), E_POINTER);
    assert_hr(
        DataWriter_get_UnstoredBufferLength(w, null_mut()),
        E_POINTER,
    );
    assert_eq!(DataWriter_Release(w), 0);
    assert_eq!(MessageWebSocket_Release(ws), 0);
}

#[test]
fn misaligned_output_is_refused() {
    let ws = create_socket();
    let mut control = null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
    let mut storage = [0u64; 2];
    // One byte into the array: a misaligned uint32_t *.
    let misaligned = storage
        .as_mut_ptr()
        .cast::<u8>()
        .wrapping_add(1)
        .cast::<u32>();
    assert_hr(
        MessageWebSocketControl_get_MaxMessageSize(control, misaligned),
        E_INVALIDARG,
    );
    assert_eq!(storage, [0, 0], "nothing may be written through it");
    MessageWebSocketControl_Release(control);
    MessageWebSocket_Release(ws);
}

#[test]
fn released_handle_is_refused() {
    let ws = create_socket();
    assert_eq!(MessageWebSocket_Release(ws), 0);
    assert_eq!(
        MessageWebSocket_AddRef(ws),
        0,
        "AddRef on a released handle"
    );
    assert!(
        last_error().contains("not a live MessageWebSocket"),
        "{:?}",
        last_error()
    );
    let mut control = null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), E_INVALIDARG);
    assert_hr(MessageWebSocket_Close(ws), E_INVALIDARG);
    let mut op = null_mut();
    assert_hr(
        MessageWebSocket_ConnectAsync(ws, c"ws://127.0.0.1:1/".as_ptr(), &mut op),
        E_INVALIDARG,
    );
    assert_eq!(MessageWebSocket_Release(ws), 0, "a second Release");
    assert_eq!(MessageWebSocket_AddRef(ws), 0, "the count did not wrap");

    // Keys are never reused: a new object gets a new handle, and the old one
    // stays dead.
    let ws2 = create_socket();
    assert_ne!(ws2, ws);
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), E_INVALIDARG);
    assert_eq!(MessageWebSocket_Release(ws2), 0);

    // The same for the other classes.
    let mut w = null_mut();
    assert_hr(DataWriter_Create(&mut w), S_OK);
    assert_eq!(DataWriter_Release(w), 0);
    assert_hr(DataWriter_WriteByte(w, 1), E_INVALIDARG);
    assert_eq!(DataWriter_AddRef(w), 0);
}

#[test]
fn wrong_type_is_refused() {
    let mut w = null_mut();
    assert_hr(DataWriter_Create(&mut w), S_OK);
    let as_socket = w.cast::<MessageWebSocket>();
    let mut control = null_mut();
    assert_hr(
        MessageWebSocket_get_Control(as_socket, &mut control),
        E_INVALIDARG,
    );
    assert!(control.is_null());
    assert!(
        last_error().contains("not a live MessageWebSocket"),
        "{:?}",
        last_error()
    );
    assert_hr(MessageWebSocket_Close(as_socket), E_INVALIDARG);
    assert_eq!(MessageWebSocket_AddRef(as_socket), 0);
    assert_eq!(MessageWebSocket_Release(as_socket), 0);
    // The refused calls did not touch the writer's own count.
    assert_eq!(DataWriter_AddRef(w), 2);
    assert_eq!(DataWriter_Release(w), 1);

    // A socket passed as its own Control, Information or a DataWriter.
    let ws = create_socket();
    let mut ty = SocketMessageType::Binary;
    assert_hr(
        MessageWebSocketControl_get_MessageType(ws.cast(), &mut ty),
        E_INVALIDARG,
    );
    let mut text = std::ptr::null();
    assert_hr(
        MessageWebSocketInformation_get_LocalAddress(ws.cast(), &mut text),
        E_INVALIDARG,
    );
    assert_hr(DataWriter_WriteByte(ws.cast(), 1), E_INVALIDARG);
    assert_eq!(DataReader_Release(ws.cast()), 0);
    let mut status = AsyncStatus::Started;
    assert_hr(
        IAsyncAction_get_Status(ws.cast(), &mut status),
        E_INVALIDARG,
    );
    // CreateDataWriter wants an IOutputStream, not the socket or another writer.
    let mut other = null_mut();
    assert_hr(
        DataWriter_CreateDataWriter(ws.cast(), &mut other),
        E_INVALIDARG,
    );
    assert_hr(
        DataWriter_CreateDataWriter(w.cast(), &mut other),
        E_INVALIDARG,
    );
    assert!(other.is_null());

    assert_eq!(MessageWebSocket_Release(ws), 0);
    assert_eq!(DataWriter_Release(w), 0);
}

#[test]
fn made_up_pointers_are_refused() {
    let mut local = 0u64;
    let candidates: [*mut MessageWebSocket; 4] = [
        MADE_UP as *mut _,
        (MADE_UP + 3) as *mut _,
        usize::MAX as *mut _,
        // The address of real memory that is no handle at all.
        (&mut local as *mut u64).cast(),
    ];
    for ws in candidates {
        let mut control = null_mut();
        assert_hr(MessageWebSocket_get_Control(ws, &mut control), E_INVALIDARG);
        assert_eq!(MessageWebSocket_AddRef(ws), 0);
        assert_eq!(MessageWebSocket_Release(ws), 0);
        assert_hr(MessageWebSocket_Close(ws), E_INVALIDARG);
        assert_hr(DataWriter_WriteByte(ws.cast(), 7), E_INVALIDARG);
        assert_hr(IAsyncAction_Cancel(ws.cast()), E_INVALIDARG);
    }
    assert_eq!(local, 0, "rtws wrote through a made-up handle");
}

#[test]
fn addref_and_release_count() {
    let ws = create_socket();
    assert_eq!(MessageWebSocket_AddRef(ws), 2);
    assert_eq!(MessageWebSocket_AddRef(ws), 3);
    assert_eq!(MessageWebSocket_Release(ws), 2);
    assert_eq!(MessageWebSocket_Release(ws), 1);
    // Still alive with one reference left.
    let mut control = null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);

    // Getters hand out a new reference: releasing it once ends it, and the
    // socket's own count is unchanged by it.
    assert_eq!(MessageWebSocketControl_AddRef(control), 2);
    assert_eq!(MessageWebSocketControl_Release(control), 1);
    assert_eq!(MessageWebSocketControl_Release(control), 0);
    assert_eq!(MessageWebSocketControl_AddRef(control), 0);

    let mut protocols = null_mut();
    let mut control = null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
    assert_hr(
        MessageWebSocketControl_get_SupportedProtocols(control, &mut protocols),
        S_OK,
    );
    assert_eq!(IVectorString_AddRef(protocols), 2);
    assert_eq!(IVectorString_Release(protocols), 1);
    assert_eq!(IVectorString_Release(protocols), 0);
    assert_eq!(MessageWebSocketControl_Release(control), 0);

    let mut info = null_mut();
    assert_hr(MessageWebSocket_get_Information(ws, &mut info), S_OK);
    assert_eq!(MessageWebSocketInformation_Release(info), 0);

    let mut stream = null_mut();
    assert_hr(MessageWebSocket_get_OutputStream(ws, &mut stream), S_OK);
    let mut w = null_mut();
    assert_hr(DataWriter_CreateDataWriter(stream, &mut w), S_OK);
    // The writer took its own reference on the stream: ours can go.
    assert_eq!(IOutputStream_Release(stream), 0);
    assert_eq!(DataWriter_AddRef(w), 2);
    assert_eq!(DataWriter_Release(w), 1);
    assert_eq!(DataWriter_Release(w), 0);

    assert_eq!(MessageWebSocket_Release(ws), 0);
    assert_eq!(MessageWebSocket_Release(ws), 0);
}

#[test]
fn invalid_enum_and_length_values() {
    let ws = create_socket();
    let mut control = null_mut();
    assert_hr(MessageWebSocket_get_Control(ws, &mut control), S_OK);
    assert_hr(
        MessageWebSocketControl_put_MessageType(control, 2),
        E_INVALIDARG,
    );
    assert_hr(
        MessageWebSocketControl_put_MessageType(control, -1),
        E_INVALIDARG,
    );
    assert_hr(
        MessageWebSocketControl_put_ReceiveMode(control, 7),
        E_INVALIDARG,
    );
    assert_hr(
        MessageWebSocketControl_put_MaxMessageSize(control, 0),
        E_INVALIDARG,
    );
    // The refused values changed nothing.
    let mut ty = SocketMessageType::Utf8;
    assert_hr(
        MessageWebSocketControl_get_MessageType(control, &mut ty),
        S_OK,
    );
    assert_eq!(ty, SocketMessageType::Binary, "UWP's default");
    let mut max = 0u32;
    assert_hr(
        MessageWebSocketControl_get_MaxMessageSize(control, &mut max),
        S_OK,
    );
    assert_eq!(max, u32::MAX, "UWP's default");

    assert_hr(
        MessageWebSocket_CloseWithStatus(ws, 999, std::ptr::null()),
        E_INVALIDARG,
    );
    assert_hr(
        MessageWebSocket_CloseWithStatus(ws, 1006, std::ptr::null()),
        E_INVALIDARG,
    );
    let long_reason = std::ffi::CString::new("r".repeat(124)).unwrap();
    assert_hr(
        MessageWebSocket_CloseWithStatus(ws, 1000, long_reason.as_ptr()),
        E_INVALIDARG,
    );
    let mut w = null_mut();
    assert_hr(DataWriter_Create(&mut w), S_OK);
    assert_hr(DataWriter_put_ByteOrder(w, 2), E_INVALIDARG);
    assert_hr(DataWriter_put_UnicodeEncoding(w, 3), E_INVALIDARG);
    // Not UTF-8.
    let bad = [0xC3u8, 0x28, 0];
    assert_hr(
        DataWriter_WriteString(w, bad.as_ptr().cast(), null_mut()),
        E_INVALIDARG,
    );
    assert_eq!(DataWriter_Release(w), 0);
    MessageWebSocketControl_Release(control);
    MessageWebSocket_Release(ws);
}

#[test]
fn last_error_message_is_per_thread_and_kept_by_successes() {
    std::thread::spawn(|| {
        assert_eq!(last_error(), "", "a fresh thread has no last error");
        let mut control = null_mut();
        assert_hr(
            MessageWebSocket_get_Control(MADE_UP as *mut _, &mut control),
            E_INVALIDARG,
        );
        let first = last_error();
        assert!(
            first.contains("MessageWebSocket") && first.contains(&format!("{MADE_UP:x}")),
            "the message should name the class and the handle: {first:?}"
        );
        // A successful call leaves it as it was.
        let ws = create_socket();
        assert_eq!(last_error(), first);
        // Another thread's failure does not touch this thread's message.
        std::thread::spawn(|| {
            assert_hr(MessageWebSocket_Create(null_mut()), E_POINTER);
            assert!(last_error().contains("NULL"), "{:?}", last_error());
        })
        .join()
        .unwrap();
        assert_eq!(last_error(), first);
        // The next failure replaces it.
        assert_hr(
            MessageWebSocket_ConnectAsync(ws, c"http://x/".as_ptr(), &mut null_mut()),
            E_INVALIDARG,
        );
        assert_ne!(last_error(), first);
        assert!(!last_error().is_empty());
        MessageWebSocket_Release(ws);
    })
    .join()
    .unwrap();
}
