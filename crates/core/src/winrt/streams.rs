//! Windows.Storage.Streams: `IOutputStream`, `IBuffer`, `DataWriter`, `DataReader`,
//! and `IInputStream.ReadAsync` (the input stream itself is `core::inbound`).
//!
//! A `DataWriter` buffers typed values and hands the buffer to its output stream
//! on `store`; a `DataReader` decodes typed values from bytes it was given or
//! loaded from its input stream.

use crate::session::payload::Payload;
use crate::winrt::async_op::AsyncOp;
use crate::winrt::inbound::{self, Inbound, Taken};
use crate::winrt::spare::{self, Spares};
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use rtws_types::{
    ByteOrder, Error, Result, UnicodeEncoding, E_BOUNDS, E_ILLEGAL_METHOD_CALL, RO_E_CLOSED,
    RTWS_E_NO_UNICODE_TRANSLATION,
};
use std::cell::RefCell;
use std::sync::Arc;

/// What a write gives its stream: bytes lent for the call, which the stream copies
/// (into the command itself when short: `Payload`), or shared bytes it keeps. Small,
/// so the calls between the writer and the command pass it cheaply.
pub enum Write<'a> {
    Copy(&'a [u8]),
    Keep(Bytes),
}

impl From<Bytes> for Write<'_> {
    fn from(b: Bytes) -> Self {
        Write::Keep(b)
    }
}

impl From<Write<'_>> for Payload {
    fn from(w: Write<'_>) -> Self {
        match w {
            Write::Copy(data) => Payload::copy(data),
            Write::Keep(bytes) => Payload::Shared(bytes),
        }
    }
}

/// What an output stream writes to: one socket's outbound side.
pub trait OutputSink: Send + Sync {
    /// Queues `data` to go out; the operation completes with its length once sent.
    fn write(&self, data: Write<'_>) -> Result<Arc<AsyncOp<u32>>>;
    /// Completes once everything queued before it has been sent.
    fn flush(&self) -> Result<Arc<AsyncOp<bool>>>;
    /// Closes the stream for good: later writes fail with `RO_E_CLOSED`.
    fn close(&self);
}

/// `IOutputStream`: a shareable view of a socket's one output stream.
#[derive(Clone)]
pub struct OutputStream(pub Arc<dyn OutputSink>);

impl OutputStream {
    pub fn write<'a>(&self, data: impl Into<Write<'a>>) -> Result<Arc<AsyncOp<u32>>> {
        self.0.write(data.into())
    }
    pub fn flush(&self) -> Result<Arc<AsyncOp<bool>>> {
        self.0.flush()
    }
    pub fn close(&self) {
        self.0.close()
    }
}

struct WriterState {
    buf: Vec<u8>,
    stream: Option<OutputStream>,
    byte_order: ByteOrder,
    encoding: UnicodeEncoding,
    closed: bool,
}

/// A store of at most this many bytes is copied out of the writer's buffer, which
/// stays for the next message; a larger one takes the buffer (no copy of the bulk).
const SMALL_STORE: usize = 4096;

/// `DataWriter`. It owns its stream: dropping or closing a writer that still holds
/// the stream closes that stream, as in UWP; `detach_stream` gives it back.
pub struct DataWriter {
    st: Mutex<WriterState>,
}

impl DataWriter {
    pub fn new(stream: Option<OutputStream>) -> Self {
        DataWriter {
            st: Mutex::new(WriterState {
                buf: Vec::new(),
                stream,
                byte_order: ByteOrder::BigEndian,
                encoding: UnicodeEncoding::Utf8,
                closed: false,
            }),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut WriterState) -> R) -> Result<R> {
        let mut st = self.st.lock();
        if st.closed {
            return Err(Error::closed("the DataWriter"));
        }
        Ok(f(&mut st))
    }

    pub fn write_bytes(&self, bytes: &[u8]) -> Result<()> {
        self.with(|st| st.buf.extend_from_slice(bytes))
    }

    /// Appends an integer or float in the writer's byte order.
    pub fn write_number<const N: usize>(&self, le: [u8; N], be: [u8; N]) -> Result<()> {
        self.with(|st| match st.byte_order {
            ByteOrder::LittleEndian => st.buf.extend_from_slice(&le),
            ByteOrder::BigEndian => st.buf.extend_from_slice(&be),
        })
    }

