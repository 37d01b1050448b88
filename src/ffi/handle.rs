//! C handles: every object pointer given to C is a key into this registry, never
//! the address of Rust memory. A handle of the wrong type, a released handle or a
//! made-up pointer is found missing here and refused with `E_INVALIDARG`, instead
//! of being dereferenced.
//!
//! The registry is a slab: a key names a slot and the slot's generation, so a
//! stale key (its slot freed, maybe reused) never matches again; each slot has its
//! own lock, so calls on different objects never contend, and lookups hash nothing.
//!
//! A message's objects (its event args, DataReader and send operation) each come
//! and go through here, so the registry counts its atomic operations: an
//! uncontended one costs about as much as the rest of a lookup. So a lookup may
//! borrow the object under the slot's read lock instead of cloning its `Arc`
//! (`Handle::borrow`), the last Release changes the count without one (it holds
//! the write lock), and the type check compares a `TypeId` stored beside the
//! object, not one read through it.
//!
//! Imports: `crate::ffi` (`c_text`, the one NUL policy), `rtws_types`; the ffi's
//! class files import `Handle` to tie their opaque C types to core objects.

use once_cell::sync::OnceCell;
use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use rtws_types::{Error, Result, E_INVALIDARG, E_POINTER};
use std::any::{Any, TypeId};
use std::ffi::{c_char, CString};
use std::ops::Deref;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

type Object = Arc<dyn Any + Send + Sync>;
/// C strings handed out for one handle, each with the getter that made it.
type Texts = Mutex<Vec<(&'static str, CString)>>;

struct Entry {
    refs: AtomicU32,
    /// `object`'s concrete type, compared without a call through its vtable.
    type_id: TypeId,
    object: Object,
    /// The strings `c_str` handed out for this handle, by getter: C may use each
    /// for as long as the handle lives. Allocated on the first string getter.
    texts: OnceCell<Box<Texts>>,
}

#[derive(Default)]
struct Slot {
    gen: usize,
    entry: Option<Entry>,
}

const SEGMENT_BITS: u32 = 10;
const SEGMENT_SLOTS: usize = 1 << SEGMENT_BITS;
/// At most 2^24 (16.7 million) handles alive at once.
const INDEX_BITS: u32 = 24;
const SEGMENTS: usize = 1 << (INDEX_BITS - SEGMENT_BITS);
/// Keys are multiples of 16, so handles look like aligned pointers to C.
const ALIGN_BITS: u32 = 4;
/// The generation takes the remaining bits (36 on 64-bit targets).
const GEN_BITS: u32 = usize::BITS - INDEX_BITS - ALIGN_BITS;

/// A slot and its link in the free stack (outside the lock: a pop reads the link
/// of a slot it does not own yet).
struct SlotCell {
    slot: RwLock<Slot>,
    next_free: AtomicU32,
}

static SEGMENT_TABLE: [OnceCell<Box<[SlotCell]>>; SEGMENTS] = [const { OnceCell::new() }; SEGMENTS];

/// The free slots: a lock-free stack, last in first out (a slot just freed is
/// reused while its memory is still in cache). The head is `tag << 32 | index`
/// (index 0: empty); every change bumps the tag, so a pop that read a link which
/// changed since fails its compare-exchange instead of corrupting the stack (ABA).
/// One locked operation per handle made or freed, where a mutex took two.
static FREE_HEAD: AtomicU64 = AtomicU64::new(0);
/// The first never-used index (index 0 is never used).
static NEXT_INDEX: AtomicU32 = AtomicU32::new(1);

fn cell(index: usize) -> Option<&'static SlotCell> {
    SEGMENT_TABLE[index >> SEGMENT_BITS]
        .get()
        .map(|seg| &seg[index & (SEGMENT_SLOTS - 1)])
}

fn slot(index: usize) -> Option<&'static RwLock<Slot>> {
    cell(index).map(|c| &c.slot)
}

