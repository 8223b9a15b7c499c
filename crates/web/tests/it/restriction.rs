//! The restriction invariant, proved over generated worlds: for every actor, nothing that
//! depends on the protected content of a record they may not read (names, dates of birth,
//! addresses, free text) reaches them on any list, count, search, filter, export, API answer,
//! person page, triage candidate list or notification. Each world is observed twice per
//! actor, with the content the actor may not read replaced in between, and every answer must
//! be the same. Runs on SQLite, and on PostgreSQL when `PATHWAYS_TEST_POSTGRES_URL` is set.

use std::collections::BTreeSet;

use pathways_app::crypto;
use pathways_domain::cases::{Consent, EntryKind};
use pathways_domain::{Action, Actor, AgencyKind, Permission, Role, RoleSet, decide};
use pathways_store::cases::{NewCase, NewEntry, NewServiceReferral};
use pathways_store::people::PersonDetails;
use pathways_store::referrals::NewReferral;
use pathways_store::restriction::{AccessListChange, AccessListKind};
use pathways_store::testing::TestDatabase;
use pathways_store::{NewUser, Store, User, now_unix};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::support::Server;

/// The fixed roster: who each generated index means.
const ROSTER: [(&str, usize, Role); 7] = [
    ("Pat One", 0, Role::Practitioner),
    ("Pat Two", 0, Role::Practitioner),
    ("Pia Three", 1, Role::Practitioner),
    ("Max Manager", 0, Role::Manager),
    ("Mia Manager", 1, Role::Manager),
    ("Rob Referrer", 2, Role::PartnerReferrer),
    ("Cas Coordinator", 0, Role::PanelCoordinator),
];
/// Roster indices who may lead a case.
const LEADS: [usize; 5] = [0, 1, 2, 3, 4];
/// Roster indices of managers (break-glass).
const MANAGERS: [usize; 2] = [3, 4];
const REFERRER: usize = 5;

#[derive(Debug, Clone)]
struct CaseSpec {
    lead: usize,
    member: Option<usize>,
    glass: Option<(usize, bool)>,
    service_referral: bool,
}

#[derive(Debug, Clone)]
struct PersonSpec {
    cases: Vec<CaseSpec>,
    restricted: Option<Vec<usize>>,
    address: Option<Vec<usize>>,
    /// A referral about them: `Some(true)` linked to them, `Some(false)` waiting unlinked.
    referral: Option<bool>,
    /// A duplicate record merged into them.
    duplicate: bool,
}

fn arb_list() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::btree_set(0..ROSTER.len(), 1..3).prop_map(|s| s.into_iter().collect())
}

fn arb_case() -> impl Strategy<Value = CaseSpec> {
    (
        proptest::sample::select(LEADS.to_vec()),
        proptest::option::of(0..ROSTER.len()),
        proptest::option::of((proptest::sample::select(MANAGERS.to_vec()), any::<bool>())),
        any::<bool>(),
    )
        .prop_map(|(lead, member, glass, service_referral)| CaseSpec {
            lead,
            member: member.filter(|m| LEADS.contains(m)),
            glass,
            service_referral,
        })
}

fn arb_person() -> impl Strategy<Value = PersonSpec> {
    (
        proptest::collection::vec(arb_case(), 0..3),
        proptest::option::weighted(0.5, arb_list()),
        proptest::option::weighted(0.4, arb_list()),
        proptest::option::of(any::<bool>()),
        proptest::bool::weighted(0.25),
    )
        .prop_map(
            |(cases, restricted, address, referral, duplicate)| PersonSpec {
                cases,
                restricted,
                address,
                referral,
                duplicate,
            },
        )
}

/// One version of a person's protected content. Variants differ in every letter and digit
/// that matters, so any leak changes some answer.
#[derive(Debug, Clone)]
struct Content {
    first: String,
    surname: String,
    dob: String,
    address: String,
    postcode: String,
    phone: String,
    text: String,
}

const FIRST: [[&str; 2]; 5] = [
    ["Amelia", "Zofia"],
    ["Bethany", "Yusra"],
    ["Chloe", "Xanthe"],
    ["Deborah", "Wren"],
    ["Esther", "Valka"],
];
const SURNAME: [[&str; 2]; 5] = [
    ["Ashdown", "Quennell"],
    ["Birtwistle", "Pryce"],
    ["Cowdrey", "Okonjo"],
    ["Dunmore", "Nkemelu"],
    ["Ellsworth", "Murtagh"],
];

