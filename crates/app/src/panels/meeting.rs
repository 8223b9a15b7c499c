//! The meeting: the chair records attendance, then walks the agenda case by case recording
//! what each agency shared, the risks identified, the minutes and the actions agreed (each
//! with an owning agency, a named owner and a due date), or why none were agreed. Minutes
//! are read by member agencies while the window is open, and afterwards only by the case
//! team and the coordinator.

use pathways_domain::AuditAction;
use pathways_domain::access::panel::PanelAction;
use pathways_domain::access::{Action, Decision, Grant, decide};
use pathways_domain::time::{london_midnight, parse_date};
use pathways_store::now_unix;

use super::agenda::{AgendaView, read_meeting};
use super::{MEETING, PANEL_ACTION, meeting_access};
use crate::{App, Caller, Error, Fields, Result, commit};

/// Attendance as the chair records it: per member agency, who attended (empty: apologies).
#[derive(Debug, Clone, Default)]
pub struct AttendanceInput {
    /// `(agency id, attendee)`.
    pub rows: Vec<(String, String)>,
}

/// Records who attended for each member agency.
pub async fn record_attendance(
    app: &App,
    caller: &Caller,
    meeting_id: &str,
    input: &AttendanceInput,
) -> Result<()> {
    let opened = meeting_access(
        app,
        caller,
        meeting_id,
        PanelAction::Manage,
        AuditAction::PanelMeetingRecord,
    )
    .await?;
    let members = app.store().panel_members(&opened.panel.id).await?;
    let mut f = Fields::new();
    for (agency, _) in &input.rows {
        f.check(
            !members.iter().any(|m| &m.agency_id == agency),
            "attendance",
            "Attendance can only be recorded for member agencies",
        );
    }
    f.finish()?;
    let rows: Vec<(String, String, bool)> = input
        .rows
        .iter()
        .map(|(a, who)| (a.clone(), who.trim().to_string(), !who.trim().is_empty()))
        .collect();
    let mut tx = app.write().await?;
    tx.record_attendance(&opened.cap, &rows).await?;
    let mut event = caller.event(AuditAction::PanelMeetingRecord, MEETING, meeting_id);
    event.reason = "attendance".into();
    commit(tx, &event).await
}

/// The discussion of one case as the chair records it.
#[derive(Debug, Clone, Default)]
pub struct DiscussionInput {
    /// The item.
    pub item_id: String,
    /// `(agency id, what it shared)`; empty texts are skipped.
    pub shared: Vec<(String, String)>,
    /// Risks identified.
    pub risks: String,
    /// Minutes.
    pub minutes: String,
    /// Why no actions were agreed (required when the case has none open).
    pub no_actions_reason: String,
}

/// Records the discussion of one case. A case with no actions needs a recorded reason.
pub async fn record_discussion(
    app: &App,
    caller: &Caller,
    meeting_id: &str,
    input: &DiscussionInput,
) -> Result<()> {
    let opened = meeting_access(
        app,
        caller,
        meeting_id,
        PanelAction::Manage,
        AuditAction::PanelMeetingRecord,
    )
    .await?;
    let store = app.store();
    let mut f = Fields::new();
    let item = match store.item(input.item_id.trim()).await {
        Ok(i) if i.meeting_id == meeting_id => Some(i),
        _ => {
            f.add("item_id", "That case is not on this meeting's agenda");
            None
        }
    };
    f.required(
        &input.minutes,
        "minutes",
        "Enter the minutes of the discussion",
    );
    if let Some(item) = &item {
        let has_actions = store
            .meeting_actions(meeting_id)
            .await?
            .iter()
            .any(|a| a.referral_id == item.referral_id && a.item_id == item.id);
        f.check(
            !has_actions && input.no_actions_reason.trim().is_empty(),
            "no_actions_reason",
            "Add the actions agreed, or record why there are none",
        );
    }
    f.finish()?;
    let shared: Vec<(String, String)> = input
        .shared
        .iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .cloned()
        .collect();
    let mut tx = app.write().await?;
    tx.record_discussion(
        &opened.cap,
        &pathways_store::panels::Discussion {
            item_id: input.item_id.trim().to_string(),
            shared,
            risks: input.risks.clone(),
            minutes: input.minutes.clone(),
            no_actions_reason: input.no_actions_reason.clone(),
            by: caller.user_id().to_string(),
        },
    )
    .await?;
    let mut event = caller.event(AuditAction::PanelMeetingRecord, MEETING, meeting_id);
    event.reason = format!("discussion of item {}", input.item_id.trim());
    commit(tx, &event).await
}

