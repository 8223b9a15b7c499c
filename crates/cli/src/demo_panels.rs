//! Demo panels for the fictional borough: "Riverside MARAC" and "Riverside MACE", each with
//! member agencies and points of contact, two past meetings (minutes, actions done, open and
//! overdue, a case closed with no actions, a repeat referral linked to its earlier meeting),
//! a meeting next week with its agenda published and research in progress, and a referral
//! waiting for the coordinator. History is written through the store with the panel
//! policy's proofs and back-dated instants; today's steps go through the use cases.

use anyhow::Context;
use pathways_app::panels as uc;
use pathways_app::{App, Caller};
use pathways_domain::access::panel::{PanelAction, PanelAuthorized, authorize_panel};
use pathways_domain::audit::AuditEvent;
use pathways_domain::ids::{MeetingId, PanelActionId, PanelId};
use pathways_domain::panels::{ActionStatus, MeetingKind, ReferralSource, SubjectKind};
use pathways_domain::time::format_datetime_local;
use pathways_store::panels::{Discussion, NewAction, NewItem, NewPanelReferral, ReferralProof};
use pathways_store::{Store, StoreError, User, WriteTx, now_unix};

const DAY: i64 = 86_400;

fn caller(u: &User) -> Caller {
    Caller::staff(
        &u.id,
        &u.agency_id,
        u.roles.clone(),
        &u.display_name,
        "demo",
    )
}

async fn user(store: &Store, email: &str) -> anyhow::Result<User> {
    store
        .user_by_email(email)
        .await?
        .with_context(|| format!("demo user {email} is missing"))
}

/// Runs `f` in one write with an audit entry by the demo coordinator.
async fn write<T>(
    store: &Store,
    by: &Caller,
    action: pathways_domain::AuditAction,
    record: &str,
    f: impl AsyncFnOnce(&mut WriteTx) -> Result<T, StoreError>,
) -> anyhow::Result<T> {
    let mut tx = store.write().await?;
    let out = f(&mut tx).await?;
    let event: AuditEvent = by.event(action, pathways_app::RecordKind::Other("panel"), record);
    tx.audit(&[&event]).await?;
    tx.commit().await?;
    Ok(out)
}

fn proof<Id>(
    store_facts: &pathways_domain::access::panel::PanelFacts,
    by: &Caller,
    action: PanelAction,
    id: Id,
) -> anyhow::Result<PanelAuthorized<Id>> {
    authorize_panel(&by.actor, action, store_facts, now_unix(), id)
        .map_err(|d| anyhow::anyhow!("the demo coordinator was refused: {d:?}"))
}

struct Spec {
    name: &'static str,
    kind: &'static str,
    instrument: &'static str,
    chair: &'static str,
    members: &'static [(&'static str, &'static str)],
}

const MARAC: Spec = Spec {
    name: "Riverside MARAC",
    kind: "marac",
    instrument: "dash",
    chair: "dev.patel",
    members: &[
        ("Metropolitan Police, Riverside", "daniel.reid"),
        ("Riverside IDVA Service", "chloe.evans"),
        ("Riverside Children's Social Care", "helen.adeyemi"),
        ("Riverside Homes", "kwame.asante"),
        ("Riverside Health Partnership", "fiona.byrne"),
        ("Safe Haven Refuge", "olivia.grant"),
        ("Turning Point Riverside", "nadia.rahman"),
    ],
};

const MACE: Spec = Spec {
    name: "Riverside MACE",
    kind: "mace",
    instrument: "yv-screening",
    chair: "helen.adeyemi",
    members: &[
        ("Metropolitan Police, Riverside", "daniel.reid"),
        ("Riverside Children's Social Care", "helen.adeyemi"),
        ("Riverside Council Early Help and Outreach", "amara.okafor"),
        ("Northgate Academy", "priya.shah"),
        ("Westway Youth Club", "jordan.blake"),
    ],
};

/// Adds both demo panels. Returns the number of panel referrals made.
pub async fn seed_panels(store: &Store, domain: &str) -> anyhow::Result<usize> {
    let app = App::new(store.clone(), pathways_app::Settings::default());
    let grace = user(store, &format!("grace.mensah@{domain}")).await?;
    let mut made = 0;
    for spec in [MARAC, MACE] {
        made += seed_panel(&app, store, &grace, &spec, domain).await?;
    }
    Ok(made)
}

