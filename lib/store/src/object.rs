//! The object store under the report store: a few operations on named blobs, which is
//! all the folder, S3 and memory backends have to provide. Everything the report store
//! keeps (reports, index lines, card ids, markers, dead letters) is laid out on top of
//! it once, in [`crate::Store`].
//!
//! Keys are `<folder>/<name>` with names that went through [`crate::key::object_name`]
//! (so never a `/`, never a leading `.`); a backend may refuse other shapes.

use super::Error;

/// Named blobs: get, put, conditional create, name-ordered listing, delete, and a link.
///
/// Every backend answers [`Error::Unavailable`] when it cannot be reached (a bucket down,
/// a data folder gone), and never for an object that simply is not there.
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync {
    /// The object's bytes, or `None` when there is no object under `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error>;

    /// Stores `bytes` under `key` with `content_type`, replacing what was there. A reader
    /// sees the old object or the new one, never a mix.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), Error>;

    /// Creates `key` unless an object is already there (a conditional create): `true`
    /// when this call created it, `false` when it existed. Of two concurrent creates of
    /// one key, exactly one gets `true` (on S3, given a server that honours
    /// `If-None-Match: *`).
    async fn put_if_absent(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<bool, Error>;

    /// At most `limit` keys starting with `prefix`, in ascending name order, starting
    /// after the key `after` when given: a page. A caller stops early by not asking for
    /// the next page (`after` = the last key of this one); a page shorter than `limit`
    /// is the last.
    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, Error>;

    /// Deletes the object under `key`; deleting one that is not there is not an error.
    async fn delete(&self, key: &str) -> Result<(), Error>;

    /// A URL that reads the object without further credentials, served as
    /// `content_type`; `None` where the backend has no such links (a folder, memory).
    async fn presign(&self, key: &str, content_type: &str) -> Result<Option<String>, Error>;
}
