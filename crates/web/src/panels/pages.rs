//! Panel pages and their forms. Bad input shows the same page again with a GOV.UK error
//! summary (422); a second decision on a referral or action is a conflict (409) with a
//! plain message.

use askama::Template;
use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pathways_app::panels::{self as uc, AgendaView, Subject};
use pathways_domain::Permission;
use pathways_domain::ids::CaseId;
use pathways_domain::panels::{ActionStatus, Answer, Measure, PanelKind, SubjectKind};
use pathways_store::now_unix;
use pathways_store::panels::{Member, PanelActionRow};
use serde::Deserialize;

use crate::auth::{ApiCaller, Staff};
use crate::error::{AppError, FieldError, html};
use crate::format::{day, risk_class, risk_label, when};
use crate::forms::respond;
use crate::{AppState, Chrome};

/// One answer of a characteristic's list: key, label, selected.
type AnswerOption = (&'static str, &'static str, bool);

/// One agency's research on an item: agency id, name, complete, (subject, holds, detail).
type AgencyResearch = (String, String, bool, Vec<(&'static str, bool, String)>);

/// An action as lists show it.
pub(crate) struct ActionView {
    pub id: String,
    pub title: String,
    pub agency: String,
    pub owner: String,
    pub due: String,
    pub status: &'static str,
    pub open: bool,
    pub overdue: bool,
    pub reason: String,
    pub meeting_id: String,
}

fn action_view(a: &PanelActionRow, now: i64) -> ActionView {
    ActionView {
        id: a.id.clone(),
        title: a.title.clone(),
        agency: a.agency_name.clone(),
        owner: a.owner_name.clone(),
        due: day(a.due_at),
        status: a.status.label(),
        open: a.status == ActionStatus::Open,
        overdue: a.status == ActionStatus::Open && a.due_at < now,
        reason: a.status_reason.clone(),
        meeting_id: a.meeting_id.clone(),
    }
}

// ------------------------------------------------------------------ overview

#[derive(Template)]
#[template(path = "panels/index.html")]
struct OverviewPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    coordinated: Vec<(String, String, &'static str)>,
    open_meetings: Vec<(String, String, String, String)>,
    actions: Vec<ActionView>,
    can_create: bool,
    users: Vec<(String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
}

async fn overview_page(
    state: &AppState,
    staff: &Staff,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let o = uc::overview(state.app(), &staff.caller()).await?;
    let now = now_unix();
    html(OverviewPage {
        chrome: staff.chrome(state, "Panels"),
        errors,
        coordinated: o
            .coordinated
            .into_iter()
            .map(|p| (p.id, p.name, p.kind.label()))
            .collect(),
        open_meetings: o
            .open_meetings
            .into_iter()
            .map(|(p, m)| {
                (
                    m.id,
                    p.name,
                    when(m.held_at),
                    m.window_closes_at.map(when).unwrap_or_default(),
                )
            })
            .collect(),
        actions: o.my_actions.iter().map(|a| action_view(a, now)).collect(),
        can_create: o.can_create,
        users: o
            .users
            .into_iter()
            .map(|(id, name, _)| (id, name))
            .collect(),
        kinds: PanelKind::ALL
            .iter()
            .map(|k| (k.key(), k.label()))
            .collect(),
    })
}

/// `GET /panels`.
pub(crate) async fn overview(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, AppError> {
    overview_page(&state, &staff, Vec::new()).await
}

/// The new-panel form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PanelForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    chair_id: String,
    #[serde(default)]
    coordinator_id: String,
    #[serde(default)]
    every_weeks: String,
    #[serde(default)]
    weekday: String,
    #[serde(default)]
    meeting_time: String,
    #[serde(default)]
    anchor_date: String,
    #[serde(default)]
    minutes_per_case: String,
    #[serde(default)]
    window_hours: String,
    #[serde(default)]
    suppress_below: String,
}

/// `POST /panels`.
pub(crate) async fn create_panel(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<PanelForm>,
) -> Result<Response, AppError> {
    let result = uc::create_panel(
        state.app(),
        &staff.caller(),
        &uc::PanelInput {
            name: f.name,
            kind: f.kind,
            area: f.area,
            chair_id: f.chair_id,
            coordinator_id: f.coordinator_id,
            every_weeks: f.every_weeks,
            weekday: f.weekday,
            meeting_time: f.meeting_time,
            anchor_date: f.anchor_date,
            minutes_per_case: f.minutes_per_case,
            window_hours: f.window_hours,
            suppress_below: f.suppress_below,
        },
    )
    .await;
    respond(
        result,
        |id| format!("/panels/{id}"),
        |e| overview_page(&state, &staff, e),
    )
    .await
}

#[derive(Template)]
#[template(path = "panels/actions.html")]
struct ActionsPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    actions: Vec<ActionView>,
}

async fn actions_page(
    state: &AppState,
    staff: &Staff,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let now = now_unix();
    let actions = uc::my_actions(state.app(), &staff.caller()).await?;
    html(ActionsPage {
        chrome: staff.chrome(state, "My panel actions"),
        errors,
        actions: actions.iter().map(|a| action_view(a, now)).collect(),
    })
}

/// `GET /panels/actions`.
pub(crate) async fn my_actions(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, AppError> {
    actions_page(&state, &staff, Vec::new()).await
}

/// `POST /panels/actions/overdue`.
pub(crate) async fn flag_overdue(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, AppError> {
    let result = uc::flag_overdue(state.app(), &staff.caller()).await;
    respond(
        result,
        |_| "/panels".to_string(),
        |e| overview_page(&state, &staff, e),
    )
    .await
}

/// An action's change.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActionChangeForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

/// `POST /panels/actions/{action}`.
pub(crate) async fn change_action(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionChangeForm>,
) -> Result<Response, AppError> {
    let result = uc::change_action(
        state.app(),
        &staff.caller(),
        &id,
        &uc::ActionChange {
            status: f.status,
            reason: f.reason,
        },
    )
    .await;
    let back = if f.back.starts_with("/panels/") {
        f.back
    } else {
        "/panels/actions".into()
    };
    respond(result, |_| back, |e| actions_page(&state, &staff, e)).await
}

// ------------------------------------------------------------------ referral from a case

#[derive(Template)]
#[template(path = "panels/refer.html")]
struct ReferPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    case_id: String,
    reference: String,
    panels: Vec<(String, String, String, Vec<String>)>,
    current: Vec<(&'static str, &'static str, Vec<AnswerOption>)>,
    ethnicity: String,
}

async fn refer_page(
    state: &AppState,
    staff: &Staff,
    case: &str,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let form = uc::case_referral_form(state.app(), &staff.caller(), &CaseId::new(case)).await?;
    let c = form.characteristics;
    html(ReferPage {
        chrome: staff.chrome(state, "Refer to a panel"),
        errors,
        case_id: form.case_id,
        reference: form.reference,
        panels: form
            .panels
            .into_iter()
            .map(|(p, e)| {
                let (summary, lines) = e.unwrap_or_else(|| {
                    (format!("No {} eligibility is recorded on this case: the referral rests on professional judgement.", p.kind.label()), Vec::new())
                });
                (p.id, p.name, summary, lines)
            })
            .collect(),
        current: [
            ("bme", "From a Black or minority ethnic group", c.bme),
            ("lgbt", "LGBT+", c.lgbt),
            ("disabled", "Disabled", c.disabled),
            ("male", "Male", c.male),
        ]
        .into_iter()
        .map(|(field, label, value)| {
            let options = Answer::ALL
                .iter()
                .map(|a| (a.key(), a.label(), a.key() == value))
                .collect();
            (field, label, options)
        })
        .collect(),
        ethnicity: c.ethnicity,
    })
}

/// `GET /panels/refer/{case}`.
pub(crate) async fn refer_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(case): Path<String>,
) -> Result<Response, AppError> {
    refer_page(&state, &staff, &case, Vec::new()).await
}

/// The referral form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReferForm {
    #[serde(default)]
    panel_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    children: String,
    #[serde(default)]
    perpetrator: String,
    #[serde(default)]
    ethnicity: String,
    #[serde(default)]
    bme: String,
    #[serde(default)]
    lgbt: String,
    #[serde(default)]
    disabled: String,
    #[serde(default)]
    male: String,
}

/// `POST /panels/refer/{case}`.
pub(crate) async fn refer(
    State(state): State<AppState>,
    staff: Staff,
    Path(case): Path<String>,
    Form(f): Form<ReferForm>,
) -> Result<Response, AppError> {
    let result = uc::refer_from_case(
        state.app(),
        &staff.caller(),
        &CaseId::new(case.clone()),
        &uc::CaseReferralInput {
            panel_id: f.panel_id,
            reason: f.reason,
            children: f.children,
            perpetrator: f.perpetrator,
            ethnicity: f.ethnicity,
            bme: f.bme,
            lgbt: f.lgbt,
            disabled: f.disabled,
            male: f.male,
        },
    )
    .await;
    let to = format!("/cases/{case}");
    respond(result, |_| to, |e| refer_page(&state, &staff, &case, e)).await
}

// ------------------------------------------------------------------ the panel page

/// A referral row.
pub(crate) struct ReferralRow {
    pub id: String,
    pub name: String,
    pub dob: String,
    pub source: String,
    pub agency: String,
    pub referred: String,
    pub risk_label: &'static str,
    pub risk_class: &'static str,
    pub repeat: bool,
    pub previous_meeting: Option<String>,
    pub summary: String,
    pub criteria: Vec<String>,
    pub reason: String,
}

fn referral_row(s: &Subject) -> ReferralRow {
    let r = &s.referral;
    let v: serde_json::Value = serde_json::from_str(&r.eligibility).unwrap_or_default();
    ReferralRow {
        id: r.id.clone(),
        name: s.name.clone(),
        dob: s.dob.clone(),
        source: match r.source {
            pathways_domain::panels::ReferralSource::OtherArea => {
                format!("In from {}", r.other_area)
            }
            other => other.label().to_string(),
        },
        agency: r.referring_agency_name.clone(),
        referred: day(r.referred_at),
        risk_label: risk_label(&r.risk_level),
        risk_class: risk_class(&r.risk_level),
        repeat: r.repeat,
        previous_meeting: r.previous_meeting_id.clone(),
        summary: v
            .get("summary")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_string(),
        criteria: v
            .get("criteria")
            .and_then(|c| c.as_array())
            .map(|a| {
                a.iter()
                    .filter(|c| c.get("met").and_then(|m| m.as_bool()).unwrap_or(false))
                    .filter_map(|c| {
                        c.get("explanation")
                            .and_then(|e| e.as_str())
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        reason: r.reason.clone(),
    }
}

#[derive(Template)]
#[template(path = "panels/panel.html")]
struct PanelTemplate {
    chrome: Chrome,
    errors: Vec<FieldError>,
    id: String,
    name: String,
    kind: &'static str,
    area: String,
    chair: String,
    coordinator: String,
    schedule: String,
    next: String,
    minutes_per_case: i64,
    window_hours: i64,
    members: Vec<Member>,
    meetings: Vec<(String, String, &'static str, &'static str)>,
    pending: Vec<ReferralRow>,
    accepted: Vec<ReferralRow>,
    triaged: Vec<(String, String, String)>,
    agencies: Vec<(String, String)>,
    users: Vec<(String, String)>,
    quarter: String,
}

async fn panel_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let p = uc::panel_page(state.app(), &staff.caller(), id).await?;
    html(PanelTemplate {
        chrome: staff.chrome(state, &p.panel.name),
        errors,
        id: p.panel.id.clone(),
        name: p.panel.name.clone(),
        kind: p.panel.kind.label(),
        area: p.panel.area.clone(),
        chair: p.panel.chair_name.clone(),
        coordinator: p.panel.coordinator_name.clone(),
        schedule: p.schedule,
        next: p.next_scheduled.map(when).unwrap_or_default(),
        minutes_per_case: p.panel.minutes_per_case,
        window_hours: p.panel.window_after_secs / 3600,
        members: p.members,
        meetings: p
            .meetings
            .into_iter()
            .map(|m| (m.id, when(m.held_at), m.kind.label(), m.status.label()))
            .collect(),
        pending: p.pending.iter().map(referral_row).collect(),
        accepted: p.accepted.iter().map(referral_row).collect(),
        triaged: p
            .triaged
            .into_iter()
            .map(|t| (t.id, t.reference, day(t.created_at)))
            .collect(),
        agencies: p.agencies,
        users: p
            .users
            .into_iter()
            .map(|(id, name, _)| (id, name))
            .collect(),
        quarter: pathways_domain::panels::Quarter::of(now_unix())
            .previous()
            .to_string(),
    })
}

/// `GET /panels/{panel}`.
pub(crate) async fn panel(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    panel_page(&state, &staff, &id, Vec::new()).await
}

/// A member agency.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct MemberForm {
    #[serde(default)]
    agency_id: String,
    #[serde(default)]
    contact_id: String,
}

/// `POST /panels/{panel}/members`.
pub(crate) async fn add_member(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<MemberForm>,
) -> Result<Response, AppError> {
    let result = uc::add_member(
        state.app(),
        &staff.caller(),
        &id,
        &f.agency_id,
        &f.contact_id,
    )
    .await;
    let to = format!("/panels/{id}");
    respond(result, |_| to, |e| panel_page(&state, &staff, &id, e)).await
}

/// A meeting to call.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct MeetingForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    held_at: String,
    #[serde(default)]
    referral_id: String,
}

/// `POST /panels/{panel}/meetings`.
pub(crate) async fn call_meeting(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<MeetingForm>,
) -> Result<Response, AppError> {
    let result = uc::call_meeting(
        state.app(),
        &staff.caller(),
        &id,
        &uc::MeetingInput {
            kind: f.kind,
            held_at: f.held_at,
            referral_id: f.referral_id,
        },
    )
    .await;
    respond(
        result,
        |m| format!("/panels/meetings/{m}"),
        |e| panel_page(&state, &staff, &id, e),
    )
    .await
}

/// A triaged referral to take up.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TakeUpForm {
    #[serde(default)]
    referral_id: String,
}

/// `POST /panels/{panel}/triaged`.
pub(crate) async fn take_up(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<TakeUpForm>,
) -> Result<Response, AppError> {
    let result = uc::take_up_triaged(state.app(), &staff.caller(), &id, &f.referral_id).await;
    let to = format!("/panels/{id}");
    respond(result, |_| to, |e| panel_page(&state, &staff, &id, e)).await
}

/// A transfer in.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TransferInForm {
    #[serde(default)]
    other_area: String,
    #[serde(default)]
    subject_kind: String,
    #[serde(default)]
    subject_label: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    surname: String,
    #[serde(default)]
    dob: String,
    #[serde(default)]
    risk_level: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    children: String,
}

