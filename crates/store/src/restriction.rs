//! Restrictions as stored: a restriction belongs to the person a record is about, so one
//! named access list covers the person page, their referrals and every case about them,
//! and records merged into one another share it. Writes replace a list exactly and cover the
//! whole merge cluster in one transaction; who may make them is the access policy's call.

use pathways_domain::access::Restriction;
use pathways_domain::access::{Action, Authorized};
use pathways_domain::ids::PersonId;

use crate::{StoreError, Tx, WriteTx, now_unix};

/// Which of a person's two access lists a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessListKind {
    /// The restricted record's list: who may see the person's details at all.
    Record,
    /// The restricted address's list: who may see the current address.
    Address,
}

impl AccessListKind {
    fn scope(self) -> &'static str {
        match self {
            AccessListKind::Record => "restricted",
            AccessListKind::Address => "address",
        }
    }
}

/// Every record in a person's merge cluster: the root it was (transitively) merged into and
/// every record merged into that root, the person included.
pub(crate) async fn cluster_in(
    tx: &mut Tx<'_>,
    person_id: &str,
) -> Result<Vec<String>, StoreError> {
    let ids: Vec<String> = sqlx::query_scalar(CLUSTER_SQL)
        .bind(person_id)
        .fetch_all(&mut **tx)
        .await?;
    if ids.is_empty() {
        return Err(StoreError::NotFound { what: "person" });
    }
    Ok(ids)
}

const CLUSTER_SQL: &str = "WITH RECURSIVE up(id, parent) AS ( \
       SELECT id, merged_into FROM people WHERE id = $1 \
       UNION ALL SELECT p.id, p.merged_into FROM people p JOIN up ON p.id = up.parent), \
     down(id) AS ( \
       SELECT id FROM up WHERE parent IS NULL \
       UNION ALL SELECT p.id FROM people p JOIN down ON p.merged_into = down.id) \
     SELECT id FROM down ORDER BY id";