fn content(person: usize, variant: usize) -> Content {
    let v = variant;
    Content {
        first: FIRST[person][v].into(),
        surname: SURNAME[person][v].into(),
        dob: format!(
            "{}-0{}-1{}",
            1990 + 7 * v + person,
            1 + 4 * v,
            person + 3 * v
        ),
        address: format!("{} {} Road", 10 + 40 * v + person, ["Lark", "Heron"][v]),
        postcode: format!("{}{} {}XY", ["RV", "QT"][v], person + 1, 2 + 5 * v),
        phone: format!("07700 9{v}{person}{v}{person}{v}"),
        text: format!(
            "Disclosed {} at {}",
            ["knife threat", "new refuge"][v],
            ["school", "clinic"][v]
        ),
    }
}

/// Every search a curious user might try against the names of both variants: whole names,
/// surnames, and one- and two-letter prefixes.
fn queries(people: usize) -> Vec<String> {
    let mut q = BTreeSet::new();
    for p in 0..people {
        for v in 0..2 {
            let c = content(p, v);
            q.insert(c.surname.to_lowercase());
            q.insert(c.first.to_lowercase());
            q.insert(c.surname[..1].to_lowercase());
            q.insert(c.surname[..2].to_lowercase());
            q.insert(c.postcode[..3].to_lowercase());
        }
    }
    q.into_iter().collect()
}

struct World {
    users: Vec<User>,
    agencies: Vec<String>,
    people: Vec<Vec<String>>,
    cases: Vec<(usize, String)>,
    referrals: Vec<(usize, String, String)>,
    service_referrals: Vec<(usize, String)>,
}

