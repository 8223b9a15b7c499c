//! Panels and meetings: the overview page, creating a panel with its chair, coordinator and
//! schedule, member agencies with their points of contact, and calling meetings (from the
//! schedule, ad hoc, or an emergency meeting for one case within 24 hours).

use pathways_domain::access::panel::{PanelAction, decide_panel};
use pathways_domain::panels::{
    EMERGENCY_WITHIN_SECS, MeetingKind, PanelKind, ReferralStatus, Schedule,
};
use pathways_domain::time::{parse_date, parse_london};
use pathways_domain::{AuditAction, Permission};
use pathways_store::now_unix;
use pathways_store::panels::{
    Meeting, Member, NewItem, NewPanel, Panel, PanelActionRow, TriagedForPanel,
};
use time::{Time, Weekday};

use super::{MEETING, PANEL, conflict, panel_access, people_to_name};
use crate::{App, Caller, Error, Fields, Result, commit};

/// What `/panels` shows the caller.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Panels the caller coordinates or chairs.
    pub coordinated: Vec<Panel>,
    /// Meetings of panels the caller's agency sits on whose window is open now.
    pub open_meetings: Vec<(Panel, Meeting)>,
    /// The caller's own panel actions.
    pub my_actions: Vec<PanelActionRow>,
    /// True when the caller may create panels.
    pub can_create: bool,
    /// Users who may be named chair or coordinator.
    pub users: Vec<(String, String, String)>,
}

/// The panels overview: panels the caller runs, meetings open to their agency, their actions.
pub async fn overview(app: &App, caller: &Caller) -> Result<Overview> {
    if !caller.may(Permission::CoordinatePanels) && !caller.may(Permission::WorkCases) {
        return Err(Error::Forbidden(
            "MissingPermission(CoordinatePanels)".into(),
        ));
    }
    let store = app.store();
    let now = now_unix();
    let coordinated = store
        .panels()
        .await?
        .into_iter()
        .filter(|p| p.coordinator_id == caller.user_id() || p.chair_id == caller.user_id())
        .collect();
    let mut open_meetings = Vec::new();
    for panel in store.panels_of_agency(&caller.actor.agency_id).await? {
        for meeting in store.meetings(&panel.id).await? {
            let facts = store.meeting_facts(&meeting).await?;
            if decide_panel(&caller.actor, PanelAction::ReadAgenda, &facts, now).allowed()
                && facts.window_open(now)
            {
                open_meetings.push((panel.clone(), meeting));
            }
        }
    }
    let can_create = caller.may(Permission::CoordinatePanels);
    Ok(Overview {
        coordinated,
        open_meetings,
        my_actions: store.actions_of_owner(caller.user_id()).await?,
        can_create,
        users: if can_create {
            people_to_name(app).await?
        } else {
            Vec::new()
        },
    })
}

/// A new panel as typed.
#[derive(Debug, Clone, Default)]
pub struct PanelInput {
    /// Name.
    pub name: String,
    /// Kind key.
    pub kind: String,
    /// Area served.
    pub area: String,
    /// Chair user id.
    pub chair_id: String,
    /// Coordinator user id (the caller when empty).
    pub coordinator_id: String,
    /// Weeks between meetings.
    pub every_weeks: String,
    /// Weekday, 0 Monday to 6 Sunday.
    pub weekday: String,
    /// `HH:MM`.
    pub meeting_time: String,
    /// First meeting date of the schedule, `YYYY-MM-DD`.
    pub anchor_date: String,
    /// Minutes per case (15 when empty).
    pub minutes_per_case: String,
    /// Hours the window stays open after a meeting (48 when empty).
    pub window_hours: String,
    /// Suppression threshold for exports (5 when empty).
    pub suppress_below: String,
}

fn number(
    f: &mut Fields,
    raw: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    field: &str,
    message: &str,
) -> i64 {
    match raw.trim() {
        "" => default,
        v => match v.parse::<i64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                f.add(field, message);
                default
            }
        },
    }
}

