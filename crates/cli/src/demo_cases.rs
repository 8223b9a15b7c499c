//! Demo cases for the fictional borough: people, cases with teams and chronology, DASH and
//! youth violence screenings scored by the real rules, service referrals (one routed through
//! the VAWG consortium), and restricted cases. The same seed gives the same records.

use anyhow::Context;
use pathways_domain::AgencyKind;
use pathways_domain::audit::AuditEvent;
use pathways_risk::{InstrumentRegistry, ScoreRequest, score_request};
use pathways_store::cases::{
    Consent, NewAssessment, NewCase, NewEntry, NewServiceReferral, ReferralStatus,
};
use pathways_store::people::PersonDetails;
use pathways_store::restriction::{AccessListChange, AccessListKind};
use pathways_store::{Store, now_unix};

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

async fn user_id(store: &Store, email: &str) -> anyhow::Result<String> {
    Ok(store
        .user_by_email(email)
        .await?
        .with_context(|| format!("demo user {email} is missing"))?
        .id)
}

async fn agency_id(store: &Store, name: &str) -> anyhow::Result<String> {
    Ok(store
        .agency_by_name(name)
        .await?
        .with_context(|| format!("demo agency {name} is missing"))?
        .id)
}

/// Scores answers with the shipped rules and stores the assessment on the case.
async fn assess(
    store: &Store,
    registry: &InstrumentRegistry,
    case_id: &str,
    by: &str,
    key: &str,
    yes: &[String],
    today: &str,
) -> anyhow::Result<()> {
    let def = registry
        .latest(key)
        .with_context(|| format!("instrument {key} is missing"))?;
    let answers = def
        .core_questions()
        .map(|q| {
            let v = if yes.contains(&q.id) { "yes" } else { "no" };
            (q.id.clone(), serde_json::Value::String(v.into()))
        })
        .collect();
    let scored = score_request(
        registry,
        key,
        ScoreRequest {
            answers,
            assessment_date: Some(today.into()),
            ..ScoreRequest::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("demo {key} answers were refused: {e}"))?;
    store
        .record_assessment(
            case_id,
            by,
            &NewAssessment {
                instrument: scored.instrument.clone(),
                version: i64::from(scored.version),
                answers: serde_json::to_string(&scored.answers)?,
                score: i64::from(scored.score),
                max_score: i64::from(scored.max_score),
                computed_level: scored.computed_level.as_str().into(),
                level: scored.level.as_str().into(),
                judgement_reason: String::new(),
                marac_eligible: scored.eligibility.as_ref().is_some_and(|e| e.eligible),
                eligibility: match &scored.eligibility {
                    Some(e) => serde_json::to_string(e)?,
                    None => "null".into(),
                },
            },
        )
        .await?;
    Ok(())
}

/// `YYYY-MM-DD` of a Unix time (UTC), by the days-from-civil inverse (H. Hinnant).
fn civil_date(ts: i64) -> String {
    let z = ts.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Adds the demo cases to a store that already holds the borough's agencies and staff.
pub async fn seed_cases(store: &Store, seed: u64, domain: &str) -> anyhow::Result<usize> {
    let mut rng = Rng(seed ^ 0xCA5E_5EED);
    let registry = InstrumentRegistry::builtin()?;
    let amara = user_id(store, &format!("amara.okafor@{domain}")).await?;
    let helen = user_id(store, &format!("helen.adeyemi@{domain}")).await?;
    let dev = user_id(store, &format!("dev.patel@{domain}")).await?;
    let maya = user_id(store, &format!("maya.thompson@{domain}")).await?;
    let turning_point = agency_id(store, "Turning Point Riverside").await?;
    let hub = agency_id(store, "Riverside VAWG Partnership (hub)").await?;
    let idva = agency_id(store, "Riverside IDVA Service").await?;
    for a in store.list_agencies().await? {
        if a.kind == AgencyKind::VawgSpecialist {
            store.add_consortium_member(&hub, &a.id).await?;
        }
    }
    let now = now_unix();
    let today = civil_date(now);
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
        let person = store
            .create_person(
                &PersonDetails {
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
                },
                "demo",
            )
            .await?;
        let lead = if i % 3 == 2 {
            helen.clone()
        } else {
            amara.clone()
        };
        let restricted = i % 8 == 5;
        let case = store
            .open_case(&NewCase {
                person_id: person,
                lead_worker_id: lead.clone(),
                opened_by: dev.clone(),
                restricted,
                restriction_contact: if restricted {
                    "Dev Patel, Early Help manager".into()
                } else {
                    String::new()
                },
                access_list: if restricted {
                    vec![dev.clone()]
                } else {
                    Vec::new()
                },
                ..NewCase::default()
            })
            .await?;
        if i % 4 == 0 {
            store
                .add_team_member(&case.id, "agency", &idva, &lead)
                .await?;
        }
        // Some survivors' current addresses are known only to a named list (their lead
        // worker and the manager): colleagues on the case see "restricted" instead.
        if i % 8 == 3 {
            store
                .change_access_list(&AccessListChange {
                    person_id: case.person_id.clone(),
                    kind: AccessListKind::Address,
                    list: Some(vec![lead.clone(), dev.clone()]),
                    contact: String::new(),
                    by: dev.clone(),
                    audit: AuditEvent {
                        at: now_unix(),
                        actor_id: dev.clone(),
                        actor_agency: String::new(),
                        action: "address_access_list".into(),
                        record_type: "person".into(),
                        record_id: case.person_id.clone(),
                        client: "demo".into(),
                        reason: "restricted when the demo borough was seeded".into(),
                        outcome: "allowed".into(),
                    },
                    notice: format!(
                        "The address on case {} is restricted to a named list.",
                        case.reference
                    ),
                    link: format!("/cases/{}", case.id),
                })
                .await?;
        }
        let place = *rng.pick(PLACES);
        store
            .add_entry(
                &case.id,
                &lead,
                &NewEntry {
                    kind: "street_contact".into(),
                    occurred_at: now - 86_400 * (1 + rng.below(20) as i64),
                    summary: format!("Met {first} at {place}; agreed to meet again"),
                    place: place.into(),
                    contact_method: "street".into(),
                    ..NewEntry::default()
                },
            )
            .await?;
        store
            .add_entry(
                &case.id,
                &lead,
                &NewEntry {
                    kind: "note".into(),
                    occurred_at: now - 3600 * (1 + rng.below(48) as i64),
                    summary: "Safety plan discussed; safe contact agreed".into(),
                    ..NewEntry::default()
                },
            )
            .await?;
        // Some tasks are overdue and some reviews are due soon, so every caseload tab has rows.
        let due = now + 86_400 * (rng.below(20) as i64 - 5);
        store
            .add_task(&case.id, "Follow-up visit", &lead, due, &lead)
            .await?;
        store
            .add_goal(
                &case.id,
                "Feels safe at home and in the area",
                "Weekly check-ins",
                Some(now + 86_400 * 60),
            )
            .await?;
        store
            .schedule_review(&case.id, now + 86_400 * (rng.below(40) as i64), &lead)
            .await?;
        if i % 2 == 0 {
            let yes_count = 6 + rng.below(12) as usize;
            let mut yes: Vec<String> = dash_ids.clone();
            while yes.len() > yes_count {
                let at = rng.below(yes.len() as u64) as usize;
                yes.remove(at);
            }
            assess(store, &registry, &case.id, &lead, "dash", &yes, &today).await?;
        } else {
            let yes: Vec<String> = yv_ids
                .iter()
                .filter(|_| rng.below(3) == 0)
                .cloned()
                .collect();
            assess(
                store,
                &registry,
                &case.id,
                &lead,
                "yv-screening",
                &yes,
                &today,
            )
            .await?;
        }
        if i % 3 == 0 {
            let r = store
                .create_service_referral(&NewServiceReferral {
                    case_id: case.id.clone(),
                    service_id: "demo:turning-point".into(),
                    service_name: "Turning Point drug and alcohol service".into(),
                    category: "substance_misuse".into(),
                    to_agency_id: turning_point.clone(),
                    consent: Consent::Given,
                    lawful_basis: String::new(),
                    share_reason: String::new(),
                    sharing_agreement: "Riverside information-sharing protocol 2025".into(),
                    reason: "Wants help with alcohol use".into(),
                    sent_by: lead.clone(),
                })
                .await?;
            if i % 2 == 0 {
                let nadia = user_id(store, &format!("nadia.rahman@{domain}")).await?;
                store
                    .set_service_referral_status(
                        &r.id,
                        ReferralStatus::Sent,
                        ReferralStatus::Accepted,
                        "",
                        &nadia,
                    )
                    .await?;
            }
        }
        if i % 4 == 1 {
            let r = store
                .create_service_referral(&NewServiceReferral {
                    case_id: case.id.clone(),
                    service_id: "demo:vawg-partnership".into(),
                    service_name: "Riverside VAWG Partnership support".into(),
                    category: "vawg_support".into(),
                    to_agency_id: hub.clone(),
                    consent: if i % 8 == 1 {
                        Consent::Given
                    } else {
                        Consent::NotSought
                    },
                    lawful_basis: if i % 8 == 1 {
                        String::new()
                    } else {
                        "safeguarding".into()
                    },
                    share_reason: if i % 8 == 1 {
                        String::new()
                    } else {
                        "Immediate risk of serious harm; contact with the person is not yet safe"
                            .into()
                    },
                    sharing_agreement: "Riverside information-sharing protocol 2025".into(),
                    reason: "Domestic abuse support and safety planning".into(),
                    sent_by: lead.clone(),
                })
                .await?;
            if i % 8 == 1 {
                store.allocate_service_referral(&r.id, &idva, &maya).await?;
            }
        }
    }
    Ok(CASES)
}

#[cfg(test)]
mod tests {
    use pathways_store::testing::TestDatabase;

    use super::civil_date;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_795_910_400), "2026-11-29");
    }

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
