//! The route matrix of every module outside administration: cases, service referrals,
//! referrals and triage, people, the directory (editor pages, public pages, the ORUK API),
//! insight, sign-in and accounts, and the public pages, assets and operational endpoints.
//!
//! [`ROWS`] lists each route with the exact status every caller must get: an anonymous
//! caller (no cookie at all), a visitor (the pre-sign-in cookie and its CSRF token, as the
//! sign-in page hands out), a signed-in member of staff for each role in `Role::ALL`, each in
//! an agency of their own, and, on `/api/` and `/oruk` routes, a partner system's API token.
//! Record-bound routes are walked twice where the outcome differs: on a record the caller
//! has no part in (a case of another agency's team) and on one they are involved in (a case
//! they lead, a referral they made, a service referral their agency receives). POSTs carry
//! a valid sample body and the caller's CSRF token, so a caller the policy allows really
//! changes something, and rows run in table order on one database.
//!
//! [`every_registered_route_has_a_matrix_row`] reads the router's source and fails, naming
//! the route, when a route is registered that has no row here (administration routes are
//! walked from `admin::ROUTES` by `matrix.rs`), or when a row names a route that no longer
//! exists.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use pathways_app::crypto;
use pathways_directory::TermSet;
use pathways_directory::generate::{GenerateOptions, generate};
use pathways_domain::cases::Consent;
use pathways_domain::{AgencyKind, Permission, Role, RoleSet};
use pathways_store::cases::{NewCase, NewServiceReferral};
use pathways_store::people::{PersonDetails, SafeContact};
use pathways_store::referrals::{DecisionInput, NewReferral};
use pathways_store::{NewUser, Store, User, now_unix};
use pathways_web::admin::ROUTES;
use pathways_web::routes::Verb;
use reqwest::Client;
use reqwest::redirect::Policy;

