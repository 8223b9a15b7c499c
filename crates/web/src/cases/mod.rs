//! Cases: caseload lists, the case page and its forms, risk assessments, documents, service
//! referrals, break-glass, CSV export and the JSON API. Each handler reads its input, calls
//! one use case of `pathways_app::cases`, and renders the answer.

mod api;
mod documents;
mod pages;
mod referrals;
mod risk;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use pathways_domain::AuditAction as A;
use pathways_domain::Permission::{TriageReferrals, WorkCases};

use crate::routes::{Guard, Route, Verb};

const WORKS: Guard = Guard::Permission(WorkCases);

/// Every route of the cases module.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        verb: Verb::Get,
        path: "/cases",
        guard: WORKS,
        audit: &[A::CaseloadView],
        summary: "caseload tabs, filters and search",
        handler: || get(pages::caseload),
    },
    Route {
        verb: Verb::Get,
        path: "/cases/export.csv",
        guard: WORKS,
        audit: &[A::CaseExport],
        summary: "the caseload as CSV",
        handler: || get(api::export_csv),
    },
    Route {
        verb: Verb::Get,
        path: "/cases/new",
        guard: WORKS,
        audit: &[],
        summary: "referrals waiting for a case",
        handler: || get(pages::new_case_form),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/new",
        guard: WORKS,
        audit: &[A::CaseOpen],
        summary: "open a case",
        handler: || post(pages::open_case),
    },
    Route {
        verb: Verb::Get,
        path: "/cases/{id}",
        guard: WORKS,
        audit: &[A::CaseRead],
        summary: "the case page",
        handler: || get(pages::case_page),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/entries",
        guard: WORKS,
        audit: &[A::CaseEntryAdd],
        summary: "add a note, contact, street contact or event",
        handler: || post(pages::add_entry),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/tasks",
        guard: WORKS,
        audit: &[A::CaseTaskAdd],
        summary: "add a task",
        handler: || post(pages::add_task),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/tasks/{task}/done",
        guard: WORKS,
        audit: &[A::CaseTaskDone],
        summary: "complete a task",
        handler: || post(pages::complete_task),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/goals",
        guard: WORKS,
        audit: &[A::CasePlanEdit],
        summary: "add a plan goal",
        handler: || post(pages::add_goal),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/goals/{goal}",
        guard: WORKS,
        audit: &[A::CasePlanEdit],
        summary: "mark a goal achieved or dropped",
        handler: || post(pages::goal_status),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/reviews",
        guard: WORKS,
        audit: &[A::CaseReviewSchedule],
        summary: "schedule a review",
        handler: || post(pages::schedule_review),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/reviews/{review}",
        guard: WORKS,
        audit: &[A::CaseReviewHeld],
        summary: "record a review",
        handler: || post(pages::hold_review),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/team",
        guard: WORKS,
        audit: &[A::CaseTeamChange],
        summary: "add to the team or hand over the lead",
        handler: || post(pages::add_member),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/status",
        guard: WORKS,
        audit: &[A::CaseStatus],
        summary: "put on hold or reopen",
        handler: || post(pages::set_status),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/close",
        guard: WORKS,
        audit: &[A::CaseClose],
        summary: "close with outcome measures",
        handler: || post(pages::close_case),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/restriction",
        guard: WORKS,
        audit: &[A::AccessList],
        summary: "restrict the person's records or change the list",
        handler: || post(pages::restriction),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/address-restriction",
        guard: WORKS,
        audit: &[A::AddressAccessList],
        summary: "restrict the current address or change its list",
        handler: || post(pages::address_restriction),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/break-glass",
        guard: Guard::Permission(pathways_domain::Permission::BreakGlass),
        audit: &[A::BreakGlass],
        summary: "open a restricted case in an emergency",
        handler: || post(pages::break_glass),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/documents",
        guard: WORKS,
        audit: &[A::DocumentUpload],
        summary: "upload a document",
        handler: || {
            post(documents::upload).layer(DefaultBodyLimit::max(
                pathways_domain::documents::MAX_BYTES + 64 * 1024,
            ))
        },
    },
    Route {
        verb: Verb::Get,
        path: "/cases/{id}/documents/{doc}",
        guard: WORKS,
        audit: &[A::DocumentRead],
        summary: "download a document",
        handler: || get(documents::download),
    },
    Route {
        verb: Verb::Get,
        path: "/cases/{id}/assess/{instrument}",
        guard: WORKS,
        audit: &[],
        summary: "a risk assessment form",
        handler: || get(risk::form),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/assess/{instrument}",
        guard: WORKS,
        audit: &[A::RiskAssessment],
        summary: "score and record a risk assessment",
        handler: || post(risk::submit),
    },
    Route {
        verb: Verb::Get,
        path: "/cases/{id}/refer",
        guard: WORKS,
        audit: &[],
        summary: "the service referral form",
        handler: || get(referrals::form),
    },
    Route {
        verb: Verb::Post,
        path: "/cases/{id}/refer",
        guard: WORKS,
        audit: &[A::ServiceReferralSend, A::ShareWithoutConsent],
        summary: "refer to a service",
        handler: || post(referrals::send),
    },
    Route {
        verb: Verb::Get,
        path: "/service-referrals",
        guard: WORKS,
        audit: &[A::ServiceReferralsView],
        summary: "referrals the user's agency receives",
        handler: || get(referrals::incoming),
    },
    Route {
        verb: Verb::Get,
        path: "/service-referrals/{id}",
        guard: WORKS,
        audit: &[A::ServiceReferralRead],
        summary: "one service referral",
        handler: || get(referrals::show),
    },
    Route {
        verb: Verb::Post,
        path: "/service-referrals/{id}/status",
        guard: WORKS,
        audit: &[A::ServiceReferralStatus],
        summary: "move a service referral along its workflow",
        handler: || post(referrals::set_status),
    },
    Route {
        verb: Verb::Post,
        path: "/service-referrals/{id}/allocate",
        guard: WORKS,
        audit: &[A::ServiceReferralAllocate],
        summary: "allocate to a consortium member",
        handler: || post(referrals::allocate),
    },
    Route {
        verb: Verb::Post,
        path: "/api/v1/instruments/{instrument}/score",
        guard: Guard::AnyApiScope(&[WorkCases, TriageReferrals]),
        audit: &[A::RiskScoreApi],
        summary: "score risk instrument answers (JSON)",
        handler: || post(risk::api_score),
    },
    Route {
        verb: Verb::Get,
        path: "/api/v1/cases",
        guard: Guard::ApiScope(WorkCases),
        audit: &[A::CaseListApi],
        summary: "the caller's caseload (JSON)",
        handler: || get(api::list),
    },
    Route {
        verb: Verb::Get,
        path: "/api/v1/cases/{id}",
        guard: Guard::ApiScope(WorkCases),
        audit: &[A::CaseReadApi],
        summary: "one case (JSON)",
        handler: || get(api::show),
    },
];