/// The schedule of a panel as the domain reads it.
pub(crate) fn schedule_of(panel: &Panel) -> Option<Schedule> {
    let (h, m) = panel.meeting_time.split_once(':')?;
    Some(Schedule {
        every_weeks: u8::try_from(panel.every_weeks).ok()?,
        weekday: weekday(panel.weekday)?,
        at: Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()?,
        anchor: parse_date(&panel.anchor_date)?,
    })
}

fn weekday(n: i64) -> Option<Weekday> {
    Some(match n {
        0 => Weekday::Monday,
        1 => Weekday::Tuesday,
        2 => Weekday::Wednesday,
        3 => Weekday::Thursday,
        4 => Weekday::Friday,
        5 => Weekday::Saturday,
        6 => Weekday::Sunday,
        _ => return None,
    })
}

/// Creates a panel. The caller must hold the panel coordinator permission; the chair and
/// coordinator are named users.
pub async fn create_panel(app: &App, caller: &Caller, input: &PanelInput) -> Result<String> {
    let coordinates = caller.permit(Permission::CoordinatePanels)?;
    let mut f = Fields::new();
    let name = f.required(
        &input.name,
        "name",
        "Enter the panel's name, for example Riverside MARAC",
    );
    let kind = PanelKind::parse(input.kind.trim()).ok();
    f.check(kind.is_none(), "kind", "Choose what kind of panel this is");
    let chair = f.required(&input.chair_id, "chair_id", "Choose the chair");
    let coordinator = match input.coordinator_id.trim() {
        "" => caller.user_id().to_string(),
        c => c.to_string(),
    };
    let every_weeks = number(
        &mut f,
        &input.every_weeks,
        2,
        0..=8,
        "every_weeks",
        "Enter the weeks between meetings, from 0 (no schedule) to 8",
    );
    let weekday = number(
        &mut f,
        &input.weekday,
        1,
        0..=6,
        "weekday",
        "Choose the day of the week",
    );
    let time_ok = input.meeting_time.trim().is_empty()
        || Time::parse(
            input.meeting_time.trim(),
            time::macros::format_description!("[hour]:[minute]"),
        )
        .is_ok();
    f.check(
        !time_ok,
        "meeting_time",
        "Enter the time of day as HH:MM, for example 10:00",
    );
    let anchor = match input.anchor_date.trim() {
        "" => pathways_domain::time::format_iso_day(now_unix()),
        d => {
            f.check(
                parse_date(d).is_none(),
                "anchor_date",
                "Enter the first meeting's date, for example 2026-01-06",
            );
            d.to_string()
        }
    };
    let minutes = number(
        &mut f,
        &input.minutes_per_case,
        15,
        1..=120,
        "minutes_per_case",
        "Enter the minutes per case, from 1 to 120",
    );
    let window = number(
        &mut f,
        &input.window_hours,
        48,
        0..=720,
        "window_hours",
        "Enter the hours the window stays open after a meeting, from 0 to 720",
    );
    let threshold = number(
        &mut f,
        &input.suppress_below,
        5,
        1..=100,
        "suppress_below",
        "Enter the smallest count shown in exports, from 1 to 100",
    );
    for (field, id, what) in [
        ("chair_id", chair, "chair"),
        ("coordinator_id", coordinator.as_str(), "coordinator"),
    ] {
        if !id.is_empty() && app.store().user(id).await.is_err() {
            f.add(field, format!("Choose the {what} from the list"));
        }
    }
    f.finish()?;
    let mut tx = app.write().await?;
    let id = tx
        .create_panel(
            &coordinates,
            &NewPanel {
                name: name.to_string(),
                kind,
                area: input.area.trim().to_string(),
                chair_id: chair.to_string(),
                coordinator_id: coordinator,
                every_weeks,
                weekday,
                meeting_time: match input.meeting_time.trim() {
                    "" => "10:00".into(),
                    t => t.to_string(),
                },
                anchor_date: anchor,
                minutes_per_case: minutes,
                window_after_secs: window * 3600,
                suppress_below: threshold,
                created_by: caller.user_id().to_string(),
            },
        )
        .await
        .map_err(|e| match e {
            pathways_store::StoreError::Conflict(m) => Error::invalid("name", m),
            other => other.into(),
        })?;
    commit(tx, &caller.event(AuditAction::PanelChange, PANEL, &id)).await?;
    Ok(id)
}