/// `POST /panels/{panel}/transfers`.
pub(crate) async fn refer_in(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<TransferInForm>,
) -> Result<Response, AppError> {
    let result = uc::refer_in(
        state.app(),
        &staff.caller(),
        &id,
        &uc::TransferInInput {
            other_area: f.other_area,
            subject_kind: f.subject_kind,
            subject_label: f.subject_label,
            first_name: f.first_name,
            surname: f.surname,
            dob: f.dob,
            risk_level: f.risk_level,
            reason: f.reason,
            children: f.children,
        },
    )
    .await;
    let to = format!("/panels/{id}");
    respond(result, |_| to, |e| panel_page(&state, &staff, &id, e)).await
}

/// A decision on a referral.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// `POST /panels/referrals/{referral}/decision`.
pub(crate) async fn decide(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let result = uc::decide_referral(
        state.app(),
        &staff.caller(),
        &id,
        &uc::DecisionInput {
            decision: f.decision,
            reason: f.reason,
        },
    )
    .await;
    let panel = state
        .store()
        .panel_referral(&id)
        .await
        .map(|r| r.panel_id)
        .unwrap_or_default();
    respond(
        result,
        |p| format!("/panels/{p}"),
        |e| panel_page(&state, &staff, &panel, e),
    )
    .await
}

