//! Who is asking: a signed-in member of staff, a partner system with an API token, or the
//! system itself (the command line, the demo, background work). Use cases take a caller,
//! ask the access policy about it, and write the audit entries in its name.

use pathways_domain::access::{Actor, Permitted, permit};
use pathways_domain::audit::AuditEvent;
use pathways_domain::{AuditAction, Permission, RoleSet};
use pathways_store::now_unix;

use crate::Error;

/// The kinds of record the audit log names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A case.
    Case,
    /// A person in the person index.
    Person,
    /// A referral.
    Referral,
    /// A referral to a service.
    ServiceReferral,
    /// A case document.
    Document,
    /// A list or report (no single record): the id names which.
    List,
    /// Anything else, by its audit name.
    Other(&'static str),
}

impl RecordKind {
    /// The name stored in the audit log.
    pub fn key(self) -> &'static str {
        match self {
            RecordKind::Case => "case",
            RecordKind::Person => "person",
            RecordKind::Referral => "referral",
            RecordKind::ServiceReferral => "service_referral",
            RecordKind::Document => "case_document",
            RecordKind::List => "list",
            RecordKind::Other(k) => k,
        }
    }
}

/// Someone or something asking a use case to act.
#[derive(Debug, Clone)]
pub struct Caller {
    /// As the access policy sees them.
    pub actor: Actor,
    /// The id written to the audit log (`token:<id>` for a token, `system:<what>` for the
    /// system).
    pub audit_id: String,
    /// Where the request came from (the client address), or the command that ran.
    pub client: String,
    /// The display name, for notices others receive ("Dev Patel restricted ...").
    pub name: String,
}

impl Caller {
    /// A signed-in member of staff.
    pub fn staff(
        user_id: &str,
        agency_id: &str,
        roles: RoleSet,
        name: &str,
        client: &str,
    ) -> Caller {
        Caller {
            actor: Actor {
                user_id: user_id.into(),
                agency_id: agency_id.into(),
                roles,
                scopes: None,
            },
            audit_id: user_id.into(),
            client: client.into(),
            name: name.into(),
        }
    }

    /// A partner system with an API token acting for its agency with its scopes.
    pub fn token(token_id: &str, agency_id: &str, scopes: Vec<Permission>, client: &str) -> Caller {
        let id = format!("token:{token_id}");
        Caller {
            actor: Actor {
                user_id: id.clone(),
                agency_id: agency_id.into(),
                roles: RoleSet::default(),
                scopes: Some(scopes),
            },
            audit_id: id,
            client: client.into(),
            name: "A partner system".into(),
        }
    }

    /// Pathways itself (a command, the demo, a background job), acting with every permission
    /// but reading no record through the access policy.
    pub fn system(what: &str) -> Caller {
        Caller {
            actor: Actor {
                user_id: format!("system:{what}"),
                agency_id: String::new(),
                roles: RoleSet::default(),
                scopes: Some(Permission::ALL.to_vec()),
            },
            audit_id: format!("system:{what}"),
            client: what.into(),
            name: "Pathways".into(),
        }
    }

    /// Someone not signed in (a sign-in attempt, a one-time link), known by their address.
    pub fn anonymous(client: &str) -> Caller {
        Caller {
            actor: Actor {
                user_id: "anonymous".into(),
                agency_id: String::new(),
                roles: RoleSet::default(),
                scopes: Some(Vec::new()),
            },
            audit_id: "anonymous".into(),
            client: client.into(),
            name: "Someone signing in".into(),
        }
    }

    /// The operator at the command line (`cli:<login>` in the audit log), acting with every
    /// permission.
    pub fn operator(audit_id: &str) -> Caller {
        Caller {
            actor: Actor {
                user_id: audit_id.into(),
                agency_id: String::new(),
                roles: RoleSet::default(),
                scopes: Some(Permission::ALL.to_vec()),
            },
            audit_id: audit_id.into(),
            client: "cli".into(),
            name: "Pathways".into(),
        }
    }

    /// The user id (or token/system id).
    pub fn user_id(&self) -> &str {
        &self.actor.user_id
    }

    /// True when the caller holds `p`.
    pub fn may(&self, p: Permission) -> bool {
        self.actor.holds(p)
    }

    /// Proof that the caller holds `p`, or a refusal.
    pub fn permit(&self, p: Permission) -> Result<Permitted, Error> {
        permit(&self.actor, p).map_err(|d| Error::Forbidden(format!("{d:?}")))
    }

    /// An audit entry for `action` on a record, by this caller, allowed.
    pub fn event(&self, action: AuditAction, kind: RecordKind, id: &str) -> AuditEvent {
        AuditEvent {
            at: now_unix(),
            actor_id: self.audit_id.clone(),
            actor_agency: self.actor.agency_id.clone(),
            action: action.key().into(),
            record_type: kind.key().into(),
            record_id: id.into(),
            client: self.client.clone(),
            reason: String::new(),
            outcome: "allowed".into(),
        }
    }

    /// The same entry, refused.
    pub fn refused(&self, action: AuditAction, kind: RecordKind, id: &str) -> AuditEvent {
        AuditEvent {
            outcome: "denied".into(),
            ..self.event(action, kind, id)
        }
    }
}
