//! API tokens for partner systems: issued with a name, an agency and permission scopes (the
//! secret is shown once and stored only as a digest), listed, and revoked.

use pathways_domain::{AuditAction, Permission};
use pathways_store::ApiToken;

use crate::{App, Caller, Error, Fields, RecordKind, Result, commit, crypto};

const TOKEN: RecordKind = RecordKind::Other("api_token");

/// What an administrator gives to issue a token.
#[derive(Debug, Clone, Default)]
pub struct TokenInput {
    /// What the token is for.
    pub name: String,
    /// The agency whose system uses it.
    pub agency_id: String,
    /// Permission keys, as ticked.
    pub scopes: Vec<String>,
}

/// Every token, newest first.
pub async fn list(app: &App, caller: &Caller) -> Result<Vec<ApiToken>> {
    caller.permit(Permission::Administer)?;
    Ok(app.store().list_api_tokens().await?)
}

/// Issues a token for an agency's system, recording `owner` (a user id: the person who
/// answers for it) as its creator; returns its id and secret.
pub async fn issue(
    app: &App,
    caller: &Caller,
    input: &TokenInput,
    owner: &str,
) -> Result<(String, String)> {
    let admin = caller.permit(Permission::Administer)?;
    let mut fields = Fields::new();
    let mut scopes = Vec::new();
    for s in &input.scopes {
        match Permission::parse(s) {
            Some(p) => scopes.push(p),
            None => {
                fields.add("scope", "Choose permissions from the list");
                break;
            }
        }
    }
    match app.store().agency(&input.agency_id).await {
        Ok(a) if a.archived_at.is_none() => {}
        Ok(_) | Err(pathways_store::StoreError::NotFound { .. }) => fields.add(
            "agency",
            "Choose the agency whose system will use the token",
        ),
        Err(e) => return Err(e.into()),
    }
    let name = input.name.trim();
    fields.check(
        name.is_empty() || name.len() > 120,
        "name",
        "Enter what the token is for (up to 120 characters)",
    );
    fields.check(
        input.scopes.is_empty(),
        "scope",
        "Choose at least one permission",
    );
    fields.finish()?;
    let secret = format!("pw_{}", crypto::random_token());
    let keys: Vec<String> = scopes.iter().map(|p| p.key().to_string()).collect();
    let mut tx = app.write().await?;
    let id = tx
        .create_api_token(
            &admin,
            name,
            &crypto::digest(&secret),
            &input.agency_id,
            &keys,
            owner,
        )
        .await?;
    let mut e = caller.event(AuditAction::TokenCreated, TOKEN, &id);
    e.outcome = keys.join(",");
    commit(tx, &e).await?;
    Ok((id, secret))
}

/// Revokes a live token; a token that is not live is "not found".
pub async fn revoke(app: &App, caller: &Caller, id: &str) -> Result<()> {
    let admin = caller.permit(Permission::Administer)?;
    let mut tx = app.write().await?;
    if !tx.revoke_api_token(&admin, id).await? {
        return Err(Error::NotFound);
    }
    commit(tx, &caller.event(AuditAction::TokenRevoked, TOKEN, id)).await
}
