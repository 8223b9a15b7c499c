//! The person index as stored: one row per real person, reversible merges with their
//! history, and the per-channel safe-contact rules every outbound message about a person obeys.

use pathways_domain::Permission;
use pathways_domain::access::{Authorized, Permitted, RecordFacts, Restriction};
use pathways_domain::ids::PersonId;
use sqlx::Row as _;

use crate::referrals::{needs, readable};
use crate::{Store, StoreError, Tx, WriteTx, new_id, now_unix};

/// The channels a safe-contact rule can cover.
pub const CONTACT_CHANNELS: [&str; 4] = ["phone", "text", "email", "post"];

/// The identifying details of a person, as referred or as held in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonDetails {
    /// Given name.
    pub first_name: String,
    /// Middle names, space separated.
    pub middle_names: String,
    /// Family name.
    pub surname: String,
    /// Other names the person is known by.
    pub aliases: Vec<String>,
    /// Date of birth, `YYYY-MM-DD`, when known.
    pub dob: Option<String>,
    /// Approximate birth year when only an age is known.
    pub approx_birth_year: Option<i64>,
    /// Gender as recorded.
    pub gender: String,
    /// First line of the address.
    pub address_line: String,
    /// Postcode.
    pub postcode: String,
    /// School or college.
    pub school: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
}

/// A person in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Id.
    pub id: String,
    /// Identifying details.
    pub details: PersonDetails,
    /// When created.
    pub created_at: i64,
    /// Who created the row.
    pub created_by: String,
    /// When the row last changed (details, merge or unmerge).
    pub updated_at: i64,
    /// The person this record was merged into, if merged.
    pub merged_into: Option<String>,
    /// Only the named access list sees details.
    pub restricted: bool,
    /// Whom others should contact about a restricted record.
    pub restriction_contact: String,
    /// The current address is visible only to the named address list.
    pub address_restricted: bool,
}

/// Whether and when it is safe to contact a person on one channel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SafeContact {
    /// `phone`, `text`, `email` or `post`.
    pub channel: String,
    /// True when the channel may be used.
    pub safe: bool,
    /// The number or address to use on this channel.
    #[serde(default)]
    pub detail: String,
    /// When it is safe (for example "weekdays after 4pm, not weekends").
    #[serde(default)]
    pub when: String,
}

/// One merge of a person into another, and its undoing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeEvent {
    /// Id of the merge.
    pub id: String,
    /// The person merged away.
    pub person_id: String,
    /// The person kept.
    pub merged_into: String,
    /// Why they were judged the same person.
    pub reason: String,
    /// When merged.
    pub merged_at: i64,
    /// Who merged.
    pub merged_by: String,
    /// When undone.
    pub unmerged_at: Option<i64>,
    /// Who undid it.
    pub unmerged_by: Option<String>,
}

/// What happened to a message about a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactOutcome {
    /// Queued for delivery.
    Queued,
    /// Refused by the person's safe-contact rules; nothing was queued.
    Refused {
        /// Why, in words to show staff.
        reason: String,
    },
}

const PERSON_COLUMNS: &str = "id, first_name, middle_names, surname, aliases, dob, approx_birth_year, gender, \
     postcode, address_line, phone, email, school, created_at, created_by, updated_at, merged_into, restricted, \
     restriction_contact, address_restricted";

