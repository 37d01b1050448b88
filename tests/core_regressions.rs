//! Regressions found by a review of the frame layer and the stream readers, each
//! against a raw TCP peer on loopback (bounded: every wait has a timeout, the peer
//! threads end by themselves).

mod common;

use common::raw::{frame, peer};
use rtws_core::winrt::message_websocket::MessageWebSocket;
use rtws_core::winrt::socket::Socket;
use rtws_core::winrt::stream_websocket::StreamWebSocket;
use rtws_core::winrt::streams::DataReader;
use std::io::Write;
use std::sync::{mpsc, Arc};
use std::time::Duration;

fn connect(socket: &Arc<Socket>, port: u16) {
    socket
        .connect(&format!("ws://127.0.0.1:{port}/"))
        .unwrap()
        .wait(Some(Duration::from_secs(5)))
        .unwrap();
}

/// The length of the first message a FullMessage MessageWebSocket receives.
fn first_message_len(port: u16) -> Option<u32> {
    let ws = MessageWebSocket::default();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    ws.socket().add_message_received(Box::new(move |args| {
        let n = args.data_reader().map(|r| r.unconsumed_len().unwrap());
        let _ = tx.lock().unwrap().send(n.ok());
    }));
    connect(ws.socket(), port);
    rx.recv_timeout(Duration::from_secs(5)).unwrap()
}

/// FullMessage: a fragmented message whose second fragment comes 1.5 s later.
#[test]
fn slow_fragmented_message_is_whole() {
    let (port, server) = peer(|mut s| {
        s.write_all(&frame(0x02, &vec![7u8; 200_000])).unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        s.write_all(&frame(0x80, b"0123456789")).unwrap();
        std::thread::sleep(Duration::from_millis(1000));
    });
    assert_eq!(first_message_len(port), Some(200_010), "message length");
    server.join().unwrap();
}

/// StreamWebSocket: LoadAsync(2 MiB) with InputStreamOptions None.
#[test]
fn load_of_more_than_one_mib_completes() {
    let (port, _server) = peer(|mut s| {
        s.write_all(&frame(0x82, &vec![1u8; 3 << 20])).unwrap();
        std::thread::sleep(Duration::from_secs(6));
    });
    let ws = StreamWebSocket::default();
    connect(ws.socket(), port);
    let reader = Arc::new(DataReader::from_stream(ws.input_stream()));
    let op = reader.load(2 << 20).unwrap();
    let r = op.wait(Some(Duration::from_secs(5)));
    assert_eq!(r.map_err(|e| format!("{:?}", e.message)), Ok(2 << 20));
}

/// FullMessage: one 200 KB frame whose second half comes 1.5 s later.
#[test]
fn slow_single_frame_is_whole() {
    let (port, server) = peer(|mut s| {
        let f = frame(0x82, &vec![7u8; 200_000]);
        s.write_all(&f[..100_000]).unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        s.write_all(&f[100_000..]).unwrap();
        std::thread::sleep(Duration::from_millis(1000));
    });
    assert_eq!(first_message_len(port), Some(200_000), "message length");
    server.join().unwrap();
}

/// A reader closed with a load pending: a new reader on the same stream.
#[test]
fn closed_reader_keeps_its_load() {
    let (port, _server) = peer(|mut s| {
        std::thread::sleep(Duration::from_millis(500));
        s.write_all(&frame(0x82, b"hello")).unwrap();
        std::thread::sleep(Duration::from_secs(3));
    });
    let ws = StreamWebSocket::default();
    connect(ws.socket(), port);
    let old = Arc::new(DataReader::from_stream(ws.input_stream()));
    let pending = old.load(5).unwrap();
    old.close();
    drop(old);
    let closed = pending.wait(Some(Duration::from_secs(1)));
    assert_eq!(closed.unwrap_err().hr, rtws_types::RO_E_CLOSED);
    // The bytes the closed reader never took reach the next one.
    let new = Arc::new(DataReader::from_stream(ws.input_stream()));
    let n = new
        .load(5)
        .unwrap()
        .wait(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(n, 5);
    let mut got = [0u8; 5];
    new.read_bytes(&mut got).unwrap();
    assert_eq!(&got, b"hello");
}