async fn build(store: &Store, specs: &[PersonSpec]) -> World {
    let mut agencies = Vec::new();
    for (name, kind) in [
        ("Outreach", AgencyKind::CouncilTeam),
        ("Women's Aid", AgencyKind::VawgSpecialist),
        ("Police", AgencyKind::Police),
    ] {
        agencies.push(
            pathways_store::testing::create_agency(store, name, kind)
                .await
                .expect("agency")
                .id,
        );
    }
    let mut users = Vec::new();
    for (i, (name, agency, role)) in ROSTER.iter().enumerate() {
        users.push(
            pathways_store::testing::create_user(
                store,
                &NewUser {
                    agency_id: agencies[*agency].clone(),
                    email: format!("user{i}@example.org"),
                    display_name: (*name).into(),
                    roles: RoleSet::new(vec![*role]),
                    password_hash: None,
                },
            )
            .await
            .expect("user"),
        );
    }
    let mut world = World {
        users,
        agencies,
        people: Vec::new(),
        cases: Vec::new(),
        referrals: Vec::new(),
        service_referrals: Vec::new(),
    };
    for (p, spec) in specs.iter().enumerate() {
        let c = content(p, 0);
        let details = PersonDetails {
            first_name: c.first.clone(),
            surname: c.surname.clone(),
            dob: Some(c.dob.clone()),
            address_line: c.address.clone(),
            postcode: c.postcode.clone(),
            phone: c.phone.clone(),
            ..PersonDetails::default()
        };
        let id = pathways_store::testing::create_person(store, &details, "test")
            .await
            .expect("person");
        let mut records = vec![id.clone()];
        if spec.duplicate {
            let dup = pathways_store::testing::create_person(store, &details, "test")
                .await
                .expect("dup");
            pathways_store::testing::merge_people(
                store,
                &dup,
                &id,
                "same person",
                &world.users[3].id,
            )
            .await
            .expect("merge");
            records.push(dup);
        }
        for case in &spec.cases {
            let lead = &world.users[case.lead];
            let opened = pathways_store::testing::write(store, async |tx| {
                tx.open_case(
                    &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
                    &NewCase {
                        person_id: id.clone(),
                        lead_worker_id: lead.id.clone(),
                        opened_by: lead.id.clone(),
                        ..NewCase::default()
                    },
                )
                .await
            })
            .await
            .expect("case");
            let opened = store.case(&opened).await.expect("opened");
            if let Some(m) = case.member {
                pathways_store::testing::write(store, async |tx| {
                    tx.add_team_member(
                        &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(
                            &opened.id,
                        ),
                        "user",
                        &world.users[m].id,
                        &lead.id,
                    )
                    .await
                })
                .await
                .expect("member");
            }
            pathways_store::testing::write(store, async |tx| {
                tx.add_entry(
                    &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&opened.id),
                    &lead.id,
                    &NewEntry {
                        kind: EntryKind::Note,
                        occurred_at: now_unix() - 3600,
                        summary: c.text.clone(),
                        ..NewEntry::default()
                    },
                )
                .await
            })
            .await
            .expect("entry");
            if case.service_referral {
                let r = pathways_store::testing::write(store, async |tx| {
                    tx.create_service_referral(
                        &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(
                            &opened.id,
                        ),
                        &NewServiceReferral {
                            service_id: "svc".into(),
                            service_name: "Counselling".into(),
                            category: "mental_health".into(),
                            to_agency_id: world.agencies[1].clone(),
                            consent: Consent::Given,
                            lawful_basis: String::new(),
                            share_reason: String::new(),
                            sharing_agreement: String::new(),
                            reason: "Needs support".into(),
                            sent_by: lead.id.clone(),
                        },
                    )
                    .await
                })
                .await
                .expect("service referral");
                world.service_referrals.push((p, r));
            }
            world.cases.push((p, opened.id.clone()));
            if let Some((m, live)) = case.glass {
                pathways_store::testing::write(store, async |tx| {
                    tx.break_glass_case(
                        &pathways_store::testing::permitted(
                            pathways_domain::Permission::BreakGlass,
                        ),
                        &opened.id,
                        &world.users[m].id,
                        "generated emergency",
                        if live { 3600 } else { -1 },
                    )
                    .await
                })
                .await
                .expect("glass");
            }
        }
        if let Some(linked) = spec.referral {
            let referrer = &world.users[REFERRER];
            let r = pathways_store::testing::create_referral(
                store,
                &NewReferral {
                    referrer_actor: referrer.id.clone(),
                    referrer_user_id: Some(referrer.id.clone()),
                    referrer_agency_id: referrer.agency_id.clone(),
                    referrer_name: referrer.display_name.clone(),
                    referrer_email: referrer.email.clone(),
                    person: details.clone(),
                    concerns: vec![],
                    reason: c.text.clone(),
                    urgency: "standard".into(),
                    consent: "given".into(),
                    ..NewReferral::default()
                },
            )
            .await
            .expect("referral");
            if linked {
                pathways_store::testing::link_referral_person(
                    store,
                    &r.id,
                    &id,
                    &world.users[3].id,
                )
                .await
                .expect("link");
            }
            world.referrals.push((p, r.id, r.reference));
        }
        // Restrictions last, as a list member would set them, so every path above ran on an
        // unrestricted record first.
        let by = &world.users[3];
        for (kind, list) in [
            (AccessListKind::Record, &spec.restricted),
            (AccessListKind::Address, &spec.address),
        ] {
            if let Some(list) = list {
                let cap = pathways_store::testing::list_changer(&id, kind);
                pathways_store::testing::write(store, async |tx| {
                    tx.change_access_list(
                        &cap,
                        &AccessListChange {
                            kind,
                            list: Some(list.iter().map(|u| world.users[*u].id.clone()).collect()),
                            contact: "Duty manager".into(),
                            by: by.id.clone(),
                            notice: "A list changed.".into(),
                            link: "/dashboard".into(),
                        },
                    )
                    .await
                })
                .await
                .expect("restrict");
            }
        }
        world.people.push(records);
    }
    world
}

fn actor(u: &User) -> Actor {
    Actor {
        user_id: u.id.clone(),
        agency_id: u.agency_id.clone(),
        roles: u.roles.clone(),
        scopes: None,
    }
}

/// What one actor may read about one person, by the access policy: details through the
/// person record, any case about them, or a service referral their agency received; the
/// address through the person record or a case.
struct Entitlement {
    details: bool,
    address: bool,
}

