//! Target `data_reader`: the DataReader decoders, through the exported C
//! functions, on a reader over bytes (the reader `GetDataReader` gives for a
//! received message; the handle is registered directly, as rtws does there).
//!
//! The input is `[data length: u16 LE][data][operations...]`; each operation is a
//! byte and its arguments (ReadByte, ReadInt16 ... ReadDouble, ReadBytes,
//! ReadString with the caller-buffer cases, ByteOrder and UnicodeEncoding with
//! any `int32_t`, InputStreamOptions, LoadAsync, DetachStream, Close).
//!
//! Property: every call returns exactly the HRESULT and value `Model` (a plain
//! reading of the same bytes) says, a failure consumes nothing, and every failure
//! leaves a message. No call may panic.

use super::input::Input;
use super::{check_hr, set_sentinel_error};
use rtws::ffi::handle::Handle;
use rtws::ffi::streams::*;
use rtws_types::{ByteOrder, UnicodeEncoding};
use rtws_types::{
    E_BOUNDS, E_ILLEGAL_METHOD_CALL, E_INVALIDARG, E_NOT_SUFFICIENT_BUFFER, E_POINTER, RO_E_CLOSED,
    RTWS_E_NO_UNICODE_TRANSLATION, S_OK,
};
use std::ptr::null_mut;

/// Operations per input at most (time per execution stays bounded).
const MAX_OPS: usize = 512;

/// What the reader must be: its bytes, position and settings.
struct Model {
    data: Vec<u8>,
    pos: usize,
    little_endian: bool,
    /// 0 Utf8, 1 Utf16LE, 2 Utf16BE.
    encoding: i32,
    options: u32,
    closed: bool,
}

impl Model {
    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next `N` bytes as a big-endian array (the value's order), or the
    /// HRESULT the read must fail with.
    fn number<const N: usize>(&mut self) -> Result<[u8; N], i32> {
        if self.closed {
            return Err(RO_E_CLOSED);
        }
        if self.left() < N {
            return Err(E_BOUNDS);
        }
        let mut v: [u8; N] = self.data[self.pos..self.pos + N].try_into().unwrap();
        self.pos += N;
        if self.little_endian {
            v.reverse();
        }
        Ok(v)
    }

    /// The text of the next `units` code units, without consuming them.
    fn peek_string(&self, units: u32) -> Result<String, i32> {
        if self.closed {
            return Err(RO_E_CLOSED);
        }
        let width = if self.encoding == 0 { 1 } else { 2 };
        let n = units as usize * width;
        if n > self.left() {
            return Err(E_BOUNDS);
        }
        let raw = &self.data[self.pos..self.pos + n];
        let text = match self.encoding {
            0 => std::str::from_utf8(raw).map(str::to_owned).ok(),
            enc => {
                let units: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|c| {
                        if enc == 1 {
                            u16::from_le_bytes([c[0], c[1]])
                        } else {
                            u16::from_be_bytes([c[0], c[1]])
                        }
                    })
                    .collect();
                String::from_utf16(&units).ok()
            }
        };
        text.ok_or(RTWS_E_NO_UNICODE_TRANSLATION)
    }
}

/// The reader under test, and the checks every call gets.
struct Harness {
    reader: *mut DataReader,
    model: Model,
    op: usize,
}

impl Harness {
    /// Runs one exported call and checks its HRESULT against `want`.
    fn call(&mut self, what: &str, want: i32, f: impl FnOnce(*mut DataReader) -> i32) {
        set_sentinel_error();
        let hr = f(self.reader);
        check_hr(what, self.op, hr);
        assert_eq!(
            hr as u32,
            want as u32,
            "op {} {what}: HRESULT 0x{:08X}, expected 0x{:08X} ({})",
            self.op,
            hr as u32,
            want as u32,
            super::last_error()
        );
    }

    /// A fixed-size read: the call must give `model.number()`'s bytes, decoded by
    /// `decode` (big-endian bytes to the value) and compared bit for bit.
    fn number<const N: usize, T: Copy + Default>(
        &mut self,
        name: &str,
        f: extern "C" fn(*mut DataReader, *mut T) -> i32,
        bits: impl Fn(T) -> [u8; N],
    ) {
        let want = self.model.number::<N>();
        let mut value = T::default();
        let hr_want = want.map_or_else(|e| e, |_| S_OK);
        self.call(name, hr_want, |r| f(r, &mut value));
        if let Ok(bytes) = want {
            assert_eq!(bits(value), bytes, "op {} {name}: the value read", self.op);
        }
    }
}

fn byte_order(v: i32) -> Option<bool> {
    match v {
        0 => Some(true),
        1 => Some(false),
        _ => None,
    }
}

