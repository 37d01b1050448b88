//! The command queue from a socket to its connection task.
//!
//! Unbounded and in call order, like tokio's unbounded channel, but it allocates
//! nothing until the first command (an idle connection pays for an empty
//! `VecDeque`, not a 1.5 KiB block), and the receiver takes everything queued in
//! one lock.

use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

struct Shared<T> {
    items: Mutex<(VecDeque<T>, bool)>,
    /// `items` holds something: set and cleared under its lock, read without it
    /// (`Receiver::try_recv`), so a look that finds nothing takes no lock.
    queued: AtomicBool,
    receiver: AtomicWaker,
}

/// The socket's end. Dropping it closes the queue: the receiver sees the end once
/// it has taken what was queued before.
pub struct Sender<T>(Arc<Shared<T>>);

pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// Taken from the shared queue, not yet handed out.
    local: VecDeque<T>,
}

pub fn queue<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        items: Mutex::new((VecDeque::new(), false)),
        queued: AtomicBool::new(false),
        receiver: AtomicWaker::new(),
    });
    (
        Sender(shared.clone()),
        Receiver {
            shared,
            local: VecDeque::new(),
        },
    )
}

impl<T> Sender<T> {
    /// Queues `item`; gives it back when the receiver is gone.
    pub fn send(&self, item: T) -> Result<(), T> {
        self.send_quiet(item)?;
        self.0.receiver.wake();
        Ok(())
    }
}

impl<T> Sender<T> {
    /// Queues `item` without waking the receiver: the caller has it taken another
    /// way (a batch's end polls the connection on the host's thread).
    pub fn send_quiet(&self, item: T) -> Result<(), T> {
        let mut q = self.0.items.lock();
        if q.1 {
            return Err(item);
        }
        q.0.push_back(item);
        self.0.queued.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Wakes the receiver without a command: it has other work (output left by a
    /// write made on a host thread).
    pub fn wake(&self) {
        self.0.receiver.wake();
    }

    /// Names the queue: the same for its receiver (`Receiver::id`).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.0.items.lock().1 = true;
        self.0.receiver.wake();
    }
}

impl<T> Receiver<T> {
    /// The next item; `Ready(None)` once the sender is gone and all is taken.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(item) = self.local.pop_front() {
            return Poll::Ready(Some(item));
        }
        self.shared.receiver.register(cx.waker());
        let closed = self.take_shared();
        match self.local.pop_front() {
            Some(item) => Poll::Ready(Some(item)),
            None if closed => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    /// The next item if one is queued, without registering for a wake-up: for a
    /// poll that asks again and again (one look per message), and ends with
    /// `poll_recv` before it sleeps. A look that finds nothing costs no lock: a
    /// queued flag read a moment stale is caught by that `poll_recv`.
    pub fn try_recv(&mut self) -> Option<T> {
        if let Some(item) = self.local.pop_front() {
            return Some(item);
        }
        if !self.shared.queued.load(Ordering::Relaxed) {
            return None;
        }
        self.take_shared();
        self.local.pop_front()
    }

    /// Takes everything queued into `local`; whether the sender is gone.
    fn take_shared(&mut self) -> bool {
        let mut q = self.shared.items.lock();
        std::mem::swap(&mut self.local, &mut q.0);
        self.shared.queued.store(false, Ordering::Relaxed);
        q.1
    }

    /// Names the queue (see `Sender::id`).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// Nothing is queued (taken or not).
    pub fn is_empty(&self) -> bool {
        self.local.is_empty() && self.shared.items.lock().0.is_empty()
    }

    /// Refuses later sends and returns everything still queued.
    pub fn close_and_drain(&mut self) -> Vec<T> {
        let mut q = self.shared.items.lock();
        q.1 = true;
        let mut rest: Vec<T> = self.local.drain(..).collect();
        rest.extend(q.0.drain(..));
        self.shared.queued.store(false, Ordering::Relaxed);
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `try_recv` takes what is queued without registering; the registering
    /// `poll_recv` that a task makes before sleeping sees what came after, and
    /// the end of the queue (which a look does not report).
    #[test]
    fn a_look_takes_what_is_queued_and_the_last_ask_sees_the_rest() {
        let (tx, mut rx) = queue::<u32>();
        assert_eq!(rx.try_recv(), None);
        tx.send_quiet(1).unwrap();
        tx.send_quiet(2).unwrap();
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.try_recv(), None, "nothing queued: no lock taken");
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(rx.poll_recv(&mut cx).is_pending());
        tx.send_quiet(3).unwrap();
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(3)));
        tx.send_quiet(4).unwrap();
        drop(tx);
        assert_eq!(rx.try_recv(), Some(4));
        assert_eq!(rx.try_recv(), None);
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
    }
}