fn person_from(r: &crate::Row) -> Result<Person, StoreError> {
    let aliases: String = r.try_get("aliases")?;
    Ok(Person {
        id: r.try_get("id")?,
        details: PersonDetails {
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
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        updated_at: r.try_get("updated_at")?,
        merged_into: r.try_get("merged_into")?,
        restricted: r.try_get::<i64, _>("restricted")? != 0,
        restriction_contact: r.try_get("restriction_contact")?,
        address_restricted: r.try_get::<i64, _>("address_restricted")? != 0,
    })
}

/// Inserts a person inside an open transaction and returns the new id.
pub async fn insert_person(
    tx: &mut Tx<'_>,
    d: &PersonDetails,
    created_by: &str,
) -> Result<String, StoreError> {
    let id = new_id();
    let now = now_unix();
    let aliases = serde_json::to_string(&d.aliases).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO people (id, first_name, middle_names, surname, aliases, dob, approx_birth_year, gender, \
         postcode, address_line, phone, email, school, created_at, created_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $14)",
    )
    .bind(&id)
    .bind(&d.first_name)
    .bind(&d.middle_names)
    .bind(&d.surname)
    .bind(aliases)
    .bind(d.dob.clone())
    .bind(d.approx_birth_year)
    .bind(&d.gender)
    .bind(&d.postcode)
    .bind(&d.address_line)
    .bind(&d.phone)
    .bind(&d.email)
    .bind(&d.school)
    .bind(now)
    .bind(created_by)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Records (replacing) one safe-contact rule inside an open transaction.
pub async fn upsert_safe_contact(
    tx: &mut Tx<'_>,
    person_id: &str,
    rule: &SafeContact,
    by: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO safe_contact (person_id, channel, safe, detail, notes, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (person_id, channel) DO UPDATE SET \
         safe = excluded.safe, detail = excluded.detail, notes = excluded.notes, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(person_id)
    .bind(&rule.channel)
    .bind(i64::from(rule.safe))
    .bind(&rule.detail)
    .bind(&rule.when)
    .bind(now_unix())
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Follows merge links from `id` to the person kept (at most 64 hops, so a damaged chain
/// cannot loop forever).
pub async fn resolve_in(tx: &mut Tx<'_>, id: &str) -> Result<String, StoreError> {
    let mut current = id.to_string();
    for _ in 0..64 {
        let next: Option<Option<String>> =
            sqlx::query_scalar("SELECT merged_into FROM people WHERE id = $1")
                .bind(&current)
                .fetch_optional(&mut **tx)
                .await?;
        match next {
            None => return Err(StoreError::NotFound { what: "person" }),
            Some(None) => return Ok(current),
            Some(Some(n)) => current = n,
        }
    }
    Err(StoreError::Conflict(format!(
        "the merge links from person {id} form a loop; unmerge one of them"
    )))
}

/// The kept person `root` and every record merged into it, directly or through others.
async fn merge_group(tx: &mut Tx<'_>, root: &str) -> Result<Vec<String>, StoreError> {
    let mut group = vec![root.to_string()];
    let mut i = 0;
    while i < group.len() && group.len() < 1000 {
        let children: Vec<String> =
            sqlx::query_scalar("SELECT id FROM people WHERE merged_into = $1")
                .bind(&group[i])
                .fetch_all(&mut **tx)
                .await?;
        group.extend(children.into_iter().filter(|c| c != root));
        i += 1;
    }
    Ok(group)
}

/// Queues a message about a person on `channel`, inside an open transaction, only when the
/// safe-contact rules of every record of that person (the kept record and all merged into it)
/// mark the channel safe: the most restrictive rule wins. An unsafe or unrecorded channel is refused and nothing is queued.
pub async fn enqueue_about_person(
    tx: &mut Tx<'_>,
    person_id: &str,
    channel: &str,
    recipient: &str,
    subject: &str,
    body: &str,
    idempotency_key: &str,
) -> Result<ContactOutcome, StoreError> {
    let root = resolve_in(tx, person_id).await?;
    let group = merge_group(tx, &root).await?;
    let mut rows = Vec::new();
    for id in &group {
        rows.extend(
            sqlx::query("SELECT safe FROM safe_contact WHERE channel = $1 AND person_id = $2")
                .bind(channel)
                .bind(id)
                .fetch_all(&mut **tx)
                .await?,
        );
    }
    if rows.is_empty() {
        return Ok(ContactOutcome::Refused {
            reason: format!(
                "No one has recorded whether {channel} is a safe way to contact this person. \
                 Record it in their safe-contact details before sending."
            ),
        });
    }
    for r in &rows {
        if r.try_get::<i64, _>("safe")? == 0 {
            return Ok(ContactOutcome::Refused {
                reason: format!(
                    "Contact by {channel} is marked unsafe for this person. The message was not sent."
                ),
            });
        }
    }
    crate::outbox::enqueue(tx, channel, recipient, subject, body, idempotency_key).await?;
    Ok(ContactOutcome::Queued)
}

impl WriteTx {
    /// Adds a person to the index (triage, imports and the demo).
    pub async fn create_person(
        &mut self,
        triage: &Permitted,
        d: &PersonDetails,
        created_by: &str,
    ) -> Result<String, StoreError> {
        needs(triage, Permission::TriageReferrals)?;
        insert_person(&mut self.tx, d, created_by).await
    }

    /// Records (replacing) one safe-contact rule.
    pub async fn set_safe_contact(
        &mut self,
        person: &Authorized<PersonId>,
        rule: &SafeContact,
        by: &str,
    ) -> Result<(), StoreError> {
        let person_id = readable(person)?.as_str();
        resolve_in(&mut self.tx, person_id).await?;
        upsert_safe_contact(&mut self.tx, person_id, rule, by).await
    }

    /// Queues a message about a person if their safe-contact rules allow the channel; see
    /// [`enqueue_about_person`].
    #[allow(clippy::too_many_arguments)]
    pub async fn message_person(
        &mut self,
        triage: &Permitted,
        person: &Authorized<PersonId>,
        channel: &str,
        recipient: &str,
        subject: &str,
        body: &str,
        idempotency_key: &str,
    ) -> Result<ContactOutcome, StoreError> {
        needs(triage, Permission::TriageReferrals)?;
        enqueue_about_person(
            &mut self.tx,
            readable(person)?.as_str(),
            channel,
            recipient,
            subject,
            body,
            idempotency_key,
        )
        .await
    }

    /// Merges person `from` into `into` (both must be unmerged and different), recording
    /// who did it and why. Reversible with [`WriteTx::unmerge_person`].
    pub async fn merge_people(
        &mut self,
        triage: &Permitted,
        from: &Authorized<PersonId>,
        into: &Authorized<PersonId>,
        reason: &str,
        by: &str,
    ) -> Result<MergeEvent, StoreError> {
        needs(triage, Permission::TriageReferrals)?;
        let (from, into) = (readable(from)?.as_str(), readable(into)?.as_str());
        let tx = &mut self.tx;
        if from == into {
            return Err(StoreError::Conflict(
                "a person cannot be merged into themselves".into(),
            ));
        }
        if resolve_in(tx, from).await? != from {
            return Err(StoreError::Conflict(format!(
                "person {from} is already merged into another; unmerge it first"
            )));
        }
        if resolve_in(tx, into).await? != into {
            return Err(StoreError::Conflict(format!(
                "person {into} is itself merged into another; merge into the person it was kept as"
            )));
        }
        let now = now_unix();
        sqlx::query("UPDATE people SET merged_into = $1, updated_at = $2 WHERE id = $3")
            .bind(into)
            .bind(now)
            .bind(from)
            .execute(&mut **tx)
            .await?;
        let event = MergeEvent {
            id: new_id(),
            person_id: from.into(),
            merged_into: into.into(),
            reason: reason.into(),
            merged_at: now,
            merged_by: by.into(),
            unmerged_at: None,
            unmerged_by: None,
        };
        sqlx::query(
            "INSERT INTO person_merges (id, person_id, merged_into, reason, merged_at, merged_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&event.id)
        .bind(from)
        .bind(into)
        .bind(reason)
        .bind(now)
        .bind(by)
        .execute(&mut **tx)
        .await?;
        crate::restriction::unify_in(tx, into, by, now).await?;
        Ok(event)
    }

    /// Undoes the merge of `person`: it becomes a person in its own right again. Returns the
    /// id it had been merged into.
    pub async fn unmerge_person(
        &mut self,
        triage: &Permitted,
        person: &Authorized<PersonId>,
        reason: &str,
        by: &str,
    ) -> Result<String, StoreError> {
        needs(triage, Permission::TriageReferrals)?;
        let person_id = readable(person)?.as_str();
        let tx = &mut self.tx;
        let into: Option<Option<String>> =
            sqlx::query_scalar("SELECT merged_into FROM people WHERE id = $1")
                .bind(person_id)
                .fetch_optional(&mut **tx)
                .await?;
        let into = match into {
            None => return Err(StoreError::NotFound { what: "person" }),
            Some(None) => {
                return Err(StoreError::Conflict(format!(
                    "person {person_id} is not merged, so cannot be unmerged"
                )));
            }
            Some(Some(i)) => i,
        };
        let now = now_unix();
        sqlx::query("UPDATE people SET merged_into = NULL, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(person_id)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "UPDATE person_merges SET unmerged_at = $1, unmerged_by = $2, unmerge_reason = $3 \
             WHERE person_id = $4 AND unmerged_at IS NULL",
        )
        .bind(now)
        .bind(by)
        .bind(reason)
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
        Ok(into)
    }
}

impl Store {
    /// How many restricted people the index holds (unmerged records).
    pub async fn restricted_people_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM people WHERE restricted = 1 AND merged_into IS NULL",
        )
        .fetch_one(self.pool())
        .await?)
    }

    /// One person by id (merged or not).
    pub async fn person(&self, id: &str) -> Result<Person, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "person" })?;
        person_from(&row)
    }

    /// Several people by id, in no particular order; unknown ids are skipped.
    pub async fn people_by_ids(&self, ids: &[String]) -> Result<Vec<Person>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.person(id).await {
                Ok(p) => out.push(p),
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Every person not merged into another: what the in-memory matching index holds.
    pub async fn people_for_index(&self) -> Result<Vec<Person>, StoreError> {
        let sql =
            format!("SELECT {PERSON_COLUMNS} FROM people WHERE merged_into IS NULL ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(person_from).collect()
    }

    /// People created or changed at or after `since` (merged ones included), oldest change
    /// first: how a running index catches up with writes made elsewhere.
    pub async fn people_changed_since(&self, since: i64) -> Result<Vec<Person>, StoreError> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE updated_at >= $1 ORDER BY updated_at, id"
        );
        let rows = sqlx::query(&sql).bind(since).fetch_all(self.pool()).await?;
        rows.iter().map(person_from).collect()
    }

    /// The person a record was merged into, following links; the id itself when not merged.
    pub async fn resolve_person(&self, id: &str) -> Result<String, StoreError> {
        let mut tx = self.begin().await?;
        let root = resolve_in(&mut tx, id).await?;
        tx.rollback().await?;
        Ok(root)
    }

    /// People merged directly into `id`.
    pub async fn merged_into(&self, id: &str) -> Result<Vec<Person>, StoreError> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE merged_into = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql).bind(id).fetch_all(self.pool()).await?;
        rows.iter().map(person_from).collect()
    }

    /// A person's safe-contact rules, by channel.
    pub async fn safe_contacts(&self, person_id: &str) -> Result<Vec<SafeContact>, StoreError> {
        let rows = sqlx::query(
            "SELECT channel, safe, detail, notes FROM safe_contact WHERE person_id = $1 ORDER BY channel",
        )
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SafeContact {
                    channel: r.try_get("channel")?,
                    safe: r.try_get::<i64, _>("safe")? != 0,
                    detail: r.try_get("detail")?,
                    when: r.try_get("notes")?,
                })
            })
            .collect()
    }

    /// Merges involving a person (either side), newest first.
    pub async fn merge_history(&self, person_id: &str) -> Result<Vec<MergeEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, person_id, merged_into, reason, merged_at, merged_by, unmerged_at, unmerged_by \
             FROM person_merges WHERE person_id = $1 OR merged_into = $1 ORDER BY merged_at DESC, id",
        )
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MergeEvent {
                    id: r.try_get("id")?,
                    person_id: r.try_get("person_id")?,
                    merged_into: r.try_get("merged_into")?,
                    reason: r.try_get("reason")?,
                    merged_at: r.try_get("merged_at")?,
                    merged_by: r.try_get("merged_by")?,
                    unmerged_at: r.try_get("unmerged_at")?,
                    unmerged_by: r.try_get("unmerged_by")?,
                })
            })
            .collect()
    }

    /// What the access policy needs to know about a person: who referred them, the agencies
    /// leading their cases, and any restriction with its named access lists.
    pub async fn person_facts(&self, person: &Person) -> Result<RecordFacts, StoreError> {
        let referrers: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT referrer_actor FROM referrals WHERE person_id = $1",
        )
        .bind(&person.id)
        .fetch_all(self.pool())
        .await?;
        let lead_agencies: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT lead_agency_id FROM cases WHERE person_id = $1 ORDER BY lead_agency_id",
        )
        .bind(&person.id)
        .fetch_all(self.pool())
        .await?;
        let mut facts = RecordFacts {
            referrers,
            lead_agencies,
            ..RecordFacts::default()
        };
        if person.restricted || person.address_restricted {
            let rows = sqlx::query("SELECT user_id, scope FROM person_access WHERE person_id = $1")
                .bind(&person.id)
                .fetch_all(self.pool())
                .await?;
            let mut details = Vec::new();
            let mut address = Vec::new();
            for r in &rows {
                let user: String = r.try_get("user_id")?;
                let scope: String = r.try_get("scope")?;
                if scope == "address" {
                    address.push(user);
                } else {
                    details.push(user);
                }
            }
            if person.restricted {
                facts.restriction = Some(Restriction {
                    access_list: details,
                    contact: person.restriction_contact.clone(),
                });
            }
            if person.address_restricted {
                facts.address_access_list = Some(address);
            }
        }
        Ok(facts)
    }
}
