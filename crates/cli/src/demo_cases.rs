//! Demo cases for the fictional borough: people, cases with teams and chronology, DASH and
//! youth violence screenings scored by the real rules, service referrals (one routed through
//! the VAWG consortium), and restricted cases. The same seed gives the same records.

use std::collections::BTreeMap;

use anyhow::Context;
use pathways_app::cases::{
    self as uc, AccessListChangeRequest, EntryInput, GoalInput, ListChange, OpenCaseInput,
    ServiceReferralInput, TaskInput, TeamChange,
};
use pathways_app::referrals::{self, DecisionForm};
use pathways_app::{App, Caller};
use pathways_domain::AgencyKind;
use pathways_domain::ids::{CaseId, ServiceReferralId};
use pathways_domain::referrals::{TriageDecision, Urgency};
use pathways_domain::time::{format_datetime_local, format_iso_day};
use pathways_store::people::PersonDetails;
use pathways_store::referrals::NewReferral;
use pathways_store::restriction::AccessListKind;
use pathways_store::{Store, User, now_unix};

/// A small deterministic generator (SplitMix64): the demo needs repeatable choices, not
/// cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Aaliyah",
    "Ben",
    "Chantelle",
    "Darnell",
    "Ellie",
    "Femi",
    "Grace",
    "Hassan",
    "Imani",
    "Jamal",
    "Kayla",
    "Liam",
    "Maya",
    "Nathan",
    "Olivia",
    "Precious",
    "Rhys",
    "Sade",
    "Tyrone",
    "Zara",
];
const SURNAMES: &[&str] = &[
    "Adebayo", "Brooks", "Campbell", "Daley", "Evans", "Francis", "Gordon", "Hughes", "Iqbal",
    "Johnson", "Khan", "Lewis", "Mensah", "Nolan", "Okoro", "Price",
];
const PLACES: &[&str] = &[
    "Riverside Park",
    "Northgate bus station",
    "Eastfield estate",
    "High Street",
    "Westway Youth Club",
];

/// Number of demo cases.
const CASES: usize = 24;

async fn user(store: &Store, email: &str) -> anyhow::Result<User> {
    store
        .user_by_email(email)
        .await?
        .with_context(|| format!("demo user {email} is missing"))
}

/// The demo user as the use cases know them.
fn caller(u: &User) -> Caller {
    Caller::staff(
        &u.id,
        &u.agency_id,
        u.roles.clone(),
        &u.display_name,
        "demo",
    )
}

async fn agency_id(store: &Store, name: &str) -> anyhow::Result<String> {
    Ok(store
        .agency_by_name(name)
        .await?
        .with_context(|| format!("demo agency {name} is missing"))?
        .id)
}

/// Answers an instrument's questions (`yes` for those listed, `no` for the rest) through
/// the assessment form, scored by the real rules.
async fn assess(
    app: &App,
    lead: &Caller,
    case: &CaseId,
    key: &str,
    questions: &[String],
    yes: &[String],
) -> anyhow::Result<()> {
    let form: BTreeMap<String, String> = questions
        .iter()
        .map(|q| {
            let v = if yes.contains(q) { "yes" } else { "no" };
            (q.clone(), v.to_string())
        })
        .collect();
    uc::record_assessment(app, lead, case, key, &form)
        .await
        .map_err(|e| anyhow::anyhow!("demo {key} answers were refused: {e}"))
}

/// Opens a case the way staff do: a referral about the person, triaged (the person added
/// to the index, the decision to open a case), then the case.
async fn open(
    app: &App,
    lead: &User,
    triager: &User,
    person: PersonDetails,
    restricted: bool,
) -> anyhow::Result<CaseId> {
    let referral = referrals::record_received(
        app,
        &caller(lead),
        NewReferral {
            referrer_name: lead.display_name.clone(),
            referrer_email: lead.email.clone(),
            person,
            reason: "Known to outreach; referred for casework".into(),
            urgency: Urgency::Standard.key().into(),
            consent: "given".into(),
            ..NewReferral::default()
        },
        now_unix(),
    )
    .await?;
    let triage = caller(triager);
    referrals::new_person(app, &triage, &referral.reference).await?;
    referrals::decide(
        app,
        &triage,
        &referral.reference,
        &DecisionForm {
            decision: TriageDecision::OpenCase.key().into(),
            reason: "Needs an outreach case".into(),
            ..DecisionForm::default()
        },
    )
    .await?;
    let opened = uc::open_case(
        app,
        &caller(lead),
        &OpenCaseInput {
            referral_id: referral.id,
            lead_worker_id: lead.id.clone(),
            restricted,
            restriction_contact: if restricted {
                "Dev Patel, Early Help manager".into()
            } else {
                String::new()
            },
        },
    )
    .await?;
    Ok(opened.id)
}

