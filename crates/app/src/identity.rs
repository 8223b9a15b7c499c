//! Who may use Pathways and how they prove it: signing in with a password and a second
//! factor (TOTP or a recovery code), throttling, enrolment, one-time links for invitations
//! and password resets, and the administrator's changes to accounts.
//!
//! Each change is written with its audit entry in one transaction; the message carrying a
//! one-time link is an outbox row written in that same transaction.

use pathways_domain::audit::AuditEvent;
use pathways_domain::password::check_new_password;
use pathways_domain::{AuditAction, Permission, Role, RoleSet};
use pathways_store::{LinkPurpose, Message, NewUser, StoreError, User, now_unix};

use crate::crypto;
use crate::{App, Caller, Error, Fields, RecordKind, Result, commit};

/// Session stage: signed in.
pub const STAGE_FULL: &str = "full";
/// Session stage: password accepted, TOTP code pending.
pub const STAGE_TOTP: &str = "totp";
/// Session stage: password accepted, must enrol a second factor first.
pub const STAGE_ENROL: &str = "enrol";

/// Failed sign-ins allowed per account in the window before a temporary lock-out.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failed sign-ins allowed per client address in the window.
pub const CLIENT_LIMIT: i64 = 20;
/// The throttling window and lock-out, in seconds.
pub const WINDOW: i64 = 15 * 60;

/// Invitations last a week.
pub const INVITE_TTL: i64 = 7 * 24 * 3600;
/// Password-reset links last an hour.
pub const RESET_TTL: i64 = 3600;

const USER: RecordKind = RecordKind::Other("user");

/// Hashes a password with argon2id (for accounts made outside the invitation flow, such as
/// the demo's).
pub fn hash_password(password: &str) -> Result<String> {
    crypto::hash_password(password).map_err(|e| Error::internal(e.to_string()))
}

/// Checks an e-mail address's shape (the rest is proven by the link arriving) and returns it
/// lower-cased.
pub fn parse_email(raw: &str) -> Result<String> {
    let e = raw.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !e.contains(char::is_whitespace);
    if ok {
        Ok(e)
    } else {
        Err(Error::invalid(
            "email",
            "Enter an e-mail address in the correct format, like name@example.org",
        ))
    }
}

fn user_event(action: AuditAction, user: &User, client: &str, outcome: &str) -> AuditEvent {
    let mut e = Caller::anonymous(client).event(action, USER, &user.id);
    e.actor_id = user.id.clone();
    e.actor_agency = user.agency_id.clone();
    e.outcome = outcome.into();
    e
}

fn account_subject(email: &str) -> String {
    // Throttling rows must not hold an e-mail address: a digest identifies the account.
    format!("account:{}", crypto::digest(&email.trim().to_lowercase()))
}

async fn throttled(app: &App, subject: &str, limit: i64) -> Result<bool> {
    Ok(app
        .store()
        .login_failures_since(subject, now_unix() - WINDOW)
        .await?
        >= limit)
}

/// What became of a sign-in with a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Too many failed attempts for the account or the address.
    Throttled,
    /// Wrong e-mail address or password, or a disabled account (the same answer).
    Refused,
    /// A new session at `stage`, whose id (to set as the cookie) is `session`.
    Started {
        /// The new session id (raw; only its digest is stored).
        session: String,
        /// `full`, `totp` or `enrol`.
        stage: &'static str,
    },
}

