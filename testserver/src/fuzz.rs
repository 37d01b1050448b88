//! `/fuzz?seed=S&case=N`: plays one case of the peer-side protocol fuzzer (`fuzz_case`):
//! its handshake response and frames, written in pieces, while reading what the client
//! sends; then prints `FUZZ seed=S case=N family=… expect=… client=…` on stdout.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::time::{sleep, timeout_at, Instant};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::Error;

use crate::conn::Conn;
use crate::fuzz_case::{After, Case, ClientReport};
use crate::Head;

/// The longest a case may keep the connection: clients end theirs in milliseconds, so
/// this only bounds a client that never does.
const CASE_LIMIT: Duration = Duration::from_secs(10);

pub async fn serve(mut stream: Conn, head: &Head) -> Result<(), Error> {
    let case = Case::generate(head.query.num("seed", 0u64), head.query.num("case", 0u64));
    let key = head.header("sec-websocket-key").unwrap_or("");
    let wire = case.wire(
        &derive_accept_key(key.as_bytes()),
        &derive_accept_key(format!("{key}-other").as_bytes()),
    );
    // The request is consumed first: what the client sends afterwards is its frames.
    stream.read_exact(&mut vec![0; head.len]).await?;
    let deadline = Instant::now() + CASE_LIMIT;
    let (mut rd, mut wr) = tokio::io::split(stream);
    let client_closed = Arc::new(Notify::new());

    // Reading goes on while writing: a client that fails the connection half-way closes
    // its side early, and its close frame must be read before that.
    let read = {
        let client_closed = client_closed.clone();
        async move {
            let mut report = ClientReport::default();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            report.end = loop {
                match timeout_at(deadline, rd.read(&mut chunk)).await {
                    Err(_) => break "timeout",
                    Ok(Ok(0)) => break "eof",
                    Ok(Err(_)) => break "reset",
                    Ok(Ok(n)) => {
                        buf.extend_from_slice(&chunk[..n]);
                        report.feed(&mut buf);
                        if report.close.is_some() {
                            client_closed.notify_one();
                        }
                    }
                }
            }
            .to_string();
            client_closed.notify_one();
            report
        }
    };
    let write = async {
        let mut at = 0;
        for w in case.writes(wire.len()) {
            if w.pause_ms > 0 {
                sleep(Duration::from_millis(w.pause_ms)).await;
            }
            // A client that gave up early is no error here: what it made of the case is
            // the driver's to judge.
            if wr.write_all(&wire[at..w.end]).await.is_err() {
                return wr;
            }
            at = w.end;
        }
        match case.after {
            After::Fin => {
                let _ = wr.shutdown().await;
            }
            After::AwaitClose => {
                let _ = timeout_at(deadline, client_closed.notified()).await;
                let _ = wr.shutdown().await;
            }
            After::Hold => {}
        }
        // Kept until the reading ends: dropping both halves closes the connection.
        wr
    };
    let (report, _wr) = tokio::join!(read, write);
    println!("{}", case.line(&report));
    Ok(())
}