    /// Appends `s` in the writer's encoding; returns the bytes written.
    pub fn write_string(&self, s: &str) -> Result<u32> {
        self.with(|st| {
            let before = st.buf.len();
            encode_string(s, st.encoding, &mut st.buf);
            (st.buf.len() - before) as u32
        })
    }

    pub fn measure_string(&self, s: &str) -> Result<u32> {
        self.with(|st| match st.encoding {
            UnicodeEncoding::Utf8 => s.len() as u32,
            _ => (s.encode_utf16().count() * 2) as u32,
        })
    }

    pub fn unstored_len(&self) -> Result<u32> {
        self.with(|st| st.buf.len() as u32)
    }
    pub fn byte_order(&self) -> Result<ByteOrder> {
        self.with(|st| st.byte_order)
    }
    pub fn set_byte_order(&self, v: ByteOrder) -> Result<()> {
        self.with(|st| st.byte_order = v)
    }
    pub fn encoding(&self) -> Result<UnicodeEncoding> {
        self.with(|st| st.encoding)
    }
    pub fn set_encoding(&self, v: UnicodeEncoding) -> Result<()> {
        self.with(|st| st.encoding = v)
    }

    fn stream(st: &WriterState) -> Result<&OutputStream> {
        st.stream.as_ref().ok_or_else(|| {
            Error::new(
                E_ILLEGAL_METHOD_CALL,
                "the DataWriter has no output stream (created without one, or detached)",
            )
        })
    }

    /// Sends the buffered bytes as one write of the stream (one message on a
    /// MessageWebSocket) and empties the buffer.
    pub fn store(&self) -> Result<Arc<AsyncOp<u32>>> {
        self.with(|st| {
            // The stream is used under the writer's lock, not cloned out of it.
            Self::stream(st)?;
            if st.buf.len() <= SMALL_STORE {
                // A copy (inline in the command when short, else one allocation of
                // exactly its size), and the writer keeps its buffer for the next
                // message (a refused store loses nothing).
                let op = Self::stream(st)?.write(Write::Copy(&st.buf))?;
                st.buf.clear();
                return Ok(op);
            }
            let data = Bytes::from(std::mem::take(&mut st.buf));
            Self::stream(st)?.write(data.clone()).inspect_err(|_| {
                // A refused store loses nothing: the bytes stay unstored.
                st.buf = Vec::from(data);
            })
        })?
    }

    pub fn flush(&self) -> Result<Arc<AsyncOp<bool>>> {
        self.with(|st| Self::stream(st)?.flush())?
    }

    pub fn detach_stream(&self) -> Result<OutputStream> {
        self.with(|st| {
            st.stream
                .take()
                .ok_or_else(|| Error::illegal_call("the DataWriter has no output stream to detach"))
        })?
    }

    /// `Close`: closes the attached stream, and the writer.
    pub fn close(&self) {
        let stream = {
            let mut st = self.st.lock();
            st.closed = true;
            st.buf = Vec::new();
            st.stream.take()
        };
        if let Some(s) = stream {
            s.close();
        }
    }
}

impl Drop for DataWriter {
    fn drop(&mut self) {
        self.close();
    }
}

fn encode_string(s: &str, enc: UnicodeEncoding, out: &mut Vec<u8>) {
    match enc {
        UnicodeEncoding::Utf8 => out.extend_from_slice(s.as_bytes()),
        UnicodeEncoding::Utf16LE => s.encode_utf16().for_each(|u| out.extend(u.to_le_bytes())),
        UnicodeEncoding::Utf16BE => s.encode_utf16().for_each(|u| out.extend(u.to_be_bytes())),
    }
}

struct ReaderState {
    data: Bytes,
    pos: usize,
    /// The input stream LoadAsync reads from (none for a message's reader).
    source: Option<Arc<Inbound>>,
    options: u32,
    /// The LoadAsync waiting for bytes, to end when the reader closes.
    loading: Option<(u64, Arc<AsyncOp<u32>>)>,
    byte_order: ByteOrder,
    encoding: UnicodeEncoding,
    closed: bool,
}

