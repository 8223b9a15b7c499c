//! The agenda: built from accepted referrals and cases returning with open actions,
//! ordered by risk, repeat and waiting time with a time allowance per case and a running
//! total; published to member agencies, which opens the panel window; read by the
//! coordinator at any time and by member agencies while the window is open; and each
//! member agency's research, with its status per agency and case and the chasing of what
//! is outstanding.

use pathways_domain::AuditAction;
use pathways_domain::access::panel::{PanelAction, PanelFacts, decide_panel};
use pathways_domain::access::{Action, Decision, Denial, decide};
use pathways_domain::panels::{
    AgendaCandidate, ReferralStatus, ResearchSubject, SubjectKind, order_agenda,
};
use pathways_domain::risk::RiskLevel;
use pathways_domain::time::format_when;
use pathways_store::now_unix;
use pathways_store::panels::{
    Attendance, Item, Meeting, Member, NewItem, Panel, PanelActionRow, PanelReferral, Research,
    Shared,
};

use super::{MEETING, conflict, meeting_access};
use crate::{App, Caller, Error, Fields, Result, commit};

/// Who a panel referral is about, as the caller may see it.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The referral.
    pub referral: PanelReferral,
    /// The name (a person's, a place's, a peer group's) or, for a restricted person, whom
    /// to contact.
    pub name: String,
    /// Date of birth, when the caller may see it.
    pub dob: String,
    /// True when the person is restricted and the caller is not on the list.
    pub restricted: bool,
}

/// Decides, through the record policy with the meeting's windows added, what the caller
/// may see of each referral's subject.
pub(crate) async fn subjects(
    app: &App,
    caller: &Caller,
    facts: &PanelFacts,
    referrals: Vec<PanelReferral>,
) -> Result<Vec<Subject>> {
    let store = app.store();
    let now = now_unix();
    let mut out = Vec::with_capacity(referrals.len());
    for referral in referrals {
        if referral.subject_kind != SubjectKind::Person {
            out.push(Subject {
                name: format!(
                    "{}: {}",
                    referral.subject_kind.label(),
                    referral.subject_label
                ),
                dob: String::new(),
                restricted: false,
                referral,
            });
            continue;
        }
        let Some(person_id) = referral.person_id.clone() else {
            continue;
        };
        let person = store.person(&person_id).await?;
        let mut record = match &referral.case_id {
            Some(c) => store.case_facts(c).await?,
            None => store.person_facts(&person).await?,
        };
        record.panels.extend(facts.record_windows());
        let (name, dob, restricted) = match decide(&caller.actor, Action::ViewRecord, &record, now)
        {
            Decision::Allow(_) => (
                format!("{} {}", person.details.first_name, person.details.surname),
                person.details.dob.clone().unwrap_or_default(),
                false,
            ),
            Decision::Deny(Denial::Restricted { contact }) => (
                format!("Restricted record: contact {contact}"),
                String::new(),
                true,
            ),
            Decision::Deny(_) => ("Not available to you".into(), String::new(), true),
        };
        out.push(Subject {
            referral,
            name,
            dob,
            restricted,
        });
    }
    Ok(out)
}

/// One agency's research on one item.
#[derive(Debug, Clone)]
pub struct ResearchStatus {
    /// Agency.
    pub agency_id: String,
    /// Agency name.
    pub agency_name: String,
    /// Entries recorded (victim, perpetrator, children).
    pub entries: Vec<Research>,
}

impl ResearchStatus {
    /// True when all three subjects are recorded.
    pub fn complete(&self) -> bool {
        self.entries.len() >= ResearchSubject::ALL.len()
    }
}

/// One item as the agenda shows it.
#[derive(Debug, Clone)]
pub struct AgendaItem {
    /// The item.
    pub item: Item,
    /// Who it is about.
    pub subject: Subject,
    /// Minutes from the start of the meeting to the end of this item.
    pub running_total: i64,
    /// The eligibility summary and criteria lines.
    pub criteria: (String, Vec<String>),
    /// Research per member agency (the caller's own only, for a member agency).
    pub research: Vec<ResearchStatus>,
    /// What each agency shared at the meeting.
    pub shared: Vec<Shared>,
    /// Actions on the case.
    pub actions: Vec<PanelActionRow>,
}