/// Adds the demo cases to a store that already holds the borough's agencies and staff,
/// through the same use cases staff use (each change audited).
pub async fn seed_cases(app: &App, seed: u64, domain: &str) -> anyhow::Result<usize> {
    let store = app.store();
    let mut rng = Rng(seed ^ 0xCA5E_5EED);
    let registry = uc::builtin_registry();
    let amara = user(store, &format!("amara.okafor@{domain}")).await?;
    let helen = user(store, &format!("helen.adeyemi@{domain}")).await?;
    let dev = user(store, &format!("dev.patel@{domain}")).await?;
    let maya = user(store, &format!("maya.thompson@{domain}")).await?;
    let nadia = user(store, &format!("nadia.rahman@{domain}")).await?;
    let turning_point = agency_id(store, "Turning Point Riverside").await?;
    let hub = agency_id(store, "Riverside VAWG Partnership (hub)").await?;
    let idva = agency_id(store, "Riverside IDVA Service").await?;
    let system = Caller::system("demo");
    for a in store.list_agencies().await? {
        if a.kind == AgencyKind::VawgSpecialist {
            pathways_app::agencies::add_consortium_member(app, &system, &hub, &a.id).await?;
        }
    }
    let now = now_unix();
    let dash = registry.latest("dash").context("DASH is missing")?;
    let dash_ids: Vec<String> = dash.core_questions().map(|q| q.id.clone()).collect();
    let yv = registry
        .latest("yv-screening")
        .context("screening is missing")?;
    let yv_ids: Vec<String> = yv.core_questions().map(|q| q.id.clone()).collect();
    for i in 0..CASES {
        let first = *rng.pick(FIRST);
        let surname = *rng.pick(SURNAMES);
        let year = 1985 + rng.below(25) as i64;
        let person = PersonDetails {
            first_name: first.into(),
            surname: surname.into(),
            dob: Some(format!(
                "{year}-{:02}-{:02}",
                1 + rng.below(12),
                1 + rng.below(28)
            )),
            postcode: format!("RV{} {}AB", 1 + rng.below(9), rng.below(10)),
            address_line: format!("{} Demo Road", 1 + rng.below(200)),
            ..PersonDetails::default()
        };
        let lead_user = if i % 3 == 2 { &helen } else { &amara };
        let lead = caller(lead_user);
        let restricted = i % 8 == 5;
        let case = open(app, lead_user, &dev, person, restricted).await?;
        if restricted {
            // The manager joins the list the lead worker started.
            uc::change_access_list(
                app,
                &lead,
                &case,
                &AccessListChangeRequest {
                    kind: AccessListKind::Record,
                    change: Some(ListChange::Add),
                    user_id: dev.id.clone(),
                    restriction_contact: String::new(),
                    reason: "Manager oversight of a restricted survivor's case".into(),
                },
            )
            .await?;
        }
        if i % 4 == 0 {
            uc::team_change(
                app,
                &lead,
                &case,
                &TeamChange {
                    agency_id: idva.clone(),
                    ..TeamChange::default()
                },
            )
            .await?;
        }
        // Some survivors' current addresses are known only to a named list (their lead
        // worker and the manager): colleagues on the case see "restricted" instead.
        if i % 8 == 3 {
            uc::change_access_list(
                app,
                &lead,
                &case,
                &AccessListChangeRequest {
                    kind: AccessListKind::Address,
                    change: Some(ListChange::Restrict),
                    user_id: dev.id.clone(),
                    restriction_contact: String::new(),
                    reason: "Survivor has moved; the new address is known to the lead worker and manager only".into(),
                },
            )
            .await?;
        }
        let place = *rng.pick(PLACES);
        uc::add_entry(
            app,
            &lead,
            &case,
            &EntryInput {
                kind: "street_contact".into(),
                occurred_at: format_datetime_local(now - 86_400 * (1 + rng.below(20) as i64)),
                summary: format!("Met {first} at {place}; agreed to meet again"),
                place: place.into(),
                contact_method: "street".into(),
                ..EntryInput::default()
            },
        )
        .await?;
        uc::add_entry(
            app,
            &lead,
            &case,
            &EntryInput {
                kind: "note".into(),
                occurred_at: format_datetime_local(now - 3600 * (1 + rng.below(48) as i64)),
                summary: "Safety plan discussed; safe contact agreed".into(),
                ..EntryInput::default()
            },
        )
        .await?;
        // Some tasks are overdue and some reviews are due soon, so every caseload tab has rows.
        uc::add_task(
            app,
            &lead,
            &case,
            &TaskInput {
                title: "Follow-up visit".into(),
                owner_id: lead_user.id.clone(),
                due_at: format_iso_day(now + 86_400 * (rng.below(20) as i64 - 5)),
            },
        )
        .await?;
        uc::add_goal(
            app,
            &lead,
            &case,
            &GoalInput {
                goal: "Feels safe at home and in the area".into(),
                actions: "Weekly check-ins".into(),
                target_at: format_iso_day(now + 86_400 * 60),
            },
        )
        .await?;
        uc::schedule_review(
            app,
            &lead,
            &case,
            &format_iso_day(now + 86_400 * (rng.below(40) as i64)),
        )
        .await?;
        if i % 2 == 0 {
            let yes_count = 6 + rng.below(12) as usize;
            let mut yes: Vec<String> = dash_ids.clone();
            while yes.len() > yes_count {
                let at = rng.below(yes.len() as u64) as usize;
                yes.remove(at);
            }
            assess(app, &lead, &case, "dash", &dash_ids, &yes).await?;
        } else {
            let yes: Vec<String> = yv_ids
                .iter()
                .filter(|_| rng.below(3) == 0)
                .cloned()
                .collect();
            assess(app, &lead, &case, "yv-screening", &yv_ids, &yes).await?;
        }
        if i % 3 == 0 {
            let r = uc::send_referral(
                app,
                &lead,
                &case,
                &ServiceReferralInput {
                    service_id: "demo:turning-point".into(),
                    service_name: "Turning Point drug and alcohol service".into(),
                    category: "substance_misuse".into(),
                    to_agency_id: turning_point.clone(),
                    consent: "given".into(),
                    sharing_agreement: "Riverside information-sharing protocol 2025".into(),
                    reason: "Wants help with alcohol use".into(),
                    ..ServiceReferralInput::default()
                },
            )
            .await?;
            if i % 2 == 0 {
                uc::move_referral(app, &caller(&nadia), &r, "accepted", "sent", "").await?;
            }
        }
        if i % 4 == 1 {
            let given = i % 8 == 1;
            let r: ServiceReferralId = uc::send_referral(
                app,
                &lead,
                &case,
                &ServiceReferralInput {
                    service_id: "demo:vawg-partnership".into(),
                    service_name: "Riverside VAWG Partnership support".into(),
                    category: "vawg_support".into(),
                    to_agency_id: hub.clone(),
                    consent: if given { "given" } else { "not_sought" }.into(),
                    lawful_basis: if given { "" } else { "safeguarding" }.into(),
                    share_reason: if given {
                        String::new()
                    } else {
                        "Immediate risk of serious harm; contact with the person is not yet safe"
                            .into()
                    },
                    sharing_agreement: "Riverside information-sharing protocol 2025".into(),
                    reason: "Domestic abuse support and safety planning".into(),
                },
            )
            .await?;
            if given {
                uc::allocate(app, &caller(&maya), &r, &idva).await?;
            }
        }
    }
    Ok(CASES)
}

