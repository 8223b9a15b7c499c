//! Users: the list filtered by agency, inviting a new user (the link is shown to the
//! administrator and queued in the outbox), and one user's page: roles, disabling, reset
//! links and removing the second factor.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use pathways_domain::{Permission, Role, RoleSet};
use pathways_store::User;
use serde::Deserialize;

use super::{done, field, notice, render, render_invalid, respond, when_opt};
use crate::accounts::{self, AccountError};
use crate::auth::{Staff, form_field, form_pairs};
use crate::error::{AppError, FieldError};
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
) -> Result<(HashMap<String, String>, Vec<(String, String, bool)>), AppError> {
    let all = state.store().list_agencies().await?;
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
) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let (names, agencies) = agency_names(&state).await?;
        let filter = (!q.agency.is_empty()).then_some(q.agency.as_str());
        let users = state
            .store()
            .list_users(filter)
            .await?
            .into_iter()
            .map(|u| row(u, &names))
            .collect();
        render(UsersPage {
            chrome: staff.chrome(&state, "Users"),
            users,
            agencies,
            agency: q.agency.clone(),
        })
    }
    .await;
    respond(&state, result)
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

/// The roles ticked in a form; unknown keys are reported.
fn chosen_roles(body: &[u8]) -> Result<Vec<Role>, FieldError> {
    form_pairs(body)
        .into_iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| Role::parse(&v).ok_or_else(|| field("role", "Choose roles from the list")))
        .collect()
}

pub(super) async fn invite_form(State(state): State<AppState>, staff: Staff) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let (_, agencies) = agency_names(&state).await?;
        render(InvitePage {
            chrome: staff.chrome(&state, "Invite a user"),
            errors: vec![],
            agencies,
            roles: role_options(&[]),
            agency: String::new(),
            email: String::new(),
            name: String::new(),
        })
    }
    .await;
    respond(&state, result)
}

pub(super) async fn invite(State(state): State<AppState>, staff: Staff, body: Bytes) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let agency = form_field(&body, "agency").unwrap_or_default();
        let email = form_field(&body, "email").unwrap_or_default();
        let name = form_field(&body, "name").unwrap_or_default();
        let mut errors = Vec::new();
        let roles = chosen_roles(&body).unwrap_or_else(|e| {
            errors.push(e);
            Vec::new()
        });
        match state.store().agency(&agency).await {
            Ok(a) if a.archived_at.is_none() => {}
            Ok(_) => errors.push(field("agency", "That agency is archived: restore it first or choose another")),
            Err(_) => errors.push(field("agency", "Choose the person's agency")),
        }
        if errors.is_empty() {
            let outcome = accounts::invite(
                state.store(),
                &state.settings().public_url,
                &agency,
                &email,
                &name,
                RoleSet::new(roles.clone()),
                staff.event("user_invited", "user", "", "allowed"),
            )
            .await;
            match outcome {
                Ok((user, link)) => {
                    return render(LinkPage {
                        chrome: staff.chrome(&state, "Invitation sent"),
                        heading: format!("{} has been invited", user.display_name),
                        intro: "The invitation is in the outbox. Until e-mail delivery is set up, give the person this link yourself. It works once, within 7 days.".into(),
                        link,
                        user_id: user.id,
                    });
                }
                Err(AccountError::Invalid { field: f, message }) => {
                    let f = if f == "display_name" { "name" } else if f == "roles" { "role" } else { f };
                    errors.push(field(f, message));
                }
                Err(AccountError::Store(e)) => return Err(e.into()),
            }
        }
        let (_, agencies) = agency_names(&state).await?;
        render_invalid(InvitePage {
            chrome: staff.chrome(&state, "Invite a user"),
            errors,
            agencies,
            roles: role_options(&roles),
            agency,
            email,
            name,
        })
    }
    .await;
    respond(&state, result)
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
) -> Result<UserPage, AppError> {
    let user = state.store().user(id).await?;
    let agency = state.store().agency(&user.agency_id).await?;
    let names = HashMap::from([(agency.id, agency.name)]);
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

pub(super) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let page = user_page(&state, &staff, &id, vec![], q.done.as_deref()).await?;
        if state.settings().audit_reads {
            // A user's account is personal data: every view is a read of a protected record.
            state
                .store()
                .audit(staff.event("record_read", "user", &id, "allowed"))
                .await?;
        }
        render(page)
    }
    .await;
    respond(&state, result)
}

