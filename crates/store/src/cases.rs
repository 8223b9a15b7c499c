//! Cases: the case file (team, chronology, tasks, plan, reviews, documents, closure), risk
//! assessments, service referrals with their status workflow, consortium routing, break-glass.
//!
//! Lists never decide access on their own: the caseload query narrows candidates in SQL the
//! same way the access policy would (case team, restriction access list, break-glass), and
//! callers still ask `pathways_domain::decide` for every row they show, using
//! [`Store::case_facts_many`]. Every multi-step write runs in one transaction.

use std::collections::HashMap;

use pathways_domain::RecordFacts;
use pathways_domain::access::{BreakGlassGrant, Restriction};
use sqlx::Row as _;

use crate::restriction::AccessListKind;
use crate::{Row, Store, StoreError, Tx, new_id, now_unix};

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Being worked.
    Open,
    /// Paused (the person is away, in custody, in hospital ...).
    OnHold,
    /// Closed with a reason and outcome measures.
    Closed,
}

impl CaseStatus {
    /// Every status, in display order.
    pub const ALL: [CaseStatus; 3] = [CaseStatus::Open, CaseStatus::OnHold, CaseStatus::Closed];

    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::OnHold => "on_hold",
            CaseStatus::Closed => "closed",
        }
    }

    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            CaseStatus::Open => "Open",
            CaseStatus::OnHold => "On hold",
            CaseStatus::Closed => "Closed",
        }
    }

    /// Parses a stored key.
    pub fn parse(key: &str) -> Option<CaseStatus> {
        CaseStatus::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// Status of a referral from a case to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// Sent, waiting for the service to respond.
    Sent,
    /// The service accepted the referral.
    Accepted,
    /// The service declined it (with a reason).
    Declined,
    /// The person started with the service.
    Started,
    /// The person completed the service.
    Completed,
    /// The person stopped engaging (with a reason).
    Disengaged,
}

impl ReferralStatus {
    /// Every status, in workflow order.
    pub const ALL: [ReferralStatus; 6] = [
        ReferralStatus::Sent,
        ReferralStatus::Accepted,
        ReferralStatus::Declined,
        ReferralStatus::Started,
        ReferralStatus::Completed,
        ReferralStatus::Disengaged,
    ];

    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            ReferralStatus::Sent => "sent",
            ReferralStatus::Accepted => "accepted",
            ReferralStatus::Declined => "declined",
            ReferralStatus::Started => "started",
            ReferralStatus::Completed => "completed",
            ReferralStatus::Disengaged => "disengaged",
        }
    }

    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            ReferralStatus::Sent => "Sent",
            ReferralStatus::Accepted => "Accepted",
            ReferralStatus::Declined => "Declined",
            ReferralStatus::Started => "Started",
            ReferralStatus::Completed => "Completed",
            ReferralStatus::Disengaged => "Disengaged",
        }
    }

    /// Parses a stored key.
    pub fn parse(key: &str) -> Option<ReferralStatus> {
        ReferralStatus::ALL.into_iter().find(|s| s.key() == key)
    }

    /// The statuses the workflow allows next from this one.
    pub fn next(self) -> &'static [ReferralStatus] {
        use ReferralStatus::*;
        match self {
            Sent => &[Accepted, Declined],
            Accepted => &[Started],
            Started => &[Completed, Disengaged],
            Declined | Completed | Disengaged => &[],
        }
    }

    /// True when a move into this status must say why.
    pub fn needs_reason(self) -> bool {
        matches!(self, ReferralStatus::Declined | ReferralStatus::Disengaged)
    }
}

/// Why a referral status change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The move skips or reverses the workflow.
    #[error("a referral cannot move from {} to {}: {}", .from.label().to_lowercase(), .to.label().to_lowercase(), allowed_text(*.from))]
    NotAllowed {
        /// Current status.
        from: ReferralStatus,
        /// Requested status.
        to: ReferralStatus,
    },
    /// Declining and disengagement must give a reason.
    #[error("give a reason for marking the referral {}", .0.label().to_lowercase())]
    ReasonRequired(ReferralStatus),
}

fn allowed_text(from: ReferralStatus) -> String {
    let next = from.next();
    if next.is_empty() {
        return format!("{} is a final status", from.label().to_lowercase());
    }
    let names: Vec<String> = next.iter().map(|s| s.label().to_lowercase()).collect();
    format!(
        "from {} it can only become {}",
        from.label().to_lowercase(),
        names.join(" or ")
    )
}

/// The referral workflow as one pure rule: sent → accepted / declined → started →
/// completed / disengaged. Declined and disengaged need a non-blank reason.
pub fn transition(
    from: ReferralStatus,
    to: ReferralStatus,
    reason: &str,
) -> Result<(), TransitionError> {
    if !from.next().contains(&to) {
        return Err(TransitionError::NotAllowed { from, to });
    }
    if to.needs_reason() && reason.trim().is_empty() {
        return Err(TransitionError::ReasonRequired(to));
    }
    Ok(())
}

/// Consent to share with a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// The person agreed.
    Given,
    /// The person refused; sharing needs a lawful basis and reason.
    Refused,
    /// Consent was not sought; sharing needs a lawful basis and reason.
    NotSought,
}

impl Consent {
    /// Stored key.
    pub fn key(self) -> &'static str {
        match self {
            Consent::Given => "given",
            Consent::Refused => "refused",
            Consent::NotSought => "not_sought",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Consent::Given => "Consent given",
            Consent::Refused => "Consent refused",
            Consent::NotSought => "Consent not sought",
        }
    }

    /// Parses a stored key.
    pub fn parse(key: &str) -> Option<Consent> {
        [Consent::Given, Consent::Refused, Consent::NotSought]
            .into_iter()
            .find(|c| c.key() == key)
    }
}

/// A case as lists and the case page show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    /// Id.
    pub id: String,
    /// Short human reference (`C-1A2B3C4D`).
    pub reference: String,
    /// The person the case is about.
    pub person_id: String,
    /// The person's name, for those allowed to see it.
    pub person_name: String,
    /// The referral the case was opened from.
    pub referral_id: Option<String>,
    /// Who made that referral.
    pub referrer_id: Option<String>,
    /// Lead worker.
    pub lead_worker_id: String,
    /// Lead worker's display name.
    pub lead_worker_name: String,
    /// The lead worker's agency.
    pub lead_agency_id: String,
    /// Status.
    pub status: CaseStatus,
    /// Opened.
    pub opened_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Closed.
    pub closed_at: Option<i64>,
    /// Why it closed.
    pub closure_reason: String,
    /// Outcome measures at closure (JSON object text).
    pub closure_outcomes: String,
    /// True when the case itself is restricted.
    pub restricted: bool,
    /// Current risk level key (`high`), empty before any assessment.
    pub risk_level: String,
    /// Instrument of the current risk.
    pub risk_instrument: String,
    /// Score of the current risk.
    pub risk_score: Option<i64>,
    /// When the current risk was assessed.
    pub risk_at: Option<i64>,
    /// MARAC eligibility of the latest DASH.
    pub marac_eligible: bool,
    /// Earliest due date of an open task.
    pub next_task_due_at: Option<i64>,
    /// Earliest due date of a review not yet held.
    pub next_review_at: Option<i64>,
}

const CASE_COLUMNS: &str = "c.id, c.reference, c.person_id, \
    p.first_name || ' ' || p.surname AS person_name, c.referral_id, c.referrer_id, \
    c.lead_worker_id, u.display_name AS lead_worker_name, c.lead_agency_id, c.status, c.opened_at, \
    c.updated_at, c.closed_at, c.closure_reason, c.closure_outcomes, c.restricted, c.risk_level, \
    c.risk_instrument, c.risk_score, c.risk_at, c.marac_eligible, c.next_task_due_at, c.next_review_at";

const CASE_FROM: &str =
    "cases c JOIN people p ON p.id = c.person_id JOIN users u ON u.id = c.lead_worker_id";

/// The case columns each team row carries (copied by triggers, see migration 0007), under
/// the names the caseload conditions and sort orders use.
const TEAM_COLUMNS: &str = "t.case_id AS id, t.status, t.restricted, t.person_id, t.risk_level, \
    t.risk_at, t.opened_at, t.updated_at, t.next_task_due_at, t.next_review_at";

