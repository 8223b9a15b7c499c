//! Credentials: argon2id password hashes, random secrets and their SHA-256 digests (tokens,
//! links and session ids are stored only as digests) and TOTP codes (RFC 6238).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Why hashing failed (only on invalid parameters; never on user input).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id and a fresh salt (PHC string form).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches the stored PHC hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password, verified against when an account does not exist so that
/// the response takes as long as for a real account.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// 32 random bytes as URL-safe hex: session ids, link tokens, API tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a secret token: hex SHA-256.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison of two strings.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A new TOTP secret: 20 random bytes, base32 without padding.
pub fn new_totp_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base32::encode(base32::Alphabet::Rfc4648 { padding: false }, &bytes)
}

/// The 6-digit TOTP code for `secret` in the 30-second step containing `unix_time`.
pub fn totp_code(secret: &str, unix_time: i64) -> Option<String> {
    let key = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret)?;
    let step = (unix_time.max(0) / 30) as u64;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).ok()?;
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    Some(format!("{:06}", bin % 1_000_000))
}

/// The 30-second time step containing `unix_time`.
pub fn totp_step(unix_time: i64) -> i64 {
    unix_time.max(0) / 30
}

/// The time step whose code `code` is for `secret`, allowing one step of clock drift each
/// way; `None` when it matches none. (Whether that step was already used is the store's
/// to say.)
pub fn verify_totp(secret: &str, code: &str, unix_time: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    [-30, 0, 30]
        .iter()
        .map(|d| unix_time + d)
        .find(|t| totp_code(secret, *t).is_some_and(|c| same(&c, &code)))
        .map(totp_step)
}

/// The otpauth URI an authenticator app reads from the QR code.
pub fn totp_uri(secret: &str, account: &str, issuer: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// Ten single-use recovery codes, formatted `xxxxx-xxxxx`.
pub fn recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let t = random_token();
            format!("{}-{}", &t[..5], &t[5..10])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238_vectors() {
        // RFC 6238 appendix B, SHA-1 key "12345678901234567890", truncated to 6 digits.
        let secret = base32::encode(
            base32::Alphabet::Rfc4648 { padding: false },
            b"12345678901234567890",
        );
        assert_eq!(totp_code(&secret, 59).as_deref(), Some("287082"));
        assert_eq!(totp_code(&secret, 1111111109).as_deref(), Some("081804"));
        assert_eq!(totp_code(&secret, 1234567890).as_deref(), Some("005924"));
        assert_eq!(totp_code(&secret, 2000000000).as_deref(), Some("279037"));
        assert_eq!(
            verify_totp(&secret, "081 804", 1111111109 + 25),
            Some(totp_step(1111111109))
        );
        assert_eq!(verify_totp(&secret, "081804", 1111111109 + 95), None);
        assert_eq!(verify_totp(&secret, "abcdef", 59), None);
    }

    #[test]
    fn passwords_verify_only_themselves() {
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        let h = hash_password("correct horse battery staple").expect("hashes");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery staple", &h));
        assert!(!verify_password("correct horse battery stapler", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