/// What a closing reader ends outside its lock: its stream and the load pending on it.
type Ending = (Option<Arc<Inbound>>, Option<(u64, Arc<AsyncOp<u32>>)>);

/// `DataReader`: over bytes already received (a message), or over an input
/// stream that `LoadAsync` reads from.
pub struct DataReader {
    st: Mutex<ReaderState>,
}

thread_local! {
    /// Message readers whose last reference this thread let go, for its next
    /// messages' readers (`spare`).
    static SPARE_READERS: Spares<DataReader> = const { RefCell::new(Vec::new()) };
}

impl DataReader {
    pub fn from_bytes(data: Bytes) -> Self {
        Self::new(data, None)
    }

    /// A reader over a received message (`GetDataReader`), in the memory of one this
    /// thread let go (`let_go`) when it has one.
    pub fn over_message(data: Bytes) -> Arc<Self> {
        spare::make(&SPARE_READERS, Self::from_bytes(data))
    }

    /// The last reference to a reader goes: a message's reader (no stream, no load)
    /// lets go of its bytes now and keeps its memory for this thread's next one; any
    /// other closes as it drops.
    pub fn let_go(reader: Arc<Self>) {
        spare::keep(&SPARE_READERS, reader, |r| {
            let st = r.st.get_mut();
            if st.source.is_some() || st.loading.is_some() {
                return false;
            }
            st.data = Bytes::new();
            true
        });
    }

    /// `DataReader(IInputStream)`: empty until LoadAsync.
    pub fn from_stream(source: Arc<Inbound>) -> Self {
        Self::new(Bytes::new(), Some(source))
    }

    fn new(data: Bytes, source: Option<Arc<Inbound>>) -> Self {
        DataReader {
            st: Mutex::new(ReaderState {
                data,
                pos: 0,
                source,
                options: 0,
                loading: None,
                byte_order: ByteOrder::BigEndian,
                encoding: UnicodeEncoding::Utf8,
                closed: false,
            }),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut ReaderState) -> Result<R>) -> Result<R> {
        let mut st = self.st.lock();
        if st.closed {
            return Err(Error::new(RO_E_CLOSED, "the DataReader is closed"));
        }
        f(&mut st)
    }

    pub fn unconsumed_len(&self) -> Result<u32> {
        self.with(|st| Ok((st.data.len() - st.pos) as u32))
    }

    fn take(st: &mut ReaderState, n: usize) -> Result<&[u8]> {
        let left = st.data.len() - st.pos;
        if n > left {
            return Err(Error::new(
                E_BOUNDS,
                format!("read of {n} bytes with only {left} unconsumed"),
            ));
        }
        let start = st.pos;
        st.pos += n;
        Ok(&st.data[start..start + n])
    }

    pub fn read_bytes(&self, out: &mut [u8]) -> Result<()> {
        self.with(|st| {
            out.copy_from_slice(Self::take(st, out.len())?);
            Ok(())
        })
    }

    /// Reads `N` bytes in the reader's byte order, as little-endian bytes.
    pub fn read_number<const N: usize>(&self) -> Result<[u8; N]> {
        self.with(|st| {
            let order = st.byte_order;
            let mut v: [u8; N] = Self::take(st, N)?.try_into().expect("N bytes");
            if order == ByteOrder::BigEndian {
                v.reverse();
            }
            Ok(v)
        })
    }

    /// Decodes `code_units` units (bytes for UTF-8, 16-bit units for UTF-16) into
    /// UTF-8, consuming them only if `fits(len)` accepts the decoded length.
    pub fn read_string<R>(
        &self,
        code_units: u32,
        fits: impl FnOnce(&str) -> Result<R>,
    ) -> Result<R> {
        self.with(|st| {
            let unit = if st.encoding == UnicodeEncoding::Utf8 {
                1
            } else {
                2
            };
            let n = code_units as usize * unit;
            let left = st.data.len() - st.pos;
            if n > left {
                return Err(Error::new(
                    E_BOUNDS,
                    format!("ReadString of {n} bytes with only {left} unconsumed"),
                ));
            }
            let raw = &st.data[st.pos..st.pos + n];
            let decoded: std::borrow::Cow<str> = match st.encoding {
                UnicodeEncoding::Utf8 => std::str::from_utf8(raw).map_err(|e| bad_text(&e))?.into(),
                enc => {
                    let units = raw.chunks_exact(2).map(|c| match enc {
                        UnicodeEncoding::Utf16LE => u16::from_le_bytes([c[0], c[1]]),
                        _ => u16::from_be_bytes([c[0], c[1]]),
                    });
                    char::decode_utf16(units)
                        .collect::<std::result::Result<String, _>>()
                        .map_err(|e| bad_text(&e))?
                        .into()
                }
            };
            let r = fits(&decoded)?;
            st.pos += n;
            Ok(r)
        })
    }