fn slot_or_create(index: usize) -> &'static RwLock<Slot> {
    let seg = SEGMENT_TABLE[index >> SEGMENT_BITS].get_or_init(|| {
        (0..SEGMENT_SLOTS)
            .map(|_| SlotCell {
                slot: RwLock::default(),
                next_free: AtomicU32::new(0),
            })
            .collect()
    });
    &seg[index & (SEGMENT_SLOTS - 1)].slot
}

fn tagged(head: u64, index: u32) -> u64 {
    ((head >> 32).wrapping_add(1) << 32) | u64::from(index)
}

/// Index 0 is never used, so no key is 0 (NULL).
fn key(index: usize, gen: usize) -> usize {
    let gen = gen & ((1usize << GEN_BITS) - 1);
    ((gen << INDEX_BITS) | index) << ALIGN_BITS
}

fn split(key: usize) -> (usize, usize) {
    let k = key >> ALIGN_BITS;
    (k & ((1 << INDEX_BITS) - 1), k >> INDEX_BITS)
}

/// The slot behind `key` if it is a well-formed key at all.
fn slot_of(key: usize) -> Option<(&'static RwLock<Slot>, usize)> {
    if key & ((1 << ALIGN_BITS) - 1) != 0 {
        return None;
    }
    let (index, gen) = split(key);
    if index == 0 {
        return None;
    }
    slot(index).map(|s| (s, gen))
}

fn alloc_index() -> Result<usize> {
    let mut head = FREE_HEAD.load(Ordering::Acquire);
    while head as u32 != 0 {
        let index = head as u32;
        // Every index on the stack was used, so its segment exists.
        let next = cell(index as usize).map_or(0, |c| c.next_free.load(Ordering::Relaxed));
        match FREE_HEAD.compare_exchange_weak(
            head,
            tagged(head, next),
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            Ok(_) => return Ok(index as usize),
            Err(now) => head = now,
        }
    }
    NEXT_INDEX
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |i| {
            ((i as usize) < 1 << INDEX_BITS).then_some(i + 1)
        })
        .map(|i| i as usize)
        .map_err(|_| {
            Error::new(
                rtws_types::E_OUTOFMEMORY,
                "too many live rtws handles (16.7 million)",
            )
        })
}

/// Puts a slot whose entry was taken out back on the free stack.
fn free_index(index: usize) {
    let Some(c) = cell(index) else { return };
    let mut head = FREE_HEAD.load(Ordering::Relaxed);
    loop {
        c.next_free.store(head as u32, Ordering::Relaxed);
        // Release: a pop that sees this head sees the link stored above.
        match FREE_HEAD.compare_exchange_weak(
            head,
            tagged(head, index as u32),
            Ordering::Release,
            Ordering::Relaxed,
        ) {
            Ok(_) => return,
            Err(now) => head = now,
        }
    }
}

/// Ties an opaque C type to the Rust object behind it.
pub trait Handle: Sized {
    type Target: Send + Sync + 'static;
    const NAME: &'static str;

    /// Registers `object` with one reference owned by the caller.
    fn publish(object: Arc<Self::Target>) -> *mut Self {
        let index = match alloc_index() {
            Ok(i) => i,
            // Out of handles: the caller gets NULL, which every function refuses.
            Err(_) => return std::ptr::null_mut(),
        };
        let mut s = slot_or_create(index).write();
        s.gen = s.gen.wrapping_add(1);
        s.entry = Some(Entry {
            refs: AtomicU32::new(1),
            type_id: TypeId::of::<Self::Target>(),
            object,
            texts: OnceCell::new(),
        });
        key(index, s.gen) as *mut Self
    }

    /// Runs when the last C reference goes, on the releasing thread, while the
    /// handle still resolves: a handler running elsewhere keeps a valid `sender`
    /// until it returns, and whatever must be over when Release returns (handlers)
    /// is done here, even if a call in flight still holds the object.
    fn last_release(_object: &Arc<Self::Target>) {}
    /// Whether `last_release` does anything: when not, the last Release does not
    /// look the object up again to call it (three handles go per message).
    const HAS_LAST_RELEASE: bool = false;

    /// Takes the object of a handle whose last reference went, once its slot is
    /// free and no lock is held: a type whose thread keeps the memory for the next
    /// one overrides it (a message's DataReader).
    fn let_go_object(object: Arc<Self::Target>) {
        drop(object);
    }

