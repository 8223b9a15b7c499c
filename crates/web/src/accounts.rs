//! Account operations shared by the administration pages and `pathways admin`: inviting a
//! user, sending a password-reset link, issuing API tokens. One-time links are delivered
//! through the outbox, where an administrator can also read them until e-mail is set up.

use pathways_domain::audit::AuditEvent;
use pathways_domain::{Permission, RoleSet};
use pathways_store::{NewUser, Store, StoreError, User, now_unix};

use crate::crypto;

/// Invitations last a week.
pub const INVITE_TTL: i64 = 7 * 24 * 3600;
/// Password-reset links last an hour.
pub const RESET_TTL: i64 = 3600;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A field is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks an e-mail address's shape (the rest is proven by the link arriving).
pub fn parse_email(raw: &str) -> Result<String, AccountError> {
    let e = raw.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !e.contains(char::is_whitespace);
    if ok {
        Ok(e)
    } else {
        Err(AccountError::Invalid {
            field: "email",
            message: "Enter an e-mail address in the correct format, like name@example.org".into(),
        })
    }
}

/// Creates a user without a password and queues an invitation link; returns the user and
/// the link.
pub async fn invite(
    store: &Store,
    base_url: &str,
    agency_id: &str,
    email: &str,
    display_name: &str,
    roles: RoleSet,
    by: AuditEvent,
) -> Result<(User, String), AccountError> {
    let email = parse_email(email)?;
    let display_name = display_name.trim();
    if display_name.is_empty() || display_name.chars().count() > 120 {
        return Err(AccountError::Invalid {
            field: "display_name",
            message: "Enter the person's name (up to 120 characters)".into(),
        });
    }
    if roles.roles().is_empty() {
        return Err(AccountError::Invalid {
            field: "roles",
            message: "Choose at least one role".into(),
        });
    }
    let user = store
        .create_user(&NewUser {
            agency_id: agency_id.into(),
            email,
            display_name: display_name.into(),
            roles,
            password_hash: None,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => AccountError::Invalid {
                field: "email",
                message: m,
            },
            other => AccountError::Store(other),
        })?;
    let link = send_link(store, base_url, &user, "invite").await?;
    store
        .audit(AuditEvent {
            action: "user_invited".into(),
            record_type: "user".into(),
            record_id: user.id.clone(),
            outcome: user.roles.to_stored(),
            ..by
        })
        .await?;
    Ok((user, link))
}

/// Queues a one-time link (`invite` or `reset`) for `user` and returns it.
pub async fn send_link(
    store: &Store,
    base_url: &str,
    user: &User,
    purpose: &str,
) -> Result<String, AccountError> {
    let token = crypto::random_token();
    let (ttl, path, subject, intro) = if purpose == "invite" {
        (
            INVITE_TTL,
            "invite",
            "You have been invited to Pathways",
            "You have been given an account on Pathways. Choose your password with this link within 7 days:",
        )
    } else {
        (
            RESET_TTL,
            "password/reset",
            "Reset your Pathways password",
            "Someone asked to reset your Pathways password. If it was you, use this link within one hour:",
        )
    };
    store
        .create_link(&crypto::digest(&token), &user.id, purpose, ttl)
        .await?;
    let link = format!("{}/{path}/{token}", base_url.trim_end_matches('/'));
    let body = format!(
        "{intro}\n\n{}\n\nThe link works once. If you did not expect this message, tell your manager.",
        pathways_store::outbox::WITHHELD
    );
    let key = format!("{purpose}:{}", crypto::digest(&token));
    store
        .enqueue_secret_message("email", &user.email, subject, &body, &link, &key)
        .await?;
    Ok(link)
}

/// Creates an API token with these scopes for an agency's system; returns (id, secret).
/// The secret is shown once and stored only as a digest.
pub async fn create_token(
    store: &Store,
    name: &str,
    agency_id: &str,
    scopes: &[Permission],
    by: AuditEvent,
) -> Result<(String, String), AccountError> {
    let created_by = by.actor_id.clone();
    create_token_for(store, name, agency_id, scopes, &created_by, by).await
}

/// Like [`create_token`], but records `created_by` (a user id) as the token's creator while
/// the audit entry names the actual actor (`pathways admin` runs as `cli:<login>`, which is
/// not a user account).
pub async fn create_token_for(
    store: &Store,
    name: &str,
    agency_id: &str,
    scopes: &[Permission],
    created_by: &str,
    by: AuditEvent,
) -> Result<(String, String), AccountError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 120 {
        return Err(AccountError::Invalid {
            field: "name",
            message: "Enter what the token is for (up to 120 characters)".into(),
        });
    }
    if scopes.is_empty() {
        return Err(AccountError::Invalid {
            field: "scopes",
            message: "Choose at least one permission".into(),
        });
    }
    let secret = format!("pw_{}", crypto::random_token());
    let keys: Vec<String> = scopes.iter().map(|p| p.key().to_string()).collect();
    let id = store
        .create_api_token(name, &crypto::digest(&secret), agency_id, &keys, created_by)
        .await?;
    store
        .audit(AuditEvent {
            at: now_unix(),
            action: "token_created".into(),
            record_type: "api_token".into(),
            record_id: id.clone(),
            outcome: keys.join(","),
            ..by
        })
        .await?;
    Ok((id, secret))
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
}
