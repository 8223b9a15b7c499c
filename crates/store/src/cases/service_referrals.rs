//! Referrals from a case to a service, their status workflow and consortium allocation.

use super::{editable, needs, touch};
use pathways_domain::Permission;
use pathways_domain::access::{Authorized, Permitted};
use pathways_domain::ids::{CaseId, ServiceReferralId};

use pathways_domain::cases::{Consent, ServiceReferralStatus};
use sqlx::Row as _;

use crate::{Row, Store, StoreError, Tx, WriteTx, new_id, now_unix};

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
    pub status: ServiceReferralStatus,
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
        consent: Consent::parse(&consent)?,
        lawful_basis: r.try_get("lawful_basis")?,
        share_reason: r.try_get("share_reason")?,
        sharing_agreement: r.try_get("sharing_agreement")?,
        reason: r.try_get("reason")?,
        status: ServiceReferralStatus::parse(&status)?,
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
}

impl WriteTx {
    /// Adds a member agency to a consortium hub.
    pub async fn add_consortium_member(
        &mut self,
        admin: &Permitted,
        hub_agency_id: &str,
        member_agency_id: &str,
    ) -> Result<(), StoreError> {
        needs(admin, Permission::Administer)?;
        sqlx::query(
            "INSERT INTO consortium_members (hub_agency_id, member_agency_id, added_at) VALUES ($1, $2, $3) \
             ON CONFLICT (hub_agency_id, member_agency_id) DO NOTHING",
        )
        .bind(hub_agency_id)
        .bind(member_agency_id)
        .bind(now_unix())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Sends a referral from a case to a service: stored as `sent`, the receiving agency's
    /// users notified in-app (without personal details), all in one transaction.
    pub async fn create_service_referral(
        &mut self,
        case: &Authorized<CaseId>,
        r: &NewServiceReferral,
    ) -> Result<String, StoreError> {
        let case_id = editable(case)?;
        let now = now_unix();
        let id = new_id();
        let tx = &mut self.tx;
        touch(tx, case_id, now).await?;
        sqlx::query(
            "INSERT INTO service_referrals (id, case_id, service_id, service_name, category, to_agency_id, consent, lawful_basis, \
             share_reason, sharing_agreement, reason, status, sent_at, sent_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'sent', $12, $13, $12)",
        )
        .bind(&id)
        .bind(case_id)
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
        .execute(&mut **tx)
        .await?;
        record_referral_event(tx, &id, &r.sent_by, "", "sent", "", now).await?;
        let message = format!(
            "A new referral to {} is waiting for a response.",
            r.service_name
        );
        for user in agency_users(tx, &r.to_agency_id).await? {
            crate::outbox::notify(
                tx,
                &user,
                "service_referral",
                &message,
                &format!("/service-referrals/{id}"),
            )
            .await?;
        }
        Ok(id)
    }

    /// A consortium hub allocates a referral to one of its members; the time to allocation
    /// is `allocated_at - sent_at`. Refused when already allocated or not a member.
    pub async fn allocate_service_referral(
        &mut self,
        referral: &Authorized<ServiceReferralId>,
        member_agency_id: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let id = editable(referral)?;
        let now = now_unix();
        let tx = &mut self.tx;
        let hub: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT to_agency_id, allocated_agency_id FROM service_referrals WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
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
        .fetch_optional(&mut **tx)
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
            .execute(&mut **tx)
            .await?;
        record_referral_event(tx, id, actor, "", "allocated", "", now).await?;
        for user in agency_users(tx, member_agency_id).await? {
            crate::outbox::notify(
                tx,
                &user,
                "service_referral",
                "A referral has been allocated to your organisation.",
                &format!("/service-referrals/{id}"),
            )
            .await?;
        }
        Ok(())
    }

    /// Moves a referral along its workflow ([`transition`]); the change is refused when the
    /// stored status is not `from` (someone else moved it first) or the move skips a step.
    /// The sender is notified.
    pub async fn set_service_referral_status(
        &mut self,
        referral: &Authorized<ServiceReferralId>,
        from: ServiceReferralStatus,
        to: ServiceReferralStatus,
        reason: &str,
        actor: &str,
    ) -> Result<(), StoreError> {
        let id = editable(referral)?;
        pathways_domain::cases::transition(from, to, reason)?;
        let now = now_unix();
        let column = match to {
            ServiceReferralStatus::Accepted | ServiceReferralStatus::Declined => "responded_at",
            ServiceReferralStatus::Started => "started_at",
            _ => "ended_at",
        };
        let tx = &mut self.tx;
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
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the referral's status changed since the page was loaded; reload it and try again"
                    .into(),
            ));
        }
        record_referral_event(tx, id, actor, from.key(), to.key(), reason.trim(), now).await?;
        let (sender, case_id, service): (String, String, String) = sqlx::query_as(
            "SELECT sent_by, case_id, service_name FROM service_referrals WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        touch(tx, &case_id, now).await?;
        crate::outbox::notify(
            tx,
            &sender,
            "service_referral",
            &format!(
                "Your referral to {service} is now {}.",
                to.label().to_lowercase()
            ),
            &format!("/cases/{case_id}"),
        )
        .await?;
        Ok(())
    }
}
