//! Panels (MARAC, MACE): setting up panels and meetings, referrals to a panel (from triage,
//! from a case with its eligibility explanation, in from another area) with repeats found
//! through the person index, the agenda and its panel window, member agencies' research,
//! the chair's record of the meeting, actions through to completion, minutes and the
//! quarterly data return.
//!
//! Every use case asks the panel policy (`pathways_domain::access::panel`) through
//! [`panel_access`] or [`meeting_access`] first; what an agenda shows about each person is
//! then decided by the record policy with the meeting's window added to the case's facts.

mod actions;
mod agenda;
mod data_return;
mod meeting;
mod referrals;
mod setup;

pub use actions::{ActionChange, change_action, flag_overdue, my_actions};
pub use agenda::{
    AgendaItem, AgendaView, ResearchInput, ResearchStatus, Subject, agenda, build_agenda,
    chase_research, publish_agenda, record_research,
};
pub use data_return::{DataReturnView, data_return};
pub use meeting::{
    ActionInput, AttendanceInput, DiscussionInput, add_action, minutes, record_attendance,
    record_discussion,
};
pub use referrals::{
    CaseReferralForm, CaseReferralInput, DecisionInput, TransferInInput, case_referral_form,
    decide_referral, may_refer, refer_from_case, refer_in, take_up_triaged, transfer_out,
};
pub use setup::{
    MeetingInput, Overview, PanelInput, PanelPage, add_member, call_meeting, create_panel,
    overview, panel_page,
};

use pathways_domain::AuditAction;
use pathways_domain::access::panel::{PanelAction, PanelAuthorized, PanelFacts, authorize_panel};
use pathways_domain::ids::{MeetingId, PanelId};
use pathways_store::now_unix;
use pathways_store::panels::{Meeting, Panel};

use crate::{App, Caller, Error, RecordKind, Result};

/// The audit record kinds of the panels module.
pub(crate) const PANEL: RecordKind = RecordKind::Other("panel");
pub(crate) const MEETING: RecordKind = RecordKind::Other("panel_meeting");
pub(crate) const PANEL_REFERRAL: RecordKind = RecordKind::Other("panel_referral");
pub(crate) const PANEL_ACTION: RecordKind = RecordKind::Other("panel_action");

/// A panel the caller may act on.
pub(crate) struct PanelOpened {
    pub panel: Panel,
    pub facts: PanelFacts,
    pub cap: PanelAuthorized<PanelId>,
}

/// A meeting the caller may act on.
pub(crate) struct MeetingOpened {
    pub meeting: Meeting,
    pub panel: Panel,
    pub facts: PanelFacts,
    pub cap: PanelAuthorized<MeetingId>,
}

/// Loads a panel and asks the panel policy about `action`; refusals are audited and a
/// panel the caller has no part in is "not found".
pub(crate) async fn panel_access(
    app: &App,
    caller: &Caller,
    panel_id: &str,
    action: PanelAction,
    audit: AuditAction,
) -> Result<PanelOpened> {
    let panel = app.store().panel(panel_id).await?;
    let facts = app.store().panel_facts(panel_id).await?;
    match authorize_panel(
        &caller.actor,
        action,
        &facts,
        now_unix(),
        PanelId::new(panel_id),
    ) {
        Ok(cap) => Ok(PanelOpened { panel, facts, cap }),
        Err(d) => {
            app.audit(caller.refused(audit, PANEL, panel_id)).await?;
            Err(Error::denied(d))
        }
    }
}

/// Loads a meeting with its panel and window, and asks the panel policy about `action` at
/// `now`; refusals are audited.
pub(crate) async fn meeting_access(
    app: &App,
    caller: &Caller,
    meeting_id: &str,
    action: PanelAction,
    audit: AuditAction,
) -> Result<MeetingOpened> {
    let store = app.store();
    let meeting = store.meeting(meeting_id).await?;
    let panel = store.panel(&meeting.panel_id).await?;
    let facts = store.meeting_facts(&meeting).await?;
    match authorize_panel(
        &caller.actor,
        action,
        &facts,
        now_unix(),
        MeetingId::new(meeting_id),
    ) {
        Ok(cap) => Ok(MeetingOpened {
            meeting,
            panel,
            facts,
            cap,
        }),
        Err(d) => {
            app.audit(caller.refused(audit, MEETING, meeting_id))
                .await?;
            Err(Error::denied(d))
        }
    }
}

/// A store conflict (a second accept, a published agenda) as the caller should read it.
pub(crate) fn conflict(e: pathways_store::StoreError) -> Error {
    match e {
        pathways_store::StoreError::Conflict(m) => Error::Conflict(m),
        other => other.into(),
    }
}

/// The agencies and users a form may offer.
pub(crate) async fn people_to_name(app: &App) -> Result<Vec<(String, String, String)>> {
    Ok(app
        .store()
        .list_users(None)
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| (u.id, u.display_name, u.agency_id))
        .collect())
}
