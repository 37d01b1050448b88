//! permessage-deflate (RFC 7692): the offer a client makes, the check of the
//! server's answer, and the per-message compressor and decompressor.
//!
//! Deflate itself is flate2's (zlib-rs backend: window bits are honoured); nothing
//! here compresses by hand. Memory stays bounded: `Inflater` hands out at most
//! `PIECE` bytes per call, so a small frame that inflates to gigabytes is seen
//! growing (and refused at MaxMessageSize) one piece at a time.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const NAME: &str = "permessage-deflate";
/// The most decompressed bytes one `Inflater::inflate` call produces.
pub const PIECE: usize = 64 * 1024;
/// What RFC 7692 §7.2.1 strips from the end of every compressed message.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// What the client asks for (its Control's setting). Window bits are 8..=15.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The client resets its compressor after every message (and says so).
    pub client_no_context_takeover: bool,
    /// The server is asked to reset its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client's compressor window; 15 offers `client_max_window_bits` without a
    /// value (the server may pick a smaller one).
    pub client_max_window_bits: u8,
    /// Asked of the server when below 15.
    pub server_max_window_bits: u8,
    /// rtws's compressor's level, 1 (fastest) to 9 (smallest); not negotiated.
    pub compression_level: u8,
}

/// The compression level unless the host asks for another: on JSON-like text, level 1
/// makes messages ~30 % bigger than level 6 for a fifth of the CPU (bench/README.md).
pub const DEFAULT_LEVEL: u8 = 1;

impl Default for Offer {
    fn default() -> Self {
        Offer {
            client_no_context_takeover: false,
            server_no_context_takeover: false,
            client_max_window_bits: 15,
            server_max_window_bits: 15,
            compression_level: DEFAULT_LEVEL,
        }
    }
}

/// What both sides agreed on: the parameters in force on the connection, in the
/// offer's shape (the compression level is the offer's, carried on).
pub type Agreed = Offer;

impl Offer {
    /// Whether the window sizes are ones the RFC allows (8..=15), and the level one
    /// zlib has (1..=9).
    pub fn is_valid(&self) -> bool {
        (8..=15).contains(&self.client_max_window_bits)
            && (8..=15).contains(&self.server_max_window_bits)
            && (1..=9).contains(&self.compression_level)
    }