/// A transfer out.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TransferOutForm {
    #[serde(default)]
    other_area: String,
    #[serde(default)]
    reason: String,
}

/// `POST /panels/referrals/{referral}/transfer`.
pub(crate) async fn transfer_out(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<TransferOutForm>,
) -> Result<Response, AppError> {
    let result =
        uc::transfer_out(state.app(), &staff.caller(), &id, &f.other_area, &f.reason).await;
    let panel = state
        .store()
        .panel_referral(&id)
        .await
        .map(|r| r.panel_id)
        .unwrap_or_default();
    respond(
        result,
        |p| format!("/panels/{p}"),
        |e| panel_page(&state, &staff, &panel, e),
    )
    .await
}

// ------------------------------------------------------------------ meetings

/// One agenda item as shown.
pub(crate) struct ItemView {
    pub id: String,
    pub position: i64,
    pub minutes: i64,
    pub running: i64,
    pub referral: ReferralRow,
    pub restricted: bool,
    pub place: bool,
    pub children: i64,
    pub perpetrator: String,
    pub returning: bool,
    pub research: Vec<AgencyResearch>,
    pub shared: Vec<(String, String)>,
    pub actions: Vec<ActionView>,
    pub risks: String,
    pub minutes_text: String,
    pub no_actions_reason: String,
    pub discussed: bool,
}

