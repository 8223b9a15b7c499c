//! Signing in and out: password, then the TOTP second factor (or enrolment when the role
//! requires one), throttling, password reset and invitation links, and the dashboard. Each
//! handler reads its input, calls one use case of `pathways_app::identity`, and renders the
//! answer.

use askama::Template;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pathways_app::identity::{self as uc, Enrol, SecondFactor, SignIn};
use pathways_domain::AuditAction as A;
use pathways_domain::Permission;
use pathways_store::{LinkPurpose, Notification};
use serde::Deserialize;

use crate::auth::{self, PRE_COOKIE, SESSION_COOKIE, STAGE_ENROL, STAGE_FULL, STAGE_TOTP, Staff};
use crate::error::{AppError, FieldError, html};
use crate::forms::message_for;
use crate::routes::{Guard, Route, Verb};
use crate::{AppState, Chrome, crypto};

/// Every route of sign-in and accounts.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        verb: Verb::Get,
        path: "/login",
        guard: Guard::Public,
        audit: &[],
        summary: "the sign-in form",
        handler: || get(login_form),
    },
    Route {
        verb: Verb::Post,
        path: "/login",
        guard: Guard::Public,
        audit: &[
            A::Login,
            A::LoginPasswordOk,
            A::LoginFailed,
            A::LoginThrottled,
        ],
        summary: "sign in with e-mail address and password",
        handler: || post(login),
    },
    Route {
        verb: Verb::Get,
        path: "/login/two-factor",
        guard: Guard::Public,
        audit: &[],
        summary: "the security code form (password accepted)",
        handler: || get(two_factor_form),
    },
    Route {
        verb: Verb::Post,
        path: "/login/two-factor",
        guard: Guard::Public,
        audit: &[A::LoginSecondFactor],
        summary: "give the security code or a recovery code",
        handler: || post(two_factor),
    },
    Route {
        verb: Verb::Get,
        path: "/account/two-factor",
        guard: Guard::Staff,
        audit: &[],
        summary: "set up an authenticator",
        handler: || get(enrol_form),
    },
    Route {
        verb: Verb::Post,
        path: "/account/two-factor",
        guard: Guard::Staff,
        audit: &[A::SecondFactorEnrolled, A::SecondFactorChangeRefused],
        summary: "confirm an authenticator; shows recovery codes",
        handler: || post(enrol),
    },
    Route {
        verb: Verb::Post,
        path: "/logout",
        guard: Guard::Staff,
        audit: &[A::Logout],
        summary: "sign out",
        handler: || post(logout),
    },
    Route {
        verb: Verb::Get,
        path: "/password/forgot",
        guard: Guard::Public,
        audit: &[],
        summary: "ask for a password reset link",
        handler: || get(forgot_form),
    },
    Route {
        verb: Verb::Post,
        path: "/password/forgot",
        guard: Guard::Public,
        audit: &[A::PasswordResetRequested],
        summary: "send a password reset link",
        handler: || post(forgot),
    },
    Route {
        verb: Verb::Get,
        path: "/password/reset/{token}",
        guard: Guard::Public,
        audit: &[],
        summary: "choose a new password from a link",
        handler: || get(reset_form),
    },
    Route {
        verb: Verb::Post,
        path: "/password/reset/{token}",
        guard: Guard::Public,
        audit: &[A::PasswordReset, A::LinkRefused],
        summary: "set a new password from a link",
        handler: || post(reset),
    },
    Route {
        verb: Verb::Get,
        path: "/invite/{token}",
        guard: Guard::Public,
        audit: &[],
        summary: "choose a password from an invitation",
        handler: || get(invite_form),
    },
    Route {
        verb: Verb::Post,
        path: "/invite/{token}",
        guard: Guard::Public,
        audit: &[A::InvitationAccepted, A::LinkRefused],
        summary: "accept an invitation",
        handler: || post(accept_invite),
    },
    Route {
        verb: Verb::Get,
        path: "/dashboard",
        guard: Guard::Staff,
        audit: &[],
        summary: "home: notifications and what the user may do",
        handler: || get(dashboard),
    },
];

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

fn with_status(mut res: Response, status: StatusCode) -> Response {
    *res.status_mut() = status;
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
    let fresh = pathways_app::crypto::random_token();
    (fresh.clone(), Some(fresh))
}

