//! One meeting's record: the agenda items, each member agency's research, attendance, what
//! each agency shared, risks, minutes and actions; actions through to completion; chasing
//! outstanding research and overdue actions; and the rows of the quarterly data return.

use pathways_domain::access::panel::{PanelAction, PanelAuthorized};
use pathways_domain::ids::{MeetingId, PanelActionId};
use pathways_domain::panels::{ActionStatus, Answer, ResearchSubject, ReturnCase};
use pathways_domain::time::{format_iso_day, london_date, parse_date};
use sqlx::Row as _;

use super::meeting_of;
use crate::outbox::{enqueue, notify};
use crate::{Row, Store, StoreError, WriteTx, new_id, now_unix};

/// An item on a meeting's agenda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Id.
    pub id: String,
    /// Meeting.
    pub meeting_id: String,
    /// The panel referral (the panel case) discussed.
    pub referral_id: String,
    /// Order on the agenda, from 1.
    pub position: i64,
    /// Minutes allowed.
    pub minutes_allowed: i64,
    /// Back with actions still open from an earlier meeting.
    pub returning: bool,
    /// Discussed at the meeting.
    pub discussed: bool,
    /// Risks identified.
    pub risks: String,
    /// The minutes of the discussion.
    pub minutes: String,
    /// Why no actions were agreed, when none were.
    pub no_actions_reason: String,
}

fn item_from(r: &Row) -> Result<Item, StoreError> {
    Ok(Item {
        id: r.try_get("id")?,
        meeting_id: r.try_get("meeting_id")?,
        referral_id: r.try_get("referral_id")?,
        position: r.try_get("position")?,
        minutes_allowed: r.try_get("minutes_allowed")?,
        returning: r.try_get::<i64, _>("is_returning")? != 0,
        discussed: r.try_get::<i64, _>("discussed")? != 0,
        risks: r.try_get("risks")?,
        minutes: r.try_get("minutes")?,
        no_actions_reason: r.try_get("no_actions_reason")?,
    })
}

const ITEM_COLUMNS: &str = "id, meeting_id, referral_id, position, minutes_allowed, is_returning, discussed, \
    risks, minutes, no_actions_reason";

/// One agency's research on one item and subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Research {
    /// Item.
    pub item_id: String,
    /// Agency.
    pub agency_id: String,
    /// Whose records.
    pub subject: ResearchSubject,
    /// False for "nothing held".
    pub holds: bool,
    /// What is held.
    pub detail: String,
    /// When recorded.
    pub recorded_at: i64,
}

/// What an agency shared about an item at the meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    /// Item.
    pub item_id: String,
    /// Agency.
    pub agency_id: String,
    /// Agency name.
    pub agency_name: String,
    /// What was shared.
    pub detail: String,
}

/// Who attended for an agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    /// Agency.
    pub agency_id: String,
    /// Agency name.
    pub agency_name: String,
    /// Who attended.
    pub attendee: String,
    /// Present or sent apologies.
    pub present: bool,
}

/// A panel action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelActionRow {
    /// Id.
    pub id: String,
    /// The agenda item it was agreed on.
    pub item_id: String,
    /// The panel case.
    pub referral_id: String,
    /// The panel.
    pub panel_id: String,
    /// The meeting it was agreed at.
    pub meeting_id: String,
    /// Owning agency.
    pub agency_id: String,
    /// Its name.
    pub agency_name: String,
    /// Named owner.
    pub owner_id: String,
    /// Their name.
    pub owner_name: String,
    /// What is to be done.
    pub title: String,
    /// Due.
    pub due_at: i64,
    /// Where it stands.
    pub status: ActionStatus,
    /// Why it was closed.
    pub status_reason: String,
    /// When last flagged as overdue.
    pub flagged_at: Option<i64>,
}

const ACTION_COLUMNS: &str = "x.id, x.item_id, x.referral_id, r.panel_id, i.meeting_id, x.agency_id, \
    a.name AS agency_name, x.owner_id, u.display_name AS owner_name, x.title, x.due_at, x.status, \
    x.status_reason, x.flagged_at";
