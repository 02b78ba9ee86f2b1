use std::fmt;
use std::marker::PhantomData;

/// The string id of a key, e.g. `kubernetes/pods`.
pub type KeyId = &'static str;

/// A typed name in the [`Store`](crate::Store).
///
/// The type parameter ties the id to the value stored under it, so a detector reading
/// `Key<Vec<Pod>>` gets a `&Vec<Pod>` checked by the compiler. Keys are `const`:
/// `pub const PODS: Key<Pods> = Key::new("kubernetes/pods");`
pub struct Key<T> {
    id: KeyId,
    // fn() -> T: the key neither owns nor borrows a T, and stays Send + Sync for any T.
    _type: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    pub const fn new(id: KeyId) -> Self {
        Key {
            id,
            _type: PhantomData,
        }
    }

    pub const fn id(&self) -> KeyId {
        self.id
    }
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Key<T> {}

impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.id)
    }
}
