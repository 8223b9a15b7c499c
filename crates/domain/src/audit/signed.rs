//! Signed statements about the audit chain: a checkpoint or the head names an entry and its
//! hash, signed with an Ed25519 key kept outside the database, so nobody who can only write
//! to the database can rewrite the chain and sign it again.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

/// What a statement is about. Each kind signs a different message, so a checkpoint's
/// signature can never stand in for the head's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// The chain's head: the last entry when the statement was made.
    Head,
    /// A checkpoint recorded every 1,000 entries.
    Checkpoint,
}

impl StatementKind {
    fn label(self) -> &'static str {
        match self {
            StatementKind::Head => "head",
            StatementKind::Checkpoint => "checkpoint",
        }
    }
}

/// A claim that entry `seq` of the chain had hash `hash` at instant `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Which kind of statement.
    pub kind: StatementKind,
    /// The entry's sequence number (0 for an empty chain).
    pub seq: i64,
    /// The entry's hash.
    pub hash: String,
    /// When the statement was signed, seconds since the epoch.
    pub at: i64,
}

impl Statement {
    /// The bytes that are signed: a versioned label and every field length-prefixed.
    pub fn message(&self) -> Vec<u8> {
        let mut out = format!("pathways-audit-{}-v1", self.kind.label()).into_bytes();
        for field in [self.seq.to_string(), self.hash.clone(), self.at.to_string()] {
            out.extend_from_slice(format!("|{}:", field.len()).as_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out
    }
}

/// An Ed25519 public key, written `ed25519:` and 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses the `ed25519:HEX` form.
    pub fn parse(text: &str) -> Result<PublicKey, KeyFormatError> {
        let hex_part = text
            .trim()
            .strip_prefix("ed25519:")
            .ok_or(KeyFormatError::Prefix)?;
        let bytes: [u8; 32] = hex::decode(hex_part)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyFormatError::Length)?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| KeyFormatError::Point)
    }

    /// The raw 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ed25519:{}", hex::encode(self.0.as_bytes()))
    }
}

/// Why a public key's text form was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    /// The text does not start with `ed25519:`.
    #[error("a public key is written ed25519: followed by 64 hex digits")]
    Prefix,
    /// Not 32 bytes of hex after the prefix.
    #[error("a public key needs exactly 64 hex digits after ed25519:")]
    Length,
    /// The bytes are not a valid curve point.
    #[error("those 32 bytes are not a valid Ed25519 public key")]
    Point,
}

/// The private half that signs statements. Never stored in the database.
pub struct Signer(SigningKey);

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.public_key())
    }
}

impl Signer {
    /// A signer from a 32-byte secret seed.
    pub fn from_seed(seed: &[u8; 32]) -> Signer {
        Signer(SigningKey::from_bytes(seed))
    }

    /// Wraps a key read from a file.
    pub fn from_key(key: SigningKey) -> Signer {
        Signer(key)
    }

    /// The key, for writing it to a file.
    pub fn key(&self) -> &SigningKey {
        &self.0
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs a statement.
    pub fn sign(&self, statement: Statement) -> Signed {
        let signature = self.0.sign(&statement.message());
        Signed {
            statement,
            key: self.public_key(),
            signature: hex::encode(signature.to_bytes()),
        }
    }
}

/// A statement with the key that signed it and the signature (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// What is claimed.
    pub statement: Statement,
    /// Who claims it.
    pub key: PublicKey,
    /// The Ed25519 signature over [`Statement::message`], 128 hex digits.
    pub signature: String,
}

/// A public key the verifier trusts, and the last entry it may sign for: keys retired by
/// rotation sign nothing after the head at which they were retired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key.
    pub key: PublicKey,
    /// `None` for the signing key in use; the head's sequence number at retirement otherwise.
    pub retired_after: Option<i64>,
}

/// The public keys a verifier trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRing {
    keys: Vec<TrustedKey>,
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    /// There is no signature at all.
    #[error("it carries no signature")]
    Missing,
    /// Signed by a key the verifier does not trust.
    #[error("it is signed by {0}, which is not a trusted audit key")]
    UnknownKey(String),
    /// Signed by a retired key for an entry after its retirement.
    #[error("it is signed by {key}, which was retired after entry {retired_after}")]
    Retired { key: String, retired_after: i64 },
    /// The signature does not verify: the statement or the signature was changed.
    #[error("its signature does not match what it states (forged or altered)")]
    Invalid,
}