/// Restricts the person's records to `restriction` (replacing any earlier list and contact),
/// or lifts the restriction when `None`, across the merge cluster.
pub(crate) async fn set_record_restriction_in(
    tx: &mut Tx<'_>,
    person_id: &str,
    restriction: Option<&Restriction>,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    let cluster = cluster_in(tx, person_id).await?;
    for id in &cluster {
        let (flag, contact) = match restriction {
            Some(r) => (1i64, r.contact.as_str()),
            None => (0, ""),
        };
        sqlx::query(
            "UPDATE people SET restricted = $1, restriction_contact = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(flag)
        .bind(contact)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        let list = restriction.map(|r| r.access_list.as_slice());
        replace_list(
            tx,
            id,
            AccessListKind::Record,
            list.unwrap_or_default(),
            by,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Restricts the person's current address to `list` (replacing any earlier list), or lifts
/// the restriction when `None`, across the merge cluster.
pub(crate) async fn set_address_restriction_in(
    tx: &mut Tx<'_>,
    person_id: &str,
    list: Option<&[String]>,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    let cluster = cluster_in(tx, person_id).await?;
    for id in &cluster {
        sqlx::query("UPDATE people SET address_restricted = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(list.is_some()))
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        replace_list(
            tx,
            id,
            AccessListKind::Address,
            list.unwrap_or_default(),
            by,
            now,
        )
        .await?;
    }
    Ok(())
}

async fn replace_list(
    tx: &mut Tx<'_>,
    person_id: &str,
    kind: AccessListKind,
    users: &[String],
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM person_access WHERE person_id = $1 AND scope = $2")
        .bind(person_id)
        .bind(kind.scope())
        .execute(&mut **tx)
        .await?;
    for user in users {
        sqlx::query(
            "INSERT INTO person_access (person_id, user_id, scope, added_at, added_by) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (person_id, user_id, scope) DO NOTHING",
        )
        .bind(person_id)
        .bind(user)
        .bind(kind.scope())
        .bind(now)
        .bind(by)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Adds one user to a restricted person's record list across the merge cluster (a new lead
/// worker of a restricted case).
pub(crate) async fn add_to_record_list_in(
    tx: &mut Tx<'_>,
    person_id: &str,
    user_id: &str,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    for id in cluster_in(tx, person_id).await? {
        sqlx::query(
            "INSERT INTO person_access (person_id, user_id, scope, added_at, added_by) \
             VALUES ($1, $2, 'restricted', $3, $4) ON CONFLICT (person_id, user_id, scope) DO NOTHING",
        )
        .bind(&id)
        .bind(user_id)
        .bind(now)
        .bind(by)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// After a merge, gives every record of the cluster the restrictions any of them had: the
/// union of the lists, and the first contact recorded. Merged records are one person, and a
/// restriction on any of them must not be bypassed through another.
pub(crate) async fn unify_in(
    tx: &mut Tx<'_>,
    person_id: &str,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    let cluster = cluster_in(tx, person_id).await?;
    let mut restricted = false;
    let mut address_restricted = false;
    let mut contact = String::new();
    let mut record_list: Vec<String> = Vec::new();
    let mut address_list: Vec<String> = Vec::new();
    for id in &cluster {
        let (r, c, a): (i64, String, i64) = sqlx::query_as(
            "SELECT restricted, restriction_contact, address_restricted FROM people WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
        restricted |= r != 0;
        address_restricted |= a != 0;
        if r != 0 && contact.is_empty() {
            contact = c;
        }
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT user_id, scope FROM person_access WHERE person_id = $1 ORDER BY user_id",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
        for (user, scope) in rows {
            let list = if scope == "address" {
                &mut address_list
            } else {
                &mut record_list
            };
            if !list.contains(&user) {
                list.push(user);
            }
        }
    }
    let restriction = restricted.then_some(Restriction {
        access_list: record_list,
        contact,
    });
    set_record_restriction_in(tx, person_id, restriction.as_ref(), by, now).await?;
    let address = address_restricted.then_some(address_list);
    set_address_restriction_in(tx, person_id, address.as_deref(), by, now).await
}

/// A change to one of a person's access lists and the notice the people on the list (before
/// or after) receive.
#[derive(Debug, Clone)]
pub struct AccessListChange {
    /// Which list.
    pub kind: AccessListKind,
    /// The whole list after the change; `None` lifts the restriction.
    pub list: Option<Vec<String>>,
    /// Whom others should contact (the record list only).
    pub contact: String,
    /// Who made the change.
    pub by: String,
    /// What the people on the list are told.
    pub notice: String,
    /// Where the notice links.
    pub link: String,
}

/// The users on a person's list now.
pub(crate) async fn list_in(
    tx: &mut Tx<'_>,
    person_id: &str,
    kind: AccessListKind,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT user_id FROM person_access WHERE person_id = $1 AND scope = $2 ORDER BY user_id",
    )
    .bind(person_id)
    .bind(kind.scope())
    .fetch_all(&mut **tx)
    .await?)
}

impl WriteTx {
    /// Applies a change to a person's record or address access list across the merge
    /// cluster and notifies everyone on the list before or after the change (but the person
    /// making it). The proof must be for changing that list.
    pub async fn change_access_list(
        &mut self,
        person: &Authorized<PersonId>,
        change: &AccessListChange,
    ) -> Result<(), StoreError> {
        let needed = match change.kind {
            AccessListKind::Record => Action::ChangeAccessList,
            AccessListKind::Address => Action::ChangeAddressList,
        };
        if person.action() != needed {
            return Err(StoreError::NotAuthorized(needed));
        }
        let person_id = person.id().as_str();
        let now = now_unix();
        let tx = &mut self.tx;
        let before = list_in(tx, person_id, change.kind).await?;
        match change.kind {
            AccessListKind::Record => {
                let restriction = change.list.as_ref().map(|list| Restriction {
                    access_list: list.clone(),
                    contact: change.contact.clone(),
                });
                set_record_restriction_in(tx, person_id, restriction.as_ref(), &change.by, now)
                    .await?;
            }
            AccessListKind::Address => {
                set_address_restriction_in(tx, person_id, change.list.as_deref(), &change.by, now)
                    .await?;
            }
        }
        let mut told: Vec<&String> = Vec::new();
        for user in before.iter().chain(change.list.iter().flatten()) {
            if *user != change.by && !told.contains(&user) {
                told.push(user);
                crate::outbox::notify(tx, user, "access_list", &change.notice, &change.link)
                    .await?;
            }
        }
        Ok(())
    }
}
