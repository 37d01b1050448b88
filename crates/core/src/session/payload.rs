//! A send's bytes on their way to the connection task.
//!
//! A short message (a chat line, a game update, the pipelined bench's 64 bytes)
//! travels inside its command: no allocation and no reference count per message,
//! where a `Bytes` copy cost a malloc, a free and ~440 instructions per echo. A
//! longer one is shared `Bytes`: the host's IBuffer or the DataWriter's taken
//! buffer, never copied again before it is masked into the output.
//!
//! May import: `bytes`. Used by `session::connection` (`Command::Send`) and by
//! `winrt` (the streams that make sends).

use bytes::Bytes;

/// Messages up to this many bytes travel inline: a send's command is then 128
/// bytes (more costs every move of it on the way to the task).
pub const INLINE: usize = 96;
// The inline length is a u8.
const _: () = assert!(INLINE <= u8::MAX as usize);

pub enum Payload {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Bytes),
}

impl Payload {
    /// A copy of `data`: inline when it fits, else one `Bytes` of exactly its size.
    pub fn copy(data: &[u8]) -> Payload {
        if data.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..data.len()].copy_from_slice(data);
            Payload::Inline {
                len: data.len() as u8,
                bytes,
            }
        } else {
            Payload::Shared(Bytes::copy_from_slice(data))
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Inline { len, bytes } => &bytes[..*len as usize],
            Payload::Shared(b) => b,
        }
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Bytes> for Payload {
    fn from(b: Bytes) -> Self {
        Payload::Shared(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_data_travels_inline_and_long_data_shared() {
        for n in [0, 1, INLINE - 1, INLINE, INLINE + 1, 4096] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            let p = Payload::copy(&data);
            assert_eq!(p.as_slice(), &data[..], "{n} bytes");
            assert_eq!(p.len(), n);
            assert_eq!(
                matches!(p, Payload::Inline { .. }),
                n <= INLINE,
                "{n} bytes"
            );
        }
        let shared = Bytes::from_static(b"kept");
        assert_eq!(Payload::from(shared).as_slice(), b"kept");
    }
}
