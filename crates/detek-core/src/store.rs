use crate::key::{Key, KeyId};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

type Value = Arc<dyn Any + Send + Sync>;

/// Why a key has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub key: KeyId,
    /// Human reason, e.g. `collector kubernetes/live failed: forbidden: ...`.
    pub reason: String,
}

/// The reason of a key no collector of the target produced.
const NOT_COLLECTED: &str = "no collector produced it";

impl Missing {
    /// The key was not collected at all for this target (rather than failed or skipped).
    pub fn not_collected(&self) -> bool {
        self.reason == NOT_COLLECTED
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

#[derive(Clone)]
pub(crate) enum Slot {
    Ready(Value),
    Failed(String),
    /// This target does not offer the source (an OpenStack service missing from the catalog):
    /// readers are skipped with the reason (DESIGN.md §1), not `Unknown`.
    Skipped(String),
}

/// The per-scan map of keys to values: written once by collectors, read by detectors.
#[derive(Default)]
pub struct Store {
    slots: HashMap<KeyId, Slot>,
    /// Values derived from the store on first use and shared by every reader of this scan
    /// (see [`Store::memo`]).
    memos: Mutex<HashMap<&'static str, Arc<OnceLock<Value>>>>,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value under `key`, or why there is none.
    pub fn get<T: Send + Sync + 'static>(&self, key: &Key<T>) -> Result<&T, Missing> {
        match self.slots.get(key.id()) {
            Some(Slot::Ready(value)) => value.downcast_ref::<T>().ok_or_else(|| Missing {
                key: key.id(),
                reason: format!(
                    "stored value is not a {} (two keys share the id)",
                    std::any::type_name::<T>()
                ),
            }),
            Some(Slot::Failed(reason) | Slot::Skipped(reason)) => Err(Missing {
                key: key.id(),
                reason: reason.clone(),
            }),
            None => Err(Missing {
                key: key.id(),
                reason: NOT_COLLECTED.to_string(),
            }),
        }
    }

    /// Shared handle to the value, for callers that keep it past the store's borrow.
    pub fn get_arc<T: Send + Sync + 'static>(&self, key: &Key<T>) -> Result<Arc<T>, Missing> {
        self.get(key)?;
        match self.slots.get(key.id()) {
            Some(Slot::Ready(value)) => Ok(value.clone().downcast::<T>().expect("checked above")),
            _ => unreachable!("checked above"),
        }
    }

    /// Why `id` is unavailable, `None` when it has a value or was skipped
    /// ([`Store::skipped`]).
    pub fn failure(&self, id: KeyId) -> Option<String> {
        match self.slots.get(id) {
            Some(Slot::Ready(_) | Slot::Skipped(_)) => None,
            Some(Slot::Failed(reason)) => Some(reason.clone()),
            None => Some(NOT_COLLECTED.to_string()),
        }
    }

    /// Why `id` was skipped: the target does not offer its source (`Produced::skip`).
    pub fn skipped(&self, id: KeyId) -> Option<&str> {
        match self.slots.get(id) {
            Some(Slot::Skipped(reason)) => Some(reason),
            _ => None,
        }
    }

    pub fn contains(&self, id: KeyId) -> bool {
        matches!(self.slots.get(id), Some(Slot::Ready(_)))
    }

    /// Put a value directly (tests, and callers assembling a store by hand).
    pub fn insert<T: Send + Sync + 'static>(&mut self, key: &Key<T>, value: T) {
        self.slots.insert(key.id(), Slot::Ready(Arc::new(value)));
    }

    /// Mark `id` skipped (tests, and callers assembling a store by hand).
    pub fn skip(&mut self, id: KeyId, reason: impl Into<String>) {
        self.slots.insert(id, Slot::Skipped(reason.into()));
    }

    /// The value derived from this store under `name`, built by `build` the first time any
    /// detector asks and shared by every later one (the others wait for it): a view several
    /// detectors read and none owns, such as the Rego detectors' input document, built once
    /// per scan from the keys that are there.
    pub fn memo<T: Send + Sync + 'static>(
        &self,
        name: &'static str,
        build: impl FnOnce() -> T,
    ) -> Arc<T> {
        let cell = {
            let mut memos = self.memos.lock().unwrap_or_else(|e| e.into_inner());
            memos.entry(name).or_default().clone()
        };
        let value = cell.get_or_init(|| Arc::new(build()) as Value).clone();
        value
            .downcast::<T>()
            .unwrap_or_else(|_| panic!("memo {name} holds another type (two memos share a name)"))
    }

    pub(crate) fn set(&mut self, id: KeyId, slot: Slot) {
        // Written once: a second producer of the same key is a plan error, so keep the first.
        self.slots.entry(id).or_insert(slot);
    }

    pub(crate) fn fail(&mut self, id: KeyId, reason: String) {
        self.set(id, Slot::Failed(reason));
    }
}
