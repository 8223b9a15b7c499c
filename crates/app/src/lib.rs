//! Pathways' use cases, between the store and the two front ends (the web and the command
//! line). Each use case is one function that authorises the caller through the access
//! policy, validates its input, writes and audits in one transaction, and only then
//! performs side effects (search indexes, notifications). The front ends call these
//! functions and reach the store only through them.
//!
//! A module per part of the product; each use case takes the [`App`], the [`Caller`] and
//! typed input, and returns typed output or an [`Error`] a front end can show.

pub mod agencies;
pub mod audit;
pub mod caller;
pub mod cases;
pub mod crypto;
pub mod error;
pub mod identity;
pub mod instruments;
pub mod panels;
pub mod referrals;
pub mod settings;
pub mod tokens;

use std::sync::Arc;

use pathways_domain::audit::AuditEvent;
use pathways_store::{Store, WriteTx};

pub use caller::{Caller, RecordKind};
pub use error::{Error, FieldError, Fields, Result};
pub use settings::Settings;

/// The running application: the store and the settings every use case shares.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: Settings,
    people: referrals::PeopleIndex,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl App {
    /// The application over an open store.
    pub fn new(store: Store, settings: Settings) -> App {
        App {
            inner: Arc::new(Inner {
                store,
                settings,
                people: referrals::PeopleIndex::default(),
            }),
        }
    }

    /// The settings loaded at start.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The store. Front ends do not use it; use cases and their tests do.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The in-memory person index behind candidate matches (built on first use).
    pub(crate) fn people(&self) -> &referrals::PeopleIndex {
        &self.inner.people
    }

    /// Starts a write whose changes commit together with their audit entries.
    pub(crate) async fn write(&self) -> Result<WriteTx> {
        Ok(self.inner.store.write().await?)
    }

    /// Records a read (or a refusal) in the audit log, waiting until it is durable: a read
    /// whose audit entry cannot be written fails.
    pub(crate) async fn audit(&self, event: AuditEvent) -> Result<()> {
        self.inner.store.audit(event).await?;
        Ok(())
    }

    /// True when the database answers (readiness).
    pub async fn ready(&self) -> bool {
        self.inner.store.ping().await
    }
}

/// A message as a sentence: first letter capitalised.
pub(crate) fn sentence(m: &str) -> String {
    let mut c = m.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Commits a write after appending its audit entry: the change and the entry that records
/// it land together or not at all.
pub(crate) async fn commit(mut tx: WriteTx, event: &AuditEvent) -> Result<()> {
    tx.audit(&[event]).await?;
    tx.commit().await?;
    Ok(())
}
