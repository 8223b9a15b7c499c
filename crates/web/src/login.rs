//! Signing in and out: password, then the TOTP second factor (or enrolment when the role
//! requires one), throttling, password reset and invitation links, and the dashboard.

use askama::Template;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, http::request::Parts};
use pathways_domain::Permission;
use pathways_domain::password::check_new_password;
use pathways_store::{Notification, now_unix};
use serde::Deserialize;

use crate::auth::{
    self, PRE_COOKIE, SESSION_COOKIE, STAGE_ENROL, STAGE_FULL, STAGE_TOTP, Staff, system_event,
};
use crate::error::{AppError, FieldError, PageError, render_page};
use crate::{AppState, Chrome, crypto};

/// Failed sign-ins allowed per account in the window before a temporary lock-out.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failed sign-ins allowed per client address in the window.
pub const CLIENT_LIMIT: i64 = 20;
/// The throttling window and lock-out, in seconds.
pub const WINDOW: i64 = 15 * 60;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/login/two-factor", get(two_factor_form).post(two_factor))
        .route("/account/two-factor", get(enrol_form).post(enrol))
        .route("/logout", post(logout))
        .route("/password/forgot", get(forgot_form).post(forgot))
        .route("/password/reset/{token}", get(reset_form).post(reset))
        .route("/invite/{token}", get(invite_form).post(accept_invite))
        .route("/dashboard", get(dashboard))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    email: String,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
struct TwoFactorPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
}

#[derive(Template)]
#[template(path = "auth/enrol.html")]
struct EnrolPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    secret: String,
    qr_svg: String,
    /// A signed-in user replacing or adding a factor must re-enter their password.
    confirm_password: bool,
    /// The message beside the password field, if any.
    password_error: String,
    /// The message beside the code field, if any.
    code_error: String,
}

#[derive(Template)]
#[template(path = "auth/recovery_codes.html")]
struct RecoveryCodesPage {
    chrome: Chrome,
    codes: Vec<String>,
}

#[derive(Template)]
#[template(path = "auth/password_form.html")]
struct PasswordPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    heading: String,
    action: String,
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
}