/// What the coordinator's panel page shows.
#[derive(Debug, Clone)]
pub struct PanelPage {
    /// The panel.
    pub panel: Panel,
    /// How its schedule reads.
    pub schedule: String,
    /// The next scheduled meeting time.
    pub next_scheduled: Option<i64>,
    /// Member agencies.
    pub members: Vec<Member>,
    /// Meetings, latest first.
    pub meetings: Vec<Meeting>,
    /// Referrals waiting for a decision.
    pub pending: Vec<super::agenda::Subject>,
    /// Panel cases (accepted).
    pub accepted: Vec<super::agenda::Subject>,
    /// Triaged referrals naming this kind of panel, not yet taken up.
    pub triaged: Vec<TriagedForPanel>,
    /// Agencies that may join.
    pub agencies: Vec<(String, String)>,
    /// Users who may be named.
    pub users: Vec<(String, String, String)>,
}

/// The coordinator's view of a panel.
pub async fn panel_page(app: &App, caller: &Caller, panel_id: &str) -> Result<PanelPage> {
    let opened = panel_access(
        app,
        caller,
        panel_id,
        PanelAction::Manage,
        AuditAction::List,
    )
    .await?;
    let store = app.store();
    let schedule = schedule_of(&opened.panel);
    let pending = store
        .panel_referrals(panel_id, Some(ReferralStatus::Pending))
        .await?;
    let accepted = store
        .panel_referrals(panel_id, Some(ReferralStatus::Accepted))
        .await?;
    let pending = super::agenda::subjects(app, caller, &opened.facts, pending).await?;
    let accepted = super::agenda::subjects(app, caller, &opened.facts, accepted).await?;
    app.audit(caller.event(AuditAction::List, PANEL, panel_id))
        .await?;
    Ok(PanelPage {
        schedule: schedule
            .map(|s| s.describe())
            .unwrap_or_else(|| "No regular schedule".into()),
        next_scheduled: schedule.and_then(|s| s.next_after(now_unix())),
        members: store.panel_members(panel_id).await?,
        meetings: store.meetings(panel_id).await?,
        pending,
        accepted,
        triaged: store.triaged_for_panel(&opened.panel).await?,
        agencies: store
            .list_agencies()
            .await?
            .into_iter()
            .filter(|a| a.archived_at.is_none())
            .map(|a| (a.id, a.name))
            .collect(),
        users: people_to_name(app).await?,
        panel: opened.panel,
    })
}

/// Adds a member agency with its named point of contact (a user of that agency), or
/// changes the contact.
pub async fn add_member(
    app: &App,
    caller: &Caller,
    panel_id: &str,
    agency_id: &str,
    contact_id: &str,
) -> Result<()> {
    let opened = panel_access(
        app,
        caller,
        panel_id,
        PanelAction::Manage,
        AuditAction::PanelChange,
    )
    .await?;
    let mut f = Fields::new();
    let agency = f.required(agency_id, "agency_id", "Choose the member agency");
    let contact = f.required(
        contact_id,
        "contact_id",
        "Choose the agency's point of contact",
    );
    if !agency.is_empty() && app.store().agency(agency).await.is_err() {
        f.add("agency_id", "Choose the member agency from the list");
    }
    if !contact.is_empty() {
        match app.store().user(contact).await {
            Ok(u) if u.agency_id == agency => {}
            _ => f.add(
                "contact_id",
                "The point of contact must be someone in the member agency",
            ),
        }
    }
    f.finish()?;
    let mut tx = app.write().await?;
    tx.set_panel_member(&opened.cap, agency, contact).await?;
    let mut event = caller.event(AuditAction::PanelChange, PANEL, panel_id);
    event.reason = format!("member agency {agency}, contact {contact}");
    commit(tx, &event).await
}

