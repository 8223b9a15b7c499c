//! Agencies and how they work together: creating, archiving and restoring agencies, and a
//! consortium hub with its member organisations.

use pathways_domain::{AgencyKind, AuditAction, Permission};
use pathways_store::{Agency, StoreError};

use crate::{App, Caller, Error, Fields, RecordKind, Result, commit};

const AGENCY: RecordKind = RecordKind::Other("agency");

/// Every agency, by name, for an administrator or a partner system with `administer`.
pub async fn list(app: &App, caller: &Caller) -> Result<Vec<Agency>> {
    caller.permit(Permission::Administer)?;
    Ok(app.store().list_agencies().await?)
}

/// Finds an agency by its exact name, for an administrator.
pub async fn by_name(app: &App, caller: &Caller, name: &str) -> Result<Option<Agency>> {
    caller.permit(Permission::Administer)?;
    Ok(app.store().agency_by_name(name).await?)
}

/// Creates an agency of a kind (by key); names are unique.
pub async fn create(app: &App, caller: &Caller, name: &str, kind: &str) -> Result<Agency> {
    let admin = caller.permit(Permission::Administer)?;
    let mut fields = Fields::new();
    let name = name.trim();
    fields.check(
        name.is_empty() || name.chars().count() > 120,
        "name",
        "Enter the agency's name (up to 120 characters)",
    );
    let kind = AgencyKind::parse(kind);
    fields.check(
        kind.is_none(),
        "kind",
        "Choose what kind of organisation the agency is",
    );
    fields.finish()?;
    let kind = kind.ok_or_else(|| Error::internal("kind checked above"))?;
    let mut tx = app.write().await?;
    let agency = tx
        .create_agency(&admin, name, kind)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => Error::invalid("name", format!("{m}: choose another name")),
            other => other.into(),
        })?;
    let mut e = caller.event(AuditAction::AgencyCreated, AGENCY, &agency.id);
    e.outcome = kind.key().into();
    commit(tx, &e).await?;
    Ok(agency)
}

/// Archives an agency (kept for history; no new users can join it) or restores it.
pub async fn set_archived(app: &App, caller: &Caller, id: &str, archived: bool) -> Result<()> {
    let admin = caller.permit(Permission::Administer)?;
    let mut tx = app.write().await?;
    tx.set_agency_archived(&admin, id, archived).await?;
    let action = if archived {
        AuditAction::AgencyArchived
    } else {
        AuditAction::AgencyRestored
    };
    commit(tx, &caller.event(action, AGENCY, id)).await
}

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
    let mut event = caller.event(AuditAction::ConsortiumMember, AGENCY, hub);
    event.reason = format!("member {member}");
    commit(tx, &event).await
}
