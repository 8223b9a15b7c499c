//! Panels (MARAC, MACE): panels with member agencies and a schedule, meetings, referrals to
//! a panel with automatic repeat detection through the person index, agendas, research,
//! the meeting record, actions and the rows of the quarterly data return.
//!
//! Reads are [`Store`] methods; writes are [`WriteTx`] methods that take the panel
//! policy's proof ([`PanelAuthorized`]) or, for creating a panel, [`Permitted`]. Nothing here
//! decides access: the application layer asks the policy first.

mod meetings;

pub use meetings::{
    Attendance, Discussion, Item, NewAction, NewItem, PanelActionRow, Research, ResearchEntry,
    Shared,
};

use pathways_domain::access::Authorized;
use pathways_domain::access::panel::{PanelAction, PanelAuthorized, PanelFacts};
use pathways_domain::ids::{CaseId, MeetingId, PanelId};
use pathways_domain::panels::{
    MeetingKind, MeetingStatus, PanelKind, ReferralSource, ReferralStatus, SubjectKind, is_repeat,
};
use pathways_domain::{Action, Permission};
use sqlx::Row as _;

use crate::cases::needs as needs_permission;
use crate::{Row, Store, StoreError, Tx, WriteTx, new_id, now_unix};

/// A panel as its pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    /// Id.
    pub id: String,
    /// Unique name ("Riverside MARAC").
    pub name: String,
    /// Kind.
    pub kind: PanelKind,
    /// The area the panel serves (named on transfers in and out).
    pub area: String,
    /// The chair.
    pub chair_id: String,
    /// The chair's name.
    pub chair_name: String,
    /// The coordinator.
    pub coordinator_id: String,
    /// The coordinator's name.
    pub coordinator_name: String,
    /// Weeks between scheduled meetings (0: no schedule).
    pub every_weeks: i64,
    /// Weekday of scheduled meetings, 0 Monday to 6 Sunday.
    pub weekday: i64,
    /// Time of day of scheduled meetings, `HH:MM` London time.
    pub meeting_time: String,
    /// A date in the first week of the schedule, `YYYY-MM-DD`.
    pub anchor_date: String,
    /// Minutes allowed per case on the agenda.
    pub minutes_per_case: i64,
    /// How long after a meeting its window stays open, in seconds.
    pub window_after_secs: i64,
    /// Counts below this are withheld from the exported data return.
    pub suppress_below: i64,
}

/// What is needed to create a panel.
#[derive(Debug, Clone, Default)]
pub struct NewPanel {
    /// Unique name.
    pub name: String,
    /// Kind.
    pub kind: Option<PanelKind>,
    /// The area served.
    pub area: String,
    /// The chair.
    pub chair_id: String,
    /// The coordinator.
    pub coordinator_id: String,
    /// Weeks between meetings.
    pub every_weeks: i64,
    /// Weekday, 0 Monday.
    pub weekday: i64,
    /// `HH:MM`.
    pub meeting_time: String,
    /// `YYYY-MM-DD`.
    pub anchor_date: String,
    /// Minutes per case.
    pub minutes_per_case: i64,
    /// Window after the meeting, seconds.
    pub window_after_secs: i64,
    /// Suppression threshold.
    pub suppress_below: i64,
    /// Who created it.
    pub created_by: String,
}

const PANEL_COLUMNS: &str = "p.id, p.name, p.kind, p.area, p.chair_id, ch.display_name AS chair_name, \
    p.coordinator_id, co.display_name AS coordinator_name, p.every_weeks, p.weekday, p.meeting_time, \
    p.anchor_date, p.minutes_per_case, p.window_after_secs, p.suppress_below";
const PANEL_FROM: &str =
    "panels p JOIN users ch ON ch.id = p.chair_id JOIN users co ON co.id = p.coordinator_id";