/// Signs in with an e-mail address and password. A brand-new session id is made, so any id
/// planted before sign-in is worthless; `replaces` (the session the browser held) ends.
pub async fn sign_in(
    app: &App,
    email: &str,
    password: &str,
    client: &str,
    replaces: Option<&str>,
    require_totp_for_case_roles: bool,
) -> Result<SignIn> {
    let store = app.store();
    let anonymous = Caller::anonymous(client);
    let account = account_subject(email);
    let client_subject = format!("client:{client}");
    if throttled(app, &account, ACCOUNT_LIMIT).await?
        || throttled(app, &client_subject, CLIENT_LIMIT).await?
    {
        let mut e = anonymous.refused(AuditAction::LoginThrottled, USER, "");
        e.outcome = "denied".into();
        app.audit(e).await?;
        return Ok(SignIn::Throttled);
    }
    let user = store.user_by_email(email).await?;
    let hash = match &user {
        Some(u) => store.password_hash(&u.id).await?,
        None => None,
    };
    // Verify against a dummy hash when there is no account, so timing does not tell.
    let ok = crypto::verify_password(password, hash.as_deref().unwrap_or(crypto::dummy_hash()))
        && hash.is_some();
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        other => {
            store.record_login_failure(&account).await?;
            store.record_login_failure(&client_subject).await?;
            let id = other.map(|u| u.id).unwrap_or_default();
            app.audit(anonymous.refused(AuditAction::LoginFailed, USER, &id))
                .await?;
            return Ok(SignIn::Refused);
        }
    };
    store.clear_login_failures(&account).await?;
    let needs_totp = require_totp_for_case_roles && user.roles.reads_cases();
    let stage = if user.totp_enabled {
        STAGE_TOTP
    } else if needs_totp {
        STAGE_ENROL
    } else {
        STAGE_FULL
    };
    let raw = crypto::random_token();
    let mut tx = app.write().await?;
    tx.create_session(&crypto::digest(&raw), &user.id, stage, client)
        .await?;
    if let Some(old) = replaces {
        tx.end_session(&crypto::digest(old)).await?;
    }
    let action = if stage == STAGE_FULL {
        tx.touch_login(&user.id).await?;
        AuditAction::Login
    } else {
        AuditAction::LoginPasswordOk
    };
    commit(tx, &user_event(action, &user, client, "allowed")).await?;
    Ok(SignIn::Started {
        session: raw,
        stage,
    })
}

/// What became of a second-factor code at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// Too many wrong codes: the session has ended.
    Throttled,
    /// The code is wrong, or was used already.
    Wrong,
    /// Signed in: the session now has id `session`.
    Done {
        /// The rotated session id.
        session: String,
    },
}

/// Checks the second factor of a session at the `totp` stage: a code from the authenticator
/// (each accepted once: a code seen before, or one of an earlier time step, is refused) or a
/// recovery code (each usable once).
pub async fn second_factor(
    app: &App,
    session: &str,
    user: &User,
    code: &str,
    client: &str,
) -> Result<SecondFactor> {
    let store = app.store();
    let subject = format!("totp:{}", user.id);
    if throttled(app, &subject, ACCOUNT_LIMIT).await? {
        store.delete_session(&crypto::digest(session)).await?;
        return Ok(SecondFactor::Throttled);
    }
    let secret = store.totp_secret(&user.id).await?.unwrap_or_default();
    let code = code.trim();
    let step = crypto::verify_totp(&secret, code, now_unix());
    let mut tx = app.write().await?;
    let ok = match step {
        Some(step) => tx.accept_totp_step(&user.id, step).await?,
        None => {
            code.len() > 6
                && tx
                    .use_recovery_code(&user.id, &crypto::digest(&code.to_lowercase()))
                    .await?
        }
    };
    let outcome = if ok { "allowed" } else { "denied" };
    let mut event = user_event(AuditAction::LoginSecondFactor, user, client, outcome);
    event.actor_agency = String::new();
    if !ok {
        commit(tx, &event).await?;
        store.record_login_failure(&subject).await?;
        return Ok(SecondFactor::Wrong);
    }
    let fresh = crypto::random_token();
    tx.touch_login(&user.id).await?;
    tx.rotate_session(
        &crypto::digest(session),
        &crypto::digest(&fresh),
        STAGE_FULL,
    )
    .await?;
    commit(tx, &event).await?;
    store.clear_login_failures(&subject).await?;
    Ok(SecondFactor::Done { session: fresh })
}

/// What became of setting up an authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrol {
    /// Too many wrong passwords.
    Throttled,
    /// A signed-in user changing their factor gave the wrong password.
    WrongPassword,
    /// The code does not match the secret.
    WrongCode,
    /// Enrolled: the session now has id `session`; the recovery codes are shown once.
    Done {
        /// The rotated session id.
        session: String,
        /// Ten single-use recovery codes.
        recovery_codes: Vec<String>,
    },
}

