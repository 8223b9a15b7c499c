//! Demo referrals: about 200 referrals from every agency in the fictional borough, with the
//! same young people referred more than once under spelling variants, nicknames and swapped
//! birthdays, most triaged and some still waiting. Deterministic from the seed.

use anyhow::Context;
use pathways_app::referrals::{self, DecisionForm};
use pathways_app::{App, Caller};
use pathways_domain::Permission;
use pathways_matching::PersonRecord;
use pathways_matching::generate::{generate_population, perturb};
use pathways_store::User;
use pathways_store::now_unix;
use pathways_store::people::{PersonDetails, SafeContact};
use pathways_store::referrals::NewReferral;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// A member of staff as the use cases see them.
fn staff(u: &User) -> Caller {
    Caller::staff(
        &u.id,
        &u.agency_id,
        u.roles.clone(),
        &u.display_name,
        "demo",
    )
}

/// How many referrals the demo holds.
pub const DEMO_REFERRALS: usize = 200;
/// How many of the newest referrals are left waiting for triage.
const PENDING: usize = 24;

const CONCERNS: &[&str] = &[
    "serious_youth_violence",
    "criminal_exploitation",
    "gang_association",
    "carrying_weapons",
    "going_missing",
    "child_sexual_exploitation",
    "domestic_abuse",
    "sexual_violence",
    "stalking",
    "honour_based_abuse",
    "online_harm",
    "school_exclusion",
    "mental_health",
    "substance_misuse",
    "bereavement_or_trauma",
    "housing_instability",
];

const REASONS: &[&str] = &[
    "Seen several times after school with older young people not known to the family; has new clothes and a second phone.",
    "Reported missing overnight twice this month; returned with no explanation and a long train ticket.",
    "Disclosed to staff that they carry a knife for protection on the way home.",
    "Mother disclosed that her partner is controlling and has threatened her; the young person witnessed an assault.",
    "Attendance has fallen below 60%; excluded for fighting; says they 'owe' someone money.",
    "Stabbed friend last month; very withdrawn, not sleeping, talks about getting even.",
    "Found with cannabis and cash during a stop; associates named in local intelligence.",
    "Receiving repeated unwanted messages and being followed by an ex-partner.",
    "Family are arranging a marriage abroad over the summer; the young person is frightened.",
    "Neighbour reports frequent visitors and shouting at the flat; young person seen looking after a bag for others.",
];

const SERVICES: &[&str] = &[
    "Westway Youth Club mentoring",
    "Turning Point Riverside young people's service",
    "Riverside IDVA Service",
    "Safe Haven Refuge outreach",
    "Stalking Advocacy Service",
    "Karma Ashanti Honour Abuse Support",
    "Riverside CAMHS",
];

fn details_of(r: &PersonRecord) -> PersonDetails {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    PersonDetails {
        first_name: s(&r.first_name),
        middle_names: s(&r.middle_names),
        surname: s(&r.surname),
        aliases: r.aliases.clone(),
        // The generator writes dates of birth as YYYY-MM-DD.
        dob: r.dob.clone(),
        approx_birth_year: r.approx_birth_year.map(i64::from),
        gender: match r.gender.as_deref() {
            Some("F") => "female".into(),
            Some("M") => "male".into(),
            other => other.unwrap_or_default().to_string(),
        },
        address_line: s(&r.address_line),
        postcode: s(&r.postcode),
        school: s(&r.school),
        phone: s(&r.phone),
        email: s(&r.email),
    }
}

fn safe_contact(rng: &mut StdRng, phone: &str) -> Vec<SafeContact> {
    let mut out = vec![SafeContact {
        channel: "phone".into(),
        safe: rng.gen_bool(0.85),
        detail: phone.to_string(),
        when: if rng.gen_bool(0.4) {
            "After 4pm on weekdays".into()
        } else {
            String::new()
        },
    }];
    if rng.gen_bool(0.6) {
        out.push(SafeContact {
            channel: "email".into(),
            safe: rng.gen_bool(0.7),
            detail: String::new(),
            when: String::new(),
        });
    }
    if rng.gen_bool(0.4) {
        out.push(SafeContact {
            channel: "post".into(),
            safe: rng.gen_bool(0.5),
            detail: String::new(),
            when: String::new(),
        });
    }
    out
}