use crate::support::{App, location, set_cookie};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// What a request carries besides its URL.
#[derive(Debug, Clone, Copy)]
enum Body {
    /// Nothing (GET).
    None,
    /// An `application/x-www-form-urlencoded` body; the caller's CSRF token is appended.
    Form(&'static str),
    /// A JSON body; the caller's CSRF token goes in `X-CSRF-Token`.
    Json(&'static str),
    /// A multipart upload of a small text document; the CSRF token goes in the query string.
    Document,
}

/// Not sent: API tokens are tried on `/api/` and `/oruk` routes only.
const NA: u16 = 0;

/// The callers, in the order of the `expect` columns of [`ROWS`].
const COLUMNS: [&str; 10] = [
    "anonymous",
    "visitor",
    "practitioner",
    "manager",
    "panel coordinator",
    "analyst",
    "directory editor",
    "administrator",
    "partner referrer",
    "API token",
];

/// One request of the matrix and the status each caller must get.
struct Row {
    method: Method,
    /// The path exactly as the router registers it.
    route: &'static str,
    /// The URL sent, with fixture placeholders such as `{own_case}`.
    url: &'static str,
    body: Body,
    /// Statuses for: anonymous, visitor, practitioner, manager, panel coordinator, analyst,
    /// directory editor, administrator, partner referrer, API token.
    expect: [u16; 10],
}

const fn get(route: &'static str, url: &'static str, expect: [u16; 10]) -> Row {
    Row {
        method: Method::Get,
        route,
        url,
        body: Body::None,
        expect,
    }
}

const fn post(route: &'static str, url: &'static str, body: Body, expect: [u16; 10]) -> Row {
    Row {
        method: Method::Post,
        route,
        url,
        body,
        expect,
    }
}

// Column legend for the rows below:
//   anon  vis  prac  mgr  panel anal  edit  admin partn token
// A visitor has a CSRF binding but no session: pages send them to sign in (303) even for a
// POST, where the anonymous caller is refused by the CSRF check first (403).

/// Signed-in staff only, whatever the role.
const STAFF_PAGE: [u16; 10] = [303, 303, 200, 200, 200, 200, 200, 200, 200, NA];
/// Holders of `WorkCases` (practitioner, manager, panel coordinator).
const WORK_CASES_PAGE: [u16; 10] = [303, 303, 200, 200, 200, 403, 403, 403, 403, NA];
/// Holders of `MakeReferral`.
const REFERRER_PAGE: [u16; 10] = [303, 303, 200, 200, 200, 403, 403, 403, 200, NA];
/// Holders of `MakeReferral`, submitting.
const REFERRER_POST: [u16; 10] = [403, 303, 303, 303, 303, 403, 403, 403, 303, NA];
/// Holders of `TriageReferrals` (managers), submitting; the change redirects.
const TRIAGE_POST: [u16; 10] = [403, 303, 403, 303, 403, 403, 403, 403, 403, NA];
/// Holders of `TriageReferrals`, submitting a person form that shows the person again.
const TRIAGE_PERSON_POST: [u16; 10] = [403, 303, 403, 200, 403, 403, 403, 403, 403, NA];
/// Holders of `EditDirectory`.
const EDITOR_PAGE: [u16; 10] = [303, 303, 403, 403, 403, 403, 200, 403, 403, NA];
/// Holders of `EditDirectory`, submitting.
const EDITOR_POST: [u16; 10] = [403, 303, 403, 403, 403, 403, 303, 403, 403, NA];
/// Holders of `ViewInsight` (managers, analysts).
const INSIGHT_PAGE: [u16; 10] = [303, 303, 403, 200, 403, 200, 403, 403, 403, NA];
/// Anyone at all, signed in or not.
const PUBLIC_PAGE: [u16; 10] = [200, 200, 200, 200, 200, 200, 200, 200, 200, NA];
/// Anyone at all, partner systems included (the open ORUK feed).
const PUBLIC_API: [u16; 10] = [200; 10];
/// A public form: everyone with a CSRF binding gets the answer page.
const PUBLIC_FORM: [u16; 10] = [403, 200, 200, 200, 200, 200, 200, 200, 200, NA];
/// A one-time link form: everyone with a CSRF binding sets the password and is redirected.
const LINK_FORM: [u16; 10] = [403, 303, 303, 303, 303, 303, 303, 303, 303, NA];

/// A case, referral or person the caller has no part in (another agency's): managers read
/// it borough-wide; everyone else, case workers outside the team included, may not know it
/// exists (404), by the same policy decision.
const UNRELATED_READ: [u16; 10] = [303, 303, 404, 200, 404, 404, 404, 404, 404, NA];
/// A case the caller leads (practitioner, manager, panel coordinator) or referred (partner
/// referrer: status and outcome only, so the file is refused with 403). Roles that cannot
/// be involved in a case are given the foreign case and get 404.
const OWN_CASE_READ: [u16; 10] = [303, 303, 200, 200, 200, 404, 404, 404, 403, NA];
/// A change to a case of another agency's team: `WorkCases` is checked first (403), then
/// the policy: managers read borough-wide but may not change (403), other case workers may
/// not know it exists (404).
const FOREIGN_CASE_EDIT: [u16; 10] = [403, 303, 404, 403, 404, 403, 403, 403, 403, NA];
/// A change to a case the caller is on the team of.
const OWN_CASE_EDIT: [u16; 10] = [403, 303, 303, 303, 303, 403, 403, 403, 403, NA];
/// Forms of a case (GET) for a foreign case.
const FOREIGN_CASE_FORM: [u16; 10] = [303, 303, 404, 403, 404, 403, 403, 403, 403, NA];
/// Forms of a case (GET) for the caller's own case.
const OWN_CASE_FORM: [u16; 10] = [303, 303, 200, 200, 200, 403, 403, 403, 403, NA];

/// Another coordinator's panel: the coordinator role may not know it (404); case workers
/// and everyone else lack the coordinator permission (403).
const FOREIGN_PANEL_PAGE: [u16; 10] = [303, 303, 403, 403, 404, 403, 403, 403, 403, NA];
/// A change to another coordinator's panel or meeting.
const FOREIGN_PANEL_POST: [u16; 10] = [403, 303, 403, 403, 404, 403, 403, 403, 403, NA];
/// A meeting no caller's agency sits on: case workers and coordinators get 404, roles
/// without case work 403.
const FOREIGN_MEETING_READ: [u16; 10] = [303, 303, 404, 404, 404, 403, 403, 403, 403, NA];
/// Research or an action change on such a meeting.
const FOREIGN_MEETING_POST: [u16; 10] = [403, 303, 404, 404, 404, 403, 403, 403, 403, NA];

/// Every route outside administration, in the order the requests are sent.
const ROWS: &[Row] = &[
    // ---------------------------------------------------------------- public and operational
    get("/", "/", PUBLIC_PAGE),
    get("/healthz", "/healthz", PUBLIC_PAGE),
    get("/readyz", "/readyz", PUBLIC_PAGE),
    // Metrics carry route templates and counts only, never personal data.
    get("/metrics", "/metrics", PUBLIC_PAGE),
    get("/assets/{file}", "{asset}", PUBLIC_PAGE),
    // ---------------------------------------------------------------- public directory
    get("/support", "/support", PUBLIC_PAGE),
    get("/support/", "/support/?need={need}", PUBLIC_PAGE),
    get(
        "/support/services/{id}",
        "/support/services/{svc_public}",
        PUBLIC_PAGE,
    ),
    get(
        "/support/staying-safe-online",
        "/support/staying-safe-online",
        PUBLIC_PAGE,
    ),
    // ---------------------------------------------------------------- ORUK open feed
    get("/oruk", "/oruk", PUBLIC_API),
    get("/oruk/", "/oruk/", PUBLIC_API),
    get("/oruk/openapi.json", "/oruk/openapi.json", PUBLIC_API),
    get("/api/v1/openapi.json", "/api/v1/openapi.json", PUBLIC_API),
    get("/oruk/services", "/oruk/services", PUBLIC_API),
    get(
        "/oruk/services/{id}",
        "/oruk/services/{oruk_service}",
        PUBLIC_API,
    ),
    get(
        "/oruk/service_at_locations",
        "/oruk/service_at_locations",
        PUBLIC_API,
    ),
    get(
        "/oruk/service_at_locations/{id}",
        "/oruk/service_at_locations/{oruk_sal}",
        PUBLIC_API,
    ),
    get("/oruk/taxonomies", "/oruk/taxonomies", PUBLIC_API),
    get(
        "/oruk/taxonomies/{id}",
        "/oruk/taxonomies/{oruk_taxonomy}",
        PUBLIC_API,
    ),
    get("/oruk/taxonomy_terms", "/oruk/taxonomy_terms", PUBLIC_API),
    get(
        "/oruk/taxonomy_terms/{id}",
        "/oruk/taxonomy_terms/{oruk_term}",
        PUBLIC_API,
    ),
    // Anything else under /oruk is a JSON 404 for everyone.
    get("/oruk/{*rest}", "/oruk/no-such-endpoint", [404; 10]),
    // ---------------------------------------------------------------- sign-in and accounts
    get("/login", "/login", PUBLIC_PAGE),
    // A wrong password: the form comes back with an error for everyone, and no caller's
    // session changes (signing in for real is in login.rs).
    post(
        "/login",
        "/login",
        Body::Form("email=nobody{unique}%40example.org&password=not-the-password"),
        PUBLIC_FORM,
    ),
    // Only a session part-way through sign-in (waiting for the TOTP code) gets this form;
    // everyone here is either signed out or fully signed in, so all go to the sign-in page.
    get(
        "/login/two-factor",
        "/login/two-factor",
        [303, 303, 303, 303, 303, 303, 303, 303, 303, NA],
    ),
    post(
        "/login/two-factor",
        "/login/two-factor",
        Body::Form("code=123456"),
        [403, 303, 303, 303, 303, 303, 303, 303, 303, NA],
    ),
    get("/account/two-factor", "/account/two-factor", STAFF_PAGE),
    // A signed-in user sets up an authenticator, re-entering their password: the recovery
    // codes page, and a new session id.
    post(
        "/account/two-factor",
        "/account/two-factor",
        Body::Form(
            "secret={totp_secret}&code={totp_code}&password=correct+horse+battery+staple+42",
        ),
        [403, 303, 200, 200, 200, 200, 200, 200, 200, NA],
    ),
    get("/password/forgot", "/password/forgot", PUBLIC_PAGE),
    // Throttled per client address; the throttle is cleared before each caller.
    post(
        "/password/forgot",
        "/password/forgot",
        Body::Form("email=nobody{unique}%40example.org"),
        PUBLIC_FORM,
    ),
    get(
        "/password/reset/{token}",
        "/password/reset/{reset_token_shared}",
        PUBLIC_PAGE,
    ),
    post(
        "/password/reset/{token}",
        "/password/reset/{reset_token}",
        Body::Form(
            "password=a+long+new+passphrase+{unique}&confirm=a+long+new+passphrase+{unique}",
        ),
        LINK_FORM,
    ),
    get(
        "/invite/{token}",
        "/invite/{invite_token_shared}",
        PUBLIC_PAGE,
    ),
    post(
        "/invite/{token}",
        "/invite/{invite_token}",
        Body::Form(
            "password=a+long+new+passphrase+{unique}&confirm=a+long+new+passphrase+{unique}",
        ),
        LINK_FORM,
    ),
    get("/dashboard", "/dashboard", STAFF_PAGE),
    // ---------------------------------------------------------------- referrals
    get("/referrals", "/referrals", REFERRER_PAGE),
    get("/referrals/mine", "/referrals/mine", REFERRER_PAGE),
    get("/referrals/new", "/referrals/new", REFERRER_PAGE),
    post(
        "/referrals/new",
        "/referrals/new",
        Body::Form(
            "person-first_name=Tayo&person-surname=Okorro&person-dob-day=4&person-dob-month=12\
             &person-dob-year=2010&concerns=criminal_exploitation&reason=Seen+with+older+youths\
             &urgency=standard&consent-status=given&referrer-name=Sam+Reid\
             &referrer-email=sam.reid%40example.org",
        ),
        REFERRER_POST,
    ),
    get(
        "/referrals/triage",
        "/referrals/triage",
        [303, 303, 403, 200, 403, 403, 403, 403, 403, NA],
    ),
    // A referral made by someone in another agency: triage (managers) reads it, nobody
    // else may know it exists.
    get(
        "/referrals/{reference}",
        "/referrals/{foreign_referral}",
        UNRELATED_READ,
    ),
    // A referral the caller made: referrers follow its status and outcome; roles that do
    // not make referrals are given the foreign referral.
    get(
        "/referrals/{reference}",
        "/referrals/{own_referral}",
        [303, 303, 200, 200, 200, 404, 404, 404, 200, NA],
    ),
    get(
        "/referrals/{reference}/submitted",
        "/referrals/{foreign_referral}/submitted",
        UNRELATED_READ,
    ),
    get(
        "/referrals/{reference}/submitted",
        "/referrals/{own_referral}/submitted",
        [303, 303, 200, 200, 200, 404, 404, 404, 200, NA],
    ),
    post(
        "/referrals/{reference}/link",
        "/referrals/{referral_to_link}/link",
        Body::Form("person_id={person}"),
        TRIAGE_POST,
    ),
    post(
        "/referrals/{reference}/new-person",
        "/referrals/{referral_for_new_person}/new-person",
        Body::Form(""),
        TRIAGE_POST,
    ),
    post(
        "/referrals/{reference}/decision",
        "/referrals/{referral_to_decide}/decision",
        Body::Form("decision=no_further_action&reason=Already+supported+by+Early+Help"),
        TRIAGE_POST,
    ),
    // The person index holds no case teams: only borough-wide readers open a person.
    get(
        "/referrals/people/{id}",
        "/referrals/people/{person}",
        UNRELATED_READ,
    ),
    post(
        "/referrals/people/{id}/merge",
        "/referrals/people/{merge_from}/merge",
        Body::Form("into={merge_into}&reason=Same+date+of+birth+and+school"),
        TRIAGE_PERSON_POST,
    ),
    post(
        "/referrals/people/{id}/unmerge",
        "/referrals/people/{merged}/unmerge",
        Body::Form("reason=Different+people+after+all"),
        TRIAGE_PERSON_POST,
    ),
    post(
        "/referrals/people/{id}/message",
        "/referrals/people/{person}/message",
        Body::Form("to=person%40example.org&subject=Appointment&body=See+you+on+Monday"),
        TRIAGE_PERSON_POST,
    ),
    post(
        "/api/v1/referrals",
        "/api/v1/referrals",
        Body::Json(
            r#"{"person": {"first_name": "Jay", "surname": "Mensah", "approx_age": 15},
                "concerns": ["carrying_weapons"], "reason": "Found with a knife.",
                "urgency": "urgent", "consent": {"status": "given"},
                "referrer": {"name": "PC Reid", "email": "pc.reid@example.org"}}"#,
        ),
        [403, 401, 201, 201, 201, 403, 403, 403, 201, 201],
    ),
    get(
        "/api/v1/referrals/{reference}",
        "/api/v1/referrals/{foreign_referral}",
        [401, 401, 404, 200, 404, 404, 404, 404, 404, 404],
    ),
    // The token's own referral for the token; the caller's own for staff.
    get(
        "/api/v1/referrals/{reference}",
        "/api/v1/referrals/{own_referral}",
        [401, 401, 200, 200, 200, 404, 404, 404, 200, 200],
    ),
    // ---------------------------------------------------------------- cases
    get("/cases", "/cases", WORK_CASES_PAGE),
    get("/cases/export.csv", "/cases/export.csv", WORK_CASES_PAGE),
    get("/cases/new", "/cases/new", WORK_CASES_PAGE),
    post(
        "/cases/new",
        "/cases/new",
        Body::Form("referral_id={waiting_referral}&lead_worker_id="),
        [403, 303, 303, 303, 303, 403, 403, 403, 403, NA],
    ),
    get("/cases/{id}", "/cases/{foreign_case}", UNRELATED_READ),
    get("/cases/{id}", "/cases/{own_case}", OWN_CASE_READ),
    // A restricted case of another agency: managers are involved borough-wide and see the
    // "restricted, contact ..." notice (200); nobody else may know it exists.
    get("/cases/{id}", "/cases/{restricted_case}", UNRELATED_READ),
    get(
        "/cases/{id}/documents/{doc}",
        "/cases/{foreign_case}/documents/{foreign_doc}",
        UNRELATED_READ,
    ),
    get(
        "/cases/{id}/documents/{doc}",
        "/cases/{own_case}/documents/{own_doc}",
        OWN_CASE_READ,
    ),
    get(
        "/cases/{id}/assess/{instrument}",
        "/cases/{foreign_case}/assess/dash",
        FOREIGN_CASE_FORM,
    ),
    get(
        "/cases/{id}/assess/{instrument}",
        "/cases/{own_case}/assess/dash",
        OWN_CASE_FORM,
    ),
    get(
        "/cases/{id}/refer",
        "/cases/{foreign_case}/refer",
        FOREIGN_CASE_FORM,
    ),
    get(
        "/cases/{id}/refer",
        "/cases/{own_case}/refer",
        OWN_CASE_FORM,
    ),
    post(
        "/cases/{id}/entries",
        "/cases/{foreign_case}/entries",
        Body::Form(ENTRY),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/entries",
        "/cases/{own_case}/entries",
        Body::Form(ENTRY),
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/tasks",
        "/cases/{foreign_case}/tasks",
        Body::Form(TASK),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/tasks",
        "/cases/{own_case}/tasks",
        Body::Form(TASK),
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/tasks/{task}/done",
        "/cases/{foreign_case}/tasks/{foreign_task}/done",
        Body::Form(""),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/tasks/{task}/done",
        "/cases/{own_case}/tasks/{own_task}/done",
        Body::Form(""),
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/goals",
        "/cases/{foreign_case}/goals",
        Body::Form(GOAL),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/goals",
        "/cases/{own_case}/goals",
        Body::Form(GOAL),
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/goals/{goal}",
        "/cases/{foreign_case}/goals/{foreign_goal}",
        Body::Form("status=achieved"),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/goals/{goal}",
        "/cases/{own_case}/goals/{own_goal}",
        Body::Form("status=achieved"),
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/reviews",
        "/cases/{foreign_case}/reviews",
        Body::Form("due_at=2030-01-15"),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/reviews",
        "/cases/{own_case}/reviews",
        Body::Form("due_at=2030-01-15"),
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/reviews/{review}",
        "/cases/{foreign_case}/reviews/{foreign_review}",
        Body::Form("notes=Engaging+well"),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/reviews/{review}",
        "/cases/{own_case}/reviews/{own_review}",
        Body::Form("notes=Engaging+well"),
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/team",
        "/cases/{foreign_case}/team",
        Body::Form("agency_id={spare_agency}"),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/team",
        "/cases/{own_case}/team",
        Body::Form("agency_id={spare_agency}"),
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/status",
        "/cases/{foreign_case}/status",
        Body::Form("status=on_hold"),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/status",
        "/cases/{own_case}/status",
        Body::Form("status=on_hold"),
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/documents",
        "/cases/{foreign_case}/documents",
        Body::Document,
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/documents",
        "/cases/{own_case}/documents",
        Body::Document,
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/assess/{instrument}",
        "/cases/{foreign_case}/assess/dash",
        Body::Form(DASH),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/assess/{instrument}",
        "/cases/{own_case}/assess/dash",
        Body::Form(DASH),
        OWN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/refer",
        "/cases/{foreign_case}/refer",
        Body::Form(REFER),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/refer",
        "/cases/{own_case}/refer",
        Body::Form(REFER),
        OWN_CASE_EDIT,
    ),
    // Hiding the person's address keeps the lead worker and the caller on its list; who may
    // change a list is the access policy's call (restricting narrows access, so whoever may
    // edit the record may create one).
    post(
        "/cases/{id}/address-restriction",
        "/cases/{foreign_case}/address-restriction",
        Body::Form("change=restrict&reason=Survivor+has+moved"),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/address-restriction",
        "/cases/{own_case}/address-restriction",
        Body::Form("change=restrict&reason=Survivor+has+moved"),
        OWN_CASE_EDIT,
    ),
    // Restricting keeps the lead worker (the caller) on the access list.
    post(
        "/cases/{id}/restriction",
        "/cases/{foreign_case}/restriction",
        Body::Form(RESTRICT),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/restriction",
        "/cases/{own_case}/restriction",
        Body::Form(RESTRICT),
        OWN_CASE_EDIT,
    ),
    // Break-glass needs the permission (managers) and a restricted record they cannot read.
    post(
        "/cases/{id}/break-glass",
        "/cases/{restricted_case}/break-glass",
        Body::Form("reason=Child+reported+missing+overnight"),
        [403, 303, 403, 303, 403, 403, 403, 403, 403, NA],
    ),
    // Closing comes last: a closed case takes no more changes.
    post(
        "/cases/{id}/close",
        "/cases/{foreign_case}/close",
        Body::Form(CLOSE),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/cases/{id}/close",
        "/cases/{own_case}/close",
        Body::Form(CLOSE),
        OWN_CASE_EDIT,
    ),
    get(
        "/api/v1/cases",
        "/api/v1/cases",
        [401, 401, 200, 200, 200, 403, 403, 403, 403, 200],
    ),
    // A token acts for its agency with no case team of its own: it finds no case.
    get(
        "/api/v1/cases/{id}",
        "/api/v1/cases/{foreign_case}",
        [401, 401, 404, 200, 404, 403, 403, 403, 403, 404],
    ),
    get(
        "/api/v1/cases/{id}",
        "/api/v1/cases/{own_case}",
        [401, 401, 200, 200, 200, 403, 403, 403, 403, 404],
    ),
    post(
        "/api/v1/instruments/{instrument}/score",
        "/api/v1/instruments/dash/score",
        Body::Json(SCORE),
        [403, 401, 200, 200, 200, 403, 403, 403, 403, 200],
    ),
    // ---------------------------------------------------------------- service referrals
    // The list shows what the caller's agency receives: case workers only.
    get("/service-referrals", "/service-referrals", WORK_CASES_PAGE),
    // Sent from another agency's case to another agency: managers read the referring case
    // borough-wide and so see it; nobody else may know it exists.
    get(
        "/service-referrals/{id}",
        "/service-referrals/{foreign_service_referral}",
        UNRELATED_READ,
    ),
    // Allocated to the caller's agency: its case workers see and work it; other roles in
    // the receiving agency do not read referred people's details.
    get(
        "/service-referrals/{id}",
        "/service-referrals/{received_service_referral}",
        [303, 303, 200, 200, 200, 404, 404, 404, 404, NA],
    ),
    post(
        "/service-referrals/{id}/status",
        "/service-referrals/{foreign_service_referral}/status",
        Body::Form("status=accepted&from=sent"),
        [403, 303, 403, 403, 403, 403, 403, 403, 403, NA],
    ),
    post(
        "/service-referrals/{id}/status",
        "/service-referrals/{received_service_referral}/status",
        Body::Form("status=accepted&from=sent"),
        [403, 303, 303, 303, 303, 403, 403, 403, 403, NA],
    ),
    post(
        "/service-referrals/{id}/allocate",
        "/service-referrals/{foreign_service_referral}/allocate",
        Body::Form("member_agency_id={member_agency}"),
        [403, 303, 403, 403, 403, 403, 403, 403, 403, NA],
    ),
    // Sent to the caller's agency, a consortium hub, and not yet allocated.
    post(
        "/service-referrals/{id}/allocate",
        "/service-referrals/{hub_service_referral}/allocate",
        Body::Form("member_agency_id={member_agency}"),
        [403, 303, 303, 303, 303, 403, 403, 403, 403, NA],
    ),
    // ---------------------------------------------------------------- insight
    // ---------------------------------------------------------------- panels
    // A panel coordinated by someone in another agency, with a published meeting none of
    // the callers' agencies sits on: coordinators do not see another coordinator's panel
    // (404), case workers are no member agency (404), other roles lack the permission (403).
    get("/panels", "/panels", WORK_CASES_PAGE),
    post(
        "/panels",
        "/panels",
        Body::Form("name=Panel+{unique}&kind=marac&chair_id={me}"),
        [403, 303, 403, 403, 303, 403, 403, 403, 403, NA],
    ),
    get("/panels/actions", "/panels/actions", WORK_CASES_PAGE),
    post(
        "/panels/actions/overdue",
        "/panels/actions/overdue",
        Body::Form(""),
        [403, 303, 403, 403, 303, 403, 403, 403, 403, NA],
    ),
    post(
        "/panels/actions/{action}",
        "/panels/actions/{foreign_panel_action}",
        Body::Form("status=done"),
        FOREIGN_MEETING_POST,
    ),
    get(
        "/panels/refer/{case}",
        "/panels/refer/{foreign_case}",
        FOREIGN_CASE_FORM,
    ),
    get(
        "/panels/refer/{case}",
        "/panels/refer/{own_case}",
        OWN_CASE_FORM,
    ),
    post(
        "/panels/refer/{case}",
        "/panels/refer/{foreign_case}",
        Body::Form("panel_id={foreign_panel}&reason=New+incident"),
        FOREIGN_CASE_EDIT,
    ),
    post(
        "/panels/refer/{case}",
        "/panels/refer/{own_case}",
        Body::Form("panel_id={foreign_panel}&reason=New+incident&children=1"),
        OWN_CASE_EDIT,
    ),
    get(
        "/panels/{panel}",
        "/panels/{foreign_panel}",
        FOREIGN_PANEL_PAGE,
    ),
    post(
        "/panels/{panel}/members",
        "/panels/{foreign_panel}/members",
        Body::Form("agency_id={spare_agency}&contact_id={me}"),
        FOREIGN_PANEL_POST,
    ),
    post(
        "/panels/{panel}/meetings",
        "/panels/{foreign_panel}/meetings",
        Body::Form("kind=ad_hoc&held_at=2030-01-07T10%3A00"),
        FOREIGN_PANEL_POST,
    ),
    post(
        "/panels/{panel}/triaged",
        "/panels/{foreign_panel}/triaged",
        Body::Form("referral_id={foreign_referral}"),
        FOREIGN_PANEL_POST,
    ),
    post(
        "/panels/{panel}/transfers",
        "/panels/{foreign_panel}/transfers",
        Body::Form("other_area=Northshire&first_name=Ana&surname=Lee&reason=Moved"),
        FOREIGN_PANEL_POST,
    ),
    get(
        "/panels/{panel}/data-return",
        "/panels/{foreign_panel}/data-return?quarter=2026Q3",
        FOREIGN_PANEL_PAGE,
    ),
    // The exported return is aggregate and suppressed: any coordinator may have it.
    get(
        "/panels/{panel}/data-return.csv",
        "/panels/{foreign_panel}/data-return.csv?quarter=2026Q3",
        [303, 303, 403, 403, 200, 403, 403, 403, 403, NA],
    ),
    get(
        "/api/v1/panels/{panel}/data-return",
        "/api/v1/panels/{foreign_panel}/data-return?quarter=2026Q3",
        [401, 401, 403, 403, 200, 403, 403, 403, 403, 403],
    ),
    post(
        "/panels/referrals/{referral}/decision",
        "/panels/referrals/{foreign_panel_referral}/decision",
        Body::Form("decision=accept"),
        FOREIGN_PANEL_POST,
    ),
    post(
        "/panels/referrals/{referral}/transfer",
        "/panels/referrals/{foreign_panel_referral}/transfer",
        Body::Form("other_area=Northshire&reason=Moved"),
        FOREIGN_PANEL_POST,
    ),
    get(
        "/panels/meetings/{meeting}",
        "/panels/meetings/{foreign_meeting}",
        FOREIGN_MEETING_READ,
    ),
    post(
        "/panels/meetings/{meeting}/agenda",
        "/panels/meetings/{foreign_meeting}/agenda",
        Body::Form(""),
        FOREIGN_PANEL_POST,
    ),
    post(
        "/panels/meetings/{meeting}/publish",
        "/panels/meetings/{foreign_meeting}/publish",
        Body::Form(""),
        FOREIGN_PANEL_POST,
    ),
    post(
        "/panels/meetings/{meeting}/chase",
        "/panels/meetings/{foreign_meeting}/chase",
        Body::Form(""),
        FOREIGN_PANEL_POST,
    ),
    post(
        "/panels/meetings/{meeting}/research",
        "/panels/meetings/{foreign_meeting}/research",
        Body::Form("item_id={foreign_item}&subject=victim&holds=nothing_held"),
        FOREIGN_MEETING_POST,
    ),
    get(
        "/panels/meetings/{meeting}/chair",
        "/panels/meetings/{foreign_meeting}/chair",
        FOREIGN_MEETING_READ,
    ),
    post(
        "/panels/meetings/{meeting}/attendance",
        "/panels/meetings/{foreign_meeting}/attendance",
        Body::Form("attendee%3A{spare_agency}=Someone"),
        FOREIGN_PANEL_POST,
    ),
    post(
        "/panels/meetings/{meeting}/discussion",
        "/panels/meetings/{foreign_meeting}/discussion",
        Body::Form("item_id={foreign_item}&minutes=Discussed&no_actions_reason=None+needed"),
        FOREIGN_PANEL_POST,
    ),
    post(
        "/panels/meetings/{meeting}/actions",
        "/panels/meetings/{foreign_meeting}/actions",
        Body::Form(
            "item_id={foreign_item}&agency_id={spare_agency}&owner_id={me}&title=Visit&due_at=2030-01-10",
        ),
        FOREIGN_PANEL_POST,
    ),
    get(
        "/panels/meetings/{meeting}/minutes",
        "/panels/meetings/{foreign_meeting}/minutes",
        FOREIGN_MEETING_READ,
    ),
    get("/insight", "/insight", INSIGHT_PAGE),
    get(
        "/insight/profile.csv",
        "/insight/profile.csv?area={area}&table=trend",
        INSIGHT_PAGE,
    ),
    get(
        "/api/v1/insight/profile",
        "/api/v1/insight/profile?area={area}",
        [401, 401, 403, 200, 403, 200, 403, 403, 403, 200],
    ),
    // ---------------------------------------------------------------- directory editor
    get("/directory", "/directory", EDITOR_PAGE),
    get("/directory/assurance", "/directory/assurance", EDITOR_PAGE),
    get("/directory/new", "/directory/new", EDITOR_PAGE),
    post(
        "/directory/new",
        "/directory/new",
        Body::Form(
            "name=Canal+Side+Boxing+{unique}&status=active&needs={need}&phone=020+7946+0101",
        ),
        EDITOR_POST,
    ),
    get(
        "/directory/{id}/edit",
        "/directory/{svc_edit}/edit",
        EDITOR_PAGE,
    ),
    post(
        "/directory/{id}/edit",
        "/directory/{svc_edit}/edit",
        Body::Form("name=Canal+Side+Club+{unique}&status=active&needs={need}"),
        EDITOR_POST,
    ),
    post(
        "/directory/{id}/archive",
        "/directory/{svc_edit}/archive",
        Body::Form(""),
        EDITOR_POST,
    ),
    post(
        "/directory/{id}/restore",
        "/directory/{svc_edit}/restore",
        Body::Form(""),
        EDITOR_POST,
    ),
    // ---------------------------------------------------------------- signing out, last
    post(
        "/logout",
        "/logout",
        Body::Form(""),
        [403, 303, 303, 303, 303, 303, 303, 303, 303, NA],
    ),
];

const ENTRY: &str = "kind=note&summary=Met+at+the+youth+club&body=Talked+about+school";
const TASK: &str = "title=Call+the+school&owner_id={me}&due_at=2030-01-10";
const GOAL: &str = "goal=Back+in+education&actions=Meet+the+college&target_at=2030-06-01";
const REFER: &str = "category=sport&service_name=Canal+Side+Boxing&to_agency_id={spare_agency}\
                     &reason=Wants+structured+activity&consent=given";
const RESTRICT: &str = "change=restrict&restriction_contact=Call+the+team+manager\
                        &user_id={me}&reason=Survivor+fears+being+found";
const CLOSE: &str = "closure_reason=Goals+met&outcome_safer=yes&outcome_reduced_risk=yes\
                     &outcome_education_employment=not_known&outcome_no_new_offences=yes\
                     &outcome_engaged_services=no";
const DASH: &str = "q1=no&q2=no&q3=no&q4=no&q5=no&q6=no&q7=no&q8=no&q9=no&q10=no&q11=no\
                    &q12=no&q13=no&q14=no&q15=no&q16=no&q17=no&q18=no&q19=no&q20=no&q21=no\
                    &q22=no&q23=no&q24=no";

const SCORE: &str = r#"{"answers": {"q1": "no", "q2": "no", "q3": "no", "q4": "no", "q5": "no", "q6": "no", "q7": "no", "q8": "no", "q9": "no", "q10": "no", "q11": "no", "q12": "no", "q13": "no", "q14": "no", "q15": "no", "q16": "no", "q17": "no", "q18": "no", "q19": "no", "q20": "no", "q21": "no", "q22": "no", "q23": "no", "q24": "no"},
    "assessment_date": "2026-11-29"}"#;

