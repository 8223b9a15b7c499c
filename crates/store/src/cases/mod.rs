//! Cases: the case file (team, chronology, tasks, plan, reviews, documents, closure), risk
//! assessments, service referrals with their status workflow, consortium routing, break-glass.
//!
//! Lists never decide access on their own: the caseload query narrows candidates in SQL the
//! same way the access policy would (case team, restriction access list, break-glass), and
//! callers still ask `pathways_domain::decide` for every row they show, using
//! [`Store::case_facts_many`]. Writes are methods of [`WriteTx`]; each takes the access
//! policy's proof that the caller may change the record.

mod assessments;
mod caseload;
mod documents;
mod file;
mod service_referrals;

pub use assessments::{Assessment, NewAssessment};
pub use caseload::{CaseSort, CaseloadCounts, CaseloadPage, CaseloadQuery, CaseloadView};
pub use documents::DocumentMeta;
pub use file::{Entry, Goal, NewEntry, Review, Task};
pub use service_referrals::{NewServiceReferral, ReferralEvent, ServiceReferral};

use std::collections::HashMap;

use pathways_domain::Permission;
use pathways_domain::RecordFacts;
use pathways_domain::access::{Action, Authorized, Permitted};
use pathways_domain::access::{BreakGlassGrant, Restriction};
use pathways_domain::cases::CaseStatus;
use pathways_domain::ids::CaseId;
use sqlx::Row as _;

use crate::restriction::AccessListKind;
use crate::{Row, Store, StoreError, Tx, WriteTx, new_id, now_unix};

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
        status: CaseStatus::parse(&status)?,
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

/// The record a write may change: the policy's proof must be for editing it.
pub(crate) fn editable<Id: AsRef<str>>(cap: &Authorized<Id>) -> Result<&str, StoreError> {
    if cap.action() == Action::Edit {
        Ok(cap.id().as_ref())
    } else {
        Err(StoreError::NotAuthorized(Action::Edit))
    }
}

/// A change that needs a permission rather than a record: the proof must be for it.
pub(crate) fn needs(p: &Permitted, permission: Permission) -> Result<(), StoreError> {
    if p.permission() == permission {
        Ok(())
    } else {
        Err(StoreError::NotPermitted(permission))
    }
}

