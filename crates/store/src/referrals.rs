//! Referrals as stored: written whole in one transaction with a human-friendly reference,
//! linked to a person in the index at triage, and decided once with the referrer notified.
//!
//! The cases module reads referrals whose `decision` is `open_case` (with `person_id` set)
//! to open cases; this module never writes to case tables.

use pathways_domain::Permission;
use pathways_domain::access::{Action, Authorized, Permitted, RecordFacts};
use pathways_domain::ids::{PersonId, ReferralId};
use pathways_domain::referrals::TriageDecision;
use sqlx::Row as _;

use crate::people::{PersonDetails, SafeContact, insert_person, resolve_in, upsert_safe_contact};
use crate::{Store, StoreError, Tx, WriteTx, new_id, now_unix};

/// Referral status: waiting for triage.
pub const STATUS_RECEIVED: &str = "received";
/// Referral status: triage has decided.
pub const STATUS_DECIDED: &str = "decided";

/// A referral to write: who refers, about whom, why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewReferral {
    /// The referring actor as the access policy knows them (user id or `token:<id>`).
    pub referrer_actor: String,
    /// The referring user, when a person (not a partner system) referred.
    pub referrer_user_id: Option<String>,
    /// The referrer's agency.
    pub referrer_agency_id: String,
    /// Referrer's name.
    pub referrer_name: String,
    /// Referrer's job title.
    pub referrer_role: String,
    /// Where outcomes are e-mailed.
    pub referrer_email: String,
    /// Referrer's phone.
    pub referrer_phone: String,
    /// The person referred, as the referrer knows them.
    pub person: PersonDetails,
    /// Concern keys from the shipped taxonomy.
    pub concerns: Vec<String>,
    /// Why the referral is made.
    pub reason: String,
    /// `urgent` or `standard`.
    pub urgency: String,
    /// `given`, `refused` or `not_sought`.
    pub consent: String,
    /// The lawful reason for sharing without consent (required unless consent was given).
    pub consent_reason: String,
    /// Per-channel safe-contact rules given by the referrer.
    pub safe_contact: Vec<SafeContact>,
}

/// A stored referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    /// Id.
    pub id: String,
    /// Human-friendly reference, `R-YYYY-NNNNNN`.
    pub reference: String,
    /// When received.
    pub created_at: i64,
    /// What was submitted.
    pub submitted: NewReferral,
    /// `received` or `decided`.
    pub status: String,
    /// The person in the index this referral is about, once triage has linked one.
    pub person_id: Option<String>,
    /// The decision, once made.
    pub decision: Option<String>,
    /// Why the decision was made (shown to the referrer).
    pub decision_reason: String,
    /// Signposted service or panel name.
    pub decision_detail: String,
    /// Directory service id when signposted to a listed service.
    pub decision_service_id: String,
    /// When decided.
    pub decided_at: Option<i64>,
    /// Who decided.
    pub decided_by: Option<String>,
}

/// A triage decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionInput {
    /// What was decided.
    pub decision: TriageDecision,
    /// Why.
    pub reason: String,
    /// The signposted service (free text) or the panel (`MARAC`, `MACE`).
    pub detail: String,
    /// A directory service id, when signposting to a listed service.
    pub service_id: String,
}

/// A message to queue in the same transaction as the change that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    /// `email` or `in_app`.
    pub channel: String,
    /// Address or user id.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Repeats of the same key are ignored.
    pub idempotency_key: String,
}

const COLUMNS: &str = "id, reference, created_at, referrer_actor, referrer_user_id, referrer_agency_id, \
    referrer_name, referrer_role, referrer_email, referrer_phone, first_name, middle_names, surname, aliases, \
    dob, approx_birth_year, gender, address_line, postcode, school, phone, email, concerns, reason, urgency, \
    consent, consent_reason, safe_contact, status, person_id, decision, decision_reason, decision_detail, \
    decision_service_id, decided_at, decided_by";

