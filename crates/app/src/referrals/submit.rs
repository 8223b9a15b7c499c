//! Making a referral, through the form or the API.

use pathways_domain::access::permit;
use pathways_domain::{AuditAction, Permission};
use pathways_store::now_unix;
use pathways_store::referrals::Referral;

use super::input::{self, ReferralInput};
use crate::{App, Caller, Error, RecordKind, Result};

/// Checks a referral against every rule and writes it whole with its audit entry. A member
/// of staff who leaves their own name or e-mail empty is taken to mean themselves; `api`
/// marks a referral made through the API in the audit log.
pub async fn submit(
    app: &App,
    caller: &Caller,
    mut form: ReferralInput,
    api: bool,
) -> Result<Referral> {
    let cap = permit(&caller.actor, Permission::MakeReferral).map_err(Error::denied)?;
    let is_user = caller.actor.scopes.is_none();
    if is_user && (form.referrer.name.trim().is_empty() || form.referrer.email.trim().is_empty()) {
        let user = app.store().user(caller.user_id()).await?;
        if form.referrer.name.trim().is_empty() {
            form.referrer.name = user.display_name;
        }
        if form.referrer.email.trim().is_empty() {
            form.referrer.email = user.email;
        }
    }
    let today = pathways_domain::time::london_date(now_unix());
    let mut new = input::validate(&form, today).map_err(Error::Invalid)?;
    new.referrer_actor = caller.user_id().to_string();
    new.referrer_user_id = is_user.then(|| caller.user_id().to_string());
    new.referrer_agency_id = caller.actor.agency_id.clone();
    let mut tx = app.write().await?;
    let r = tx.create_referral(&cap, &new, now_unix()).await?;
    let mut event = caller.event(AuditAction::Create, RecordKind::Referral, &r.id);
    if api {
        event.reason = "api".into();
    }
    crate::commit(tx, &event).await?;
    Ok(r)
}

/// Records a referral received earlier, at `at` (a referral taken elsewhere and entered
/// afterwards, an import, the demo): already checked, written with the next reference in the
/// caller's name, with its audit entry.
pub async fn record_received(
    app: &App,
    caller: &Caller,
    mut new: pathways_store::referrals::NewReferral,
    at: i64,
) -> Result<Referral> {
    let cap = permit(&caller.actor, Permission::MakeReferral).map_err(Error::denied)?;
    new.referrer_actor = caller.user_id().to_string();
    new.referrer_user_id = caller
        .actor
        .scopes
        .is_none()
        .then(|| caller.user_id().to_string());
    new.referrer_agency_id = caller.actor.agency_id.clone();
    let mut tx = app.write().await?;
    let r = tx.create_referral(&cap, &new, at.min(now_unix())).await?;
    let mut event = caller.event(AuditAction::Create, RecordKind::Referral, &r.id);
    event.reason = "recorded".into();
    crate::commit(tx, &event).await?;
    Ok(r)
}