/// A meeting as its pages show it.
pub(crate) struct MeetingView {
    pub id: String,
    pub panel_id: String,
    pub panel_name: String,
    pub when: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub planned: bool,
    pub window: String,
    pub total_minutes: i64,
    pub items: Vec<ItemView>,
    pub can_manage: bool,
    pub can_research: bool,
    pub waiting: usize,
    pub members: Vec<Member>,
    pub attendance: Vec<(String, String, String)>,
    pub users: Vec<(String, String, String)>,
    pub today: String,
}

fn meeting_view(v: AgendaView) -> MeetingView {
    let now = now_unix();
    let attendance = v
        .members
        .iter()
        .map(|m| {
            let who = v
                .attendance
                .iter()
                .find(|a| a.agency_id == m.agency_id)
                .map(|a| a.attendee.clone())
                .unwrap_or_default();
            (m.agency_id.clone(), m.agency_name.clone(), who)
        })
        .collect();
    MeetingView {
        id: v.meeting.id.clone(),
        panel_id: v.panel.id.clone(),
        panel_name: v.panel.name.clone(),
        when: when(v.meeting.held_at),
        kind: v.meeting.kind.label(),
        status: v.meeting.status.label(),
        planned: v.meeting.status == pathways_domain::panels::MeetingStatus::Planned,
        window: match (v.meeting.published_at, v.meeting.window_closes_at) {
            (Some(o), Some(c)) => format!("{} to {}", when(o), when(c)),
            _ => String::new(),
        },
        total_minutes: v.total_minutes,
        items: v
            .items
            .into_iter()
            .map(|i| ItemView {
                id: i.item.id.clone(),
                position: i.item.position,
                minutes: i.item.minutes_allowed,
                running: i.running_total,
                restricted: i.subject.restricted,
                place: i.subject.referral.subject_kind != SubjectKind::Person,
                children: i.subject.referral.children,
                perpetrator: i.subject.referral.perpetrator.clone(),
                returning: i.item.returning,
                referral: referral_row(&i.subject),
                research: i
                    .research
                    .iter()
                    .map(|r| {
                        (
                            r.agency_id.clone(),
                            r.agency_name.clone(),
                            r.complete(),
                            r.entries
                                .iter()
                                .map(|e| (e.subject.label(), e.holds, e.detail.clone()))
                                .collect(),
                        )
                    })
                    .collect(),
                shared: i
                    .shared
                    .iter()
                    .map(|s| (s.agency_name.clone(), s.detail.clone()))
                    .collect(),
                actions: i.actions.iter().map(|a| action_view(a, now)).collect(),
                risks: i.item.risks.clone(),
                minutes_text: i.item.minutes.clone(),
                no_actions_reason: i.item.no_actions_reason.clone(),
                discussed: i.item.discussed,
            })
            .collect(),
        can_manage: v.can_manage,
        can_research: v.can_research,
        waiting: v.waiting,
        members: v.members,
        attendance,
        users: v.users,
        today: crate::format::iso_day(now),
    }
}

