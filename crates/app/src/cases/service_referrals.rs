//! Referrals from a case to a service: the form with consent or a lawful basis, the
//! receiving agency's incoming list, the workflow (sent → accepted / declined → started →
//! completed / disengaged), and a consortium hub's allocation to a member.

use pathways_domain::access::{Action, authorize, decide};
use pathways_domain::cases::{Consent, ServiceReferralStatus, TransitionError, transition};
use pathways_domain::ids::{CaseId, ServiceReferralId};
use pathways_domain::{AgencyKind, AuditAction, Permission, RecordFacts};
use pathways_store::cases::{NewServiceReferral, ReferralEvent, ServiceReferral};
use pathways_store::now_unix;

use super::for_edit;
use crate::{App, Caller, Error, FieldError, Fields, RecordKind, Result, commit};

/// Service categories a case can refer to.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("substance_misuse", "Substance misuse"),
    ("mental_health", "Mental health"),
    ("talking_therapies", "Talking therapies"),
    ("employability", "Employability"),
    ("family_support", "Family support"),
    ("sport", "Sport"),
    ("vawg_support", "VAWG support"),
];

/// The label of a category key.
pub fn category_label(key: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| *l)
        .unwrap_or("Other")
}

/// Lawful bases for sharing without consent.
pub const LAWFUL_BASES: &[(&str, &str)] = &[
    ("safeguarding", "Safeguarding a child or adult at risk"),
    ("prevention_of_crime", "Prevention or detection of crime"),
    ("vital_interests", "Vital interests (risk to life)"),
    ("public_task", "Public task under a statutory duty"),
];

/// What the referral form offers for a case.
#[derive(Debug, Clone)]
pub struct ReferralForm {
    /// Case id.
    pub case_id: String,
    /// Case reference.
    pub reference: String,
    /// Agencies that may receive it (consortium hubs marked as such).
    pub agencies: Vec<(String, String)>,
}

/// The data of the referral form for a case the caller may change.
pub async fn refer_form(app: &App, caller: &Caller, case_id: &CaseId) -> Result<ReferralForm> {
    let opened = for_edit(app, caller, case_id).await?;
    let agencies = app
        .store()
        .list_agencies()
        .await?
        .into_iter()
        .filter(|a| a.archived_at.is_none())
        .map(|a| {
            let label = if a.kind == AgencyKind::ConsortiumHub {
                format!("{} (consortium)", a.name)
            } else {
                a.name
            };
            (a.id, label)
        })
        .collect();
    Ok(ReferralForm {
        case_id: opened.case.id,
        reference: opened.case.reference,
        agencies,
    })
}

/// A service referral as typed.
#[derive(Debug, Clone, Default)]
pub struct ServiceReferralInput {
    /// Category key.
    pub category: String,
    /// The service's name.
    pub service_name: String,
    /// A directory service id, or empty for a service not listed.
    pub service_id: String,
    /// The receiving agency.
    pub to_agency_id: String,
    /// Why the person is referred.
    pub reason: String,
    /// Consent key.
    pub consent: String,
    /// Lawful basis key when sharing without consent.
    pub lawful_basis: String,
    /// Why sharing without consent is necessary and lawful.
    pub share_reason: String,
    /// The information-sharing agreement relied on.
    pub sharing_agreement: String,
}