/// An `int32_t` for an enum setter: mostly in range, sometimes anything.
fn enum_value(input: &mut Input) -> i32 {
    match input.u8() {
        b @ 0..=0xEF => i32::from(b % 4),
        0xF0..=0xF7 => -1,
        _ => input.u32() as i32,
    }
}

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let len = usize::from(input.u16());
    let bytes = input.bytes(len).to_vec();
    let reader = DataReader::new_handle(rtws_core::winrt::streams::DataReader::from_bytes(
        bytes.clone().into(),
    ));
    assert!(!reader.is_null());
    let mut h = Harness {
        reader,
        model: Model {
            data: bytes,
            pos: 0,
            little_endian: false,
            encoding: 0,
            options: 0,
            closed: false,
        },
        op: 0,
    };

    while !input.is_empty() && h.op < MAX_OPS {
        h.op += 1;
        match input.u8() % 22 {
            0 => h.number::<1, u8>("ReadByte", DataReader_ReadByte, |v| [v]),
            1 => {
                let want = h.model.number::<1>();
                let mut value = false;
                h.call("ReadBoolean", want.map_or_else(|e| e, |_| S_OK), |r| {
                    DataReader_ReadBoolean(r, &mut value)
                });
                if let Ok([b]) = want {
                    assert_eq!(value, b != 0, "op {} ReadBoolean", h.op);
                }
            }
            2 => h.number::<2, i16>("ReadInt16", DataReader_ReadInt16, i16::to_be_bytes),
            3 => h.number::<2, u16>("ReadUInt16", DataReader_ReadUInt16, u16::to_be_bytes),
            4 => h.number::<4, i32>("ReadInt32", DataReader_ReadInt32, i32::to_be_bytes),
            5 => h.number::<4, u32>("ReadUInt32", DataReader_ReadUInt32, u32::to_be_bytes),
            6 => h.number::<8, i64>("ReadInt64", DataReader_ReadInt64, i64::to_be_bytes),
            7 => h.number::<8, u64>("ReadUInt64", DataReader_ReadUInt64, u64::to_be_bytes),
            8 => h.number::<4, f32>("ReadSingle", DataReader_ReadSingle, |v| {
                v.to_bits().to_be_bytes()
            }),
            9 => h.number::<8, f64>("ReadDouble", DataReader_ReadDouble, |v| {
                v.to_bits().to_be_bytes()
            }),
            10 => {
                let n = usize::from(input.u8());
                let want = if h.model.closed {
                    Err(RO_E_CLOSED)
                } else if n > h.model.left() {
                    Err(E_BOUNDS)
                } else {
                    let v = h.model.data[h.model.pos..h.model.pos + n].to_vec();
                    h.model.pos += n;
                    Ok(v)
                };
                let mut out = vec![0xA5u8; n];
                h.call(
                    "ReadBytes",
                    want.as_ref().map_or_else(|e| *e, |_| S_OK),
                    |r| DataReader_ReadBytes(r, n as u32, out.as_mut_ptr()),
                );
                match want {
                    Ok(v) => assert_eq!(out, v, "op {} ReadBytes", h.op),
                    Err(_) => assert!(out.iter().all(|&b| b == 0xA5), "a failed read wrote"),
                }
            }
            11..=13 => {
                let units = if input.bool() {
                    u32::from(input.u8() % 16)
                } else {
                    u32::from(input.u16())
                };
                read_string(&mut h, units, input.u8() % 5);
            }
            14 => {
                let v = enum_value(&mut input);
                let want = match byte_order(v) {
                    None => E_INVALIDARG,
                    Some(_) if h.model.closed => RO_E_CLOSED,
                    Some(le) => {
                        h.model.little_endian = le;
                        S_OK
                    }
                };
                h.call(&format!("put_ByteOrder({v})"), want, |r| {
                    DataReader_put_ByteOrder(r, v)
                });
            }
            15 => {
                let v = enum_value(&mut input);
                let want = match v {
                    0..=2 if h.model.closed => RO_E_CLOSED,
                    0..=2 => {
                        h.model.encoding = v;
                        S_OK
                    }
                    _ => E_INVALIDARG,
                };
                h.call(&format!("put_UnicodeEncoding({v})"), want, |r| {
                    DataReader_put_UnicodeEncoding(r, v)
                });
            }
            16 => {
                let want = if h.model.closed { RO_E_CLOSED } else { S_OK };
                let mut order = ByteOrder::LittleEndian;
                h.call("get_ByteOrder", want, |r| {
                    DataReader_get_ByteOrder(r, &mut order)
                });
                let mut enc = UnicodeEncoding::Utf16BE;
                h.call("get_UnicodeEncoding", want, |r| {
                    DataReader_get_UnicodeEncoding(r, &mut enc)
                });
                if want == S_OK {
                    let le = h.model.little_endian;
                    assert_eq!(order == ByteOrder::LittleEndian, le, "ByteOrder");
                    assert_eq!(enc as i32, h.model.encoding, "UnicodeEncoding");
                }
            }
            17 => {
                let v = if input.bool() {
                    u32::from(input.u8() % 4)
                } else {
                    input.u32()
                };
                let want = if v & !3 != 0 {
                    E_INVALIDARG
                } else if h.model.closed {
                    RO_E_CLOSED
                } else {
                    h.model.options = v;
                    S_OK
                };
                h.call(&format!("put_InputStreamOptions({v})"), want, |r| {
                    DataReader_put_InputStreamOptions(r, v)
                });
                let mut got = 0xFFFF;
                let want = if h.model.closed { RO_E_CLOSED } else { S_OK };
                h.call("get_InputStreamOptions", want, |r| {
                    DataReader_get_InputStreamOptions(r, &mut got)
                });
                if want == S_OK {
                    assert_eq!(got, h.model.options, "InputStreamOptions");
                }
            }
            18 => {
                // A message's reader has no stream: nothing to load or detach.
                let want = if h.model.closed {
                    RO_E_CLOSED
                } else {
                    E_ILLEGAL_METHOD_CALL
                };
                let count = input.u32();
                let mut op = null_mut();
                h.call("LoadAsync", want, |r| {
                    DataReader_LoadAsync(r, count, &mut op)
                });
                assert!(op.is_null(), "a refused LoadAsync gave an operation");
                let mut stream = null_mut();
                h.call("DetachStream", want, |r| {
                    DataReader_DetachStream(r, &mut stream)
                });
                assert!(stream.is_null(), "a refused DetachStream gave a stream");
            }
            19 => {
                // A zero-length read with no buffer is allowed, and reads nothing.
                let want = if h.model.closed { RO_E_CLOSED } else { S_OK };
                h.call("ReadBytes(0, NULL)", want, |r| {
                    DataReader_ReadBytes(r, 0, null_mut())
                });
                // ReadString(0) decodes "", which still needs a byte for its NUL.
                let want = if h.model.closed {
                    RO_E_CLOSED
                } else {
                    E_NOT_SUFFICIENT_BUFFER
                };
                let mut needed = 0;
                h.call("ReadString(0, NULL)", want, |r| {
                    DataReader_ReadString(r, 0, null_mut(), 0, &mut needed)
                });
                if want != RO_E_CLOSED {
                    assert_eq!(needed, 1, "ReadString(0): needed");
                }
            }
            20 if input.u8() < 16 => {
                h.call("Close", S_OK, |r| DataReader_Close(r));
                h.model.closed = true;
            }
            _ => {}
        }
        // After every operation: nothing more or less than the model consumed.
        let mut left = 0u32;
        let want = if h.model.closed { RO_E_CLOSED } else { S_OK };
        h.call("get_UnconsumedBufferLength", want, |r| {
            DataReader_get_UnconsumedBufferLength(r, &mut left)
        });
        if want == S_OK {
            assert_eq!(left as usize, h.model.left(), "op {}: bytes left", h.op);
        }
    }
    assert_eq!(DataReader_Release(reader), 0, "the only reference");
}

