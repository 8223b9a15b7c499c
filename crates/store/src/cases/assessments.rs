//! Risk assessments recorded on a case, each with the instrument version it was made with.

use super::{editable, touch};
use pathways_domain::access::Authorized;
use pathways_domain::ids::CaseId;

use sqlx::Row as _;

use crate::{Store, StoreError, WriteTx, new_id, now_unix};

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

impl Store {
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
}

impl WriteTx {
    /// Stores a scored assessment and makes it the case's current risk, in one transaction.
    pub async fn record_assessment(
        &mut self,
        case: &Authorized<CaseId>,
        by: &str,
        a: &NewAssessment,
    ) -> Result<String, StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let id = new_id();
        let tx = &mut self.tx;
        touch(tx, case_id, now).await?;
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
        .execute(&mut **tx)
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
        q.bind(case_id).execute(&mut **tx).await?;
        Ok(id)
    }
}
