//! What a referrer sees: their referrals, each one's status and outcome, and the service
//! level they can expect. Triage staff asking for a referral get the triage view instead.

use pathways_domain::access::Action;
use pathways_domain::{AuditAction, Permission};
use pathways_store::referrals::Referral;

use super::triage::{TriageView, triage_view};
use super::{ask, load, urgency};
use crate::{App, Caller, Error, RecordKind, Result};

/// A referral as the caller may see it.
#[derive(Debug)]
pub enum Shown {
    /// Triage staff: the whole referral with candidates and the decision form.
    Triage(Box<TriageView>),
    /// The referrer (or anyone entitled to the status only): status and outcome.
    Status(Box<Referral>),
}

/// The caller's own referrals, newest first (at most 500), as far as the policy lets them
/// see each one's status.
pub async fn mine(app: &App, caller: &Caller) -> Result<Vec<Referral>> {
    caller.permit(Permission::MakeReferral)?;
    let rows = app
        .store()
        .referrals_by_referrer(caller.user_id(), 500)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        if ask(app, caller, &r, Action::ViewStatus).await?.1.allowed() {
            out.push(r);
        }
    }
    app.audit(caller.event(AuditAction::List, RecordKind::Referral, "mine"))
        .await?;
    Ok(out)
}

/// The page after sending a referral: the referral and when triage is due.
pub async fn submitted(app: &App, caller: &Caller, reference: &str) -> Result<(Referral, i64)> {
    let r = load(app, reference).await?;
    if !ask(app, caller, &r, Action::ViewStatus).await?.1.allowed() {
        return Err(Error::NotFound);
    }
    app.audit(caller.event(AuditAction::Read, RecordKind::Referral, &r.id))
        .await?;
    let calendar = &app.settings().calendar;
    let due = calendar.add_working(r.created_at, calendar.allowance(urgency(&r)));
    Ok((r, due))
}

/// One referral: the triage view for triage staff who may read it, the status for those
/// entitled to it, "not found" for anyone else.
pub async fn show(app: &App, caller: &Caller, reference: &str) -> Result<Shown> {
    let r = load(app, reference).await?;
    let full = ask(app, caller, &r, Action::ViewRecord).await?.1;
    if full.allowed() && caller.may(Permission::TriageReferrals) {
        app.audit(caller.event(AuditAction::Read, RecordKind::Referral, &r.id))
            .await?;
        return Ok(Shown::Triage(Box::new(triage_view(app, caller, r).await?)));
    }
    if !ask(app, caller, &r, Action::ViewStatus).await?.1.allowed() {
        app.audit(caller.refused(AuditAction::Read, RecordKind::Referral, &r.id))
            .await?;
        return Err(Error::NotFound);
    }
    app.audit(caller.event(AuditAction::ReadStatus, RecordKind::Referral, &r.id))
        .await?;
    Ok(Shown::Status(Box::new(r)))
}

/// A referral's status for a partner system (or a signed-in referrer) through the API.
pub async fn api_status(app: &App, caller: &Caller, reference: &str) -> Result<Referral> {
    let r = load(app, reference).await?;
    let allowed = ask(app, caller, &r, Action::ViewStatus).await?.1.allowed();
    let mut event = if allowed {
        caller.event(AuditAction::ReadStatus, RecordKind::Referral, &r.id)
    } else {
        caller.refused(AuditAction::ReadStatus, RecordKind::Referral, &r.id)
    };
    event.reason = "api".into();
    app.audit(event).await?;
    if allowed { Ok(r) } else { Err(Error::NotFound) }
}