/// Checks the referral form: a service, a receiving agency, a reason, and consent or a
/// lawful basis with a reason (and the information-sharing agreement relied on).
fn check(
    input: &ServiceReferralInput,
    sender: &str,
    agencies: &[(String, String)],
) -> std::result::Result<NewServiceReferral, Vec<FieldError>> {
    let mut f = Fields::new();
    let category = input.category.trim();
    f.check(
        !CATEGORIES.iter().any(|(k, _)| *k == category),
        "category",
        "Choose the kind of service",
    );
    let service_name = f.required(
        &input.service_name,
        "service_name",
        "Enter the name of the service",
    );
    let to = input.to_agency_id.trim();
    f.check(
        !agencies.iter().any(|(id, _)| id == to),
        "to_agency_id",
        "Choose the organisation that runs the service",
    );
    let reason = f.required(
        &input.reason,
        "reason",
        "Enter why you are referring the person",
    );
    let consent = Consent::parse(input.consent.trim()).ok();
    let (basis, share_reason) = (input.lawful_basis.trim(), input.share_reason.trim());
    match consent {
        None => f.add(
            "consent",
            "Say whether the person consented to the referral",
        ),
        Some(Consent::Given) => {}
        Some(_) => {
            f.check(
                !LAWFUL_BASES.iter().any(|(k, _)| *k == basis),
                "lawful_basis",
                "Without consent, choose the lawful basis for sharing (safeguarding, prevention of crime ...)",
            );
            f.check(
                share_reason.chars().count() < 15,
                "share_reason",
                "Without consent, explain in at least 15 characters why sharing is necessary and lawful",
            );
        }
    }
    if let Err(Error::Invalid(errors)) = f.finish() {
        return Err(errors);
    }
    let service_id = match input.service_id.trim() {
        "" => format!(
            "unlisted:{}",
            service_name
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("-")
        ),
        id => id.to_string(),
    };
    let consent = consent.unwrap_or(Consent::Given);
    let given = consent == Consent::Given;
    Ok(NewServiceReferral {
        service_id,
        service_name: service_name.into(),
        category: category.into(),
        to_agency_id: to.into(),
        consent,
        lawful_basis: if given { String::new() } else { basis.into() },
        share_reason: if given {
            String::new()
        } else {
            share_reason.into()
        },
        sharing_agreement: input.sharing_agreement.trim().into(),
        reason: reason.into(),
        sent_by: sender.into(),
    })
}

/// Sends a referral from a case; the receiving agency is told in-app in the same
/// transaction, and sharing without consent is audited as such with its basis and reason.
pub async fn send_referral(
    app: &App,
    caller: &Caller,
    case_id: &CaseId,
    input: &ServiceReferralInput,
) -> Result<ServiceReferralId> {
    let opened = for_edit(app, caller, case_id).await?;
    let agencies: Vec<(String, String)> = app
        .store()
        .list_agencies()
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let new = check(input, caller.user_id(), &agencies).map_err(Error::Invalid)?;
    let mut tx = app.write().await?;
    let id = tx.create_service_referral(&opened.cap, &new).await?;
    let mut event = caller.event(
        AuditAction::ServiceReferralSend,
        RecordKind::ServiceReferral,
        &id,
    );
    if new.consent != Consent::Given {
        event.action = AuditAction::ShareWithoutConsent.key().into();
        event.reason = format!("{}: {}", new.lawful_basis, new.share_reason);
    }
    commit(tx, &event).await?;
    Ok(ServiceReferralId::new(id))
}

/// A referral as the receiving agency's list shows it.
pub type IncomingReferral = ServiceReferral;

/// Referrals the caller's agency receives, for its case workers (audited).
pub async fn incoming(app: &App, caller: &Caller) -> Result<Vec<IncomingReferral>> {
    caller.permit(Permission::WorkCases)?;
    let list = app
        .store()
        .incoming_service_referrals(&caller.actor.agency_id)
        .await?;
    app.audit(caller.event(
        AuditAction::ServiceReferralsView,
        RecordKind::Other("agency"),
        &caller.actor.agency_id,
    ))
    .await?;
    Ok(list)
}

/// What the caller may do with a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights {
    /// May see it.
    pub view: bool,
    /// May move its status.
    pub update: bool,
    /// May allocate it to a consortium member.
    pub allocate: bool,
    /// Sits on the referring case's team (sees the case link).
    pub case_team: bool,
}

/// The facts the access policy decides a referral's changes on: the agency working it now
/// (the allocated member, otherwise the receiving agency) is its team.
fn referral_facts(r: &ServiceReferral) -> RecordFacts {
    RecordFacts {
        team_agencies: vec![
            r.allocated_agency_id
                .clone()
                .unwrap_or_else(|| r.to_agency_id.clone()),
        ],
        ..RecordFacts::default()
    }
}