/// A meeting to call, as typed.
#[derive(Debug, Clone, Default)]
pub struct MeetingInput {
    /// `scheduled`, `ad_hoc` or `emergency`.
    pub kind: String,
    /// When (London time, `YYYY-MM-DDTHH:MM`); for a scheduled meeting, empty means the
    /// next date of the schedule.
    pub held_at: String,
    /// For an emergency meeting: the accepted panel referral it is for.
    pub referral_id: String,
}

/// Calls a meeting. A meeting in the past is refused; an emergency meeting is for one
/// accepted panel case and is held within 24 hours, with that case as its whole agenda.
pub async fn call_meeting(
    app: &App,
    caller: &Caller,
    panel_id: &str,
    input: &MeetingInput,
) -> Result<String> {
    let opened = panel_access(
        app,
        caller,
        panel_id,
        PanelAction::Manage,
        AuditAction::PanelMeetingCreate,
    )
    .await?;
    let now = now_unix();
    let mut f = Fields::new();
    let kind = MeetingKind::parse(input.kind.trim()).ok();
    f.check(
        kind.is_none(),
        "kind",
        "Choose a scheduled, ad hoc or emergency meeting",
    );
    let held_at = match (kind, input.held_at.trim()) {
        (Some(MeetingKind::Scheduled), "") => {
            let next = schedule_of(&opened.panel).and_then(|s| s.next_after(now));
            f.check(
                next.is_none(),
                "held_at",
                "This panel has no schedule: enter the meeting's date and time",
            );
            next
        }
        (_, "") => {
            f.add("held_at", "Enter the meeting's date and time");
            None
        }
        (_, raw) => {
            let at = parse_london(raw);
            f.check(
                at.is_none(),
                "held_at",
                "Enter the meeting's date and time, for example 2026-12-08T10:00",
            );
            at
        }
    };
    f.check(
        held_at.is_some_and(|t| t < now),
        "held_at",
        "The meeting's date and time must be in the future",
    );
    let mut emergency_item = None;
    if kind == Some(MeetingKind::Emergency) {
        f.check(
            held_at.is_some_and(|t| t > now + EMERGENCY_WITHIN_SECS),
            "held_at",
            "An emergency meeting is held within 24 hours",
        );
        match app.store().panel_referral(input.referral_id.trim()).await {
            Ok(r) if r.panel_id == panel_id && r.status == ReferralStatus::Accepted => {
                emergency_item = Some(r.id);
            }
            _ => f.add(
                "referral_id",
                "Choose the accepted panel case the emergency meeting is for",
            ),
        }
    }
    f.finish()?;
    let kind = kind.unwrap_or(MeetingKind::AdHoc);
    let mut tx = app.write().await?;
    let id = tx
        .create_meeting(&opened.cap, held_at.unwrap_or(now), kind, caller.user_id())
        .await?;
    let mut events = vec![caller.event(AuditAction::PanelMeetingCreate, MEETING, &id)];
    if let Some(referral_id) = emergency_item {
        let cap = pathways_domain::access::panel::authorize_panel(
            &caller.actor,
            PanelAction::Manage,
            &opened.facts,
            now,
            pathways_domain::ids::MeetingId::new(id.clone()),
        )
        .map_err(Error::denied)?;
        tx.set_agenda(
            &cap,
            &[NewItem {
                referral_id,
                minutes_allowed: opened.panel.minutes_per_case,
                returning: false,
            }],
        )
        .await
        .map_err(conflict)?;
        events.push(caller.event(AuditAction::PanelAgendaBuild, MEETING, &id));
    }
    let refs: Vec<&_> = events.iter().collect();
    tx.audit(&refs).await?;
    tx.commit().await?;
    Ok(id)
}
