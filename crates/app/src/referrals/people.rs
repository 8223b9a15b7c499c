//! The person index: one person's page, merging two records of the same person, undoing a
//! merge, and sending a message about a person within their safe-contact rules.

use pathways_domain::access::{Action, Authorized, authorize, decide as policy};
use pathways_domain::ids::PersonId;
use pathways_domain::{AuditAction, Permission};
use pathways_store::now_unix;
use pathways_store::people::{ContactOutcome, MergeEvent, Person, SafeContact};
use pathways_store::referrals::Referral;

use super::index;
use super::input::{MAX_MEDIUM, MAX_NOTE, MAX_REASON};
use super::triage::{Candidate, candidates};
use crate::{App, Caller, Error, Fields, RecordKind, Result};

/// Everything the person page shows.
#[derive(Debug, Clone)]
pub struct PersonFile {
    /// The person.
    pub person: Person,
    /// The name of the person this record was merged into, if merged.
    pub merged_into_name: String,
    /// The address, or `None` when restricted to a list the caller is not on.
    pub address: Option<String>,
    /// Safe-contact rules.
    pub safe: Vec<SafeContact>,
    /// Referrals about this person, newest first.
    pub referrals: Vec<Referral>,
    /// Records merged into this one.
    pub merged: Vec<Person>,
    /// Merges involving this person, newest first.
    pub history: Vec<MergeEvent>,
    /// Possible duplicates in the index.
    pub candidates: Vec<Candidate>,
    /// True when the caller may merge, unmerge and message.
    pub can_manage: bool,
}

/// A person the caller may read, with the proof; anything else is "not found", and a
/// refusal of `action` is audited when given.
async fn readable(
    app: &App,
    caller: &Caller,
    id: &str,
    refusal: Option<AuditAction>,
) -> Result<(Person, Authorized<PersonId>, pathways_domain::RecordFacts)> {
    let person = app.store().person(id).await?;
    let facts = app.store().person_facts(&person).await?;
    match authorize(
        &caller.actor,
        Action::ViewRecord,
        &facts,
        now_unix(),
        PersonId::new(person.id.clone()),
    ) {
        Ok(cap) => Ok((person, cap, facts)),
        Err(_) => {
            if let Some(action) = refusal {
                app.audit(caller.refused(action, RecordKind::Person, &person.id))
                    .await?;
            }
            Err(Error::NotFound)
        }
    }
}

/// Reads one person's page. The read is audited; a person the caller may not read is "not
/// found".
pub async fn person_file(app: &App, caller: &Caller, id: &str) -> Result<PersonFile> {
    let (p, _, facts) = readable(app, caller, id, Some(AuditAction::Read)).await?;
    let store = app.store();
    app.audit(caller.event(AuditAction::Read, RecordKind::Person, &p.id))
        .await?;
    let address = policy(&caller.actor, Action::ViewAddress, &facts, now_unix())
        .allowed()
        .then(|| {
            format!("{} {}", p.details.address_line, p.details.postcode)
                .trim()
                .to_string()
        });
    let merged_into_name = match &p.merged_into {
        Some(m) => store
            .person(m)
            .await
            .map(|q| format!("{} {}", q.details.first_name, q.details.surname))
            .unwrap_or_default(),
        None => String::new(),
    };
    let found = if p.merged_into.is_none() {
        candidates(app, caller, &index::person_record(&p)).await?
    } else {
        Vec::new()
    };
    Ok(PersonFile {
        merged_into_name,
        address,
        safe: store.safe_contacts(&p.id).await?,
        referrals: store.referrals_for_person(&p.id).await?,
        merged: store.merged_into(&p.id).await?,
        history: store.merge_history(&p.id).await?,
        candidates: found,
        can_manage: caller.may(Permission::TriageReferrals),
        person: p,
    })
}

fn check_reason(reason: &str, message: &str) -> Result<String> {
    let reason = reason.trim();
    let mut f = Fields::new();
    f.check(
        reason.is_empty() || reason.chars().count() > MAX_NOTE,
        "reason",
        message,
    );
    f.finish()?;
    Ok(reason.to_string())
}

