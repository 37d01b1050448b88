//! `/stream`: one large message (up to several GiB) written frame header by frame header and
//! piece by piece straight to the connection, so the server's memory stays small whatever the
//! message size (for the client's large-message and memory tests).

use std::io;
use std::time::Duration;

use futures_util::SinkExt;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data as OpData, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, FrameHeader};
use tokio_tungstenite::tungstenite::Error;

use crate::conn::Conn;
use crate::{binary_pattern, close_and_drain, echo, text_pattern, Query, Ws, HOLD};

/// Default message size (as /big).
const DEFAULT_BYTES: u64 = 1 << 20;
/// Default size of the pieces the payload is written in; larger `chunk=` values are cut
/// down to `MAX_CHUNK` so the server's buffer stays small.
const DEFAULT_CHUNK: usize = 64 * 1024;
const MAX_CHUNK: usize = 16 << 20;
/// How long one write (a frame header, a payload piece, the final flush) may make no
/// progress: a client that stops reading is dropped after this (as long as /silent holds).
const STALL: Duration = HOLD;

/// `/stream?bytes=N&frames=F&chunk=C&type=text&then=echo|close`: sends one N-byte message
/// (default 1 MiB; u64) in F frames (default 1; with F > 1 a Binary/Text frame with FIN=0,
/// Continuation frames, the last with FIN=1; sizes as equal as possible, the first
/// `N % F` one byte larger). Byte i of the message is `i % 251` (type=text:
/// `b'a' + i % 26`), as /big. Each frame's header is written by hand (unmasked) and its
/// payload in pieces of at most C bytes (default 65536) directly to the connection, so
/// the message never exists in memory. Nothing is read meanwhile. Then `then=echo`
/// (default) echoes like /echo, `then=close` closes with 1000 and waits (bounded) for the
/// reply.
pub async fn serve(ws: &mut Ws, q: &Query) -> Result<(), Error> {
    let bytes = q.num("bytes", DEFAULT_BYTES);
    let frames = q.num("frames", 1u64).max(1);
    let chunk = q.num("chunk", DEFAULT_CHUNK).clamp(1, MAX_CHUNK);
    let (first, period, pattern) = if q.is_text() {
        (OpData::Text, 26, text_pattern(chunk + 26).into_bytes())
    } else {
        (OpData::Binary, 251, binary_pattern(chunk + 251))
    };
    // The pattern repeats every `period` bytes, so the piece at message offset i is
    // `pattern[i % period..][..len]`: no per-piece work besides the write itself.

    // Whatever tungstenite still buffers (e.g. a Pong) goes out before the raw frames.
    ws.flush().await?;
    let conn = ws.get_mut();
    let (base, longer) = (bytes / frames, bytes % frames);
    let mut offset = 0u64;
    let mut header = Vec::with_capacity(14);
    for k in 0..frames {
        let len = base + u64::from(k < longer);
        let opcode = OpCode::Data(if k == 0 { first } else { OpData::Continue });
        header.clear();
        FrameHeader {
            is_final: k + 1 == frames,
            opcode,
            ..FrameHeader::default() // no mask: a server frame (RFC 6455 5.1)
        }
        .format(len, &mut header)?;
        write(conn, &header).await?;
        let end = offset + len;
        while offset < end {
            let n = (end - offset).min(chunk as u64) as usize;
            let at = (offset % period) as usize;
            write(conn, &pattern[at..at + n]).await?;
            offset += n as u64;
        }
    }
    stalled(timeout(STALL, conn.flush()).await)?;

    if q.get("then") == Some("close") {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        // close_and_drain bounds the wait for the reply; this also bounds sending the Close.
        let _ = timeout(STALL, close_and_drain(ws, Some(frame))).await;
    } else {
        echo(ws, None).await?;
    }
    Ok(())
}

/// Writes all of `buf` to the connection, giving up after `STALL`.
async fn write(conn: &mut Conn, buf: &[u8]) -> Result<(), Error> {
    stalled(timeout(STALL, conn.write_all(buf)).await)
}

fn stalled(result: Result<io::Result<()>, tokio::time::error::Elapsed>) -> Result<(), Error> {
    match result {
        Ok(done) => Ok(done?),
        Err(_) => Err(Error::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("client stopped reading: no write progress for {STALL:?}"),
        ))),
    }
}