/// What a caseload reads from, as `c` (with the person as `p` when a name is needed).
///
/// Every view but search reads its candidates from the team rows: one range of the
/// `case_team_list` index, no case row per candidate. "Mine" is the user's own rows, "team"
/// the agency's; the other tabs (and the tab counts) read both, flagged `mine` and `team`,
/// and `worked` marks each case the user works exactly once (the agency's row, or the
/// user's own where the agency is not on the team). The filter binds the user as `$1` and
/// the agency as `$2`.
fn list_from(q: &CaseloadQuery) -> String {
    let source = match q.view {
        CaseloadView::Search => "cases c".to_string(),
        CaseloadView::Mine => format!(
            "(SELECT {TEAM_COLUMNS} FROM case_team t WHERE t.member_kind = 'user' AND t.member_id = $1) c"
        ),
        CaseloadView::Team => format!(
            "(SELECT {TEAM_COLUMNS} FROM case_team t WHERE t.member_kind = 'agency' AND t.member_id = $2) c"
        ),
        CaseloadView::OverdueTasks | CaseloadView::ReviewsDue | CaseloadView::HighRisk => format!(
            "(SELECT {TEAM_COLUMNS}, 1 AS mine, 0 AS team, \
             CASE WHEN EXISTS (SELECT 1 FROM case_team x WHERE x.case_id = t.case_id \
             AND x.member_kind = 'agency' AND x.member_id = $2) THEN 0 ELSE 1 END AS worked \
             FROM case_team t WHERE t.member_kind = 'user' AND t.member_id = $1 \
             UNION ALL \
             SELECT {TEAM_COLUMNS}, 0 AS mine, 1 AS team, 1 AS worked \
             FROM case_team t WHERE t.member_kind = 'agency' AND t.member_id = $2) c"
        ),
    };
    if needs_person(q) {
        format!("{source} JOIN people p ON p.id = c.person_id")
    } else {
        source
    }
}

fn needs_person(q: &CaseloadQuery) -> bool {
    q.sort == CaseSort::Name || q.text.as_deref().is_some_and(|t| !t.trim().is_empty())
}

fn case_from(r: &Row) -> Result<CaseRow, StoreError> {
    let status: String = r.try_get("status")?;
    Ok(CaseRow {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        person_id: r.try_get("person_id")?,
        person_name: r.try_get("person_name")?,
        referral_id: r.try_get("referral_id")?,
        referrer_id: r.try_get("referrer_id")?,
        lead_worker_id: r.try_get("lead_worker_id")?,
        lead_worker_name: r.try_get("lead_worker_name")?,
        lead_agency_id: r.try_get("lead_agency_id")?,
        status: CaseStatus::parse(&status).ok_or_else(|| {
            StoreError::Conflict(format!("unknown case status {status:?} in the database"))
        })?,
        opened_at: r.try_get("opened_at")?,
        updated_at: r.try_get("updated_at")?,
        closed_at: r.try_get("closed_at")?,
        closure_reason: r.try_get("closure_reason")?,
        closure_outcomes: r.try_get("closure_outcomes")?,
        restricted: r.try_get::<i64, _>("restricted")? != 0,
        risk_level: r.try_get("risk_level")?,
        risk_instrument: r.try_get("risk_instrument")?,
        risk_score: r.try_get("risk_score")?,
        risk_at: r.try_get("risk_at")?,
        marac_eligible: r.try_get::<i64, _>("marac_eligible")? != 0,
        next_task_due_at: r.try_get("next_task_due_at")?,
        next_review_at: r.try_get("next_review_at")?,
    })
}

/// What is needed to open a case.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    /// The person (from the person index).
    pub person_id: String,
    /// The triaged referral the case comes from, if any.
    pub referral_id: Option<String>,
    /// Who made that referral (they may follow its status and outcome).
    pub referrer_id: Option<String>,
    /// The lead worker; their agency becomes a case team member.
    pub lead_worker_id: String,
    /// Who opened it.
    pub opened_by: String,
    /// Restrict the case to a named access list from the start.
    pub restricted: bool,
    /// Whom others should contact about a restricted case.
    pub restriction_contact: String,
    /// Extra named users on the access list (the lead worker is always on it).
    pub access_list: Vec<String>,
}

/// A member of a case team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    /// `user` or `agency`.
    pub kind: String,
    /// User or agency id.
    pub id: String,
    /// Display name of the user or agency.
    pub name: String,
    /// Role on the case (`lead`, `worker`, `agency`).
    pub role: String,
}

/// One chronology entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Id.
    pub id: String,
    /// `note`, `contact`, `street_contact` or `event`.
    pub kind: String,
    /// When it happened.
    pub occurred_at: i64,
    /// When it was recorded.
    pub recorded_at: i64,
    /// Author's display name.
    pub author_name: String,
    /// One-line summary.
    pub summary: String,
    /// Detail.
    pub body: String,
    /// Where (street contacts).
    pub place: String,
    /// How (phone, visit, street ...).
    pub contact_method: String,
}

/// A new chronology entry.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// `note`, `contact`, `street_contact` or `event`.
    pub kind: String,
    /// When it happened.
    pub occurred_at: i64,
    /// One-line summary.
    pub summary: String,
    /// Detail.
    pub body: String,
    /// Where (required for street contacts).
    pub place: String,
    /// How.
    pub contact_method: String,
}

/// A task on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Id.
    pub id: String,
    /// What to do.
    pub title: String,
    /// Owner's user id.
    pub owner_id: String,
    /// Owner's display name.
    pub owner_name: String,
    /// Due.
    pub due_at: i64,
    /// Done.
    pub done_at: Option<i64>,
}

/// A goal of the case plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    /// Id.
    pub id: String,
    /// The goal.
    pub goal: String,
    /// Agreed actions.
    pub actions: String,
    /// `open`, `achieved` or `dropped`.
    pub status: String,
    /// Target date.
    pub target_at: Option<i64>,
}

/// A scheduled review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Id.
    pub id: String,
    /// Due.
    pub due_at: i64,
    /// Held.
    pub held_at: Option<i64>,
    /// Notes of the review.
    pub notes: String,
}

/// A stored document without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentMeta {
    /// Id.
    pub id: String,
    /// The uploaded file name (cleaned).
    pub filename: String,
    /// The type found from the file's bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Uploaded.
    pub uploaded_at: i64,
    /// Uploader's display name.
    pub uploaded_by_name: String,
}

/// A risk assessment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// Id.
    pub id: String,
    /// Instrument key.
    pub instrument: String,
    /// Instrument version used.
    pub version: i64,
    /// Canonical answers (JSON object text).
    pub answers: String,
    /// Score.
    pub score: i64,
    /// Highest possible score.
    pub max_score: i64,
    /// Level from the bands.
    pub computed_level: String,
    /// Level in force (after professional judgement).
    pub level: String,
    /// The judgement's reason, empty when none.
    pub judgement_reason: String,
    /// MARAC eligibility (DASH).
    pub marac_eligible: bool,
    /// The eligibility with its explanations (JSON text, `null` when not applicable).
    pub eligibility: String,
    /// When.
    pub assessed_at: i64,
    /// Assessor's display name.
    pub assessed_by_name: String,
}

/// A new assessment, already scored by the risk rules.
#[derive(Debug, Clone, Default)]
pub struct NewAssessment {
    /// Instrument key.
    pub instrument: String,
    /// Instrument version.
    pub version: i64,
    /// Canonical answers (JSON object text).
    pub answers: String,
    /// Score.
    pub score: i64,
    /// Highest possible score.
    pub max_score: i64,
    /// Level from the bands.
    pub computed_level: String,
    /// Level in force.
    pub level: String,
    /// Judgement reason, empty when none.
    pub judgement_reason: String,
    /// MARAC eligibility.
    pub marac_eligible: bool,
    /// Eligibility JSON (`null` when not applicable).
    pub eligibility: String,
}

/// A referral from a case to a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceReferral {
    /// Id.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// The case's reference.
    pub case_reference: String,
    /// Directory service id.
    pub service_id: String,
    /// Service name at the time of referral.
    pub service_name: String,
    /// Service category key (`substance_misuse` ...).
    pub category: String,
    /// Receiving agency (or consortium hub).
    pub to_agency_id: String,
    /// Receiving agency's name.
    pub to_agency_name: String,
    /// Member agency a hub allocated it to.
    pub allocated_agency_id: Option<String>,
    /// Allocated member's name.
    pub allocated_agency_name: Option<String>,
    /// When allocated.
    pub allocated_at: Option<i64>,
    /// Consent.
    pub consent: Consent,
    /// Lawful basis when sharing without consent.
    pub lawful_basis: String,
    /// Why sharing without consent is lawful.
    pub share_reason: String,
    /// The information-sharing agreement relied on.
    pub sharing_agreement: String,
    /// Why the person is referred.
    pub reason: String,
    /// Status.
    pub status: ReferralStatus,
    /// Reason given with the latest status change.
    pub status_reason: String,
    /// Sent.
    pub sent_at: i64,
    /// Sender's user id.
    pub sent_by: String,
    /// Accepted or declined.
    pub responded_at: Option<i64>,
    /// Started.
    pub started_at: Option<i64>,
    /// Completed or disengaged.
    pub ended_at: Option<i64>,
}

