//! Caseload lists and their tab counts, narrowed in SQL the way the access policy would.

use super::{CASE_COLUMNS, CaseRow, case_from};

use pathways_domain::cases::CaseStatus;
use sqlx::Row as _;

use crate::{Store, StoreError};

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

impl Store {
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
}