/// What someone setting up an authenticator gives.
#[derive(Debug, Clone, Copy)]
pub struct EnrolForm<'a> {
    /// The secret shown to them (base32).
    pub secret: &'a str,
    /// The code their app shows for it.
    pub code: &'a str,
    /// Their password (asked of a signed-in user replacing their factor).
    pub password: &'a str,
}

/// Sets up an authenticator for a session at the `enrol` stage, or for a signed-in user
/// replacing theirs. Someone holding a signed-in session (a borrowed or stolen one) must not
/// be able to move the account's second factor to their own phone: they give the password.
pub async fn enrol(
    app: &App,
    session: &str,
    stage: &str,
    user: &User,
    form: &EnrolForm<'_>,
    client: &str,
) -> Result<Enrol> {
    let (secret, code, password) = (form.secret, form.code, form.password);
    let store = app.store();
    if stage == STAGE_FULL {
        let subject = format!("reauth:{}", user.id);
        if throttled(app, &subject, ACCOUNT_LIMIT).await? {
            return Ok(Enrol::Throttled);
        }
        let hash = store.password_hash(&user.id).await?;
        let ok = crypto::verify_password(password, hash.as_deref().unwrap_or(crypto::dummy_hash()))
            && hash.is_some();
        if !ok {
            store.record_login_failure(&subject).await?;
            let mut e = user_event(
                AuditAction::SecondFactorChangeRefused,
                user,
                client,
                "denied",
            );
            e.actor_agency = String::new();
            app.audit(e).await?;
            return Ok(Enrol::WrongPassword);
        }
    }
    let step = (secret.len() >= 16)
        .then(|| crypto::verify_totp(secret, code, now_unix()))
        .flatten();
    let Some(step) = step else {
        return Ok(Enrol::WrongCode);
    };
    let codes = crypto::recovery_codes();
    let digests: Vec<String> = codes.iter().map(|c| crypto::digest(c)).collect();
    let fresh = crypto::random_token();
    let mut tx = app.write().await?;
    tx.enrol_totp(&user.id, secret, step, &digests).await?;
    tx.rotate_session(
        &crypto::digest(session),
        &crypto::digest(&fresh),
        STAGE_FULL,
    )
    .await?;
    tx.touch_login(&user.id).await?;
    let mut e = user_event(AuditAction::SecondFactorEnrolled, user, client, "allowed");
    e.actor_agency = String::new();
    commit(tx, &e).await?;
    Ok(Enrol::Done {
        session: fresh,
        recovery_codes: codes,
    })
}

/// Ends the caller's session (by the digest of its id).
pub async fn sign_out(app: &App, caller: &Caller, session_hash: &str) -> Result<()> {
    let mut tx = app.write().await?;
    tx.end_session(session_hash).await?;
    commit(
        tx,
        &caller.event(AuditAction::Logout, USER, caller.user_id()),
    )
    .await
}

/// The text of a one-time link's message.
struct LinkText {
    link: String,
    subject: &'static str,
    body: String,
}

fn link_text(base_url: &str, purpose: LinkPurpose, token: &str) -> LinkText {
    let (path, subject, intro) = match purpose {
        LinkPurpose::Invite => (
            "invite",
            "You have been invited to Pathways",
            "You have been given an account on Pathways. Choose your password with this link within 7 days:",
        ),
        LinkPurpose::Reset => (
            "password/reset",
            "Reset your Pathways password",
            "Someone asked to reset your Pathways password. If it was you, use this link within one hour:",
        ),
    };
    let link = format!("{}/{path}/{token}", base_url.trim_end_matches('/'));
    let body = format!(
        "{intro}\n\n{link}\n\nThe link works once. If you did not expect this message, tell your manager."
    );
    LinkText {
        link,
        subject,
        body,
    }
}