/// The secret callers enrol with on `/account/two-factor`.
const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Visitor,
    Staff(Role),
    Token,
}

struct Caller {
    who: Who,
    /// The raw session id (staff) or pre-sign-in cookie (visitor).
    session: Option<String>,
    pre: Option<String>,
    /// The raw API token.
    token: Option<String>,
    /// This caller's values of the fixture placeholders, over the shared ones.
    own: HashMap<&'static str, String>,
}

impl Caller {
    fn csrf(&self, key: &pathways_store::ServerSecret) -> Option<String> {
        self.session
            .as_deref()
            .or(self.pre.as_deref())
            .map(|b| pathways_web::crypto::csrf_token(key, b))
    }

    fn cookie(&self) -> Option<String> {
        match (&self.session, &self.pre) {
            (Some(s), _) => Some(format!("pw_session={s}")),
            (None, Some(p)) => Some(format!("pw_pre={p}")),
            _ => None,
        }
    }
}

/// A fresh folder for the crime store, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("pathways-matrix-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small crime store (one synthetic local authority, two months) for the insight routes;
/// returns the local authority's code.
fn seed_crime(data_dir: &Path) -> String {
    use pathways_insight::generate::{GenOptions, generate};
    use pathways_insight::geo::import_geo;
    use pathways_insight::import::{ImportOptions, import_paths};
    use pathways_insight::model::Month;

    let source = data_dir.join("crime-source");
    let store = data_dir.join("crime");
    let opts = GenOptions {
        seed: 7,
        start: Month::from_ym(2025, 1).expect("month"),
        months: 2,
        street_rows_per_month: 300,
        outcomes: false,
        stop_search: false,
        geo_dir: None,
        synthetic_areas: 1,
    };
    generate(&source, &opts).expect("crime files");
    let geo = source.join("geo");
    import_geo(
        &store,
        &geo.join("lsoa-lookup.csv"),
        Some(&geo.join("lsoa-population.csv")),
        Some(&geo.join("lsoa-boundaries.geojson")),
    )
    .expect("geography");
    let mut months: Vec<PathBuf> = std::fs::read_dir(&source)
        .expect("source")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| Month::parse(n).is_ok())
        })
        .collect();
    months.sort();
    import_paths(&months, &store, &ImportOptions::default(), &mut |_| {}).expect("import");
    "E09900001".to_string()
}