const ACTION_FROM: &str = "panel_actions x JOIN panel_referrals r ON r.id = x.referral_id \
    JOIN panel_items i ON i.id = x.item_id JOIN agencies a ON a.id = x.agency_id \
    JOIN users u ON u.id = x.owner_id";

fn action_from(r: &Row) -> Result<PanelActionRow, StoreError> {
    Ok(PanelActionRow {
        id: r.try_get("id")?,
        item_id: r.try_get("item_id")?,
        referral_id: r.try_get("referral_id")?,
        panel_id: r.try_get("panel_id")?,
        meeting_id: r.try_get("meeting_id")?,
        agency_id: r.try_get("agency_id")?,
        agency_name: r.try_get("agency_name")?,
        owner_id: r.try_get("owner_id")?,
        owner_name: r.try_get("owner_name")?,
        title: r.try_get("title")?,
        due_at: r.try_get("due_at")?,
        status: ActionStatus::parse(&r.try_get::<String, _>("status")?)?,
        status_reason: r.try_get("status_reason")?,
        flagged_at: r.try_get("flagged_at")?,
    })
}

impl Store {
    /// A meeting's agenda, in order.
    pub async fn items(&self, meeting_id: &str) -> Result<Vec<Item>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM panel_items WHERE meeting_id = $1 ORDER BY position"
        ))
        .bind(meeting_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(item_from).collect()
    }

    /// The agenda items a panel case has been listed on, with each meeting's status key.
    pub async fn items_of_referral(
        &self,
        referral_id: &str,
    ) -> Result<Vec<(Item, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT i.id, i.meeting_id, i.referral_id, i.position, i.minutes_allowed, i.is_returning, i.discussed, \
             i.risks, i.minutes, i.no_actions_reason, m.status AS meeting_status FROM panel_items i \
             JOIN panel_meetings m ON m.id = i.meeting_id WHERE i.referral_id = $1 ORDER BY m.held_at",
        )
        .bind(referral_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((item_from(r)?, r.try_get("meeting_status")?)))
            .collect()
    }

    /// One agenda item.
    pub async fn item(&self, id: &str) -> Result<Item, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM panel_items WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound {
            what: "agenda item",
        })?;
        item_from(&row)
    }

    /// The research recorded for a meeting's agenda.
    pub async fn research(&self, meeting_id: &str) -> Result<Vec<Research>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.item_id, s.agency_id, s.subject, s.holds, s.detail, s.recorded_at FROM panel_research s \
             JOIN panel_items i ON i.id = s.item_id WHERE i.meeting_id = $1",
        )
        .bind(meeting_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Research {
                    item_id: r.try_get("item_id")?,
                    agency_id: r.try_get("agency_id")?,
                    subject: ResearchSubject::parse(&r.try_get::<String, _>("subject")?)?,
                    holds: r.try_get::<i64, _>("holds")? != 0,
                    detail: r.try_get("detail")?,
                    recorded_at: r.try_get("recorded_at")?,
                })
            })
            .collect()
    }

    /// What agencies shared at a meeting.
    pub async fn shared(&self, meeting_id: &str) -> Result<Vec<Shared>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.item_id, s.agency_id, a.name AS agency_name, s.detail FROM panel_shared s \
             JOIN panel_items i ON i.id = s.item_id JOIN agencies a ON a.id = s.agency_id \
             WHERE i.meeting_id = $1 ORDER BY a.name",
        )
        .bind(meeting_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Shared {
                    item_id: r.try_get("item_id")?,
                    agency_id: r.try_get("agency_id")?,
                    agency_name: r.try_get("agency_name")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    /// Attendance at a meeting.
    pub async fn attendance(&self, meeting_id: &str) -> Result<Vec<Attendance>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.agency_id, a.name AS agency_name, t.attendee, t.present FROM panel_attendance t \
             JOIN agencies a ON a.id = t.agency_id WHERE t.meeting_id = $1 ORDER BY a.name",
        )
        .bind(meeting_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Attendance {
                    agency_id: r.try_get("agency_id")?,
                    agency_name: r.try_get("agency_name")?,
                    attendee: r.try_get("attendee")?,
                    present: r.try_get::<i64, _>("present")? != 0,
                })
            })
            .collect()
    }

    /// Actions on the panel cases of a meeting's agenda (agreed at any meeting).
    pub async fn meeting_actions(
        &self,
        meeting_id: &str,
    ) -> Result<Vec<PanelActionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM {ACTION_FROM} WHERE x.referral_id IN \
             (SELECT referral_id FROM panel_items WHERE meeting_id = $1) ORDER BY x.due_at, x.id"
        ))
        .bind(meeting_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(action_from).collect()
    }

    /// One action.
    pub async fn panel_action(&self, id: &str) -> Result<PanelActionRow, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM {ACTION_FROM} WHERE x.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound {
            what: "panel action",
        })?;
        action_from(&row)
    }

    /// A user's panel actions, open ones first by due date.
    pub async fn actions_of_owner(
        &self,
        owner_id: &str,
    ) -> Result<Vec<PanelActionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ACTION_COLUMNS} FROM {ACTION_FROM} WHERE x.owner_id = $1 \
             ORDER BY CASE x.status WHEN 'open' THEN 0 ELSE 1 END, x.due_at, x.id"
        ))
        .bind(owner_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(action_from).collect()
    }

    /// The cases a panel discussed at meetings held in `[from, to)`, as the data return
    /// counts them: one row per panel case, however often it was discussed.
    pub async fn data_return_cases(
        &self,
        panel_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ReturnCase>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, a.name AS agency, a.kind AS agency_kind, r.is_repeat, r.children, r.referred_at, \
             p.dob, COALESCE(c.bme, 'not_known') AS bme, COALESCE(c.lgbt, 'not_known') AS lgbt, \
             COALESCE(c.disabled, 'not_known') AS disabled, COALESCE(c.male, 'not_known') AS male \
             FROM panel_referrals r JOIN agencies a ON a.id = r.referring_agency_id \
             LEFT JOIN people p ON p.id = r.person_id \
             LEFT JOIN person_characteristics c ON c.person_id = r.person_id \
             WHERE r.panel_id = $1 AND r.id IN (SELECT i.referral_id FROM panel_items i \
               JOIN panel_meetings m ON m.id = i.meeting_id \
               WHERE m.panel_id = $1 AND i.discussed = 1 AND m.held_at >= $2 AND m.held_at < $3)",
        )
        .bind(panel_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        let answer = |r: &Row, col: &str| -> Result<Answer, StoreError> {
            Ok(Answer::parse(&r.try_get::<String, _>(col)?)?)
        };
        rows.iter()
            .map(|r| {
                let dob: Option<String> = r.try_get("dob")?;
                let referred_at: i64 = r.try_get("referred_at")?;
                Ok(ReturnCase {
                    referring_agency: r.try_get("agency")?,
                    police: r.try_get::<String, _>("agency_kind")? == "police",
                    repeat: r.try_get::<i64, _>("is_repeat")? != 0,
                    children: r.try_get("children")?,
                    bme: answer(r, "bme")?,
                    lgbt: answer(r, "lgbt")?,
                    disabled: answer(r, "disabled")?,
                    male: answer(r, "male")?,
                    aged_16_17: age_16_17(dob.as_deref(), referred_at),
                })
            })
            .collect()
    }
}