/// Stores a one-time link for `user` and queues its message, inside `tx`; returns the link.
async fn issue_link(
    tx: &mut pathways_store::WriteTx,
    base_url: &str,
    user: &User,
    purpose: LinkPurpose,
) -> Result<String> {
    let token = crypto::random_token();
    let digest = crypto::digest(&token);
    let text = link_text(base_url, purpose, &token);
    let key = format!("{}:{digest}", purpose.key());
    let ttl = match purpose {
        LinkPurpose::Invite => INVITE_TTL,
        LinkPurpose::Reset => RESET_TTL,
    };
    // The outbox keeps the link apart from the body administrators can read.
    let body = text
        .body
        .replace(&text.link, pathways_store::outbox::WITHHELD);
    tx.issue_link(
        &digest,
        &user.id,
        purpose,
        ttl,
        &Message {
            recipient: &user.email,
            subject: text.subject,
            body: &body,
            idempotency_key: &key,
            secret: &text.link,
        },
    )
    .await?;
    Ok(text.link)
}

/// Asks for a password reset link. The answer never says whether the address has an
/// account; `false` when the address asking is throttled.
pub async fn request_reset(app: &App, email: &str, client: &str, base_url: &str) -> Result<bool> {
    let store = app.store();
    let subject = format!("reset:{client}");
    if throttled(app, &subject, ACCOUNT_LIMIT).await? {
        return Ok(false);
    }
    store.record_login_failure(&subject).await?;
    let user = store
        .user_by_email(email)
        .await?
        .filter(|u| !u.disabled && u.has_password);
    if let Some(user) = user {
        let mut tx = app.write().await?;
        issue_link(&mut tx, base_url, &user, LinkPurpose::Reset).await?;
        let mut e =
            Caller::anonymous(client).event(AuditAction::PasswordResetRequested, USER, &user.id);
        e.outcome = "allowed".into();
        commit(tx, &e).await?;
    }
    Ok(true)
}

/// True when a one-time link is live (to show its form).
pub async fn link_is_live(app: &App, token: &str, purpose: LinkPurpose) -> Result<bool> {
    Ok(app
        .store()
        .peek_link(&crypto::digest(token), purpose)
        .await?
        .is_some())
}