/// Every caller's password is `crate::support::PASSWORD` (hashed once for all of them).
async fn user_in(store: &Store, agency: &str, email: &str, roles: &[Role]) -> User {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = HASH.get_or_init(|| crypto::hash_password(crate::support::PASSWORD).expect("hash"));
    pathways_store::testing::create_user(
        store,
        &NewUser {
            agency_id: agency.into(),
            email: email.into(),
            display_name: email.split('@').next().unwrap_or(email).into(),
            roles: RoleSet::new(roles.to_vec()),
            password_hash: Some(hash.clone()),
        },
    )
    .await
    .expect("user")
}

async fn person(store: &Store, first: &str) -> String {
    pathways_store::testing::create_person(
        store,
        &PersonDetails {
            first_name: first.into(),
            surname: "Sample".into(),
            dob: Some("2009-03-04".into()),
            address_line: "12 Hidden Lane".into(),
            postcode: "RV1 2AB".into(),
            ..PersonDetails::default()
        },
        "test",
    )
    .await
    .expect("person")
}

/// A referral made by `by` (a user id, or `token:<id>`) in `agency`.
async fn referral(
    store: &Store,
    by: &str,
    user: bool,
    agency: &str,
    first: &str,
) -> (String, String) {
    let r = pathways_store::testing::create_referral(
        store,
        &NewReferral {
            referrer_actor: by.into(),
            referrer_user_id: user.then(|| by.to_string()),
            referrer_agency_id: agency.into(),
            referrer_name: "Referrer".into(),
            referrer_email: "referrer@example.org".into(),
            person: PersonDetails {
                first_name: first.into(),
                surname: "Sample".into(),
                ..PersonDetails::default()
            },
            reason: "Worried about exploitation".into(),
            urgency: "standard".into(),
            consent: "given".into(),
            ..NewReferral::default()
        },
    )
    .await
    .expect("referral");
    (r.id, r.reference)
}

