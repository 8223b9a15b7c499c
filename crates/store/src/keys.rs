//! Keys kept in files outside the database, owner-only and created on first use: the audit
//! signing key (an Ed25519 key, PKCS#8 PEM) with the public keys of keys retired by rotation
//! beside it, and server secrets (random HMAC keys, such as the one behind CSRF tokens).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey as _, EncodePrivateKey as _, spki::der::pem::LineEnding,
};
use pathways_domain::audit::signed::{
    KeyRing, PublicKey, Signed, Signer, Statement, StatementKind, TrustedKey,
};
use rand::RngCore as _;

/// The key that signs audit checkpoints and heads, with the public keys verification trusts.
#[derive(Debug, Clone)]
pub struct AuditKeys {
    signer: std::sync::Arc<Signer>,
    retired: KeyRing,
    fresh: bool,
    path: Option<PathBuf>,
}

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading, writing or creating a file failed.
    #[error("key file {path}: {reason}")]
    Io { path: String, reason: String },
    /// The private key file can be read by others.
    #[error(
        "key file {path} can be read by other users (mode {mode:o}); make it owner-only: chmod 600 {path}"
    )]
    Permissions { path: String, mode: u32 },
    /// The file's content is not what it should be.
    #[error("key file {path}: {reason}")]
    Format { path: String, reason: String },
    /// No key file where one is needed.
    #[error("there is no key file at {path}")]
    Missing { path: String },
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> KeyError {
    KeyError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// A server secret: 32 random bytes kept in an owner-only file (as hex), made on first start
/// and read on every later one, so that what it signs stays valid across restarts and
/// across instances sharing the data folder. Never logged.
#[derive(Clone)]
pub struct ServerSecret(std::sync::Arc<[u8; 32]>);

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(…)")
    }
}

impl ServerSecret {
    /// A fresh secret held in memory only (tests, and settings before the file is read).
    pub fn generate() -> ServerSecret {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        ServerSecret(std::sync::Arc::new(bytes))
    }

    /// Reads the secret at `path`, creating it (owner-only) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<ServerSecret, KeyError> {
        match Self::load(path) {
            Err(KeyError::Missing { .. }) => {}
            other => return other,
        }
        let fresh = Self::generate();
        match write_new(path, hex::encode(*fresh.0).as_bytes()) {
            Ok(()) => Ok(fresh),
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(io_error(path, e)),
        }
    }

    /// Reads an existing secret file.
    pub fn load(path: &Path) -> Result<ServerSecret, KeyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Missing {
                    path: path.display().to_string(),
                });
            }
            Err(e) => return Err(io_error(path, e)),
        };
        check_owner_only(path)?;
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| KeyError::Format {
                path: path.display().to_string(),
                reason: "not 32 bytes written as 64 hexadecimal digits".into(),
            })?;
        Ok(ServerSecret(std::sync::Arc::new(bytes)))
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0[..]
    }
}

/// The file of retired public keys that belongs to the key file at `key_path`.
pub fn retired_keys_path(key_path: &Path) -> PathBuf {
    let mut name = key_path.as_os_str().to_owned();
    name.push(".retired");
    PathBuf::from(name)
}

impl AuditKeys {
    /// A new key held only in memory: for tests and benchmarks, which sign throw-away logs.
    pub fn generate() -> AuditKeys {
        AuditKeys {
            signer: std::sync::Arc::new(new_signer()),
            retired: KeyRing::default(),
            fresh: true,
            path: None,
        }
    }

    /// Reads the key file at `path`, creating it (owner-only) when it does not exist; the
    /// retired keys are read from the file beside it ([`retired_keys_path`]) when present.
    pub fn load_or_create(path: &Path) -> Result<AuditKeys, KeyError> {
        match Self::load(path) {
            Err(KeyError::Missing { .. }) => {}
            other => return other,
        }
        let signer = new_signer();
        let pem = signer
            .key()
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| io_error(path, e))?;
        match write_new(path, pem.as_bytes()) {
            Ok(()) => Ok(AuditKeys {
                signer: std::sync::Arc::new(signer),
                retired: read_retired(path)?,
                fresh: true,
                path: Some(path.to_path_buf()),
            }),
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(io_error(path, e)),
        }
    }

    /// Reads an existing key file.
    pub fn load(path: &Path) -> Result<AuditKeys, KeyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Missing {
                    path: path.display().to_string(),
                });
            }
            Err(e) => return Err(io_error(path, e)),
        };
        check_owner_only(path)?;
        let key = SigningKey::from_pkcs8_pem(&text).map_err(|e| KeyError::Format {
            path: path.display().to_string(),
            reason: format!("not an Ed25519 private key in PKCS#8 PEM form ({e})"),
        })?;
        Ok(AuditKeys {
            signer: std::sync::Arc::new(Signer::from_key(key)),
            retired: read_retired(path)?,
            fresh: false,
            path: Some(path.to_path_buf()),
        })
    }

    /// Retires the key at `path` after entry `head_seq` (the chain's head now) and puts a new
    /// key in its place. The retired public key is added to the retired-keys file first, so
    /// no state leaves a key that signed the log untrusted.
    pub fn rotate(path: &Path, head_seq: i64) -> Result<AuditKeys, KeyError> {
        let old = Self::load(path)?;
        let retired_path = retired_keys_path(path);
        let line = KeyRing::new(vec![TrustedKey {
            key: old.public_key(),
            retired_after: Some(head_seq),
        }])
        .to_text();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&retired_path)
            .map_err(|e| io_error(&retired_path, e))?;
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(&retired_path, e))?;
        let signer = new_signer();
        let pem = signer
            .key()
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| io_error(path, e))?;
        let temp = temp_beside(path);
        write_new(&temp, pem.as_bytes()).map_err(|e| io_error(&temp, e))?;
        std::fs::rename(&temp, path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            io_error(path, e)
        })?;
        Self::load(path)
    }

    /// The public half of the signing key.
    pub fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    /// Every key verification trusts: the signing key, then the retired ones.
    pub fn ring(&self) -> KeyRing {
        let mut ring = KeyRing::new(vec![TrustedKey {
            key: self.public_key(),
            retired_after: None,
        }]);
        ring.extend(&self.retired);
        ring
    }

    /// True when the key was made by this process (generated, or its file just created).
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Where the key file is, when it has one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A statement, signed now, that the chain's head is entry `seq` with hash `hash`: what
    /// a witness keeps.
    pub fn sign_head(&self, seq: i64, hash: &str) -> Signed {
        self.signer.sign(Statement {
            kind: StatementKind::Head,
            seq,
            hash: hash.to_string(),
            at: crate::now_unix(),
        })
    }

    pub(crate) fn signer(&self) -> &Signer {
        &self.signer
    }
}