fn panel_from(r: &Row) -> Result<Panel, StoreError> {
    Ok(Panel {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: PanelKind::parse(&r.try_get::<String, _>("kind")?)?,
        area: r.try_get("area")?,
        chair_id: r.try_get("chair_id")?,
        chair_name: r.try_get("chair_name")?,
        coordinator_id: r.try_get("coordinator_id")?,
        coordinator_name: r.try_get("coordinator_name")?,
        every_weeks: r.try_get("every_weeks")?,
        weekday: r.try_get("weekday")?,
        meeting_time: r.try_get("meeting_time")?,
        anchor_date: r.try_get("anchor_date")?,
        minutes_per_case: r.try_get("minutes_per_case")?,
        window_after_secs: r.try_get("window_after_secs")?,
        suppress_below: r.try_get("suppress_below")?,
    })
}

/// A member agency and its named point of contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Agency.
    pub agency_id: String,
    /// Agency name.
    pub agency_name: String,
    /// Agency kind key (`police`).
    pub agency_kind: String,
    /// The point of contact.
    pub contact_id: String,
    /// Their name.
    pub contact_name: String,
    /// Their e-mail address.
    pub contact_email: String,
}

/// A meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    /// Id.
    pub id: String,
    /// Panel.
    pub panel_id: String,
    /// When it is held.
    pub held_at: i64,
    /// How it came about.
    pub kind: MeetingKind,
    /// Where it stands.
    pub status: MeetingStatus,
    /// When the agenda was published.
    pub published_at: Option<i64>,
    /// When the panel window closes.
    pub window_closes_at: Option<i64>,
}

fn meeting_from(r: &Row) -> Result<Meeting, StoreError> {
    Ok(Meeting {
        id: r.try_get("id")?,
        panel_id: r.try_get("panel_id")?,
        held_at: r.try_get("held_at")?,
        kind: MeetingKind::parse(&r.try_get::<String, _>("kind")?)?,
        status: MeetingStatus::parse(&r.try_get::<String, _>("status")?)?,
        published_at: r.try_get("published_at")?,
        window_closes_at: r.try_get("window_closes_at")?,
    })
}

const MEETING_COLUMNS: &str = "id, panel_id, held_at, kind, status, published_at, window_closes_at";

/// A referral to a panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelReferral {
    /// Id.
    pub id: String,
    /// Panel.
    pub panel_id: String,
    /// Person, place or peer group.
    pub subject_kind: SubjectKind,
    /// The place or peer group's name (empty for a person).
    pub subject_label: String,
    /// The person, as referred.
    pub person_id: Option<String>,
    /// The case referred from.
    pub case_id: Option<String>,
    /// The triaged referral referred from.
    pub referral_id: Option<String>,
    /// Where it came from.
    pub source: ReferralSource,
    /// The other area's panel for a transfer in or out.
    pub other_area: String,
    /// The referring agency.
    pub referring_agency_id: String,
    /// Its name.
    pub referring_agency_name: String,
    /// Who referred.
    pub referred_by: String,
    /// When.
    pub referred_at: i64,
    /// Risk level key at referral.
    pub risk_level: String,
    /// The eligibility explanation (JSON: summary and criteria with numbers and dates).
    pub eligibility: String,
    /// Why referred.
    pub reason: String,
    /// Children in the household.
    pub children: i64,
    /// The alleged perpetrator, as named.
    pub perpetrator: String,
    /// A repeat referral.
    pub repeat: bool,
    /// The earlier referral that makes it a repeat.
    pub previous_referral_id: Option<String>,
    /// The meeting that discussed the earlier referral.
    pub previous_meeting_id: Option<String>,
    /// Where it stands.
    pub status: ReferralStatus,
    /// When accepted, declined or transferred.
    pub decided_at: Option<i64>,
    /// Why declined or transferred.
    pub decision_reason: String,
    /// When the panel case closed.
    pub closed_at: Option<i64>,
}