async fn entitlement(store: &Store, w: &World, who: &Actor, p: usize) -> Entitlement {
    let now = now_unix();
    let person = store.person(&w.people[p][0]).await.expect("person");
    let facts = store.person_facts(&person).await.expect("facts");
    let mut details = decide(who, Action::ViewRecord, &facts, now).allowed();
    let mut address = decide(who, Action::ViewAddress, &facts, now).allowed();
    for (owner, case) in &w.cases {
        if *owner != p {
            continue;
        }
        let f = store.case_facts(case).await.expect("facts");
        details |= decide(who, Action::ViewRecord, &f, now).allowed();
        address |= decide(who, Action::ViewAddress, &f, now).allowed();
    }
    // A receiving service learns who is referred (not where they live) unless restricted.
    if !person.restricted
        && who.roles.has(Permission::WorkCases)
        && w.service_referrals.iter().any(|(o, _)| *o == p)
        && who.agency_id == w.agencies[1]
    {
        details = true;
    }
    Entitlement { details, address }
}

/// Writes variant `v` of the content `who` may not read; everything else stays variant 0.
async fn write_content(store: &Store, w: &World, who: &Actor, v: usize) {
    for p in 0..w.people.len() {
        let e = entitlement(store, w, who, p).await;
        let c0 = content(p, 0);
        let c = content(p, v);
        let (name, addr) = (
            if e.details { &c0 } else { &c },
            if e.address { &c0 } else { &c },
        );
        for id in &w.people[p] {
            sqlx::query(
                "UPDATE people SET first_name = $1, surname = $2, dob = $3, phone = $4, \
                 address_line = $5, postcode = $6 WHERE id = $7",
            )
            .bind(&name.first)
            .bind(&name.surname)
            .bind(&name.dob)
            .bind(&name.phone)
            .bind(&addr.address)
            .bind(&addr.postcode)
            .bind(id)
            .execute(store.pool())
            .await
            .expect("person content");
        }
        for (owner, case) in &w.cases {
            if *owner == p {
                let f = store.case_facts(case).await.expect("facts");
                let text = if decide(who, Action::ViewRecord, &f, now_unix()).allowed() {
                    &c0.text
                } else {
                    &c.text
                };
                sqlx::query("UPDATE case_entries SET summary = $1 WHERE case_id = $2")
                    .bind(text)
                    .bind(case)
                    .execute(store.pool())
                    .await
                    .expect("entry content");
            }
        }
        for (owner, id, _) in &w.referrals {
            if *owner != p {
                continue;
            }
            let r = store.referral(id).await.expect("referral");
            let f = store.referral_facts(&r).await.expect("facts");
            let referrer = r.submitted.referrer_actor == who.user_id;
            let read = referrer || decide(who, Action::ViewRecord, &f, now_unix()).allowed();
            let read_address =
                referrer || decide(who, Action::ViewAddress, &f, now_unix()).allowed();
            let (n, a) = (
                if read { &c0 } else { &c },
                if read_address { &c0 } else { &c },
            );
            sqlx::query(
                "UPDATE referrals SET first_name = $1, surname = $2, dob = $3, phone = $4, reason = $5, \
                 address_line = $6, postcode = $7 WHERE id = $8",
            )
            .bind(&n.first)
            .bind(&n.surname)
            .bind(&n.dob)
            .bind(&n.phone)
            .bind(&n.text)
            .bind(&a.address)
            .bind(&a.postcode)
            .bind(id)
            .execute(store.pool())
            .await
            .expect("referral content");
        }
    }
}

/// Every page and answer the actor can ask for, in a fixed order.
fn paths(w: &World) -> Vec<String> {
    let mut out: Vec<String> = [
        "/dashboard",
        "/cases",
        "/cases?view=team",
        "/cases?view=overdue",
        "/cases?view=reviews",
        "/cases?view=high",
        "/cases?view=team&sort=name",
        "/cases/export.csv?view=team",
        "/api/v1/cases?view=team",
        "/referrals/mine",
        "/referrals/triage",
        "/service-referrals",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for q in queries(w.people.len()) {
        out.push(format!("/cases?q={q}"));
        out.push(format!("/cases?q={q}&status=open&risk=high"));
        out.push(format!("/api/v1/cases?q={q}"));
        out.push(format!("/cases/export.csv?q={q}"));
    }
    for (_, case) in &w.cases {
        out.push(format!("/cases/{case}"));
        out.push(format!("/api/v1/cases/{case}"));
    }
    for records in &w.people {
        for id in records {
            out.push(format!("/referrals/people/{id}"));
        }
    }
    for (_, _, reference) in &w.referrals {
        out.push(format!("/referrals/{reference}"));
    }
    for (_, id) in &w.service_referrals {
        out.push(format!("/service-referrals/{id}"));
    }
    out
}

/// The answer with what legitimately changes between two looks taken a moment apart (clocks
/// counting down) blanked out.
fn normalise(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    // "3 h 05 min" and "42 min" are working-time clocks.
    while let Some(at) = rest.find(" min") {
        let (head, tail) = rest.split_at(at);
        let trimmed = head.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == 'h');
        out.push_str(trimmed);
        out.push_str(" <clock>");
        rest = &tail[4..];
    }
    out.push_str(rest);
    out
}