/// Who may do what: the case workers of the receiving agency (or, for a consortium, of the
/// hub until it allocates and of the allocated member after), and the referring case's team
/// (view only). Other roles in the receiving agency have no part in the referral.
async fn rights(app: &App, caller: &Caller, r: &ServiceReferral) -> Result<(Rights, bool)> {
    let now = now_unix();
    let hub = app.store().agency(&r.to_agency_id).await?.kind == AgencyKind::ConsortiumHub;
    let works_it = decide(&caller.actor, Action::Edit, &referral_facts(r), now).allowed();
    let unallocated = r.allocated_agency_id.is_none();
    let case = app.store().case_facts(&r.case_id).await?;
    let case_team = decide(&caller.actor, Action::ViewRecord, &case, now).allowed();
    let hub_sees =
        hub && caller.may(Permission::WorkCases) && caller.actor.agency_id == r.to_agency_id;
    Ok((
        Rights {
            view: works_it || hub_sees || case_team,
            update: works_it && !(hub && unallocated),
            allocate: works_it && hub && unallocated,
            case_team,
        },
        hub,
    ))
}

/// A referral as its page shows it.
#[derive(Debug, Clone)]
pub struct ServiceReferralView {
    /// The referral.
    pub referral: ServiceReferral,
    /// Who is referred: name and date of birth, or whom to contact for a restricted record.
    pub person: String,
    /// Its history.
    pub events: Vec<ReferralEvent>,
    /// What the caller may do.
    pub rights: Rights,
    /// The statuses the caller may move it to.
    pub next: Vec<ServiceReferralStatus>,
    /// Consortium members it may be allocated to (for the hub).
    pub members: Vec<(String, String)>,
}

/// A referral for those with a part in it; the read (or refusal) is audited.
pub async fn service_referral(
    app: &App,
    caller: &Caller,
    id: &ServiceReferralId,
) -> Result<ServiceReferralView> {
    let store = app.store();
    let r = store.service_referral(id.as_str()).await?;
    let (rights, _) = rights(app, caller, &r).await?;
    if !rights.view {
        app.audit(caller.refused(
            AuditAction::ServiceReferralRead,
            RecordKind::ServiceReferral,
            id.as_str(),
        ))
        .await?;
        return Err(Error::NotFound);
    }
    app.audit(caller.event(
        AuditAction::ServiceReferralRead,
        RecordKind::ServiceReferral,
        id.as_str(),
    ))
    .await?;
    let case = store.case(&r.case_id).await?;
    let person = store.person(&case.person_id).await?;
    // The service learns who is referred; a restricted record shows only whom to contact.
    let facts = store.case_facts(&r.case_id).await?;
    let person = match &facts.restriction {
        Some(res) if !res.access_list.contains(&caller.actor.user_id) => {
            format!("Restricted record: contact {} for details", res.contact)
        }
        _ => format!(
            "{} {}{}",
            person.details.first_name,
            person.details.surname,
            person
                .details
                .dob
                .as_deref()
                .map(|d| format!(", born {d}"))
                .unwrap_or_default()
        ),
    };
    let members = if rights.allocate {
        store.consortium_members(&r.to_agency_id).await?
    } else {
        Vec::new()
    };
    let next = if rights.update {
        r.status.next().to_vec()
    } else {
        Vec::new()
    };
    Ok(ServiceReferralView {
        events: store.service_referral_events(id.as_str()).await?,
        referral: r,
        person,
        rights,
        next,
        members,
    })
}

