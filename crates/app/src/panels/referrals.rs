//! Referrals to a panel: from a case (carrying the eligibility explanation of its latest
//! assessment with the panel's instrument, and the victim's self-described
//! characteristics), from a triage decision (taken up by the coordinator), in from another
//! area; accepting or declining with a reason; transferring out to another area.

use pathways_domain::access::panel::PanelAction;
use pathways_domain::ids::CaseId;
use pathways_domain::panels::{Answer, ReferralSource, ReferralStatus, SubjectKind};
use pathways_domain::time::parse_date;
use pathways_domain::{AuditAction, Permission};
use pathways_store::now_unix;
use pathways_store::panels::{Characteristics, NewPanelReferral, Panel, ReferralProof};
use pathways_store::people::PersonDetails;

use super::{PANEL_REFERRAL, conflict, panel_access};
use crate::{App, Caller, Error, Fields, RecordKind, Result};

/// An eligibility explanation: the summary and one line per criterion.
pub type Explanation = (String, Vec<String>);

/// What the "refer to a panel" form of a case offers.
#[derive(Debug, Clone)]
pub struct CaseReferralForm {
    /// The case reference.
    pub reference: String,
    /// The case id.
    pub case_id: String,
    /// Panels to refer to, each with the eligibility explanation its kind carries (summary
    /// and criteria lines), when the case has one.
    pub panels: Vec<(Panel, Option<Explanation>)>,
    /// The person's characteristics as recorded.
    pub characteristics: Characteristics,
}

