//! `Windows.System.Threading.ThreadPool`: the host's work on a library thread
//! (`run_async`), and a delay (`delay`), each as an `IAsyncAction`. They are what a
//! coroutine front end needs for `resume_background` and `co_await` on a duration.
//!
//! Work items run on the runtime's blocking pool, not on an I/O worker: a work item
//! may block (a `Wait` is allowed there) without holding up any socket.

use crate::winrt::async_op::AsyncOp;
use crate::winrt::runtime;
use rtws_types::{Error, Result, E_ABORT};
use std::sync::Arc;
use std::time::Duration;

/// Runs `work(op)` once on a pool thread; `op` completes when it returns
/// (Canceled instead if it was canceled meanwhile: its `complete` is then ignored).
pub fn run_async(
    work: impl FnOnce(&Arc<AsyncOp<()>>) + Send + 'static,
) -> Result<Arc<AsyncOp<()>>> {
    let op = AsyncOp::new();
    let mine = Finish(op.clone());
    runtime::handle()?.spawn_blocking(move || {
        work(&mine.0);
        mine.0.complete(Ok(()));
    });
    Ok(op)
}

/// An operation that completes after `delay`; a cancel stops its timer.
pub fn delay(delay: Duration) -> Result<Arc<AsyncOp<()>>> {
    let op = AsyncOp::new();
    if delay.is_zero() {
        op.complete(Ok(()));
        return Ok(op);
    }
    let mine = Finish(op.clone());
    let timer = runtime::handle()?.spawn(async move {
        tokio::time::sleep(delay).await;
        mine.0.complete(Ok(()));
    });
    op.on_cancel(move || timer.abort());
    Ok(op)
}

/// Fails the operation if its task is dropped before finishing it (`rtws_Shutdown`
/// ends the runtime), so nobody waits for it forever; a no-op once it finished.
struct Finish(Arc<AsyncOp<()>>);

impl Drop for Finish {
    fn drop(&mut self) {
        self.0.complete(Err(Error::new(
            E_ABORT,
            "rtws_Shutdown ended the library's threads before the operation finished",
        )));
    }
}
