//! The tamper-evident audit chain: each entry's hash covers its own canonical form and the
//! previous entry's hash, so an edited, deleted, inserted or reordered entry breaks the chain.

use serde::Serialize;
use sha2::{Digest, Sha256};

pub mod signed;

use signed::SignatureProblem;

/// The hash that stands before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The content of one audit entry, before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Seconds since the epoch.
    pub at: i64,
    /// The user, token or system component that acted (an id, never a name).
    pub actor_id: String,
    /// The actor's agency id, or empty.
    pub actor_agency: String,
    /// What was done: `read`, `write`, `export`, `login`, `login_failed`, ...
    pub action: String,
    /// The kind of record touched (`case`, `person`, `user`, `session`, ...).
    pub record_type: String,
    /// The record's id, or empty.
    pub record_id: String,
    /// Where from: the client address.
    pub client: String,
    /// The reason given, where one was asked for (break-glass, sharing without consent).
    pub reason: String,
    /// `allowed`, `denied` or a short result code.
    pub outcome: String,
}

/// An entry as stored: the event, its place in the chain, and both hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainedEntry {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// The event.
    pub event: AuditEvent,
    /// The previous entry's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// The canonical byte form of an entry: every field length-prefixed, in a fixed order, so
/// no two different entries share a form.
pub fn canonical(seq: i64, e: &AuditEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"pathways-audit-v1");
    let at = e.at.to_string();
    let seq = seq.to_string();
    for field in [
        seq.as_str(),
        at.as_str(),
        &e.actor_id,
        &e.actor_agency,
        &e.action,
        &e.record_type,
        &e.record_id,
        &e.client,
        &e.reason,
        &e.outcome,
    ] {
        out.extend_from_slice(format!("|{}:", field.len()).as_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// The hash of an entry given its predecessor's hash: hex SHA-256 of the previous hash
/// followed by the canonical form.
pub fn entry_hash(prev_hash: &str, seq: i64, e: &AuditEvent) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical(seq, e));
    hex::encode(h.finalize())
}

/// Chains `event` after an entry with sequence `prev_seq` and hash `prev_hash`.
pub fn chain(prev_seq: i64, prev_hash: &str, event: AuditEvent) -> ChainedEntry {
    let seq = prev_seq + 1;
    let hash = entry_hash(prev_hash, seq, &event);
    ChainedEntry {
        seq,
        event,
        prev_hash: prev_hash.to_string(),
        hash,
    }
}

/// How the chain is broken, naming the first bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// An entry is missing or out of place: the sequence jumps.
    #[error("entry {found}: expected entry {expected} here; entries are missing or out of order")]
    Gap { expected: i64, found: i64 },
    /// The entry does not point at its predecessor's hash.
    #[error("entry {seq}: does not follow the entry before it (previous-hash mismatch)")]
    Link { seq: i64 },
    /// The entry's content no longer matches its hash: it was edited.
    #[error("entry {seq}: its content does not match its hash; it has been changed")]
    Content { seq: i64 },
    /// The chain ends somewhere other than the recorded head.
    #[error(
        "the chain ends at entry {last} but the recorded head is entry {head}; entries were added or removed at the end"
    )]
    Head { last: i64, head: i64 },
    /// The head hash or a checkpoint does not match the entry it names.
    #[error("entry {seq}: does not match the hash recorded for it in {place}")]
    Anchor { seq: i64, place: &'static str },
    /// A checkpoint, the head or a witness statement is unsigned, signed by a key that is
    /// not trusted, or its signature does not hold: the chain was recomputed by someone
    /// without the signing key.
    #[error("entry {seq}: {place} cannot be trusted: {problem}")]
    Signature {
        seq: i64,
        place: &'static str,
        problem: SignatureProblem,
    },
    /// An entry that must have a checkpoint has none.
    #[error("entry {seq}: no checkpoint is recorded for it; checkpoints were removed")]
    MissingCheckpoint { seq: i64 },
    /// A witness statement names an entry beyond the end of the log.
    #[error(
        "the log ends at entry {last} but a witness checkpoint names entry {witnessed}; entries were removed from the end"
    )]
    Truncated { witnessed: i64, last: i64 },
    /// The entry a witness statement names has another hash now.
    #[error(
        "entry {seq}: its hash differs from the one in the witness checkpoint; the log was rewritten after the checkpoint was taken"
    )]
    Witness { seq: i64 },
}