    fn new_handle(object: Self::Target) -> *mut Self {
        Self::publish(Arc::new(object))
    }

    /// A new reference for C, or NULL for none (optional properties).
    fn publish_optional(object: Option<Arc<Self::Target>>) -> *mut Self {
        object.map_or(std::ptr::null_mut(), Self::publish)
    }

    /// An optional parameter: NULL is none; anything else must be a live handle.
    fn get_optional(ptr: *const Self) -> Result<Option<Arc<Self::Target>>> {
        if ptr.is_null() {
            Ok(None)
        } else {
            Self::get(ptr).map(Some)
        }
    }

    /// The object behind `ptr` for the length of one call, without a reference
    /// of its own: the slot's read lock is held until the guard drops, so a
    /// Release meanwhile (it takes the write lock) waits for it.
    ///
    /// Only for calls that never run host code (handlers, the log callback, a
    /// release-context callback, a destructor that may call one): host code that
    /// released this handle on the same thread would wait for itself. Everything
    /// else uses `get`.
    fn borrow(ptr: *const Self) -> Result<Borrowed<Self::Target>> {
        let (key, slot, gen) = slot_for(ptr)?;
        let guard = slot.read();
        let object = match guard.live(gen) {
            Some(e) if e.type_id == TypeId::of::<Self::Target>() => {
                debug_assert_eq!((*e.object).type_id(), e.type_id);
                Arc::as_ptr(&e.object) as *const Self::Target
            }
            _ => return Err(not_a_handle::<Self>(key)),
        };
        Ok(Borrowed {
            _guard: guard,
            object,
        })
    }

    /// The object behind `ptr`, kept alive for as long as the caller holds it.
    fn get(ptr: *const Self) -> Result<Arc<Self::Target>> {
        // `downcast` checks the type: the entry is looked up without checking it twice.
        with_live_entry::<Self, _>(ptr, |e| e.object.clone())?
            .downcast::<Self::Target>()
            .map_err(|_| not_a_handle::<Self>(ptr as usize))
    }

    /// A `const char *` getter's result: `text(object)` as a C string (see
    /// `c_text`) owned by this handle, valid for as long as the handle lives.
    /// `getter` names the property: asking again returns the same pointer, so a
    /// getter called in a loop allocates once. Empty text is a static "".
    fn c_str(
        ptr: *const Self,
        getter: &'static str,
        text: impl FnOnce(&Self::Target) -> String,
    ) -> Result<*const c_char> {
        let text = text(&*Self::get(ptr)?);
        if text.is_empty() {
            return Ok(c"".as_ptr());
        }
        with_entry::<Self, _>(ptr, |e| {
            let mut texts = e.texts.get_or_init(Box::default).lock();
            let cached = texts
                .iter()
                .find(|(name, c)| *name == getter && c.to_bytes() == text.as_bytes());
            if let Some((_, c)) = cached {
                return c.as_ptr();
            }
            // A value that changed since (none does once set) gets its own entry:
            // the pointer handed out before stays valid.
            let c = crate::ffi::c_text(&text);
            let p = c.as_ptr();
            texts.push((getter, c));
            p
        })
    }

    /// Saturates instead of wrapping: a count stuck at `u32::MAX` leaks the
    /// object rather than freeing it while references remain.
    fn add_ref(ptr: *const Self) -> Result<u32> {
        with_entry::<Self, _>(ptr, |e| {
            e.refs
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_add(1))
                .map_or(u32::MAX, |n| n + 1)
        })
    }

    /// Drops one reference; the last one frees the handle, and the object is
    /// dropped here unless a call in flight still holds it.
    fn release(ptr: *const Self) -> Result<u32> {
        if !Self::HAS_LAST_RELEASE {
            return release_now::<Self>(ptr);
        }
        let left = with_entry::<Self, _>(ptr, drop_ref)?
            .map_err(|_| not_a_handle::<Self>(ptr as usize))?;
        if left == 0 {
            // A handler may AddRef its borrowed sender meanwhile: then the object
            // stays (with no handlers left), and the re-check below keeps it.
            if let Ok(object) = Self::get(ptr) {
                Self::last_release(&object);
            }
            let (slot, gen) = slot_of(ptr as usize).expect("checked by with_entry");
            let mut s = slot.write();
            let last = s
                .live(gen)
                .is_some_and(|e| e.refs.load(Ordering::Acquire) == 0);
            let removed = if last { s.entry.take() } else { None };
            drop(s);
            let_go::<Self>(ptr as usize, removed);
        }
        Ok(left)
    }
}