#[derive(Template)]
#[template(path = "panels/meeting.html")]
struct AgendaPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    m: MeetingView,
}

async fn agenda_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let v = uc::agenda(state.app(), &staff.caller(), id).await?;
    html(AgendaPage {
        chrome: staff.chrome(state, "Panel agenda"),
        errors,
        m: meeting_view(v),
    })
}

/// `GET /panels/meetings/{meeting}`.
pub(crate) async fn agenda(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    agenda_page(&state, &staff, &id, Vec::new()).await
}

/// `POST /panels/meetings/{meeting}/agenda`.
pub(crate) async fn build_agenda(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let result = uc::build_agenda(state.app(), &staff.caller(), &id).await;
    let to = format!("/panels/meetings/{id}");
    respond(result, |_| to, |e| agenda_page(&state, &staff, &id, e)).await
}

/// `POST /panels/meetings/{meeting}/publish`.
pub(crate) async fn publish(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let result = uc::publish_agenda(state.app(), &staff.caller(), &id).await;
    let to = format!("/panels/meetings/{id}");
    respond(result, |_| to, |e| agenda_page(&state, &staff, &id, e)).await
}

/// `POST /panels/meetings/{meeting}/chase`.
pub(crate) async fn chase(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let result = uc::chase_research(state.app(), &staff.caller(), &id).await;
    let to = format!("/panels/meetings/{id}");
    respond(result, |_| to, |e| agenda_page(&state, &staff, &id, e)).await
}