/// A new service referral.
#[derive(Debug, Clone)]
pub struct NewServiceReferral {
    /// The case.
    pub case_id: String,
    /// Directory service id.
    pub service_id: String,
    /// Service name.
    pub service_name: String,
    /// Category key.
    pub category: String,
    /// Receiving agency.
    pub to_agency_id: String,
    /// Consent.
    pub consent: Consent,
    /// Lawful basis when sharing without consent.
    pub lawful_basis: String,
    /// Why sharing without consent is lawful.
    pub share_reason: String,
    /// Information-sharing agreement.
    pub sharing_agreement: String,
    /// Why the person is referred.
    pub reason: String,
    /// Sender.
    pub sent_by: String,
}

/// One status change of a service referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralEvent {
    /// When.
    pub at: i64,
    /// Who (display name).
    pub actor_name: String,
    /// From status key (empty for creation and allocation).
    pub from_status: String,
    /// To status key (or `allocated`).
    pub to_status: String,
    /// Reason given.
    pub reason: String,
}

/// Which caseload list to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseloadView {
    /// Cases the user is a named member of.
    Mine,
    /// Cases whose team includes the user's agency.
    Team,
    /// Cases the user works with a task past its due date.
    OverdueTasks,
    /// Cases the user works with a review due within the look-ahead.
    ReviewsDue,
    /// Cases the user works whose current risk is high.
    HighRisk,
    /// A name or reference search over every case the user may know of.
    Search,
}

/// Sort order of a caseload list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseSort {
    /// Most recently opened first.
    Opened,
    /// Most recently changed first.
    Updated,
    /// Highest risk first.
    Risk,
    /// Earliest review first.
    Review,
    /// Earliest task due first.
    TaskDue,
    /// By surname.
    Name,
}

/// A caseload request.
#[derive(Debug, Clone)]
pub struct CaseloadQuery {
    /// Which list.
    pub view: CaseloadView,
    /// The user asking.
    pub user_id: String,
    /// Their agency.
    pub agency_id: String,
    /// True when the user reads borough-wide (widens search to every case).
    pub borough_wide: bool,
    /// True when the user's role may break the glass (their live grants count).
    pub break_glass: bool,
    /// Status filter; `None` means open and on hold.
    pub status: Option<CaseStatus>,
    /// Risk level filter (`high`, `medium` ...).
    pub risk: Option<String>,
    /// Name or reference text for search.
    pub text: Option<String>,
    /// Sort.
    pub sort: CaseSort,
    /// Page number from 1.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// Now, seconds since the epoch.
    pub now: i64,
    /// Look-ahead for reviews due, seconds.
    pub review_horizon: i64,
}

/// One page of a caseload.
#[derive(Debug, Clone)]
pub struct CaseloadPage {
    /// The rows.
    pub rows: Vec<CaseRow>,
    /// Rows matching in total.
    pub total: i64,
}

/// SQL pieces and binds for a caseload query.
struct Filter {
    sql: String,
    binds: Vec<Bind>,
}

#[derive(Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

impl Filter {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }
}

impl Filter {
    /// The bound values, in placeholder order, for any of sqlx's `*_with` queries.
    fn arguments(&self) -> Result<sqlx::any::AnyArguments<'static>, StoreError> {
        use sqlx::Arguments as _;
        let mut args = sqlx::any::AnyArguments::default();
        for b in &self.binds {
            match b {
                Bind::Text(s) => args.add(s.clone()),
                Bind::Int(i) => args.add(*i),
            }
            .map_err(|e| StoreError::Conflict(format!("a caseload filter value: {e}")))?;
        }
        Ok(args)
    }
}

/// Builds the WHERE clause over [`list_from`]: the search's candidates (team membership,
/// referrals and access lists, or everything for borough-wide search; the other views get
/// theirs from `list_from`), restricted records only for their access list or a live
/// break-glass grant, in every view including search.
fn caseload_filter(q: &CaseloadQuery) -> Filter {
    filter_with(q, true)
}

/// The caseload WHERE clause; `view_condition` false leaves out the tab's own condition
/// (overdue, reviews due, high risk) and keeps only the candidates and filters.
fn filter_with(q: &CaseloadQuery, view_condition: bool) -> Filter {
    let mut f = Filter {
        sql: String::new(),
        binds: Vec::new(),
    };
    let me = f.bind(Bind::Text(q.user_id.clone()));
    let agency = f.bind(Bind::Text(q.agency_id.clone()));
    let mut clauses: Vec<String> = Vec::new();
    // Every view but search takes its candidates from `list_from`.
    if q.view == CaseloadView::Search && !q.borough_wide {
        clauses.push(format!(
            "(c.id IN (SELECT case_id FROM case_team WHERE (member_kind = 'user' AND member_id = {me}) \
             OR (member_kind = 'agency' AND member_id = {agency})) \
             OR c.referrer_id = {me} \
             OR c.person_id IN (SELECT person_id FROM person_access WHERE user_id = {me} AND scope = 'restricted'))"
        ));
    }
    let now = f.bind(Bind::Int(q.now));
    match q.view {
        _ if !view_condition => {}
        CaseloadView::OverdueTasks => {
            clauses.push(format!("c.worked = 1 AND c.next_task_due_at < {now}"))
        }
        CaseloadView::ReviewsDue => {
            let until = f.bind(Bind::Int(q.now + q.review_horizon));
            clauses.push(format!("c.worked = 1 AND c.next_review_at <= {until}"));
        }
        CaseloadView::HighRisk => clauses.push("c.worked = 1 AND c.risk_level = 'high'".into()),
        _ => {}
    }
    // A restricted case reaches a list, a count or a search only for its access list or a
    // live break-glass grant: never as a masked row, so nothing about it (not even that a
    // search matched it) reaches anyone else. `c.restricted` is the person's flag, copied
    // onto the case and its team rows by triggers.
    let glass = if q.break_glass {
        format!(
            " OR EXISTS (SELECT 1 FROM break_glass b WHERE b.user_id = {me} AND b.record_type = 'case' \
             AND b.record_id = c.id AND b.expires_at > {now})"
        )
    } else {
        String::new()
    };
    clauses.push(format!(
        "(c.restricted = 0 \
         OR EXISTS (SELECT 1 FROM person_access pa WHERE pa.person_id = c.person_id AND pa.user_id = {me} \
         AND pa.scope = 'restricted'){glass})"
    ));
    match q.status {
        Some(s) => {
            let b = f.bind(Bind::Text(s.key().into()));
            clauses.push(format!("c.status = {b}"));
        }
        None if q.view == CaseloadView::Search => {}
        None => clauses.push("c.status IN ('open', 'on_hold')".into()),
    }
    if let Some(risk) = q.risk.as_deref().filter(|r| !r.is_empty()) {
        let b = f.bind(Bind::Text(risk.into()));
        clauses.push(format!("c.risk_level = {b}"));
    }
    if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
        let b = f.bind(Bind::Text(pattern));
        clauses.push(format!(
            "(LOWER(p.first_name || ' ' || p.surname) LIKE {b} OR LOWER(p.surname) LIKE {b} OR LOWER(c.reference) LIKE {b})"
        ));
    }
    f.sql = if clauses.is_empty() {
        "1 = 1".into()
    } else {
        clauses.join(" AND ")
    };
    f
}

fn order_by(sort: CaseSort) -> &'static str {
    match sort {
        CaseSort::Opened => "c.opened_at DESC, c.id",
        CaseSort::Updated => "c.updated_at DESC, c.id",
        CaseSort::Risk => {
            "CASE c.risk_level WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'standard' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, \
             c.risk_at DESC, c.id"
        }
        CaseSort::Review => {
            "CASE WHEN c.next_review_at IS NULL THEN 1 ELSE 0 END, c.next_review_at, c.id"
        }
        CaseSort::TaskDue => {
            "CASE WHEN c.next_task_due_at IS NULL THEN 1 ELSE 0 END, c.next_task_due_at, c.id"
        }
        CaseSort::Name => "p.surname, p.first_name, c.id",
    }
}