/// Merges record `id` into `into`: the same person recorded twice. Both must be people the
/// caller may read.
pub async fn merge(
    app: &App,
    caller: &Caller,
    id: &str,
    into: &str,
    reason: &str,
) -> Result<MergeEvent> {
    let triage = caller.permit(Permission::TriageReferrals)?;
    let reason = check_reason(
        reason,
        "Enter why these are the same person (2000 characters at most)",
    )?;
    let (_, from_cap, _) = readable(app, caller, id, None).await?;
    let (_, into_cap, _) = readable(app, caller, into, None).await?;
    let mut tx = app.write().await?;
    let event = match tx
        .merge_people(&triage, &from_cap, &into_cap, &reason, caller.user_id())
        .await
    {
        Ok(e) => e,
        Err(pathways_store::StoreError::Conflict(m)) => {
            return Err(Error::invalid("reason", crate::sentence(&m)));
        }
        Err(e) => return Err(e.into()),
    };
    let mut audit = caller.event(AuditAction::Merge, RecordKind::Person, id);
    audit.reason = format!("into {into}: {reason}");
    crate::commit(tx, &audit).await?;
    app.people().remove(id).await;
    Ok(event)
}

/// Undoes the merge of record `id`: it becomes a person in its own right again.
pub async fn unmerge(app: &App, caller: &Caller, id: &str, reason: &str) -> Result<()> {
    let triage = caller.permit(Permission::TriageReferrals)?;
    let (_, cap, _) = readable(app, caller, id, None).await?;
    let reason = check_reason(
        reason,
        "Enter why these are different people (2000 characters at most)",
    )?;
    let mut tx = app.write().await?;
    match tx
        .unmerge_person(&triage, &cap, &reason, caller.user_id())
        .await
    {
        Ok(_) => {}
        Err(pathways_store::StoreError::Conflict(m)) => {
            return Err(Error::invalid("reason", crate::sentence(&m)));
        }
        Err(e) => return Err(e.into()),
    }
    let mut audit = caller.event(AuditAction::Unmerge, RecordKind::Person, id);
    audit.reason = reason;
    crate::commit(tx, &audit).await?;
    let p = app.store().person(id).await?;
    app.people().upsert(&p).await;
    Ok(())
}

/// Queues an e-mail about a person, only when every record of that person marks e-mail a
/// safe channel. A refusal is audited as such and answered as a problem with the address.
pub async fn message(
    app: &App,
    caller: &Caller,
    id: &str,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<()> {
    let triage = caller.permit(Permission::TriageReferrals)?;
    let (to, subject, body) = (to.trim(), subject.trim(), body.trim());
    let mut f = Fields::new();
    f.check(
        !to.contains('@') || to.len() > 254 || to.contains(char::is_whitespace),
        "to",
        "Enter an e-mail address, like name@example.com",
    );
    f.check(
        subject.is_empty() || subject.chars().count() > MAX_MEDIUM,
        "subject",
        "Enter a subject of 200 characters or fewer",
    );
    f.check(
        body.is_empty() || body.chars().count() > MAX_REASON,
        "body",
        "Enter a message of 5000 characters or fewer",
    );
    f.finish()?;
    let (_, cap, _) = readable(app, caller, id, None).await?;
    let key = format!("person:{id}:message:{}", pathways_store::new_id());
    let mut tx = app.write().await?;
    let outcome = tx
        .message_person(&triage, &cap, "email", to, subject, body, &key)
        .await?;
    let mut audit = caller.event(AuditAction::Message, RecordKind::Person, id);
    match outcome {
        ContactOutcome::Queued => {
            crate::commit(tx, &audit).await?;
            Ok(())
        }
        ContactOutcome::Refused { reason } => {
            audit.outcome = "refused".into();
            crate::commit(tx, &audit).await?;
            Err(Error::invalid("to", reason))
        }
    }
}
