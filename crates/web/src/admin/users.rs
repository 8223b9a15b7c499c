//! Users: the list filtered by agency, inviting a new user (the link is shown to the
//! administrator and queued in the outbox), and one user's page: roles, disabling, reset
//! links and removing the second factor.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use pathways_app::identity::{self as uc, InviteInput};
use pathways_domain::{Role, RoleSet};
use pathways_store::{LinkPurpose, User};
use serde::Deserialize;

use super::{done, field_errors, invalid, notice, when_opt};
use crate::auth::{Staff, form_field, form_pairs};
use crate::error::{AppError, FieldError, html};
use crate::{AppState, Chrome};

/// A user as the tables show them.
struct Row {
    id: String,
    name: String,
    email: String,
    agency: String,
    roles: String,
    status: &'static str,
    second_factor: bool,
    last_login: String,
}

fn status(u: &User) -> &'static str {
    if u.disabled {
        "Disabled"
    } else if !u.has_password {
        "Invited"
    } else {
        "Active"
    }
}

fn role_labels(roles: &RoleSet) -> String {
    roles
        .roles()
        .iter()
        .map(|r| r.label())
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(u: User, agencies: &HashMap<String, String>) -> Row {
    Row {
        status: status(&u),
        roles: role_labels(&u.roles),
        agency: agencies.get(&u.agency_id).cloned().unwrap_or_default(),
        second_factor: u.totp_enabled,
        last_login: when_opt(u.last_login_at, "Never"),
        id: u.id,
        name: u.display_name,
        email: u.email,
    }
}

async fn agency_names(
    state: &AppState,
    staff: &Staff,
) -> Result<(HashMap<String, String>, Vec<(String, String, bool)>), AppError> {
    let all = pathways_app::agencies::list(state.app(), &staff.caller()).await?;
    let names = all.iter().map(|a| (a.id.clone(), a.name.clone())).collect();
    let options = all
        .into_iter()
        .map(|a| (a.id, a.name, a.archived_at.is_some()))
        .collect();
    Ok((names, options))
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<Row>,
    agencies: Vec<(String, String, bool)>,
    agency: String,
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    agency: String,
}

pub(super) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let (names, agencies) = agency_names(&state, &staff).await?;
    let filter = (!q.agency.is_empty()).then_some(q.agency.as_str());
    let users = uc::users(state.app(), &staff.caller(), filter)
        .await?
        .into_iter()
        .map(|u| row(u, &names))
        .collect();
    html(UsersPage {
        chrome: staff.chrome(&state, "Users"),
        users,
        agencies,
        agency: q.agency,
    })
}

#[derive(Template)]
#[template(path = "admin/invite.html")]
struct InvitePage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    agencies: Vec<(String, String, bool)>,
    roles: Vec<(&'static str, &'static str, bool)>,
    agency: String,
    email: String,
    name: String,
}

#[derive(Template)]
#[template(path = "admin/link.html")]
struct LinkPage {
    chrome: Chrome,
    heading: String,
    intro: String,
    link: String,
    user_id: String,
}

fn role_options(chosen: &[Role]) -> Vec<(&'static str, &'static str, bool)> {
    Role::ALL
        .iter()
        .map(|r| (r.key(), r.label(), chosen.contains(r)))
        .collect()
}

/// The role keys ticked in a form.
fn ticked_roles(body: &[u8]) -> Vec<String> {
    form_pairs(body)
        .into_iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| v)
        .collect()
}

async fn invite_page(
    state: &AppState,
    staff: &Staff,
    errors: Vec<FieldError>,
    input: InviteInput,
) -> Result<InvitePage, AppError> {
    let (_, agencies) = agency_names(state, staff).await?;
    let chosen: Vec<Role> = input.roles.iter().filter_map(|k| Role::parse(k)).collect();
    Ok(InvitePage {
        chrome: staff.chrome(state, "Invite a user"),
        errors,
        agencies,
        roles: role_options(&chosen),
        agency: input.agency_id,
        email: input.email,
        name: input.name,
    })
}