pub(super) async fn set_roles(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let user = state.store().user(&id).await?;
        let mut errors = Vec::new();
        match chosen_roles(&body) {
            Ok(roles) if roles.is_empty() => errors.push(field(
                "role",
                "Choose at least one role, or disable the account instead",
            )),
            Ok(roles) => {
                let new = RoleSet::new(roles);
                if user.id == staff.user.id && !new.has(Permission::Administer) {
                    errors.push(field(
                        "role",
                        "You cannot remove your own administrator role: ask another administrator",
                    ));
                } else {
                    state.store().set_roles(&id, &new).await?;
                    let change = format!("{} -> {}", user.roles.to_stored(), new.to_stored());
                    state
                        .store()
                        .audit(staff.event("permission_change", "user", &id, &change))
                        .await?;
                    return done(&format!("/admin/users/{id}?done=roles-changed"));
                }
            }
            Err(e) => errors.push(e),
        }
        render_invalid(user_page(&state, &staff, &id, errors, None).await?)
    }
    .await;
    respond(&state, result)
}

async fn set_disabled(state: AppState, staff: Staff, id: String, disabled: bool) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let user = state.store().user(&id).await?;
        if disabled && user.id == staff.user.id {
            let errors = vec![field(
                "disable",
                "You cannot disable your own account: ask another administrator",
            )];
            return render_invalid(user_page(&state, &staff, &id, errors, None).await?);
        }
        state.store().set_user_disabled(&id, disabled).await?;
        let action = if disabled {
            "user_disabled"
        } else {
            "user_enabled"
        };
        state
            .store()
            .audit(staff.event(action, "user", &id, "allowed"))
            .await?;
        done(&format!(
            "/admin/users/{id}?done={}",
            if disabled { "disabled" } else { "enabled" }
        ))
    }
    .await;
    respond(&state, result)
}

pub(super) async fn disable(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    set_disabled(state, staff, id, true).await
}

pub(super) async fn enable(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    set_disabled(state, staff, id, false).await
}

pub(super) async fn reset_link(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let user = state.store().user(&id).await?;
        // Someone who never accepted their invitation gets a fresh invitation instead.
        let purpose = if user.has_password { "reset" } else { "invite" };
        let link = accounts::send_link(state.store(), &state.settings().public_url, &user, purpose)
            .await
            .map_err(|e| AppError::internal(e.to_string()))?;
        let action = if purpose == "reset" { "reset_link_sent" } else { "invitation_resent" };
        state.store().audit(staff.event(action, "user", &id, "allowed")).await?;
        let (heading, intro) = if purpose == "reset" {
            ("Password reset link sent", "The link is in the outbox. Until e-mail delivery is set up, give the person this link yourself. It works once, within one hour.")
        } else {
            ("Invitation sent again", "The new invitation is in the outbox and the earlier one no longer works. It works once, within 7 days.")
        };
        render(LinkPage { chrome: staff.chrome(&state, heading), heading: heading.into(), intro: intro.into(), link, user_id: id })
    }
    .await;
    respond(&state, result)
}

pub(super) async fn reset_second_factor(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        staff.require(Permission::Administer)?;
        let store = state.store();
        store.user(&id).await?;
        store.set_totp(&id, None, false).await?;
        store.set_recovery_codes(&id, &[]).await?;
        store.delete_user_sessions(&id).await?;
        store
            .audit(staff.event("second_factor_reset", "user", &id, "allowed"))
            .await?;
        done(&format!("/admin/users/{id}?done=second-factor-reset"))
    }
    .await;
    respond(&state, result)
}
