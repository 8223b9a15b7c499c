//! Triage: the queue with its working-time clocks, one referral with candidate matches from
//! the person index, linking it to a person (or a new one), and the decision with the
//! referrer's notifications.

use std::collections::HashMap;

use pathways_domain::access::{Action, authorize, decide as policy};
use pathways_domain::ids::PersonId;
use pathways_domain::referrals::{TriageDecision, Urgency};
use pathways_domain::working_time::Clock;
use pathways_domain::{AuditAction, Permission};
use pathways_matching::PersonRecord;
use pathways_store::now_unix;
use pathways_store::people::Person;
use pathways_store::referrals::{DecisionInput, QueuedMessage, Referral};
use serde::Deserialize;

use super::index::{self, CANDIDATE_LIMIT};
use super::input::{MAX_MEDIUM, MAX_NOTE};
use super::{ask, for_triage, is_decided, urgency};
use crate::{App, Caller, Error, Fields, RecordKind, Result};

/// One referral waiting for triage.
#[derive(Debug, Clone)]
pub struct QueueItem {
    /// The referral.
    pub referral: Referral,
    /// The referring agency's name.
    pub agency: String,
    /// Where it stands against its service level.
    pub clock: Clock,
}

/// The triage queue: breached first, then urgent, then by due time; and the latest decided.
#[derive(Debug, Clone)]
pub struct TriageQueue {
    /// Waiting referrals in the order to work them.
    pub waiting: Vec<QueueItem>,
    /// The 20 most recently decided referrals the caller may read.
    pub decided: Vec<Referral>,
    /// The urgent allowance, working seconds.
    pub urgent_secs: i64,
    /// The standard allowance, working seconds.
    pub standard_secs: i64,
}

/// The triage queue as the caller may see it.
pub async fn queue(app: &App, caller: &Caller) -> Result<TriageQueue> {
    caller.permit(Permission::TriageReferrals)?;
    let store = app.store();
    let agencies: HashMap<String, String> = store
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let calendar = &app.settings().calendar;
    let now = now_unix();
    let mut waiting = Vec::new();
    for r in store.triage_queue().await? {
        if !ask(app, caller, &r, Action::ViewRecord).await?.1.allowed() {
            continue;
        }
        waiting.push(QueueItem {
            clock: calendar.clock(r.created_at, urgency(&r), now),
            agency: agencies
                .get(&r.submitted.referrer_agency_id)
                .cloned()
                .unwrap_or_default(),
            referral: r,
        });
    }
    waiting.sort_by_key(|q| {
        (
            !q.clock.breached,
            urgency(&q.referral) != Urgency::Urgent,
            q.clock.due_at,
        )
    });
    let mut decided = Vec::new();
    for r in store.recently_decided(20).await? {
        if ask(app, caller, &r, Action::ViewRecord).await?.1.allowed() {
            decided.push(r);
        }
    }
    app.audit(caller.event(AuditAction::List, RecordKind::Referral, "triage"))
        .await?;
    Ok(TriageQueue {
        waiting,
        decided,
        urgent_secs: calendar.urgent_secs,
        standard_secs: calendar.standard_secs,
    })
}

/// One piece of match evidence.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The field compared.
    pub field: &'static str,
    /// How well it agreed (`exact`, `close`, `different` ...).
    pub level: String,
    /// Its match weight.
    pub weight: f64,
}

/// A possible match in the person index, as the caller may see it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The person.
    pub person: Person,
    /// The address, or `None` when it is restricted to a list the caller is not on.
    pub address: Option<String>,
    /// Match probability, 0 to 1.
    pub probability: f64,
    /// The evidence, missing fields left out.
    pub evidence: Vec<Evidence>,
}

