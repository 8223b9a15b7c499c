//! Caseloads: the lists of cases a worker works, their tab counts, search, the CSV export
//! and the JSON API. The store narrows candidates in SQL the way the access policy would;
//! the policy then checks every row that reaches the caller.

use pathways_domain::access::{Action, Actor, decide};
use pathways_domain::cases::CaseStatus;
use pathways_domain::ids::CaseId;
use pathways_domain::risk::RiskLevel;
use pathways_domain::time::format_iso_day;
use pathways_domain::{AuditAction, Permission};
use pathways_store::cases::{CaseRow, CaseSort, CaseloadCounts, CaseloadQuery, CaseloadView};
use pathways_store::now_unix;

use crate::{App, Caller, Error, RecordKind, Result};

/// Rows per caseload page.
pub const PER_PAGE: i64 = 25;
/// How far ahead "reviews due" looks.
pub const REVIEW_HORIZON: i64 = 14 * 86_400;
/// Most rows one export writes.
const EXPORT_LIMIT: i64 = 10_000;
/// Longest search text read; anything longer is cut, never refused with an error page.
const MAX_SEARCH: usize = 200;

/// A caseload request as the list's query string gives it.
#[derive(Debug, Clone, Default)]
pub struct CaseloadRequest {
    /// `mine`, `team`, `overdue`, `reviews` or `high` (search when `q` is given).
    pub view: String,
    /// A status key, or empty for open and on hold.
    pub status: String,
    /// A risk level key, or empty.
    pub risk: String,
    /// Name or reference text.
    pub q: String,
    /// `opened`, `updated`, `risk`, `review`, `task` or `name`.
    pub sort: String,
    /// Page number from 1.
    pub page: Option<i64>,
}

impl CaseloadRequest {
    /// The store query this request asks for, for `actor`.
    fn query(&self, actor: &Actor, per_page: i64) -> CaseloadQuery {
        let text: String = self.q.trim().chars().take(MAX_SEARCH).collect();
        let view = if !text.is_empty() {
            CaseloadView::Search
        } else {
            match self.view.as_str() {
                "team" => CaseloadView::Team,
                "overdue" => CaseloadView::OverdueTasks,
                "reviews" => CaseloadView::ReviewsDue,
                "high" => CaseloadView::HighRisk,
                _ => CaseloadView::Mine,
            }
        };
        let sort = match self.sort.as_str() {
            "updated" => CaseSort::Updated,
            "risk" => CaseSort::Risk,
            "review" => CaseSort::Review,
            "task" => CaseSort::TaskDue,
            "name" => CaseSort::Name,
            _ => CaseSort::Opened,
        };
        CaseloadQuery {
            view,
            user_id: actor.user_id.clone(),
            agency_id: actor.agency_id.clone(),
            borough_wide: actor.roles.has(Permission::ReadBoroughWide),
            break_glass: actor.roles.has(Permission::BreakGlass),
            status: CaseStatus::parse(&self.status).ok(),
            risk: RiskLevel::parse(&self.risk)
                .ok()
                .map(|r| r.key().to_string()),
            text: Some(text).filter(|t| !t.is_empty()),
            sort,
            page: self.page.unwrap_or(1).clamp(1, 1_000_000),
            per_page,
            now: now_unix(),
            review_horizon: REVIEW_HORIZON,
        }
    }

    /// The view key the request resolves to (`search` when searching).
    pub fn view_key(&self) -> &'static str {
        if !self.q.trim().is_empty() {
            return "search";
        }
        match self.view.as_str() {
            "team" => "team",
            "overdue" => "overdue",
            "reviews" => "reviews",
            "high" => "high",
            _ => "mine",
        }
    }
}

/// One page of a caseload.
#[derive(Debug, Clone)]
pub struct Caseload {
    /// The rows the caller may read.
    pub rows: Vec<CaseRow>,
    /// Rows matching in total.
    pub total: i64,
    /// The page shown.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// The tab counts.
    pub counts: CaseloadCounts,
    /// True when this is a search.
    pub searching: bool,
}

/// The rows of a page the policy allows for `action`.
async fn allowed(
    app: &App,
    actor: &Actor,
    action: Action,
    rows: Vec<CaseRow>,
) -> Result<Vec<CaseRow>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let facts = app.store().case_facts_many(&ids).await?;
    let now = now_unix();
    Ok(rows
        .into_iter()
        .filter(|row| {
            facts
                .get(&row.id)
                .is_some_and(|f| decide(actor, action, f, now).allowed())
        })
        .collect())
}

