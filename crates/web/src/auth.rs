//! Who is asking: the session cookie and the signed-in staff member behind it, API tokens,
//! the CSRF check on every state-changing request, and the audit helpers that record who
//! did what from where.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pathways_domain::audit::AuditEvent;
use pathways_domain::{Actor, Permission};
use pathways_store::{SessionUser, User, now_unix};

use crate::error::{AppError, PageError};
use crate::layout::Badge;
use crate::{AppState, Chrome};

/// The session cookie (session-only, HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "pw_session";
/// The pre-sign-in cookie that binds the sign-in form's CSRF token.
pub const PRE_COOKIE: &str = "pw_pre";
pub use pathways_app::identity::{STAGE_ENROL, STAGE_FULL, STAGE_TOTP};

/// Reads one cookie from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: session-only (never persistent), HttpOnly, SameSite=Strict, and
/// Secure when the service is reached over TLS.
pub fn set_cookie(state: &AppState, name: &str, value: &str) -> String {
    let secure = if state.settings().https() {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(state: &AppState, name: &str) -> String {
    let secure = if state.settings().https() {
        "; Secure"
    } else {
        ""
    };
    format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// The client's address, for throttling and the audit trail: as worked out by
/// [`crate::client`] (behind trusted proxies, the address they forwarded), else the peer.
pub fn client_of(parts: &Parts) -> String {
    if let Some(c) = parts.extensions.get::<crate::client::ClientAddr>() {
        return c.0.clone();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// A signed-in staff member, with everything pages need to render and decide.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The user.
    pub user: User,
    /// Their agency's name.
    pub agency_name: String,
    /// The digest of the session id.
    pub session_hash: String,
    /// The CSRF token for forms.
    pub csrf: String,
    /// Client address.
    pub client: String,
    /// The request path, for navigation.
    pub path: String,
}

impl Staff {
    /// The user as the access policy sees them.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user.id.clone(),
            agency_id: self.user.agency_id.clone(),
            roles: self.user.roles.clone(),
            scopes: None,
        }
    }

    /// The staff member as the use cases know them.
    pub fn caller(&self) -> pathways_app::Caller {
        pathways_app::Caller::staff(
            &self.user.id,
            &self.user.agency_id,
            self.user.roles.clone(),
            &self.user.display_name,
            &self.client,
        )
    }

    /// Fails with 403 unless the user holds `p`.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.user.roles.has(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("needs {}", p.key())))
        }
    }

    /// True when the user holds `p`.
    pub fn can(&self, p: Permission) -> bool {
        self.user.roles.has(p)
    }

    /// The page chrome for this user, with navigation for what they may do.
    pub fn chrome(&self, state: &AppState, title: &str) -> Chrome {
        let mut links: Vec<(&'static str, &'static str)> = vec![("/dashboard", "Home")];
        for (p, href, label) in NAV {
            if self.can(*p) && !links.iter().any(|(h, _)| h == href) {
                links.push((href, label));
            }
        }
        Chrome::staff(state, title, &self.csrf).with_user(
            Badge {
                name: self.user.display_name.clone(),
                agency: self.agency_name.clone(),
            },
            &links,
            &self.path,
        )
    }

    /// An audit event by this user.
    pub fn event(
        &self,
        action: &str,
        record_type: &str,
        record_id: &str,
        outcome: &str,
    ) -> AuditEvent {
        AuditEvent {
            at: now_unix(),
            actor_id: self.user.id.clone(),
            actor_agency: self.user.agency_id.clone(),
            action: action.into(),
            record_type: record_type.into(),
            record_id: record_id.into(),
            client: self.client.clone(),
            reason: String::new(),
            outcome: outcome.into(),
        }
    }
}

/// Navigation entries and the permission each needs; modules add theirs here.
const NAV: &[(Permission, &str, &str)] = &[
    (Permission::MakeReferral, "/referrals", "Referrals"),
    (Permission::TriageReferrals, "/referrals/triage", "Triage"),
    (Permission::WorkCases, "/cases", "Cases"),
    (Permission::CoordinatePanels, "/panels", "Panels"),
    (Permission::ViewInsight, "/insight", "Insight"),
    (Permission::EditDirectory, "/directory", "Directory"),
    (Permission::Administer, "/admin", "Administration"),
];

/// Whether a session has outlived the idle or absolute time-out.
pub fn expired(state: &AppState, s: &pathways_store::SessionRow, now: i64) -> bool {
    now - s.last_seen_at > state.settings().session_idle_secs
        || now - s.created_at > state.settings().session_absolute_secs
}