/// Candidate matches for a record, as the caller may see them. A restricted person the
/// caller may not read is left out as if they were not in the index at all: not shown
/// masked, and not taking one of the places on the list, so nothing the caller sees depends
/// on whether a restricted person's details match.
pub(crate) async fn candidates(
    app: &App,
    caller: &Caller,
    record: &PersonRecord,
) -> Result<Vec<Candidate>> {
    let store = app.store();
    let found = app.people().candidates(store, record).await?;
    let now = now_unix();
    let mut out = Vec::new();
    let mut places = CANDIDATE_LIMIT;
    for c in found {
        if places == 0 {
            break;
        }
        let person = match store.person(&c.id).await {
            Ok(p) => p,
            Err(pathways_store::StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let facts = store.person_facts(&person).await?;
        let allowed = policy(&caller.actor, Action::ViewRecord, &facts, now).allowed();
        if person.restricted && !allowed {
            continue;
        }
        places -= 1;
        if !allowed {
            continue;
        }
        // Showing a candidate's details is a read of that person.
        app.audit(caller.event(AuditAction::ReadCandidate, RecordKind::Person, &person.id))
            .await?;
        let address_ok = policy(&caller.actor, Action::ViewAddress, &facts, now).allowed();
        let d = &person.details;
        out.push(Candidate {
            address: address_ok.then(|| {
                format!("{} {}", d.address_line, d.postcode)
                    .trim()
                    .to_string()
            }),
            probability: c.probability,
            evidence: c
                .evidence
                .iter()
                .filter(|e| e.level != "missing")
                .map(|e| Evidence {
                    field: e.field.name(),
                    level: e.level.clone(),
                    weight: e.match_weight,
                })
                .collect(),
            person,
        });
    }
    Ok(out)
}

/// One referral as triage sees it.
#[derive(Debug, Clone)]
pub struct TriageView {
    /// The referral.
    pub referral: Referral,
    /// The referring agency's name.
    pub agency: String,
    /// Its service-level clock.
    pub clock: Clock,
    /// Possible matches in the person index (the linked person left out).
    pub candidates: Vec<Candidate>,
    /// The person it is linked to.
    pub linked: Option<Person>,
    /// The address as submitted is hidden: the person it is linked to has a restricted
    /// address the caller is not on the list for.
    pub address_hidden: bool,
    /// True once decided.
    pub decided: bool,
}

/// The triage view of a referral the caller may read (the read is audited by the caller).
pub async fn triage_view(app: &App, caller: &Caller, r: Referral) -> Result<TriageView> {
    let store = app.store();
    let agency = store
        .agency(&r.submitted.referrer_agency_id)
        .await
        .map(|a| a.name)
        .unwrap_or_default();
    let clock = app
        .settings()
        .calendar
        .clock(r.created_at, urgency(&r), now_unix());
    let record = index::record_of(&format!("referral:{}", r.id), &r.submitted.person, false);
    let mut found = candidates(app, caller, &record).await?;
    let linked = match &r.person_id {
        Some(id) => Some(store.person(id).await?),
        None => None,
    };
    if let Some(l) = &linked {
        found.retain(|c| c.person.id != l.id);
    }
    let address = ask(app, caller, &r, Action::ViewAddress).await?.1;
    Ok(TriageView {
        agency,
        clock,
        candidates: found,
        linked,
        address_hidden: !address.allowed(),
        decided: is_decided(&r),
        referral: r,
    })
}

/// The triage view again, for a form shown with its errors.
pub async fn reopen(app: &App, caller: &Caller, reference: &str) -> Result<TriageView> {
    let (r, _) = for_triage(app, caller, reference).await?;
    triage_view(app, caller, r).await
}

/// Links a referral to a person already in the index (the person it was merged into, if
/// merged), who must be someone the caller may read.
pub async fn link_person(
    app: &App,
    caller: &Caller,
    reference: &str,
    person_id: &str,
) -> Result<Referral> {
    let (r, cap) = for_triage(app, caller, reference).await?;
    let triage = caller.permit(Permission::TriageReferrals)?;
    let store = app.store();
    let person = match store.person(person_id).await {
        Ok(p) => p,
        Err(pathways_store::StoreError::NotFound { .. }) => {
            return Err(Error::invalid(
                "person_id",
                "That person is not in the index. Go back and choose again.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let facts = store.person_facts(&person).await?;
    let Ok(person_cap) = authorize(
        &caller.actor,
        Action::ViewRecord,
        &facts,
        now_unix(),
        PersonId::new(person.id.clone()),
    ) else {
        app.audit(caller.refused(AuditAction::LinkPerson, RecordKind::Referral, &r.id))
            .await?;
        return Err(Error::NotFound);
    };
    let mut tx = app.write().await?;
    let linked = tx
        .link_referral_person(&triage, &cap, &person_cap, caller.user_id())
        .await?;
    let mut event = caller.event(AuditAction::LinkPerson, RecordKind::Referral, &r.id);
    event.reason = format!("person {linked}");
    crate::commit(tx, &event).await?;
    Ok(r)
}

/// Adds the person a referral describes to the index and links the referral to them.
pub async fn new_person(app: &App, caller: &Caller, reference: &str) -> Result<Referral> {
    let (r, cap) = for_triage(app, caller, reference).await?;
    let triage = caller.permit(Permission::TriageReferrals)?;
    if r.person_id.is_some() {
        return Err(Error::Conflict(format!(
            "Referral {} is already linked to a person.",
            r.reference
        )));
    }
    let mut tx = app.write().await?;
    let id = tx
        .create_person_for_referral(&triage, &cap, caller.user_id())
        .await?;
    crate::commit(
        tx,
        &caller.event(AuditAction::Create, RecordKind::Person, &id),
    )
    .await?;
    let person = app.store().person(&id).await?;
    app.people().upsert(&person).await;
    Ok(r)
}

/// The decision form as posted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    /// `open_case`, `signpost`, `panel` or `no_further_action`.
    pub decision: String,
    /// Why.
    pub reason: String,
    /// The service signposted to, in words.
    pub service: String,
    /// The directory id of the service signposted to, if listed.
    pub service_id: String,
    /// `MARAC` or `MACE`.
    pub panel: String,
}

/// Checks a decision form; `linked` says whether the referral has a person yet.
pub fn validate_decision(form: &DecisionForm, linked: bool) -> Result<DecisionInput> {
    let mut f = Fields::new();
    let reason = form.reason.trim().to_string();
    let mut detail = String::new();
    let mut service_id = String::new();
    let decision = TriageDecision::parse(form.decision.trim()).ok();
    match decision {
        Some(TriageDecision::OpenCase) if !linked => f.add(
            "decision",
            "Link this referral to a person, or create a new person, before opening a case",
        ),
        Some(TriageDecision::OpenCase | TriageDecision::NoFurtherAction) => {}
        Some(TriageDecision::Signpost) => {
            detail = form.service.trim().to_string();
            service_id = form.service_id.trim().to_string();
            if detail.is_empty() {
                f.add("service", "Enter the service you are signposting to");
            } else if detail.chars().count() > MAX_MEDIUM {
                f.add("service", "Service must be 200 characters or fewer");
            }
            f.check(
                service_id.len() > 100
                    || !service_id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "service_id",
                "Directory service id must be letters, numbers and hyphens, 100 at most",
            );
        }
        Some(TriageDecision::Panel) => {
            detail = form.panel.trim().to_string();
            f.check(
                !["MARAC", "MACE"].contains(&detail.as_str()),
                "panel",
                "Select the panel: MARAC or MACE",
            );
        }
        None => f.add("decision", "Select a decision"),
    }
    if reason.is_empty() {
        f.add("reason", "Enter the reason for the decision");
    } else if reason.chars().count() > MAX_NOTE {
        f.add("reason", "Reason must be 2000 characters or fewer");
    }
    f.finish()?;
    Ok(DecisionInput {
        decision: decision.unwrap_or(TriageDecision::NoFurtherAction),
        reason,
        detail,
        service_id,
    })
}

/// The referrer's notifications about a decision: in-app with the outcome, and an e-mail
/// carrying only the reference and the decision (no personal details travel by e-mail).
fn decision_messages(app: &App, r: &Referral, d: &DecisionInput) -> Vec<QueuedMessage> {
    let label = d.decision.label();
    let link = format!("/referrals/{}", r.reference);
    let mut out = Vec::new();
    if let Some(user) = &r.submitted.referrer_user_id {
        out.push(QueuedMessage {
            channel: "in_app".into(),
            recipient: user.clone(),
            subject: format!("Referral {}: {}", r.reference, label.to_lowercase()),
            body: link.clone(),
            idempotency_key: format!("referral:{}:decision:in_app", r.id),
        });
    }
    if !r.submitted.referrer_email.is_empty() {
        let base = app.settings().public_url.trim_end_matches('/');
        out.push(QueuedMessage {
            channel: "email".into(),
            recipient: r.submitted.referrer_email.clone(),
            subject: format!("Referral {}: decision made", r.reference),
            body: format!(
                "Your referral {reference} has been triaged.\n\nDecision: {label}\n\n\
                 Sign in to see the outcome and the reason:\n{base}{link}\n\n\
                 This message contains no personal details. Do not reply to it.\n",
                reference = r.reference
            ),
            idempotency_key: format!("referral:{}:decision:email", r.id),
        });
    }
    out
}

/// Records triage's decision and queues the referrer's notifications, with its audit entry,
/// in one transaction. A referral is decided once.
pub async fn decide(
    app: &App,
    caller: &Caller,
    reference: &str,
    form: &DecisionForm,
) -> Result<Referral> {
    let (r, cap) = for_triage(app, caller, reference).await?;
    let triage = caller.permit(Permission::TriageReferrals)?;
    if is_decided(&r) {
        return Err(Error::invalid(
            "decision",
            "This referral has already been decided",
        ));
    }
    let d = validate_decision(form, r.person_id.is_some())?;
    let messages = decision_messages(app, &r, &d);
    let mut tx = app.write().await?;
    let decided = match tx
        .decide_referral(&triage, &cap, &d, caller.user_id(), &messages)
        .await
    {
        Ok(decided) => decided,
        // Decided or unlinked by someone else since the form was read.
        Err(pathways_store::StoreError::Conflict(m)) => {
            return Err(Error::invalid("decision", crate::sentence(&m)));
        }
        Err(e) => return Err(e.into()),
    };
    let mut event = caller.event(AuditAction::Decide, RecordKind::Referral, &r.id);
    event.reason = d.decision.key().into();
    crate::commit(tx, &event).await?;
    Ok(decided)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(decision: &str, reason: &str) -> DecisionForm {
        DecisionForm {
            decision: decision.into(),
            reason: reason.into(),
            ..DecisionForm::default()
        }
    }

    fn fields(e: Error) -> Vec<String> {
        match e {
            Error::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn decisions_are_validated() {
        let e = validate_decision(&form("open_case", "r"), false).expect_err("unlinked");
        assert_eq!(fields(e), ["decision"]);
        let ok = validate_decision(&form("open_case", "r"), true).expect("ok");
        assert_eq!(ok.decision, TriageDecision::OpenCase);
        let e = validate_decision(&form("signpost", ""), true).expect_err("no service");
        assert_eq!(fields(e), ["service", "reason"]);
        let mut panel = form("panel", "high risk");
        panel.panel = "MARAC".into();
        let ok = validate_decision(&panel, false).expect("panel");
        assert_eq!(ok.detail, "MARAC");
        panel.panel = "X".into();
        assert_eq!(
            fields(validate_decision(&panel, false).expect_err("bad panel")),
            ["panel"]
        );
        assert_eq!(
            fields(validate_decision(&form("maybe", "r"), false).expect_err("bad decision")),
            ["decision"]
        );
    }
}