/// Drops one reference: never below zero (two racing final releases must not
/// wrap the count), and a saturated count stays (its true value is unknown).
/// Returns the references left; Err when there were none.
fn drop_ref(e: &Entry) -> std::result::Result<u32, u32> {
    e.refs
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| match n {
            u32::MAX => Some(n),
            n => n.checked_sub(1),
        })
        .map(|n| if n == u32::MAX { n } else { n - 1 })
}

/// `Handle::release` of a type with no `last_release`: one write lock drops the
/// reference and, for the last one, takes the entry out (three handles go per
/// message, so this path is hot).
fn release_now<H: Handle>(ptr: *const H) -> Result<u32> {
    let (key, slot, gen) = slot_for(ptr)?;
    let mut s = slot.write();
    let left = match s.live(gen) {
        Some(e) if e.type_id == TypeId::of::<H::Target>() => {
            // Every other change of the count holds at least the read lock: under
            // the write lock a plain load and store are enough (no locked op).
            match e.refs.load(Ordering::Relaxed) {
                0 => return Err(not_a_handle::<H>(key)),
                u32::MAX => u32::MAX,
                n => {
                    e.refs.store(n - 1, Ordering::Relaxed);
                    n - 1
                }
            }
        }
        _ => return Err(not_a_handle::<H>(key)),
    };
    let removed = if left == 0 { s.entry.take() } else { None };
    drop(s);
    let_go::<H>(key, removed);
    Ok(left)
}

/// Frees the slot of `key` if its entry was taken out, then hands the object to
/// `H::let_go_object`: its destructor may call back into rtws, so it runs with no
/// lock held.
fn let_go<H: Handle>(key: usize, removed: Option<Entry>) {
    let Some(Entry { object, texts, .. }) = removed else {
        return;
    };
    free_index(split(key).0);
    drop(texts);
    // The entry's type is `H::Target` (checked by whoever took it): this cannot fail.
    if let Ok(object) = object.downcast::<H::Target>() {
        H::let_go_object(object);
    }
}

/// Runs `f` on the live entry of type `H` behind `ptr`, under the slot's read lock.
fn with_entry<H: Handle, R>(ptr: *const H, f: impl FnOnce(&Entry) -> R) -> Result<R> {
    with_live_entry(ptr, |e| {
        (e.type_id == TypeId::of::<H::Target>()).then(|| f(e))
    })?
    .ok_or_else(|| not_a_handle::<H>(ptr as usize))
}

/// Runs `f` on the live entry behind `ptr`, whatever its type, under the slot's
/// read lock.
fn with_live_entry<H: Handle, R>(ptr: *const H, f: impl FnOnce(&Entry) -> R) -> Result<R> {
    let (key, slot, gen) = slot_for(ptr)?;
    let s = slot.read();
    s.live(gen).map(f).ok_or_else(|| not_a_handle::<H>(key))
}

/// The key `ptr` is, with the slot and generation it names; NULL and keys that
/// name no slot are refused.
#[inline]
fn slot_for<H: Handle>(ptr: *const H) -> Result<(usize, &'static RwLock<Slot>, usize)> {
    let key = ptr as usize;
    if key == 0 {
        return Err(null_handle::<H>());
    }
    match slot_of(key) {
        Some((slot, gen)) => Ok((key, slot, gen)),
        None => Err(not_a_handle::<H>(key)),
    }
}

/// `Handle::borrow`'s guard: the object, alive while the slot's read lock is held.
pub struct Borrowed<T: 'static> {
    _guard: RwLockReadGuard<'static, Slot>,
    object: *const T,
}