/// Adds the demo referrals, triage links, merges and decisions; returns how many referrals.
pub async fn seed_referrals(app: &App, seed: u64) -> anyhow::Result<usize> {
    let store = app.store();
    let mut referrers = Vec::new();
    for u in store.list_users(None).await? {
        if u.roles.has(Permission::MakeReferral) {
            referrers.push(u);
        }
    }
    let Some(triager) = store
        .list_users(None)
        .await?
        .into_iter()
        .find(|u| u.roles.has(Permission::TriageReferrals))
    else {
        anyhow::bail!("the demo borough needs a user who can triage referrals");
    };
    if referrers.is_empty() {
        anyhow::bail!("the demo borough needs users who can make referrals");
    }
    let population = generate_population(140, seed ^ 0x7265_6665_7272_616c);
    let mut rng = StdRng::seed_from_u64(seed);
    // Which generated people have been referred, and the person-index id they were given.
    let mut referred: Vec<(usize, Option<String>)> = Vec::new();
    let mut next_new = 0usize;
    let now = now_unix();
    let today = now - now.rem_euclid(86_400);
    for i in 0..DEMO_REFERRALS {
        let repeat = i > 15 && !referred.is_empty() && rng.gen_bool(0.35);
        let slot = if repeat {
            rng.gen_range(0..referred.len())
        } else {
            referred.push((next_new % population.len(), None));
            next_new += 1;
            referred.len() - 1
        };
        let base = &population[referred[slot].0];
        let subject = if repeat {
            perturb(&mut rng, base, format!("demo-{i}"))
        } else {
            base.clone()
        };
        let referrer = if i < referrers.len() {
            &referrers[i]
        } else {
            &referrers[rng.gen_range(0..referrers.len())]
        };
        let how_many = rng.gen_range(1..=3);
        let mut concerns: Vec<String> = CONCERNS
            .choose_multiple(&mut rng, how_many)
            .map(|c| c.to_string())
            .collect();
        concerns.sort();
        let (consent, consent_reason) = match rng.gen_range(0..20) {
            0..=11 => ("given", String::new()),
            12..=16 => (
                "not_sought",
                "Safeguarding: asking for consent would increase the risk to the child."
                    .to_string(),
            ),
            _ => (
                "refused",
                "Prevention and detection of serious crime; risk of significant harm.".to_string(),
            ),
        };
        let details = details_of(&subject);
        let new = NewReferral {
            referrer_actor: referrer.id.clone(),
            referrer_user_id: Some(referrer.id.clone()),
            referrer_agency_id: referrer.agency_id.clone(),
            referrer_name: referrer.display_name.clone(),
            referrer_role: String::new(),
            referrer_email: referrer.email.clone(),
            referrer_phone: String::new(),
            safe_contact: safe_contact(&mut rng, &details.phone),
            person: details,
            concerns,
            reason: REASONS
                .choose(&mut rng)
                .copied()
                .unwrap_or(REASONS[0])
                .to_string(),
            urgency: if rng.gen_bool(0.25) {
                "urgent"
            } else {
                "standard"
            }
            .into(),
            consent: consent.into(),
            consent_reason,
        };
        // Oldest first: the first referral about 70 days ago, the newest within the last day.
        let days_ago = ((DEMO_REFERRALS - i) as i64 * 70) / DEMO_REFERRALS as i64;
        let at = today - days_ago * 86_400 + rng.gen_range(8 * 3600..18 * 3600);
        let at = at.min(now - 600);
        let referral = referrals::record_received(app, &staff(referrer), new.clone(), at).await?;
        if i >= DEMO_REFERRALS - PENDING {
            continue;
        }
        // Triage: link to the known person, or (now and then, as happens in practice) create
        // a duplicate that the person index later shows as a merge candidate.
        let triage = staff(&triager);
        match &referred[slot].1 {
            Some(known) if rng.gen_bool(0.85) => {
                referrals::link_person(app, &triage, &referral.reference, known).await?;
            }
            _ => {
                referrals::new_person(app, &triage, &referral.reference).await?;
            }
        };
        let person_id = store
            .referral(&referral.id)
            .await?
            .person_id
            .context("triage linked a person")?;
        if referred[slot].1.is_none() {
            referred[slot].1 = Some(person_id.clone());
        }
        let decision = match rng.gen_range(0..20) {
            0..=6 => ("open_case", String::new()),
            7..=12 => (
                "signpost",
                SERVICES
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or(SERVICES[0])
                    .to_string(),
            ),
            13..=14 => {
                let panel = if new
                    .concerns
                    .iter()
                    .any(|c| c == "domestic_abuse" || c == "stalking")
                {
                    "MARAC"
                } else {
                    "MACE"
                };
                ("panel", panel.to_string())
            }
            _ => ("no_further_action", String::new()),
        };
        let reason = match decision.0 {
            "open_case" => "Meets the threshold for outreach: allocated to a worker.",
            "signpost" => {
                "Needs are best met by a specialist service; contact details sent to the referrer."
            }
            "panel" => "High risk: listed for the next multi-agency panel.",
            _ => "Already supported by children's social care; no further action from outreach.",
        };
        let form = DecisionForm {
            decision: decision.0.into(),
            reason: reason.into(),
            service: if decision.0 == "signpost" {
                decision.1.clone()
            } else {
                String::new()
            },
            panel: if decision.0 == "panel" {
                decision.1.clone()
            } else {
                String::new()
            },
            service_id: String::new(),
        };
        referrals::decide(app, &triage, &referral.reference, &form).await?;
    }
    Ok(DEMO_REFERRALS)
}