#[cfg(test)]
mod tests {
    use pathways_store::testing::TestDatabase;

    /// The whole demo borough seeds, and its cases exercise what the product must show:
    /// restricted cases, address-restricted survivors, and caseload copies that agree with
    /// the cases they come from.
    #[tokio::test]
    async fn the_demo_borough_seeds_cases_with_both_kinds_of_restriction() {
        let db = TestDatabase::sqlite().await.expect("database");
        let logins = crate::demo::seed(&db.store, 2026).await.expect("seeded");
        assert!(logins.len() >= 17, "one sign-in per role and agency kind");
        let pool = db.store.pool();
        let count = |sql: &'static str| async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .expect(sql)
        };
        assert!(count("SELECT CAST(COUNT(*) AS BIGINT) FROM cases WHERE restricted = 1").await > 0);
        let hidden =
            count("SELECT CAST(COUNT(*) AS BIGINT) FROM people WHERE address_restricted = 1").await;
        assert!(hidden > 0);
        assert_eq!(
            count("SELECT CAST(COUNT(DISTINCT person_id) AS BIGINT) FROM person_access WHERE scope = 'address'").await,
            hidden,
            "every hidden address has its named list"
        );
        assert_eq!(
            count(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM case_team t JOIN cases c ON c.id = t.case_id \
                 WHERE t.status <> c.status OR t.risk_level <> c.risk_level \
                 OR t.next_task_due_at IS NOT c.next_task_due_at OR t.next_review_at IS NOT c.next_review_at"
            )
            .await,
            0,
            "team rows carry their case's list columns"
        );
    }
}