/// Whether a person born on `dob` was 16 or 17 on the day of `at` (not known without a date
/// of birth).
fn age_16_17(dob: Option<&str>, at: i64) -> Answer {
    let Some(born) = dob.and_then(parse_date) else {
        return Answer::NotKnown;
    };
    let day = london_date(at);
    let mut age = day.year() - born.year();
    if (day.month() as u8, day.day()) < (born.month() as u8, born.day()) {
        age -= 1;
    }
    if (16..=17).contains(&age) {
        Answer::Yes
    } else {
        Answer::No
    }
}

/// One agency's research on one subject of one item.
#[derive(Debug, Clone)]
pub struct ResearchEntry {
    /// The item.
    pub item_id: String,
    /// The agency.
    pub agency_id: String,
    /// Whose records.
    pub subject: ResearchSubject,
    /// False for "nothing held".
    pub holds: bool,
    /// What is held.
    pub detail: String,
    /// Who recorded it.
    pub by: String,
}

/// The discussion of one item.
#[derive(Debug, Clone, Default)]
pub struct Discussion {
    /// The item.
    pub item_id: String,
    /// `(agency id, what it shared)`.
    pub shared: Vec<(String, String)>,
    /// Risks identified.
    pub risks: String,
    /// Minutes.
    pub minutes: String,
    /// Why no actions were agreed, if none were.
    pub no_actions_reason: String,
    /// Who recorded it.
    pub by: String,
}