/// Moves a referral along the workflow. Only the agency working it may; a jump that skips a
/// step, or a decline or disengagement without a reason, is refused with what is allowed.
pub async fn move_referral(
    app: &App,
    caller: &Caller,
    id: &ServiceReferralId,
    to: &str,
    from: &str,
    reason: &str,
) -> Result<()> {
    let r = app.store().service_referral(id.as_str()).await?;
    let (rights, _) = rights(app, caller, &r).await?;
    if !rights.update {
        return Err(Error::Forbidden(
            "only the receiving service updates a referral".into(),
        ));
    }
    let to = ServiceReferralStatus::parse(to.trim())
        .map_err(|_| Error::invalid("status", "Choose the referral's new status"))?;
    let from = ServiceReferralStatus::parse(from.trim()).unwrap_or(r.status);
    let reason = reason.trim();
    if let Err(e) = transition(from, to, reason) {
        let target = if matches!(e, TransitionError::ReasonRequired(_)) {
            "reason"
        } else {
            "status"
        };
        return Err(Error::invalid(target, crate::sentence(&e.to_string())));
    }
    let cap = authorize(
        &caller.actor,
        Action::Edit,
        &referral_facts(&r),
        now_unix(),
        id.clone(),
    )
    .map_err(Error::denied)?;
    let mut tx = app.write().await?;
    tx.set_service_referral_status(&cap, from, to, reason, caller.user_id())
        .await
        .map_err(|e| match e {
            pathways_store::StoreError::Conflict(m) => {
                Error::invalid("status", crate::sentence(&m))
            }
            other => other.into(),
        })?;
    let mut event = caller.event(
        AuditAction::ServiceReferralStatus,
        RecordKind::ServiceReferral,
        id.as_str(),
    );
    event.reason = format!("{} -> {}", from.key(), to.key());
    commit(tx, &event).await
}

/// A consortium hub allocates a referral to one of its member organisations.
pub async fn allocate(
    app: &App,
    caller: &Caller,
    id: &ServiceReferralId,
    member: &str,
) -> Result<()> {
    caller.permit(Permission::WorkCases)?;
    let r = app.store().service_referral(id.as_str()).await?;
    let (rights, _) = rights(app, caller, &r).await?;
    if !rights.allocate {
        return Err(Error::Forbidden("only the consortium hub allocates".into()));
    }
    let cap = authorize(
        &caller.actor,
        Action::Edit,
        &referral_facts(&r),
        now_unix(),
        id.clone(),
    )
    .map_err(Error::denied)?;
    let mut tx = app.write().await?;
    tx.allocate_service_referral(&cap, member.trim(), caller.user_id())
        .await
        .map_err(|e| match e {
            pathways_store::StoreError::Conflict(m) => {
                Error::invalid("member_agency_id", crate::sentence(&m))
            }
            other => other.into(),
        })?;
    commit(
        tx,
        &caller.event(
            AuditAction::ServiceReferralAllocate,
            RecordKind::ServiceReferral,
            id.as_str(),
        ),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> ServiceReferralInput {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        ServiceReferralInput {
            category: get("category"),
            service_name: get("service_name"),
            service_id: get("service_id"),
            to_agency_id: get("to_agency_id"),
            reason: get("reason"),
            consent: get("consent"),
            lawful_basis: get("lawful_basis"),
            share_reason: get("share_reason"),
            sharing_agreement: get("sharing_agreement"),
        }
    }

    #[test]
    fn sharing_without_consent_needs_a_basis_and_a_reason() {
        let agencies = vec![("a1".to_string(), "Turning Point".to_string())];
        let base = [
            ("category", "substance_misuse"),
            ("service_name", "Drug and alcohol service"),
            ("to_agency_id", "a1"),
            ("reason", "Daily cannabis use"),
        ];
        let mut pairs = base.to_vec();
        pairs.push(("consent", "refused"));
        let errors = check(&input(&pairs), "u", &agencies).expect_err("refused");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["lawful_basis", "share_reason"]);
        pairs.push(("lawful_basis", "safeguarding"));
        pairs.push((
            "share_reason",
            "Child at risk of exploitation by a county line",
        ));
        let ok = check(&input(&pairs), "u", &agencies).expect("lawful");
        assert_eq!(ok.consent, Consent::Refused);
        assert_eq!(ok.service_id, "unlisted:drug-and-alcohol-service");
        let mut given = base.to_vec();
        given.push(("consent", "given"));
        given.push(("lawful_basis", "safeguarding"));
        let ok = check(&input(&given), "u", &agencies).expect("consent");
        assert_eq!(
            ok.lawful_basis, "",
            "no basis is recorded when consent was given"
        );
    }

    #[test]
    fn every_missing_field_is_reported() {
        let errors = check(&ServiceReferralInput::default(), "u", &[]).expect_err("empty");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "category",
                "service_name",
                "to_agency_id",
                "reason",
                "consent"
            ]
        );
    }
}
