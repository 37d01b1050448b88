//! `IInputStream`: the bytes a StreamWebSocket received and the host has not read
//! yet, and the one read that may wait for them (`ReadAsync`, `DataReader.LoadAsync`).
//!
//! The connection pushes payload in as it arrives and stops reading the socket
//! while `ROOM` bytes wait here, so a host that reads slowly holds the server back
//! through TCP instead of growing our memory. A read takes its bytes only when it
//! completes, and finishes its operation under the lock, so a canceled read
//! loses nothing and a cancel never meets a read half done.

use crate::session::report::StreamSink;
use crate::winrt::async_op::{AsyncOp, OpHome, Settled};
use bytes::Bytes;
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use rtws_types::*;
use rtws_types::{
    InputStreamOptions_Partial as PARTIAL, InputStreamOptions_ReadAhead as READ_AHEAD,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Context;

/// Refuses values that are not a set of InputStreamOptions flags.
pub fn check_options(options: u32) -> Result<()> {
    if options & !(PARTIAL | READ_AHEAD) != 0 {
        return Err(Error::invalid_arg(format!(
            "{options} is not a set of InputStreamOptions flags"
        )));
    }
    Ok(())
}

/// The connection stops reading from the socket while this much waits here.
const ROOM: usize = 1 << 20;

/// Finishes a read with its bytes (or the failure), under the stream's lock so no
/// cancel or other read can come between; the operation's Completed handler runs
/// after the lock is released. None: the operation was canceled, the bytes stay.
pub type Settle = Box<dyn FnOnce(Result<Taken>) -> Option<Settled> + Send>;

/// The bytes a read took, as the pieces they arrived in (copied once, by whoever
/// gets them, into a buffer or a reader).
#[derive(Debug, Default)]
pub struct Taken(pub Vec<Bytes>);

impl Taken {
    pub fn len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// One `Bytes`: no copy when the bytes came in one piece.
    pub fn into_bytes(mut self) -> Bytes {
        match self.0.len() {
            0 => Bytes::new(),
            1 => self.0.pop().expect("one piece"),
            _ => self.0.concat().into(),
        }
    }
}

struct Pending {
    id: u64,
    /// Complete once this many bytes are here (or the stream ended)...
    count: usize,
    /// ...or as soon as there is any byte (InputStreamOptions.Partial)...
    partial: bool,
    /// ...taking at most this many.
    max: usize,
    settle: Settle,
}

#[derive(Default)]
struct State {
    chunks: VecDeque<Bytes>,
    len: usize,
    /// How the stream ended: cleanly (reads then get 0 bytes) or with a failure.
    end: Option<Result<()>>,
    read: Option<Pending>,
    next_id: u64,
    /// A StreamWebSocket's stream before its connect succeeded: nothing would
    /// ever complete a read, so reads are refused.
    unconnected: bool,
}

impl State {
    /// Under `ROOM` bytes wait, or a read waits for more than are here (a read of
    /// more than `ROOM` bytes must be able to fill).
    fn has_room(&self) -> bool {
        self.len < ROOM
            || self
                .read
                .as_ref()
                .is_some_and(|p| !p.partial && p.count > self.len)
    }
}

#[derive(Default)]
pub struct Inbound {
    state: Mutex<State>,
    room: AtomicWaker,
    /// Where the Completed handlers of reads run (its socket's DispatcherQueue),
    /// and its socket's handler watch.
    home: Mutex<OpHome>,
}

/// The session hands a StreamWebSocket's input here.
impl StreamSink for Inbound {
    fn push(&self, data: Bytes) {
        Inbound::push(self, data)
    }
    fn poll_room(&self, cx: &mut Context<'_>) -> bool {
        Inbound::poll_room(self, cx)
    }
    fn finish(&self, end: Result<()>) {
        Inbound::finish(self, end)
    }
}

impl Inbound {
    pub fn new() -> Arc<Self> {
        Arc::new(Inbound::default())
    }

    /// The input stream of a StreamWebSocket not yet connected (see `set_connected`).
    pub fn unconnected() -> Arc<Self> {
        let inbound = Inbound::default();
        inbound.state.lock().unconnected = true;
        Arc::new(inbound)
    }

    /// Reads started from now on complete on `queue` (see `Socket::set_dispatcher_queue`).
    pub fn set_home(&self, home: OpHome) {
        *self.home.lock() = home;
    }

    /// An operation of a read of this stream.
    pub fn new_op<T: Clone + Send + 'static>(&self) -> Arc<AsyncOp<T>> {
        AsyncOp::new_in(self.home.lock().clone())
    }

    /// The socket's connect succeeded (true), or was undone (false): a read
    /// started meanwhile fails, as one started before would have.
    pub fn set_connected(&self, connected: bool) {
        let mut st = self.state.lock();
        st.unconnected = !connected;
        if connected || st.read.is_none() {
            return;
        }
        let pending = st.read.take().expect("checked above");
        let settled = (pending.settle)(Err(not_connected()));
        drop(st);
        if let Some(settled) = settled {
            settled.run();
        }
    }

    /// A stream that holds `data` and then ends (a received message's data stream).
    pub fn from_bytes(data: Bytes) -> Arc<Self> {
        let inbound = Inbound::new();
        inbound.push(data);
        inbound.finish(Ok(()));
        inbound
    }

    /// Bytes received (from the connection).
    pub fn push(&self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        let mut st = self.state.lock();
        st.len += data.len();
        st.chunks.push_back(data);
        self.complete_read(st);
    }

    /// The stream ended (from the connection): pending and later reads get what is
    /// left, then 0 bytes (`Ok`) or the failure.
    pub fn finish(&self, end: Result<()>) {
        let mut st = self.state.lock();
        if st.end.is_none() {
            st.end = Some(end);
        }
        self.complete_read(st);
    }

    /// Whether the connection may read more from the socket; if not, it is woken
    /// when reads make room.
    pub fn poll_room(&self, cx: &mut Context<'_>) -> bool {
        if self.state.lock().has_room() {
            return true;
        }
        self.room.register(cx.waker());
        self.state.lock().has_room()
    }

    /// Starts a read (see `Pending`); `settle` runs once with the bytes or the
    /// failure. Returns an id for `cancel`. One read at a time.
    pub fn read(&self, count: usize, options: u32, max: usize, settle: Settle) -> Result<u64> {
        let mut st = self.state.lock();
        if st.unconnected && st.end.is_none() {
            return Err(not_connected());
        }
        if st.read.is_some() {
            return Err(Error::new(
                RTWS_E_INVALID_OPERATION,
                "a read is already pending on this input stream: wait for it to complete",
            ));
        }
        st.next_id += 1;
        let id = st.next_id;
        st.read = Some(Pending {
            id,
            count,
            partial: options & PARTIAL != 0,
            max: max.max(count),
            settle,
        });
        self.complete_read(st);
        // The connection may have stopped reading for want of room this read makes.
        self.room.wake();
        Ok(id)
    }

    /// Drops read `id` if it still waits (its operation was canceled).
    pub fn cancel(&self, id: u64) {
        let mut st = self.state.lock();
        if st.read.as_ref().is_some_and(|p| p.id == id) {
            st.read = None;
        }
    }

    /// Completes the pending read if it can complete now.
    fn complete_read(&self, mut st: parking_lot::MutexGuard<'_, State>) {
        let ready = match &st.read {
            None => false,
            Some(p) => {
                st.len >= p.count.max(1)
                    || (p.partial && st.len > 0)
                    || st.end.is_some()
                    || p.count == 0
            }
        };
        if !ready {
            return;
        }
        let pending = st.read.take().expect("checked above");
        let (result, taken) = if st.len == 0 {
            let r = match &st.end {
                Some(Err(e)) => Err(e.clone()),
                _ => Ok(Taken::default()),
            };
            (r, Vec::new())
        } else {
            let taken = take(&mut st, pending.max);
            (Ok(Taken(taken.clone())), taken)
        };
        let Some(settled) = (pending.settle)(result) else {
            // Canceled meanwhile: the bytes go back where they were.
            for chunk in taken.into_iter().rev() {
                st.len += chunk.len();
                st.chunks.push_front(chunk);
            }
            return;
        };
        let made_room = st.has_room();
        drop(st);
        if made_room {
            self.room.wake();
        }
        settled.run();
    }
}

