//! The in-memory person index behind candidate matches: built from the `people` table on
//! first use, kept current on every write, and read concurrently behind a `RwLock`. Before
//! each lookup it also reads rows changed since it last looked (by `people.updated_at`), so
//! people written by another module or another server instance are found too.

use pathways_matching::{Candidate, PersonIndex, PersonRecord};
use pathways_store::people::{Person, PersonDetails};
use pathways_store::{Store, StoreError};
use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::{OnceCell, RwLock};

/// Most candidates shown for one person.
pub const CANDIDATE_LIMIT: usize = 5;
/// Candidates below this probability are not shown.
pub const CANDIDATE_FLOOR: f64 = 0.2;

/// The shared person index of one running service.
#[derive(Default)]
pub struct PeopleIndex {
    cell: OnceCell<RwLock<PersonIndex>>,
    /// The newest `updated_at` the index has applied, and the ids applied at that second.
    synced: Mutex<Watermark>,
}

/// How far the index has caught up with `people.updated_at`.
#[derive(Debug, Default)]
struct Watermark {
    at: i64,
    ids: HashSet<String>,
}

impl Watermark {
    /// True when this change is already applied.
    fn seen(&self, p: &Person) -> bool {
        p.updated_at < self.at || (p.updated_at == self.at && self.ids.contains(&p.id))
    }

    fn record(&mut self, p: &Person) {
        if p.updated_at > self.at {
            self.at = p.updated_at;
            self.ids.clear();
        }
        if p.updated_at == self.at {
            self.ids.insert(p.id.clone());
        }
    }
}

impl std::fmt::Debug for PeopleIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeopleIndex")
            .field("loaded", &self.cell.initialized())
            .finish()
    }
}

/// The matching record of someone, from their identifying details. A restricted address is
/// left out, so that match evidence can never reveal where a survivor lives.
pub fn record_of(id: &str, d: &PersonDetails, address_restricted: bool) -> PersonRecord {
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    PersonRecord {
        id: id.to_string(),
        first_name: opt(&d.first_name),
        middle_names: opt(&d.middle_names),
        surname: opt(&d.surname),
        aliases: d.aliases.clone(),
        // As written: matching reads the common layouts and compares a date that is no
        // calendar date (19751402) by its digits.
        dob: opt(d.dob.as_deref().unwrap_or_default()),
        approx_birth_year: d.approx_birth_year.and_then(|y| i32::try_from(y).ok()),
        gender: opt(&d.gender),
        postcode: if address_restricted {
            None
        } else {
            opt(&d.postcode)
        },
        address_line: if address_restricted {
            None
        } else {
            opt(&d.address_line)
        },
        phone: opt(&d.phone),
        school: opt(&d.school),
        email: opt(&d.email),
        town: None,
    }
}

/// The matching record of a stored person.
pub fn person_record(p: &Person) -> PersonRecord {
    record_of(&p.id, &p.details, p.address_restricted)
}

impl PeopleIndex {
    async fn lock(&self, store: &Store) -> Result<&RwLock<PersonIndex>, StoreError> {
        self.cell
            .get_or_try_init(|| async {
                let people = store.people_for_index().await?;
                self.note(&people);
                let records: Vec<PersonRecord> = people.iter().map(person_record).collect();
                tracing::info!(people = records.len(), "built the person index");
                Ok::<_, StoreError>(RwLock::new(PersonIndex::build(
                    pathways_matching::Model::default(),
                    records.iter(),
                )))
            })
            .await
    }

    fn note(&self, people: &[Person]) {
        let mut w = self
            .synced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for p in people {
            w.record(p);
        }
    }

    /// Applies rows changed since the last look; when nothing changed, no write lock is taken.
    async fn catch_up(&self, store: &Store, lock: &RwLock<PersonIndex>) -> Result<(), StoreError> {
        let since = self
            .synced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .at;
        let mut changed = store.people_changed_since(since).await?;
        {
            let w = self
                .synced
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            changed.retain(|p| !w.seen(p));
        }
        if changed.is_empty() {
            return Ok(());
        }
        let mut index = lock.write().await;
        for p in &changed {
            if p.merged_into.is_none() {
                index.insert(&person_record(p));
            } else {
                index.remove(&p.id);
            }
        }
        drop(index);
        self.note(&changed);
        Ok(())
    }

    /// Candidate matches for `record` among indexed people, best first: the best
    /// [`CANDIDATE_LIMIT`] plus as many more as there are restricted people, so a caller that
    /// leaves out restricted people a user may not see still has [`CANDIDATE_LIMIT`] others to
    /// consider; what that user is shown is then the same whether or not a restricted person
    /// matched.
    pub async fn candidates(
        &self,
        store: &Store,
        record: &PersonRecord,
    ) -> Result<Vec<Candidate>, StoreError> {
        let lock = self.lock(store).await?;
        self.catch_up(store, lock).await?;
        let extra = usize::try_from(store.restricted_people_count().await?).unwrap_or(0);
        let index = lock.read().await;
        Ok(index.candidates(record, CANDIDATE_LIMIT + extra, CANDIDATE_FLOOR))
    }