/// The sub-records of a case the forms act on: a task, a goal, a review and a document.
async fn case_parts(store: &Store, case: &str, lead: &str) -> [(&'static str, String); 4] {
    let task = pathways_store::testing::write(store, async |tx| {
        tx.add_task(
            &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(case),
            "Visit",
            lead,
            now_unix() + 86_400,
            lead,
        )
        .await
    })
    .await
    .expect("task");
    let goal = pathways_store::testing::write(store, async |tx| {
        tx.add_goal(
            &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(case),
            "Stay safe",
            "Plan",
            None,
        )
        .await
    })
    .await
    .expect("goal");
    let review = pathways_store::testing::write(store, async |tx| {
        tx.schedule_review(
            &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(case),
            now_unix() + 86_400,
            lead,
        )
        .await
    })
    .await
    .expect("review");
    let text = b"Visit notes.\n";
    let digest = crypto::digest("visit notes");
    let doc = pathways_store::testing::write(store, async |tx| {
        tx.add_document(
            &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(case),
            "notes.txt",
            "text/plain",
            &digest,
            text,
            lead,
        )
        .await
    })
    .await
    .expect("document");
    [
        ("task", task),
        ("goal", goal),
        ("review", review),
        ("doc", doc),
    ]
}

async fn open_case(
    store: &Store,
    lead: &str,
    first: &str,
    referrer: Option<&str>,
    restricted: bool,
) -> String {
    let p = person(store, first).await;
    pathways_store::testing::write(store, async |tx| {
        tx.open_case(
            &pathways_store::testing::permitted(pathways_domain::Permission::WorkCases),
            &NewCase {
                person_id: p,
                lead_worker_id: lead.into(),
                opened_by: lead.into(),
                referrer_id: referrer.map(str::to_string),
                restricted,
                restriction_contact: if restricted {
                    "Dev Patel on 020 7946 0000".into()
                } else {
                    String::new()
                },
                ..NewCase::default()
            },
        )
        .await
    })
    .await
    .expect("case")
}

fn service_referral(to: &str, sent_by: &str) -> NewServiceReferral {
    NewServiceReferral {
        service_id: "unlisted:canal-side-boxing".into(),
        service_name: "Canal Side Boxing".into(),
        category: "sport".into(),
        to_agency_id: to.into(),
        consent: Consent::Given,
        lawful_basis: String::new(),
        share_reason: String::new(),
        sharing_agreement: String::new(),
        reason: "Wants structured activity".into(),
        sent_by: sent_by.into(),
    }
}

/// A one-time link for a new throw-away user; returns the raw token.
async fn link(store: &Store, agency: &str, email: &str, purpose: &str) -> String {
    let u = user_in(store, agency, email, &[Role::Analyst]).await;
    let raw = crypto::random_token();
    let purpose = if purpose == "invite" {
        pathways_store::LinkPurpose::Invite
    } else {
        pathways_store::LinkPurpose::Reset
    };
    pathways_store::testing::issue_link(store, &crypto::digest(&raw), &u.id, purpose, 3600, email)
        .await
        .expect("link");
    raw
}

async fn first_id(client: &Client, app: &App, path: &str) -> String {
    let v: serde_json::Value = client
        .get(app.url(path))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    v["contents"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{path} lists nothing: {v}"))
        .to_string()
}

/// Replaces `{name}` placeholders; panics on one that has no value.
fn fill(
    template: &str,
    caller: &Caller,
    shared: &HashMap<&'static str, String>,
    unique: &str,
) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start + 1..].find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        else {
            break;
        };
        let name = &rest[start + 1..start + 1 + len];
        if name.is_empty() || !rest[start + 1 + len..].starts_with('}') {
            // Not a placeholder (JSON).
            out.push_str(&rest[..=start]);
            rest = &rest[start + 1..];
            continue;
        }
        let value = match name {
            "unique" => unique.to_string(),
            "totp_code" => crypto::totp_code(TOTP_SECRET, now_unix()).expect("code"),
            "totp_secret" => TOTP_SECRET.to_string(),
            _ => caller
                .own
                .get(name)
                .or_else(|| shared.get(name))
                .unwrap_or_else(|| panic!("no value for {{{name}}} in {template}"))
                .clone(),
        };
        out.push_str(&rest[..start]);
        out.push_str(&value);
        rest = &rest[start + 2 + len..];
    }
    out.push_str(rest);
    out
}