/// An action agreed on an item.
#[derive(Debug, Clone)]
pub struct NewAction {
    /// The item.
    pub item_id: String,
    /// Owning agency.
    pub agency_id: String,
    /// Named owner.
    pub owner_id: String,
    /// What is to be done.
    pub title: String,
    /// Due.
    pub due_at: i64,
    /// Who recorded it.
    pub by: String,
}

/// An agenda item to list.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// The panel case.
    pub referral_id: String,
    /// Minutes allowed.
    pub minutes_allowed: i64,
    /// Back with open actions.
    pub returning: bool,
}

impl WriteTx {
    /// Replaces a planned meeting's agenda with `items`, in order. A published agenda is
    /// refused: member agencies may already be researching it.
    pub async fn set_agenda(
        &mut self,
        cap: &PanelAuthorized<MeetingId>,
        items: &[NewItem],
    ) -> Result<(), StoreError> {
        let meeting = meeting_of(cap, PanelAction::Manage)?;
        let status: String = sqlx::query_scalar("SELECT status FROM panel_meetings WHERE id = $1")
            .bind(meeting)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound { what: "meeting" })?;
        if status != "planned" {
            return Err(StoreError::Conflict(
                "the agenda has been published and can no longer be rebuilt".into(),
            ));
        }
        sqlx::query("DELETE FROM panel_items WHERE meeting_id = $1")
            .bind(meeting)
            .execute(&mut *self.tx)
            .await?;
        for (n, item) in items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO panel_items (id, meeting_id, referral_id, position, minutes_allowed, is_returning) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id())
            .bind(meeting)
            .bind(&item.referral_id)
            .bind(n as i64 + 1)
            .bind(item.minutes_allowed)
            .bind(i64::from(item.returning))
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Publishes a planned meeting's agenda: the panel window opens now and closes at
    /// `closes_at`; each member agency's point of contact is told in the application and by
    /// e-mail, in this transaction.
    pub async fn publish_agenda(
        &mut self,
        cap: &PanelAuthorized<MeetingId>,
        closes_at: i64,
        notice: &str,
        link: &str,
    ) -> Result<i64, StoreError> {
        let meeting = meeting_of(cap, PanelAction::Manage)?;
        let now = now_unix();
        let done = sqlx::query(
            "UPDATE panel_meetings SET status = 'published', published_at = $1, window_closes_at = $2 \
             WHERE id = $3 AND status = 'planned'",
        )
        .bind(now)
        .bind(closes_at)
        .bind(meeting)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the agenda has already been published".into(),
            ));
        }
        let contacts = sqlx::query_as::<_, (String, String)>(
            "SELECT u.id, u.email FROM panel_members pm JOIN panel_meetings m ON m.panel_id = pm.panel_id \
             JOIN users u ON u.id = pm.contact_id WHERE m.id = $1",
        )
        .bind(meeting)
        .fetch_all(&mut *self.tx)
        .await?;
        for (user, email) in &contacts {
            notify(&mut self.tx, user, "panel_agenda", notice, link).await?;
            enqueue(
                &mut self.tx,
                "email",
                email,
                "A panel agenda has been published",
                &format!("{notice}\n\nSign in to Pathways to read it and record your agency's research: {link}"),
                &format!("panel-agenda:{meeting}:{user}"),
            )
            .await?;
        }
        Ok(now)
    }

    /// Records what `agency_id` holds about one subject of one agenda item. An item that is
    /// not on this meeting's agenda is refused as not found.
    pub async fn record_research(
        &mut self,
        cap: &PanelAuthorized<MeetingId>,
        entry: &ResearchEntry,
    ) -> Result<(), StoreError> {
        let ResearchEntry {
            item_id,
            agency_id,
            subject,
            holds,
            detail,
            by,
        } = entry;
        let meeting = meeting_of(cap, PanelAction::Research)?;
        let on_agenda: Option<String> =
            sqlx::query_scalar("SELECT id FROM panel_items WHERE id = $1 AND meeting_id = $2")
                .bind(item_id)
                .bind(meeting)
                .fetch_optional(&mut *self.tx)
                .await?;
        if on_agenda.is_none() {
            return Err(StoreError::NotFound {
                what: "agenda item",
            });
        }
        sqlx::query(
            "INSERT INTO panel_research (item_id, agency_id, subject, holds, detail, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (item_id, agency_id, subject) DO UPDATE SET \
             holds = excluded.holds, detail = excluded.detail, recorded_by = excluded.recorded_by, \
             recorded_at = excluded.recorded_at",
        )
        .bind(item_id)
        .bind(agency_id)
        .bind(subject.key())
        .bind(i64::from(*holds))
        .bind(detail.trim())
        .bind(by)
        .bind(now_unix())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Records who attended for each member agency.
    pub async fn record_attendance(
        &mut self,
        cap: &PanelAuthorized<MeetingId>,
        rows: &[(String, String, bool)],
    ) -> Result<(), StoreError> {
        let meeting = meeting_of(cap, PanelAction::Manage)?;
        for (agency, attendee, present) in rows {
            sqlx::query(
                "INSERT INTO panel_attendance (meeting_id, agency_id, attendee, present) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (meeting_id, agency_id) DO UPDATE SET attendee = excluded.attendee, present = excluded.present",
            )
            .bind(meeting)
            .bind(agency)
            .bind(attendee.trim())
            .bind(i64::from(*present))
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Records the discussion of one item: what each agency shared, the risks, the minutes
    /// and, when no actions were agreed, why. The meeting is marked held. A panel case with
    /// no open actions and a recorded reason for having none is closed.
    pub async fn record_discussion(
        &mut self,
        cap: &PanelAuthorized<MeetingId>,
        d: &Discussion,
    ) -> Result<(), StoreError> {
        let Discussion {
            item_id,
            shared,
            risks,
            minutes,
            no_actions_reason,
            by,
        } = d;
        let meeting = meeting_of(cap, PanelAction::Manage)?;
        let now = now_unix();
        let referral: String = sqlx::query_scalar(
            "SELECT referral_id FROM panel_items WHERE id = $1 AND meeting_id = $2",
        )
        .bind(item_id)
        .bind(meeting)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or(StoreError::NotFound {
            what: "agenda item",
        })?;
        sqlx::query(
            "UPDATE panel_items SET discussed = 1, risks = $1, minutes = $2, no_actions_reason = $3 WHERE id = $4",
        )
        .bind(risks.trim())
        .bind(minutes.trim())
        .bind(no_actions_reason.trim())
        .bind(item_id)
        .execute(&mut *self.tx)
        .await?;
        for (agency, detail) in shared {
            sqlx::query(
                "INSERT INTO panel_shared (item_id, agency_id, detail, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (item_id, agency_id) DO UPDATE SET detail = excluded.detail, \
                 recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
            )
            .bind(item_id)
            .bind(agency)
            .bind(detail.trim())
            .bind(by)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        }
        sqlx::query("UPDATE panel_meetings SET status = 'held' WHERE id = $1")
            .bind(meeting)
            .execute(&mut *self.tx)
            .await?;
        if !no_actions_reason.trim().is_empty() {
            close_if_done(self, &referral, no_actions_reason.trim()).await?;
        }
        Ok(())
    }

    /// Adds an action agreed on an item of this meeting; its panel case is (re)opened.
    pub async fn add_panel_action(
        &mut self,
        cap: &PanelAuthorized<MeetingId>,
        a: &NewAction,
    ) -> Result<String, StoreError> {
        let NewAction {
            item_id,
            agency_id,
            owner_id,
            title,
            due_at,
            by,
        } = a;
        let meeting = meeting_of(cap, PanelAction::Manage)?;
        let referral: String = sqlx::query_scalar(
            "SELECT referral_id FROM panel_items WHERE id = $1 AND meeting_id = $2",
        )
        .bind(item_id)
        .bind(meeting)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or(StoreError::NotFound {
            what: "agenda item",
        })?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO panel_actions (id, item_id, referral_id, agency_id, owner_id, title, due_at, status, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9)",
        )
        .bind(&id)
        .bind(item_id)
        .bind(&referral)
        .bind(agency_id)
        .bind(owner_id)
        .bind(title.trim())
        .bind(due_at)
        .bind(now_unix())
        .bind(by)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "UPDATE panel_referrals SET status = 'accepted', closed_at = NULL, closure_reason = '' \
             WHERE id = $1 AND status = 'closed'",
        )
        .bind(&referral)
        .execute(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Marks an open action done, or closes it with a reason. When no action of its panel
    /// case is left open the case closes. Returns true when the case closed.
    pub async fn change_panel_action(
        &mut self,
        cap: &PanelAuthorized<PanelActionId>,
        status: ActionStatus,
        reason: &str,
        by: &str,
    ) -> Result<bool, StoreError> {
        if cap.action() != PanelAction::ChangeAction {
            return Err(StoreError::NotPermitted(
                pathways_domain::Permission::WorkCases,
            ));
        }
        let id = cap.id().as_str();
        let done = sqlx::query(
            "UPDATE panel_actions SET status = $1, status_reason = $2, changed_at = $3, changed_by = $4 \
             WHERE id = $5 AND status = 'open'",
        )
        .bind(status.key())
        .bind(reason.trim())
        .bind(now_unix())
        .bind(by)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "this action has already been completed or closed".into(),
            ));
        }
        let referral: String =
            sqlx::query_scalar("SELECT referral_id FROM panel_actions WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *self.tx)
                .await?;
        close_if_done(self, &referral, "Every action done or closed").await
    }

    /// Chases a published meeting's outstanding research: each member agency that has not
    /// recorded all three subjects for every item is told in the application and by e-mail
    /// (once a day at most). Returns the number of agencies chased.
    pub async fn chase_research(
        &mut self,
        cap: &PanelAuthorized<MeetingId>,
        link: &str,
    ) -> Result<usize, StoreError> {
        let meeting = meeting_of(cap, PanelAction::Manage)?;
        let rows = sqlx::query_as::<_, (String, String, String, i64, i64)>(
            "SELECT pm.agency_id, u.id, u.email, \
             CAST((SELECT COUNT(*) FROM panel_items i WHERE i.meeting_id = m.id) * 3 AS BIGINT), \
             CAST((SELECT COUNT(*) FROM panel_research s JOIN panel_items i ON i.id = s.item_id \
                   WHERE i.meeting_id = m.id AND s.agency_id = pm.agency_id) AS BIGINT) \
             FROM panel_meetings m JOIN panel_members pm ON pm.panel_id = m.panel_id \
             JOIN users u ON u.id = pm.contact_id WHERE m.id = $1 AND m.status = 'published'",
        )
        .bind(meeting)
        .fetch_all(&mut *self.tx)
        .await?;
        let today = format_iso_day(now_unix());
        let mut chased = 0;
        for (agency, user, email, wanted, done) in rows {
            if done >= wanted {
                continue;
            }
            let text = format!(
                "Your agency's research for the next panel meeting is incomplete: {} of {wanted} entries recorded.",
                done
            );
            notify(&mut self.tx, &user, "panel_research", &text, link).await?;
            enqueue(
                &mut self.tx,
                "email",
                &email,
                "Panel research outstanding",
                &format!("{text}\n\n{link}"),
                &format!("panel-chase:{meeting}:{agency}:{today}"),
            )
            .await?;
            chased += 1;
        }
        Ok(chased)
    }

    /// Flags open actions past their due date that were not flagged in the last
    /// `every_secs`: the owner, their agency's point of contact on the panel and the
    /// panel's coordinator are told. Returns how many actions were flagged.
    pub async fn flag_overdue_actions(
        &mut self,
        coordinates: &pathways_domain::access::Permitted,
        now: i64,
        every_secs: i64,
    ) -> Result<usize, StoreError> {
        crate::cases::needs(coordinates, pathways_domain::Permission::CoordinatePanels)?;
        let rows = sqlx::query_as::<_, (String, String, String, String, Option<String>, String, i64)>(
            "SELECT x.id, x.title, x.owner_id, u.email, pm.contact_id, p.coordinator_id, x.due_at \
             FROM panel_actions x JOIN panel_referrals r ON r.id = x.referral_id JOIN panels p ON p.id = r.panel_id \
             JOIN users u ON u.id = x.owner_id \
             LEFT JOIN panel_members pm ON pm.panel_id = p.id AND pm.agency_id = x.agency_id \
             WHERE x.status = 'open' AND x.due_at < $1 AND (x.flagged_at IS NULL OR x.flagged_at <= $2)",
        )
        .bind(now)
        .bind(now - every_secs)
        .fetch_all(&mut *self.tx)
        .await?;
        let n = rows.len();
        for (id, title, owner, email, contact, coordinator, due_at) in rows {
            let text = format!(
                "Panel action overdue since {}: {title}",
                format_iso_day(due_at)
            );
            let link = "/panels/actions";
            let mut told = vec![owner.clone(), coordinator];
            told.extend(contact);
            told.sort();
            told.dedup();
            for user in &told {
                notify(&mut self.tx, user, "panel_action_overdue", &text, link).await?;
            }
            enqueue(
                &mut self.tx,
                "email",
                &email,
                "A panel action is overdue",
                &text,
                &format!("panel-overdue:{id}:{}", format_iso_day(now)),
            )
            .await?;
            sqlx::query("UPDATE panel_actions SET flagged_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(n)
    }
}

/// Closes an accepted panel case when none of its actions is open.
async fn close_if_done(tx: &mut WriteTx, referral: &str, reason: &str) -> Result<bool, StoreError> {
    let open: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM panel_actions WHERE referral_id = $1 AND status = 'open'",
    )
    .bind(referral)
    .fetch_one(&mut *tx.tx)
    .await?;
    if open > 0 {
        return Ok(false);
    }
    let done = sqlx::query(
        "UPDATE panel_referrals SET status = 'closed', closed_at = $1, closure_reason = $2 \
         WHERE id = $3 AND status = 'accepted'",
    )
    .bind(now_unix())
    .bind(reason)
    .bind(referral)
    .execute(&mut *tx.tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aged_16_17_counts_birthdays_on_the_day() {
        let at = pathways_domain::time::parse_london("2026-07-10T12:00").expect("instant");
        assert_eq!(age_16_17(Some("2010-07-10"), at), Answer::Yes);
        assert_eq!(age_16_17(Some("2010-07-11"), at), Answer::No);
        assert_eq!(age_16_17(Some("2008-07-11"), at), Answer::Yes);
        assert_eq!(age_16_17(Some("2008-07-10"), at), Answer::No);
        assert_eq!(age_16_17(None, at), Answer::NotKnown);
    }
}