async fn observe(base: &str, client: &reqwest::Client, paths: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let res = client
            .get(format!("{base}{p}"))
            .send()
            .await
            .expect("request");
        let status = res.status();
        let body = res.text().await.expect("body");
        out.push(format!("{status}\n{}", normalise(&body)));
    }
    out
}

/// A client signed in as `u` (the session cookie is sent to every loopback server).
async fn signed_in(store: &Store, u: &User) -> reqwest::Client {
    let raw = crypto::random_token();
    pathways_store::testing::create_session(
        store,
        &crypto::digest(&raw),
        &u.id,
        "full",
        "127.0.0.1",
    )
    .await
    .expect("session");
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(
        &format!("pw_session={raw}; Path=/"),
        &"http://127.0.0.1".parse().expect("url"),
    );
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Builds one world and checks every actor; an error names the actor, the path and both
/// answers.
async fn check_world(db: TestDatabase, specs: Vec<PersonSpec>) -> Result<(), String> {
    let store = db.store.clone();
    let w = build(&store, &specs).await;
    let paths = paths(&w);
    // Both looks are served with one CSRF key, as instances sharing a data folder are.
    let csrf_key = pathways_store::ServerSecret::generate();
    for u in &w.users {
        let who = actor(u);
        let mut looks = Vec::new();
        let client = signed_in(&store, u).await;
        for v in 0..2 {
            write_content(&store, &w, &who, v).await;
            // A fresh server each time: nothing cached from the other look.
            let key = csrf_key.clone();
            let server = Server::start_with(store.clone(), |s| s.csrf_key = key).await;
            looks.push(observe(&server.base, &client, &paths).await);
        }
        write_content(&store, &w, &who, 0).await;
        // The looks were really taken signed in (the dashboard is the first path).
        if !(looks[0][0].starts_with("200") && looks[0][0].contains(&u.display_name)) {
            return Err(format!(
                "{} was not signed in: {}",
                u.display_name, looks[0][0]
            ));
        }
        for (i, path) in paths.iter().enumerate() {
            if looks[0][i] != looks[1][i] {
                let (a, b) = (&looks[0][i], &looks[1][i]);
                let at = a
                    .char_indices()
                    .zip(b.chars())
                    .find(|((_, x), y)| x != y)
                    .map_or(a.len().min(b.len()), |((i, _), _)| i);
                let from = a[..at].char_indices().rev().nth(200).map_or(0, |(i, _)| i);
                return Err(format!(
                    "{} ({:?}) sees protected content change on {path}:\n--- first\n{}\n--- second\n{}",
                    u.display_name,
                    u.roles.roles(),
                    a.get(from..(at + 200).min(a.len())).unwrap_or(a),
                    b.get(from..(at + 200).min(b.len())).unwrap_or(b),
                ));
            }
        }
    }
    drop(db);
    Ok(())
}

fn run_on(backend: &str) {
    // Each world is observed about 2,000 times; PROPTEST_CASES raises the count for longer runs.
    let default_cases = if backend == "postgres" { 3 } else { 6 };
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let postgres = backend == "postgres";
    let result = runner.run(&proptest::collection::vec(arb_person(), 1..5), |specs| {
        rt.block_on(async {
            let db = if postgres {
                match TestDatabase::postgres()
                    .await
                    .expect("PostgreSQL test database")
                {
                    Some(db) => db,
                    None => return Ok(()),
                }
            } else {
                TestDatabase::sqlite().await.expect("SQLite test database")
            };
            check_world(db, specs).await.map_err(TestCaseError::fail)
        })
    });
    if let Err(e) = result {
        panic!("{backend}: {e}");
    }
}

#[test]
fn restriction_invariant_holds_on_sqlite() {
    run_on("sqlite");
}

#[test]
fn restriction_invariant_holds_on_postgres() {
    if std::env::var(pathways_store::testing::POSTGRES_ENV).is_err() {
        eprintln!("PATHWAYS_TEST_POSTGRES_URL is not set: the PostgreSQL run is skipped");
        return;
    }
    run_on("postgres");
}

// ------------------------------------------------------------------ named regressions

use crate::support::{App, get, post_form};

async fn restricted_case(app: &App, lead: &User, first: &str, list: &[&User]) -> (String, String) {
    let person = pathways_store::testing::create_person(
        app.store(),
        &PersonDetails {
            first_name: first.into(),
            surname: "Marlowe".into(),
            dob: Some("2004-02-03".into()),
            address_line: "7 Quiet Close".into(),
            postcode: "RV9 9ZZ".into(),
            ..PersonDetails::default()
        },
        "test",
    )
    .await
    .expect("person");
    let case = pathways_store::testing::write(app.store(), async |tx| {
        tx.open_case(
            &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
            &NewCase {
                person_id: person.clone(),
                lead_worker_id: lead.id.clone(),
                opened_by: lead.id.clone(),
                restricted: true,
                restriction_contact: "Duty manager".into(),
                access_list: list.iter().map(|u| u.id.clone()).collect(),
                ..NewCase::default()
            },
        )
        .await
    })
    .await
    .expect("case");
    (case, person)
}

#[tokio::test]
async fn a_team_member_off_the_list_cannot_add_themselves_or_lift_the_restriction() {
    let app = App::start().await;
    let lead = app
        .user("lead@example.org", "Lena Lead", &[Role::Practitioner])
        .await;
    let colleague = app
        .user("col@example.org", "Cole League", &[Role::Practitioner])
        .await;
    let (case, _) = restricted_case(&app, &lead, "Ivy", &[]).await;
    pathways_store::testing::write(app.store(), async |tx| {
        tx.add_team_member(
            &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&case),
            "user",
            &colleague.id,
            &lead.id,
        )
        .await
    })
    .await
    .expect("member");
    let (client, csrf, _) = app.session(&colleague).await;
    for change in [
        vec![
            ("change", "add"),
            ("user_id", colleague.id.as_str()),
            ("reason", "I work this case"),
        ],
        vec![("change", "lift"), ("reason", "no longer needed")],
        vec![("change", "restrict"), ("reason", "start again")],
    ] {
        let res = post_form(
            &app,
            &client,
            &format!("/cases/{case}/restriction"),
            &csrf,
            &change,
        )
        .await;
        assert_eq!(res.status(), 403, "{change:?}");
        let res = post_form(
            &app,
            &client,
            &format!("/cases/{case}/address-restriction"),
            &csrf,
            &change,
        )
        .await;
        assert!(
            res.status() == 403 || res.status() == 422,
            "{change:?}: {}",
            res.status()
        );
    }
    let facts = app.store().case_facts(&case).await.expect("facts");
    assert_eq!(
        facts.restriction.expect("still restricted").access_list,
        vec![lead.id.clone()]
    );
    assert!(
        get(&app, &client, &format!("/cases/{case}"))
            .await
            .text()
            .await
            .expect("body")
            .contains("Restricted record")
    );
    // Each refusal is audited; nothing was allowed.
    let refusals: Vec<String> = app
        .audit()
        .await
        .into_iter()
        .filter(|(a, _, _)| a == "access_list")
        .map(|(_, _, outcome)| outcome)
        .collect();
    assert_eq!(refusals, vec!["denied"; 3]);
    // The lead worker, on the list, adds the colleague: audited with the reason, and the
    // colleague is told.
    let (lead_client, lead_csrf, _) = app.session(&lead).await;
    let res = post_form(
        &app,
        &lead_client,
        &format!("/cases/{case}/restriction"),
        &lead_csrf,
        &[
            ("change", "add"),
            ("user_id", colleague.id.as_str()),
            ("reason", "Joint visits from Monday"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let entry = app.store().recent_audit(1).await.expect("audit").remove(0);
    assert_eq!(entry.event.action, "access_list");
    assert!(
        entry.event.reason.contains("Joint visits from Monday"),
        "{}",
        entry.event.reason
    );
    let notes = app
        .store()
        .notifications(&colleague.id, 5)
        .await
        .expect("notes");
    assert_eq!(notes.len(), 1);
    assert!(
        get(&app, &client, &format!("/cases/{case}"))
            .await
            .text()
            .await
            .expect("body")
            .contains("Ivy Marlowe")
    );
}

#[tokio::test]
async fn a_manager_of_the_lead_agency_changes_the_list_without_being_on_it() {
    let app = App::start().await;
    let lead = app
        .user("lead@example.org", "Lena Lead", &[Role::Practitioner])
        .await;
    let manager = app
        .user("mgr@example.org", "Mona Manager", &[Role::Manager])
        .await;
    let (case, _) = restricted_case(&app, &lead, "Iris", &[]).await;
    let (client, csrf, _) = app.session(&manager).await;
    let page = get(&app, &client, &format!("/cases/{case}"))
        .await
        .text()
        .await
        .expect("body");
    assert!(
        page.contains("Restricted record") && page.contains("record-members"),
        "{page}"
    );
    assert!(!page.contains("Iris Marlowe"));
    let res = post_form(
        &app,
        &client,
        &format!("/cases/{case}/restriction"),
        &csrf,
        &[
            ("change", "lift"),
            ("reason", "Risk has passed; agreed at supervision"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(
        app.store()
            .case_facts(&case)
            .await
            .expect("facts")
            .restriction
            .is_none()
    );
    assert_eq!(
        app.store()
            .notifications(&lead.id, 5)
            .await
            .expect("notes")
            .len(),
        1
    );
}

#[tokio::test]
async fn restricting_a_case_hides_its_person_page_from_borough_wide_users() {
    let app = App::start().await;
    let lead = app
        .user("lead@example.org", "Lena Lead", &[Role::Practitioner])
        .await;
    let manager = app
        .user("mgr@example.org", "Mona Manager", &[Role::Manager])
        .await;
    let (_, person) = restricted_case(&app, &lead, "Opal", &[]).await;
    let (client, _, _) = app.session(&manager).await;
    let res = get(&app, &client, &format!("/referrals/people/{person}")).await;
    assert_eq!(res.status(), 404);
    let body = res.text().await.expect("body");
    assert!(!body.contains("Opal") && !body.contains("Quiet Close"));
}

#[tokio::test]
async fn restricted_people_take_no_place_among_triage_candidates() {
    let app = App::start().await;
    let lead = app
        .user("lead@example.org", "Lena Lead", &[Role::Practitioner])
        .await;
    let manager = app
        .user("mgr@example.org", "Mona Manager", &[Role::Manager])
        .await;
    let police = pathways_store::testing::create_agency(app.store(), "Police", AgencyKind::Police)
        .await
        .expect("agency");
    let details = |first: &str, dob: &str| PersonDetails {
        first_name: first.into(),
        surname: "Marlowe".into(),
        dob: Some(dob.into()),
        ..PersonDetails::default()
    };
    // Six people an unrestricted search would offer, and one restricted person who matches
    // the referral best of all.
    for (i, first) in ["Ivy", "Ivie", "Ivey", "Iva", "Ivo", "Ivan"]
        .iter()
        .enumerate()
    {
        pathways_store::testing::create_person(
            app.store(),
            &details(first, &format!("2004-02-1{i}")),
            "test",
        )
        .await
        .expect("person");
    }
    restricted_case(&app, &lead, "Ivy", &[]).await;
    let referral = pathways_store::testing::create_referral(
        app.store(),
        &NewReferral {
            referrer_actor: "token:police".into(),
            referrer_agency_id: police.id.clone(),
            referrer_name: "PC Reid".into(),
            referrer_email: "pc@example.org".into(),
            person: details("Ivy", "2004-02-03"),
            reason: "Seen with older men".into(),
            urgency: "urgent".into(),
            consent: "given".into(),
            ..NewReferral::default()
        },
    )
    .await
    .expect("referral");
    let (client, _, _) = app.session(&manager).await;
    let page = get(&app, &client, &format!("/referrals/{}", referral.reference))
        .await
        .text()
        .await
        .expect("body");
    let shown = page.matches("pw-candidate").count();
    assert_eq!(
        shown, 5,
        "five unrestricted candidates, none masked: {page}"
    );
    assert!(!page.contains("restricted record"), "{page}");
}
