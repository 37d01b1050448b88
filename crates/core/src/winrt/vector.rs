//! `IVector<T>` as the Controls use it (SupportedProtocols,
//! IgnorableServerCertificateErrors): a checked list that ConnectAsync freezes.

use parking_lot::Mutex;
use rtws_types::{Error, Result, E_BOUNDS};

pub struct Vector<T> {
    st: Mutex<(Vec<T>, Option<&'static str>)>,
    validate: fn(&T) -> Result<()>,
}

/// `IVector<String>` (SupportedProtocols).
pub type StringVector = Vector<String>;

impl<T: Clone + PartialEq> Vector<T> {
    pub fn new(validate: fn(&T) -> Result<()>) -> Self {
        Vector {
            st: Mutex::new((Vec::new(), None)),
            validate,
        }
    }

    /// Later changes fail with `E_ILLEGAL_METHOD_CALL` and `why`.
    pub fn freeze(&self, why: &'static str) {
        self.st.lock().1 = Some(why);
    }

    pub fn unfreeze(&self) {
        self.st.lock().1 = None;
    }

    fn edit<R>(&self, f: impl FnOnce(&mut Vec<T>) -> Result<R>) -> Result<R> {
        let mut st = self.st.lock();
        if let Some(why) = st.1 {
            return Err(Error::illegal_call(why));
        }
        f(&mut st.0)
    }

    pub fn append(&self, item: T) -> Result<()> {
        (self.validate)(&item)?;
        self.edit(|v| {
            v.push(item);
            Ok(())
        })
    }

    /// `IndexOf`: the index of the first item equal to `item`.
    pub fn index_of(&self, item: &T) -> Option<u32> {
        self.st
            .lock()
            .0
            .iter()
            .position(|x| x == item)
            .map(|i| i as u32)
    }

    pub fn clear(&self) -> Result<()> {
        self.edit(|v| {
            v.clear();
            Ok(())
        })
    }

    pub fn remove_at(&self, index: u32) -> Result<()> {
        self.edit(|v| {
            if (index as usize) < v.len() {
                v.remove(index as usize);
                Ok(())
            } else {
                Err(out_of_range(index, v.len()))
            }
        })
    }

    pub fn len(&self) -> u32 {
        self.st.lock().0.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get<R>(&self, index: u32, f: impl FnOnce(&T) -> Result<R>) -> Result<R> {
        let st = self.st.lock();
        match st.0.get(index as usize) {
            Some(s) => f(s),
            None => Err(out_of_range(index, st.0.len())),
        }
    }

    pub fn to_vec(&self) -> Vec<T> {
        self.st.lock().0.clone()
    }
}

fn out_of_range(index: u32, len: usize) -> Error {
    Error::new(
        E_BOUNDS,
        format!("index {index} is out of range (size {len})"),
    )
}
