//! Referrals: making one (form and API), the referrer's status pages, the triage queue with
//! its working-time clocks and candidate person matches, decisions, and the person index
//! (merges, unmerges, messages about a person).
//!
//! Every read goes through the access policy and is audited; lists keep only what the policy
//! allows, so hidden records never influence what is seen or counted. Writes take the
//! policy's proof to the store and commit with their audit entry.

pub mod index;
pub mod input;
mod people;
mod status;
mod submit;
pub mod taxonomy;
mod triage;

pub use index::PeopleIndex;
pub use input::ReferralInput;
pub use people::{PersonFile, merge, message, person_file, unmerge};
pub use status::{Shown, api_status, mine, show, submitted};
pub use submit::{record_received, submit};
pub use triage::{
    Candidate, DecisionForm, Evidence, QueueItem, TriageQueue, TriageView, decide, link_person,
    new_person, queue, reopen, triage_view, validate_decision,
};

use pathways_domain::access::{Action, Authorized, Decision, decide as policy};
use pathways_domain::ids::ReferralId;
use pathways_domain::referrals::{ReferralStatus, TriageDecision, Urgency};
use pathways_domain::{AuditAction, Permission, RecordFacts};
use pathways_store::now_unix;
use pathways_store::referrals::Referral;

use crate::{App, Caller, Error, RecordKind, Result};

/// The referral with this reference.
async fn load(app: &App, reference: &str) -> Result<Referral> {
    Ok(app.store().referral_by_reference(reference).await?)
}

/// The policy's answer about `action` on a referral, with the facts it used.
async fn ask(
    app: &App,
    caller: &Caller,
    r: &Referral,
    action: Action,
) -> Result<(RecordFacts, Decision)> {
    let facts = app.store().referral_facts(r).await?;
    let d = policy(&caller.actor, action, &facts, now_unix());
    Ok((facts, d))
}

/// A referral triage may act on: the caller triages and may read it; anything else is "not
/// found", and the refusal is audited.
async fn for_triage(
    app: &App,
    caller: &Caller,
    reference: &str,
) -> Result<(Referral, Authorized<ReferralId>)> {
    caller.permit(Permission::TriageReferrals)?;
    let r = load(app, reference).await?;
    let facts = app.store().referral_facts(&r).await?;
    match pathways_domain::access::authorize(
        &caller.actor,
        Action::ViewRecord,
        &facts,
        now_unix(),
        ReferralId::new(r.id.clone()),
    ) {
        Ok(cap) => Ok((r, cap)),
        Err(_) => {
            app.audit(caller.refused(AuditAction::Triage, RecordKind::Referral, &r.id))
                .await?;
            Err(Error::NotFound)
        }
    }
}

/// The stored urgency (anything but `urgent` is standard).
pub fn urgency(r: &Referral) -> Urgency {
    Urgency::parse(&r.submitted.urgency).unwrap_or(Urgency::Standard)
}

/// True once triage has decided.
pub fn is_decided(r: &Referral) -> bool {
    r.status == ReferralStatus::Decided.key()
}

/// The decision, when one was made.
pub fn decision(r: &Referral) -> Option<TriageDecision> {
    r.decision
        .as_deref()
        .and_then(|d| TriageDecision::parse(d).ok())
}

/// Where a referral stands, as staff and referrers read it.
pub fn status_label(r: &Referral) -> String {
    match decision(r) {
        Some(d) => d.label().to_string(),
        None => ReferralStatus::Received.label().to_string(),
    }
}

/// What a referrer is told about the outcome (never the case file).
pub fn outcome_text(r: &Referral) -> String {
    match decision(r) {
        None => String::new(),
        Some(TriageDecision::Signpost) if !r.decision_detail.is_empty() => {
            format!("Signposted to {}.", r.decision_detail)
        }
        Some(TriageDecision::Panel) if !r.decision_detail.is_empty() => {
            format!("Referred to {}.", r.decision_detail)
        }
        Some(TriageDecision::OpenCase) => {
            "A case has been opened and a worker will be in touch.".into()
        }
        Some(TriageDecision::NoFurtherAction) => "No further action will be taken.".into(),
        Some(d) => format!("{}.", d.label()),
    }
}

/// The reason for the decision, once decided (shown to the referrer too).
pub fn decision_reason(r: &Referral) -> String {
    if is_decided(r) {
        r.decision_reason.clone()
    } else {
        String::new()
    }
}

/// Initials of the person referred ("T. O."): what a referrer's list shows.
pub fn initials(r: &Referral) -> String {
    let initial = |s: &str| {
        s.chars()
            .next()
            .map(|c| format!("{}.", c.to_uppercase()))
            .unwrap_or_default()
    };
    format!(
        "{} {}",
        initial(&r.submitted.person.first_name),
        initial(&r.submitted.person.surname)
    )
}

/// Age in years today from a date of birth (`YYYY-MM-DD`), or "about N" from an approximate
/// year of birth.
pub fn age_of(dob: Option<&str>, approx_year: Option<i64>) -> String {
    let today = pathways_domain::time::london_date(now_unix());
    if let Some(d) = dob {
        let parts: Vec<i64> = d.split('-').filter_map(|p| p.parse().ok()).collect();
        if let [y, m, day] = parts[..] {
            let mut age = i64::from(today.year()) - y;
            if (i64::from(u8::from(today.month())), i64::from(today.day())) < (m, day) {
                age -= 1;
            }
            return format!("{age}");
        }
    }
    approx_year
        .map(|y| format!("about {}", i64::from(today.year()) - y))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pathways_store::referrals::STATUS_DECIDED;

    #[test]
    fn referrers_are_told_the_outcome_not_the_file() {
        let mut r = Referral {
            id: "1".into(),
            reference: "R-2026-000001".into(),
            created_at: 0,
            submitted: Default::default(),
            status: STATUS_DECIDED.into(),
            person_id: None,
            decision: Some("signpost".into()),
            decision_reason: "r".into(),
            decision_detail: "Westway Youth Club".into(),
            decision_service_id: String::new(),
            decided_at: Some(0),
            decided_by: None,
        };
        r.submitted.person.first_name = "tayo".into();
        r.submitted.person.surname = "Okoro".into();
        assert_eq!(outcome_text(&r), "Signposted to Westway Youth Club.");
        assert_eq!(initials(&r), "T. O.");
        assert_eq!(status_label(&r), "Signposted to a service");
        assert_eq!(decision_reason(&r), "r");
        r.decision = Some("open_case".into());
        assert_eq!(
            outcome_text(&r),
            "A case has been opened and a worker will be in touch."
        );
    }
}