/// A meeting's agenda as the caller may see it.
#[derive(Debug, Clone)]
pub struct AgendaView {
    /// The panel.
    pub panel: Panel,
    /// The meeting.
    pub meeting: Meeting,
    /// Items in order.
    pub items: Vec<AgendaItem>,
    /// Minutes allowed in all.
    pub total_minutes: i64,
    /// Member agencies.
    pub members: Vec<Member>,
    /// Attendance.
    pub attendance: Vec<Attendance>,
    /// True for the coordinator and chair.
    pub can_manage: bool,
    /// True when the caller's agency may record research now.
    pub can_research: bool,
    /// Accepted panel cases waiting to be listed (the coordinator's view).
    pub waiting: usize,
    /// Users who may own actions: id, name, agency.
    pub users: Vec<(String, String, String)>,
}

fn criteria_of(eligibility: &str) -> (String, Vec<String>) {
    let v: serde_json::Value = serde_json::from_str(eligibility).unwrap_or_default();
    let summary = v
        .get("summary")
        .and_then(|s| s.as_str())
        .unwrap_or_default()
        .to_string();
    let lines = v
        .get("criteria")
        .and_then(|c| c.as_array())
        .map(|items| {
            items
                .iter()
                .filter(|c| c.get("met").and_then(|m| m.as_bool()).unwrap_or(false))
                .filter_map(|c| {
                    c.get("explanation")
                        .and_then(|e| e.as_str())
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    (summary, lines)
}

/// Reads a meeting's agenda (also the chair's view and the minutes): allowed to the
/// coordinator and chair, and to member agencies while the window is open. The read is
/// audited with `audit`.
pub(crate) async fn read_meeting(
    app: &App,
    caller: &Caller,
    meeting_id: &str,
    action: PanelAction,
    audit: AuditAction,
) -> Result<AgendaView> {
    let opened = meeting_access(app, caller, meeting_id, action, audit).await?;
    build_view(
        app,
        caller,
        opened.panel,
        opened.meeting,
        &opened.facts,
        None,
        audit,
    )
    .await
}

/// The minutes of the items whose cases the caller's team works, for a case team reading
/// after the window closed.
pub(crate) async fn read_as_team(
    app: &App,
    caller: &Caller,
    meeting: &Meeting,
    facts: PanelFacts,
    only: &[String],
) -> Result<AgendaView> {
    let panel = app.store().panel(&meeting.panel_id).await?;
    build_view(
        app,
        caller,
        panel,
        meeting.clone(),
        &facts,
        Some(only),
        AuditAction::PanelMinutesRead,
    )
    .await
}

async fn build_view(
    app: &App,
    caller: &Caller,
    panel: Panel,
    meeting: Meeting,
    facts: &PanelFacts,
    only: Option<&[String]>,
    audit: AuditAction,
) -> Result<AgendaView> {
    let meeting_id = meeting.id.clone();
    let meeting_id = meeting_id.as_str();
    let store = app.store();
    let now = now_unix();
    let can_manage = decide_panel(&caller.actor, PanelAction::Manage, facts, now).allowed();
    let can_research = decide_panel(&caller.actor, PanelAction::Research, facts, now).allowed();
    let items: Vec<Item> = store
        .items(meeting_id)
        .await?
        .into_iter()
        .filter(|i| only.is_none_or(|o| o.contains(&i.id)))
        .collect();
    let mut referrals = Vec::with_capacity(items.len());
    for item in &items {
        referrals.push(store.panel_referral(&item.referral_id).await?);
    }
    let subjects = subjects(app, caller, facts, referrals).await?;
    let members = store.panel_members(&panel.id).await?;
    let research = store.research(meeting_id).await?;
    let shared = store.shared(meeting_id).await?;
    let actions = store.meeting_actions(meeting_id).await?;
    let mut running = 0;
    let mut out = Vec::with_capacity(items.len());
    for (item, subject) in items.into_iter().zip(subjects) {
        running += item.minutes_allowed;
        let research = members
            .iter()
            .filter(|m| can_manage || m.agency_id == caller.actor.agency_id)
            .map(|m| ResearchStatus {
                agency_id: m.agency_id.clone(),
                agency_name: m.agency_name.clone(),
                entries: research
                    .iter()
                    .filter(|r| r.item_id == item.id && r.agency_id == m.agency_id)
                    .cloned()
                    .collect(),
            })
            .collect();
        out.push(AgendaItem {
            criteria: criteria_of(&subject.referral.eligibility),
            running_total: running,
            research,
            shared: shared
                .iter()
                .filter(|s| s.item_id == item.id)
                .cloned()
                .collect(),
            actions: actions
                .iter()
                .filter(|a| a.referral_id == item.referral_id)
                .cloned()
                .collect(),
            subject,
            item,
        });
    }
    let waiting = if can_manage {
        candidates(app, &panel, meeting_id).await?.len()
    } else {
        0
    };
    app.audit(caller.event(audit, MEETING, meeting_id)).await?;
    Ok(AgendaView {
        attendance: store.attendance(meeting_id).await?,
        users: if can_manage {
            super::people_to_name(app).await?
        } else {
            Vec::new()
        },
        panel,
        meeting,
        total_minutes: running,
        items: out,
        members,
        can_manage,
        can_research,
        waiting,
    })
}

/// A meeting's agenda, audited as an agenda view.
pub async fn agenda(app: &App, caller: &Caller, meeting_id: &str) -> Result<AgendaView> {
    read_meeting(
        app,
        caller,
        meeting_id,
        PanelAction::ReadAgenda,
        AuditAction::PanelAgendaView,
    )
    .await
}

/// Accepted panel cases that may go on `meeting_id`'s agenda: not yet discussed, or back
/// with actions open; not listed on another meeting still to be held.
async fn candidates(app: &App, panel: &Panel, meeting_id: &str) -> Result<Vec<AgendaCandidate>> {
    let store = app.store();
    let mut out = Vec::new();
    let open: std::collections::HashSet<String> = store
        .referrals_with_open_actions(&panel.id)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    for r in store
        .panel_referrals(&panel.id, Some(ReferralStatus::Accepted))
        .await?
    {
        let listed = store.items_of_referral(&r.id).await?;
        if listed
            .iter()
            .any(|(i, status)| i.meeting_id != meeting_id && status != "held")
        {
            continue;
        }
        let discussed = listed.iter().any(|(i, _)| i.discussed);
        let open_actions = open.contains(&r.id);
        if discussed && !open_actions {
            continue;
        }
        let risk = match &r.case_id {
            Some(c) => store.case(c).await?.risk_level,
            None => r.risk_level.clone(),
        };
        out.push(AgendaCandidate {
            referral_id: r.id.clone(),
            risk: RiskLevel::parse(&risk).ok(),
            repeat: r.repeat,
            referred_at: r.referred_at,
            returning: discussed,
        });
    }
    Ok(order_agenda(out))
}

/// Builds a planned meeting's agenda from the accepted panel cases, in order, each with the
/// panel's time allowance. Returns how many cases were listed.
pub async fn build_agenda(app: &App, caller: &Caller, meeting_id: &str) -> Result<usize> {
    let opened = meeting_access(
        app,
        caller,
        meeting_id,
        PanelAction::Manage,
        AuditAction::PanelAgendaBuild,
    )
    .await?;
    let list = candidates(app, &opened.panel, meeting_id).await?;
    if list.is_empty() {
        return Err(Error::invalid(
            "agenda",
            "No accepted panel cases are waiting for a meeting",
        ));
    }
    let items: Vec<NewItem> = list
        .iter()
        .map(|c| NewItem {
            referral_id: c.referral_id.clone(),
            minutes_allowed: opened.panel.minutes_per_case,
            returning: c.returning,
        })
        .collect();
    let mut tx = app.write().await?;
    tx.set_agenda(&opened.cap, &items).await.map_err(conflict)?;
    commit(
        tx,
        &caller.event(AuditAction::PanelAgendaBuild, MEETING, meeting_id),
    )
    .await?;
    Ok(items.len())
}

/// Publishes a meeting's agenda to the member agencies: the panel window opens now and
/// closes the panel's set time after the meeting. Points of contact are told in the
/// application and by e-mail in the same transaction.
pub async fn publish_agenda(app: &App, caller: &Caller, meeting_id: &str) -> Result<()> {
    let opened = meeting_access(
        app,
        caller,
        meeting_id,
        PanelAction::Manage,
        AuditAction::PanelAgendaPublish,
    )
    .await?;
    if app.store().items(meeting_id).await?.is_empty() {
        return Err(Error::invalid(
            "agenda",
            "Build the agenda before publishing it",
        ));
    }
    let (_, closes) = pathways_domain::access::panel::window(
        now_unix(),
        opened.meeting.held_at,
        opened.panel.window_after_secs,
    );
    let notice = format!(
        "The agenda of {} on {} is published: record your agency's research.",
        opened.panel.name,
        format_when(opened.meeting.held_at)
    );
    let mut tx = app.write().await?;
    tx.publish_agenda(
        &opened.cap,
        closes,
        &notice,
        &format!("/panels/meetings/{meeting_id}"),
    )
    .await
    .map_err(conflict)?;
    commit(
        tx,
        &caller.event(AuditAction::PanelAgendaPublish, MEETING, meeting_id),
    )
    .await
}

/// Research as typed by a member agency.
#[derive(Debug, Clone, Default)]
pub struct ResearchInput {
    /// The agenda item.
    pub item_id: String,
    /// `victim`, `perpetrator` or `children`.
    pub subject: String,
    /// `holds` or `nothing_held`.
    pub holds: String,
    /// What is held.
    pub detail: String,
}

/// Records what the caller's agency holds about one subject of one case on the agenda. Only
/// member agencies, only while the window is open; an item that is not on this meeting's
/// agenda is refused and nothing is saved.
pub async fn record_research(
    app: &App,
    caller: &Caller,
    meeting_id: &str,
    input: &ResearchInput,
) -> Result<()> {
    let opened = meeting_access(
        app,
        caller,
        meeting_id,
        PanelAction::Research,
        AuditAction::PanelResearch,
    )
    .await?;
    let mut f = Fields::new();
    let item = f.required(&input.item_id, "item_id", "Choose the case on the agenda");
    let subject = ResearchSubject::parse(input.subject.trim()).ok();
    f.check(
        subject.is_none(),
        "subject",
        "Choose whose records this is about: the victim, the alleged perpetrator or the children",
    );
    let holds = match input.holds.trim() {
        "holds" => Some(true),
        "nothing_held" => Some(false),
        _ => None,
    };
    f.check(
        holds.is_none(),
        "holds",
        "Say whether your agency holds anything",
    );
    f.check(
        holds == Some(true) && input.detail.trim().is_empty(),
        "detail",
        "Enter what your agency holds",
    );
    f.finish()?;
    let mut tx = app.write().await?;
    match tx
        .record_research(
            &opened.cap,
            &pathways_store::panels::ResearchEntry {
                item_id: item.to_string(),
                agency_id: caller.actor.agency_id.clone(),
                subject: subject.unwrap_or(ResearchSubject::Victim),
                holds: holds == Some(true),
                detail: input.detail.trim().to_string(),
                by: caller.user_id().to_string(),
            },
        )
        .await
    {
        Ok(()) => {}
        Err(pathways_store::StoreError::NotFound { .. }) => {
            return Err(Error::invalid(
                "item_id",
                "That case is not on this meeting's agenda",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let mut event = caller.event(AuditAction::PanelResearch, MEETING, meeting_id);
    event.reason = format!(
        "item {item}, {}",
        subject.map(|s| s.key()).unwrap_or_default()
    );
    commit(tx, &event).await
}

/// Chases the member agencies whose research for a published meeting is incomplete, in the
/// application and by e-mail. Returns how many agencies were chased.
pub async fn chase_research(app: &App, caller: &Caller, meeting_id: &str) -> Result<usize> {
    let opened = meeting_access(
        app,
        caller,
        meeting_id,
        PanelAction::Manage,
        AuditAction::PanelChase,
    )
    .await?;
    let mut tx = app.write().await?;
    let n = tx
        .chase_research(&opened.cap, &format!("/panels/meetings/{meeting_id}"))
        .await?;
    let mut event = caller.event(AuditAction::PanelChase, MEETING, meeting_id);
    event.reason = format!("{n} agencies chased for research");
    commit(tx, &event).await?;
    Ok(n)
}
