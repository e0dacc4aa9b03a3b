//! Password hashing with argon2id (the `argon2` crate's defaults: m=19 MiB, t=2, p=1).
//! Hashing is deliberately slow, so it runs on the blocking pool, off the async workers.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::AppError;

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| AppError::Internal(format!("hashing failed: {err}")))
    })
    .await
    .map_err(|err| AppError::Internal(format!("hashing task failed: {err}")))?
}

/// Checks a password against a stored PHC string. With no stored hash (unknown user) it
/// hashes the password anyway and answers `false`, so response times do not tell whether
/// a username exists.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => PasswordHash::new(&stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false),
        None => {
            let salt = SaltString::generate(&mut OsRng);
            let _ = Argon2::default().hash_password(password.as_bytes(), &salt);
            false
        }
    })
    .await
    .map_err(|err| AppError::Internal(format!("verification task failed: {err}")))
}