    /// The `Sec-WebSocket-Extensions` value of the request.
    pub fn header_value(&self) -> String {
        let mut v = String::from(NAME);
        if self.client_no_context_takeover {
            v.push_str("; client_no_context_takeover");
        }
        if self.server_no_context_takeover {
            v.push_str("; server_no_context_takeover");
        }
        if self.server_max_window_bits < 15 {
            v.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        if self.client_max_window_bits < 15 {
            v.push_str(&format!(
                "; client_max_window_bits={}",
                self.client_max_window_bits
            ));
        } else {
            v.push_str("; client_max_window_bits");
        }
        v
    }

    /// Checks the server's `Sec-WebSocket-Extensions` values (every such header,
    /// in order) against this offer (RFC 7692 §7.1): exactly one extension,
    /// permessage-deflate, each parameter known, once, and within what was offered.
    /// `Ok(None)`: the server declined (no header).
    pub fn accept(&self, values: &[&[u8]]) -> Result<Option<Agreed>, String> {
        let text = values
            .iter()
            .map(|v| std::str::from_utf8(v).map_err(|_| "is not ASCII".to_string()))
            .collect::<Result<Vec<_>, _>>()?
            .join(",");
        let mut extensions = text.split(',').map(str::trim).filter(|e| !e.is_empty());
        let Some(first) = extensions.next() else {
            return Ok(None);
        };
        if extensions.next().is_some() {
            return Err("names more than one extension; rtws offered one".into());
        }
        let mut parts = first.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        if !name.eq_ignore_ascii_case(NAME) {
            return Err(format!("names '{name}', which rtws did not offer"));
        }
        // What the server does not name: its defaults, and the client's own choices.
        let mut agreed = Agreed {
            server_no_context_takeover: false,
            server_max_window_bits: 15,
            ..*self
        };
        let mut seen: Vec<String> = Vec::new();
        for part in parts {
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                None => (part, None),
            };
            let key = key.to_ascii_lowercase();
            if seen.contains(&key) {
                return Err(format!("repeats the parameter {key}"));
            }
            let bits = |v: Option<&str>| -> Result<u8, String> {
                v.and_then(|v| v.parse::<u8>().ok())
                    .filter(|b| (8..=15).contains(b) && !v.unwrap_or("").starts_with('0'))
                    .ok_or_else(|| format!("gives {key} the value {v:?}; 8 to 15 is allowed"))
            };
            match key.as_str() {
                "server_no_context_takeover" | "client_no_context_takeover" if value.is_some() => {
                    return Err(format!("gives {key} a value"));
                }
                "server_no_context_takeover" => agreed.server_no_context_takeover = true,
                "client_no_context_takeover" => agreed.client_no_context_takeover = true,
                "server_max_window_bits" => {
                    let b = bits(value)?;
                    if b > self.server_max_window_bits {
                        return Err(format!(
                            "sets server_max_window_bits={b}, over the {} rtws asked for",
                            self.server_max_window_bits
                        ));
                    }
                    agreed.server_max_window_bits = b;
                }
                "client_max_window_bits" => {
                    let b = bits(value)?;
                    if b > self.client_max_window_bits {
                        return Err(format!(
                            "sets client_max_window_bits={b}, over the {} rtws offered",
                            self.client_max_window_bits
                        ));
                    }
                    agreed.client_max_window_bits = b;
                }
                "" => return Err("has an empty parameter".into()),
                other => return Err(format!("has the unknown parameter '{other}'")),
            }
            seen.push(key);
        }
        // A server accepts what the client asked of it by naming it (§7.1.1.1,
        // §7.1.2.1); one that leaves it out has not accepted this offer.
        let named = |key: &str| seen.iter().any(|k| k == key);
        if self.server_no_context_takeover && !named("server_no_context_takeover") {
            return Err("leaves out the server_no_context_takeover rtws asked for".into());
        }
        if self.server_max_window_bits < 15 && !named("server_max_window_bits") {
            return Err(format!(
                "leaves out the server_max_window_bits={} rtws asked for",
                self.server_max_window_bits
            ));
        }
        Ok(Some(agreed))
    }
}

/// Compresses the client's messages (§7.2.1).
pub struct Deflater {
    compress: Compress,
    reset_each_message: bool,
}

impl Deflater {
    /// False when the agreed window is 8 bits: zlib cannot compress with one (it
    /// would use 9, which the server need not read), so messages go uncompressed,
    /// as the RFC allows any message to.
    pub fn compresses(agreed: &Agreed) -> bool {
        agreed.client_max_window_bits >= 9
    }

    /// A compressor for `agreed` (which `compresses`).
    pub fn new(agreed: &Agreed) -> Self {
        Deflater {
            compress: Compress::new_with_window_bits(
                Compression::new(u32::from(agreed.compression_level.clamp(1, 9))),
                false,
                agreed.client_max_window_bits.max(9),
            ),
            reset_each_message: agreed.client_no_context_takeover,
        }
    }

    /// Appends the compressed form of one frame's payload to `out`. Every frame
    /// ends in a sync flush; the last frame of a message loses the flush's empty
    /// block (`TAIL`), and the compressor starts afresh after it if agreed.
    pub fn compress(&mut self, payload: &[u8], last: bool, out: &mut Vec<u8>) {
        let start = out.len();
        let mut input = payload;
        loop {
            // Room for all of it: deflate's worst case is a few bytes per 16 KiB.
            out.reserve(input.len() + input.len() / 64 + 64);
            let (in_before, out_before) = (self.compress.total_in(), self.compress.total_out());
            self.compress
                .compress_vec(input, out, FlushCompress::Sync)
                .expect("deflate of a valid stream");
            let used = (self.compress.total_in() - in_before) as usize;
            let produced = self.compress.total_out() - out_before;
            input = &input[used..];
            // Done when all input went in and the flush fit (room left over), or
            // when there was nothing to flush (an empty message right after another).
            if input.is_empty() && (out.len() < out.capacity() || used == 0 && produced == 0) {
                break;
            }
        }
        if last {
            if out[start..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            } else if out.len() == start {
                // Nothing was left to flush (an empty message right after another): the
                // receiver's appended tail needs a block header before it, so the
                // frame holds one empty stored block's first byte (§7.2.3.6).
                out.push(0x00);
            }
            if self.reset_each_message {
                self.compress.reset();
            }
        }
    }
}

