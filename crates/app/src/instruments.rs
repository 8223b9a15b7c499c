//! Risk instrument versions published by the council: each new version is stored with its
//! audit entry in one transaction and never changed afterwards; earlier assessments keep the
//! version they were made with. Whether a definition is usable is the risk rules' decision
//! (`InstrumentDefinition::problems`, checked again by `revise`).

use pathways_domain::{AuditAction, Permission};
use pathways_risk::{InstrumentDefinition, InstrumentRegistry};
use pathways_store::{NewInstrumentVersion, PublishedVersion, StoreError};

use crate::{App, Caller, Error, RecordKind, Result, commit};

/// The shipped and published versions of every instrument, for an administrator.
pub async fn registry(app: &App, caller: &Caller) -> Result<InstrumentRegistry> {
    caller.permit(Permission::Administer)?;
    crate::cases::registry(app).await
}

/// The stored (published) versions of one instrument, or of all when `key` is `None`.
pub async fn published(
    app: &App,
    caller: &Caller,
    key: Option<&str>,
) -> Result<Vec<PublishedVersion>> {
    caller.permit(Permission::Administer)?;
    Ok(match key {
        Some(k) => app.store().instrument_versions(k).await?,
        None => app.store().all_instrument_versions().await?,
    })
}

/// Publishes `candidate`, a changed copy of `base` (the latest version), as the next
/// version. Refused when the instrument may not be changed locally, when nothing changed,
/// and when someone published `base`'s successor meanwhile (on `indicators`).
pub async fn publish(
    app: &App,
    caller: &Caller,
    base: &InstrumentDefinition,
    candidate: &InstrumentDefinition,
    note: &str,
) -> Result<u32> {
    let admin = caller.permit(Permission::Administer)?;
    if !base.local_changes.allowed {
        return Err(Error::Forbidden(format!("{} is fixed", base.key)));
    }
    if candidate == base {
        return Err(Error::invalid(
            "indicators",
            "Nothing has changed: change an indicator or a threshold before publishing",
        ));
    }
    // `revise` numbers the version and checks every rule once more.
    let next = base
        .revise(|d| *d = candidate.clone())
        .map_err(|e| Error::internal(e.to_string()))?;
    let mut tx = app.write().await?;
    tx.publish_instrument_version(
        &admin,
        &NewInstrumentVersion {
            instrument_key: base.key.clone(),
            version: i64::from(next.version),
            definition: next.to_json(),
            published_by: caller.user_id().into(),
            change_note: note.trim().into(),
        },
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict(m) => Error::invalid("indicators", m),
        other => other.into(),
    })?;
    let mut e = caller.event(
        AuditAction::InstrumentPublished,
        RecordKind::Other("instrument"),
        &base.key,
    );
    e.reason = format!("version {}", next.version);
    commit(tx, &e).await?;
    Ok(next.version)
}