fn is_api(route: &str) -> bool {
    route.starts_with("/api/") || route.starts_with("/oruk")
}

#[tokio::test]
async fn every_module_route_for_every_caller() {
    assert_eq!(
        Role::ALL.len() + 3,
        COLUMNS.len(),
        "every role needs a column in ROWS"
    );
    let data = TempDir::new();
    let area = seed_crime(&data.0);
    let data_dir = data.0.clone();
    let app = App::start_with(move |s| s.data_dir = data_dir).await;
    let store = app.store().clone();
    let plain = Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");

    // ------------------------------------------------------------ shared fixtures
    let mut shared: HashMap<&'static str, String> = HashMap::new();
    let foreign =
        pathways_store::testing::create_agency(&store, "Elsewhere Police", AgencyKind::Police)
            .await
            .expect("agency");
    let spare =
        pathways_store::testing::create_agency(&store, "Canal Side Trust", AgencyKind::Voluntary)
            .await
            .expect("agency");
    let foreign_hub = pathways_store::testing::create_agency(
        &store,
        "Youth Consortium",
        AgencyKind::ConsortiumHub,
    )
    .await
    .expect("agency");
    let stranger = user_in(
        &store,
        &foreign.id,
        "stranger@example.org",
        &[Role::Practitioner],
    )
    .await;
    let foreign_case = open_case(&store, &stranger.id, "Foreign", None, false).await;
    for (k, v) in case_parts(&store, &foreign_case, &stranger.id).await {
        shared.insert(
            match k {
                "task" => "foreign_task",
                "goal" => "foreign_goal",
                "review" => "foreign_review",
                _ => "foreign_doc",
            },
            v,
        );
    }
    let restricted_case = open_case(&store, &stranger.id, "Hidden", None, true).await;
    let foreign_sref = pathways_store::testing::write(&store, async |tx| {
        tx.create_service_referral(
            &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&foreign_case),
            &service_referral(&foreign.id, &stranger.id),
        )
        .await
    })
    .await
    .expect("service referral");
    let (_, foreign_referral) = referral(&store, &stranger.id, true, &foreign.id, "Remote").await;
    let (_, to_link) = referral(&store, &stranger.id, true, &foreign.id, "Linkme").await;
    let (_, for_new_person) = referral(&store, &stranger.id, true, &foreign.id, "Newone").await;
    let (_, to_decide) = referral(&store, &stranger.id, true, &foreign.id, "Decideme").await;
    let indexed = person(&store, "Indexed").await;
    pathways_store::testing::set_safe_contact(
        &store,
        &indexed,
        &SafeContact {
            channel: "email".into(),
            safe: true,
            detail: "person@example.org".into(),
            when: String::new(),
        },
        &stranger.id,
    )
    .await
    .expect("safe contact");
    let merge_from = person(&store, "Twin").await;
    let merge_into = person(&store, "Twin").await;
    let merged = person(&store, "Merged").await;
    let kept = person(&store, "Merged").await;
    pathways_store::testing::merge_people(&store, &merged, &kept, "Same person", &stranger.id)
        .await
        .expect("merge");
    shared.extend(crate::panels::matrix_fixtures(&store, &stranger, &foreign_case).await);
    shared.extend([
        ("foreign_case", foreign_case.clone()),
        ("restricted_case", restricted_case.clone()),
        ("foreign_service_referral", foreign_sref.clone()),
        ("foreign_referral", foreign_referral.clone()),
        ("referral_to_link", to_link),
        ("referral_for_new_person", for_new_person),
        ("referral_to_decide", to_decide),
        ("person", indexed),
        ("merge_from", merge_from),
        ("merge_into", merge_into),
        ("merged", merged),
        ("spare_agency", spare.id.clone()),
        ("area", area),
        ("me", String::new()),
    ]);
    // Callers that cannot be involved in a record are given the foreign one.
    for (own, foreign_key) in [
        ("own_case", "foreign_case"),
        ("own_task", "foreign_task"),
        ("own_goal", "foreign_goal"),
        ("own_review", "foreign_review"),
        ("own_doc", "foreign_doc"),
        ("own_referral", "foreign_referral"),
        ("received_service_referral", "foreign_service_referral"),
        ("hub_service_referral", "foreign_service_referral"),
    ] {
        let v = shared[foreign_key].clone();
        shared.insert(own, v);
    }
    shared.insert("member_agency", spare.id.clone());
    // A triaged referral waiting for a case, for callers without one of their own.
    let waiting_for = |first: &'static str| {
        let store = store.clone();
        let by = stranger.id.clone();
        let agency = foreign.id.clone();
        async move {
            let (id, _) = referral(&store, &by, true, &agency, first).await;
            pathways_store::testing::create_person_for_referral(&store, &id, &by)
                .await
                .expect("person");
            pathways_store::testing::decide_referral(
                &store,
                &id,
                &DecisionInput {
                    decision: pathways_domain::referrals::TriageDecision::OpenCase,
                    reason: "Needs outreach".into(),
                    detail: String::new(),
                    service_id: String::new(),
                },
                &by,
                &[],
            )
            .await
            .expect("decided");
            id
        }
    };
    shared.insert("waiting_referral", waiting_for("Waiting").await);

    // Directory: a few generated services, then ids read back from the open feed.
    let terms = pathways_web::directory::load_terms(&store)
        .await
        .expect("terms");
    let services = generate(
        &terms,
        &GenerateOptions {
            seed: 11,
            services: 12,
            today: time::OffsetDateTime::now_utc().date(),
        },
    );
    pathways_web::directory::save_services(&store, &services, "test")
        .await
        .expect("services");
    let open: Vec<&str> = services
        .iter()
        .filter(|s| !s.service().has_confidential_location())
        .map(|s| s.id())
        .collect();
    assert!(open.len() >= 2, "the generator gives open services");
    shared.insert("svc_public", open[0].to_string());
    shared.insert("svc_edit", open[1].to_string());
    shared.insert(
        "need",
        TermSet::needs().roots().next().expect("need").id.clone(),
    );
    shared.insert(
        "oruk_service",
        first_id(&plain, &app, "/oruk/services").await,
    );
    shared.insert(
        "oruk_sal",
        first_id(&plain, &app, "/oruk/service_at_locations").await,
    );
    shared.insert(
        "oruk_taxonomy",
        first_id(&plain, &app, "/oruk/taxonomies").await,
    );
    shared.insert(
        "oruk_term",
        first_id(&plain, &app, "/oruk/taxonomy_terms").await,
    );
    shared.insert(
        "asset",
        pathways_web::assets::ASSETS
            .first()
            .expect("an asset")
            .url
            .to_string(),
    );
    shared.insert(
        "reset_token_shared",
        link(&store, &spare.id, "reset-shared@example.org", "reset").await,
    );
    shared.insert(
        "invite_token_shared",
        link(&store, &spare.id, "invite-shared@example.org", "invite").await,
    );

    // ------------------------------------------------------------ callers
    let mut callers = vec![
        Caller {
            who: Who::Anonymous,
            session: None,
            pre: None,
            token: None,
            own: HashMap::new(),
        },
        Caller {
            who: Who::Visitor,
            session: None,
            pre: Some(crypto::random_token()),
            token: None,
            own: HashMap::new(),
        },
    ];
    for (i, role) in Role::ALL.into_iter().enumerate() {
        // Each role in an agency of its own, a consortium hub with one member, so that a
        // record of one caller's agency is foreign to every other caller.
        let agency = pathways_store::testing::create_agency(
            &store,
            &format!("Agency {i}"),
            AgencyKind::ConsortiumHub,
        )
        .await
        .expect("agency");
        let member = pathways_store::testing::create_agency(
            &store,
            &format!("Member {i}"),
            AgencyKind::Voluntary,
        )
        .await
        .expect("agency");
        pathways_store::testing::write(&store, async |tx| {
            tx.add_consortium_member(
                &pathways_store::testing::permitted(pathways_domain::Permission::Administer),
                &agency.id,
                &member.id,
            )
            .await
        })
        .await
        .expect("member");
        pathways_store::testing::write(&store, async |tx| {
            tx.add_consortium_member(
                &pathways_store::testing::permitted(pathways_domain::Permission::Administer),
                &foreign_hub.id,
                &agency.id,
            )
            .await
        })
        .await
        .expect("member");
        assert_eq!(COLUMNS[2 + i], role.label().to_lowercase(), "column order");
        let user = user_in(
            &store,
            &agency.id,
            &format!("{}@example.org", role.key()),
            &[role],
        )
        .await;
        let raw = crypto::random_token();
        pathways_store::testing::create_session(
            &store,
            &crypto::digest(&raw),
            &user.id,
            "full",
            "127.0.0.1",
        )
        .await
        .expect("session");
        let mut own: HashMap<&'static str, String> = HashMap::new();
        own.insert("me", user.id.clone());
        own.insert("member_agency", member.id.clone());
        own.insert("waiting_referral", waiting_for("Waiting").await);
        let works = role.permissions().contains(&Permission::WorkCases);
        let refers = role.permissions().contains(&Permission::MakeReferral);
        // A case the caller leads, or (partner referrers) one they referred.
        let case = if works {
            Some(open_case(&store, &user.id, "Own", None, false).await)
        } else if refers {
            Some(open_case(&store, &stranger.id, "Referred", Some(&user.id), false).await)
        } else {
            None
        };
        if let Some(case) = case {
            let lead = if works { &user.id } else { &stranger.id };
            for (k, v) in case_parts(&store, &case, lead).await {
                own.insert(
                    match k {
                        "task" => "own_task",
                        "goal" => "own_goal",
                        "review" => "own_review",
                        _ => "own_doc",
                    },
                    v,
                );
            }
            own.insert("own_case", case);
        }
        if refers {
            let (_, r) = referral(&store, &user.id, true, &agency.id, "Mine").await;
            own.insert("own_referral", r);
        }
        // Sent from the foreign case to the consortium hub, allocated to this agency.
        let received = pathways_store::testing::write(&store, async |tx| {
            tx.create_service_referral(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&foreign_case),
                &service_referral(&foreign_hub.id, &stranger.id),
            )
            .await
        })
        .await
        .expect("service referral");
        pathways_store::testing::write(&store, async |tx| {
            tx.allocate_service_referral(
                &pathways_store::testing::editor::<pathways_domain::ids::ServiceReferralId>(
                    &received,
                ),
                &agency.id,
                &stranger.id,
            )
            .await
        })
        .await
        .expect("allocated");
        own.insert("received_service_referral", received);
        // Sent from the foreign case to this agency as a hub, waiting for allocation.
        let hub = pathways_store::testing::write(&store, async |tx| {
            tx.create_service_referral(
                &pathways_store::testing::editor::<pathways_domain::ids::CaseId>(&foreign_case),
                &service_referral(&agency.id, &stranger.id),
            )
            .await
        })
        .await
        .expect("service referral");
        own.insert("hub_service_referral", hub);
        callers.push(Caller {
            who: Who::Staff(role),
            session: Some(raw),
            pre: None,
            token: None,
            own,
        });
    }
    let token_agency =
        pathways_store::testing::create_agency(&store, "Partner System", AgencyKind::Police)
            .await
            .expect("agency");
    let raw_token = format!("pw_{}", crypto::random_token());
    let token_id = pathways_store::testing::create_api_token(
        &store,
        "Matrix",
        &crypto::digest(&raw_token),
        &token_agency.id,
        &[
            Permission::MakeReferral.key().into(),
            Permission::WorkCases.key().into(),
            Permission::ViewInsight.key().into(),
        ],
        &stranger.id,
    )
    .await
    .expect("token");
    let (_, token_referral) = referral(
        &store,
        &format!("token:{token_id}"),
        false,
        &token_agency.id,
        "Tokened",
    )
    .await;
    callers.push(Caller {
        who: Who::Token,
        session: None,
        pre: None,
        token: Some(raw_token),
        own: HashMap::from([("own_referral", token_referral)]),
    });
    assert_eq!(callers.len(), COLUMNS.len());
    // Each caller sets a password through one-time links of its own.
    for (i, caller) in callers.iter_mut().enumerate() {
        caller.own.insert(
            "reset_token",
            link(&store, &spare.id, &format!("reset{i}@example.org"), "reset").await,
        );
        caller.own.insert(
            "invite_token",
            link(
                &store,
                &spare.id,
                &format!("invite{i}@example.org"),
                "invite",
            )
            .await,
        );
    }

    // ------------------------------------------------------------ the walk
    let mut checked = 0usize;
    let mut failures = Vec::new();
    for (n, row) in ROWS.iter().enumerate() {
        assert_eq!(
            row.expect[9] == NA,
            !is_api(row.route),
            "{} {}: the API token column is for /api/ and /oruk routes only",
            row.method.name(),
            row.route
        );
        for (column, caller) in callers.iter_mut().enumerate() {
            let want = row.expect[column];
            if want == NA {
                continue;
            }
            if row.route == "/password/forgot" && row.method == Method::Post {
                // Reset requests are throttled per client address, and every caller here
                // comes from the same loopback address.
                app.sql("DELETE FROM login_failures WHERE subject LIKE 'reset:%'")
                    .await;
            }
            let unique = format!("{n}-{column}");
            let url = fill(row.url, caller, &shared, &unique);
            let csrf = caller.csrf(&app.csrf_key());
            let mut req = match (row.method, row.body) {
                (Method::Get, _) => plain.get(app.url(&url)),
                (Method::Post, Body::None) => plain.post(app.url(&url)),
                (Method::Post, Body::Form(form)) => {
                    let mut body = fill(form, caller, &shared, &unique);
                    if let Some(t) = &csrf {
                        if !body.is_empty() {
                            body.push('&');
                        }
                        body.push_str(&format!("csrf={t}"));
                    }
                    plain
                        .post(app.url(&url))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                }
                (Method::Post, Body::Json(json)) => {
                    let mut r = plain
                        .post(app.url(&url))
                        .header("content-type", "application/json")
                        .body(fill(json, caller, &shared, &unique));
                    if let Some(t) = &csrf {
                        r = r.header("x-csrf-token", t);
                    }
                    r
                }
                (Method::Post, Body::Document) => {
                    let target = match &csrf {
                        Some(t) => format!("{url}?csrf={t}"),
                        None => url.clone(),
                    };
                    let part = reqwest::multipart::Part::bytes(b"Notes from the visit.\n".to_vec())
                        .file_name("visit.txt")
                        .mime_str("text/plain")
                        .expect("mime");
                    plain
                        .post(app.url(&target))
                        .multipart(reqwest::multipart::Form::new().part("document", part))
                }
            };
            if let Some(c) = caller.cookie() {
                req = req.header("cookie", c);
            }
            if let Some(t) = &caller.token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.expect("request");
            let got = res.status().as_u16();
            let who = COLUMNS[column];
            if got != want {
                let body = res.text().await.unwrap_or_default();
                let hint: String = body.chars().take(300).collect();
                failures.push(format!(
                    "{} {} ({url}) as {who}: got {got}, want {want}: {hint}",
                    row.method.name(),
                    row.route,
                ));
            } else {
                if got == 303
                    && matches!(caller.who, Who::Anonymous | Who::Visitor)
                    && !location(&res).starts_with("/login")
                {
                    failures.push(format!(
                        "{} {} as {who}: redirected to {} instead of the sign-in page",
                        row.method.name(),
                        row.route,
                        location(&res)
                    ));
                }
                // Staff follow a new session id (set up a second factor) or its end.
                if matches!(caller.who, Who::Staff(_))
                    && let Some(c) = set_cookie(&res, "pw_session")
                {
                    let value = crate::support::cookie_value(&c);
                    caller.session = (!value.is_empty()).then_some(value);
                }
            }
            checked += 1;
        }
    }
    let expected_checks: usize = ROWS
        .iter()
        .map(|r| r.expect.iter().filter(|s| **s != NA).count())
        .sum();
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, expected_checks);

    // Every allowed change really happened, and was audited.
    let audit = app.audit().await;
    for action in [
        "case_open",
        "case_entry_add",
        "case_task_add",
        "case_task_done",
        "case_plan_edit",
        "case_review_schedule",
        "case_review_held",
        "case_team_change",
        "case_status",
        "case_close",
        "access_list",
        "address_access_list",
        "document_upload",
        "risk_assessment",
        "service_referral_send",
        "service_referral_status",
        "service_referral_allocate",
        "break_glass",
        "link_person",
        "decide",
        "merge",
        "unmerge",
        "message",
        "directory_service_create",
        "directory_service_update",
        "directory_service_archive",
        "directory_service_restore",
        "password_reset",
        "invitation_accepted",
        "second_factor_enrolled",
        "logout",
    ] {
        assert!(
            audit.iter().any(|(a, _, o)| a == action && o == "allowed"),
            "{action} was allowed and audited"
        );
    }
    // Nobody outside the receiving agency's case workers moved a service referral along.
    for caller in &callers {
        if let Who::Staff(role) = caller.who {
            let id = &caller.own["received_service_referral"];
            let status = store.service_referral(id).await.expect("referral").status;
            let works = role.permissions().contains(&Permission::WorkCases);
            assert_eq!(
                status.key() == "accepted",
                works,
                "{}: service referral status {}",
                role.key(),
                status.key()
            );
        }
    }
}

