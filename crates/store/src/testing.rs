//! Throw-away databases for tests on both backends: a SQLite file in a fresh temporary
//! folder, and, when `PATHWAYS_TEST_POSTGRES_URL` is set, a fresh PostgreSQL database.

use std::path::PathBuf;

use crate::{AuditKeys, Store, StoreError};
use pathways_domain::audit::signed::KeyRing;

/// A database that exists only for one test and is removed when dropped.
pub struct TestDatabase {
    /// The migrated store.
    pub store: Store,
    /// The URL it was opened with.
    pub url: String,
    /// The key its audit log is signed with (held in memory only).
    pub keys: AuditKeys,
    cleanup: Cleanup,
}

enum Cleanup {
    Folder(PathBuf),
    Postgres { admin_url: String, name: String },
}

/// The environment variable naming a PostgreSQL server for tests (any database on it).
pub const POSTGRES_ENV: &str = "PATHWAYS_TEST_POSTGRES_URL";

impl TestDatabase {
    /// A new SQLite database in its own temporary folder.
    pub async fn sqlite() -> Result<TestDatabase, StoreError> {
        Self::sqlite_signed_with(AuditKeys::generate()).await
    }

    /// A new SQLite database whose audit log is signed with `keys` (for tests whose other
    /// processes open the same database with the same key file).
    pub async fn sqlite_signed_with(keys: AuditKeys) -> Result<TestDatabase, StoreError> {
        let dir = std::env::temp_dir().join(format!("pathways-test-{}", uuid::Uuid::new_v4()));
        let path = dir.join("pathways.db");
        let url = path.display().to_string();
        let store = Store::connect(&url, keys.clone()).await?;
        Ok(TestDatabase {
            store,
            url,
            keys,
            cleanup: Cleanup::Folder(dir),
        })
    }

    /// A new PostgreSQL database on the server named by [`POSTGRES_ENV`], or `None` when
    /// the variable is unset.
    pub async fn postgres() -> Result<Option<TestDatabase>, StoreError> {
        Self::postgres_signed_with(AuditKeys::generate()).await
    }

    /// A new PostgreSQL database whose audit log is signed with `keys` (for tests that start
    /// `pathways serve` processes on it: they must be given the same key file).
    pub async fn postgres_signed_with(keys: AuditKeys) -> Result<Option<TestDatabase>, StoreError> {
        let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
            return Ok(None);
        };
        let name = format!("pathways_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::any::install_default_drivers();
        let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
            .await
            .map_err(|e| StoreError::Connect {
                target: POSTGRES_ENV.into(),
                reason: e.to_string(),
            })?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let url = replace_database(&admin_url, &name);
        let store = Store::connect(&url, keys.clone()).await?;
        Ok(Some(TestDatabase {
            store,
            url,
            keys,
            cleanup: Cleanup::Postgres { admin_url, name },
        }))
    }

    /// The public keys this database's audit log is verified against.
    pub fn ring(&self) -> KeyRing {
        self.keys.ring()
    }

    /// Every backend available to this test run: SQLite always, PostgreSQL when configured.
    pub async fn all() -> Vec<TestDatabase> {
        let mut dbs = vec![
            Self::sqlite()
                .await
                .expect("a temporary SQLite database opens"),
        ];
        if let Some(pg) = Self::postgres()
            .await
            .expect("the PostgreSQL test server named by PATHWAYS_TEST_POSTGRES_URL works")
        {
            dbs.push(pg);
        }
        dbs
    }
}