fn referral_from(r: &crate::Row) -> Result<Referral, StoreError> {
    let aliases: String = r.try_get("aliases")?;
    let concerns: String = r.try_get("concerns")?;
    let safe: String = r.try_get("safe_contact")?;
    Ok(Referral {
        id: r.try_get("id")?,
        reference: r.try_get("reference")?,
        created_at: r.try_get("created_at")?,
        submitted: NewReferral {
            referrer_actor: r.try_get("referrer_actor")?,
            referrer_user_id: r.try_get("referrer_user_id")?,
            referrer_agency_id: r.try_get("referrer_agency_id")?,
            referrer_name: r.try_get("referrer_name")?,
            referrer_role: r.try_get("referrer_role")?,
            referrer_email: r.try_get("referrer_email")?,
            referrer_phone: r.try_get("referrer_phone")?,
            person: PersonDetails {
                first_name: r.try_get("first_name")?,
                middle_names: r.try_get("middle_names")?,
                surname: r.try_get("surname")?,
                aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                dob: r.try_get("dob")?,
                approx_birth_year: r.try_get("approx_birth_year")?,
                gender: r.try_get("gender")?,
                address_line: r.try_get("address_line")?,
                postcode: r.try_get("postcode")?,
                school: r.try_get("school")?,
                phone: r.try_get("phone")?,
                email: r.try_get("email")?,
            },
            concerns: serde_json::from_str(&concerns).unwrap_or_default(),
            reason: r.try_get("reason")?,
            urgency: r.try_get("urgency")?,
            consent: r.try_get("consent")?,
            consent_reason: r.try_get("consent_reason")?,
            safe_contact: serde_json::from_str(&safe).unwrap_or_default(),
        },
        status: r.try_get("status")?,
        person_id: r.try_get("person_id")?,
        decision: r.try_get("decision")?,
        decision_reason: r.try_get("decision_reason")?,
        decision_detail: r.try_get("decision_detail")?,
        decision_service_id: r.try_get("decision_service_id")?,
        decided_at: r.try_get("decided_at")?,
        decided_by: r.try_get("decided_by")?,
    })
}

/// The reference for the `n`th referral of `year`: `R-2026-000123`.
pub fn format_reference(year: i64, n: i64) -> String {
    format!("R-{year}-{n:06}")
}

/// The calendar year (UTC) of an instant.
fn year_of(unix: i64) -> i64 {
    // Civil-from-days (Howard Hinnant's algorithm), to avoid a date dependency here.
    let days = unix.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

/// The next referral number. On PostgreSQL a sequence hands it out without any row lock,
/// so concurrent referrals from several processes never wait on each other for it;
/// numbers rise across years and may skip one when a transaction rolls back. On SQLite,
/// which admits one writer at a time anyway, a counter row per year numbers them from 1.
async fn next_number(
    tx: &mut Tx<'_>,
    backend: crate::Backend,
    year: i64,
) -> Result<i64, StoreError> {
    if backend == crate::Backend::Postgres {
        return Ok(sqlx::query_scalar("SELECT nextval('referral_numbers')")
            .fetch_one(&mut **tx)
            .await?);
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO referral_counters (year, last_number) VALUES ($1, 1) \
         ON CONFLICT (year) DO UPDATE SET last_number = referral_counters.last_number + 1 RETURNING last_number",
    )
    .bind(year)
    .fetch_one(&mut **tx)
    .await?)
}

/// Writes a referral inside an open transaction with the next reference; returns it.
pub async fn insert_referral(
    tx: &mut Tx<'_>,
    backend: crate::Backend,
    new: &NewReferral,
    at: i64,
) -> Result<Referral, StoreError> {
    let year = year_of(at);
    let n = next_number(tx, backend, year).await?;
    let id = new_id();
    let reference = format_reference(year, n);
    let p = &new.person;
    sqlx::query(
        "INSERT INTO referrals (id, reference, created_at, referrer_actor, referrer_user_id, referrer_agency_id, \
         referrer_name, referrer_role, referrer_email, referrer_phone, first_name, middle_names, surname, aliases, \
         dob, approx_birth_year, gender, address_line, postcode, school, phone, email, concerns, reason, urgency, \
         consent, consent_reason, safe_contact, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)",
    )
    .bind(&id)
    .bind(&reference)
    .bind(at)
    .bind(&new.referrer_actor)
    .bind(new.referrer_user_id.clone())
    .bind(&new.referrer_agency_id)
    .bind(&new.referrer_name)
    .bind(&new.referrer_role)
    .bind(&new.referrer_email)
    .bind(&new.referrer_phone)
    .bind(&p.first_name)
    .bind(&p.middle_names)
    .bind(&p.surname)
    .bind(serde_json::to_string(&p.aliases).unwrap_or_else(|_| "[]".into()))
    .bind(p.dob.clone())
    .bind(p.approx_birth_year)
    .bind(&p.gender)
    .bind(&p.address_line)
    .bind(&p.postcode)
    .bind(&p.school)
    .bind(&p.phone)
    .bind(&p.email)
    .bind(serde_json::to_string(&new.concerns).unwrap_or_else(|_| "[]".into()))
    .bind(&new.reason)
    .bind(&new.urgency)
    .bind(&new.consent)
    .bind(&new.consent_reason)
    .bind(serde_json::to_string(&new.safe_contact).unwrap_or_else(|_| "[]".into()))
    .bind(STATUS_RECEIVED)
    .execute(&mut **tx)
    .await?;
    Ok(Referral {
        id,
        reference,
        created_at: at,
        submitted: new.clone(),
        status: STATUS_RECEIVED.into(),
        person_id: None,
        decision: None,
        decision_reason: String::new(),
        decision_detail: String::new(),
        decision_service_id: String::new(),
        decided_at: None,
        decided_by: None,
    })
}