/// Sets a password from a one-time link. `Ok(false)` when the link is unknown, used or
/// expired; an unacceptable password is [`Error::Invalid`] on `password`.
pub async fn set_password_from_link(
    app: &App,
    token: &str,
    purpose: LinkPurpose,
    password: &str,
    confirm: &str,
    client: &str,
) -> Result<bool> {
    let store = app.store();
    let digest = crypto::digest(token);
    let Some(user_id) = store.peek_link(&digest, purpose).await? else {
        app.audit(Caller::anonymous(client).refused(AuditAction::LinkRefused, USER, ""))
            .await?;
        return Ok(false);
    };
    let user = store.user(&user_id).await?;
    if password != confirm {
        return Err(Error::invalid("password", "The passwords do not match"));
    }
    check_new_password(password, &user.email)
        .map_err(|p| Error::invalid("password", p.to_string()))?;
    let hash = hash_password(password)?;
    let mut tx = app.write().await?;
    match tx
        .consume_link_setting_password(&digest, purpose, &hash)
        .await?
    {
        Some(_) => {
            let action = match purpose {
                LinkPurpose::Invite => AuditAction::InvitationAccepted,
                LinkPurpose::Reset => AuditAction::PasswordReset,
            };
            let mut e = user_event(action, &user, client, "allowed");
            e.actor_agency = String::new();
            commit(tx, &e).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

// ------------------------------------------------------------------ administration

/// What an administrator gives to invite someone.
#[derive(Debug, Clone, Default)]
pub struct InviteInput {
    /// The agency's id.
    pub agency_id: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role keys, as ticked.
    pub roles: Vec<String>,
}

/// Role keys parsed; an unknown one is a problem on `role`.
pub fn parse_roles(keys: &[String], fields: &mut Fields) -> Vec<Role> {
    let mut roles = Vec::new();
    for k in keys {
        match Role::parse(k) {
            Some(r) => roles.push(r),
            None => {
                fields.add("role", "Choose roles from the list");
                break;
            }
        }
    }
    roles
}

/// True when `agency_id` names an agency that is not archived; records `message` on
/// `agency` otherwise (`archived` when it exists but is archived).
async fn check_agency(
    app: &App,
    agency_id: &str,
    fields: &mut Fields,
    missing: &str,
    archived: &str,
) -> Result<()> {
    match app.store().agency(agency_id).await {
        Ok(a) if a.archived_at.is_none() => {}
        Ok(_) => fields.add("agency", archived),
        Err(StoreError::NotFound { .. }) => fields.add("agency", missing),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Creates a user without a password and queues their invitation; returns the user and the
/// link (shown to the administrator until e-mail delivery is set up).
pub async fn invite(
    app: &App,
    caller: &Caller,
    base_url: &str,
    input: &InviteInput,
) -> Result<(User, String)> {
    let admin = caller.permit(Permission::Administer)?;
    let mut fields = Fields::new();
    let roles = parse_roles(&input.roles, &mut fields);
    check_agency(
        app,
        &input.agency_id,
        &mut fields,
        "Choose the person's agency",
        "That agency is archived: restore it first or choose another",
    )
    .await?;
    let email = match parse_email(&input.email) {
        Ok(e) => e,
        Err(Error::Invalid(mut e)) => {
            fields.add("email", e.remove(0).message);
            String::new()
        }
        Err(e) => return Err(e),
    };
    let name = input.name.trim();
    fields.check(
        name.is_empty() || name.chars().count() > 120,
        "name",
        "Enter the person's name (up to 120 characters)",
    );
    fields.check(
        roles.is_empty() && input.roles.is_empty(),
        "role",
        "Choose at least one role",
    );
    fields.finish()?;
    let roles = RoleSet::new(roles);
    let mut tx = app.write().await?;
    let user = tx
        .create_user(
            &admin,
            &NewUser {
                agency_id: input.agency_id.clone(),
                email,
                display_name: name.into(),
                roles: roles.clone(),
                password_hash: None,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => Error::invalid("email", m),
            other => other.into(),
        })?;
    let link = issue_link(&mut tx, base_url, &user, LinkPurpose::Invite).await?;
    let mut e = caller.event(AuditAction::UserInvited, USER, &user.id);
    e.outcome = roles.to_stored();
    commit(tx, &e).await?;
    Ok((user, link))
}

/// Creates an account with a password already chosen (the demo's fictional staff); the
/// administrator's other way in is [`invite`].
pub async fn create_account(app: &App, caller: &Caller, new: &NewUser) -> Result<User> {
    let admin = caller.permit(Permission::Administer)?;
    let mut tx = app.write().await?;
    let user = tx.create_user(&admin, new).await.map_err(|e| match e {
        StoreError::Conflict(m) => Error::invalid("email", m),
        other => other.into(),
    })?;
    let mut e = caller.event(AuditAction::UserInvited, USER, &user.id);
    e.outcome = user.roles.to_stored();
    commit(tx, &e).await?;
    Ok(user)
}

/// Sends a user a new one-time link: a password reset, or a fresh invitation for someone who
/// never accepted theirs (the earlier one stops working). Returns which, and the link.
pub async fn send_link(
    app: &App,
    caller: &Caller,
    base_url: &str,
    user_id: &str,
) -> Result<(LinkPurpose, String)> {
    caller.permit(Permission::Administer)?;
    let user = app.store().user(user_id).await?;
    let (purpose, action) = if user.has_password {
        (LinkPurpose::Reset, AuditAction::ResetLinkSent)
    } else {
        (LinkPurpose::Invite, AuditAction::InvitationResent)
    };
    let mut tx = app.write().await?;
    let link = issue_link(&mut tx, base_url, &user, purpose).await?;
    commit(tx, &caller.event(action, USER, user_id)).await?;
    Ok((purpose, link))
}

/// Replaces a user's roles; an administrator cannot remove their own administrator role.
pub async fn set_roles(app: &App, caller: &Caller, user_id: &str, keys: &[String]) -> Result<()> {
    let admin = caller.permit(Permission::Administer)?;
    let user = app.store().user(user_id).await?;
    let mut fields = Fields::new();
    let roles = parse_roles(keys, &mut fields);
    fields.finish()?;
    if roles.is_empty() {
        return Err(Error::invalid(
            "role",
            "Choose at least one role, or disable the account instead",
        ));
    }
    let new = RoleSet::new(roles);
    if user.id == caller.user_id() && !new.has(Permission::Administer) {
        return Err(Error::invalid(
            "role",
            "You cannot remove your own administrator role: ask another administrator",
        ));
    }
    let mut tx = app.write().await?;
    tx.set_roles(&admin, user_id, &new).await?;
    let mut e = caller.event(AuditAction::PermissionChange, USER, user_id);
    e.outcome = format!("{} -> {}", user.roles.to_stored(), new.to_stored());
    commit(tx, &e).await
}

/// Disables (ending their sessions) or enables a user; nobody disables their own account.
pub async fn set_disabled(app: &App, caller: &Caller, user_id: &str, disabled: bool) -> Result<()> {
    let admin = caller.permit(Permission::Administer)?;
    let user = app.store().user(user_id).await?;
    if disabled && user.id == caller.user_id() {
        return Err(Error::invalid(
            "disable",
            "You cannot disable your own account: ask another administrator",
        ));
    }
    let mut tx = app.write().await?;
    tx.set_user_disabled(&admin, user_id, disabled).await?;
    let action = if disabled {
        AuditAction::UserDisabled
    } else {
        AuditAction::UserEnabled
    };
    commit(tx, &caller.event(action, USER, user_id)).await
}

/// Removes a user's second factor and recovery codes and ends their sessions; they set up a
/// new one at their next sign-in.
pub async fn reset_second_factor(app: &App, caller: &Caller, user_id: &str) -> Result<()> {
    let admin = caller.permit(Permission::Administer)?;
    let mut tx = app.write().await?;
    tx.reset_second_factor(&admin, user_id).await?;
    commit(
        tx,
        &caller.event(AuditAction::SecondFactorReset, USER, user_id),
    )
    .await
}

/// One user's account, for an administrator. An account is personal data: the view is
/// audited as a read unless `audit_read` is off (only the audit benchmark turns it off).
pub async fn user(app: &App, caller: &Caller, user_id: &str, audit_read: bool) -> Result<User> {
    caller.permit(Permission::Administer)?;
    let user = app.store().user(user_id).await?;
    if audit_read {
        app.audit(caller.event(AuditAction::RecordRead, USER, user_id))
            .await?;
    }
    Ok(user)
}

/// Users, optionally of one agency, for an administrator.
pub async fn users(app: &App, caller: &Caller, agency_id: Option<&str>) -> Result<Vec<User>> {
    caller.permit(Permission::Administer)?;
    Ok(app.store().list_users(agency_id).await?)
}

/// Finds a user by e-mail address, for an administrator.
pub async fn user_by_email(app: &App, caller: &Caller, email: &str) -> Result<Option<User>> {
    caller.permit(Permission::Administer)?;
    Ok(app.store().user_by_email(email).await?)
}

/// The caller's newest in-app notifications (their home page).
pub async fn notifications(
    app: &App,
    caller: &Caller,
    limit: i64,
) -> Result<Vec<pathways_store::Notification>> {
    Ok(app.store().notifications(caller.user_id(), limit).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_normalised() {
        assert_eq!(
            parse_email(" A.B@Example.ORG ").expect("valid"),
            "a.b@example.org"
        );
        for bad in ["", "a", "a@b", "@b.org", "a b@c.org", "a@.org", "a@org."] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_name_their_purpose_and_lifetime() {
        let t = link_text("https://p.example/", LinkPurpose::Invite, "abc");
        assert_eq!(t.link, "https://p.example/invite/abc");
        assert!(t.body.contains("within 7 days"));
        let t = link_text("https://p.example", LinkPurpose::Reset, "abc");
        assert_eq!(t.link, "https://p.example/password/reset/abc");
        assert!(t.body.contains("within one hour"));
    }
}