impl<T> Deref for Borrowed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `object` points into the `Arc` of the entry the guard's slot
        // holds, whose stored type id was checked to be `T`'s in `borrow` (an
        // `Entry` is only built by `publish`, from `Arc<T>` and `TypeId::of::<T>`:
        // the two always agree); the entry can only be taken out or replaced (and
        // the `Arc` dropped) under the slot's write lock, which cannot be held
        // while this read guard lives.
        unsafe { &*self.object }
    }
}

#[cold]
fn null_handle<H: Handle>() -> Error {
    Error::new(E_POINTER, format!("the {} pointer is NULL", H::NAME))
}

impl Slot {
    /// The entry, if the slot holds one of generation `gen` (a key's).
    #[inline]
    fn live(&self, gen: usize) -> Option<&Entry> {
        self.entry
            .as_ref()
            .filter(|_| self.gen & ((1 << GEN_BITS) - 1) == gen)
    }
}

#[cold]
fn not_a_handle<H: Handle>(key: usize) -> Error {
    Error::new(
        E_INVALIDARG,
        format!(
            "0x{key:x} is not a live {} handle (wrong type, already released, or never created)",
            H::NAME
        ),
    )
}

/// Drops every handle (used by `rtws_Shutdown`); returns how many were live.
pub fn clear_all() -> usize {
    let mut entries = Vec::new();
    for (seg_no, seg) in SEGMENT_TABLE.iter().enumerate() {
        let Some(seg) = seg.get() else { continue };
        for (i, cell) in seg.iter().enumerate() {
            let taken = cell.slot.write().entry.take();
            if let Some(e) = taken {
                // As a last Release does: whoever takes an entry out frees its
                // slot, once (a library thread still releasing handles after a
                // shutdown that timed out finds the entry gone, and frees nothing).
                free_index(seg_no << SEGMENT_BITS | i);
                entries.push(e);
            }
        }
    }
    let n = entries.len();
    drop(entries);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Probe;
    impl Handle for Probe {
        type Target = u8;
        const NAME: &'static str = "Probe";
    }

    struct Wide;
    impl Handle for Wide {
        type Target = u64;
        const NAME: &'static str = "Wide";
    }

    /// Threads making and freeing handles at once through the lock-free free
    /// stack never get one slot twice: each handle keeps its own value while live.
    #[test]
    fn slots_made_and_freed_at_once_are_never_shared() {
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut live = Vec::new();
                    for i in 0..20_000u64 {
                        let value = t << 32 | i;
                        live.push((Wide::new_handle(value), value));
                        // Keep a few alive, free the rest in a different order.
                        if live.len() > 8 {
                            let (h, v) = live.swap_remove((i as usize * 7) % live.len());
                            assert_eq!(*Wide::get(h).unwrap(), v);
                            assert_eq!(Wide::release(h).unwrap(), 0);
                            assert!(Wide::get(h).is_err(), "a freed key stays dead");
                        }
                    }
                    for (h, v) in live {
                        assert_eq!(*Wide::borrow(h).unwrap(), v);
                        assert_eq!(Wide::release(h).unwrap(), 0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // The slots went back on the stack: the next handle reuses one.
        let before = NEXT_INDEX.load(Ordering::Relaxed);
        let h = Wide::new_handle(1);
        assert_eq!(NEXT_INDEX.load(Ordering::Relaxed), before);
        Wide::release(h).unwrap();
    }

    #[test]
    fn a_saturated_count_never_frees() {
        let p = Probe::new_handle(7);
        with_entry(p, |e| e.refs.store(u32::MAX - 1, Ordering::Relaxed)).unwrap();
        assert_eq!(Probe::add_ref(p).unwrap(), u32::MAX);
        assert_eq!(Probe::add_ref(p).unwrap(), u32::MAX, "no wrap to 0");
        assert_eq!(
            Probe::release(p).unwrap(),
            u32::MAX,
            "its true count is unknown"
        );
        assert_eq!(*Probe::get(p).unwrap(), 7, "still alive");
    }
}
