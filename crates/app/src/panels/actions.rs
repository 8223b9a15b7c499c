//! Panel actions through to completion: owners see theirs, mark them done or close them
//! with a reason; a panel case closes when every action is done or closed; overdue actions
//! are flagged to the owner, their agency's point of contact and the coordinator.

use pathways_domain::access::panel::{PanelAction, authorize_panel};
use pathways_domain::ids::PanelActionId;
use pathways_domain::panels::ActionStatus;
use pathways_domain::{AuditAction, Permission};
use pathways_store::now_unix;
use pathways_store::panels::PanelActionRow;

use super::{PANEL_ACTION, conflict};
use crate::{App, Caller, Error, Fields, Result, commit};

/// The caller's panel actions, open first by due date.
pub async fn my_actions(app: &App, caller: &Caller) -> Result<Vec<PanelActionRow>> {
    if !caller.may(Permission::WorkCases) && !caller.may(Permission::CoordinatePanels) {
        return Err(Error::Forbidden("MissingPermission(WorkCases)".into()));
    }
    Ok(app.store().actions_of_owner(caller.user_id()).await?)
}

/// A change to an action.
#[derive(Debug, Clone, Default)]
pub struct ActionChange {
    /// `done` or `closed`.
    pub status: String,
    /// Why (required to close).
    pub reason: String,
}

/// Marks an action done or closes it with a reason: its owner or the panel's coordinator.
/// Returns true when the panel case closed because no action is left open.
pub async fn change_action(
    app: &App,
    caller: &Caller,
    action_id: &str,
    change: &ActionChange,
) -> Result<bool> {
    if !caller.may(Permission::WorkCases) && !caller.may(Permission::CoordinatePanels) {
        return Err(Error::Forbidden("MissingPermission(WorkCases)".into()));
    }
    let store = app.store();
    let action = store.panel_action(action_id).await?;
    let mut facts = store.panel_facts(&action.panel_id).await?;
    facts.action_owner = Some(action.owner_id.clone());
    let cap = match authorize_panel(
        &caller.actor,
        PanelAction::ChangeAction,
        &facts,
        now_unix(),
        PanelActionId::new(action_id),
    ) {
        Ok(cap) => cap,
        Err(d) => {
            app.audit(caller.refused(AuditAction::PanelActionChange, PANEL_ACTION, action_id))
                .await?;
            return Err(Error::denied(d));
        }
    };
    let mut f = Fields::new();
    let status = match change.status.trim() {
        "done" => Some(ActionStatus::Done),
        "closed" => Some(ActionStatus::Closed),
        _ => None,
    };
    f.check(
        status.is_none(),
        "status",
        "Choose done, or closed with a reason",
    );
    f.check(
        status == Some(ActionStatus::Closed) && change.reason.trim().is_empty(),
        "reason",
        "Enter why the action is closed without being done",
    );
    f.finish()?;
    if action.status != ActionStatus::Open {
        return Err(Error::Conflict(
            "This action has already been completed or closed; nothing was changed.".into(),
        ));
    }
    let status = status.unwrap_or(ActionStatus::Done);
    let mut tx = app.write().await?;
    let closed = tx
        .change_panel_action(&cap, status, &change.reason, caller.user_id())
        .await
        .map_err(conflict)?;
    let mut event = caller.event(AuditAction::PanelActionChange, PANEL_ACTION, action_id);
    event.reason = format!(
        "{}{}",
        status.key(),
        if closed { "; panel case closed" } else { "" }
    );
    commit(tx, &event).await?;
    Ok(closed)
}

/// Flags open actions past their due date (at most once a week per action) to the owner,
/// their agency's point of contact and the coordinator. Returns how many were flagged.
pub async fn flag_overdue(app: &App, caller: &Caller) -> Result<usize> {
    let coordinates = caller.permit(Permission::CoordinatePanels)?;
    let mut tx = app.write().await?;
    let n = tx
        .flag_overdue_actions(&coordinates, now_unix(), 7 * 86_400)
        .await?;
    let mut event = caller.event(
        AuditAction::PanelChase,
        crate::RecordKind::List,
        "panel_actions",
    );
    event.reason = format!("{n} overdue actions flagged");
    commit(tx, &event).await?;
    Ok(n)
}