/// Swaps the database name at the end of a PostgreSQL URL.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Folder(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop may run inside the test's runtime, whose connections cannot make
                // progress while it waits here: a short-lived runtime on its own thread
                // drops the database, and FORCE ends the pool's connections server-side.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a current-thread runtime builds");
                    rt.block_on(async move {
                        if let Ok(mut admin) =
                            <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await
                        {
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = sqlx::raw_sql(&sql).execute(&mut admin).await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Runs `f` in a write transaction, appends an audit entry for it and commits: how tests
/// make changes through [`WriteTx`] the way a use case would.
pub async fn write<T>(
    store: &Store,
    f: impl AsyncFnOnce(&mut crate::WriteTx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut tx = store.write().await?;
    let out = f(&mut tx).await?;
    let event = pathways_domain::audit::AuditEvent {
        at: crate::now_unix(),
        actor_id: "test".into(),
        actor_agency: String::new(),
        action: "test".into(),
        record_type: String::new(),
        record_id: String::new(),
        client: "test".into(),
        reason: String::new(),
        outcome: "allowed".into(),
    };
    tx.audit(&[&event]).await?;
    tx.commit().await?;
    Ok(out)
}

fn team_member() -> (pathways_domain::Actor, pathways_domain::RecordFacts) {
    let actor = pathways_domain::Actor {
        user_id: "test".into(),
        agency_id: "test".into(),
        roles: pathways_domain::RoleSet::new(vec![pathways_domain::Role::Practitioner]),
        scopes: None,
    };
    let facts = pathways_domain::RecordFacts {
        team_users: vec!["test".into()],
        ..pathways_domain::RecordFacts::default()
    };
    (actor, facts)
}

/// The access policy's proof for changing record `id`, as a member of its team has it
/// (store tests exercise writes, not the policy, which has tests of its own).
pub fn editor<Id: From<String>>(id: &str) -> pathways_domain::access::Authorized<Id> {
    let (actor, facts) = team_member();
    pathways_domain::access::authorize(
        &actor,
        pathways_domain::Action::Edit,
        &facts,
        0,
        Id::from(id.to_string()),
    )
    .expect("a team member may edit")
}

/// The access policy's proof for reading record `id` (what triage and merging act on).
pub fn reader<Id: From<String>>(id: &str) -> pathways_domain::access::Authorized<Id> {
    let (actor, facts) = team_member();
    pathways_domain::access::authorize(
        &actor,
        pathways_domain::Action::ViewRecord,
        &facts,
        0,
        Id::from(id.to_string()),
    )
    .expect("a team member may read")
}

/// The proof for creating or changing an unrestricted person's access list.
pub fn list_changer(
    person_id: &str,
    kind: crate::restriction::AccessListKind,
) -> pathways_domain::access::Authorized<pathways_domain::ids::PersonId> {
    let (actor, facts) = team_member();
    let action = match kind {
        crate::restriction::AccessListKind::Record => pathways_domain::Action::ChangeAccessList,
        crate::restriction::AccessListKind::Address => pathways_domain::Action::ChangeAddressList,
    };
    pathways_domain::access::authorize(&actor, action, &facts, 0, person_id.into())
        .expect("a team member may restrict an unrestricted record")
}

/// Proof of holding `p`.
pub fn permitted(p: pathways_domain::Permission) -> pathways_domain::access::Permitted {
    let actor = pathways_domain::Actor {
        user_id: "test".into(),
        agency_id: String::new(),
        roles: pathways_domain::RoleSet::default(),
        scopes: Some(vec![p]),
    };
    pathways_domain::access::permit(&actor, p).expect("the permission is held")
}

/// Creates an agency as an administrator would (fixtures).
pub async fn create_agency(
    store: &Store,
    name: &str,
    kind: pathways_domain::AgencyKind,
) -> Result<crate::Agency, StoreError> {
    let admin = permitted(pathways_domain::Permission::Administer);
    write(store, async |tx| tx.create_agency(&admin, name, kind).await).await
}

/// Creates a user as an administrator would (fixtures).
pub async fn create_user(store: &Store, new: &crate::NewUser) -> Result<crate::User, StoreError> {
    let admin = permitted(pathways_domain::Permission::Administer);
    write(store, async |tx| tx.create_user(&admin, new).await).await
}

/// Starts a session for a user at `stage`, as signing in does (fixtures).
pub async fn create_session(
    store: &Store,
    id_hash: &str,
    user_id: &str,
    stage: &str,
    client: &str,
) -> Result<(), StoreError> {
    write(store, async |tx| {
        tx.create_session(id_hash, user_id, stage, client).await
    })
    .await
}

/// Issues an API token as an administrator would; returns its id (fixtures).
pub async fn create_api_token(
    store: &Store,
    name: &str,
    token_hash: &str,
    agency_id: &str,
    scopes: &[String],
    created_by: &str,
) -> Result<String, StoreError> {
    let admin = permitted(pathways_domain::Permission::Administer);
    write(store, async |tx| {
        tx.create_api_token(&admin, name, token_hash, agency_id, scopes, created_by)
            .await
    })
    .await
}

/// Enrols a TOTP secret (no code used yet) and recovery codes (digests) for a user
/// (fixtures).
pub async fn enrol_totp(
    store: &Store,
    user_id: &str,
    secret: &str,
    recovery_digests: &[String],
) -> Result<(), StoreError> {
    write(store, async |tx| {
        tx.enrol_totp(user_id, secret, -1, recovery_digests).await
    })
    .await
}

/// Issues a one-time link whose message goes to `recipient` (fixtures).
pub async fn issue_link(
    store: &Store,
    token_hash: &str,
    user_id: &str,
    purpose: crate::LinkPurpose,
    ttl: i64,
    recipient: &str,
) -> Result<(), StoreError> {
    let key = format!("{}:{token_hash}", purpose.key());
    let message = crate::Message {
        recipient,
        subject: "A link",
        body: crate::outbox::WITHHELD,
        idempotency_key: &key,
        secret: "https://pathways.example/link",
    };
    write(store, async |tx| {
        tx.issue_link(token_hash, user_id, purpose, ttl, &message)
            .await
    })
    .await
}

// Fixtures: the store's writes with the proofs a test would otherwise build by hand, each in
// its own audited transaction. Product code reaches these writes through the application
// layer; tests use these to set the scene.

fn triage() -> pathways_domain::access::Permitted {
    permitted(pathways_domain::Permission::TriageReferrals)
}

/// A referral received now.
pub async fn create_referral(
    store: &Store,
    new: &crate::referrals::NewReferral,
) -> Result<crate::referrals::Referral, StoreError> {
    create_referral_at(store, new, crate::now_unix()).await
}

/// A referral received at `at`.
pub async fn create_referral_at(
    store: &Store,
    new: &crate::referrals::NewReferral,
    at: i64,
) -> Result<crate::referrals::Referral, StoreError> {
    let referrer = permitted(pathways_domain::Permission::MakeReferral);
    write(store, async |tx| {
        tx.create_referral(&referrer, new, at).await
    })
    .await
}

/// Triage's decision on a referral.
pub async fn decide_referral(
    store: &Store,
    referral_id: &str,
    decision: &crate::referrals::DecisionInput,
    by: &str,
    messages: &[crate::referrals::QueuedMessage],
) -> Result<crate::referrals::Referral, StoreError> {
    write(store, async |tx| {
        tx.decide_referral(&triage(), &reader(referral_id), decision, by, messages)
            .await
    })
    .await
}

/// Links a referral to a person.
pub async fn link_referral_person(
    store: &Store,
    referral_id: &str,
    person_id: &str,
    by: &str,
) -> Result<String, StoreError> {
    write(store, async |tx| {
        tx.link_referral_person(&triage(), &reader(referral_id), &reader(person_id), by)
            .await
    })
    .await
}

/// A new person from what a referral says, linked to it.
pub async fn create_person_for_referral(
    store: &Store,
    referral_id: &str,
    by: &str,
) -> Result<String, StoreError> {
    write(store, async |tx| {
        tx.create_person_for_referral(&triage(), &reader(referral_id), by)
            .await
    })
    .await
}

/// A person in the index.
pub async fn create_person(
    store: &Store,
    d: &crate::people::PersonDetails,
    by: &str,
) -> Result<String, StoreError> {
    write(store, async |tx| tx.create_person(&triage(), d, by).await).await
}

/// One safe-contact rule.
pub async fn set_safe_contact(
    store: &Store,
    person_id: &str,
    rule: &crate::people::SafeContact,
    by: &str,
) -> Result<(), StoreError> {
    write(store, async |tx| {
        tx.set_safe_contact(&reader(person_id), rule, by).await
    })
    .await
}

/// A message about a person, if their safe-contact rules allow it.
pub async fn message_person(
    store: &Store,
    person_id: &str,
    channel: &str,
    recipient: &str,
    subject: &str,
    body: &str,
    key: &str,
) -> Result<crate::people::ContactOutcome, StoreError> {
    write(store, async |tx| {
        tx.message_person(
            &triage(),
            &reader(person_id),
            channel,
            recipient,
            subject,
            body,
            key,
        )
        .await
    })
    .await
}

/// Merges `from` into `into`.
pub async fn merge_people(
    store: &Store,
    from: &str,
    into: &str,
    reason: &str,
    by: &str,
) -> Result<crate::people::MergeEvent, StoreError> {
    write(store, async |tx| {
        tx.merge_people(&triage(), &reader(from), &reader(into), reason, by)
            .await
    })
    .await
}

/// Undoes a merge.
pub async fn unmerge_person(
    store: &Store,
    person_id: &str,
    reason: &str,
    by: &str,
) -> Result<String, StoreError> {
    write(store, async |tx| {
        tx.unmerge_person(&triage(), &reader(person_id), reason, by)
            .await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            replace_database("postgres://u@127.0.0.1:5432/test", "x"),
            "postgres://u@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://127.0.0.1/test?sslmode=disable", "x"),
            "postgres://127.0.0.1/x?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