/// A caseload page with its tab counts, as the cases page shows it. Audited as a view of
/// the list.
pub async fn caseload(app: &App, caller: &Caller, request: &CaseloadRequest) -> Result<Caseload> {
    caller.permit(Permission::WorkCases)?;
    let q = request.query(&caller.actor, PER_PAGE);
    // The list and the tab counts are independent reads: run them side by side on two
    // connections.
    let (page, counts) =
        tokio::try_join!(app.store().caseload(&q), app.store().caseload_counts(&q))?;
    let rows = allowed(app, &caller.actor, Action::ViewRecord, page.rows).await?;
    app.audit(caller.event(
        AuditAction::CaseloadView,
        RecordKind::Other("caseload"),
        request.view_key(),
    ))
    .await?;
    Ok(Caseload {
        rows,
        total: page.total,
        page: q.page,
        per_page: PER_PAGE,
        counts,
        searching: q.view == CaseloadView::Search,
    })
}

/// The caseload as the JSON API gives it (no tab counts).
pub async fn api_caseload(
    app: &App,
    caller: &Caller,
    request: &CaseloadRequest,
) -> Result<Caseload> {
    caller.permit(Permission::WorkCases)?;
    let q = request.query(&caller.actor, PER_PAGE);
    let page = app.store().caseload(&q).await?;
    let rows = allowed(app, &caller.actor, Action::ViewRecord, page.rows).await?;
    app.audit(caller.event(AuditAction::CaseListApi, RecordKind::Case, "caseload"))
        .await?;
    Ok(Caseload {
        rows,
        total: page.total,
        page: q.page,
        per_page: PER_PAGE,
        counts: CaseloadCounts::default(),
        searching: q.view == CaseloadView::Search,
    })
}

/// One case as the JSON API gives it: the row for a caller who may read it, or only the
/// contact of a restricted record the caller may know of.
pub enum ApiCase {
    /// The caller may read it.
    Full(Box<CaseRow>),
    /// Restricted: the reference and whom to contact.
    Withheld {
        /// Case id.
        id: String,
        /// Reference.
        reference: String,
        /// Whom to contact.
        contact: String,
    },
}

/// One case through the API; a case the caller may not know of is "not found".
pub async fn api_case(app: &App, caller: &Caller, id: &CaseId) -> Result<ApiCase> {
    caller.permit(Permission::WorkCases)?;
    let row = app.store().case(id.as_str()).await?;
    let facts = app.store().case_facts(id.as_str()).await?;
    let decision = decide(&caller.actor, Action::ViewRecord, &facts, now_unix());
    let event = |allowed: bool| {
        if allowed {
            caller.event(AuditAction::CaseReadApi, RecordKind::Case, id.as_str())
        } else {
            caller.refused(AuditAction::CaseReadApi, RecordKind::Case, id.as_str())
        }
    };
    app.audit(event(decision.allowed())).await?;
    match decision {
        pathways_domain::Decision::Allow(_) => Ok(ApiCase::Full(Box::new(row))),
        pathways_domain::Decision::Deny(pathways_domain::access::Denial::Restricted {
            contact,
        }) => Ok(ApiCase::Withheld {
            id: row.id,
            reference: row.reference,
            contact,
        }),
        pathways_domain::Decision::Deny(d) => Err(Error::denied(d)),
    }
}

/// The caseload view as CSV (every page, up to 10,000 rows), each row checked for `Export`
/// by the policy; restricted rows the caller may not read are left out, and addresses are
/// never included. Audited with the number of rows.
pub async fn export_csv(app: &App, caller: &Caller, request: &CaseloadRequest) -> Result<String> {
    caller.permit(Permission::WorkCases)?;
    let mut q = request.query(&caller.actor, 200);
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "reference",
        "person",
        "status",
        "risk_level",
        "marac_eligible",
        "lead_worker",
        "opened",
        "next_task_due",
        "next_review",
    ];
    out.write_record(header)
        .map_err(|e| Error::internal(e.to_string()))?;
    let mut exported = 0usize;
    for page in 1.. {
        q.page = page;
        let rows = app.store().caseload(&q).await?.rows;
        let fetched = rows.len();
        for r in allowed(app, &caller.actor, Action::Export, rows).await? {
            exported += 1;
            out.write_record([
                spreadsheet_safe(&r.reference),
                spreadsheet_safe(&r.person_name),
                r.status.key().to_string(),
                r.risk_level.clone(),
                r.marac_eligible.to_string(),
                spreadsheet_safe(&r.lead_worker_name),
                format_iso_day(r.opened_at),
                r.next_task_due_at.map(format_iso_day).unwrap_or_default(),
                r.next_review_at.map(format_iso_day).unwrap_or_default(),
            ])
            .map_err(|e| Error::internal(e.to_string()))?;
        }
        if page * q.per_page >= EXPORT_LIMIT || fetched < q.per_page as usize {
            break;
        }
    }
    let mut event = caller.event(
        AuditAction::CaseExport,
        RecordKind::Other("caseload"),
        "csv",
    );
    event.reason = format!("{exported} rows");
    app.audit(event).await?;
    let bytes = out
        .into_inner()
        .map_err(|e| Error::internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::internal(e.to_string()))
}

/// A cell a spreadsheet would run as a formula, prefixed with a quote so it is read as text.
pub fn spreadsheet_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}
