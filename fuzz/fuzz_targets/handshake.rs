//! libFuzzer driver of the `handshake` target; the body (and its properties) is
//! `fuzz/bodies/handshake.rs`, which `tests/fuzz.rs` also runs on stable.
#![no_main]

// Every target compiles all bodies (they share helpers); this one uses one.
#[allow(dead_code)]
#[path = "../bodies/mod.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = bodies::handshake::run(data);
});
