//! The logger behind the core's `log` records: the host's callback
//! (`rtws_SetLogHandler`), or else stderr when `RTWS_LOG=<level>` is set, or
//! nothing. No exports: the functions are `rtws_*` (error/rtws.rs).
//!
//! While nobody listens the level is Off, so a record in the core costs one
//! relaxed load (`log::max_level`) and nothing else: no formatting, no clock.
//!
//! Imports: `crate::ffi` (c_text, Context), `rtws_types`.

use crate::ffi::error::RtwsLogHandler;
use crate::ffi::{c_text, Context};
use parking_lot::RwLock;
use rtws_types::{Error, Result, RtwsLogLevel};
use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

type Callback = extern "C" fn(*mut c_void, RtwsLogLevel, *const c_char, *const c_char);

struct Sink {
    handler: Option<(Callback, Context)>,
    level: RtwsLogLevel,
}

static SINK: RwLock<Sink> = RwLock::new(Sink {
    handler: None,
    level: RtwsLogLevel::Off,
});
static INSTALL: Once = Once::new();
/// Whether our logger is the `log` facade's (another may have been installed first).
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Held (shared) while a handler runs: `set_handler` takes it exclusively to wait
/// for calls in flight, so the host may free the old context once it returns.
static CALLS: RwLock<()> = RwLock::new(());

thread_local! {
    /// Set while this thread is inside the log handler: what rtws logs meanwhile
    /// (the handler may call rtws) is dropped instead of recursing.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

struct Logger;
static LOGGER: Logger = Logger;

/// Makes the logger the `log` facade's (once), and reads `RTWS_LOG` then. Called
/// where rtws starts doing something worth logging (a connect, a queue) and by
/// `set_handler`; a process that installed another logger first keeps it.
pub(crate) fn install() {
    INSTALL.call_once(|| {
        if log::set_logger(&LOGGER).is_err() {
            return;
        }
        INSTALLED.store(true, Ordering::Release);
        let mut sink = SINK.write();
        if sink.handler.is_none() {
            sink.level = env_level();
        }
        apply(sink.level);
    });
}

/// The level `RTWS_LOG` names (error, warn, info, debug, trace, off; any case).
fn env_level() -> RtwsLogLevel {
    let Ok(v) = std::env::var("RTWS_LOG") else {
        return RtwsLogLevel::Off;
    };
    use RtwsLogLevel::*;
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "off" | "0" => Off,
        "error" => Error,
        "warn" | "warning" => Warn,
        "info" => Info,
        "debug" => Debug,
        "trace" => Trace,
        other => {
            let _ = writeln!(
                std::io::stderr(),
                "rtws: RTWS_LOG={other:?} is not a level (off, error, warn, info, debug, trace): \
                 logging stays off"
            );
            Off
        }
    }
}

fn apply(level: RtwsLogLevel) {
    log::set_max_level(match level {
        RtwsLogLevel::Off => log::LevelFilter::Off,
        RtwsLogLevel::Error => log::LevelFilter::Error,
        RtwsLogLevel::Warn => log::LevelFilter::Warn,
        RtwsLogLevel::Info => log::LevelFilter::Info,
        RtwsLogLevel::Debug => log::LevelFilter::Debug,
        RtwsLogLevel::Trace => log::LevelFilter::Trace,
    });
}

/// `rtws_SetLogHandler`: records at or below `level` go to `handler` (NULL: back
/// to `RTWS_LOG` on stderr, or nothing). Returns once no call of the previous
/// handler is in flight (unless called from inside one: it cannot wait for itself).
pub(crate) fn set_handler(
    handler: RtwsLogHandler,
    context: *mut c_void,
    level: RtwsLogLevel,
) -> Result<()> {
    install();
    if !INSTALLED.load(Ordering::Acquire) {
        return Err(Error::illegal_call(
            "another logger of the Rust `log` facade was installed in this process first: \
             rtws's records go to it",
        ));
    }
    {
        let mut sink = SINK.write();
        match handler {
            Some(h) => {
                sink.handler = Some((h, Context(context)));
                sink.level = level;
            }
            None => {
                sink.handler = None;
                sink.level = env_level();
            }
        }
        apply(sink.level);
    }
    if !IN_HANDLER.with(Cell::get) {
        drop(CALLS.write());
    }
    Ok(())
}

fn rtws_level(level: log::Level) -> RtwsLogLevel {
    match level {
        log::Level::Error => RtwsLogLevel::Error,
        log::Level::Warn => RtwsLogLevel::Warn,
        log::Level::Info => RtwsLogLevel::Info,
        log::Level::Debug => RtwsLogLevel::Debug,
        log::Level::Trace => RtwsLogLevel::Trace,
    }
}

/// Hands one record to the host's handler, or to stderr.
fn emit(level: RtwsLogLevel, target: &str, message: &dyn std::fmt::Display) {
    if IN_HANDLER.with(Cell::get) {
        return;
    }
    // CALLS first: a set_handler that swaps the handler now waits for this call.
    // SINK is copied out and not held while the host's code runs (it may set a new
    // handler).
    let in_flight = CALLS.read();
    let handler = SINK.read().handler;
    match handler {
        Some((callback, context)) => {
            let target = c_text(target);
            let message = c_text(&message.to_string());
            IN_HANDLER.with(|f| f.set(true));
            callback(context.0, level, target.as_ptr(), message.as_ptr());
            IN_HANDLER.with(|f| f.set(false));
            drop(in_flight);
        }
        None => {
            drop(in_flight);
            let _ = writeln!(std::io::stderr(), "rtws {level:?} {target}: {message}");
        }
    }
}

/// `rtws_WriteLog`: a host's record, logged like rtws's own (whatever its target).
pub(crate) fn write(level: RtwsLogLevel, target: &str, message: &str) -> Result<()> {
    let filter = match level {
        RtwsLogLevel::Off => {
            return Err(Error::invalid_arg("a record's level cannot be Off"));
        }
        RtwsLogLevel::Error => log::Level::Error,
        RtwsLogLevel::Warn => log::Level::Warn,
        RtwsLogLevel::Info => log::Level::Info,
        RtwsLogLevel::Debug => log::Level::Debug,
        RtwsLogLevel::Trace => log::Level::Trace,
    };
    install();
    if !INSTALLED.load(Ordering::Acquire) {
        // Another logger owns the facade: rtws's own records go there, so these do too.
        log::log!(target: target, filter, "{message}");
    } else if filter <= log::max_level() {
        emit(level, target, &message);
    }
    Ok(())
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.target().starts_with("rtws") && metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            emit(rtws_level(record.level()), record.target(), record.args());
        }
    }

    fn flush(&self) {}
}