const REFERRAL_COLUMNS: &str = "r.id, r.panel_id, r.subject_kind, r.subject_label, r.person_id, r.case_id, \
    r.referral_id, r.source, r.other_area, r.referring_agency_id, a.name AS referring_agency_name, \
    r.referred_by, r.referred_at, r.risk_level, r.eligibility, r.reason, r.children, r.perpetrator, \
    r.is_repeat, r.previous_referral_id, r.previous_meeting_id, r.status, r.decided_at, \
    r.decision_reason, r.closed_at";
const REFERRAL_FROM: &str = "panel_referrals r JOIN agencies a ON a.id = r.referring_agency_id";

fn referral_from(r: &Row) -> Result<PanelReferral, StoreError> {
    Ok(PanelReferral {
        id: r.try_get("id")?,
        panel_id: r.try_get("panel_id")?,
        subject_kind: SubjectKind::parse(&r.try_get::<String, _>("subject_kind")?)?,
        subject_label: r.try_get("subject_label")?,
        person_id: r.try_get("person_id")?,
        case_id: r.try_get("case_id")?,
        referral_id: r.try_get("referral_id")?,
        source: ReferralSource::parse(&r.try_get::<String, _>("source")?)?,
        other_area: r.try_get("other_area")?,
        referring_agency_id: r.try_get("referring_agency_id")?,
        referring_agency_name: r.try_get("referring_agency_name")?,
        referred_by: r.try_get("referred_by")?,
        referred_at: r.try_get("referred_at")?,
        risk_level: r.try_get("risk_level")?,
        eligibility: r.try_get("eligibility")?,
        reason: r.try_get("reason")?,
        children: r.try_get("children")?,
        perpetrator: r.try_get("perpetrator")?,
        repeat: r.try_get::<i64, _>("is_repeat")? != 0,
        previous_referral_id: r.try_get("previous_referral_id")?,
        previous_meeting_id: r.try_get("previous_meeting_id")?,
        status: ReferralStatus::parse(&r.try_get::<String, _>("status")?)?,
        decided_at: r.try_get("decided_at")?,
        decision_reason: r.try_get("decision_reason")?,
        closed_at: r.try_get("closed_at")?,
    })
}

/// A new referral to a panel.
#[derive(Debug, Clone)]
pub struct NewPanelReferral {
    /// Panel.
    pub panel_id: String,
    /// Person, place or peer group.
    pub subject_kind: SubjectKind,
    /// A place's or peer group's name.
    pub subject_label: String,
    /// The person.
    pub person_id: Option<String>,
    /// The case.
    pub case_id: Option<String>,
    /// The triaged referral.
    pub referral_id: Option<String>,
    /// Where it came from.
    pub source: ReferralSource,
    /// The other area (transfers in).
    pub other_area: String,
    /// The referring agency.
    pub referring_agency_id: String,
    /// Who referred.
    pub referred_by: String,
    /// When (now, except for imported history and the demo).
    pub referred_at: i64,
    /// Risk level key.
    pub risk_level: String,
    /// Eligibility explanation JSON.
    pub eligibility: String,
    /// Why.
    pub reason: String,
    /// Children in the household.
    pub children: i64,
    /// The alleged perpetrator.
    pub perpetrator: String,
    /// Accepted on arrival (transfers in).
    pub accepted: bool,
    /// A person new to the index (a transfer in from another area), added in the same
    /// transaction; `person_id` is then ignored.
    pub new_person: Option<crate::people::PersonDetails>,
}

/// The proof a referral is made with: the case team's (from a case) or the coordinator's
/// (from triage or another area).
#[derive(Debug, Clone, Copy)]
pub enum ReferralProof<'a> {
    /// A case the referrer may change.
    Case(&'a Authorized<CaseId>),
    /// The panel's coordinator.
    Panel(&'a PanelAuthorized<PanelId>),
}

/// A triaged referral decided "refer to a panel" for this kind of panel, not yet taken up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriagedForPanel {
    /// Referral id.
    pub id: String,
    /// Its reference.
    pub reference: String,
    /// The person triage linked.
    pub person_id: Option<String>,
    /// The referring agency.
    pub agency_id: String,
    /// Received.
    pub created_at: i64,
    /// Triage's reason.
    pub reason: String,
}