fn reference_for(id: &str) -> String {
    let hex: String = id
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(8)
        .collect();
    format!("C-{}", hex.to_uppercase())
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

impl Store {
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
}

impl WriteTx {
    /// Opens a case for a person: the lead worker and their agency join the team; a
    /// restricted case starts with the lead worker (and `access_list`) on its access list.
    pub async fn open_case(
        &mut self,
        works_cases: &Permitted,
        new: &NewCase,
    ) -> Result<String, StoreError> {
        needs(works_cases, Permission::WorkCases)?;
        let now = now_unix();
        let id = new_id();
        let tx = &mut self.tx;
        let person: Option<i64> =
            sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM people WHERE id = $1")
                .bind(&new.person_id)
                .fetch_optional(&mut **tx)
                .await?;
        if person.is_none() {
            return Err(StoreError::NotFound { what: "person" });
        }
        let agency = user_agency(tx, &new.lead_worker_id).await?;
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
        .execute(&mut **tx)
        .await?;
        insert_member(
            tx,
            &id,
            "user",
            &new.lead_worker_id,
            "lead",
            &new.opened_by,
            now,
        )
        .await?;
        insert_member(tx, &id, "agency", &agency, "agency", &new.opened_by, now).await?;
        if new.restricted {
            // The restriction is the person's: the lead worker and the named users join any
            // list the person already has.
            let mut list =
                crate::restriction::list_in(tx, &new.person_id, AccessListKind::Record).await?;
            for user in std::iter::once(&new.lead_worker_id).chain(&new.access_list) {
                if !list.contains(user) {
                    list.push(user.clone());
                }
            }
            let contact: String =
                sqlx::query_scalar("SELECT restriction_contact FROM people WHERE id = $1")
                    .bind(&new.person_id)
                    .fetch_one(&mut **tx)
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
                tx,
                &new.person_id,
                Some(&restriction),
                &new.opened_by,
                now,
            )
            .await?;
        }
        Ok(id)
    }

    /// Adds a named worker (`user`) or an agency to the team.
    pub async fn add_team_member(
        &mut self,
        case: &Authorized<CaseId>,
        kind: &str,
        member_id: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let tx = &mut self.tx;
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
        .fetch_optional(&mut **tx)
        .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound {
                what: if kind == "user" { "user" } else { "agency" },
            });
        }
        touch(tx, case_id, now).await?;
        let role = if kind == "user" { "worker" } else { "agency" };
        insert_member(tx, case_id, kind, member_id, role, by, now).await?;
        Ok(())
    }

    /// Hands the case to a new lead worker (who joins the team and, for a restricted case,
    /// its access list).
    pub async fn set_lead_worker(
        &mut self,
        case: &Authorized<CaseId>,
        user_id: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let tx = &mut self.tx;
        let agency = user_agency(tx, user_id).await?;
        touch(tx, case_id, now).await?;
        sqlx::query("UPDATE case_team SET role = 'worker' WHERE case_id = $1 AND role = 'lead'")
            .bind(case_id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE cases SET lead_worker_id = $1, lead_agency_id = $2 WHERE id = $3")
            .bind(user_id)
            .bind(&agency)
            .bind(case_id)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "DELETE FROM case_team WHERE case_id = $1 AND member_kind = 'user' AND member_id = $2",
        )
        .bind(case_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
        insert_member(tx, case_id, "user", user_id, "lead", by, now).await?;
        insert_member(tx, case_id, "agency", &agency, "agency", by, now).await?;
        let (restricted, person_id): (i64, String) =
            sqlx::query_as("SELECT restricted, person_id FROM cases WHERE id = $1")
                .bind(case_id)
                .fetch_one(&mut **tx)
                .await?;
        if restricted != 0 {
            crate::restriction::add_to_record_list_in(tx, &person_id, user_id, by, now).await?;
        }
        Ok(())
    }

    /// Puts a case on hold or reopens it; closing goes through [`Store::close_case`].
    pub async fn set_case_status(
        &mut self,
        case: &Authorized<CaseId>,
        status: CaseStatus,
    ) -> Result<(), StoreError> {
        let case_id = editable(case)?;
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
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "case" });
        }
        Ok(())
    }

    /// Closes a case with a reason and outcome measures (a JSON object); a closed case is
    /// not closed again.
    pub async fn close_case(
        &mut self,
        case: &Authorized<CaseId>,
        reason: &str,
        outcomes_json: &str,
    ) -> Result<(), StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let done = sqlx::query(
            "UPDATE cases SET status = 'closed', closed_at = $1, updated_at = $1, closure_reason = $2, closure_outcomes = $3 \
             WHERE id = $4 AND status <> 'closed'",
        )
        .bind(now)
        .bind(reason)
        .bind(outcomes_json)
        .bind(case_id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the case is already closed or does not exist".into(),
            ));
        }
        Ok(())
    }

    /// Opens a restricted case in an emergency: records the grant (expiring after
    /// `ttl_secs`) and notifies the lead worker and the managers of the lead agency, in one
    /// transaction. Returns the grant's expiry.
    pub async fn break_glass_case(
        &mut self,
        _emergency: &Permitted,
        case_id: &str,
        user_id: &str,
        reason: &str,
        ttl_secs: i64,
    ) -> Result<i64, StoreError> {
        needs(_emergency, Permission::BreakGlass)?;
        let now = now_unix();
        let expires = now + ttl_secs;
        let tx = &mut self.tx;
        let (lead, agency, reference): (String, String, String) = sqlx::query_as(
            "SELECT lead_worker_id, lead_agency_id, reference FROM cases WHERE id = $1",
        )
        .bind(case_id)
        .fetch_optional(&mut **tx)
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
        .execute(&mut **tx)
        .await?;
        let who: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or_else(|| user_id.to_string());
        let managers: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, roles FROM users WHERE agency_id = $1 AND disabled = 0 ORDER BY id",
        )
        .bind(&agency)
        .fetch_all(&mut **tx)
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
                tx,
                &r,
                "break_glass",
                &message,
                &format!("/cases/{case_id}"),
            )
            .await?;
        }
        Ok(expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_short_and_upper_case() {
        assert_eq!(
            reference_for("1a2b3c4d-0000-4000-8000-000000000000"),
            "C-1A2B3C4D"
        );
    }
}