/// Loads the session behind the request's cookie, at any stage, ending it if expired.
pub async fn load_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, String, SessionUser)>, AppError> {
    let Some(raw) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = pathways_app::crypto::digest(raw);
    let Some(su) = state.store().session_user(&hash).await? else {
        return Ok(None);
    };
    let now = now_unix();
    if expired(state, &su.session, now) || su.user.disabled {
        state.store().delete_session(&hash).await?;
        return Ok(None);
    }
    if now - su.session.last_seen_at >= 60 {
        // Activity is kept to the minute: enough for the idle time-out, and spares a write
        // on every request.
        state.store().touch_session(&hash).await?;
    }
    Ok(Some((raw.to_string(), hash, su)))
}

/// The signed-in staff member behind the request's cookie, if the session is fully signed
/// in (used to render error pages in the staff layout).
pub(crate) async fn signed_in(state: &AppState, headers: &HeaderMap, path: &str) -> Option<Staff> {
    let (raw, hash, su) = load_session(state, headers).await.ok().flatten()?;
    if su.session.stage != STAGE_FULL {
        return None;
    }
    Some(Staff {
        user: su.user,
        agency_name: su.agency_name,
        session_hash: hash,
        csrf: state.csrf_token(&raw),
        client: String::new(),
        path: path.to_string(),
    })
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let api = parts.uri.path().starts_with("/api/");
        let reject = |e: AppError| -> Response {
            if api {
                e.into_json()
            } else {
                PageError(state.clone(), e).into_response()
            }
        };
        let loaded = load_session(state, &parts.headers).await.map_err(reject)?;
        let Some((raw, hash, su)) = loaded else {
            return Err(reject(AppError::Unauthenticated));
        };
        if su.session.stage != STAGE_FULL {
            let to = if su.session.stage == STAGE_TOTP {
                "/login/two-factor"
            } else {
                "/account/two-factor"
            };
            return Err(if api {
                AppError::Unauthenticated.into_json()
            } else {
                (axum::http::StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
            });
        }
        Ok(Staff {
            user: su.user,
            agency_name: su.agency_name,
            session_hash: hash,
            csrf: state.csrf_token(&raw),
            client: client_of(parts),
            path: parts.uri.path().to_string(),
        })
    }
}

/// A caller of the JSON API: a partner system with a token, or a signed-in staff member.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    /// As the access policy sees them (a token acts for its agency with its scopes).
    pub actor: Actor,
    /// Permissions this caller may use.
    pub scopes: Vec<Permission>,
    /// The audit actor id (`token:<id>` or the user id).
    pub audit_id: String,
    /// Client address.
    pub client: String,
}

impl ApiCaller {
    /// The caller as the use cases know them.
    pub fn caller(&self) -> pathways_app::Caller {
        pathways_app::Caller {
            actor: self.actor.clone(),
            audit_id: self.audit_id.clone(),
            client: self.client.clone(),
            name: if self.audit_id.starts_with("token:") {
                "A partner system".into()
            } else {
                self.actor.user_id.clone()
            },
        }
    }

    /// Fails with 403 unless the caller may use `p`.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.scopes.contains(&p) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("needs {}", p.key())))
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = client_of(parts);
        if let Some(token) = bearer(&parts.headers) {
            let found = state
                .store()
                .use_api_token(&pathways_app::crypto::digest(token))
                .await
                .map_err(|e| AppError::from(e).into_json())?;
            let Some(t) = found else {
                let _ = state
                    .store()
                    .audit(system_event(
                        "api_token_refused",
                        "api_token",
                        "",
                        &client,
                        "denied",
                    ))
                    .await;
                return Err(AppError::Unauthenticated.into_json());
            };
            let scopes: Vec<Permission> = t
                .scopes
                .iter()
                .filter_map(|s| Permission::parse(s))
                .collect();
            return Ok(ApiCaller {
                actor: Actor {
                    user_id: format!("token:{}", t.id),
                    agency_id: t.agency_id.clone(),
                    roles: pathways_domain::RoleSet::default(),
                    scopes: Some(scopes.clone()),
                },
                scopes,
                audit_id: format!("token:{}", t.id),
                client,
            });
        }
        let staff = Staff::from_request_parts(parts, state).await?;
        let scopes = Permission::ALL
            .into_iter()
            .filter(|p| staff.can(*p))
            .collect();
        Ok(ApiCaller {
            actor: staff.actor(),
            scopes,
            audit_id: staff.user.id.clone(),
            client,
        })
    }
}

/// An audit event with no signed-in actor (failed sign-ins, refused tokens).
pub fn system_event(
    action: &str,
    record_type: &str,
    record_id: &str,
    client: &str,
    outcome: &str,
) -> AuditEvent {
    AuditEvent {
        at: now_unix(),
        actor_id: "anonymous".into(),
        actor_agency: String::new(),
        action: action.into(),
        record_type: record_type.into(),
        record_id: record_id.into(),
        client: client.into(),
        reason: String::new(),
        outcome: outcome.into(),
    }
}