pub(super) async fn invite_form(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, AppError> {
    html(invite_page(&state, &staff, vec![], InviteInput::default()).await?)
}

pub(super) async fn invite(
    State(state): State<AppState>,
    staff: Staff,
    body: Bytes,
) -> Result<Response, AppError> {
    let input = InviteInput {
        agency_id: form_field(&body, "agency").unwrap_or_default(),
        email: form_field(&body, "email").unwrap_or_default(),
        name: form_field(&body, "name").unwrap_or_default(),
        roles: ticked_roles(&body),
    };
    let base = &state.settings().public_url;
    match uc::invite(state.app(), &staff.caller(), base, &input).await {
        Ok((user, link)) => html(LinkPage {
            chrome: staff.chrome(&state, "Invitation sent"),
            heading: format!("{} has been invited", user.display_name),
            intro: "The invitation is in the outbox. Until e-mail delivery is set up, give the person this link yourself. It works once, within 7 days.".into(),
            link,
            user_id: user.id,
        }),
        Err(e) => {
            let errors = field_errors(e)?;
            invalid(invite_page(&state, &staff, errors, input).await?)
        }
    }
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
    user: Row,
    roles: Vec<(&'static str, &'static str, bool)>,
    disabled: bool,
    has_password: bool,
    is_self: bool,
}

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    done: Option<String>,
}

async fn user_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    errors: Vec<FieldError>,
    done: Option<&str>,
    audit_read: bool,
) -> Result<UserPage, AppError> {
    let caller = staff.caller();
    let user = uc::user(state.app(), &caller, id, audit_read).await?;
    let (names, _) = agency_names(state, staff).await?;
    Ok(UserPage {
        chrome: staff.chrome(state, "User"),
        errors,
        notice: notice(done),
        roles: role_options(user.roles.roles()),
        disabled: user.disabled,
        has_password: user.has_password,
        is_self: user.id == staff.user.id,
        user: row(user, &names),
    })
}

/// The user page again with the problems of a refused change (422).
async fn refused(
    state: &AppState,
    staff: &Staff,
    id: &str,
    e: pathways_app::Error,
) -> Result<Response, AppError> {
    let errors = field_errors(e)?;
    invalid(user_page(state, staff, id, errors, None, false).await?)
}

pub(super) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let audit = state.settings().audit_reads;
    html(user_page(&state, &staff, &id, vec![], q.done.as_deref(), audit).await?)
}

pub(super) async fn set_roles(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    match uc::set_roles(state.app(), &staff.caller(), &id, &ticked_roles(&body)).await {
        Ok(()) => done(&format!("/admin/users/{id}?done=roles-changed")),
        Err(e) => refused(&state, &staff, &id, e).await,
    }
}

async fn set_disabled(
    state: AppState,
    staff: Staff,
    id: String,
    disabled: bool,
) -> Result<Response, AppError> {
    match uc::set_disabled(state.app(), &staff.caller(), &id, disabled).await {
        Ok(()) => done(&format!(
            "/admin/users/{id}?done={}",
            if disabled { "disabled" } else { "enabled" }
        )),
        Err(e) => refused(&state, &staff, &id, e).await,
    }
}

pub(super) async fn disable(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    set_disabled(state, staff, id, true).await
}

pub(super) async fn enable(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    set_disabled(state, staff, id, false).await
}

pub(super) async fn reset_link(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let base = &state.settings().public_url;
    let (purpose, link) = uc::send_link(state.app(), &staff.caller(), base, &id).await?;
    let (heading, intro) = match purpose {
        LinkPurpose::Reset => (
            "Password reset link sent",
            "The link is in the outbox. Until e-mail delivery is set up, give the person this link yourself. It works once, within one hour.",
        ),
        LinkPurpose::Invite => (
            "Invitation sent again",
            "The new invitation is in the outbox and the earlier one no longer works. It works once, within 7 days.",
        ),
    };
    html(LinkPage {
        chrome: staff.chrome(&state, heading),
        heading: heading.into(),
        intro: intro.into(),
        link,
        user_id: id,
    })
}

pub(super) async fn reset_second_factor(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    uc::reset_second_factor(state.app(), &staff.caller(), &id).await?;
    done(&format!("/admin/users/{id}?done=second-factor-reset"))
}