// -------------------------------------------------------------------- completeness

/// Every `(method, path)` the router's source registers with a literal path, with problems
/// (registrations this reader cannot see through) in the second list.
pub(crate) fn registered_routes() -> (BTreeSet<(String, String)>, Vec<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut routes = BTreeSet::new();
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source file");
        let name = file
            .strip_prefix(&src)
            .unwrap_or(file)
            .display()
            .to_string();
        for unsupported in [
            ".nest(",
            ".nest_service(",
            ".route_service(",
            ".route_layer(",
        ] {
            if text.contains(unsupported) {
                problems.push(format!(
                    "{name} uses {unsupported}: the matrix's route reader does not follow it"
                ));
            }
        }
        let mut from = 0;
        while let Some(at) = text[from..].find(".route(") {
            let start = from + at + ".route(".len();
            from = start;
            let line = text[..start].lines().count();
            let args = text[start..].trim_start();
            let Some(literal) = args.strip_prefix('"') else {
                // The administration router is built from `admin::ROUTES`, the others from
                // the route tables (`routes::all`).
                if (name == Path::new("admin").join("mod.rs").display().to_string()
                    && args.starts_with("spec.path"))
                    || (name == "routes.rs" && args.starts_with("r.path"))
                {
                    continue;
                }
                problems.push(format!(
                    "{name}:{line}: a route registered with a path that is not a string literal"
                ));
                continue;
            };
            let end = literal.find('"').expect("closing quote");
            let path = &literal[..end];
            // The rest of this `.route(...)` call: the method routers.
            let call = &literal[end + 1..];
            let mut depth = 1;
            let mut stop = call.len();
            for (i, c) in call.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            stop = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = &call[..stop];
            let mut methods = Vec::new();
            for m in [
                "get", "post", "put", "patch", "delete", "head", "options", "any", "on",
            ] {
                let needle = format!("{m}(");
                let mut i = 0;
                while let Some(p) = call[i..].find(&needle) {
                    let p = i + p;
                    let before = call[..p].chars().last();
                    if before.is_none_or(|b| !(b.is_alphanumeric() || b == '_')) {
                        methods.push(m.to_uppercase());
                    }
                    i = p + needle.len();
                }
            }
            if methods.is_empty() {
                problems.push(format!("{name}:{line}: no method router found for {path}"));
            }
            for m in methods {
                routes.insert((m, path.to_string()));
            }
        }
    }
    (routes, problems)
}