fn not_connected() -> Error {
    Error::illegal_call("the StreamWebSocket is not connected: wait for ConnectAsync to complete")
}

/// Takes up to `max` bytes from the front, as the pieces they are (no copy).
fn take(st: &mut State, max: usize) -> Vec<Bytes> {
    let mut left = max.min(st.len);
    st.len -= left;
    let mut out = Vec::new();
    while left > 0 {
        let front = st.chunks.front_mut().expect("len counts the chunks");
        let k = front.len().min(left);
        out.push(front.split_to(k));
        left -= k;
        if front.is_empty() {
            st.chunks.pop_front();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn read(i: &Inbound, count: usize, options: u32) -> mpsc::Receiver<Result<Bytes>> {
        let (tx, rx) = mpsc::channel();
        i.read(
            count,
            options,
            count,
            Box::new(move |r: Result<Taken>| {
                tx.send(r.map(Taken::into_bytes)).unwrap();
                crate::winrt::async_op::AsyncOp::<()>::new().settle(Ok(()))
            }),
        )
        .unwrap();
        rx
    }

    #[test]
    fn reads_wait_for_count_or_any_byte_and_see_the_end() {
        let i = Inbound::new();
        let rx = read(&i, 5, 0);
        i.push(Bytes::from_static(b"abc"));
        assert!(rx.try_recv().is_err(), "None waits for all 5");
        i.push(Bytes::from_static(b"defg"));
        assert_eq!(&rx.try_recv().unwrap().unwrap()[..], b"abcde");
        let rx = read(&i, 10, PARTIAL);
        assert_eq!(&rx.try_recv().unwrap().unwrap()[..], b"fg");
        let rx = read(&i, 10, 0);
        i.push(Bytes::from_static(b"h"));
        i.finish(Ok(()));
        assert_eq!(
            &rx.try_recv().unwrap().unwrap()[..],
            b"h",
            "fewer at the end"
        );
        assert!(read(&i, 10, 0).try_recv().unwrap().unwrap().is_empty());
    }

    #[test]
    fn a_canceled_read_takes_nothing_and_failures_come_after_the_data() {
        let i = Inbound::new();
        i.read(4, 0, 4, Box::new(|_| None)).unwrap(); // its operation was canceled
        i.push(Bytes::from_static(b"wxyz"));
        i.finish(Err(Error::closed("x")));
        let rx = read(&i, 2, 0);
        assert_eq!(&rx.try_recv().unwrap().unwrap()[..], b"wx");
        let rx = read(&i, 9, 0);
        assert_eq!(&rx.try_recv().unwrap().unwrap()[..], b"yz");
        assert!(read(&i, 1, 0).try_recv().unwrap().is_err());
    }

    #[test]
    fn reads_before_connect_are_refused_and_close_ends_them() {
        let i = Inbound::unconnected();
        let e = i.read(1, 0, 1, Box::new(|_| None)).unwrap_err();
        assert_eq!(e.hr, E_ILLEGAL_METHOD_CALL);
        i.set_connected(true);
        let rx = read(&i, 1, 0);
        i.set_connected(false); // a connect canceled after it succeeded
        assert_eq!(
            rx.try_recv().unwrap().unwrap_err().hr,
            E_ILLEGAL_METHOD_CALL
        );
        // Closed before it ever connected: reads see the end, not a wait.
        i.finish(Err(Error::closed("the StreamWebSocket")));
        assert_eq!(
            read(&i, 1, 0).try_recv().unwrap().unwrap_err().hr,
            RO_E_CLOSED
        );
    }
}
