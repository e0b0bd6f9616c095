//! Argon2id password hashing.
//!
//! Hashing takes tens of milliseconds of CPU by design, so it runs on the blocking pool
//! and a semaphore bounds how many run at once: a burst of logins queues instead of
//! starving every other request of CPU.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use rand::RngCore;
use tokio::sync::Semaphore;

use crate::error::AppError;

/// 128 random bits, the size Argon2's authors recommend.
fn new_salt() -> Result<SaltString, AppError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SaltString::encode_b64(&bytes).map_err(|err| AppError::internal(err.to_string()))
}

#[derive(Clone, Debug)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        PasswordHasher { permits: Arc::new(Semaphore::new(concurrency.max(1))) }
    }

    /// The PHC string (`$argon2id$…`) for `password`.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        tokio::task::spawn_blocking(move || {
            let salt = new_salt()?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|err| AppError::internal(err.to_string()))
        })
        .await?
    }

    /// Whether `password` matches `phc`. With `phc = None` (unknown user) a hash is still
    /// computed, so response time does not reveal which usernames exist.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        tokio::task::spawn_blocking(move || match phc {
            Some(phc) => {
                let parsed = PasswordHash::new(&phc).map_err(|err| AppError::internal(err.to_string()))?;
                Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            }
            None => {
                let salt = new_salt()?;
                let _ = Argon2::default().hash_password(password.as_bytes(), &salt);
                Ok(false)
            }
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_the_same_password() {
        let hasher = PasswordHasher::new(1);
        let phc = hasher.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(hasher.verify("correct horse".into(), Some(phc.clone())).await.unwrap());
        assert!(!hasher.verify("wrong horse".into(), Some(phc)).await.unwrap());
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }
}
