//! Published risk instrument versions: publishing with its audit entry in one transaction,
//! listing, and refusing a version that is already taken, older, or mislabelled.

use pathways_domain::audit::AuditEvent;
use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::{NewInstrumentVersion, NewUser, PublishedVersion, Store, StoreError};

use crate::on_every_backend;

fn definition(key: &str, version: i64, title: &str) -> String {
    serde_json::json!({ "key": key, "version": version, "title": title }).to_string()
}

fn new_version(key: &str, version: i64, by: &str, note: &str) -> NewInstrumentVersion {
    NewInstrumentVersion {
        instrument_key: key.into(),
        version,
        definition: definition(key, version, "Screening"),
        published_by: by.into(),
        change_note: note.into(),
    }
}

fn event(by: &str, key: &str, version: i64) -> AuditEvent {
    AuditEvent {
        at: 1_780_000_000,
        actor_id: by.into(),
        actor_agency: String::new(),
        action: "instrument_published".into(),
        record_type: "instrument".into(),
        record_id: key.into(),
        client: "127.0.0.1".into(),
        reason: format!("version {version}"),
        outcome: "allowed".into(),
    }
}

/// Publishes a version with its audit entry in one transaction, as the use case does, and
/// reads it back.
async fn publish(
    store: &Store,
    new: &NewInstrumentVersion,
    event: &AuditEvent,
) -> Result<PublishedVersion, StoreError> {
    let admin = pathways_store::testing::permitted(pathways_domain::Permission::Administer);
    let mut tx = store.write().await?;
    tx.publish_instrument_version(&admin, new).await?;
    tx.audit(&[event]).await?;
    tx.commit().await?;
    Ok(store
        .instrument_version(&new.instrument_key, new.version)
        .await?
        .expect("published"))
}

async fn administrator(store: &Store) -> String {
    let agency =
        pathways_store::testing::create_agency(store, "Riverside Council", AgencyKind::CouncilTeam)
            .await
            .expect("agency");
    pathways_store::testing::create_user(
        store,
        &NewUser {
            agency_id: agency.id,
            email: "admin@riverside.example".into(),
            display_name: "Ola Admin".into(),
            roles: RoleSet::new(vec![Role::Administrator]),
            password_hash: None,
        },
    )
    .await
    .expect("user")
    .id
}

async fn published_audits(store: &Store) -> Vec<(String, String)> {
    store
        .recent_audit(100)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.event.action == "instrument_published")
        .map(|e| (e.event.record_id, e.event.reason))
        .collect()
}

#[tokio::test]
async fn versions_are_published_with_their_audit_entry_and_listed_in_order() {
    on_every_backend!(|store| {
        let admin = administrator(&store).await;
        assert!(
            store
                .all_instrument_versions()
                .await
                .expect("list")
                .is_empty()
        );
        let v2 = publish(
            &store,
            &new_version("yv-screening", 2, &admin, "  Raise the weapon weight  "),
            &event(&admin, "yv-screening", 2),
        )
        .await
        .expect("publish v2");
        assert_eq!(
            (
                v2.version,
                v2.published_by_name.as_str(),
                v2.change_note.as_str()
            ),
            (2, "Ola Admin", "Raise the weapon weight")
        );
        assert_eq!(v2.definition, definition("yv-screening", 2, "Screening"));
        assert!(v2.published_at > 0);
        publish(
            &store,
            &new_version("yv-screening", 3, &admin, "Lower the high threshold"),
            &event(&admin, "yv-screening", 3),
        )
        .await
        .expect("publish v3");
        publish(
            &store,
            &new_version("other-tool", 2, "someone-gone", "First local version"),
            &event("someone-gone", "other-tool", 2),
        )
        .await
        .expect("publish another instrument");

        let screening = store
            .instrument_versions("yv-screening")
            .await
            .expect("versions");
        assert_eq!(
            screening.iter().map(|v| v.version).collect::<Vec<_>>(),
            [2, 3]
        );
        let all = store.all_instrument_versions().await.expect("all");
        assert_eq!(
            all.iter()
                .map(|v| (v.instrument_key.as_str(), v.version))
                .collect::<Vec<_>>(),
            [("other-tool", 2), ("yv-screening", 2), ("yv-screening", 3)]
        );
        // A publisher without an account is shown by id.
        assert_eq!(all[0].published_by_name, "someone-gone");
        assert_eq!(
            store
                .instrument_version("yv-screening", 3)
                .await
                .expect("get")
                .map(|v| v.change_note),
            Some("Lower the high threshold".to_string())
        );
        assert_eq!(
            store
                .instrument_version("yv-screening", 4)
                .await
                .expect("get"),
            None
        );
        let mut audits = published_audits(&store).await;
        audits.sort();
        assert_eq!(
            audits,
            [
                ("other-tool".to_string(), "version 2".to_string()),
                ("yv-screening".to_string(), "version 2".to_string()),
                ("yv-screening".to_string(), "version 3".to_string()),
            ]
        );
        crate::audit::verify(&store)
            .await
            .expect("the chain stays intact");
    });
}

#[tokio::test]
async fn taken_older_or_mislabelled_versions_are_refused_and_nothing_is_written() {
    on_every_backend!(|store| {
        let admin = administrator(&store).await;
        publish(
            &store,
            &new_version("yv-screening", 2, &admin, "First change"),
            &event(&admin, "yv-screening", 2),
        )
        .await
        .expect("publish v2");
        let mut again = new_version("yv-screening", 2, &admin, "Second change");
        again.definition = definition("yv-screening", 2, "Other title");
        let err = publish(&store, &again, &event(&admin, "yv-screening", 2))
            .await
            .expect_err("duplicate");
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        assert!(err.is_unique_violation());
        assert_eq!(
            err.to_string(),
            "yv-screening version 2 is already published; versions are never replaced, \
             so publish the change as version 3"
        );

        publish(
            &store,
            &new_version("yv-screening", 3, &admin, "Third change"),
            &event(&admin, "yv-screening", 3),
        )
        .await
        .expect("publish v3");
        let err = publish(
            &store,
            &new_version("yv-screening", 2, &admin, "Late"),
            &event(&admin, "yv-screening", 2),
        )
        .await
        .expect_err("older");
        assert!(
            err.to_string()
                .starts_with("yv-screening version 2 is older than the latest published version 3"),
            "{err}"
        );

        let mut mislabelled = new_version("yv-screening", 4, &admin, "Wrong JSON");
        mislabelled.definition = definition("dash", 4, "DASH");
        let err = publish(&store, &mislabelled, &event(&admin, "yv-screening", 4))
            .await
            .expect_err("mislabelled");
        assert!(err.to_string().contains("the definition says key"), "{err}");

        let no_note = new_version("yv-screening", 4, &admin, "   ");
        let err = publish(&store, &no_note, &event(&admin, "yv-screening", 4))
            .await
            .expect_err("no note");
        assert!(
            err.to_string().contains("a change note is required"),
            "{err}"
        );

        // Only the two accepted versions, each with one audit entry.
        let stored = store
            .instrument_versions("yv-screening")
            .await
            .expect("versions");
        assert_eq!(
            stored
                .iter()
                .map(|v| (v.version, v.change_note.as_str()))
                .collect::<Vec<_>>(),
            [(2, "First change"), (3, "Third change")]
        );
        assert_eq!(published_audits(&store).await.len(), 2);
    });
}
