use pathways_store::directory::{PostcodeWriter, ServiceRow, TaxonomyRow, normalise_postcode};

use crate::on_every_backend;
use pathways_domain::audit::AuditEvent;
use pathways_store::Store;
use pathways_store::directory::{TOPIC_POSTCODES, TOPIC_SERVICES, TOPIC_TAXONOMY};

fn event() -> AuditEvent {
    AuditEvent {
        at: pathways_store::now_unix(),
        actor_id: "u1".into(),
        actor_agency: String::new(),
        action: "directory_import".into(),
        record_type: "directory".into(),
        record_id: String::new(),
        client: "test".into(),
        reason: String::new(),
        outcome: "allowed".into(),
    }
}

async fn archive(store: &Store, id: &str) -> Result<(), pathways_store::StoreError> {
    let mut tx = store.write().await?;
    tx.set_directory_service_archived(id, true, "u1").await?;
    tx.audit(&[&event()]).await?;
    tx.commit().await
}

fn row(id: &str, name: &str, assured: Option<&str>) -> ServiceRow {
    ServiceRow {
        id: id.into(),
        name: name.into(),
        status: "active".into(),
        organization_id: Some("0b0b0b0b-0000-4000-8000-000000000001".into()),
        modified: Some("2026-11-01T10:00:00Z".into()),
        assured_date: assured.map(str::to_string),
        document: format!("{{\"id\":\"{id}\",\"name\":\"{name}\"}}"),
    }
}

const A: &str = "00000000-0000-4000-8000-00000000000a";
const B: &str = "00000000-0000-4000-8000-00000000000b";
const C: &str = "00000000-0000-4000-8000-00000000000c";

#[tokio::test]
async fn services_upsert_by_id_and_archive() {
    on_every_backend!(|store| {
        let n = store
            .upsert_directory_services(
                &[row(A, "Alpha", Some("2026-11-01")), row(B, "Beta", None)],
                "import",
                &event(),
            )
            .await
            .expect("upsert");
        assert_eq!(n, 2);
        // Same id again replaces the row rather than adding one.
        store
            .upsert_directory_services(
                &[row(A, "Alpha renamed", Some("2026-11-02"))],
                "u1",
                &event(),
            )
            .await
            .expect("again");
        let all = store.directory_services(false).await.expect("list");
        assert_eq!(
            all.iter().map(|s| s.row.name.as_str()).collect::<Vec<_>>(),
            vec!["Alpha renamed", "Beta"]
        );
        let a = store
            .directory_service(A)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(a.row.assured_date.as_deref(), Some("2026-11-02"));
        assert_eq!(a.updated_by, "u1");
        assert_eq!(
            a.row.document,
            format!("{{\"id\":\"{A}\",\"name\":\"Alpha renamed\"}}")
        );

        archive(&store, B).await.expect("archive");
        assert_eq!(
            store.directory_services(false).await.expect("live").len(),
            1
        );
        assert_eq!(store.directory_services(true).await.expect("all").len(), 2);
        assert_eq!(store.directory_service_count().await.expect("count"), 1);
        assert!(
            store
                .directory_service(B)
                .await
                .expect("get")
                .expect("kept")
                .archived
        );
        assert!(archive(&store, C).await.is_err());
        // Re-importing an archived record brings it back.
        store
            .upsert_directory_services(&[row(B, "Beta", None)], "import", &event())
            .await
            .expect("restore");
        assert!(
            !store
                .directory_service(B)
                .await
                .expect("get")
                .expect("kept")
                .archived
        );
    });
}

#[tokio::test]
async fn assurance_lists_stale_and_never_assured_records() {
    on_every_backend!(|store| {
        store
            .upsert_directory_services(
                &[
                    row(A, "Fresh", Some("2026-10-01")),
                    row(B, "Stale", Some("2026-05-01")),
                    row(C, "Never", None),
                ],
                "import",
                &event(),
            )
            .await
            .expect("upsert");
        let due = store
            .directory_services_due_assurance("2026-08-29")
            .await
            .expect("due");
        assert_eq!(
            due.iter().map(|s| s.row.name.as_str()).collect::<Vec<_>>(),
            vec!["Never", "Stale"]
        );
    });
}