/// Counts shown on the caseload tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseloadCounts {
    /// My cases.
    pub mine: i64,
    /// My team's cases.
    pub team: i64,
    /// Cases with overdue tasks.
    pub overdue_tasks: i64,
    /// Cases with reviews due.
    pub reviews_due: i64,
    /// High-risk cases.
    pub high_risk: i64,
}

fn reference_for(id: &str) -> String {
    let hex: String = id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(8)
        .collect();
    format!("C-{}", hex.to_uppercase())
}

async fn refresh_next_task(tx: &mut Tx<'_>, case_id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE cases SET next_task_due_at = (SELECT MIN(due_at) FROM case_tasks t WHERE t.case_id = $1 AND t.done_at IS NULL), \
         updated_at = $2 WHERE id = $1",
    )
    .bind(case_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn refresh_next_review(tx: &mut Tx<'_>, case_id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE cases SET next_review_at = (SELECT MIN(due_at) FROM case_reviews r WHERE r.case_id = $1 AND r.held_at IS NULL), \
         updated_at = $2 WHERE id = $1",
    )
    .bind(case_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn touch(tx: &mut Tx<'_>, case_id: &str, now: i64) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE cases SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound { what: "case" });
    }
    Ok(())
}

/// Adds a case team member inside a transaction (ignored when already a member).
async fn insert_member(
    tx: &mut Tx<'_>,
    case_id: &str,
    kind: &str,
    id: &str,
    role: &str,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO case_team (case_id, member_kind, member_id, role, added_at, added_by) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (case_id, member_kind, member_id) DO NOTHING",
    )
    .bind(case_id)
    .bind(kind)
    .bind(id)
    .bind(role)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn user_agency(tx: &mut Tx<'_>, user_id: &str) -> Result<String, StoreError> {
    sqlx::query_scalar("SELECT agency_id FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound { what: "user" })
}

const REFERRAL_COLUMNS: &str = "s.id, s.case_id, c.reference AS case_reference, s.service_id, s.service_name, s.category, \
    s.to_agency_id, ta.name AS to_agency_name, s.allocated_agency_id, aa.name AS allocated_agency_name, s.allocated_at, \
    s.consent, s.lawful_basis, s.share_reason, s.sharing_agreement, s.reason, s.status, s.status_reason, s.sent_at, \
    s.sent_by, s.responded_at, s.started_at, s.ended_at";
const REFERRAL_FROM: &str = "service_referrals s JOIN cases c ON c.id = s.case_id \
    JOIN agencies ta ON ta.id = s.to_agency_id LEFT JOIN agencies aa ON aa.id = s.allocated_agency_id";

fn referral_from(r: &Row) -> Result<ServiceReferral, StoreError> {
    let status: String = r.try_get("status")?;
    let consent: String = r.try_get("consent")?;
    Ok(ServiceReferral {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        case_reference: r.try_get("case_reference")?,
        service_id: r.try_get("service_id")?,
        service_name: r.try_get("service_name")?,
        category: r.try_get("category")?,
        to_agency_id: r.try_get("to_agency_id")?,
        to_agency_name: r.try_get("to_agency_name")?,
        allocated_agency_id: r.try_get("allocated_agency_id")?,
        allocated_agency_name: r.try_get("allocated_agency_name")?,
        allocated_at: r.try_get("allocated_at")?,
        consent: Consent::parse(&consent).ok_or_else(|| {
            StoreError::Conflict(format!("unknown consent {consent:?} in the database"))
        })?,
        lawful_basis: r.try_get("lawful_basis")?,
        share_reason: r.try_get("share_reason")?,
        sharing_agreement: r.try_get("sharing_agreement")?,
        reason: r.try_get("reason")?,
        status: ReferralStatus::parse(&status).ok_or_else(|| {
            StoreError::Conflict(format!(
                "unknown referral status {status:?} in the database"
            ))
        })?,
        status_reason: r.try_get("status_reason")?,
        sent_at: r.try_get("sent_at")?,
        sent_by: r.try_get("sent_by")?,
        responded_at: r.try_get("responded_at")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
    })
}

async fn record_referral_event(
    tx: &mut Tx<'_>,
    referral_id: &str,
    actor: &str,
    from: &str,
    to: &str,
    reason: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO service_referral_events (id, referral_id, at, actor_id, from_status, to_status, reason, seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, \
         (SELECT CAST(COALESCE(MAX(seq), 0) + 1 AS BIGINT) FROM service_referral_events WHERE referral_id = $2))",
    )
    .bind(new_id())
    .bind(referral_id)
    .bind(now)
    .bind(actor)
    .bind(from)
    .bind(to)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Users of an agency, for notifications.
async fn agency_users(tx: &mut Tx<'_>, agency_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar(
            "SELECT id FROM users WHERE agency_id = $1 AND disabled = 0 ORDER BY id",
        )
        .bind(agency_id)
        .fetch_all(&mut **tx)
        .await?,
    )
}

impl Store {
    /// Opens a case for a person: the lead worker and their agency join the team; a
    /// restricted case starts with the lead worker (and `access_list`) on its access list.
    pub async fn open_case(&self, new: &NewCase) -> Result<CaseRow, StoreError> {
        let now = now_unix();
        let id = new_id();
        let mut tx = self.begin_write().await?;
        let person: Option<i64> =
            sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM people WHERE id = $1")
                .bind(&new.person_id)
                .fetch_optional(&mut *tx)
                .await?;
        if person.is_none() {
            return Err(StoreError::NotFound { what: "person" });
        }
        let agency = user_agency(&mut tx, &new.lead_worker_id).await?;
        sqlx::query(
            "INSERT INTO cases (id, reference, person_id, referral_id, referrer_id, lead_worker_id, lead_agency_id, status, \
             opened_at, opened_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $8)",
        )
        .bind(&id)
        .bind(reference_for(&id))
        .bind(&new.person_id)
        .bind(&new.referral_id)
        .bind(&new.referrer_id)
        .bind(&new.lead_worker_id)
        .bind(&agency)
        .bind(now)
        .bind(&new.opened_by)
        .execute(&mut *tx)
        .await?;
        insert_member(
            &mut tx,
            &id,
            "user",
            &new.lead_worker_id,
            "lead",
            &new.opened_by,
            now,
        )
        .await?;
        insert_member(
            &mut tx,
            &id,
            "agency",
            &agency,
            "agency",
            &new.opened_by,
            now,
        )
        .await?;
        if new.restricted {
            // The restriction is the person's: the lead worker and the named users join any
            // list the person already has.
            let mut list =
                crate::restriction::list_in(&mut tx, &new.person_id, AccessListKind::Record)
                    .await?;
            for user in std::iter::once(&new.lead_worker_id).chain(&new.access_list) {
                if !list.contains(user) {
                    list.push(user.clone());
                }
            }
            let contact: String =
                sqlx::query_scalar("SELECT restriction_contact FROM people WHERE id = $1")
                    .bind(&new.person_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let restriction = Restriction {
                access_list: list,
                contact: if contact.is_empty() {
                    new.restriction_contact.clone()
                } else {
                    contact
                },
            };
            crate::restriction::set_record_restriction_in(
                &mut tx,
                &new.person_id,
                Some(&restriction),
                &new.opened_by,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.case(&id).await
    }

    /// One case.
    pub async fn case(&self, id: &str) -> Result<CaseRow, StoreError> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM {CASE_FROM} WHERE c.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "case" })?;
        case_from(&row)
    }