/// An action as typed.
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    /// The item it is agreed on.
    pub item_id: String,
    /// Owning agency.
    pub agency_id: String,
    /// Named owner.
    pub owner_id: String,
    /// What is to be done.
    pub title: String,
    /// Due date, `YYYY-MM-DD`.
    pub due_at: String,
}

/// Adds an action agreed at the meeting. An action needs an owning agency, a named owner in
/// that agency and a due date that is not in the past.
pub async fn add_action(
    app: &App,
    caller: &Caller,
    meeting_id: &str,
    input: &ActionInput,
) -> Result<String> {
    let opened = meeting_access(
        app,
        caller,
        meeting_id,
        PanelAction::Manage,
        AuditAction::PanelActionAdd,
    )
    .await?;
    let store = app.store();
    let mut f = Fields::new();
    let title = f.required(&input.title, "title", "Enter what is to be done");
    let agency = f.required(
        &input.agency_id,
        "agency_id",
        "Choose the agency that owns the action",
    );
    let owner = f.required(
        &input.owner_id,
        "owner_id",
        "Choose the action's named owner",
    );
    let due = match input.due_at.trim() {
        "" => {
            f.add(
                "due_at",
                "Enter the date the action is due, for example 2026-12-18",
            );
            None
        }
        raw => match parse_date(raw) {
            None => {
                f.add(
                    "due_at",
                    "Enter the due date as YYYY-MM-DD, for example 2026-12-18",
                );
                None
            }
            Some(d) => Some(london_midnight(d)),
        },
    };
    let today = london_midnight(pathways_domain::time::london_date(now_unix()));
    f.check(
        due.is_some_and(|d| d < today),
        "due_at",
        "The due date cannot be in the past",
    );
    if !agency.is_empty()
        && !store
            .panel_members(&opened.panel.id)
            .await?
            .iter()
            .any(|m| m.agency_id == agency)
    {
        f.add("agency_id", "Choose a member agency of the panel");
    }
    if !owner.is_empty() {
        match store.user(owner).await {
            Ok(u) if u.agency_id == agency && !u.disabled => {}
            _ => f.add("owner_id", "The owner must be someone in the owning agency"),
        }
    }
    match store.item(input.item_id.trim()).await {
        Ok(i) if i.meeting_id == meeting_id => {}
        _ => f.add("item_id", "That case is not on this meeting's agenda"),
    }
    f.finish()?;
    // Due at the end of the day given.
    let due_at = due.unwrap_or(today) + 86_399;
    let mut tx = app.write().await?;
    let id = tx
        .add_panel_action(
            &opened.cap,
            &pathways_store::panels::NewAction {
                item_id: input.item_id.trim().to_string(),
                agency_id: agency.to_string(),
                owner_id: owner.to_string(),
                title: title.to_string(),
                due_at,
                by: caller.user_id().to_string(),
            },
        )
        .await?;
    let mut event = caller.event(AuditAction::PanelActionAdd, PANEL_ACTION, &id);
    event.reason = format!("meeting {meeting_id}");
    commit(tx, &event).await?;
    Ok(id)
}

/// The minutes of a meeting: the coordinator and chair at any time, member agencies while
/// the window is open; after that a case team reads the minutes of its own cases only.
pub async fn minutes(app: &App, caller: &Caller, meeting_id: &str) -> Result<AgendaView> {
    match read_meeting(
        app,
        caller,
        meeting_id,
        PanelAction::ReadMinutes,
        AuditAction::PanelMinutesRead,
    )
    .await
    {
        Err(Error::NotFound) => case_team_minutes(app, caller, meeting_id).await,
        other => other,
    }
}

async fn case_team_minutes(app: &App, caller: &Caller, meeting_id: &str) -> Result<AgendaView> {
    let store = app.store();
    let meeting = store.meeting(meeting_id).await?;
    let now = now_unix();
    let mut mine = Vec::new();
    for item in store.items(meeting_id).await? {
        let referral = store.panel_referral(&item.referral_id).await?;
        if let Some(case) = &referral.case_id {
            let facts = store.case_facts(case).await?;
            if decide(&caller.actor, Action::ViewRecord, &facts, now)
                == Decision::Allow(Grant::CaseTeam)
            {
                mine.push(item.id.clone());
            }
        }
    }
    if mine.is_empty() {
        return Err(Error::NotFound);
    }
    let facts = store.meeting_facts(&meeting).await?;
    let view = super::agenda::read_as_team(app, caller, &meeting, facts, &mine).await?;
    Ok(view)
}
