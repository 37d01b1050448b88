//! C handles: every object pointer given to C is a key into this registry, never
//! the address of Rust memory. A handle of the wrong type, a released handle or a
//! made-up pointer is found missing here and refused with `E_INVALIDARG`, instead
//! of being dereferenced. Keys are never reused, so a stale handle stays invalid.

use crate::core::error::{Error, Result, E_INVALIDARG, E_POINTER};
use parking_lot::RwLock;
use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

type Object = Arc<dyn Any + Send + Sync>;

struct Entry {
    refs: AtomicU32,
    object: Object,
}

/// Keys are sequential, so the key itself is a perfect hash.
#[derive(Default)]
struct KeyHasher(u64);
impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only usize keys are hashed")
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = n as u64;
    }
}

type Shard = RwLock<HashMap<usize, Entry, BuildHasherDefault<KeyHasher>>>;

const SHARDS: usize = 32;
/// Keys step by 16 so handles look like aligned pointers, and the low bits pick
/// no shard twice in a row.
const KEY_STEP: usize = 16;

static REGISTRY: [Shard; SHARDS] =
    [const { RwLock::new(HashMap::with_hasher(BuildHasherDefault::new())) }; SHARDS];
static NEXT_KEY: AtomicUsize = AtomicUsize::new(KEY_STEP);

fn shard(key: usize) -> &'static Shard {
    &REGISTRY[(key / KEY_STEP) % SHARDS]
}

/// Ties an opaque C type to the Rust object behind it.
pub trait Handle: Sized {
    type Target: Send + Sync + 'static;
    const NAME: &'static str;

    /// Registers `object` with one reference owned by the caller.
    fn publish(object: Arc<Self::Target>) -> *mut Self {
        let key = NEXT_KEY.fetch_add(KEY_STEP, Ordering::Relaxed);
        let entry = Entry {
            refs: AtomicU32::new(1),
            object,
        };
        shard(key).write().insert(key, entry);
        key as *mut Self
    }

    fn new_handle(object: Self::Target) -> *mut Self {
        Self::publish(Arc::new(object))
    }

    /// The object behind `ptr`, kept alive for as long as the caller holds it.
    fn get(ptr: *const Self) -> Result<Arc<Self::Target>> {
        let key = ptr as usize;
        if key == 0 {
            return Err(Error::new(
                E_POINTER,
                format!("the {} pointer is NULL", Self::NAME),
            ));
        }
        let object = shard(key)
            .read()
            .get(&key)
            .map(|e| e.object.clone())
            .ok_or_else(|| not_a_handle::<Self>(key))?;
        object
            .downcast::<Self::Target>()
            .map_err(|_| not_a_handle::<Self>(key))
    }

    fn add_ref(ptr: *const Self) -> Result<u32> {
        let key = ptr as usize;
        Self::get(ptr)?;
        let map = shard(key).read();
        let entry = map.get(&key).ok_or_else(|| not_a_handle::<Self>(key))?;
        Ok(entry.refs.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Drops one reference; the last one removes the handle, and the object is
    /// dropped here unless a call in flight still holds it.
    fn release(ptr: *const Self) -> Result<u32> {
        let key = ptr as usize;
        Self::get(ptr)?;
        let left = {
            let map = shard(key).read();
            let entry = map.get(&key).ok_or_else(|| not_a_handle::<Self>(key))?;
            entry.refs.fetch_sub(1, Ordering::AcqRel) - 1
        };
        if left == 0 {
            let removed = {
                let mut map = shard(key).write();
                match map.get(&key) {
                    Some(e) if e.refs.load(Ordering::Acquire) == 0 => map.remove(&key),
                    _ => None,
                }
            };
            // The object's destructor may call back into rtws: run it unlocked.
            drop(removed);
        }
        Ok(left)
    }
}

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
    let mut n = 0;
    for s in REGISTRY.iter() {
        let entries = std::mem::take(&mut *s.write());
        n += entries.len();
        drop(entries);
    }
    n
}