    /// The case opened from a referral, if any.
    pub async fn case_for_referral(&self, referral_id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM cases WHERE referral_id = $1 ORDER BY opened_at LIMIT 1",
        )
        .bind(referral_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Everything the access policy needs about one case.
    pub async fn case_facts(&self, case_id: &str) -> Result<RecordFacts, StoreError> {
        let mut all = self.case_facts_many(&[case_id.to_string()]).await?;
        all.remove(case_id)
            .ok_or(StoreError::NotFound { what: "case" })
    }

    /// Access facts for many cases at once (one query per kind of fact), for lists.
    pub async fn case_facts_many(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, RecordFacts>, StoreError> {
        let mut out: HashMap<String, RecordFacts> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let marks = (1..=ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let base_sql = format!(
            "SELECT c.id, c.lead_agency_id, p.restricted, p.restriction_contact, p.address_restricted, \
             c.referrer_id FROM cases c JOIN people p ON p.id = c.person_id WHERE c.id IN ({marks})"
        );
        let team_sql = format!(
            "SELECT case_id, member_kind, member_id FROM case_team WHERE case_id IN ({marks})"
        );
        // A restriction is the person's: the lists come from the case's person.
        let access_sql = format!(
            "SELECT c.id, pa.user_id, pa.scope FROM person_access pa JOIN cases c ON c.person_id = pa.person_id \
             WHERE c.id IN ({marks})"
        );
        let glass_sql = format!(
            "SELECT record_id, user_id, expires_at FROM break_glass WHERE record_type = 'case' AND record_id IN ({marks})"
        );
        let mut q = sqlx::query(&base_sql);
        for id in ids {
            q = q.bind(id.clone());
        }
        for r in &q.fetch_all(self.pool()).await? {
            let id: String = r.try_get("id")?;
            let restricted = r.try_get::<i64, _>("restricted")? != 0;
            let contact: String = r.try_get("restriction_contact")?;
            let facts = RecordFacts {
                referrers: r
                    .try_get::<Option<String>, _>("referrer_id")?
                    .into_iter()
                    .collect(),
                restriction: restricted.then(|| Restriction {
                    access_list: Vec::new(),
                    contact: if contact.is_empty() {
                        "the lead worker's manager".into()
                    } else {
                        contact
                    },
                }),
                address_access_list: (r.try_get::<i64, _>("address_restricted")? != 0)
                    .then(Vec::new),
                lead_agencies: vec![r.try_get("lead_agency_id")?],
                ..RecordFacts::default()
            };
            out.insert(id, facts);
        }
        let mut q = sqlx::query_as::<_, (String, String, String)>(&team_sql);
        for id in ids {
            q = q.bind(id.clone());
        }
        for (case_id, kind, member) in q.fetch_all(self.pool()).await? {
            if let Some(f) = out.get_mut(&case_id) {
                if kind == "user" {
                    f.team_users.push(member);
                } else {
                    f.team_agencies.push(member);
                }
            }
        }
        let mut q = sqlx::query_as::<_, (String, String, String)>(&access_sql);
        for id in ids {
            q = q.bind(id.clone());
        }
        for (case_id, user, scope) in q.fetch_all(self.pool()).await? {
            let Some(f) = out.get_mut(&case_id) else {
                continue;
            };
            match scope.as_str() {
                "restricted" => {
                    if let Some(r) = f.restriction.as_mut() {
                        r.access_list.push(user);
                    }
                }
                "address" => {
                    if let Some(list) = f.address_access_list.as_mut() {
                        list.push(user);
                    }
                }
                _ => {}
            }
        }
        let mut q = sqlx::query_as::<_, (String, String, i64)>(&glass_sql);
        for id in ids {
            q = q.bind(id.clone());
        }
        for (case_id, user_id, expires_at) in q.fetch_all(self.pool()).await? {
            if let Some(f) = out.get_mut(&case_id) {
                f.break_glass.push(BreakGlassGrant {
                    user_id,
                    expires_at,
                });
            }
        }
        Ok(out)
    }

    /// A caseload list page and its total, with the candidate rules of [`CaseloadQuery`].
    ///
    /// One pass finds the page's ids and the total (a window count) from the `cases_list`
    /// index; only the rows shown are then joined to the person and lead worker.
    pub async fn caseload(&self, q: &CaseloadQuery) -> Result<CaseloadPage, StoreError> {
        let f = caseload_filter(q);
        let per_page = q.per_page.clamp(1, 200);
        let offset = (q.page.max(1) - 1) * per_page;
        let order = order_by(q.sort);
        let sql = format!(
            "SELECT {CASE_COLUMNS}, pick.total FROM \
             (SELECT c.id AS pick_id, CAST(COUNT(*) OVER () AS BIGINT) AS total FROM {} WHERE {} \
              ORDER BY {order} LIMIT {per_page} OFFSET {offset}) pick \
             JOIN cases c ON c.id = pick.pick_id JOIN people p ON p.id = c.person_id \
             JOIN users u ON u.id = c.lead_worker_id ORDER BY {order}",
            list_from(q),
            f.sql,
        );
        let rows = sqlx::query_with(&sql, f.arguments()?)
            .fetch_all(self.pool())
            .await?;
        let total = match rows.first() {
            Some(r) => r.try_get("total")?,
            // Past the last page (or nothing at all): the total still has to be told.
            None => {
                let count_sql = format!(
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM {} WHERE {}",
                    list_from(q),
                    f.sql
                );
                sqlx::query_scalar_with::<_, i64, _>(&count_sql, f.arguments()?)
                    .fetch_one(self.pool())
                    .await?
            }
        };
        Ok(CaseloadPage {
            rows: rows.iter().map(case_from).collect::<Result<_, _>>()?,
            total,
        })
    }

    /// Counts for the caseload tabs, each with the same rules as its list.
    pub async fn caseload_counts(
        &self,
        base: &CaseloadQuery,
    ) -> Result<CaseloadCounts, StoreError> {
        // One pass over every case the user works (the candidates of the overdue, reviews and
        // high-risk tabs, a superset of "mine" and "team"), counting each tab with its own
        // condition, so the counts agree with the lists and cost one scan instead of five.
        let q = CaseloadQuery {
            view: CaseloadView::OverdueTasks,
            status: None,
            risk: None,
            text: None,
            sort: CaseSort::Opened,
            ..base.clone()
        };
        let mut f = filter_with(&q, false);
        let until = f.bind(Bind::Int(q.now + q.review_horizon));
        // caseload_filter binds the user as $1, the agency as $2 and now as $3.
        let sql = format!(
            "SELECT CAST(COALESCE(SUM(c.mine), 0) AS BIGINT), CAST(COALESCE(SUM(c.team), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN c.worked = 1 AND c.next_task_due_at < $3 THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN c.worked = 1 AND c.next_review_at <= {until} THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN c.worked = 1 AND c.risk_level = 'high' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM {} WHERE {}",
            list_from(&q),
            f.sql
        );
        let (mine, team, overdue_tasks, reviews_due, high_risk) =
            sqlx::query_as_with::<_, (i64, i64, i64, i64, i64), _>(&sql, f.arguments()?)
                .fetch_one(self.pool())
                .await?;
        Ok(CaseloadCounts {
            mine,
            team,
            overdue_tasks,
            reviews_due,
            high_risk,
        })
    }

    /// The case team with names.
    pub async fn case_team(&self, case_id: &str) -> Result<Vec<TeamMember>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.member_kind, t.member_id, t.role, COALESCE(u.display_name, a.name, '') AS name FROM case_team t \
             LEFT JOIN users u ON t.member_kind = 'user' AND u.id = t.member_id \
             LEFT JOIN agencies a ON t.member_kind = 'agency' AND a.id = t.member_id \
             WHERE t.case_id = $1 ORDER BY t.member_kind DESC, CASE t.role WHEN 'lead' THEN 0 ELSE 1 END, name",
        )
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TeamMember {
                    kind: r.try_get("member_kind")?,
                    id: r.try_get("member_id")?,
                    name: r.try_get("name")?,
                    role: r.try_get("role")?,
                })
            })
            .collect()
    }

    /// Adds a named worker (`user`) or an agency to the team.
    pub async fn add_team_member(
        &self,
        case_id: &str,
        kind: &str,
        member_id: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> = match kind {
            "user" => sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM users WHERE id = $1"),
            "agency" => sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM agencies WHERE id = $1"),
            _ => {
                return Err(StoreError::Conflict(format!(
                    "team members are users or agencies, not {kind:?}"
                )));
            }
        }
        .bind(member_id)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound {
                what: if kind == "user" { "user" } else { "agency" },
            });
        }
        touch(&mut tx, case_id, now).await?;
        let role = if kind == "user" { "worker" } else { "agency" };
        insert_member(&mut tx, case_id, kind, member_id, role, by, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Hands the case to a new lead worker (who joins the team and, for a restricted case,
    /// its access list).
    pub async fn set_lead_worker(
        &self,
        case_id: &str,
        user_id: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let agency = user_agency(&mut tx, user_id).await?;
        touch(&mut tx, case_id, now).await?;
        sqlx::query("UPDATE case_team SET role = 'worker' WHERE case_id = $1 AND role = 'lead'")
            .bind(case_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE cases SET lead_worker_id = $1, lead_agency_id = $2 WHERE id = $3")
            .bind(user_id)
            .bind(&agency)
            .bind(case_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM case_team WHERE case_id = $1 AND member_kind = 'user' AND member_id = $2",
        )
        .bind(case_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        insert_member(&mut tx, case_id, "user", user_id, "lead", by, now).await?;
        insert_member(&mut tx, case_id, "agency", &agency, "agency", by, now).await?;
        let (restricted, person_id): (i64, String) =
            sqlx::query_as("SELECT restricted, person_id FROM cases WHERE id = $1")
                .bind(case_id)
                .fetch_one(&mut *tx)
                .await?;
        if restricted != 0 {
            crate::restriction::add_to_record_list_in(&mut tx, &person_id, user_id, by, now)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Puts a case on hold or reopens it; closing goes through [`Store::close_case`].
    pub async fn set_case_status(
        &self,
        case_id: &str,
        status: CaseStatus,
    ) -> Result<(), StoreError> {
        if status == CaseStatus::Closed {
            return Err(StoreError::Conflict(
                "close a case with a reason and outcome measures".into(),
            ));
        }
        let now = now_unix();
        let done = sqlx::query(
            "UPDATE cases SET status = $1, updated_at = $2, closed_at = NULL WHERE id = $3",
        )
        .bind(status.key())
        .bind(now)
        .bind(case_id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "case" });
        }
        Ok(())
    }

    /// Closes a case with a reason and outcome measures (a JSON object); a closed case is
    /// not closed again.
    pub async fn close_case(
        &self,
        case_id: &str,
        reason: &str,
        outcomes_json: &str,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        let done = sqlx::query(
            "UPDATE cases SET status = 'closed', closed_at = $1, updated_at = $1, closure_reason = $2, closure_outcomes = $3 \
             WHERE id = $4 AND status <> 'closed'",
        )
        .bind(now)
        .bind(reason)
        .bind(outcomes_json)
        .bind(case_id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the case is already closed or does not exist".into(),
            ));
        }
        Ok(())
    }

    /// Adds a chronology entry.
    pub async fn add_entry(
        &self,
        case_id: &str,
        author_id: &str,
        e: &NewEntry,
    ) -> Result<String, StoreError> {
        let now = now_unix();
        let id = new_id();
        let mut tx = self.begin_write().await?;
        touch(&mut tx, case_id, now).await?;
        sqlx::query(
            "INSERT INTO case_entries (id, case_id, kind, occurred_at, recorded_at, author_id, summary, body, place, contact_method) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(case_id)
        .bind(&e.kind)
        .bind(e.occurred_at)
        .bind(now)
        .bind(author_id)
        .bind(&e.summary)
        .bind(&e.body)
        .bind(&e.place)
        .bind(&e.contact_method)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The chronology, newest first.
    pub async fn entries(&self, case_id: &str) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.id, e.kind, e.occurred_at, e.recorded_at, COALESCE(u.display_name, e.author_id) AS author_name, \
             e.summary, e.body, e.place, e.contact_method FROM case_entries e LEFT JOIN users u ON u.id = e.author_id \
             WHERE e.case_id = $1 ORDER BY e.occurred_at DESC, e.recorded_at DESC, e.id",
        )
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Entry {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    occurred_at: r.try_get("occurred_at")?,
                    recorded_at: r.try_get("recorded_at")?,
                    author_name: r.try_get("author_name")?,
                    summary: r.try_get("summary")?,
                    body: r.try_get("body")?,
                    place: r.try_get("place")?,
                    contact_method: r.try_get("contact_method")?,
                })
            })
            .collect()
    }

    /// Adds a task and refreshes the case's next due date.
    pub async fn add_task(
        &self,
        case_id: &str,
        title: &str,
        owner_id: &str,
        due_at: i64,
        by: &str,
    ) -> Result<String, StoreError> {
        let now = now_unix();
        let id = new_id();
        let mut tx = self.begin_write().await?;
        touch(&mut tx, case_id, now).await?;
        sqlx::query(
            "INSERT INTO case_tasks (id, case_id, title, owner_id, due_at, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(case_id)
        .bind(title)
        .bind(owner_id)
        .bind(due_at)
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        refresh_next_task(&mut tx, case_id, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Marks a task done.
    pub async fn complete_task(
        &self,
        case_id: &str,
        task_id: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE case_tasks SET done_at = $1, done_by = $2 WHERE id = $3 AND case_id = $4 AND done_at IS NULL",
        )
        .bind(now)
        .bind(by)
        .bind(task_id)
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "open task" });
        }
        refresh_next_task(&mut tx, case_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Tasks, open first by due date.
    pub async fn tasks(&self, case_id: &str) -> Result<Vec<Task>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.title, t.owner_id, COALESCE(u.display_name, '') AS owner_name, t.due_at, t.done_at \
             FROM case_tasks t LEFT JOIN users u ON u.id = t.owner_id WHERE t.case_id = $1 \
             ORDER BY CASE WHEN t.done_at IS NULL THEN 0 ELSE 1 END, t.due_at, t.id",
        )
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Task {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    owner_id: r.try_get("owner_id")?,
                    owner_name: r.try_get("owner_name")?,
                    due_at: r.try_get("due_at")?,
                    done_at: r.try_get("done_at")?,
                })
            })
            .collect()
    }

    /// Adds a goal to the case plan.
    pub async fn add_goal(
        &self,
        case_id: &str,
        goal: &str,
        actions: &str,
        target_at: Option<i64>,
    ) -> Result<String, StoreError> {
        let now = now_unix();
        let id = new_id();
        let mut tx = self.begin_write().await?;
        touch(&mut tx, case_id, now).await?;
        sqlx::query(
            "INSERT INTO case_goals (id, case_id, goal, actions, status, target_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6, $6)",
        )
        .bind(&id)
        .bind(case_id)
        .bind(goal)
        .bind(actions)
        .bind(target_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Marks a goal `open`, `achieved` or `dropped`.
    pub async fn set_goal_status(
        &self,
        case_id: &str,
        goal_id: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        if !["open", "achieved", "dropped"].contains(&status) {
            return Err(StoreError::Conflict(format!(
                "a goal is open, achieved or dropped, not {status:?}"
            )));
        }
        let now = now_unix();
        let done = sqlx::query(
            "UPDATE case_goals SET status = $1, updated_at = $2 WHERE id = $3 AND case_id = $4",
        )
        .bind(status)
        .bind(now)
        .bind(goal_id)
        .bind(case_id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "goal" });
        }
        Ok(())
    }

    /// The case plan.
    pub async fn goals(&self, case_id: &str) -> Result<Vec<Goal>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, goal, actions, status, target_at FROM case_goals WHERE case_id = $1 ORDER BY created_at, id",
        )
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Goal {
                    id: r.try_get("id")?,
                    goal: r.try_get("goal")?,
                    actions: r.try_get("actions")?,
                    status: r.try_get("status")?,
                    target_at: r.try_get("target_at")?,
                })
            })
            .collect()
    }

    /// Schedules a review.
    pub async fn schedule_review(
        &self,
        case_id: &str,
        due_at: i64,
        by: &str,
    ) -> Result<String, StoreError> {
        let now = now_unix();
        let id = new_id();
        let mut tx = self.begin_write().await?;
        touch(&mut tx, case_id, now).await?;
        sqlx::query(
            "INSERT INTO case_reviews (id, case_id, due_at, created_by) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(case_id)
        .bind(due_at)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        refresh_next_review(&mut tx, case_id, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records that a review was held, with its notes.
    pub async fn hold_review(
        &self,
        case_id: &str,
        review_id: &str,
        notes: &str,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE case_reviews SET held_at = $1, notes = $2 WHERE id = $3 AND case_id = $4 AND held_at IS NULL",
        )
        .bind(now)
        .bind(notes)
        .bind(review_id)
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "scheduled review",
            });
        }
        refresh_next_review(&mut tx, case_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reviews, earliest first.
    pub async fn reviews(&self, case_id: &str) -> Result<Vec<Review>, StoreError> {
        let rows = sqlx::query("SELECT id, due_at, held_at, notes FROM case_reviews WHERE case_id = $1 ORDER BY due_at, id")
            .bind(case_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Review {
                    id: r.try_get("id")?,
                    due_at: r.try_get("due_at")?,
                    held_at: r.try_get("held_at")?,
                    notes: r.try_get("notes")?,
                })
            })
            .collect()
    }

    /// Stores a document already checked for size and type; the SHA-256 is given by the
    /// caller, which computed it while checking.
    pub async fn add_document(
        &self,
        case_id: &str,
        filename: &str,
        content_type: &str,
        sha256: &str,
        content: &[u8],
        by: &str,
    ) -> Result<String, StoreError> {
        let now = now_unix();
        let id = new_id();
        let mut tx = self.begin_write().await?;
        touch(&mut tx, case_id, now).await?;
        sqlx::query(
            "INSERT INTO case_documents (id, case_id, filename, content_type, size_bytes, sha256, content, uploaded_at, uploaded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(case_id)
        .bind(filename)
        .bind(content_type)
        .bind(content.len() as i64)
        .bind(sha256)
        .bind(content.to_vec())
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Documents of a case (without content).
    pub async fn documents(&self, case_id: &str) -> Result<Vec<DocumentMeta>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.filename, d.content_type, d.size_bytes, d.sha256, d.uploaded_at, \
             COALESCE(u.display_name, d.uploaded_by) AS uploaded_by_name FROM case_documents d \
             LEFT JOIN users u ON u.id = d.uploaded_by WHERE d.case_id = $1 ORDER BY d.uploaded_at DESC, d.id",
        )
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(document_from).collect()
    }

    /// One document with its content, only from the case it belongs to.
    pub async fn document(
        &self,
        case_id: &str,
        doc_id: &str,
    ) -> Result<(DocumentMeta, Vec<u8>), StoreError> {
        let row = sqlx::query(
            "SELECT d.id, d.filename, d.content_type, d.size_bytes, d.sha256, d.uploaded_at, d.content, \
             COALESCE(u.display_name, d.uploaded_by) AS uploaded_by_name FROM case_documents d \
             LEFT JOIN users u ON u.id = d.uploaded_by WHERE d.case_id = $1 AND d.id = $2",
        )
        .bind(case_id)
        .bind(doc_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound { what: "document" })?;
        Ok((document_from(&row)?, row.try_get("content")?))
    }

    /// Stores a scored assessment and makes it the case's current risk, in one transaction.
    pub async fn record_assessment(
        &self,
        case_id: &str,
        by: &str,
        a: &NewAssessment,
    ) -> Result<String, StoreError> {
        let now = now_unix();
        let id = new_id();
        let mut tx = self.begin_write().await?;
        touch(&mut tx, case_id, now).await?;
        sqlx::query(
            "INSERT INTO risk_assessments (id, case_id, instrument, version, answers, score, max_score, computed_level, level, \
             judgement_reason, marac_eligible, eligibility, assessed_at, assessed_by, seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             (SELECT CAST(COALESCE(MAX(seq), 0) + 1 AS BIGINT) FROM risk_assessments WHERE case_id = $2))",
        )
        .bind(&id)
        .bind(case_id)
        .bind(&a.instrument)
        .bind(a.version)
        .bind(&a.answers)
        .bind(a.score)
        .bind(a.max_score)
        .bind(&a.computed_level)
        .bind(&a.level)
        .bind(&a.judgement_reason)
        .bind(i64::from(a.marac_eligible))
        .bind(&a.eligibility)
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        // A screening without MARAC rules leaves the latest DASH's eligibility as it was.
        let sql = if a.eligibility != "null" {
            "UPDATE cases SET risk_level = $1, risk_instrument = $2, risk_score = $3, risk_at = $4, marac_eligible = $5 WHERE id = $6"
        } else {
            "UPDATE cases SET risk_level = $1, risk_instrument = $2, risk_score = $3, risk_at = $4 WHERE id = $5"
        };
        let mut q = sqlx::query(sql)
            .bind(&a.level)
            .bind(&a.instrument)
            .bind(a.score)
            .bind(now);
        if a.eligibility != "null" {
            q = q.bind(i64::from(a.marac_eligible));
        }
        q.bind(case_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Risk history, newest first.
    pub async fn assessments(&self, case_id: &str) -> Result<Vec<Assessment>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.instrument, r.version, r.answers, r.score, r.max_score, r.computed_level, r.level, \
             r.judgement_reason, r.marac_eligible, r.eligibility, r.assessed_at, \
             COALESCE(u.display_name, r.assessed_by) AS assessed_by_name FROM risk_assessments r \
             LEFT JOIN users u ON u.id = r.assessed_by WHERE r.case_id = $1 ORDER BY r.seq DESC",
        )
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Assessment {
                    id: r.try_get("id")?,
                    instrument: r.try_get("instrument")?,
                    version: r.try_get("version")?,
                    answers: r.try_get("answers")?,
                    score: r.try_get("score")?,
                    max_score: r.try_get("max_score")?,
                    computed_level: r.try_get("computed_level")?,
                    level: r.try_get("level")?,
                    judgement_reason: r.try_get("judgement_reason")?,
                    marac_eligible: r.try_get::<i64, _>("marac_eligible")? != 0,
                    eligibility: r.try_get("eligibility")?,
                    assessed_at: r.try_get("assessed_at")?,
                    assessed_by_name: r.try_get("assessed_by_name")?,
                })
            })
            .collect()
    }

    /// Adds a member agency to a consortium hub.
    pub async fn add_consortium_member(
        &self,
        hub_agency_id: &str,
        member_agency_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consortium_members (hub_agency_id, member_agency_id, added_at) VALUES ($1, $2, $3) \
             ON CONFLICT (hub_agency_id, member_agency_id) DO NOTHING",
        )
        .bind(hub_agency_id)
        .bind(member_agency_id)
        .bind(now_unix())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The member agencies of a hub as (id, name), by name.
    pub async fn consortium_members(
        &self,
        hub_agency_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT a.id, a.name FROM consortium_members m JOIN agencies a ON a.id = m.member_agency_id \
             WHERE m.hub_agency_id = $1 ORDER BY a.name",
        )
        .bind(hub_agency_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Sends a referral from a case to a service: stored as `sent`, the receiving agency's
    /// users notified in-app (without personal details), all in one transaction.
    pub async fn create_service_referral(
        &self,
        r: &NewServiceReferral,
    ) -> Result<ServiceReferral, StoreError> {
        let now = now_unix();
        let id = new_id();
        let mut tx = self.begin_write().await?;
        touch(&mut tx, &r.case_id, now).await?;
        sqlx::query(
            "INSERT INTO service_referrals (id, case_id, service_id, service_name, category, to_agency_id, consent, lawful_basis, \
             share_reason, sharing_agreement, reason, status, sent_at, sent_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'sent', $12, $13, $12)",
        )
        .bind(&id)
        .bind(&r.case_id)
        .bind(&r.service_id)
        .bind(&r.service_name)
        .bind(&r.category)
        .bind(&r.to_agency_id)
        .bind(r.consent.key())
        .bind(&r.lawful_basis)
        .bind(&r.share_reason)
        .bind(&r.sharing_agreement)
        .bind(&r.reason)
        .bind(now)
        .bind(&r.sent_by)
        .execute(&mut *tx)
        .await?;
        record_referral_event(&mut tx, &id, &r.sent_by, "", "sent", "", now).await?;
        let message = format!(
            "A new referral to {} is waiting for a response.",
            r.service_name
        );
        for user in agency_users(&mut tx, &r.to_agency_id).await? {
            crate::outbox::notify(
                &mut tx,
                &user,
                "service_referral",
                &message,
                &format!("/service-referrals/{id}"),
            )
            .await?;
        }
        tx.commit().await?;
        self.service_referral(&id).await
    }

    /// One service referral.
    pub async fn service_referral(&self, id: &str) -> Result<ServiceReferral, StoreError> {
        let sql = format!("SELECT {REFERRAL_COLUMNS} FROM {REFERRAL_FROM} WHERE s.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound {
                what: "service referral",
            })?;
        referral_from(&row)
    }

    /// The service referrals of a case, newest first.
    pub async fn case_service_referrals(
        &self,
        case_id: &str,
    ) -> Result<Vec<ServiceReferral>, StoreError> {
        let sql = format!(
            "SELECT {REFERRAL_COLUMNS} FROM {REFERRAL_FROM} WHERE s.case_id = $1 ORDER BY s.sent_at DESC, s.id"
        );
        let rows = sqlx::query(&sql)
            .bind(case_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(referral_from).collect()
    }

    /// Referrals an agency receives: sent to it, or allocated to it by a consortium hub.
    pub async fn incoming_service_referrals(
        &self,
        agency_id: &str,
    ) -> Result<Vec<ServiceReferral>, StoreError> {
        let sql = format!(
            "SELECT {REFERRAL_COLUMNS} FROM {REFERRAL_FROM} WHERE s.to_agency_id = $1 OR s.allocated_agency_id = $1 \
             ORDER BY CASE s.status WHEN 'sent' THEN 0 WHEN 'accepted' THEN 1 WHEN 'started' THEN 2 ELSE 3 END, s.sent_at DESC, s.id"
        );
        let rows = sqlx::query(&sql)
            .bind(agency_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(referral_from).collect()
    }

    /// Status history of a referral, oldest first.
    pub async fn service_referral_events(
        &self,
        id: &str,
    ) -> Result<Vec<ReferralEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.at, COALESCE(u.display_name, e.actor_id) AS actor_name, e.from_status, e.to_status, e.reason \
             FROM service_referral_events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.referral_id = $1 ORDER BY e.seq",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReferralEvent {
                    at: r.try_get("at")?,
                    actor_name: r.try_get("actor_name")?,
                    from_status: r.try_get("from_status")?,
                    to_status: r.try_get("to_status")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }

    /// A consortium hub allocates a referral to one of its members; the time to allocation
    /// is `allocated_at - sent_at`. Refused when already allocated or not a member.
    pub async fn allocate_service_referral(
        &self,
        id: &str,
        member_agency_id: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        let mut tx = self.begin_write().await?;
        let hub: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT to_agency_id, allocated_agency_id FROM service_referrals WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((hub, allocated)) = hub else {
            return Err(StoreError::NotFound {
                what: "service referral",
            });
        };
        if allocated.is_some() {
            return Err(StoreError::Conflict(
                "this referral has already been allocated".into(),
            ));
        }
        let member: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(1 AS BIGINT) FROM consortium_members WHERE hub_agency_id = $1 AND member_agency_id = $2",
        )
        .bind(&hub)
        .bind(member_agency_id)
        .fetch_optional(&mut *tx)
        .await?;
        if member.is_none() {
            return Err(StoreError::Conflict(
                "choose a member organisation of this consortium".into(),
            ));
        }
        sqlx::query("UPDATE service_referrals SET allocated_agency_id = $1, allocated_at = $2, updated_at = $2 WHERE id = $3")
            .bind(member_agency_id)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record_referral_event(&mut tx, id, actor, "", "allocated", "", now).await?;
        for user in agency_users(&mut tx, member_agency_id).await? {
            crate::outbox::notify(
                &mut tx,
                &user,
                "service_referral",
                "A referral has been allocated to your organisation.",
                &format!("/service-referrals/{id}"),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Moves a referral along its workflow ([`transition`]); the change is refused when the
    /// stored status is not `from` (someone else moved it first) or the move skips a step.
    /// The sender is notified.
    pub async fn set_service_referral_status(
        &self,
        id: &str,
        from: ReferralStatus,
        to: ReferralStatus,
        reason: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        transition(from, to, reason).map_err(|e| StoreError::Conflict(e.to_string()))?;
        let now = now_unix();
        let column = match to {
            ReferralStatus::Accepted | ReferralStatus::Declined => "responded_at",
            ReferralStatus::Started => "started_at",
            _ => "ended_at",
        };
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE service_referrals SET status = $1, status_reason = $2, {column} = $3, updated_at = $3 \
             WHERE id = $4 AND status = $5"
        );
        let done = sqlx::query(&sql)
            .bind(to.key())
            .bind(reason.trim())
            .bind(now)
            .bind(id)
            .bind(from.key())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the referral's status changed since the page was loaded; reload it and try again"
                    .into(),
            ));
        }
        record_referral_event(&mut tx, id, actor, from.key(), to.key(), reason.trim(), now).await?;
        let (sender, case_id, service): (String, String, String) = sqlx::query_as(
            "SELECT sent_by, case_id, service_name FROM service_referrals WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        touch(&mut tx, &case_id, now).await?;
        crate::outbox::notify(
            &mut tx,
            &sender,
            "service_referral",
            &format!(
                "Your referral to {service} is now {}.",
                to.label().to_lowercase()
            ),
            &format!("/cases/{case_id}"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opens a restricted case in an emergency: records the grant (expiring after
    /// `ttl_secs`) and notifies the lead worker and the managers of the lead agency, in one
    /// transaction. Returns the grant's expiry.
    pub async fn break_glass_case(
        &self,
        case_id: &str,
        user_id: &str,
        reason: &str,
        ttl_secs: i64,
    ) -> Result<i64, StoreError> {
        let now = now_unix();
        let expires = now + ttl_secs;
        let mut tx = self.begin_write().await?;
        let (lead, agency, reference): (String, String, String) = sqlx::query_as(
            "SELECT lead_worker_id, lead_agency_id, reference FROM cases WHERE id = $1",
        )
        .bind(case_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { what: "case" })?;
        sqlx::query(
            "INSERT INTO break_glass (id, user_id, record_type, record_id, reason, opened_at, expires_at) \
             VALUES ($1, $2, 'case', $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(case_id)
        .bind(reason)
        .bind(now)
        .bind(expires)
        .execute(&mut *tx)
        .await?;
        let who: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or_else(|| user_id.to_string());
        let managers: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, roles FROM users WHERE agency_id = $1 AND disabled = 0 ORDER BY id",
        )
        .bind(&agency)
        .fetch_all(&mut *tx)
        .await?;
        let mut recipients = vec![lead];
        for (id, roles) in managers {
            if roles.split(',').any(|r| r.trim() == "manager")
                && id != user_id
                && !recipients.contains(&id)
            {
                recipients.push(id);
            }
        }
        let message = format!(
            "{who} used emergency access (break-glass) to open restricted case {reference}."
        );
        for r in recipients {
            crate::outbox::notify(
                &mut tx,
                &r,
                "break_glass",
                &message,
                &format!("/cases/{case_id}"),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(expires)
    }
}

fn document_from(r: &Row) -> Result<DocumentMeta, StoreError> {
    Ok(DocumentMeta {
        id: r.try_get("id")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        uploaded_at: r.try_get("uploaded_at")?,
        uploaded_by_name: r.try_get("uploaded_by_name")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReferralStatus::*;

    #[test]
    fn every_pair_of_statuses_is_decided_by_the_workflow() {
        let allowed = [
            (Sent, Accepted),
            (Sent, Declined),
            (Accepted, Started),
            (Started, Completed),
            (Started, Disengaged),
        ];
        for from in ReferralStatus::ALL {
            for to in ReferralStatus::ALL {
                let result = transition(from, to, "a reason given");
                if allowed.contains(&(from, to)) {
                    assert_eq!(result, Ok(()), "{from:?} -> {to:?}");
                } else {
                    assert_eq!(
                        result,
                        Err(TransitionError::NotAllowed { from, to }),
                        "{from:?} -> {to:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn declining_and_disengaging_need_a_reason() {
        assert_eq!(
            transition(Sent, Declined, "  "),
            Err(TransitionError::ReasonRequired(Declined))
        );
        assert_eq!(
            transition(Started, Disengaged, ""),
            Err(TransitionError::ReasonRequired(Disengaged))
        );
        assert_eq!(transition(Sent, Accepted, ""), Ok(()));
        assert_eq!(transition(Accepted, Started, ""), Ok(()));
        assert_eq!(transition(Started, Completed, ""), Ok(()));
    }

    #[test]
    fn refusals_say_what_is_allowed() {
        let e = transition(Sent, Started, "").expect_err("skips acceptance");
        assert_eq!(
            e.to_string(),
            "a referral cannot move from sent to started: from sent it can only become accepted or declined"
        );
        let e = transition(Completed, Started, "").expect_err("final");
        assert_eq!(
            e.to_string(),
            "a referral cannot move from completed to started: completed is a final status"
        );
    }

    #[test]
    fn keys_round_trip() {
        for s in ReferralStatus::ALL {
            assert_eq!(ReferralStatus::parse(s.key()), Some(s));
        }
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(s.key()), Some(s));
        }
        assert_eq!(Consent::parse("not_sought"), Some(Consent::NotSought));
        assert_eq!(ReferralStatus::parse("done"), None);
    }

    #[test]
    fn references_are_short_and_upper_case() {
        assert_eq!(
            reference_for("1a2b3c4d-0000-4000-8000-000000000000"),
            "C-1A2B3C4D"
        );
    }
}