/// Decompresses the server's messages (§7.2.2), a bounded piece at a time.
pub struct Inflater {
    decompress: Decompress,
    reset_each_message: bool,
    /// How much of the tail appended to a message's last frame went in.
    tail_fed: usize,
    /// The message held a final deflate block (§7.2.3.3 allows it): the rest of
    /// its input is ignored, and the decompressor starts afresh after it.
    stream_ended: bool,
}

impl Inflater {
    pub fn new(agreed: &Agreed) -> Self {
        // A decoder reads any stream made with a window no larger than its own;
        // zlib's smallest raw window is 9 bits.
        let window_bits = agreed.server_max_window_bits.max(9);
        Inflater {
            decompress: Decompress::new_with_window_bits(false, window_bits),
            reset_each_message: agreed.server_no_context_takeover,
            tail_fed: 0,
            stream_ended: false,
        }
    }

    /// Inflates from `input` (a frame's payload; `last`: the message's final one)
    /// into `out`, adding at most `PIECE` bytes. Returns how many input bytes were
    /// taken and whether this frame is done: all its input taken and, for the last
    /// frame, the message's end reached (the next call begins a new message).
    /// Called again with the rest of the input while not done.
    pub fn inflate(
        &mut self,
        input: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<(usize, bool), String> {
        let start = out.len();
        // The output grows as it is needed, up to PIECE: a small frame's piece does
        // not cost a zeroed PIECE-sized buffer.
        let mut limit = start + PIECE.min((input.len() * 4).max(1024));
        out.resize(limit, 0);
        let mut pos = start;
        let mut taken = 0;
        let result = loop {
            if pos == limit && limit < start + PIECE {
                limit = start + PIECE.min((limit - start) * 4);
                out.resize(limit, 0);
            }
            if self.stream_ended {
                taken = input.len();
                if last {
                    self.message_ended(true);
                }
                break Ok((taken, true));
            }
            if pos == limit {
                break Ok((taken, false)); // the piece is full: more on the next call
            }
            let feeding_tail = taken == input.len();
            if feeding_tail && !last {
                break Ok((taken, true));
            }
            let src = if feeding_tail {
                &TAIL[self.tail_fed..]
            } else {
                &input[taken..]
            };
            let (in_before, out_before) = (self.decompress.total_in(), self.decompress.total_out());
            let status =
                match self
                    .decompress
                    .decompress(src, &mut out[pos..limit], FlushDecompress::Sync)
                {
                    Ok(status) => status,
                    Err(e) => {
                        break Err(format!("a compressed message that does not inflate ({e})"))
                    }
                };
            let used = (self.decompress.total_in() - in_before) as usize;
            let produced = (self.decompress.total_out() - out_before) as usize;
            pos += produced;
            if feeding_tail {
                self.tail_fed += used;
            } else {
                taken += used;
            }
            if status == Status::StreamEnd {
                self.stream_ended = true;
                continue;
            }
            // Everything in, and zlib stopped short of the room: nothing is held back.
            if feeding_tail && self.tail_fed == TAIL.len() && pos < limit {
                self.message_ended(false);
                break Ok((taken, true));
            }
            if used == 0 && produced == 0 {
                break Err(
                    "a compressed message cut short (its deflate data stops mid-block)".into(),
                );
            }
        };
        out.truncate(pos);
        result
    }

    fn message_ended(&mut self, stream_ended: bool) {
        self.tail_fed = 0;
        self.stream_ended = false;
        if self.reset_each_message || stream_ended {
            self.decompress.reset(false);
        }
    }
}
