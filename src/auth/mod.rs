//! Accounts and authentication: who is calling.
//!
//! - [`password`]: Argon2id hashing, off the async runtime and bounded in concurrency.
//! - [`token`]: opaque random session tokens, stored only as SHA-256 hashes.
//! - [`credentials`]: finding a token in a request (Bearer header, cookie or Socket.IO
//!   `auth`) and the cross-origin rule for cookie-authenticated requests.
//! - [`accounts`]: register, login (rate-limited), logout and token lookup: the service
//!   functions behind both REST and the Socket.IO handshake.

pub mod accounts;
pub mod credentials;
pub mod password;
pub mod token;

pub use accounts::{AuthUser, LoginLimiter, Session};
pub use credentials::SESSION_COOKIE;
