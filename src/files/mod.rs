//! File contents, apart from the rules about who may upload what (`chat::files`):
//! the blob store, what each allowed extension must contain, and image thumbnails.

pub mod blobs;
pub mod kinds;
pub mod thumbnail;