/// A person's self-described characteristics (keys of `pathways_domain::panels::Answer`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Characteristics {
    /// Ethnicity as the person describes it.
    pub ethnicity: String,
    /// From a Black or minority ethnic group.
    pub bme: String,
    /// LGBT+.
    pub lgbt: String,
    /// Disabled.
    pub disabled: String,
    /// Male.
    pub male: String,
}

impl Store {
    /// Every panel, by name.
    pub async fn panels(&self) -> Result<Vec<Panel>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PANEL_COLUMNS} FROM {PANEL_FROM} ORDER BY p.name"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(panel_from).collect()
    }

    /// One panel.
    pub async fn panel(&self, id: &str) -> Result<Panel, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PANEL_COLUMNS} FROM {PANEL_FROM} WHERE p.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound { what: "panel" })?;
        panel_from(&row)
    }

    /// A panel by its name (case-insensitive).
    pub async fn panel_by_name(&self, name: &str) -> Result<Panel, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PANEL_COLUMNS} FROM {PANEL_FROM} WHERE LOWER(p.name) = LOWER($1)"
        ))
        .bind(name.trim())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound { what: "panel" })?;
        panel_from(&row)
    }

    /// The panel's member agencies with their points of contact.
    pub async fn panel_members(&self, panel_id: &str) -> Result<Vec<Member>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.agency_id, a.name AS agency_name, a.kind AS agency_kind, m.contact_id, \
             u.display_name AS contact_name, u.email AS contact_email \
             FROM panel_members m JOIN agencies a ON a.id = m.agency_id JOIN users u ON u.id = m.contact_id \
             WHERE m.panel_id = $1 ORDER BY a.name",
        )
        .bind(panel_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    agency_id: r.try_get("agency_id")?,
                    agency_name: r.try_get("agency_name")?,
                    agency_kind: r.try_get("agency_kind")?,
                    contact_id: r.try_get("contact_id")?,
                    contact_name: r.try_get("contact_name")?,
                    contact_email: r.try_get("contact_email")?,
                })
            })
            .collect()
    }

    /// What the panel policy needs about a panel (without a meeting window).
    pub async fn panel_facts(&self, panel_id: &str) -> Result<PanelFacts, StoreError> {
        let panel = self.panel(panel_id).await?;
        let members = self.panel_members(panel_id).await?;
        Ok(PanelFacts {
            coordinators: vec![panel.coordinator_id, panel.chair_id],
            member_agencies: members.into_iter().map(|m| m.agency_id).collect(),
            window: None,
            action_owner: None,
        })
    }

    /// The panel facts for one meeting: the panel's, with the meeting's window once its
    /// agenda is published.
    pub async fn meeting_facts(&self, meeting: &Meeting) -> Result<PanelFacts, StoreError> {
        let mut facts = self.panel_facts(&meeting.panel_id).await?;
        facts.window = meeting.published_at.zip(meeting.window_closes_at);
        Ok(facts)
    }

    /// Panels an agency is a member of.
    pub async fn panels_of_agency(&self, agency_id: &str) -> Result<Vec<Panel>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PANEL_COLUMNS} FROM {PANEL_FROM} JOIN panel_members m ON m.panel_id = p.id \
             WHERE m.agency_id = $1 ORDER BY p.name"
        ))
        .bind(agency_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(panel_from).collect()
    }

    /// A panel's meetings, latest first.
    pub async fn meetings(&self, panel_id: &str) -> Result<Vec<Meeting>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {MEETING_COLUMNS} FROM panel_meetings WHERE panel_id = $1 ORDER BY held_at DESC"
        ))
        .bind(panel_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(meeting_from).collect()
    }

    /// One meeting.
    pub async fn meeting(&self, id: &str) -> Result<Meeting, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {MEETING_COLUMNS} FROM panel_meetings WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound { what: "meeting" })?;
        meeting_from(&row)
    }

    /// Referrals to a panel in one status (all when `None`), oldest first.
    pub async fn panel_referrals(
        &self,
        panel_id: &str,
        status: Option<ReferralStatus>,
    ) -> Result<Vec<PanelReferral>, StoreError> {
        let rows = match status {
            Some(s) => {
                sqlx::query(&format!(
                    "SELECT {REFERRAL_COLUMNS} FROM {REFERRAL_FROM} WHERE r.panel_id = $1 AND r.status = $2 \
                     ORDER BY r.referred_at, r.id"
                ))
                .bind(panel_id)
                .bind(s.key())
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {REFERRAL_COLUMNS} FROM {REFERRAL_FROM} WHERE r.panel_id = $1 ORDER BY r.referred_at, r.id"
                ))
                .bind(panel_id)
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(referral_from).collect()
    }

    /// One referral to a panel.
    pub async fn panel_referral(&self, id: &str) -> Result<PanelReferral, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM {REFERRAL_FROM} WHERE r.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound {
            what: "panel referral",
        })?;
        referral_from(&row)
    }

    /// Referrals to panels made from a case.
    pub async fn panel_referrals_for_case(
        &self,
        case_id: &str,
    ) -> Result<Vec<PanelReferral>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM {REFERRAL_FROM} WHERE r.case_id = $1 ORDER BY r.referred_at DESC"
        ))
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(referral_from).collect()
    }

    /// Triaged referrals decided "refer to a panel" naming this panel's kind (`MARAC`,
    /// `MACE`), not yet taken up by the panel.
    pub async fn triaged_for_panel(
        &self,
        panel: &Panel,
    ) -> Result<Vec<TriagedForPanel>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id, f.reference, f.person_id, f.referrer_agency_id, f.created_at, f.decision_reason \
             FROM referrals f WHERE f.decision = 'panel' AND UPPER(f.decision_detail) = $1 \
             AND NOT EXISTS (SELECT 1 FROM panel_referrals r WHERE r.referral_id = f.id) \
             ORDER BY f.created_at",
        )
        .bind(panel.kind.label().to_uppercase())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TriagedForPanel {
                    id: r.try_get("id")?,
                    reference: r.try_get("reference")?,
                    person_id: r.try_get("person_id")?,
                    agency_id: r.try_get("referrer_agency_id")?,
                    created_at: r.try_get("created_at")?,
                    reason: r.try_get("decision_reason")?,
                })
            })
            .collect()
    }

    /// Referrals with actions still open at a panel, for the next agenda.
    pub async fn referrals_with_open_actions(
        &self,
        panel_id: &str,
    ) -> Result<Vec<PanelReferral>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM {REFERRAL_FROM} WHERE r.panel_id = $1 AND r.status = 'accepted' \
             AND EXISTS (SELECT 1 FROM panel_actions x WHERE x.referral_id = r.id AND x.status = 'open') \
             ORDER BY r.referred_at, r.id"
        ))
        .bind(panel_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(referral_from).collect()
    }

    /// Open cases assessed with `instrument` (`dash`, `yv-screening`), highest current risk
    /// first: the cases a panel of that kind may expect referrals for.
    pub async fn cases_assessed_with(
        &self,
        instrument: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as::<_, (String, String, String)>(
            "SELECT c.id, c.person_id, c.risk_level FROM cases c WHERE c.status = 'open' AND EXISTS \
             (SELECT 1 FROM risk_assessments a WHERE a.case_id = c.id AND a.instrument = $1) \
             ORDER BY CASE c.risk_level WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, c.opened_at, c.id",
        )
        .bind(instrument)
        .fetch_all(self.pool())
        .await?)
    }

    /// A person's self-described characteristics (all "not known" when none are recorded).
    pub async fn characteristics(&self, person_id: &str) -> Result<Characteristics, StoreError> {
        let row = sqlx::query(
            "SELECT ethnicity, bme, lgbt, disabled, male FROM person_characteristics WHERE person_id = $1",
        )
        .bind(person_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Characteristics {
                ethnicity: r.try_get("ethnicity")?,
                bme: r.try_get("bme")?,
                lgbt: r.try_get("lgbt")?,
                disabled: r.try_get("disabled")?,
                male: r.try_get("male")?,
            },
            None => Characteristics {
                bme: "not_known".into(),
                lgbt: "not_known".into(),
                disabled: "not_known".into(),
                male: "not_known".into(),
                ..Characteristics::default()
            },
        })
    }
}

