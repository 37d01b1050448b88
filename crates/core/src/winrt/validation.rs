//! What a `wss:` connect shows of the server (Information's certificates and
//! errors) and ServerCustomValidationRequested: its arguments and Deferral.

use crate::net::tls::PeerChain;
use crate::winrt::certificate::Certificate;
use parking_lot::Mutex;
use rtws_types::{ChainValidationResult, SocketSslErrorSeverity};
use std::sync::Arc;

/// The server's chain (leaf first) as certificates, and the certificate errors
/// found (ignored ones included).
#[derive(Clone, Default)]
pub struct ServerTrust {
    pub chain: Vec<Arc<Certificate>>,
    pub errors: Vec<ChainValidationResult>,
}

impl From<PeerChain> for ServerTrust {
    fn from(peer: PeerChain) -> Self {
        ServerTrust {
            chain: peer
                .chain
                .into_iter()
                .filter_map(|x| Certificate::from_x509(x, None).ok())
                .map(Arc::new)
                .collect(),
            errors: peer.errors,
        }
    }
}

impl ServerTrust {
    /// The server's own certificate.
    pub fn certificate(&self) -> Option<&Arc<Certificate>> {
        self.chain.first()
    }
    /// The certificates the server sent after its own.
    pub fn intermediates(&self) -> &[Arc<Certificate>] {
        self.chain.get(1..).unwrap_or_default()
    }
    pub fn severity(&self) -> SocketSslErrorSeverity {
        if self.errors.is_empty() {
            SocketSslErrorSeverity::None
        } else {
            SocketSslErrorSeverity::Ignorable
        }
    }
}

/// `WebSocketServerCustomValidationRequestedEventArgs`: the server's certificate
/// after OpenSSL's validation passed (ignorable errors aside), for the host to
/// accept or `reject`, at once or later through deferrals.
pub struct ValidationRequest {
    pub trust: ServerTrust,
    rejected: std::sync::atomic::AtomicBool,
    /// Deferrals taken and not completed.
    pending: Mutex<u32>,
    done: tokio::sync::Notify,
}

impl ValidationRequest {
    pub fn new(trust: ServerTrust) -> Arc<Self> {
        Arc::new(ValidationRequest {
            trust,
            rejected: Default::default(),
            pending: Mutex::new(0),
            done: tokio::sync::Notify::new(),
        })
    }

    /// `Reject`: the connect fails.
    pub fn reject(&self) {
        self.rejected
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// `GetDeferral`: the connect waits until the deferral is completed.
    pub fn get_deferral(self: &Arc<Self>) -> Arc<Deferral> {
        *self.pending.lock() += 1;
        Arc::new(Deferral {
            request: self.clone(),
            completed: Default::default(),
        })
    }

    /// Whether the host accepted the server, once every deferral is completed.
    pub async fn accepted(&self) -> bool {
        loop {
            let notified = self.done.notified();
            if *self.pending.lock() == 0 {
                return !self.rejected.load(std::sync::atomic::Ordering::Acquire);
            }
            notified.await;
        }
    }
}

/// `Deferral` of a ServerCustomValidationRequested handler.
pub struct Deferral {
    request: Arc<ValidationRequest>,
    completed: std::sync::atomic::AtomicBool,
}

impl Deferral {
    /// `Complete` (once; later calls do nothing).
    pub fn complete(&self) {
        if !self
            .completed
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            let mut pending = self.request.pending.lock();
            *pending -= 1;
            if *pending == 0 {
                self.request.done.notify_waiters();
            }
        }
    }
}

impl Drop for Deferral {
    /// A deferral let go of without Complete completes: no connect waits forever
    /// for a deferral nobody holds.
    fn drop(&mut self) {
        self.complete();
    }
}