impl KeyRing {
    /// A ring of the given keys.
    pub fn new(keys: Vec<TrustedKey>) -> KeyRing {
        KeyRing { keys }
    }

    /// The trusted keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Adds keys from another ring (a key already present keeps its first entry).
    pub fn extend(&mut self, other: &KeyRing) {
        for k in &other.keys {
            if !self.keys.iter().any(|mine| mine.key == k.key) {
                self.keys.push(k.clone());
            }
        }
    }

    /// True when no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks a signed statement: a trusted key, within its range, with a valid signature.
    pub fn check(&self, signed: &Signed) -> Result<(), SignatureProblem> {
        let trusted = self
            .keys
            .iter()
            .find(|k| k.key == signed.key)
            .ok_or_else(|| SignatureProblem::UnknownKey(signed.key.to_string()))?;
        if let Some(last) = trusted.retired_after
            && signed.statement.seq > last
        {
            return Err(SignatureProblem::Retired {
                key: signed.key.to_string(),
                retired_after: last,
            });
        }
        let bytes: [u8; 64] = hex::decode(&signed.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(SignatureProblem::Invalid)?;
        signed
            .key
            .0
            .verify_strict(&signed.statement.message(), &Signature::from_bytes(&bytes))
            .map_err(|_| SignatureProblem::Invalid)
    }

    /// Checks a statement stored as text columns (key and signature), as the database holds
    /// them; empty columns mean no signature.
    pub fn check_stored(
        &self,
        statement: Statement,
        key: &str,
        signature: &str,
    ) -> Result<(), SignatureProblem> {
        if key.is_empty() || signature.is_empty() {
            return Err(SignatureProblem::Missing);
        }
        let key = PublicKey::parse(key).map_err(|_| SignatureProblem::Invalid)?;
        self.check(&Signed {
            statement,
            key,
            signature: signature.to_string(),
        })
    }

    /// The text form, one key a line: `ed25519:HEX signing` or
    /// `ed25519:HEX retired-after N`; `#` starts a comment.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for k in &self.keys {
            match k.retired_after {
                None => out.push_str(&format!("{} signing\n", k.key)),
                Some(n) => out.push_str(&format!("{} retired-after {n}\n", k.key)),
            }
        }
        out
    }

    /// Parses [`KeyRing::to_text`]; errors name the line.
    pub fn parse(text: &str) -> Result<KeyRing, TextError> {
        let mut keys = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fail = |what: String| TextError { line: i + 1, what };
            let mut words = line.split_whitespace();
            let key =
                PublicKey::parse(words.next().unwrap_or("")).map_err(|e| fail(e.to_string()))?;
            let retired_after = match (words.next(), words.next(), words.next()) {
                (Some("signing"), None, None) => None,
                (Some("retired-after"), Some(n), None) => Some(n.parse::<i64>().map_err(|_| {
                    fail(format!("{n:?} is not an entry number after retired-after"))
                })?),
                _ => {
                    return Err(fail(
                        "expected `ed25519:HEX signing` or `ed25519:HEX retired-after N`".into(),
                    ));
                }
            };
            keys.push(TrustedKey { key, retired_after });
        }
        Ok(KeyRing { keys })
    }
}

/// A text form that could not be read, with the line at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct TextError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub what: String,
}

const WITNESS_TITLE: &str = "Pathways audit checkpoint";

impl Signed {
    /// The witness form of a signed head: a short text to keep outside the system (another
    /// system's store, or on paper). `comment` lines go first, after `#`.
    pub fn to_witness_text(&self, comment: &[String]) -> String {
        let mut out = format!("{WITNESS_TITLE}\n");
        for c in comment {
            out.push_str(&format!("# {c}\n"));
        }
        let s = &self.statement;
        out.push_str(&format!(
            "entry: {}\nhash: {}\nat: {}\nkey: {}\nsignature: {}\n",
            s.seq, s.hash, s.at, self.key, self.signature
        ));
        out
    }