/// Reads a file of trusted public keys (the output of `pathways audit public-key`).
pub fn read_key_ring(path: &Path) -> Result<KeyRing, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    KeyRing::parse(&text).map_err(|e| KeyError::Format {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn read_retired(key_path: &Path) -> Result<KeyRing, KeyError> {
    let path = retired_keys_path(key_path);
    if !path.exists() {
        return Ok(KeyRing::default());
    }
    let ring = read_key_ring(&path)?;
    if let Some(active) = ring.keys().iter().find(|k| k.retired_after.is_none()) {
        return Err(KeyError::Format {
            path: path.display().to_string(),
            reason: format!(
                "{} is listed as signing; this file lists retired keys only",
                active.key
            ),
        });
    }
    Ok(ring)
}

fn new_signer() -> Signer {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    Signer::from_seed(&seed)
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()))
}

/// Writes `bytes` to a new owner-only file at `path` without ever showing a partial file
/// there: the content goes to a temporary name first and is linked into place, which fails
/// if `path` exists.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let temp = temp_beside(path);
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::hard_link(&temp, path)
    })();
    let _ = std::fs::remove_file(&temp);
    written
}

#[cfg(unix)]
fn check_owner_only(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(|e| io_error(path, e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_owner_only_and_read_back() {
        let dir = std::env::temp_dir().join(format!("pathways-keys-{}", uuid::Uuid::new_v4()));
        let path = dir.join("audit-signing-key.pem");
        let made = AuditKeys::load_or_create(&path).expect("created");
        assert!(made.is_fresh());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = AuditKeys::load_or_create(&path).expect("read");
        assert!(!again.is_fresh());
        assert_eq!(again.public_key(), made.public_key());
        assert!(
            std::fs::read_to_string(&path)
                .expect("text")
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("pathways-keys-{}", uuid::Uuid::new_v4()));
        let path = dir.join("k.pem");
        AuditKeys::load_or_create(&path).expect("created");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = AuditKeys::load(&path).expect_err("too open");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn rotation_retires_the_old_key_after_the_head() {
        let dir = std::env::temp_dir().join(format!("pathways-keys-{}", uuid::Uuid::new_v4()));
        let path = dir.join("k.pem");
        let old = AuditKeys::load_or_create(&path).expect("created");
        let new = AuditKeys::rotate(&path, 1234).expect("rotated");
        assert_ne!(new.public_key(), old.public_key());
        let ring = new.ring();
        assert_eq!(
            ring.keys(),
            [
                TrustedKey {
                    key: new.public_key(),
                    retired_after: None
                },
                TrustedKey {
                    key: old.public_key(),
                    retired_after: Some(1234)
                }
            ]
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_server_secret_is_created_owner_only_and_read_back() {
        let dir = std::env::temp_dir().join(format!("pw-secret-{}", uuid::Uuid::new_v4()));
        let path = dir.join("csrf-key");
        let made = ServerSecret::load_or_create(&path).expect("created");
        let again = ServerSecret::load_or_create(&path).expect("read back");
        assert_eq!(made.bytes(), again.bytes());
        assert_ne!(made.bytes(), ServerSecret::generate().bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(
                ServerSecret::load(&path),
                Err(KeyError::Permissions { .. })
            ));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        std::fs::write(&path, "not hex").expect("overwrite");
        assert!(matches!(
            ServerSecret::load(&path),
            Err(KeyError::Format { .. })
        ));
        assert_eq!(format!("{made:?}"), "ServerSecret(…)");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