#[tokio::test]
async fn taxonomy_round_trips_in_order() {
    on_every_backend!(|store| {
        let (t, terms) = store.directory_taxonomy().await.expect("empty");
        assert!(t.is_empty() && terms.is_empty());
        let tax = TaxonomyRow {
            id: A.into(),
            taxonomy_id: None,
            parent_id: None,
            name: "Needs".into(),
            document: "{\"id\":\"a\"}".into(),
        };
        let t1 = TaxonomyRow {
            id: C.into(),
            taxonomy_id: Some(A.into()),
            parent_id: None,
            name: "Root".into(),
            document: "{\"n\":1}".into(),
        };
        let t2 = TaxonomyRow {
            id: B.into(),
            taxonomy_id: Some(A.into()),
            parent_id: Some(C.into()),
            name: "Child".into(),
            document: "{\"n\":2}".into(),
        };
        assert!(
            store
                .seed_directory_taxonomy(std::slice::from_ref(&tax), &[t1.clone(), t2.clone()])
                .await
                .expect("seed")
        );
        assert!(
            !store
                .seed_directory_taxonomy(std::slice::from_ref(&tax), &[])
                .await
                .expect("seed again"),
            "seeding writes only an empty taxonomy"
        );
        let mut tx = store.write().await.expect("tx");
        tx.replace_directory_taxonomy(&[tax], &[t1, t2])
            .await
            .expect("replace");
        tx.audit(&[&event()]).await.expect("audit");
        tx.commit().await.expect("commit");
        let (t, terms) = store.directory_taxonomy().await.expect("read");
        assert_eq!(t.len(), 1);
        assert_eq!(
            terms.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            vec!["Root", "Child"]
        );
        assert_eq!(terms[1].parent_id.as_deref(), Some(C));
    });
}

#[tokio::test]
async fn postcodes_load_in_batches_and_match_any_spacing() {
    on_every_backend!(|store| {
        assert!(!store.postcodes_loaded().await.expect("empty"));
        let mut w = PostcodeWriter::begin(&store).await.expect("begin");
        for i in 0..1203 {
            w.add(&format!("W8 {i:03}"), 51.5 + f64::from(i) / 1e4, -0.19)
                .await
                .expect("add");
        }
        w.add("sw1a 1aa", 51.501, -0.1416).await.expect("add");
        w.add("SW1A1AA", 51.5010, -0.1417)
            .await
            .expect("repeat replaces");
        assert_eq!(w.commit().await.expect("commit"), 1204);
        assert_eq!(store.postcode_count().await.expect("count"), 1204);
        let p = store
            .postcode_point("Sw1A  1aA")
            .await
            .expect("query")
            .expect("found");
        assert!((p.lon - -0.1417).abs() < 1e-9, "the later row wins: {p:?}");
        assert!(
            store
                .postcode_point("ZZ9 9ZZ")
                .await
                .expect("query")
                .is_none()
        );
        // An unfinished load writes nothing.
        let mut w = PostcodeWriter::begin(&store).await.expect("begin");
        w.add("E1 6AN", 51.5, -0.07).await.expect("add");
        drop(w);
        assert!(
            store
                .postcode_point("E1 6AN")
                .await
                .expect("query")
                .is_none()
        );
    });
}

#[test]
fn postcodes_normalise() {
    assert_eq!(normalise_postcode(" sw1a  1aa "), "SW1A1AA");
}

/// Every directory write moves its topic's version, which this process sees at once and
/// another process (a second store on the same database) sees after reading the versions;
/// the services changed since a version are exactly those written after it.
#[tokio::test]
async fn directory_writes_move_change_versions_seen_by_other_processes() {
    on_every_backend!(|store| {
        let other = store.as_other_process();
        let topic = store.changes().topic(TOPIC_SERVICES);
        assert_eq!(topic.version(), 0);
        store
            .upsert_directory_services(
                &[row(A, "Alpha", None), row(B, "Beta", None)],
                "import",
                &event(),
            )
            .await
            .expect("upsert");
        let v1 = topic.version();
        assert_eq!(v1, 1, "the writer sees its own change at once");
        assert_eq!(
            store.change_version(TOPIC_SERVICES).await.expect("stored"),
            1
        );
        archive(&store, B).await.expect("archive");
        assert_eq!(topic.version(), 2);
        let changed = store.directory_changes_since(v1).await.expect("since");
        assert_eq!(
            changed
                .iter()
                .map(|(s, v)| (s.row.id.as_str(), s.archived, *v))
                .collect::<Vec<_>>(),
            vec![(B, true, 2)]
        );
        assert_eq!(
            store.directory_changes_since(0).await.expect("all").len(),
            2
        );
        // Another process learns of it by reading the versions.
        let seen = other.changes().topic(TOPIC_SERVICES);
        assert_eq!(seen.version(), 0);
        other.refresh_changes().await.expect("refresh");
        assert_eq!(seen.version(), 2);
        // Postcode loads and taxonomy writes have topics of their own.
        let mut w = PostcodeWriter::begin(&store).await.expect("begin");
        w.add("W8 6AB", 51.5, -0.19).await.expect("add");
        w.commit().await.expect("commit");
        assert_eq!(store.changes().topic(TOPIC_POSTCODES).version(), 1);
        assert_eq!(store.changes().topic(TOPIC_TAXONOMY).version(), 0);
        assert_eq!(store.changes().topic(TOPIC_SERVICES).version(), 2);
    });
}
