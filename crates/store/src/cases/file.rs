//! The case file's working parts: chronology entries, tasks, plan goals and reviews.

use super::{editable, touch};
use pathways_domain::access::Authorized;
use pathways_domain::cases::{EntryKind, GoalStatus};
use pathways_domain::ids::CaseId;

use sqlx::Row as _;

use crate::{Store, StoreError, Tx, WriteTx, new_id, now_unix};

/// One chronology entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Id.
    pub id: String,
    /// What the entry records.
    pub kind: EntryKind,
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
    /// What the entry records.
    pub kind: EntryKind,
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
    pub status: GoalStatus,
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

impl Store {
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
                    kind: EntryKind::parse(&r.try_get::<String, _>("kind")?)?,
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
                    status: GoalStatus::parse(&r.try_get::<String, _>("status")?)?,
                    target_at: r.try_get("target_at")?,
                })
            })
            .collect()
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
}

impl WriteTx {
    /// Adds a chronology entry.
    pub async fn add_entry(
        &mut self,
        case: &Authorized<CaseId>,
        author_id: &str,
        e: &NewEntry,
    ) -> Result<String, StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let id = new_id();
        let tx = &mut self.tx;
        touch(tx, case_id, now).await?;
        sqlx::query(
            "INSERT INTO case_entries (id, case_id, kind, occurred_at, recorded_at, author_id, summary, body, place, contact_method) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(case_id)
        .bind(e.kind.key())
        .bind(e.occurred_at)
        .bind(now)
        .bind(author_id)
        .bind(&e.summary)
        .bind(&e.body)
        .bind(&e.place)
        .bind(&e.contact_method)
        .execute(&mut **tx)
        .await?;
        Ok(id)
    }

    /// Adds a task and refreshes the case's next due date.
    pub async fn add_task(
        &mut self,
        case: &Authorized<CaseId>,
        title: &str,
        owner_id: &str,
        due_at: i64,
        by: &str,
    ) -> Result<String, StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let id = new_id();
        let tx = &mut self.tx;
        touch(tx, case_id, now).await?;
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
        .execute(&mut **tx)
        .await?;
        refresh_next_task(tx, case_id, now).await?;
        Ok(id)
    }

    /// Marks a task done.
    pub async fn complete_task(
        &mut self,
        case: &Authorized<CaseId>,
        task_id: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let tx = &mut self.tx;
        let done = sqlx::query(
            "UPDATE case_tasks SET done_at = $1, done_by = $2 WHERE id = $3 AND case_id = $4 AND done_at IS NULL",
        )
        .bind(now)
        .bind(by)
        .bind(task_id)
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "open task" });
        }
        refresh_next_task(tx, case_id, now).await?;
        Ok(())
    }

    /// Adds a goal to the case plan.
    pub async fn add_goal(
        &mut self,
        case: &Authorized<CaseId>,
        goal: &str,
        actions: &str,
        target_at: Option<i64>,
    ) -> Result<String, StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let id = new_id();
        let tx = &mut self.tx;
        touch(tx, case_id, now).await?;
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
        .execute(&mut **tx)
        .await?;
        Ok(id)
    }

    /// Marks a goal `open`, `achieved` or `dropped`.
    pub async fn set_goal_status(
        &mut self,
        case: &Authorized<CaseId>,
        goal_id: &str,
        status: GoalStatus,
    ) -> Result<(), StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let done = sqlx::query(
            "UPDATE case_goals SET status = $1, updated_at = $2 WHERE id = $3 AND case_id = $4",
        )
        .bind(status.key())
        .bind(now)
        .bind(goal_id)
        .bind(case_id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "goal" });
        }
        Ok(())
    }

    /// Schedules a review.
    pub async fn schedule_review(
        &mut self,
        case: &Authorized<CaseId>,
        due_at: i64,
        by: &str,
    ) -> Result<String, StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let id = new_id();
        let tx = &mut self.tx;
        touch(tx, case_id, now).await?;
        sqlx::query(
            "INSERT INTO case_reviews (id, case_id, due_at, created_by) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(case_id)
        .bind(due_at)
        .bind(by)
        .execute(&mut **tx)
        .await?;
        refresh_next_review(tx, case_id, now).await?;
        Ok(id)
    }

    /// Records that a review was held, with its notes.
    pub async fn hold_review(
        &mut self,
        case: &Authorized<CaseId>,
        review_id: &str,
        notes: &str,
    ) -> Result<(), StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let tx = &mut self.tx;
        let done = sqlx::query(
            "UPDATE case_reviews SET held_at = $1, notes = $2 WHERE id = $3 AND case_id = $4 AND held_at IS NULL",
        )
        .bind(now)
        .bind(notes)
        .bind(review_id)
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "scheduled review",
            });
        }
        refresh_next_review(tx, case_id, now).await?;
        Ok(())
    }
}