/// ReadString of `units` code units; `mode` picks the caller buffer: 0 roomy,
/// 1 exact, 2 one byte short, 3 NULL, 4 NULL `needed`.
fn read_string(h: &mut Harness, units: u32, mode: u8) {
    let want = h.model.peek_string(units);
    let size_needed = want.as_ref().map_or(0, |s| s.len() + 1);
    let capacity = match mode {
        0 => size_needed + 8,
        1 => size_needed,
        2 => size_needed.saturating_sub(1),
        _ => 0,
    };
    let mut buffer = vec![0x5Au8; capacity.max(1)];
    let buf_ptr = if mode == 3 {
        null_mut()
    } else {
        buffer.as_mut_ptr().cast()
    };
    let mut needed = 0xDEADu32;
    let needed_ptr = if mode == 4 {
        null_mut()
    } else {
        &mut needed as *mut u32
    };
    let hr_want = match &want {
        Err(e) => *e,
        Ok(_) if mode == 4 => E_POINTER,
        // A NULL buffer, or one byte short, is too small; an empty string needs 1
        // byte, so "one short" is 0 bytes there too.
        Ok(_) if mode >= 2 => E_NOT_SUFFICIENT_BUFFER,
        Ok(_) => S_OK,
    };
    h.call(&format!("ReadString({units}) mode {mode}"), hr_want, |r| {
        DataReader_ReadString(r, units, buf_ptr, capacity as u32, needed_ptr)
    });
    match (&want, hr_want) {
        (Ok(s), S_OK) => {
            assert_eq!(needed as usize, size_needed, "ReadString: needed");
            assert_eq!(&buffer[..s.len()], s.as_bytes(), "ReadString: the text");
            assert_eq!(buffer[s.len()], 0, "ReadString: the NUL");
            let width = if h.model.encoding == 0 { 1 } else { 2 };
            h.model.pos += units as usize * width;
        }
        (Ok(_), E_NOT_SUFFICIENT_BUFFER) => {
            assert_eq!(
                needed as usize, size_needed,
                "ReadString: needed when short"
            );
            assert!(
                buffer.iter().all(|&b| b == 0x5A),
                "a short buffer was written"
            );
        }
        _ => {}
    }
}