async fn seed_panel(
    app: &App,
    store: &Store,
    grace: &User,
    spec: &Spec,
    domain: &str,
) -> anyhow::Result<usize> {
    use pathways_domain::AuditAction as A;
    let coordinator = caller(grace);
    let chair = user(store, &format!("{}@{domain}", spec.chair)).await?;
    let now = now_unix();
    let panel_id = uc::create_panel(
        app,
        &coordinator,
        &uc::PanelInput {
            name: spec.name.into(),
            kind: spec.kind.into(),
            area: "Riverside".into(),
            chair_id: chair.id.clone(),
            every_weeks: "2".into(),
            weekday: "1".into(),
            meeting_time: "10:00".into(),
            anchor_date: "2026-01-06".into(),
            ..uc::PanelInput::default()
        },
    )
    .await?;
    for (agency, contact) in spec.members {
        let agency_id = store
            .agency_by_name(agency)
            .await?
            .with_context(|| format!("demo agency {agency} is missing"))?
            .id;
        let contact = user(store, &format!("{contact}@{domain}")).await?;
        uc::add_member(app, &coordinator, &panel_id, &agency_id, &contact.id).await?;
    }
    let facts = store.panel_facts(&panel_id).await?;
    let panel_cap = proof(
        &facts,
        &coordinator,
        PanelAction::Manage,
        PanelId::new(panel_id.clone()),
    )?;
    let cases = store.cases_assessed_with(spec.instrument).await?;
    anyhow::ensure!(
        cases.len() >= 6,
        "the demo needs six assessed cases for {}",
        spec.name
    );
    let police = store
        .agency_by_name("Metropolitan Police, Riverside")
        .await?
        .context("police agency")?
        .id;
    let idva = store
        .agency_by_name(spec.members[1].0)
        .await?
        .context("member agency")?
        .id;
    let owners = [
        user(store, &format!("{}@{domain}", spec.members[1].1)).await?,
        user(store, &format!("{}@{domain}", spec.members[2].1)).await?,
    ];
    let mut made = 0;
    // Two past meetings, eight and four weeks ago, each with three cases.
    let mut earlier: Vec<String> = Vec::new();
    for (round, weeks) in [(0usize, 8i64), (1, 4)] {
        let held = now - weeks * 7 * DAY;
        let meeting = write(
            store,
            &coordinator,
            A::PanelMeetingCreate,
            &panel_id,
            async |tx| {
                tx.create_meeting(&panel_cap, held, MeetingKind::Scheduled, &grace.id)
                    .await
            },
        )
        .await?;
        let mut referrals = Vec::new();
        // The second meeting hears a new incident about a person from the first: a repeat.
        let listed: Vec<&(String, String, String)> = if round == 0 {
            cases.iter().take(3).collect()
        } else {
            vec![&cases[3], &cases[4], &cases[1]]
        };
        for (n, (case, person, risk)) in listed.into_iter().enumerate() {
            let referred_at = held - (10 + n as i64) * DAY;
            let r = write(store, &coordinator, A::PanelReferral, &panel_id, async |tx| {
                tx.create_panel_referral(
                    ReferralProof::Panel(&panel_cap),
                    &NewPanelReferral {
                        panel_id: panel_id.clone(),
                        subject_kind: SubjectKind::Person,
                        subject_label: String::new(),
                        person_id: Some(person.clone()),
                        case_id: Some(case.clone()),
                        referral_id: None,
                        source: ReferralSource::Case,
                        other_area: String::new(),
                        referring_agency_id: if n == 0 { police.clone() } else { idva.clone() },
                        referred_by: grace.id.clone(),
                        referred_at,
                        risk_level: risk.clone(),
                        eligibility: serde_json::json!({"summary": "Referred by the case team", "criteria": []}).to_string(),
                        reason: "High risk after a recent incident".into(),
                        children: (n as i64 + round as i64) % 3,
                        perpetrator: "Named in the case file".into(),
                        accepted: true,
                        new_person: None,
                    },
                )
                .await
            })
            .await?;
            referrals.push(r.id);
            made += 1;
        }
        // A returning case with open actions from the first meeting joins the second.
        if round == 1 {
            referrals.extend(earlier.iter().take(1).cloned());
        }
        let mut mfacts = facts.clone();
        mfacts.window = None;
        let mcap = proof(
            &mfacts,
            &coordinator,
            PanelAction::Manage,
            MeetingId::new(meeting.clone()),
        )?;
        let items: Vec<NewItem> = referrals
            .iter()
            .map(|r| NewItem {
                referral_id: r.clone(),
                minutes_allowed: 15,
                returning: earlier.contains(r),
            })
            .collect();
        write(
            store,
            &coordinator,
            A::PanelAgendaBuild,
            &meeting,
            async |tx| tx.set_agenda(&mcap, &items).await,
        )
        .await?;
        write(
            store,
            &coordinator,
            A::PanelAgendaPublish,
            &meeting,
            async |tx| {
                tx.publish_agenda(
                    &mcap,
                    held + 2 * DAY,
                    &format!("The agenda of {} is published.", spec.name),
                    &format!("/panels/meetings/{meeting}"),
                )
                .await
            },
        )
        .await?;
        let members = store.panel_members(&panel_id).await?;
        for (k, item) in store.items(&meeting).await?.into_iter().enumerate() {
            let no_actions = k == 2;
            if !no_actions {
                for (j, owner) in owners.iter().enumerate() {
                    // First meeting: one action done, one overdue; second: both still due.
                    let due = if round == 0 {
                        held + (14 + 7 * j as i64) * DAY
                    } else {
                        now + (7 + j as i64) * DAY
                    };
                    let action = write(
                        store,
                        &coordinator,
                        A::PanelActionAdd,
                        &meeting,
                        async |tx| {
                            tx.add_panel_action(
                                &mcap,
                                &NewAction {
                                    item_id: item.id.clone(),
                                    agency_id: owner.agency_id.clone(),
                                    owner_id: owner.id.clone(),
                                    title: if j == 0 {
                                        "Review the safety plan with the victim"
                                    } else {
                                        "Check school attendance and share concerns"
                                    }
                                    .into(),
                                    due_at: due,
                                    by: grace.id.clone(),
                                },
                            )
                            .await
                        },
                    )
                    .await?;
                    if round == 0 && j == 0 {
                        let mut afacts = facts.clone();
                        afacts.action_owner = Some(owner.id.clone());
                        let acap = proof(
                            &afacts,
                            &coordinator,
                            PanelAction::ChangeAction,
                            PanelActionId::new(action.clone()),
                        )?;
                        write(
                            store,
                            &coordinator,
                            A::PanelActionChange,
                            &action,
                            async |tx| {
                                tx.change_panel_action(&acap, ActionStatus::Done, "", &owner.id)
                                    .await
                            },
                        )
                        .await?;
                    }
                }
            }
            let shared: Vec<(String, String)> = members
                .iter()
                .take(3)
                .map(|m| {
                    (
                        m.agency_id.clone(),
                        format!("{} shared what it holds.", m.agency_name),
                    )
                })
                .collect();
            write(
                store,
                &coordinator,
                A::PanelMeetingRecord,
                &meeting,
                async |tx| {
                    tx.record_discussion(
                        &mcap,
                        &Discussion {
                            item_id: item.id.clone(),
                            shared: shared.clone(),
                            risks: "Escalating controlling behaviour; children present at incidents."
                                .into(),
                            minutes:
                                "The panel agreed a safety plan and information sharing with the school."
                                    .into(),
                            no_actions_reason: if no_actions {
                                "Already fully supported by the IDVA; no further actions."
                            } else {
                                ""
                            }
                            .into(),
                            by: chair.id.clone(),
                        },
                    )
                    .await
                },
            )
            .await?;
        }
        earlier = referrals;
    }
    // Next week's meeting: three new cases and a repeat, agenda published, research begun.
    let next = now + 7 * DAY;
    let meeting = uc::call_meeting(
        app,
        &coordinator,
        &panel_id,
        &uc::MeetingInput {
            kind: "ad_hoc".into(),
            held_at: format_datetime_local(next),
            referral_id: String::new(),
        },
    )
    .await?;
    // The first case of the first meeting comes back: a repeat within 12 months.
    let mut new_cases: Vec<&(String, String, String)> = cases.iter().skip(6).take(2).collect();
    new_cases.push(&cases[0]);
    for (case, _, _) in new_cases {
        let case_row = store.case(case).await?;
        let lead = caller(&store.user(&case_row.lead_worker_id).await?);
        let referral = uc::refer_from_case(
            app,
            &lead,
            &pathways_domain::ids::CaseId::new(case.clone()),
            &uc::CaseReferralInput {
                panel_id: panel_id.clone(),
                reason: "New incident reported by the police this week".into(),
                children: "2".into(),
                perpetrator: "Named in the case file".into(),
                bme: "yes".into(),
                male: "no".into(),
                ..uc::CaseReferralInput::default()
            },
        )
        .await?;
        uc::decide_referral(
            app,
            &coordinator,
            &referral,
            &uc::DecisionInput {
                decision: "accept".into(),
                reason: String::new(),
            },
        )
        .await?;
        made += 1;
    }
    uc::build_agenda(app, &coordinator, &meeting).await?;
    uc::publish_agenda(app, &coordinator, &meeting).await?;
    // One member agency has begun its research.
    let researcher = owners[0].clone();
    if let Some(item) = store.items(&meeting).await?.first() {
        for (subject, holds, detail) in [
            (
                "victim",
                "holds",
                "Two contacts with the IDVA service this year; engaged.",
            ),
            ("perpetrator", "nothing_held", ""),
        ] {
            uc::record_research(
                app,
                &caller(&researcher),
                &meeting,
                &uc::ResearchInput {
                    item_id: item.id.clone(),
                    subject: subject.into(),
                    holds: holds.into(),
                    detail: detail.into(),
                },
            )
            .await?;
        }
    }
    // A referral waiting for the coordinator.
    if let Some((case, _, _)) = cases.get(8) {
        let case_row = store.case(case).await?;
        let lead = caller(&store.user(&case_row.lead_worker_id).await?);
        uc::refer_from_case(
            app,
            &lead,
            &pathways_domain::ids::CaseId::new(case.clone()),
            &uc::CaseReferralInput {
                panel_id: panel_id.clone(),
                reason: "Worker's professional judgement after a disclosure".into(),
                ..uc::CaseReferralInput::default()
            },
        )
        .await?;
        made += 1;
    }
    Ok(made)
}