    pub fn byte_order(&self) -> Result<ByteOrder> {
        self.with(|st| Ok(st.byte_order))
    }
    pub fn set_byte_order(&self, v: ByteOrder) -> Result<()> {
        self.with(|st| {
            st.byte_order = v;
            Ok(())
        })
    }
    pub fn encoding(&self) -> Result<UnicodeEncoding> {
        self.with(|st| Ok(st.encoding))
    }
    pub fn set_encoding(&self, v: UnicodeEncoding) -> Result<()> {
        self.with(|st| {
            st.encoding = v;
            Ok(())
        })
    }

    pub fn input_stream_options(&self) -> Result<u32> {
        self.with(|st| Ok(st.options))
    }
    pub fn set_input_stream_options(&self, v: u32) -> Result<()> {
        inbound::check_options(v)?;
        self.with(|st| {
            st.options = v;
            Ok(())
        })
    }

    /// `LoadAsync(count)`: reads from the stream into the reader, per the reader's
    /// InputStreamOptions; completes with the number of bytes loaded (fewer, or 0,
    /// when the stream ended).
    pub fn load(self: &Arc<Self>, count: u32) -> Result<Arc<AsyncOp<u32>>> {
        let (source, options) = self.with(|st| match &st.source {
            Some(s) => Ok((s.clone(), st.options)),
            None => Err(Error::illegal_call(
                "this DataReader has no input stream to load from (it was detached, or the reader reads a message)",
            )),
        })?;
        let op = source.new_op::<u32>();
        let max = if options & rtws_types::InputStreamOptions_ReadAhead != 0 {
            usize::MAX
        } else {
            count as usize
        };
        let (done_op, reader) = (op.clone(), Arc::downgrade(self));
        let id = source.read(
            count as usize,
            options,
            max,
            Box::new(move |result| {
                // Under the stream's lock: a load of a closed (or dropped) reader, or
                // a canceled one, takes nothing: the bytes stay in the stream.
                let reader = reader.upgrade()?;
                let mut st = reader.st.lock();
                if st.closed {
                    return None;
                }
                let n = result.as_ref().map_or(0, |t| t.len() as u32);
                let settled = done_op.settle(result.as_ref().map(|_| n).map_err(Clone::clone))?;
                st.loading = None;
                if let Ok(taken) = result {
                    let bytes = taken.into_bytes();
                    let left = st.data.slice(st.pos..);
                    st.data = if left.is_empty() {
                        bytes
                    } else {
                        [&left[..], &bytes[..]].concat().into()
                    };
                    st.pos = 0;
                }
                Some(settled)
            }),
        )?;
        if !op.is_finished() {
            self.st.lock().loading = Some((id, op.clone()));
        }
        op.on_cancel(move || source.cancel(id));
        Ok(op)
    }

    /// `DetachStream`: the reader lets go of its stream (which stays open).
    pub fn detach_stream(&self) -> Result<Arc<Inbound>> {
        self.with(|st| {
            st.source
                .take()
                .ok_or_else(|| Error::illegal_call("this DataReader has no input stream"))
        })
    }

    /// `Close`: a pending LoadAsync ends with `RO_E_CLOSED`, taking nothing.
    pub fn close(&self) {
        let ending = Self::shut(&mut self.st.lock());
        // Outside the reader's lock: the stream's lock comes first (see `load`).
        Self::end_load(ending);
    }

    /// Marks the reader closed; returns the load to end, if one is pending.
    fn shut(st: &mut ReaderState) -> Ending {
        st.closed = true;
        st.data = Bytes::new();
        (st.source.take(), st.loading.take())
    }