/// A page for someone not (fully) signed in, with the CSRF binding it needs.
fn anonymous_page(
    state: &AppState,
    headers: &HeaderMap,
    title: &str,
    build: impl FnOnce(Chrome) -> Result<Response, AppError>,
) -> Result<Response, AppError> {
    let (binding, fresh) = pre_binding(headers);
    let res = build(Chrome::staff(state, title, &state.csrf_token(&binding)))?;
    Ok(match fresh {
        Some(v) => with_cookie(res, auth::set_cookie(state, PRE_COOKIE, &v)),
        None => res,
    })
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let notice = match query.as_deref() {
        Some("signed-out") => Some("You have signed out.".to_string()),
        Some("password-set") => Some("Your password is set. Sign in with it now.".to_string()),
        _ => None,
    };
    anonymous_page(&state, &headers, "Sign in", |chrome| {
        html(LoginPage {
            chrome,
            errors: vec![],
            email: String::new(),
            notice,
        })
    })
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn login(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let outcome = uc::sign_in(
        state.app(),
        &form.email,
        &form.password,
        &auth::client_of(&parts),
        auth::cookie(&parts.headers, SESSION_COOKIE),
        state.settings().require_totp_for_case_roles,
    )
    .await?;
    let refuse = |message: &str, status: StatusCode| -> Result<Response, AppError> {
        let (binding, _) = pre_binding(&parts.headers);
        let page = html(LoginPage {
            chrome: Chrome::staff(&state, "Sign in", &state.csrf_token(&binding)),
            errors: vec![FieldError::new("email", message)],
            email: form.email.trim().chars().take(254).collect(),
            notice: None,
        })?;
        Ok(with_status(page, status))
    };
    let (session, stage) = match outcome {
        SignIn::Throttled => {
            return refuse(
                "Too many failed attempts. Wait 15 minutes, then try again, or reset your password.",
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        SignIn::Refused => {
            return refuse(
                "Enter a correct e-mail address and password",
                StatusCode::OK,
            );
        }
        SignIn::Started { session, stage } => (session, stage),
    };
    let to = match stage {
        STAGE_TOTP => "/login/two-factor",
        STAGE_ENROL => "/account/two-factor",
        _ => "/dashboard",
    };
    let res = Redirect::to(to).into_response();
    let res = with_cookie(res, auth::set_cookie(&state, SESSION_COOKIE, &session));
    Ok(with_cookie(res, auth::clear_cookie(&state, PRE_COOKIE)))
}

/// A session part-way through sign-in, at one of `stages`.
async fn pending(
    state: &AppState,
    headers: &HeaderMap,
    stages: &[&str],
) -> Result<(String, pathways_store::SessionUser), AppError> {
    match auth::load_session(state, headers).await? {
        Some((raw, _, su)) if stages.contains(&su.session.stage.as_str()) => Ok((raw, su)),
        _ => Err(AppError::Unauthenticated),
    }
}

fn two_factor_page(
    state: &AppState,
    raw: &str,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    html(TwoFactorPage {
        chrome: Chrome::staff(state, "Security code", &state.csrf_token(raw)),
        errors,
    })
}

async fn two_factor_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (raw, _) = pending(&state, &headers, &[STAGE_TOTP]).await?;
    two_factor_page(&state, &raw, vec![])
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
) -> Result<Response, AppError> {
    let (raw, su) = pending(&state, &parts.headers, &[STAGE_TOTP]).await?;
    let outcome = uc::second_factor(
        state.app(),
        &raw,
        &su.user,
        &form.code,
        &auth::client_of(&parts),
    )
    .await?;
    match outcome {
        SecondFactor::Throttled => Err(AppError::TooManyRequests),
        SecondFactor::Wrong => two_factor_page(
            &state,
            &raw,
            vec![FieldError::new(
                "code",
                "The code is not right. Check your app and try again.",
            )],
        ),
        SecondFactor::Done { session } => Ok(with_cookie(
            Redirect::to("/dashboard").into_response(),
            auth::set_cookie(&state, SESSION_COOKIE, &session),
        )),
    }
}

fn enrol_page(
    state: &AppState,
    raw: &str,
    su: &pathways_store::SessionUser,
    secret: String,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let uri =
        pathways_app::crypto::totp_uri(&secret, &su.user.email, &state.settings().service_name);
    let password_error = message_for(&errors, "password")
        .unwrap_or_default()
        .to_string();
    let code_error = message_for(&errors, "code").unwrap_or_default().to_string();
    html(EnrolPage {
        chrome: Chrome::staff(state, "Set up your security code", &state.csrf_token(raw)),
        errors,
        qr_svg: crypto::qr_svg(&uri).unwrap_or_default(),
        secret,
        confirm_password: su.session.stage == STAGE_FULL,
        password_error,
        code_error,
    })
}

async fn enrol_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (raw, su) = pending(&state, &headers, &[STAGE_ENROL, STAGE_FULL]).await?;
    enrol_page(
        &state,
        &raw,
        &su,
        pathways_app::crypto::new_totp_secret(),
        vec![],
    )
}

async fn enrol(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let (raw, su) = pending(&state, &parts.headers, &[STAGE_ENROL, STAGE_FULL]).await?;
    let secret = form.secret.trim().to_string();
    let outcome = uc::enrol(
        state.app(),
        &raw,
        &su.session.stage,
        &su.user,
        &uc::EnrolForm {
            secret: &secret,
            code: &form.code,
            password: &form.password,
        },
        &auth::client_of(&parts),
    )
    .await?;
    let secret_or_new = |s: String| {
        if s.len() >= 16 {
            s
        } else {
            pathways_app::crypto::new_totp_secret()
        }
    };
    match outcome {
        Enrol::Throttled => Err(AppError::TooManyRequests),
        Enrol::WrongPassword => {
            let errors = vec![FieldError::new(
                "password",
                "Your password is not right. Enter the password you sign in with.",
            )];
            let page = enrol_page(&state, &raw, &su, secret_or_new(secret), errors)?;
            Ok(with_status(page, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Enrol::WrongCode => {
            let errors = vec![FieldError::new(
                "code",
                "The code is not right. Scan the QR code again and enter the code your app shows.",
            )];
            enrol_page(&state, &raw, &su, secret_or_new(secret), errors)
        }
        Enrol::Done {
            session,
            recovery_codes,
        } => {
            let page = html(RecoveryCodesPage {
                chrome: Chrome::staff(&state, "Recovery codes", &state.csrf_token(&session)),
                codes: recovery_codes,
            })?;
            Ok(with_cookie(
                page,
                auth::set_cookie(&state, SESSION_COOKIE, &session),
            ))
        }
    }
}

async fn logout(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    uc::sign_out(state.app(), &staff.caller(), &staff.session_hash).await?;
    Ok(with_cookie(
        Redirect::to("/login?signed-out").into_response(),
        auth::clear_cookie(&state, SESSION_COOKIE),
    ))
}

async fn forgot_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    anonymous_page(&state, &headers, "Reset your password", |chrome| {
        html(ForgotPage {
            chrome,
            errors: vec![],
        })
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
) -> Result<Response, AppError> {
    let asked = uc::request_reset(
        state.app(),
        &form.email,
        &auth::client_of(&parts),
        &state.settings().public_url,
    )
    .await?;
    if !asked {
        return Err(AppError::TooManyRequests);
    }
    // The same answer whether or not the address has an account.
    html(MessagePage {
        chrome: Chrome::staff(&state, "Check your e-mail", ""),
        heading: "Check your e-mail".into(),
        paragraphs: vec!["If that address belongs to an account, we have sent a link to reset the password. It works once, for one hour.".into()],
        link: Some(("/login".into(), "Back to sign in".into())),
    })
}

fn link_page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    purpose: LinkPurpose,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let (heading, action) = match purpose {
        LinkPurpose::Invite => ("Choose your password", format!("/invite/{token}")),
        LinkPurpose::Reset => ("Choose a new password", format!("/password/reset/{token}")),
    };
    anonymous_page(state, headers, heading, |chrome| {
        html(PasswordPage {
            chrome,
            errors,
            heading: heading.into(),
            action,
        })
    })
}

async fn link_form(
    state: AppState,
    headers: HeaderMap,
    token: String,
    purpose: LinkPurpose,
) -> Result<Response, AppError> {
    if uc::link_is_live(state.app(), &token, purpose).await? {
        link_page(&state, &headers, &token, purpose, vec![])
    } else {
        dead_link(&state)
    }
}

fn dead_link(state: &AppState) -> Result<Response, AppError> {
    let page = html(MessagePage {
        chrome: Chrome::staff(state, "Link not valid", ""),
        heading: "This link has expired or has already been used".into(),
        paragraphs: vec!["Links work once and for a limited time. Ask for a new one, or ask an administrator to send you one.".into()],
        link: Some(("/password/forgot".into(), "Ask for a new link".into())),
    })?;
    Ok(with_status(page, StatusCode::GONE))
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
    purpose: LinkPurpose,
    form: PasswordForm,
) -> Result<Response, AppError> {
    let outcome = uc::set_password_from_link(
        state.app(),
        &token,
        purpose,
        &form.password,
        &form.confirm,
        &auth::client_of(&parts),
    )
    .await;
    match outcome {
        Ok(true) => Ok(Redirect::to("/login?password-set").into_response()),
        Ok(false) => dead_link(&state),
        Err(pathways_app::Error::Invalid(errors)) => {
            link_page(&state, &parts.headers, &token, purpose, errors)
        }
        Err(e) => Err(e.into()),
    }
}

async fn reset_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    link_form(state, headers, token, LinkPurpose::Reset).await
}

async fn reset(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    link_submit(state, parts, token, LinkPurpose::Reset, form).await
}

async fn invite_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    link_form(state, headers, token, LinkPurpose::Invite).await
}

async fn accept_invite(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    link_submit(state, parts, token, LinkPurpose::Invite, form).await
}

async fn dashboard(State(state): State<AppState>, staff: Staff) -> Result<Response, AppError> {
    let notifications = uc::notifications(state.app(), &staff.caller(), 10).await?;
    let tiles = TILES
        .iter()
        .filter(|(p, ..)| staff.can(*p))
        .map(|(_, href, title, text)| (*href, *title, *text))
        .collect();
    html(Dashboard {
        chrome: staff.chrome(&state, "Home"),
        name: staff.user.display_name.clone(),
        notifications,
        tiles,
    })
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