async fn referral_in(tx: &mut Tx<'_>, id: &str) -> Result<Referral, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM referrals WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound { what: "referral" })?;
    referral_from(&row)
}

async fn set_person(
    tx: &mut Tx<'_>,
    referral: &Referral,
    person_id: &str,
    by: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE referrals SET person_id = $1 WHERE id = $2")
        .bind(person_id)
        .bind(&referral.id)
        .execute(&mut **tx)
        .await?;
    // What the referrer said about safe contact is the newest word on it.
    for rule in &referral.submitted.safe_contact {
        upsert_safe_contact(tx, person_id, rule, by).await?;
    }
    Ok(())
}

impl WriteTx {
    /// Writes a referral whole, received at `at` (now, or an earlier time for imports and
    /// the demo), with the next reference.
    pub async fn create_referral(
        &mut self,
        referrer: &Permitted,
        new: &NewReferral,
        at: i64,
    ) -> Result<Referral, StoreError> {
        needs(referrer, Permission::MakeReferral)?;
        let backend = self.backend();
        insert_referral(&mut self.tx, backend, new, at).await
    }

    /// Links a referral to an existing person (the person it was merged into, if merged),
    /// copying the referral's safe-contact rules onto them. Returns the person id linked.
    pub async fn link_referral_person(
        &mut self,
        triage: &Permitted,
        referral: &Authorized<ReferralId>,
        person: &Authorized<PersonId>,
        by: &str,
    ) -> Result<String, StoreError> {
        needs(triage, Permission::TriageReferrals)?;
        let referral = referral_in(&mut self.tx, readable(referral)?.as_str()).await?;
        let root = resolve_in(&mut self.tx, readable(person)?.as_str()).await?;
        set_person(&mut self.tx, &referral, &root, by).await?;
        Ok(root)
    }

    /// Creates a new person from what the referral says and links the referral to them.
    pub async fn create_person_for_referral(
        &mut self,
        triage: &Permitted,
        referral: &Authorized<ReferralId>,
        by: &str,
    ) -> Result<String, StoreError> {
        needs(triage, Permission::TriageReferrals)?;
        let referral = referral_in(&mut self.tx, readable(referral)?.as_str()).await?;
        if let Some(existing) = &referral.person_id {
            return Err(StoreError::Conflict(format!(
                "referral {} is already linked to person {existing}",
                referral.reference
            )));
        }
        let id = insert_person(&mut self.tx, &referral.submitted.person, by).await?;
        set_person(&mut self.tx, &referral, &id, by).await?;
        Ok(id)
    }

    /// Records the triage decision and queues the referrer's notifications. A referral is
    /// decided once; `open_case` needs a linked person.
    pub async fn decide_referral(
        &mut self,
        triage: &Permitted,
        referral: &Authorized<ReferralId>,
        decision: &DecisionInput,
        by: &str,
        messages: &[QueuedMessage],
    ) -> Result<Referral, StoreError> {
        needs(triage, Permission::TriageReferrals)?;
        let referral_id = readable(referral)?.as_str();
        let tx = &mut self.tx;
        let referral = referral_in(tx, referral_id).await?;
        if referral.status == STATUS_DECIDED {
            return Err(StoreError::Conflict(format!(
                "referral {} has already been decided",
                referral.reference
            )));
        }
        if decision.decision == TriageDecision::OpenCase && referral.person_id.is_none() {
            return Err(StoreError::Conflict(format!(
                "referral {} must be linked to a person before a case can be opened",
                referral.reference
            )));
        }
        let now = now_unix();
        sqlx::query(
            "UPDATE referrals SET status = $1, decision = $2, decision_reason = $3, decision_detail = $4, \
             decision_service_id = $5, decided_at = $6, decided_by = $7 WHERE id = $8 AND status = $9",
        )
        .bind(STATUS_DECIDED)
        .bind(decision.decision.key())
        .bind(&decision.reason)
        .bind(&decision.detail)
        .bind(&decision.service_id)
        .bind(now)
        .bind(by)
        .bind(referral_id)
        .bind(STATUS_RECEIVED)
        .execute(&mut **tx)
        .await?;
        for m in messages {
            crate::outbox::enqueue(
                tx,
                &m.channel,
                &m.recipient,
                &m.subject,
                &m.body,
                &m.idempotency_key,
            )
            .await?;
        }
        referral_in(tx, referral_id).await
    }
}