    fn end_load(ending: Ending) {
        if let (Some(source), Some((id, op))) = ending {
            source.cancel(id);
            op.complete(Err(Error::new(RO_E_CLOSED, "the DataReader was closed")));
        }
    }
}

impl Drop for DataReader {
    fn drop(&mut self) {
        // Nobody else can hold it now: no lock (a kept reader made over for the next
        // message drops its last life here, once per message).
        let ending = Self::shut(self.st.get_mut());
        Self::end_load(ending);
    }
}

/// `Windows.Storage.Streams.Buffer` (IBuffer): bytes with a fixed capacity and a
/// length. Reads fill it; writes send its first `length` bytes.
///
/// Its bytes are shared and never changed in place: a write takes them as they
/// are at the call, without a copy (a long one is masked a piece at a time as it
/// drains), and whatever changes the buffer afterwards (a read into it, a new
/// Length) gives it new bytes, copying only while a write still holds the old
/// ones. So a send under way never sees a later change.
pub struct Buffer {
    capacity: u32,
    data: Mutex<Bytes>,
}

impl Buffer {
    pub fn new(capacity: u32) -> Self {
        Buffer {
            capacity,
            data: Mutex::new(Bytes::new()),
        }
    }
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let capacity = u32::try_from(bytes.len())
            .map_err(|_| Error::invalid_arg("a Buffer holds at most 4 GiB - 1"))?;
        Ok(Buffer {
            capacity,
            data: Mutex::new(Bytes::copy_from_slice(bytes)),
        })
    }
    pub fn capacity(&self) -> u32 {
        self.capacity
    }
    pub fn len(&self) -> u32 {
        self.data.lock().len() as u32
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bytes in use, shared (what a write sends).
    pub fn bytes(&self) -> Bytes {
        self.data.lock().clone()
    }
    /// `put_Length`: at most the capacity; bytes a longer length reveals are zeros.
    pub fn set_len(&self, n: u32) -> Result<()> {
        if n > self.capacity {
            return Err(Error::invalid_arg(format!(
                "Length {n} is over the buffer's Capacity {}",
                self.capacity
            )));
        }
        let n = n as usize;
        let mut data = self.data.lock();
        if n <= data.len() {
            data.truncate(n);
        } else {
            let mut grown = writable(std::mem::take(&mut *data), n, true);
            grown.resize(n, 0);
            *data = grown.freeze();
        }
        Ok(())
    }
    /// Copies up to `out.len()` bytes from `offset` on; how many were copied.
    pub fn copy_to(&self, offset: u32, out: &mut [u8]) -> usize {
        let data = self.data.lock();
        let from = (offset as usize).min(data.len());
        let n = out.len().min(data.len() - from);
        out[..n].copy_from_slice(&data[from..from + n]);
        n
    }
    /// Replaces the contents (at most the capacity) with what a read got.
    fn fill(&self, taken: &Taken) {
        let mut data = self.data.lock();
        let mut filled = writable(std::mem::take(&mut *data), taken.len(), false);
        for chunk in &taken.0 {
            filled.extend_from_slice(chunk);
        }
        *data = filled.freeze();
    }
}

/// Writable memory with room for `room` bytes, holding `bytes` if `keep` (else
/// empty): their own memory when nothing else holds them (no write under way),
/// else new memory (a copy only of what is kept).
fn writable(bytes: Bytes, room: usize, keep: bool) -> BytesMut {
    let mut m = bytes.try_into_mut().unwrap_or_else(|shared| {
        let mut m = BytesMut::with_capacity(room);
        if keep {
            m.extend_from_slice(&shared);
        }
        m
    });
    if !keep {
        m.clear();
    }
    m.reserve(room.saturating_sub(m.len()));
    m
}