    /// Adds or replaces a person after a write. When the index has not been built yet
    /// nothing is needed: it will read the row when it is.
    pub async fn upsert(&self, person: &Person) {
        if let Some(lock) = self.cell.get() {
            let mut index = lock.write().await;
            if person.merged_into.is_none() {
                index.insert(&person_record(person));
            } else {
                index.remove(&person.id);
            }
        }
    }

    /// Removes a person (merged away) after a write.
    pub async fn remove(&self, id: &str) {
        if let Some(lock) = self.cell.get() {
            lock.write().await.remove(id);
        }
    }

    /// Number of people indexed, building the index if needed. Never shown to users: it
    /// counts restricted people too.
    #[cfg(test)]
    pub async fn len(&self, store: &Store) -> Result<usize, StoreError> {
        Ok(self.lock(store).await?.read().await.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pathways_store::testing::TestDatabase;

    #[tokio::test]
    async fn index_builds_from_the_table_and_follows_writes() {
        let db = TestDatabase::sqlite().await.expect("db");
        let store = &db.store;
        let tayo = PersonDetails {
            first_name: "Tayo".into(),
            surname: "Okoro".into(),
            dob: Some("2010-04-12".into()),
            postcode: "E1 6AN".into(),
            school: "Northgate Academy".into(),
            ..PersonDetails::default()
        };
        let id = pathways_store::testing::create_person(store, &tayo, "t")
            .await
            .expect("person");
        let index = PeopleIndex::default();
        assert_eq!(index.len(store).await.expect("built"), 1);
        // Spelling variant, swapped day and month: the same person.
        let query = PersonDetails {
            first_name: "Tayo".into(),
            surname: "Okorro".into(),
            dob: Some("2010-12-04".into()),
            postcode: "E1 6AN".into(),
            school: "Northgate Academy".into(),
            ..PersonDetails::default()
        };
        let found = index
            .candidates(store, &record_of("q", &query, false))
            .await
            .expect("lookup");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, id);
        assert!(
            found[0].probability > 0.5,
            "probability {}",
            found[0].probability
        );
        let other_id = pathways_store::testing::create_person(store, &tayo, "t")
            .await
            .expect("second");
        index
            .upsert(&store.person(&other_id).await.expect("row"))
            .await;
        assert_eq!(
            index
                .candidates(store, &record_of("q", &query, false))
                .await
                .expect("lookup")
                .len(),
            2
        );
        index.remove(&other_id).await;
        assert_eq!(index.len(store).await.expect("len"), 1);
        // A person written without telling the index is found on the next lookup.
        let third = pathways_store::testing::create_person(store, &tayo, "another module")
            .await
            .expect("third");
        let found = index
            .candidates(store, &record_of("q", &query, false))
            .await
            .expect("lookup");
        assert!(
            found.iter().any(|c| c.id == third),
            "caught up with {third}: {found:?}"
        );
    }

    #[tokio::test]
    async fn a_date_of_birth_typed_as_19751402_still_finds_the_person() {
        let db = TestDatabase::sqlite().await.expect("db");
        let store = &db.store;
        let stored = PersonDetails {
            first_name: "Marcus".into(),
            surname: "Bell".into(),
            dob: Some("1975-02-14".into()),
            postcode: "LS9 8AB".into(),
            ..PersonDetails::default()
        };
        let id = pathways_store::testing::create_person(store, &stored, "t")
            .await
            .expect("person");
        // Someone else of the same name, born another day, lives elsewhere.
        let namesake = PersonDetails {
            first_name: "Marcus".into(),
            surname: "Bell".into(),
            dob: Some("1981-07-30".into()),
            postcode: "BD1 1AA".into(),
            ..PersonDetails::default()
        };
        let other = pathways_store::testing::create_person(store, &namesake, "t")
            .await
            .expect("namesake");
        let index = PeopleIndex::default();
        // The referral gives the date with day and month typed the wrong way round, as
        // partner systems' exports often do: no calendar date, but still evidence.
        let referral = PersonDetails {
            first_name: "Marcus".into(),
            surname: "Bell".into(),
            dob: Some("19751402".into()),
            postcode: "LS9 8AB".into(),
            ..PersonDetails::default()
        };
        let found = index
            .candidates(store, &record_of("q", &referral, false))
            .await
            .expect("lookup");
        assert_eq!(
            found.first().map(|c| c.id.as_str()),
            Some(id.as_str()),
            "{found:?}"
        );
        let dob = found[0]
            .evidence
            .iter()
            .find(|e| e.field == pathways_matching::Field::Dob)
            .expect("dob evidence");
        assert_eq!(dob.level, "day and month swapped");
        assert!(found[0].probability > 0.5, "{}", found[0].probability);
        assert!(
            found
                .iter()
                .all(|c| c.id != other || c.probability < found[0].probability),
            "{found:?}"
        );
    }

    #[test]
    fn restricted_addresses_never_enter_the_index() {
        let d = PersonDetails {
            first_name: "A".into(),
            surname: "B".into(),
            postcode: "E1 6AN".into(),
            address_line: "1 Refuge Road".into(),
            ..PersonDetails::default()
        };
        let r = record_of("x", &d, true);
        assert_eq!((r.postcode, r.address_line), (None, None));
        assert_eq!(
            record_of("x", &d, false).postcode.as_deref(),
            Some("E1 6AN")
        );
    }
}