/// Checks entries in sequence order, streaming: feed every entry, then call `finish`.
#[derive(Debug)]
pub struct Verifier {
    expected_seq: i64,
    prev_hash: String,
    checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            expected_seq: 1,
            prev_hash: GENESIS.to_string(),
            checked: 0,
        }
    }
}

impl Verifier {
    /// Checks the next entry.
    pub fn check(&mut self, entry: &ChainedEntry) -> Result<(), ChainBreak> {
        if entry.seq != self.expected_seq {
            return Err(ChainBreak::Gap {
                expected: self.expected_seq,
                found: entry.seq,
            });
        }
        if entry.prev_hash != self.prev_hash {
            return Err(ChainBreak::Link { seq: entry.seq });
        }
        if entry_hash(&entry.prev_hash, entry.seq, &entry.event) != entry.hash {
            return Err(ChainBreak::Content { seq: entry.seq });
        }
        self.prev_hash = entry.hash.clone();
        self.expected_seq += 1;
        self.checked += 1;
        Ok(())
    }

    /// The last checked entry's hash, for comparing with checkpoints.
    pub fn last_hash(&self) -> &str {
        &self.prev_hash
    }

    /// Ends the walk against the recorded chain head; returns how many entries were checked.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<u64, ChainBreak> {
        let last = self.expected_seq - 1;
        if last != head_seq {
            return Err(ChainBreak::Head {
                last,
                head: head_seq,
            });
        }
        if self.prev_hash != head_hash {
            return Err(ChainBreak::Anchor {
                seq: last,
                place: "the chain head",
            });
        }
        Ok(self.checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: i64) -> AuditEvent {
        AuditEvent {
            at: 1_700_000_000 + i,
            actor_id: format!("user-{i}"),
            actor_agency: "agency".into(),
            action: "read".into(),
            record_type: "case".into(),
            record_id: format!("case-{i}"),
            client: "127.0.0.1".into(),
            reason: String::new(),
            outcome: "allowed".into(),
        }
    }

    fn build(n: i64) -> Vec<ChainedEntry> {
        let mut out: Vec<ChainedEntry> = Vec::new();
        for i in 0..n {
            let (s, h) = out
                .last()
                .map(|e| (e.seq, e.hash.clone()))
                .unwrap_or((0, GENESIS.into()));
            out.push(chain(s, &h, event(i)));
        }
        out
    }

    fn verify(entries: &[ChainedEntry], head: (i64, &str)) -> Result<u64, ChainBreak> {
        let mut v = Verifier::default();
        for e in entries {
            v.check(e)?;
        }
        v.finish(head.0, head.1)
    }

    #[test]
    fn intact_chain_verifies() {
        let c = build(5);
        assert_eq!(verify(&c, (5, &c[4].hash.clone())), Ok(5));
    }

    #[test]
    fn edits_deletions_insertions_and_reorders_are_named() {
        let c = build(5);
        let head = (5, c[4].hash.clone());
        let mut edited = c.clone();
        edited[2].event.record_id = "other".into();
        assert_eq!(
            verify(&edited, (head.0, &head.1)),
            Err(ChainBreak::Content { seq: 3 })
        );
        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(
            verify(&deleted, (head.0, &head.1)),
            Err(ChainBreak::Gap {
                expected: 2,
                found: 3
            })
        );
        let mut reordered = c.clone();
        reordered.swap(1, 2);
        assert_eq!(
            verify(&reordered, (head.0, &head.1)),
            Err(ChainBreak::Gap {
                expected: 2,
                found: 3
            })
        );
        let mut appended = c.clone();
        appended.push(chain(5, &c[4].hash, event(9)));
        assert_eq!(
            verify(&appended, (head.0, &head.1)),
            Err(ChainBreak::Head { last: 6, head: 5 })
        );
        let mut truncated = c.clone();
        truncated.pop();
        assert_eq!(
            verify(&truncated, (head.0, &head.1)),
            Err(ChainBreak::Head { last: 4, head: 5 })
        );
    }

    #[test]
    fn canonical_form_is_unambiguous() {
        let mut a = event(1);
        let mut b = event(1);
        a.actor_id = "ab".into();
        a.actor_agency = "c".into();
        b.actor_id = "a".into();
        b.actor_agency = "bc".into();
        assert_ne!(canonical(1, &a), canonical(1, &b));
    }
}
