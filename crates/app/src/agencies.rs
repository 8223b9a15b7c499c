//! Agencies and how they work together: a consortium hub and its member organisations.

use pathways_domain::{AuditAction, Permission};

use crate::{App, Caller, RecordKind, Result, commit};

/// Makes `member` one of the organisations a consortium hub allocates referrals to.
pub async fn add_consortium_member(
    app: &App,
    caller: &Caller,
    hub: &str,
    member: &str,
) -> Result<()> {
    let admin = caller.permit(Permission::Administer)?;
    let mut tx = app.write().await?;
    tx.add_consortium_member(&admin, hub, member).await?;
    let mut event = caller.event(
        AuditAction::ConsortiumMember,
        RecordKind::Other("agency"),
        hub,
    );
    event.reason = format!("member {member}");
    commit(tx, &event).await
}