/// Research on one case.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResearchForm {
    #[serde(default)]
    item_id: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    holds: String,
    #[serde(default)]
    detail: String,
}

/// `POST /panels/meetings/{meeting}/research`.
pub(crate) async fn research(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<ResearchForm>,
) -> Result<Response, AppError> {
    let result = uc::record_research(
        state.app(),
        &staff.caller(),
        &id,
        &uc::ResearchInput {
            item_id: f.item_id,
            subject: f.subject,
            holds: f.holds,
            detail: f.detail,
        },
    )
    .await;
    let to = format!("/panels/meetings/{id}");
    respond(result, |_| to, |e| agenda_page(&state, &staff, &id, e)).await
}

#[derive(Template)]
#[template(path = "panels/chair.html")]
struct ChairPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    m: MeetingView,
    current: usize,
    prev: Option<usize>,
    next: Option<usize>,
    started: String,
}

/// Which item the chair is on.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChairQuery {
    #[serde(default)]
    item: Option<usize>,
}

async fn chair_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    at: usize,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let v = uc::agenda(state.app(), &staff.caller(), id).await?;
    if !v.can_manage {
        return Err(AppError::Forbidden(
            "the chair's view is the chair's and coordinator's".into(),
        ));
    }
    let m = meeting_view(v);
    let n = m.items.len();
    let current = at.clamp(1, n.max(1));
    html(ChairPage {
        chrome: staff.chrome(state, "Chair's view"),
        errors,
        prev: (current > 1).then(|| current - 1),
        next: (current < n).then(|| current + 1),
        current,
        started: now_unix().to_string(),
        m,
    })
}

/// `GET /panels/meetings/{meeting}/chair?item=N`.
pub(crate) async fn chair(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<ChairQuery>,
) -> Result<Response, AppError> {
    chair_page(&state, &staff, &id, q.item.unwrap_or(1), Vec::new()).await
}

/// `POST /panels/meetings/{meeting}/attendance`: `attendee:<agency id>` fields.
pub(crate) async fn attendance(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let rows = pairs
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix("attendee:").map(|a| (a.to_string(), v)))
        .collect();
    let result = uc::record_attendance(
        state.app(),
        &staff.caller(),
        &id,
        &uc::AttendanceInput { rows },
    )
    .await;
    let to = format!("/panels/meetings/{id}/chair");
    respond(result, |_| to, |e| chair_page(&state, &staff, &id, 1, e)).await
}