/// Refuses a proof for another permission than the one a write needs.
pub(crate) fn needs(cap: &Permitted, p: Permission) -> Result<(), StoreError> {
    if cap.permission() == p {
        Ok(())
    } else {
        Err(StoreError::NotPermitted(p))
    }
}

/// The record of a proof that allowed reading it (what triage and merging act on).
pub(crate) fn readable<Id>(cap: &Authorized<Id>) -> Result<&Id, StoreError> {
    if matches!(cap.action(), Action::ViewRecord | Action::Edit) {
        Ok(cap.id())
    } else {
        Err(StoreError::NotAuthorized(Action::ViewRecord))
    }
}

impl Store {
    /// One referral by id.
    pub async fn referral(&self, id: &str) -> Result<Referral, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM referrals WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "referral" })?;
        referral_from(&row)
    }

    /// One referral by its reference (`R-2026-000123`).
    pub async fn referral_by_reference(&self, reference: &str) -> Result<Referral, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM referrals WHERE reference = $1");
        let row = sqlx::query(&sql)
            .bind(reference.trim().to_ascii_uppercase())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "referral" })?;
        referral_from(&row)
    }

    /// Referrals made by one actor, newest first. Callers still pass each through the access
    /// policy before showing it.
    pub async fn referrals_by_referrer(
        &self,
        actor: &str,
        limit: i64,
    ) -> Result<Vec<Referral>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM referrals WHERE referrer_actor = $1 ORDER BY created_at DESC, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(actor)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(referral_from).collect()
    }

    /// Referrals waiting for triage, oldest first. Callers filter through the access policy.
    pub async fn triage_queue(&self) -> Result<Vec<Referral>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM referrals WHERE status = $1 ORDER BY created_at, id");
        let rows = sqlx::query(&sql)
            .bind(STATUS_RECEIVED)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(referral_from).collect()
    }

    /// The most recently decided referrals, newest first. Callers filter through the policy.
    pub async fn recently_decided(&self, limit: i64) -> Result<Vec<Referral>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM referrals WHERE status = $1 ORDER BY decided_at DESC, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(STATUS_DECIDED)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(referral_from).collect()
    }

    /// Referrals linked to a person, newest first.
    pub async fn referrals_for_person(&self, person_id: &str) -> Result<Vec<Referral>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM referrals WHERE person_id = $1 ORDER BY created_at DESC, id"
        );
        let rows = sqlx::query(&sql)
            .bind(person_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(referral_from).collect()
    }

    /// Referrals decided `open_case` whose person is known: the hand-over to the cases module.
    pub async fn referrals_to_open_as_cases(&self) -> Result<Vec<Referral>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM referrals WHERE decision = 'open_case' AND person_id IS NOT NULL \
             ORDER BY decided_at, id"
        );
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(referral_from).collect()
    }

    /// Delivers a queued in-app message exactly once: writes the notification (its id is the
    /// outbox id, so a repeat is ignored) and marks the message sent, in one transaction.
    pub async fn deliver_in_app(
        &self,
        outbox_id: &str,
        user_id: &str,
        kind: &str,
        message: &str,
        link: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let now = now_unix();
        sqlx::query(
            "INSERT INTO notifications (id, user_id, created_at, kind, message, link) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(outbox_id)
        .bind(user_id)
        .bind(now)
        .bind(kind)
        .bind(message)
        .bind(link)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, lease_owner = NULL, lease_until = NULL \
             WHERE id = $2 AND sent_at IS NULL",
        )
        .bind(now)
        .bind(outbox_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What the access policy needs to know about a referral: its referrer and, once linked,
    /// the person's restriction.
    pub async fn referral_facts(&self, referral: &Referral) -> Result<RecordFacts, StoreError> {
        let mut facts = match &referral.person_id {
            Some(pid) => {
                let person = self.person(pid).await?;
                self.person_facts(&person).await?
            }
            None => RecordFacts::default(),
        };
        facts.referrers = vec![referral.submitted.referrer_actor.clone()];
        Ok(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_numbered_within_the_year() {
        assert_eq!(format_reference(2026, 123), "R-2026-000123");
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(1_767_225_599), 2025); // 2025-12-31 23:59:59 UTC
        assert_eq!(year_of(1_767_225_600), 2026); // 2026-01-01 00:00:00 UTC
        assert_eq!(year_of(951_782_400), 2000); // 2000-02-29
    }
}