#[test]
fn every_registered_route_has_a_matrix_row() {
    let (mut registered, problems) = registered_routes();
    registered.extend(
        pathways_web::routes::all()
            .into_iter()
            .map(|r| (r.verb.name().to_string(), r.path.to_string())),
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        registered.len() > 50,
        "the route reader found only {} routes",
        registered.len()
    );
    let admin: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| {
            let m = match r.verb {
                Verb::Get => "GET",
                Verb::Post => "POST",
            };
            (m.to_string(), r.path.to_string())
        })
        .collect();
    let table: BTreeSet<(String, String)> = ROWS
        .iter()
        .map(|r| (r.method.name().to_string(), r.route.to_string()))
        .collect();
    // Administration routes are walked by `matrix.rs` straight from `admin::ROUTES`.
    let covered: BTreeSet<(String, String)> = table.union(&admin).cloned().collect();
    let missing: Vec<String> = registered
        .difference(&covered)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the route matrix (tests/it/matrix_modules.rs ROWS):\n{}",
        missing.join("\n")
    );
    let stale: Vec<String> = table
        .difference(&registered)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        stale.is_empty(),
        "matrix rows for routes the router does not register:\n{}",
        stale.join("\n")
    );
    let doubled: Vec<String> = table
        .intersection(&admin)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        doubled.is_empty(),
        "administration routes belong in admin::ROUTES, not in ROWS:\n{}",
        doubled.join("\n")
    );
}
