//! Bytes moved by one connection, and the rates `BandwidthStatistics` reports.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rates are measured over windows of at least this long.
const WINDOW: Duration = Duration::from_secs(1);

pub struct Traffic {
    inbound: AtomicU64,
    outbound: AtomicU64,
    window: Mutex<Window>,
}

struct Window {
    start: Instant,
    inbound: u64,
    outbound: u64,
    /// Bits per second over the last full window (inbound, outbound).
    rates: (u64, u64),
}

impl Traffic {
    pub fn new() -> Arc<Self> {
        Arc::new(Traffic {
            inbound: AtomicU64::new(0),
            outbound: AtomicU64::new(0),
            window: Mutex::new(Window {
                start: Instant::now(),
                inbound: 0,
                outbound: 0,
                rates: (0, 0),
            }),
        })
    }

    pub fn received(&self, n: usize) {
        self.inbound.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn sent(&self, n: usize) {
        self.outbound.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn total_sent(&self) -> u64 {
        self.outbound.load(Ordering::Relaxed)
    }

    pub fn total_received(&self) -> u64 {
        self.inbound.load(Ordering::Relaxed)
    }

    /// (inbound, outbound) bits per second over the last window of at least one
    /// second that ended at a call; 0 until one second after the connect.
    pub fn rates(&self) -> (u64, u64) {
        let now = Instant::now();
        let mut w = self.window.lock();
        let elapsed = now.duration_since(w.start);
        if elapsed >= WINDOW {
            let (inbound, outbound) = (
                self.inbound.load(Ordering::Relaxed),
                self.outbound.load(Ordering::Relaxed),
            );
            let bps = |bytes: u64| (bytes as f64 * 8.0 / elapsed.as_secs_f64()) as u64;
            w.rates = (bps(inbound - w.inbound), bps(outbound - w.outbound));
            w.start = now;
            w.inbound = inbound;
            w.outbound = outbound;
        }
        w.rates
    }
}
