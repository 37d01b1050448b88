//! A tiny emulation of the Autobahn|Testsuite fuzzingserver URL protocol, so a
//! conformance testee written for Autobahn can be pointed at this server.
//! Results go to stdout as `AUTOBAHN ...` lines.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data as OpData, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame};
use tokio_tungstenite::tungstenite::{Error, Message};

use crate::{binary_pattern, close_and_drain, text_pattern, Query, Ws};

const CASE_COUNT: u32 = 10;
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// Per agent: (passed, failed), over this server instance's lifetime.
static REPORTS: Mutex<BTreeMap<String, (u32, u32)>> = Mutex::new(BTreeMap::new());

pub async fn serve(ws: &mut Ws, path: &str, q: &Query) -> Result<(), Error> {
    let agent = q.get("agent").unwrap_or("unknown");
    match path {
        "/getCaseCount" => {
            ws.send(Message::text(CASE_COUNT.to_string())).await?;
            close_and_drain(ws, normal_close()).await;
        }
        "/runCase" => {
            let case = q.num("case", 0u32);
            let verdict = match case_messages(case) {
                Some((send, expect)) => {
                    let verdict = run_case(ws, send, expect).await;
                    let mut reports = REPORTS.lock().unwrap();
                    let entry = reports.entry(agent.to_string()).or_default();
                    if verdict.is_ok() {
                        entry.0 += 1;
                    } else {
                        entry.1 += 1;
                    }
                    verdict
                }
                None => {
                    close_and_drain(ws, normal_close()).await;
                    Err("no such case".into())
                }
            };
            match verdict {
                Ok(()) => print_line(format!("AUTOBAHN agent={agent} case={case} OK")),
                Err(why) => print_line(format!("AUTOBAHN agent={agent} case={case} FAILED {why}")),
            }
        }
        "/updateReports" => {
            let (passed, failed) = REPORTS
                .lock()
                .unwrap()
                .get(agent)
                .copied()
                .unwrap_or_default();
            print_line(format!(
                "AUTOBAHN agent={agent} report passed={passed} failed={failed}"
            ));
            close_and_drain(ws, normal_close()).await;
        }
        _ => unreachable!("routed by main"),
    }
    Ok(())
}

fn print_line(line: String) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn normal_close() -> Option<CloseFrame> {
    Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    })
}

/// What a case puts on the wire, and the messages that must come back, in order.
fn case_messages(case: u32) -> Option<(Vec<Message>, Vec<Message>)> {
    let frame = |data: &[u8], op: OpData, fin| {
        Message::Frame(Frame::message(data.to_vec(), OpCode::Data(op), fin))
    };
    let single = |msg: Message| (vec![msg.clone()], vec![msg]);
    Some(match case {
        1 => single(Message::text("Hello, World!")),
        2 => single(Message::binary(binary_pattern(125))),
        3 => single(Message::text("")),
        4 => single(Message::binary(Vec::new())),
        5 => single(Message::text(text_pattern(65536))),
        6 => single(Message::binary(binary_pattern(1 << 20))),
        7 => {
            let text = b"fragmented message";
            let send = vec![
                frame(&text[..5], OpData::Text, false),
                frame(&text[5..10], OpData::Continue, false),
                frame(&text[10..], OpData::Continue, true),
            ];
            (send, vec![Message::text("fragmented message")])
        }
        8 => {
            let data = binary_pattern(3000);
            let send = vec![
                frame(&data[..1000], OpData::Binary, false),
                Message::Ping("p".into()),
                frame(&data[1000..2000], OpData::Continue, false),
                frame(&data[2000..], OpData::Continue, true),
            ];
            (send, vec![Message::binary(data)])
        }
        9 => single(Message::text("κόσμε")),
        10 => {
            // Distinct payloads so reordering is detected.
            let msgs: Vec<Message> = (0..100u8).map(|i| Message::binary(vec![i; 16])).collect();
            (msgs.clone(), msgs)
        }
        _ => return None,
    })
}

async fn run_case(ws: &mut Ws, send: Vec<Message>, expect: Vec<Message>) -> Result<(), String> {
    let exchange = async {
        for msg in send {
            ws.feed(msg).await.map_err(|e| e.to_string())?;
        }
        ws.flush().await.map_err(|e| e.to_string())?;
        for (i, want) in expect.iter().enumerate() {
            let got = next_data(ws).await?;
            if &got != want {
                return Err(format!(
                    "message {i}: sent {}, got back {}",
                    describe(want),
                    describe(&got)
                ));
            }
        }
        Ok(())
    };
    let verdict = timeout(ECHO_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err("timed out waiting for echo".into()));
    let replied = close_and_drain(ws, normal_close()).await;
    verdict.and_then(|()| {
        if replied {
            Ok(())
        } else {
            Err("no close reply".into())
        }
    })
}

async fn next_data(ws: &mut Ws) -> Result<Message, String> {
    loop {
        match ws.next().await {
            Some(Ok(msg @ (Message::Text(_) | Message::Binary(_)))) => return Ok(msg),
            Some(Ok(Message::Close(_))) | None => return Err("peer closed before echoing".into()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
        }
    }
}

fn describe(msg: &Message) -> String {
    let kind = if msg.is_text() { "text" } else { "binary" };
    format!("{kind} of {} bytes", msg.len())
}