/// Every person id of `person_id`'s merge cluster: the kept record and every record merged
/// into it, directly or through others.
async fn merge_cluster(tx: &mut Tx<'_>, person_id: &str) -> Result<Vec<String>, StoreError> {
    let root = crate::people::resolve_in(tx, person_id).await?;
    let ids: Vec<String> = sqlx::query_scalar(
        "WITH RECURSIVE chain(id) AS (SELECT CAST($1 AS TEXT) UNION ALL \
         SELECT p.id FROM people p JOIN chain ON p.merged_into = chain.id) SELECT id FROM chain",
    )
    .bind(&root)
    .fetch_all(&mut **tx)
    .await?;
    Ok(ids)
}

impl WriteTx {
    /// Creates a panel; its coordinator and chair are named users.
    pub async fn create_panel(
        &mut self,
        coordinates: &pathways_domain::access::Permitted,
        new: &NewPanel,
    ) -> Result<String, StoreError> {
        needs_permission(coordinates, Permission::CoordinatePanels)?;
        let id = new_id();
        let taken: Option<String> =
            sqlx::query_scalar("SELECT id FROM panels WHERE LOWER(name) = LOWER($1)")
                .bind(new.name.trim())
                .fetch_optional(&mut *self.tx)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "a panel called {} already exists",
                new.name.trim()
            )));
        }
        sqlx::query(
            "INSERT INTO panels (id, name, kind, area, chair_id, coordinator_id, every_weeks, weekday, \
             meeting_time, anchor_date, minutes_per_case, window_after_secs, suppress_below, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&id)
        .bind(new.name.trim())
        .bind(new.kind.unwrap_or(PanelKind::Other).key())
        .bind(new.area.trim())
        .bind(&new.chair_id)
        .bind(&new.coordinator_id)
        .bind(new.every_weeks)
        .bind(new.weekday)
        .bind(&new.meeting_time)
        .bind(&new.anchor_date)
        .bind(new.minutes_per_case)
        .bind(new.window_after_secs)
        .bind(new.suppress_below)
        .bind(now_unix())
        .bind(&new.created_by)
        .execute(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Adds a member agency with its point of contact, or changes the contact.
    pub async fn set_panel_member(
        &mut self,
        cap: &PanelAuthorized<PanelId>,
        agency_id: &str,
        contact_id: &str,
    ) -> Result<(), StoreError> {
        let panel = manages(cap)?;
        sqlx::query(
            "INSERT INTO panel_members (panel_id, agency_id, contact_id, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (panel_id, agency_id) DO UPDATE SET contact_id = excluded.contact_id",
        )
        .bind(panel)
        .bind(agency_id)
        .bind(contact_id)
        .bind(now_unix())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Calls a meeting.
    pub async fn create_meeting(
        &mut self,
        cap: &PanelAuthorized<PanelId>,
        held_at: i64,
        kind: MeetingKind,
        by: &str,
    ) -> Result<String, StoreError> {
        let panel = manages(cap)?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO panel_meetings (id, panel_id, held_at, kind, status, created_at, created_by) \
             VALUES ($1, $2, $3, $4, 'planned', $5, $6)",
        )
        .bind(&id)
        .bind(panel)
        .bind(held_at)
        .bind(kind.key())
        .bind(now_unix())
        .bind(by)
        .execute(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Records a referral to a panel. A referral about a person who was referred to a panel
    /// of the same kind within the previous 12 months (any record of their merge cluster) is
    /// marked a repeat, linked to that referral and to the last meeting that discussed it.
    /// Returns the new referral.
    pub async fn create_panel_referral(
        &mut self,
        proof: ReferralProof<'_>,
        new: &NewPanelReferral,
    ) -> Result<PanelReferral, StoreError> {
        match proof {
            ReferralProof::Case(cap) => {
                if cap.action() != Action::Edit || Some(cap.id().as_str()) != new.case_id.as_deref()
                {
                    return Err(StoreError::NotAuthorized(Action::Edit));
                }
            }
            ReferralProof::Panel(cap) => {
                if manages(cap)? != new.panel_id {
                    return Err(StoreError::NotPermitted(Permission::CoordinatePanels));
                }
            }
        }
        let kind: String = sqlx::query_scalar("SELECT kind FROM panels WHERE id = $1")
            .bind(&new.panel_id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound { what: "panel" })?;
        let mut previous: Option<(String, i64)> = None;
        let person_id = match &new.new_person {
            Some(details) => {
                Some(crate::people::insert_person(&mut self.tx, details, &new.referred_by).await?)
            }
            None => new.person_id.clone(),
        };
        if let Some(person) = &person_id {
            let cluster = merge_cluster(&mut self.tx, person).await?;
            let marks = (0..cluster.len())
                .map(|i| format!("${}", i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT r.id, r.referred_at FROM panel_referrals r JOIN panels p ON p.id = r.panel_id \
                 WHERE p.kind = $1 AND r.referred_at <= $2 AND r.status <> 'declined' AND r.person_id IN ({marks}) \
                 ORDER BY r.referred_at DESC LIMIT 1"
            );
            let mut q = sqlx::query_as::<_, (String, i64)>(&sql)
                .bind(&kind)
                .bind(new.referred_at);
            for id in &cluster {
                q = q.bind(id.clone());
            }
            previous = q.fetch_optional(&mut *self.tx).await?;
        }
        let previous = previous.filter(|(_, at)| is_repeat(*at, new.referred_at));
        let previous_meeting: Option<String> =
            match &previous {
                Some((id, _)) => sqlx::query_scalar(
                    "SELECT m.id FROM panel_items i JOIN panel_meetings m ON m.id = i.meeting_id \
                     WHERE i.referral_id = $1 ORDER BY m.held_at DESC LIMIT 1",
                )
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await?,
                None => None,
            };
        let id = new_id();
        let (status, decided_at, decided_by) = if new.accepted {
            (
                ReferralStatus::Accepted,
                Some(now_unix()),
                Some(new.referred_by.clone()),
            )
        } else {
            (ReferralStatus::Pending, None, None)
        };
        sqlx::query(
            "INSERT INTO panel_referrals (id, panel_id, subject_kind, subject_label, person_id, case_id, referral_id, \
             source, other_area, referring_agency_id, referred_by, referred_at, risk_level, eligibility, reason, \
             children, perpetrator, is_repeat, previous_referral_id, previous_meeting_id, status, decided_by, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
        )
        .bind(&id)
        .bind(&new.panel_id)
        .bind(new.subject_kind.key())
        .bind(new.subject_label.trim())
        .bind(&person_id)
        .bind(&new.case_id)
        .bind(&new.referral_id)
        .bind(new.source.key())
        .bind(new.other_area.trim())
        .bind(&new.referring_agency_id)
        .bind(&new.referred_by)
        .bind(new.referred_at)
        .bind(&new.risk_level)
        .bind(&new.eligibility)
        .bind(new.reason.trim())
        .bind(new.children)
        .bind(new.perpetrator.trim())
        .bind(i64::from(previous.is_some()))
        .bind(previous.as_ref().map(|(p, _)| p.clone()))
        .bind(&previous_meeting)
        .bind(status.key())
        .bind(&decided_by)
        .bind(decided_at)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                StoreError::Conflict("this referral has already been taken up by the panel".into())
            } else {
                e
            }
        })?;
        let row = sqlx::query(&format!(
            "SELECT {REFERRAL_COLUMNS} FROM {REFERRAL_FROM} WHERE r.id = $1"
        ))
        .bind(&id)
        .fetch_one(&mut *self.tx)
        .await?;
        referral_from(&row)
    }

    /// Accepts or declines a pending referral. A referral already decided is refused as a
    /// conflict, and nothing changes.
    pub async fn decide_panel_referral(
        &mut self,
        cap: &PanelAuthorized<PanelId>,
        referral_id: &str,
        accept: bool,
        reason: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let panel = manages(cap)?;
        let status = if accept {
            ReferralStatus::Accepted
        } else {
            ReferralStatus::Declined
        };
        let done = sqlx::query(
            "UPDATE panel_referrals SET status = $1, decision_reason = $2, decided_by = $3, decided_at = $4 \
             WHERE id = $5 AND panel_id = $6 AND status = 'pending'",
        )
        .bind(status.key())
        .bind(reason.trim())
        .bind(by)
        .bind(now_unix())
        .bind(referral_id)
        .bind(panel)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "this referral has already been accepted or declined".into(),
            ));
        }
        Ok(())
    }

    /// Transfers a panel case out to another area's panel.
    pub async fn transfer_panel_referral(
        &mut self,
        cap: &PanelAuthorized<PanelId>,
        referral_id: &str,
        other_area: &str,
        reason: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let panel = manages(cap)?;
        let done = sqlx::query(
            "UPDATE panel_referrals SET status = 'transferred_out', other_area = $1, decision_reason = $2, \
             decided_by = $3, decided_at = $4 WHERE id = $5 AND panel_id = $6 AND status IN ('pending', 'accepted')",
        )
        .bind(other_area.trim())
        .bind(reason.trim())
        .bind(by)
        .bind(now_unix())
        .bind(referral_id)
        .bind(panel)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "only a waiting or accepted referral can be transferred".into(),
            ));
        }
        Ok(())
    }

    /// Records a person's self-described characteristics.
    pub async fn set_characteristics(
        &mut self,
        cap: &Authorized<CaseId>,
        person_id: &str,
        c: &Characteristics,
        by: &str,
    ) -> Result<(), StoreError> {
        crate::cases::editable(cap)?;
        sqlx::query(
            "INSERT INTO person_characteristics (person_id, ethnicity, bme, lgbt, disabled, male, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (person_id) DO UPDATE SET \
             ethnicity = excluded.ethnicity, bme = excluded.bme, lgbt = excluded.lgbt, disabled = excluded.disabled, \
             male = excluded.male, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(person_id)
        .bind(c.ethnicity.trim())
        .bind(&c.bme)
        .bind(&c.lgbt)
        .bind(&c.disabled)
        .bind(&c.male)
        .bind(now_unix())
        .bind(by)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

/// The panel a proof is for, when it is the coordinator's.
pub(crate) fn manages(cap: &PanelAuthorized<PanelId>) -> Result<&str, StoreError> {
    if cap.action() == PanelAction::Manage {
        Ok(cap.id().as_str())
    } else {
        Err(StoreError::NotPermitted(Permission::CoordinatePanels))
    }
}

/// The meeting a proof is for, when it is the right kind of proof.
pub(crate) fn meeting_of(
    cap: &PanelAuthorized<MeetingId>,
    action: PanelAction,
) -> Result<&str, StoreError> {
    if cap.action() == action {
        Ok(cap.id().as_str())
    } else {
        Err(StoreError::NotPermitted(Permission::CoordinatePanels))
    }
}