/// `POST /panels/meetings/{meeting}/discussion`: `item_id`, `position`, `risks`,
/// `minutes`, `no_actions_reason` and `shared:<agency id>` fields.
pub(crate) async fn discussion(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let position: usize = get("position").parse().unwrap_or(1);
    let input = uc::DiscussionInput {
        item_id: get("item_id"),
        shared: pairs
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("shared:")
                    .map(|a| (a.to_string(), v.clone()))
            })
            .collect(),
        risks: get("risks"),
        minutes: get("minutes"),
        no_actions_reason: get("no_actions_reason"),
    };
    let result = uc::record_discussion(state.app(), &staff.caller(), &id, &input).await;
    let to = format!("/panels/meetings/{id}/chair?item={}", position + 1);
    respond(
        result,
        |_| to,
        |e| chair_page(&state, &staff, &id, position, e),
    )
    .await
}

/// An action agreed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    item_id: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    agency_id: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    due_at: String,
}

/// `POST /panels/meetings/{meeting}/actions`.
pub(crate) async fn add_action(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Result<Response, AppError> {
    let position: usize = f.position.parse().unwrap_or(1);
    let result = uc::add_action(
        state.app(),
        &staff.caller(),
        &id,
        &uc::ActionInput {
            item_id: f.item_id,
            agency_id: f.agency_id,
            owner_id: f.owner_id,
            title: f.title,
            due_at: f.due_at,
        },
    )
    .await;
    let to = format!("/panels/meetings/{id}/chair?item={position}");
    respond(
        result,
        |_| to,
        |e| chair_page(&state, &staff, &id, position, e),
    )
    .await
}

#[derive(Template)]
#[template(path = "panels/minutes.html")]
struct MinutesPage {
    chrome: Chrome,
    m: MeetingView,
}

/// `GET /panels/meetings/{meeting}/minutes`.
pub(crate) async fn minutes(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let v = uc::minutes(state.app(), &staff.caller(), &id).await?;
    html(MinutesPage {
        chrome: staff.chrome(&state, "Panel minutes"),
        m: meeting_view(v),
    })
}

// ------------------------------------------------------------------ data return

/// Which quarter.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct QuarterQuery {
    #[serde(default)]
    quarter: String,
}

#[derive(Template)]
#[template(path = "panels/data_return.html")]
struct DataReturnPage {
    chrome: Chrome,
    panel_id: String,
    panel_name: String,
    quarter: String,
    previous: String,
    measures: Vec<Measure>,
    threshold: i64,
}

/// `GET /panels/{panel}/data-return?quarter=2026Q3`.
pub(crate) async fn data_return(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<QuarterQuery>,
) -> Result<Response, AppError> {
    let v = uc::data_return(state.app(), &staff.caller(), &id, &q.quarter, false).await?;
    html(DataReturnPage {
        chrome: staff.chrome(&state, "Data return"),
        panel_id: v.panel.id.clone(),
        panel_name: v.panel.name.clone(),
        quarter: v.quarter.to_string(),
        previous: v.quarter.previous().to_string(),
        measures: v.measures,
        threshold: v.panel.suppress_below,
    })
}

/// `GET /panels/{panel}/data-return.csv?quarter=2026Q3`.
pub(crate) async fn data_return_csv(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<QuarterQuery>,
) -> Result<Response, AppError> {
    if !staff.can(Permission::CoordinatePanels) {
        return Err(AppError::Forbidden("needs coordinate_panels".into()));
    }
    let v = uc::data_return(state.app(), &staff.caller(), &id, &q.quarter, true).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"data-return-{}.csv\"", v.quarter),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        v.csv(),
    )
        .into_response())
}

/// `GET /api/v1/panels/{panel}/data-return?quarter=2026Q3`.
pub(crate) async fn data_return_json(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    Query(q): Query<QuarterQuery>,
) -> Result<Response, AppError> {
    let v = uc::data_return(state.app(), &caller.caller(), &id, &q.quarter, true).await?;
    Ok(Json(v.json()).into_response())
}
