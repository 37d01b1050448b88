//! Memory of per-message objects (a send's operation, a message's DataReader) kept by
//! the thread that let one go, for the next one it makes: such an object costs no
//! malloc and free per message. Glibc's thread cache holds 7 blocks of a size, and a
//! flush finishes up to 32 sends at once, so most of those took its slow paths.
//!
//! Only an object nobody else holds is kept (`Arc::get_mut`), and a kept one is made
//! over from scratch when reused: nothing of its last life carries over.

use std::cell::RefCell;
use std::sync::Arc;
use std::thread::LocalKey;

/// One thread's kept objects of one type.
pub(crate) type Spares<T> = RefCell<Vec<Arc<T>>>;

/// A flush's worth and then some, per thread and type.
const MAX: usize = 64;

/// Keeps `object` in `spares` if nobody else holds it and `clear` agrees, after
/// `clear` let go of what it refers to (which should go now, not when the memory is
/// next used); else drops it.
pub(crate) fn keep<T: 'static>(
    spares: &'static LocalKey<Spares<T>>,
    mut object: Arc<T>,
    clear: impl FnOnce(&mut T) -> bool,
) {
    let Some(inner) = Arc::get_mut(&mut object) else {
        return;
    };
    if !clear(inner) {
        return;
    }
    // A thread being torn down has no spares any more: the object is just freed.
    let _ = spares.try_with(|spares| {
        let mut spares = spares.borrow_mut();
        if spares.len() < MAX {
            spares.push(object);
        }
    });
}

/// A kept object, held by nobody else, if this thread has one: memory for `reuse`.
pub(crate) fn take<T: 'static>(spares: &'static LocalKey<Spares<T>>) -> Option<Arc<T>> {
    spares.try_with(|s| s.borrow_mut().pop()).ok().flatten()
}

/// `value` in the memory of `kept` (from `take`), or in new memory.
pub(crate) fn reuse<T>(kept: Option<Arc<T>>, value: T) -> Arc<T> {
    if let Some(mut kept) = kept {
        if let Some(memory) = Arc::get_mut(&mut kept) {
            *memory = value;
            return kept;
        }
    }
    Arc::new(value)
}

/// `value` in the memory of a kept object, if this thread has one, else in new memory.
pub(crate) fn make<T: 'static>(spares: &'static LocalKey<Spares<T>>, value: T) -> Arc<T> {
    reuse(take(spares), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static TEST_SPARES: Spares<[u8; 40]> = const { RefCell::new(Vec::new()) };
    }

    #[test]
    fn an_object_let_go_is_made_over_in_its_memory() {
        let first = make(&TEST_SPARES, [1u8; 40]);
        let memory = Arc::as_ptr(&first);
        keep(&TEST_SPARES, first, |v| {
            *v = [0; 40];
            true
        });
        // Takes the block of that size freed last (glibc's thread cache is last in,
        // first out): the object's, had it been freed. Not zeroed: calloc skips it.
        // (Under another allocator the check may pass either way; it never fails.)
        let decoy = std::hint::black_box(Box::new([7u8; 56]));
        let next = make(&TEST_SPARES, [2u8; 40]);
        assert_eq!(Arc::as_ptr(&next), memory);
        assert_eq!(*next, [2u8; 40]);
        drop(decoy);
    }

    #[test]
    fn an_object_held_elsewhere_is_not_kept_nor_cleared() {
        let first = make(&TEST_SPARES, [1u8; 40]);
        let held = first.clone();
        keep(&TEST_SPARES, first, |v| {
            *v = [0; 40];
            true
        });
        assert_eq!(*held, [1u8; 40]);
        let next = make(&TEST_SPARES, [2u8; 40]);
        assert_ne!(Arc::as_ptr(&next), Arc::as_ptr(&held));
    }

    #[test]
    fn an_object_its_clear_refuses_is_not_kept() {
        let first = make(&TEST_SPARES, [1u8; 40]);
        keep(&TEST_SPARES, first, |_| false);
        assert_eq!(TEST_SPARES.with(|s| s.borrow().len()), 0);
    }

    #[test]
    fn a_thread_keeps_at_most_max() {
        let objects: Vec<_> = (0..MAX + 10)
            .map(|_| make(&TEST_SPARES, [3u8; 40]))
            .collect();
        for o in objects {
            keep(&TEST_SPARES, o, |_| true);
        }
        assert_eq!(TEST_SPARES.with(|s| s.borrow().len()), MAX);
    }
}