    /// Parses [`Signed::to_witness_text`]; errors name the line.
    pub fn parse_witness(text: &str) -> Result<Signed, TextError> {
        let mut lines = text.lines().enumerate().filter(|(_, l)| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        });
        match lines.next() {
            Some((_, l)) if l.trim() == WITNESS_TITLE => {}
            other => {
                return Err(TextError {
                    line: other.map_or(1, |(i, _)| i + 1),
                    what: format!("a checkpoint file starts with {WITNESS_TITLE:?}"),
                });
            }
        }
        let (mut seq, mut hash, mut at, mut key, mut signature) = (None, None, None, None, None);
        let mut last_line = 1;
        for (i, l) in lines {
            last_line = i + 1;
            let fail = |what: String| TextError { line: i + 1, what };
            let (name, value) = l
                .split_once(':')
                .map(|(n, v)| (n.trim(), v.trim()))
                .ok_or_else(|| fail("expected `name: value`".into()))?;
            let number = |v: &str| {
                v.parse::<i64>()
                    .map_err(|_| fail(format!("{name}: {v:?} is not a whole number")))
            };
            match name {
                "entry" => seq = Some(number(value)?),
                "at" => at = Some(number(value)?),
                "hash" if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    hash = Some(value.to_ascii_lowercase())
                }
                "hash" => return Err(fail("hash: expected 64 hex digits".into())),
                "key" => key = Some(PublicKey::parse(value).map_err(|e| fail(e.to_string()))?),
                "signature" => signature = Some(value.to_string()),
                other => return Err(fail(format!("unknown field {other:?}"))),
            }
        }
        let missing = |field: &str| TextError {
            line: last_line,
            what: format!("the field {field:?} is missing"),
        };
        Ok(Signed {
            statement: Statement {
                kind: StatementKind::Head,
                seq: seq.ok_or_else(|| missing("entry"))?,
                hash: hash.ok_or_else(|| missing("hash"))?,
                at: at.ok_or_else(|| missing("at"))?,
            },
            key: key.ok_or_else(|| missing("key"))?,
            signature: signature.ok_or_else(|| missing("signature"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(seq: i64) -> Statement {
        Statement {
            kind: StatementKind::Head,
            seq,
            hash: "ab".repeat(32),
            at: 1_800_000_000,
        }
    }

    fn ring(signer: &Signer, retired_after: Option<i64>) -> KeyRing {
        KeyRing::new(vec![TrustedKey {
            key: signer.public_key(),
            retired_after,
        }])
    }

    #[test]
    fn a_signed_statement_verifies_and_any_change_is_refused() {
        let signer = Signer::from_seed(&[7; 32]);
        let signed = signer.sign(head(10));
        let trust = ring(&signer, None);
        assert_eq!(trust.check(&signed), Ok(()));
        let mut moved = signed.clone();
        moved.statement.seq = 9;
        assert_eq!(trust.check(&moved), Err(SignatureProblem::Invalid));
        let mut rekinded = signed.clone();
        rekinded.statement.kind = StatementKind::Checkpoint;
        assert_eq!(trust.check(&rekinded), Err(SignatureProblem::Invalid));
        let other = Signer::from_seed(&[8; 32]);
        let forged = other.sign(head(10));
        assert!(matches!(
            trust.check(&forged),
            Err(SignatureProblem::UnknownKey(_))
        ));
        let mut borrowed = forged;
        borrowed.key = signer.public_key();
        assert_eq!(trust.check(&borrowed), Err(SignatureProblem::Invalid));
    }

    #[test]
    fn a_retired_key_signs_nothing_after_its_retirement() {
        let signer = Signer::from_seed(&[7; 32]);
        let trust = ring(&signer, Some(10));
        assert_eq!(trust.check(&signer.sign(head(10))), Ok(()));
        assert!(matches!(
            trust.check(&signer.sign(head(11))),
            Err(SignatureProblem::Retired {
                retired_after: 10,
                ..
            })
        ));
    }

    #[test]
    fn key_rings_and_witness_statements_round_trip_through_text() {
        let a = Signer::from_seed(&[1; 32]);
        let b = Signer::from_seed(&[2; 32]);
        let trust = KeyRing::new(vec![
            TrustedKey {
                key: a.public_key(),
                retired_after: None,
            },
            TrustedKey {
                key: b.public_key(),
                retired_after: Some(4000),
            },
        ]);
        assert_eq!(KeyRing::parse(&trust.to_text()), Ok(trust.clone()));
        let signed = a.sign(head(42));
        let text = signed.to_witness_text(&["2027-01-15 08:00 UTC".into()]);
        assert_eq!(Signed::parse_witness(&text), Ok(signed));
        let err = KeyRing::parse("# keys\ned25519:00 signing\n").expect_err("short key");
        assert_eq!(err.line, 2);
        let err = Signed::parse_witness(&text.replace("entry: 42", "entry: forty-two"))
            .expect_err("bad number");
        assert!(err.to_string().contains("entry"), "{err}");
        let err = Signed::parse_witness("hello\n").expect_err("not a checkpoint");
        assert_eq!(err.line, 1);
    }
}
