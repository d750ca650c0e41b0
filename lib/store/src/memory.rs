//! The memory backend: objects in a map, for unit tests of code that needs a store.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

use super::{Error, ObjectStore, Store};

/// The report store in memory, without links: what a function's unit tests pass.
pub type Memory = Store<MemoryObjects>;

/// Objects in a name-ordered map behind a lock; every operation is atomic, so of two
/// concurrent creates of one key exactly one wins.
#[derive(Debug, Default)]
pub struct MemoryObjects {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryObjects {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A test that panicked while holding the lock leaves a usable map behind.
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl ObjectStore for MemoryObjects {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.lock().get(key).cloned())
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, _: &str) -> Result<(), Error> {
        self.lock().insert(key.to_string(), bytes);
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>, _: &str) -> Result<bool, Error> {
        let mut objects = self.lock();
        if objects.contains_key(key) {
            return Ok(false);
        }
        objects.insert(key.to_string(), bytes);
        Ok(true)
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, Error> {
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        Ok(self
            .lock()
            .range::<str, _>((start, Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(prefix))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.lock().remove(key);
        Ok(())
    }

    async fn presign(&self, _: &str, _: &str) -> Result<Option<String>, Error> {
        Ok(None)
    }
}