fn explanation(eligibility: &str) -> Option<Explanation> {
    let v: serde_json::Value = serde_json::from_str(eligibility).ok()?;
    let summary = v.get("summary")?.as_str()?.to_string();
    let lines = v
        .get("criteria")
        .and_then(|c| c.as_array())
        .map(|items| {
            items
                .iter()
                .map(|c| {
                    let met = c.get("met").and_then(|m| m.as_bool()).unwrap_or(false);
                    format!(
                        "{}: {}",
                        if met { "Met" } else { "Not met" },
                        c.get("explanation")
                            .and_then(|e| e.as_str())
                            .unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Some((summary, lines))
}

async fn eligibility_for(app: &App, case_id: &str, panel: &Panel) -> Result<Option<String>> {
    let Some(instrument) = panel.kind.instrument() else {
        return Ok(None);
    };
    Ok(app
        .store()
        .assessments(case_id)
        .await?
        .into_iter()
        .find(|a| a.instrument == instrument && a.eligibility != "null")
        .map(|a| a.eligibility))
}

/// The form for referring a case to a panel: the case team only.
pub async fn case_referral_form(
    app: &App,
    caller: &Caller,
    case_id: &CaseId,
) -> Result<CaseReferralForm> {
    let opened = crate::cases::for_edit(app, caller, case_id).await?;
    let mut panels = Vec::new();
    for panel in app.store().panels().await? {
        let e = eligibility_for(app, case_id.as_str(), &panel).await?;
        panels.push((panel, e.as_deref().and_then(explanation)));
    }
    Ok(CaseReferralForm {
        reference: opened.case.reference.clone(),
        case_id: opened.case.id.clone(),
        characteristics: app.store().characteristics(&opened.case.person_id).await?,
        panels,
    })
}

/// A referral from a case, as typed.
#[derive(Debug, Clone, Default)]
pub struct CaseReferralInput {
    /// The panel.
    pub panel_id: String,
    /// Why.
    pub reason: String,
    /// Children in the household.
    pub children: String,
    /// The alleged perpetrator.
    pub perpetrator: String,
    /// Self-described ethnicity.
    pub ethnicity: String,
    /// Black or minority ethnic group: an [`Answer`] key.
    pub bme: String,
    /// LGBT+.
    pub lgbt: String,
    /// Disabled.
    pub disabled: String,
    /// Male.
    pub male: String,
}

fn answer(f: &mut Fields, raw: &str, field: &str) -> String {
    match raw.trim() {
        "" => Answer::NotKnown.key().to_string(),
        v => match Answer::parse(v) {
            Ok(a) => a.key().to_string(),
            Err(_) => {
                f.add(field, "Choose yes, no, not known or prefers not to say");
                Answer::NotKnown.key().to_string()
            }
        },
    }
}

/// Refers a case to a panel, carrying the eligibility explanation of the case's latest
/// assessment with the panel's instrument and recording the victim's characteristics. A
/// repeat is found through the person index. Returns the panel referral id.
pub async fn refer_from_case(
    app: &App,
    caller: &Caller,
    case_id: &CaseId,
    input: &CaseReferralInput,
) -> Result<String> {
    let opened = crate::cases::for_edit(app, caller, case_id).await?;
    let mut f = Fields::new();
    let panel = match app.store().panel(input.panel_id.trim()).await {
        Ok(p) => Some(p),
        Err(_) => {
            f.add("panel_id", "Choose the panel to refer to");
            None
        }
    };
    let reason = f.required(
        &input.reason,
        "reason",
        "Enter why the case needs the panel",
    );
    let children = match input.children.trim() {
        "" => 0,
        v => v
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=30).contains(n))
            .unwrap_or_else(|| {
                f.add(
                    "children",
                    "Enter the number of children in the household, for example 2",
                );
                0
            }),
    };
    let characteristics = Characteristics {
        ethnicity: input.ethnicity.trim().to_string(),
        bme: answer(&mut f, &input.bme, "bme"),
        lgbt: answer(&mut f, &input.lgbt, "lgbt"),
        disabled: answer(&mut f, &input.disabled, "disabled"),
        male: answer(&mut f, &input.male, "male"),
    };
    f.finish()?;
    let Some(panel) = panel else {
        return Err(Error::invalid("panel_id", "Choose the panel to refer to"));
    };
    let eligibility = eligibility_for(app, case_id.as_str(), &panel)
        .await?
        .unwrap_or_else(|| {
            serde_json::json!({"summary": format!("Professional judgement: {reason}"), "criteria": []})
                .to_string()
        });
    let case = &opened.case;
    let mut tx = app.write().await?;
    tx.set_characteristics(
        &opened.cap,
        &case.person_id,
        &characteristics,
        caller.user_id(),
    )
    .await?;
    let referral = tx
        .create_panel_referral(
            ReferralProof::Case(&opened.cap),
            &NewPanelReferral {
                panel_id: panel.id.clone(),
                subject_kind: SubjectKind::Person,
                subject_label: String::new(),
                person_id: Some(case.person_id.clone()),
                case_id: Some(case.id.clone()),
                referral_id: None,
                source: ReferralSource::Case,
                other_area: String::new(),
                referring_agency_id: caller.actor.agency_id.clone(),
                referred_by: caller.user_id().to_string(),
                referred_at: now_unix(),
                risk_level: case.risk_level.clone(),
                eligibility,
                reason: reason.to_string(),
                children,
                perpetrator: input.perpetrator.trim().to_string(),
                accepted: false,
                new_person: None,
            },
        )
        .await
        .map_err(conflict)?;
    let mut event = caller.event(AuditAction::PanelReferral, PANEL_REFERRAL, &referral.id);
    event.reason = format!("case {} to {}", case.reference, panel.name);
    let characteristics_event = caller.event(
        AuditAction::PersonCharacteristics,
        RecordKind::Person,
        &case.person_id,
    );
    tx.audit(&[&event, &characteristics_event]).await?;
    tx.commit().await?;
    Ok(referral.id)
}

/// The coordinator takes up a referral that triage decided to refer to this kind of panel;
/// it waits for acceptance like any other.
pub async fn take_up_triaged(
    app: &App,
    caller: &Caller,
    panel_id: &str,
    referral_id: &str,
) -> Result<String> {
    let opened = panel_access(
        app,
        caller,
        panel_id,
        PanelAction::Manage,
        AuditAction::PanelReferral,
    )
    .await?;
    let store = app.store();
    let triaged = store.triaged_for_panel(&opened.panel).await?;
    let Some(t) = triaged.into_iter().find(|t| t.id == referral_id.trim()) else {
        return Err(Error::invalid(
            "referral_id",
            "Choose a referral that triage decided to refer to this panel and that is not yet taken up",
        ));
    };
    let referral = store.referral(&t.id).await?;
    let case = store.case_for_referral(&t.id).await?;
    let risk = match &case {
        Some(c) => store.case(c).await?.risk_level,
        None => String::new(),
    };
    let mut tx = app.write().await?;
    let created = tx
        .create_panel_referral(
            ReferralProof::Panel(&opened.cap),
            &NewPanelReferral {
                panel_id: panel_id.to_string(),
                subject_kind: SubjectKind::Person,
                subject_label: String::new(),
                person_id: t.person_id.clone(),
                case_id: case,
                referral_id: Some(t.id.clone()),
                source: ReferralSource::Triage,
                other_area: String::new(),
                referring_agency_id: t.agency_id.clone(),
                referred_by: caller.user_id().to_string(),
                referred_at: now_unix(),
                risk_level: risk,
                eligibility: serde_json::json!({
                    "summary": format!("Triage decided to refer to {}: {}", opened.panel.kind.label(), t.reason),
                    "criteria": []
                })
                .to_string(),
                reason: referral.submitted.reason.clone(),
                children: 0,
                perpetrator: String::new(),
                accepted: false,
                new_person: None,
            },
        )
        .await
        .map_err(conflict)?;
    let mut event = caller.event(AuditAction::PanelReferral, PANEL_REFERRAL, &created.id);
    event.reason = format!("from triaged referral {}", t.reference);
    crate::commit(tx, &event).await?;
    Ok(created.id)
}

/// A transfer in from another area's panel, as typed.
#[derive(Debug, Clone, Default)]
pub struct TransferInInput {
    /// The other area's panel.
    pub other_area: String,
    /// Person, place or peer group.
    pub subject_kind: String,
    /// A place's or peer group's name.
    pub subject_label: String,
    /// The person's first name.
    pub first_name: String,
    /// The person's surname.
    pub surname: String,
    /// Their date of birth, `YYYY-MM-DD`, if known.
    pub dob: String,
    /// Risk level key.
    pub risk_level: String,
    /// Why.
    pub reason: String,
    /// Children in the household.
    pub children: String,
}

/// Records a referral in from another area's panel (accepted on arrival): a person added
/// to the index, or a place or peer group.
pub async fn refer_in(
    app: &App,
    caller: &Caller,
    panel_id: &str,
    input: &TransferInInput,
) -> Result<String> {
    let opened = panel_access(
        app,
        caller,
        panel_id,
        PanelAction::Manage,
        AuditAction::PanelTransfer,
    )
    .await?;
    let mut f = Fields::new();
    let area = f.required(
        &input.other_area,
        "other_area",
        "Enter the area whose panel the case comes from",
    );
    let reason = f.required(&input.reason, "reason", "Enter why the case is transferred");
    let kind = match input.subject_kind.trim() {
        "" => Some(SubjectKind::Person),
        k => SubjectKind::parse(k).ok(),
    };
    f.check(
        kind.is_none(),
        "subject_kind",
        "Choose a person, a place or a peer group",
    );
    let person = if kind == Some(SubjectKind::Person) {
        let first = f.required(
            &input.first_name,
            "first_name",
            "Enter the person's first name",
        );
        let surname = f.required(&input.surname, "surname", "Enter the person's surname");
        let dob = match input.dob.trim() {
            "" => None,
            d => {
                f.check(
                    parse_date(d).is_none(),
                    "dob",
                    "Enter the date of birth as YYYY-MM-DD",
                );
                Some(d.to_string())
            }
        };
        Some(PersonDetails {
            first_name: first.to_string(),
            surname: surname.to_string(),
            dob,
            ..PersonDetails::default()
        })
    } else {
        f.required(
            &input.subject_label,
            "subject_label",
            "Enter the place's or peer group's name",
        );
        None
    };
    let risk = input.risk_level.trim();
    f.check(
        !risk.is_empty() && pathways_domain::risk::RiskLevel::parse(risk).is_err(),
        "risk_level",
        "Choose the risk level",
    );
    let children = input
        .children
        .trim()
        .parse::<i64>()
        .unwrap_or(0)
        .clamp(0, 30);
    f.finish()?;
    let mut tx = app.write().await?;
    let created = tx
        .create_panel_referral(
            ReferralProof::Panel(&opened.cap),
            &NewPanelReferral {
                panel_id: panel_id.to_string(),
                subject_kind: kind.unwrap_or(SubjectKind::Person),
                subject_label: input.subject_label.trim().to_string(),
                person_id: None,
                case_id: None,
                referral_id: None,
                source: ReferralSource::OtherArea,
                other_area: area.to_string(),
                referring_agency_id: caller.actor.agency_id.clone(),
                referred_by: caller.user_id().to_string(),
                referred_at: now_unix(),
                risk_level: risk.to_string(),
                eligibility: serde_json::json!({
                    "summary": format!("Transferred in from {area}"),
                    "criteria": []
                })
                .to_string(),
                reason: reason.to_string(),
                children,
                perpetrator: String::new(),
                accepted: true,
                new_person: person,
            },
        )
        .await
        .map_err(conflict)?;
    let mut event = caller.event(AuditAction::PanelTransfer, PANEL_REFERRAL, &created.id);
    event.reason = format!("transferred in from {area}");
    crate::commit(tx, &event).await?;
    Ok(created.id)
}

/// Accepting or declining a referral.
#[derive(Debug, Clone, Default)]
pub struct DecisionInput {
    /// `accept` or `decline`.
    pub decision: String,
    /// Why (required to decline).
    pub reason: String,
}

/// Accepts or declines a referral waiting for the coordinator. A second decision is refused
/// as a conflict and nothing changes.
pub async fn decide_referral(
    app: &App,
    caller: &Caller,
    referral_id: &str,
    input: &DecisionInput,
) -> Result<String> {
    let referral = app.store().panel_referral(referral_id).await?;
    let opened = panel_access(
        app,
        caller,
        &referral.panel_id,
        PanelAction::Manage,
        AuditAction::PanelReferralDecide,
    )
    .await?;
    let mut f = Fields::new();
    let accept = match input.decision.trim() {
        "accept" => Some(true),
        "decline" => Some(false),
        _ => None,
    };
    f.check(accept.is_none(), "decision", "Choose accept or decline");
    f.check(
        accept == Some(false) && input.reason.trim().is_empty(),
        "reason",
        "Enter why the referral is declined",
    );
    f.finish()?;
    if referral.status != ReferralStatus::Pending {
        return Err(Error::Conflict(format!(
            "This referral has already been decided ({}); nothing was changed.",
            referral.status.label().to_lowercase()
        )));
    }
    let mut tx = app.write().await?;
    tx.decide_panel_referral(
        &opened.cap,
        referral_id,
        accept == Some(true),
        &input.reason,
        caller.user_id(),
    )
    .await
    .map_err(conflict)?;
    let mut event = caller.event(
        AuditAction::PanelReferralDecide,
        PANEL_REFERRAL,
        referral_id,
    );
    event.reason = format!(
        "{}: {}",
        if accept == Some(true) {
            "accepted"
        } else {
            "declined"
        },
        input.reason.trim()
    );
    crate::commit(tx, &event).await?;
    Ok(referral.panel_id)
}

/// Transfers a panel case out to another area's panel.
pub async fn transfer_out(
    app: &App,
    caller: &Caller,
    referral_id: &str,
    other_area: &str,
    reason: &str,
) -> Result<String> {
    let referral = app.store().panel_referral(referral_id).await?;
    let opened = panel_access(
        app,
        caller,
        &referral.panel_id,
        PanelAction::Manage,
        AuditAction::PanelTransfer,
    )
    .await?;
    let mut f = Fields::new();
    let area = f.required(
        other_area,
        "other_area",
        "Enter the area whose panel takes the case",
    );
    let reason = f.required(reason, "reason", "Enter why the case is transferred");
    f.finish()?;
    let mut tx = app.write().await?;
    tx.transfer_panel_referral(&opened.cap, referral_id, area, reason, caller.user_id())
        .await
        .map_err(conflict)?;
    let mut event = caller.event(AuditAction::PanelTransfer, PANEL_REFERRAL, referral_id);
    event.reason = format!("transferred out to {area}: {reason}");
    crate::commit(tx, &event).await?;
    Ok(referral.panel_id)
}

/// True when the caller may refer cases (the case team's permission).
pub fn may_refer(caller: &Caller) -> bool {
    caller.may(Permission::WorkCases)
}