#[derive(Template)]
#[template(path = "auth/message.html")]
struct MessagePage {
    chrome: Chrome,
    heading: String,
    paragraphs: Vec<String>,
    link: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    name: String,
    notifications: Vec<Notification>,
    tiles: Vec<(&'static str, &'static str, &'static str)>,
}

fn with_cookie(mut res: Response, value: String) -> Response {
    if let Ok(v) = value.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// The CSRF binding for pages shown before sign-in: the session cookie if there is one,
/// otherwise a fresh pre-sign-in cookie to set.
fn pre_binding(headers: &HeaderMap) -> (String, Option<String>) {
    if let Some(s) = auth::cookie(headers, SESSION_COOKIE) {
        return (s.to_string(), None);
    }
    if let Some(p) = auth::cookie(headers, PRE_COOKIE) {
        return (p.to_string(), None);
    }
    let fresh = crypto::random_token();
    (fresh.clone(), Some(fresh))
}

fn anonymous_page(
    state: &AppState,
    headers: &HeaderMap,
    title: &str,
    build: impl FnOnce(Chrome) -> Response,
) -> Response {
    let (binding, fresh) = pre_binding(headers);
    let res = build(Chrome::staff(state, title, &crypto::csrf_token(&binding)));
    match fresh {
        Some(v) => with_cookie(res, auth::set_cookie(state, PRE_COOKIE, &v)),
        None => res,
    }
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let notice = match query.as_deref() {
        Some("signed-out") => Some("You have signed out.".to_string()),
        Some("password-set") => Some("Your password is set. Sign in with it now.".to_string()),
        _ => None,
    };
    anonymous_page(&state, &headers, "Sign in", |chrome| {
        render_page(
            &state,
            LoginPage {
                chrome,
                errors: vec![],
                email: String::new(),
                notice,
            },
        )
    })
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn account_subject(email: &str) -> String {
    // Throttling rows must not hold an e-mail address: a digest identifies the account.
    format!("account:{}", crypto::digest(&email.trim().to_lowercase()))
}

async fn login(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Response {
    match try_login(&state, &parts, &form).await {
        Ok(res) => res,
        Err(e) => PageError(state, e).into_response(),
    }
}

async fn try_login(
    state: &AppState,
    parts: &Parts,
    form: &LoginForm,
) -> Result<Response, AppError> {
    let store = state.store();
    let client = auth::client_of(parts);
    let account = account_subject(&form.email);
    let client_subject = format!("client:{client}");
    let since = now_unix() - WINDOW;
    let refuse = |message: &str, status: StatusCode| -> Result<Response, AppError> {
        let (binding, _) = pre_binding(&parts.headers);
        let page = LoginPage {
            chrome: Chrome::staff(state, "Sign in", &crypto::csrf_token(&binding)),
            errors: vec![FieldError {
                field: "email".into(),
                message: message.into(),
            }],
            email: form.email.trim().chars().take(254).collect(),
            notice: None,
        };
        Ok((status, render_page(state, page)).into_response())
    };
    if store.login_failures_since(&account, since).await? >= ACCOUNT_LIMIT
        || store.login_failures_since(&client_subject, since).await? >= CLIENT_LIMIT
    {
        store
            .audit(system_event(
                "login_throttled",
                "user",
                "",
                &client,
                "denied",
            ))
            .await?;
        return refuse(
            "Too many failed attempts. Wait 15 minutes, then try again, or reset your password.",
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let user = store.user_by_email(&form.email).await?;
    let hash = match &user {
        Some(u) => store.password_hash(&u.id).await?,
        None => None,
    };
    // Verify against a dummy hash when there is no account, so timing does not tell.
    let ok = crypto::verify_password(
        &form.password,
        hash.as_deref().unwrap_or(crypto::dummy_hash()),
    ) && hash.is_some();
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        other => {
            store.record_login_failure(&account).await?;
            store.record_login_failure(&client_subject).await?;
            let id = other.map(|u| u.id).unwrap_or_default();
            store
                .audit(system_event("login_failed", "user", &id, &client, "denied"))
                .await?;
            return refuse(
                "Enter a correct e-mail address and password",
                StatusCode::OK,
            );
        }
    };
    store.clear_login_failures(&account).await?;
    let needs_totp = state.settings().require_totp_for_case_roles && user.roles.reads_cases();
    let stage = if user.totp_enabled {
        STAGE_TOTP
    } else if needs_totp {
        STAGE_ENROL
    } else {
        STAGE_FULL
    };
    // A brand-new session id at sign-in: any id planted before sign-in is worthless.
    let raw = crypto::random_token();
    store
        .create_session(&crypto::digest(&raw), &user.id, stage, &client)
        .await?;
    if let Some(old) = auth::cookie(&parts.headers, SESSION_COOKIE) {
        store.delete_session(&crypto::digest(old)).await?;
    }
    let mut event = system_event(
        if stage == STAGE_FULL {
            "login"
        } else {
            "login_password_ok"
        },
        "user",
        &user.id,
        &client,
        "allowed",
    );
    event.actor_id = user.id.clone();
    event.actor_agency = user.agency_id.clone();
    store.audit(event).await?;
    if stage == STAGE_FULL {
        store.touch_login(&user.id).await?;
    }
    let to = match stage {
        STAGE_TOTP => "/login/two-factor",
        STAGE_ENROL => "/account/two-factor",
        _ => "/dashboard",
    };
    let res = Redirect::to(to).into_response();
    let res = with_cookie(res, auth::set_cookie(state, SESSION_COOKIE, &raw));
    Ok(with_cookie(res, auth::clear_cookie(state, PRE_COOKIE)))
}

/// A session part-way through sign-in, at a given stage.
async fn pending(
    state: &AppState,
    headers: &HeaderMap,
    stage: &str,
) -> Result<(String, pathways_store::SessionUser), AppError> {
    match auth::load_session(state, headers).await? {
        Some((raw, _, su)) if su.session.stage == stage => Ok((raw, su)),
        _ => Err(AppError::Unauthenticated),
    }
}

async fn two_factor_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match pending(&state, &headers, STAGE_TOTP).await {
        Ok((raw, _)) => render_page(
            &state,
            TwoFactorPage {
                chrome: Chrome::staff(&state, "Security code", &crypto::csrf_token(&raw)),
                errors: vec![],
            },
        ),
        Err(e) => PageError(state, e).into_response(),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    secret: String,
    /// Asked of a fully signed-in user changing their second factor.
    #[serde(default)]
    password: String,
}

async fn two_factor(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CodeForm>,
) -> Response {
    let result = async {
        let (raw, su) = pending(&state, &parts.headers, STAGE_TOTP).await?;
        let store = state.store();
        let client = auth::client_of(&parts);
        let subject = format!("totp:{}", su.user.id);
        if store
            .login_failures_since(&subject, now_unix() - WINDOW)
            .await?
            >= ACCOUNT_LIMIT
        {
            store.delete_session(&crypto::digest(&raw)).await?;
            return Err(AppError::TooManyRequests);
        }
        let secret = store.totp_secret(&su.user.id).await?.unwrap_or_default();
        let code = form.code.trim();
        let ok = crypto::verify_totp(&secret, code, now_unix())
            || (code.len() > 6
                && store
                    .use_recovery_code(&su.user.id, &crypto::digest(&code.to_lowercase()))
                    .await?);
        let mut event = system_event(
            "login_second_factor",
            "user",
            &su.user.id,
            &client,
            if ok { "allowed" } else { "denied" },
        );
        event.actor_id = su.user.id.clone();
        store.audit(event).await?;
        if !ok {
            store.record_login_failure(&subject).await?;
            let page = TwoFactorPage {
                chrome: Chrome::staff(&state, "Security code", &crypto::csrf_token(&raw)),
                errors: vec![FieldError {
                    field: "code".into(),
                    message: "The code is not right. Check your app and try again.".into(),
                }],
            };
            return Ok(render_page(&state, page));
        }
        store.clear_login_failures(&subject).await?;
        store.touch_login(&su.user.id).await?;
        let fresh = crypto::random_token();
        store
            .rotate_session(&crypto::digest(&raw), &crypto::digest(&fresh), STAGE_FULL)
            .await?;
        Ok(with_cookie(
            Redirect::to("/dashboard").into_response(),
            auth::set_cookie(&state, SESSION_COOKIE, &fresh),
        ))
    }
    .await;
    result.unwrap_or_else(|e| PageError(state, e).into_response())
}

/// Enrolment is open to a session at the enrol stage, or a signed-in user adding a factor.
async fn enrolling(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(String, pathways_store::SessionUser), AppError> {
    match auth::load_session(state, headers).await? {
        Some((raw, _, su)) if su.session.stage == STAGE_ENROL || su.session.stage == STAGE_FULL => {
            Ok((raw, su))
        }
        _ => Err(AppError::Unauthenticated),
    }
}

fn enrol_page(
    state: &AppState,
    raw: &str,
    su: &pathways_store::SessionUser,
    secret: String,
    errors: Vec<FieldError>,
) -> Response {
    let uri = crypto::totp_uri(&secret, &su.user.email, &state.settings().service_name);
    let message = |field: &str| {
        errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
            .unwrap_or_default()
    };
    let (password_error, code_error) = (message("password"), message("code"));
    let page = EnrolPage {
        chrome: Chrome::staff(state, "Set up your security code", &crypto::csrf_token(raw)),
        errors,
        qr_svg: crypto::qr_svg(&uri).unwrap_or_default(),
        secret,
        confirm_password: su.session.stage == STAGE_FULL,
        password_error,
        code_error,
    };
    render_page(state, page)
}

async fn enrol_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match enrolling(&state, &headers).await {
        Ok((raw, su)) => enrol_page(&state, &raw, &su, crypto::new_totp_secret(), vec![]),
        Err(e) => PageError(state, e).into_response(),
    }
}

async fn enrol(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CodeForm>,
) -> Response {
    let result = async {
        let (raw, su) = enrolling(&state, &parts.headers).await?;
        let store = state.store();
        let secret = form.secret.trim().to_string();
        let secret_or_new = |s: String| if s.len() >= 16 { s } else { crypto::new_totp_secret() };
        // Someone holding a signed-in session (a borrowed or stolen one) must not be able to
        // move the account's second factor to their own phone: they re-enter the password.
        if su.session.stage == STAGE_FULL {
            let subject = format!("reauth:{}", su.user.id);
            if store.login_failures_since(&subject, now_unix() - WINDOW).await? >= ACCOUNT_LIMIT {
                return Err(AppError::TooManyRequests);
            }
            let hash = store.password_hash(&su.user.id).await?;
            let ok = crypto::verify_password(&form.password, hash.as_deref().unwrap_or(crypto::dummy_hash()))
                && hash.is_some();
            if !ok {
                store.record_login_failure(&subject).await?;
                let mut event = system_event("second_factor_change_refused", "user", &su.user.id, &auth::client_of(&parts), "denied");
                event.actor_id = su.user.id.clone();
                store.audit(event).await?;
                let errors = vec![FieldError { field: "password".into(), message: "Your password is not right. Enter the password you sign in with.".into() }];
                let mut page = enrol_page(&state, &raw, &su, secret_or_new(secret), errors);
                *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                return Ok(page);
            }
        }
        if secret.len() < 16 || !crypto::verify_totp(&secret, &form.code, now_unix()) {
            let errors = vec![FieldError { field: "code".into(), message: "The code is not right. Scan the QR code again and enter the code your app shows.".into() }];
            return Ok(enrol_page(&state, &raw, &su, secret_or_new(secret), errors));
        }
        store.set_totp(&su.user.id, Some(&secret), true).await?;
        let codes = crypto::recovery_codes();
        let digests: Vec<String> = codes.iter().map(|c| crypto::digest(c)).collect();
        store.set_recovery_codes(&su.user.id, &digests).await?;
        let mut event = system_event("second_factor_enrolled", "user", &su.user.id, &auth::client_of(&parts), "allowed");
        event.actor_id = su.user.id.clone();
        store.audit(event).await?;
        let fresh = crypto::random_token();
        store.rotate_session(&crypto::digest(&raw), &crypto::digest(&fresh), STAGE_FULL).await?;
        store.touch_login(&su.user.id).await?;
        let page = RecoveryCodesPage { chrome: Chrome::staff(&state, "Recovery codes", &crypto::csrf_token(&fresh)), codes };
        Ok(with_cookie(render_page(&state, page), auth::set_cookie(&state, SESSION_COOKIE, &fresh)))
    }
    .await;
    result.unwrap_or_else(|e| PageError(state, e).into_response())
}

async fn logout(State(state): State<AppState>, staff: Staff) -> Response {
    let store = state.store();
    let _ = store.delete_session(&staff.session_hash).await;
    let _ = store
        .audit(staff.event("logout", "user", &staff.user.id, "allowed"))
        .await;
    with_cookie(
        Redirect::to("/login?signed-out").into_response(),
        auth::clear_cookie(&state, SESSION_COOKIE),
    )
}

async fn forgot_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    anonymous_page(&state, &headers, "Reset your password", |chrome| {
        render_page(
            &state,
            ForgotPage {
                chrome,
                errors: vec![],
            },
        )
    })
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

async fn forgot(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<EmailForm>,
) -> Response {
    let result = async {
        let store = state.store();
        let client = auth::client_of(&parts);
        let subject = format!("reset:{client}");
        if store.login_failures_since(&subject, now_unix() - WINDOW).await? >= ACCOUNT_LIMIT {
            return Err(AppError::TooManyRequests);
        }
        store.record_login_failure(&subject).await?;
        if let Some(user) = store.user_by_email(&form.email).await?.filter(|u| !u.disabled && u.has_password) {
            crate::accounts::send_link(store, &state.settings().public_url, &user, "reset")
                .await
                .map_err(|e| AppError::internal(e.to_string()))?;
            store.audit(system_event("password_reset_requested", "user", &user.id, &client, "allowed")).await?;
        }
        // The same answer whether or not the address has an account.
        let page = MessagePage {
            chrome: Chrome::staff(&state, "Check your e-mail", ""),
            heading: "Check your e-mail".into(),
            paragraphs: vec!["If that address belongs to an account, we have sent a link to reset the password. It works once, for one hour.".into()],
            link: Some(("/login".into(), "Back to sign in".into())),
        };
        Ok(render_page(&state, page))
    }
    .await;
    result.unwrap_or_else(|e| PageError(state, e).into_response())
}

async fn link_form(
    state: AppState,
    headers: HeaderMap,
    token: String,
    purpose: &'static str,
) -> Response {
    let live = state
        .store()
        .peek_link(&crypto::digest(&token), purpose)
        .await;
    match live {
        Ok(Some(_)) => {
            let (heading, action) = if purpose == "invite" {
                ("Choose your password", format!("/invite/{token}"))
            } else {
                ("Choose a new password", format!("/password/reset/{token}"))
            };
            anonymous_page(&state, &headers, heading, |chrome| {
                render_page(
                    &state,
                    PasswordPage {
                        chrome,
                        errors: vec![],
                        heading: heading.into(),
                        action,
                    },
                )
            })
        }
        Ok(None) => dead_link(&state),
        Err(e) => PageError(state, e.into()).into_response(),
    }
}

fn dead_link(state: &AppState) -> Response {
    let page = MessagePage {
        chrome: Chrome::staff(state, "Link not valid", ""),
        heading: "This link has expired or has already been used".into(),
        paragraphs: vec!["Links work once and for a limited time. Ask for a new one, or ask an administrator to send you one.".into()],
        link: Some(("/password/forgot".into(), "Ask for a new link".into())),
    };
    (StatusCode::GONE, render_page(state, page)).into_response()
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn link_submit(
    state: AppState,
    parts: Parts,
    token: String,
    purpose: &'static str,
    form: PasswordForm,
) -> Response {
    let result = async {
        let store = state.store();
        let digest = crypto::digest(&token);
        let Some(user_id) = store.peek_link(&digest, purpose).await? else {
            store
                .audit(system_event(
                    "link_refused",
                    "user",
                    "",
                    &auth::client_of(&parts),
                    "denied",
                ))
                .await?;
            return Ok(dead_link(&state));
        };
        let user = store.user(&user_id).await?;
        let problem = if form.password != form.confirm {
            Some("The passwords do not match".to_string())
        } else {
            check_new_password(&form.password, &user.email)
                .err()
                .map(|p| p.to_string())
        };
        if let Some(message) = problem {
            let (binding, _) = pre_binding(&parts.headers);
            let page = PasswordPage {
                chrome: Chrome::staff(&state, "Choose a password", &crypto::csrf_token(&binding)),
                errors: vec![FieldError {
                    field: "password".into(),
                    message,
                }],
                heading: "Choose a password".into(),
                action: parts.uri.path().to_string(),
            };
            return Ok(render_page(&state, page));
        }
        let hash =
            crypto::hash_password(&form.password).map_err(|e| AppError::internal(e.to_string()))?;
        match store
            .consume_link_setting_password(&digest, purpose, &hash)
            .await?
        {
            Some(uid) => {
                let mut event = system_event(
                    if purpose == "invite" {
                        "invitation_accepted"
                    } else {
                        "password_reset"
                    },
                    "user",
                    &uid,
                    &auth::client_of(&parts),
                    "allowed",
                );
                event.actor_id = uid;
                store.audit(event).await?;
                Ok(Redirect::to("/login?password-set").into_response())
            }
            None => Ok(dead_link(&state)),
        }
    }
    .await;
    result.unwrap_or_else(|e: AppError| PageError(state, e).into_response())
}

async fn reset_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    link_form(state, headers, token, "reset").await
}

async fn reset(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
    Form(form): Form<PasswordForm>,
) -> Response {
    link_submit(state, parts, token, "reset", form).await
}

async fn invite_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    link_form(state, headers, token, "invite").await
}

async fn accept_invite(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
    Form(form): Form<PasswordForm>,
) -> Response {
    link_submit(state, parts, token, "invite", form).await
}

async fn dashboard(State(state): State<AppState>, staff: Staff) -> Response {
    let result = async {
        let notifications = state.store().notifications(&staff.user.id, 10).await?;
        let mut tiles = Vec::new();
        for (p, href, title, text) in TILES {
            if staff.can(*p) {
                tiles.push((*href, *title, *text));
            }
        }
        Ok::<_, AppError>(render_page(
            &state,
            Dashboard {
                chrome: staff.chrome(&state, "Home"),
                name: staff.user.display_name.clone(),
                notifications,
                tiles,
            },
        ))
    }
    .await;
    result.unwrap_or_else(|e| PageError(state, e).into_response())
}

const TILES: &[(Permission, &str, &str, &str)] = &[
    (
        Permission::MakeReferral,
        "/referrals/new",
        "Make a referral",
        "Refer a young person or a possible victim for support.",
    ),
    (
        Permission::WorkCases,
        "/cases",
        "Cases",
        "Your caseload, tasks due and reviews.",
    ),
    (
        Permission::TriageReferrals,
        "/referrals/triage",
        "Triage",
        "New referrals waiting for a decision.",
    ),
    (
        Permission::CoordinatePanels,
        "/panels",
        "Panels",
        "MARAC and MACE meetings, agendas and actions.",
    ),
    (
        Permission::ViewInsight,
        "/insight",
        "Insight",
        "Crime trends, harm and hotspots for the borough.",
    ),
    (
        Permission::EditDirectory,
        "/directory",
        "Directory",
        "Services residents can find on Find support.",
    ),
    (
        Permission::Administer,
        "/admin",
        "Administration",
        "Agencies, users, API tokens and the audit log.",
    ),
];