/// `IInputStream.ReadAsync(buffer, count, options)`: completes with `buffer`
/// holding what was read (at most `count` bytes, or up to its capacity with
/// ReadAhead; 0 at the end of the stream).
pub fn read_async(
    source: &Arc<Inbound>,
    buffer: Arc<Buffer>,
    count: u32,
    options: u32,
) -> Result<Arc<AsyncOp<Arc<Buffer>>>> {
    if count > buffer.capacity() {
        return Err(Error::invalid_arg(format!(
            "count {count} is over the buffer's Capacity {}",
            buffer.capacity()
        )));
    }
    inbound::check_options(options)?;
    let max = if options & rtws_types::InputStreamOptions_ReadAhead != 0 {
        buffer.capacity()
    } else {
        count
    };
    let op = source.new_op::<Arc<Buffer>>();
    let done_op = op.clone();
    let id = source.read(
        count as usize,
        options,
        max as usize,
        Box::new(move |result| {
            // Filled before the operation finishes, so a waiter sees the bytes (a
            // canceled read's buffer holds a copy of bytes that stay in the stream).
            if let Ok(taken) = &result {
                buffer.fill(taken);
            }
            done_op.settle(result.map(|_| buffer.clone()))
        }),
    )?;
    let source = source.clone();
    op.on_cancel(move || source.cancel(id));
    Ok(op)
}

fn bad_text(e: &dyn std::fmt::Display) -> Error {
    Error::new(
        RTWS_E_NO_UNICODE_TRANSLATION,
        format!("the bytes are not valid text in the reader's UnicodeEncoding: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reader_let_go_gives_back_its_bytes_and_serves_the_next_message() {
        let first = Bytes::from(vec![1u8; 64]);
        let reader = DataReader::over_message(first.clone());
        let memory = Arc::as_ptr(&reader);
        DataReader::let_go(reader);
        assert!(first.is_unique(), "the message's bytes are let go at once");
        // Takes the block the reader would have freed (see `spare`'s tests).
        let decoy = std::hint::black_box(Box::new([1u8; 16 + std::mem::size_of::<DataReader>()]));
        let next = DataReader::over_message(Bytes::from_static(b"next"));
        assert_eq!(Arc::as_ptr(&next), memory);
        drop(decoy);
        let mut out = [0u8; 4];
        next.read_bytes(&mut out).unwrap();
        assert_eq!(&out, b"next");
        assert_eq!(next.unconsumed_len().unwrap(), 0);
    }

    #[test]
    fn a_stream_reader_let_go_closes_and_lets_go_of_its_stream() {
        let source = Inbound::from_bytes(Bytes::from_static(b"abc"));
        let reader = Arc::new(DataReader::from_stream(source.clone()));
        DataReader::let_go(reader);
        assert_eq!(Arc::strong_count(&source), 1);
        SPARE_READERS.with(|s| assert!(s.borrow().is_empty()));
    }

    #[test]
    fn a_buffer_changed_while_a_write_holds_its_bytes_gets_new_ones() {
        let b = Buffer::from_bytes(b"abcdef").unwrap();
        let sent = b.bytes();
        b.fill(&Taken(vec![Bytes::from_static(b"xy")]));
        assert_eq!(&sent[..], b"abcdef", "the write keeps what it took");
        assert_eq!(&b.bytes()[..], b"xy");
        let sent = b.bytes();
        b.set_len(4).unwrap();
        assert_eq!(&sent[..], b"xy");
        assert_eq!(&b.bytes()[..], b"xy\0\0", "a longer Length reveals zeros");
        b.set_len(1).unwrap();
        b.set_len(3).unwrap();
        assert_eq!(&b.bytes()[..], b"x\0\0", "also after a shorter one");
        drop(sent);
        b.fill(&Taken(vec![
            Bytes::from_static(b"12"),
            Bytes::from_static(b"34"),
        ]));
        assert_eq!(&b.bytes()[..], b"1234");
        assert!(b.set_len(7).is_err(), "over the capacity");
    }

    #[test]
    fn utf16_round_trip() {
        let w = DataWriter::new(None);
        w.set_encoding(UnicodeEncoding::Utf16LE).unwrap();
        assert_eq!(w.write_string("κόσμε").unwrap(), 10);
        let bytes = Bytes::from(std::mem::take(&mut w.st.lock().buf));
        let r = DataReader::from_bytes(bytes);
        r.set_encoding(UnicodeEncoding::Utf16LE).unwrap();
        let s = r.read_string(5, |s| Ok(s.to_owned())).unwrap();
        assert_eq!(s, "κόσμε");
        assert_eq!(r.unconsumed_len().unwrap(), 0);
    }
}
