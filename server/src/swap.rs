//! A swap cell for the parts of the server that a reload replaces while connections
//! run (site settings today; certificates and site rules next): readers take a cheap
//! snapshot that stays valid for their whole request, a reload stores a new value.

use std::sync::{Arc, RwLock};

/// A value replaced as a whole, never mutated in place.
#[derive(Debug)]
pub(crate) struct Swap<T>(RwLock<Arc<T>>);

impl<T> Swap<T> {
    /// A cell holding `value`.
    pub(crate) fn new(value: T) -> Swap<T> {
        Swap(RwLock::new(Arc::new(value)))
    }

    /// The current value. A lock poisoned by a panic elsewhere is recovered: the value
    /// is only ever replaced whole, so it cannot be half-written.
    pub(crate) fn load(&self) -> Arc<T> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the value; snapshots already taken keep the old one.
    pub(crate) fn store(&self, value: T) {
        self.store_arc(Arc::new(value));
    }

    /// A cell holding a value already shared (a certificate rustls holds as an `Arc`).
    pub(crate) fn from_arc(value: Arc<T>) -> Swap<T> {
        Swap(RwLock::new(value))
    }

    /// Replaces the value with one already shared.
    pub(crate) fn store_arc(&self, value: Arc<T>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_outlives_a_store() {
        let cell = Swap::new(1);
        let before = cell.load();
        cell.store(2);
        assert_eq!((*before, *cell.load()), (1, 2));
    }
}
