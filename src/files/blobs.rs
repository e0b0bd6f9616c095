//! Where file contents live: one seam over the `object_store` crate.
//!
//! The default is a local directory under the data directory; instances that scale out
//! share it (or, with another `ObjectStore`, a bucket) without code changes. Every key
//! is chosen here (`files/<random>`, `thumbs/<random>`); nothing a client sends becomes
//! part of a path. Uploads are written in parts as they arrive, never held whole.

use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::error::BoxError;

/// Size of the parts an upload is written in (memory held per upload in flight).
const PART_BYTES: usize = 1 << 20;

/// File contents, by server-chosen key; cheap to clone.
#[derive(Clone, Debug)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    /// The directory of a local store, for the sweep of half-written parts.
    local_root: Option<PathBuf>,
}

/// A blob being written.
pub struct BlobWriter {
    key: String,
    upload: WriteMultipart,
}

impl BlobWriter {
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Appends bytes, waiting while too many parts are in flight.
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), BoxError> {
        self.upload.wait_for_capacity(2).await?;
        self.upload.put(bytes);
        Ok(())
    }

    /// Makes the blob visible under its key.
    pub async fn finish(self) -> Result<(), BoxError> {
        self.upload.finish().await?;
        Ok(())
    }

    /// Throws away what was written.
    pub async fn abort(self) {
        if let Err(err) = self.upload.abort().await {
            tracing::warn!(error = %err, "could not abort a blob upload");
        }
    }
}

impl BlobStore {
    /// A store in a local directory (created when missing).
    pub fn local(dir: &FsPath) -> Result<Self, BoxError> {
        std::fs::create_dir_all(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(BlobStore { inner: Arc::new(store), local_root: Some(dir.to_path_buf()) })
    }

    /// A fresh key under `prefix` (`files`, `thumbs`): 128 random bits.
    pub fn new_key(prefix: &str) -> String {
        let bits: u128 = rand::random();
        format!("{prefix}/{bits:032x}")
    }

    pub async fn writer(&self, key: String) -> Result<BlobWriter, BoxError> {
        let upload = self.inner.put_multipart(&Path::from(key.as_str())).await?;
        Ok(BlobWriter { key, upload: WriteMultipart::new_with_chunk_size(upload, PART_BYTES) })
    }

    /// Stores a small blob (a thumbnail) in one piece.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BoxError> {
        self.inner.put(&Path::from(key), PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// The whole blob in memory (images being thumbnailed, bounded by the upload limit).
    pub async fn read(&self, key: &str) -> Result<Bytes, BoxError> {
        Ok(self.inner.get(&Path::from(key)).await?.bytes().await?)
    }

    /// The blob's bytes in `range` (all when `None`), as a stream.
    pub async fn stream(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, object_store::Error>>, BoxError> {
        let options = GetOptions { range: range.map(GetRange::Bounded), ..Default::default() };
        Ok(self.inner.get_opts(&Path::from(key), options).await?.into_stream())
    }

    /// Deletes a blob; one already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BoxError> {
        match self.inner.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Keys under `prefix` last modified before `before_ms` (Unix ms).
    pub async fn keys_older_than(&self, prefix: &str, before_ms: i64) -> Result<Vec<String>, BoxError> {
        let mut keys = Vec::new();
        let mut listing = self.inner.list(Some(&Path::from(prefix)));
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if meta.last_modified.timestamp_millis() < before_ms {
                keys.push(meta.location.to_string());
            }
        }
        Ok(keys)
    }

    /// Removes the parts of uploads that a killed process left half-written (a local
    /// store keeps them beside their key as `<key>#<n>`), older than `before_ms`.
    /// Returns how many went.
    pub fn remove_stale_parts(&self, before_ms: i64) -> usize {
        let Some(root) = &self.local_root else { return 0 };
        let mut removed = 0;
        for prefix in ["files", "thumbs"] {
            let Ok(entries) = std::fs::read_dir(root.join(prefix)) else { continue };
            for entry in entries.flatten() {
                let staged = entry.file_name().to_string_lossy().contains('#');
                let modified_ms = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as i64);
                if staged && modified_ms < before_ms && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }
}