/// Largest form body read for the CSRF check.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// Refuses state-changing requests that did not come from our own pages: cross-site
/// fetches, foreign origins, and forms without the session's CSRF token. A request that
/// authenticates with a bearer token alone carries no ambient credentials and is exempt; one
/// that also carries a session or sign-in cookie is checked like any other, whatever its
/// `Authorization` header says, since pages authenticate by the cookie.
pub(crate) async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cookie_bound = cookie(req.headers(), SESSION_COOKIE).is_some()
        || cookie(req.headers(), PRE_COOKIE).is_some();
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || (bearer(req.headers()).is_some() && !cookie_bound)
    {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let client = client_of(&parts);
    let is_api = parts.uri.path().starts_with("/api/");
    let refuse = |state: AppState| async move {
        let _ = state
            .store()
            .audit(system_event(
                "csrf_refused",
                "request",
                "",
                &client,
                "denied",
            ))
            .await;
        if is_api {
            AppError::Csrf.into_json()
        } else {
            PageError(state, AppError::Csrf).into_response()
        }
    };
    let site = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    let scheme = if state.settings().https() {
        "https"
    } else {
        "http"
    };
    if matches!(site, Some("cross-site") | Some("same-site"))
        || !same_origin(&parts.headers, site, scheme)
    {
        return refuse(state).await;
    }
    let binding =
        cookie(&parts.headers, SESSION_COOKIE).or_else(|| cookie(&parts.headers, PRE_COOKIE));
    let Some(binding) = binding.map(str::to_string) else {
        return refuse(state).await;
    };
    let expected = state.csrf_token(&binding);
    let header_token = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let query_token = parts
        .uri
        .query()
        .and_then(|q| form_field(q.as_bytes(), "csrf"));
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (body, body_token) = if is_form && header_token.is_none() {
        match axum::body::to_bytes(body, FORM_LIMIT).await {
            Ok(bytes) => {
                let t = form_field(&bytes, "csrf");
                (Body::from(bytes), t)
            }
            Err(_) => {
                return PageError(state, AppError::BadRequest("The form is too large.".into()))
                    .into_response();
            }
        }
    } else {
        (body, None)
    };
    let given = header_token.or(body_token).or(query_token);
    if !given.is_some_and(|g| pathways_app::crypto::same(&g, &expected)) {
        return refuse(state).await;
    }
    next.run(Request::from_parts(parts, body)).await
}

/// True unless an `Origin` header names another origin than the request's own: the host the
/// request was sent to, under the scheme the service is reached by (`https` when the public
/// URL is, so a page served over plain HTTP on the same host cannot post). Browsers send
/// `Origin: null` on form posts from pages with `Referrer-Policy: no-referrer`; that is
/// accepted only when the browser also vouches that the request is same-origin.
fn same_origin(headers: &HeaderMap, site: Option<&str>, scheme: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == "null" {
        return site == Some("same-origin");
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin.split_once("://") == Some((scheme, host))
}

/// One field of an `application/x-www-form-urlencoded` body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded_pairs(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Every field of an `application/x-www-form-urlencoded` body, in order (repeated names,
/// such as checkboxes, appear once per value).
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded_pairs(body).collect()
}

fn form_urlencoded_pairs(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    body.split(|b| *b == b'&').filter_map(|pair| {
        let mut it = pair.splitn(2, |b| *b == b'=');
        let k = decode(it.next()?);
        let v = decode(it.next().unwrap_or(b""));
        Some((k, v))
    })
}

fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = std::str::from_utf8(&s[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_decode() {
        assert_eq!(
            form_field(b"a=1&csrf=ab%2Bc+d&x", "csrf").as_deref(),
            Some("ab+c d")
        );
        assert_eq!(form_field(b"csrf=%zz", "csrf").as_deref(), Some("%zz"));
        assert_eq!(form_field(b"a=1", "csrf"), None);
    }

    #[test]
    fn origin_must_match_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "pathways.example".parse().expect("header"));
        assert!(same_origin(&h, None, "https"));
        h.insert(
            header::ORIGIN,
            "https://pathways.example".parse().expect("header"),
        );
        assert!(same_origin(&h, None, "https"));
        assert!(!same_origin(&h, None, "http"), "the scheme counts");
        h.insert(
            header::ORIGIN,
            "http://pathways.example".parse().expect("header"),
        );
        assert!(!same_origin(&h, Some("same-origin"), "https"));
        h.insert(
            header::ORIGIN,
            "https://evil.example".parse().expect("header"),
        );
        assert!(!same_origin(&h, Some("same-origin"), "https"));
        h.insert(header::ORIGIN, "null".parse().expect("header"));
        assert!(same_origin(&h, Some("same-origin"), "https"));
        assert!(!same_origin(&h, Some("cross-site"), "https"));
        assert!(!same_origin(&h, None, "https"));
    }
}
