//! `pathways admin ...`: agencies, users and API tokens from the command line, for the first
//! administrator and for scripted set-ups. Every change is audited as `cli:<login name>`.

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use pathways_app::identity::InviteInput;
use pathways_app::tokens::TokenInput;
use pathways_app::{App, Caller, agencies, identity, tokens};
use pathways_domain::{AgencyKind, Permission, Role};
use pathways_store::{LinkPurpose, User};

use crate::config::ServeArgs;

/// Manage agencies, users and API tokens.
#[derive(Debug, Args)]
pub struct AdminCommand {
    #[command(subcommand)]
    what: AdminWhat,
}

#[derive(Debug, Subcommand)]
enum AdminWhat {
    /// Agencies: the organisations users belong to.
    #[command(subcommand)]
    Agency(AgencyCommand),
    /// Users: invitations, roles, disabling, password reset links.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for partner systems.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum AgencyCommand {
    /// Create an agency.
    Add {
        /// The agency's name (unique).
        name: String,
        /// What kind of organisation it is.
        #[arg(long, value_parser = parse_kind, help = kind_help())]
        kind: AgencyKind,
        #[command(flatten)]
        db: ServeArgs,
    },
    /// List agencies.
    List {
        #[command(flatten)]
        db: ServeArgs,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user and print their invitation link (also queued in the outbox).
    Invite {
        /// The agency's name.
        #[arg(long)]
        agency: String,
        /// The person's e-mail address.
        #[arg(long)]
        email: String,
        /// The person's full name.
        #[arg(long)]
        name: String,
        /// A role; repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role, help = role_help())]
        roles: Vec<Role>,
        #[command(flatten)]
        db: ServeArgs,
    },
    /// List users, optionally of one agency.
    List {
        /// Only users of this agency (by name).
        #[arg(long)]
        agency: Option<String>,
        #[command(flatten)]
        db: ServeArgs,
    },
    /// Replace a user's roles.
    Roles {
        /// The user's e-mail address.
        email: String,
        /// A role; repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role, help = role_help())]
        roles: Vec<Role>,
        #[command(flatten)]
        db: ServeArgs,
    },
    /// Stop a user signing in and end their sessions.
    Disable {
        /// The user's e-mail address.
        email: String,
        #[command(flatten)]
        db: ServeArgs,
    },
    /// Let a disabled user sign in again.
    Enable {
        /// The user's e-mail address.
        email: String,
        #[command(flatten)]
        db: ServeArgs,
    },
    /// Print a one-time password reset link (an invitation again if none was accepted).
    ResetLink {
        /// The user's e-mail address.
        email: String,
        #[command(flatten)]
        db: ServeArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print its secret once.
    Create {
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// The agency whose system uses it (by name).
        #[arg(long)]
        agency: String,
        /// A permission the token may use; repeat for several.
        #[arg(long = "scope", required = true, value_parser = parse_scope, help = scope_help())]
        scopes: Vec<Permission>,
        /// E-mail of the administrator recorded as the token's owner [default: the only
        /// enabled administrator]
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        db: ServeArgs,
    },
    /// List tokens with their last use.
    List {
        #[command(flatten)]
        db: ServeArgs,
    },
    /// Revoke a token so it no longer works.
    Revoke {
        /// The token's id (from `token list`).
        id: String,
        #[command(flatten)]
        db: ServeArgs,
    },
}

fn parse_kind(s: &str) -> Result<AgencyKind, String> {
    AgencyKind::parse(s)
        .ok_or_else(|| format!("unknown agency kind {s:?}; use one of: {}", kinds()))
}

fn kinds() -> String {
    AgencyKind::ALL
        .iter()
        .map(|k| k.key())
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_help() -> String {
    format!("What kind of organisation it is: {}", kinds())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}; use one of: {}", roles()))
}

fn roles() -> String {
    Role::ALL
        .iter()
        .map(|r| r.key())
        .collect::<Vec<_>>()
        .join(", ")
}

fn role_help() -> String {
    format!("A role; repeat for several: {}", roles())
}

fn parse_scope(s: &str) -> Result<Permission, String> {
    Permission::parse(s)
        .ok_or_else(|| format!("unknown permission {s:?}; use one of: {}", scopes()))
}

fn scopes() -> String {
    Permission::ALL
        .iter()
        .map(|p| p.key())
        .collect::<Vec<_>>()
        .join(", ")
}

fn scope_help() -> String {
    format!("A permission; repeat for several: {}", scopes())
}

/// The audit actor for command-line changes: `cli:` and the operating-system login name.
pub fn cli_actor() -> String {
    let login = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{login}")
}

/// An audit event by the command-line operator, for commands outside the use cases
/// (backups).
pub fn cli_event(
    action: &str,
    record_type: &str,
    record_id: &str,
    outcome: &str,
) -> pathways_domain::audit::AuditEvent {
    let mut e = operator().event(
        pathways_domain::AuditAction::RecordRead,
        pathways_app::RecordKind::Other("cli"),
        record_id,
    );
    e.action = action.into();
    e.record_type = record_type.into();
    e.outcome = outcome.into();
    e
}

/// The operator as the use cases know them.
pub fn operator() -> Caller {
    Caller::operator(&cli_actor())
}

/// Opens the database named by the usual settings (flags, environment, file), with the
/// use cases over it.
pub async fn open(db: &ServeArgs) -> anyhow::Result<(App, pathways_web::WebSettings)> {
    let settings = db.resolve()?;
    let store = settings.connect().await?;
    Ok((
        App::new(store, pathways_app::Settings::default()),
        settings.web,
    ))
}

/// A use case's refusal as one line; field problems name the option at fault.
fn refused(e: pathways_app::Error) -> anyhow::Error {
    match e {
        pathways_app::Error::Invalid(fields) => anyhow!(
            "{}",
            fields
                .iter()
                .map(|f| format!("--{}: {}", f.field.replace('_', "-"), f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow!("{other}"),
    }
}

async fn agency_id(app: &App, name: &str) -> anyhow::Result<String> {
    match agencies::by_name(app, &operator(), name)
        .await
        .map_err(refused)?
    {
        Some(a) if a.archived_at.is_none() => Ok(a.id),
        Some(_) => {
            bail!("agency {name:?} is archived; restore it in the administration pages first")
        }
        None => bail!("there is no agency called {name:?}; see `pathways admin agency list`"),
    }
}

async fn user_by_email(app: &App, email: &str) -> anyhow::Result<User> {
    identity::user_by_email(app, &operator(), email)
        .await
        .map_err(refused)?
        .ok_or_else(|| {
            anyhow!("there is no user with e-mail {email:?}; see `pathways admin user list`")
        })
}

/// The administrator recorded as a token's owner: the one named, or else the only enabled
/// administrator (tokens belong to a person who answers for them).
async fn token_owner(app: &App, email: Option<&str>) -> anyhow::Result<User> {
    if let Some(email) = email {
        let user = user_by_email(app, email).await?;
        if user.disabled || !user.roles.has(Permission::Administer) {
            bail!("--by {email}: the token's owner must be an enabled administrator");
        }
        return Ok(user);
    }
    let mut admins: Vec<User> = identity::users(app, &operator(), None)
        .await
        .map_err(refused)?
        .into_iter()
        .filter(|u| !u.disabled && u.roles.has(Permission::Administer))
        .collect();
    match admins.len() {
        1 => Ok(admins.remove(0)),
        0 => bail!(
            "no enabled administrator exists to own the token; invite one with `pathways admin user invite ... --role administrator` first"
        ),
        n => bail!("{n} administrators could own the token; name one with --by EMAIL"),
    }
}

fn when(at: Option<i64>) -> String {
    at.map(|t| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .map(|d| {
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}",
                    d.year(),
                    u8::from(d.month()),
                    d.day(),
                    d.hour(),
                    d.minute()
                )
            })
            .unwrap_or_else(|_| t.to_string())
    })
    .unwrap_or_else(|| "never".into())
}

/// Runs an admin command, printing results to standard output.
pub async fn run(cmd: AdminCommand) -> anyhow::Result<()> {
    let me = operator();
    match cmd.what {
        AdminWhat::Agency(AgencyCommand::Add { name, kind, db }) => {
            let (app, _) = open(&db).await?;
            let agency = agencies::create(&app, &me, &name, kind.key())
                .await
                .map_err(|e| match e {
                    pathways_app::Error::Invalid(f) => anyhow!(
                        "NAME: {}",
                        f.into_iter()
                            .map(|f| f.message)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    other => refused(other),
                })?;
            println!(
                "created agency {} ({}) id {}",
                agency.name,
                kind.key(),
                agency.id
            );
        }
        AdminWhat::Agency(AgencyCommand::List { db }) => {
            let (app, _) = open(&db).await?;
            for a in agencies::list(&app, &me).await.map_err(refused)? {
                let status = if a.archived_at.is_some() {
                    "archived"
                } else {
                    "active"
                };
                println!("{}\t{}\t{}\t{}", a.id, a.name, a.kind.key(), status);
            }
        }
        AdminWhat::User(UserCommand::Invite {
            agency,
            email,
            name,
            roles,
            db,
        }) => {
            let (app, web) = open(&db).await?;
            let agency_id = agency_id(&app, &agency).await?;
            let input = InviteInput {
                agency_id,
                email,
                name,
                roles: roles.iter().map(|r| r.key().to_string()).collect(),
            };
            let (user, link) = identity::invite(&app, &me, &web.public_url, &input)
                .await
                .map_err(refused)?;
            println!(
                "invited {} ({}) id {}",
                user.display_name, user.email, user.id
            );
            println!("invitation link (works once, within 7 days): {link}");
        }
        AdminWhat::User(UserCommand::List { agency, db }) => {
            let (app, _) = open(&db).await?;
            let filter = match &agency {
                Some(name) => Some(
                    agencies::by_name(&app, &me, name)
                        .await
                        .map_err(refused)?
                        .ok_or_else(|| anyhow!("there is no agency called {name:?}; see `pathways admin agency list`"))?
                        .id,
                ),
                None => None,
            };
            for u in identity::users(&app, &me, filter.as_deref())
                .await
                .map_err(refused)?
            {
                let status = if u.disabled {
                    "disabled"
                } else if !u.has_password {
                    "invited"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\tlast sign-in {}",
                    u.id,
                    u.email,
                    u.display_name,
                    u.roles.to_stored(),
                    status,
                    when(u.last_login_at)
                );
            }
        }
        AdminWhat::User(UserCommand::Roles { email, roles, db }) => {
            let (app, _) = open(&db).await?;
            let user = user_by_email(&app, &email).await?;
            let keys: Vec<String> = roles.iter().map(|r| r.key().to_string()).collect();
            identity::set_roles(&app, &me, &user.id, &keys)
                .await
                .map_err(refused)?;
            println!("{}: roles {}", user.email, keys.join(","));
        }
        AdminWhat::User(UserCommand::Disable { email, db }) => {
            set_disabled(&email, &db, true).await?
        }
        AdminWhat::User(UserCommand::Enable { email, db }) => {
            set_disabled(&email, &db, false).await?
        }
        AdminWhat::User(UserCommand::ResetLink { email, db }) => {
            let (app, web) = open(&db).await?;
            let user = user_by_email(&app, &email).await?;
            let (purpose, link) = identity::send_link(&app, &me, &web.public_url, &user.id)
                .await
                .map_err(refused)?;
            if purpose == LinkPurpose::Reset {
                println!(
                    "password reset link for {} (works once, within one hour): {link}",
                    user.email
                );
            } else {
                println!(
                    "{} has not accepted their invitation; new invitation link (works once, within 7 days): {link}",
                    user.email
                );
            }
        }
        AdminWhat::Token(TokenCommand::Create {
            name,
            agency,
            scopes,
            by,
            db,
        }) => {
            let (app, _) = open(&db).await?;
            let agency_id = agency_id(&app, &agency).await?;
            let owner = token_owner(&app, by.as_deref()).await?;
            let input = TokenInput {
                name,
                agency_id,
                scopes: scopes.iter().map(|p| p.key().to_string()).collect(),
            };
            let (id, secret) = tokens::issue(&app, &me, &input, &owner.id)
                .await
                .map_err(refused)?;
            println!("owner: {} ({})", owner.display_name, owner.email);
            println!("created token {id}");
            println!("secret (shown once; send it as `Authorization: Bearer <secret>`): {secret}");
        }
        AdminWhat::Token(TokenCommand::List { db }) => {
            let (app, _) = open(&db).await?;
            for t in tokens::list(&app, &me).await.map_err(refused)? {
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!(
                    "{}\t{}\t{}\t{}\tlast used {}",
                    t.id,
                    t.name,
                    t.scopes.join(","),
                    status,
                    when(t.last_used_at)
                );
            }
        }
        AdminWhat::Token(TokenCommand::Revoke { id, db }) => {
            let (app, _) = open(&db).await?;
            match tokens::revoke(&app, &me, &id).await {
                Ok(()) => println!("revoked token {id}"),
                Err(pathways_app::Error::NotFound) => {
                    bail!("no live token has id {id:?}; see `pathways admin token list`")
                }
                Err(e) => return Err(refused(e)),
            }
        }
    }
    Ok(())
}

async fn set_disabled(email: &str, db: &ServeArgs, disabled: bool) -> anyhow::Result<()> {
    let (app, _) = open(db).await?;
    let user = user_by_email(&app, email).await?;
    identity::set_disabled(&app, &operator(), &user.id, disabled)
        .await
        .map_err(refused)?;
    println!(
        "{}: {}",
        user.email,
        if disabled {
            "disabled; their sessions have ended"
        } else {
            "enabled"
        }
    );
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::redact;
    use pathways_store::Store;

    #[test]
    fn database_passwords_are_hidden() {
        assert_eq!(
            redact("postgres://u:secret@db:5432/p"),
            "postgres://…@db:5432/p"
        );
        assert_eq!(redact("/srv/p.db"), "/srv/p.db");
    }

    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        cmd: AdminCommand,
    }

    /// Runs `pathways admin ARGS --database DB`, with DB's folder as the data folder (where
    /// the audit signing key is made).
    pub(crate) async fn admin(db: &str, args: &[&str]) -> anyhow::Result<()> {
        use clap::Parser as _;
        let data = std::path::Path::new(db)
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--database",
            db,
            "--data-dir",
            &data,
            "--public-url",
            "https://pathways.example",
        ]);
        run(Wrapper::try_parse_from(all)?.cmd).await
    }

    #[tokio::test]
    async fn commands_manage_agencies_users_and_tokens_and_are_audited() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("p.db").display().to_string();
        admin(
            &db,
            &[
                "agency",
                "add",
                "Riverside Council",
                "--kind",
                "council_team",
            ],
        )
        .await
        .expect("agency add");
        let dup = admin(
            &db,
            &["agency", "add", "Riverside Council", "--kind", "police"],
        )
        .await
        .expect_err("duplicate");
        assert!(dup.to_string().contains("already exists"), "{dup}");
        let bad_kind = admin(&db, &["agency", "add", "X", "--kind", "castle"])
            .await
            .expect_err("bad kind");
        assert!(bad_kind.to_string().contains("council_team"), "{bad_kind}");
        admin(&db, &["agency", "list"]).await.expect("agency list");
        let invite = [
            "user",
            "invite",
            "--agency",
            "Riverside Council",
            "--email",
            "Sam@Example.org",
            "--name",
            "Sam Analyst",
        ];
        let mut with_roles = invite.to_vec();
        with_roles.extend_from_slice(&["--role", "analyst", "--role", "manager"]);
        admin(&db, &with_roles).await.expect("invite");
        let no_agency = admin(
            &db,
            &[
                "user", "invite", "--agency", "Nowhere", "--email", "a@b.org", "--name", "A",
                "--role", "analyst",
            ],
        )
        .await;
        assert!(
            no_agency
                .expect_err("unknown agency")
                .to_string()
                .contains("no agency called")
        );
        admin(&db, &["user", "list", "--agency", "Riverside Council"])
            .await
            .expect("user list");
        admin(
            &db,
            &["user", "roles", "sam@example.org", "--role", "practitioner"],
        )
        .await
        .expect("roles");
        admin(&db, &["user", "disable", "sam@example.org"])
            .await
            .expect("disable");
        admin(&db, &["user", "reset-link", "sam@example.org"])
            .await
            .expect("reset link");
        let token = [
            "token",
            "create",
            "--name",
            "Feed",
            "--agency",
            "Riverside Council",
            "--scope",
            "make_referral",
        ];
        let no_owner = admin(&db, &token).await.expect_err("no administrator yet");
        assert!(
            no_owner.to_string().contains("no enabled administrator"),
            "{no_owner}"
        );
        let boss = [
            "user",
            "invite",
            "--agency",
            "Riverside Council",
            "--email",
            "boss@example.org",
            "--name",
            "Boss",
            "--role",
            "administrator",
        ];
        admin(&db, &boss).await.expect("invite administrator");
        admin(&db, &token).await.expect("token");
        admin(&db, &["token", "list"]).await.expect("token list");

        let keys = pathways_store::AuditKeys::load(&dir.path().join("audit-signing-key.pem"))
            .expect("the key made by the first command");
        let store = Store::connect(&db, keys).await.expect("store");
        let user = store
            .user_by_email("sam@example.org")
            .await
            .expect("q")
            .expect("user");
        assert_eq!(user.roles.to_stored(), "practitioner");
        assert!(user.disabled);
        let outbox = store.recent_outbox(10).await.expect("outbox");
        assert_eq!(
            outbox.len(),
            3,
            "two invitations and a second invitation link"
        );
        assert!(outbox.iter().all(|m| {
            !m.body.contains("/invite/")
                && m.body.contains(pathways_store::outbox::WITHHELD)
                && m.body_to_send()
                    .contains("https://pathways.example/invite/")
        }));
        let tokens = store.list_api_tokens().await.expect("tokens");
        assert_eq!(tokens.len(), 1);
        let boss = store
            .user_by_email("boss@example.org")
            .await
            .expect("q")
            .expect("administrator");
        assert_eq!(tokens[0].created_by, boss.id);
        admin(&db, &["token", "revoke", &tokens[0].id])
            .await
            .expect("revoke");
        assert!(
            admin(&db, &["token", "revoke", &tokens[0].id])
                .await
                .is_err(),
            "already revoked"
        );
        admin(&db, &["user", "enable", "sam@example.org"])
            .await
            .expect("enable");
        let mut audit = store.recent_audit(100).await.expect("audit");
        audit.reverse();
        let actions: Vec<&str> = audit.iter().map(|e| e.event.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "agency_created",
                "user_invited",
                "permission_change",
                "user_disabled",
                "invitation_resent",
                "user_invited",
                "token_created",
                "token_revoked",
                "user_enabled"
            ]
        );
        assert!(
            audit
                .iter()
                .all(|e| e.event.actor_id == cli_actor() && e.event.actor_id.starts_with("cli:"))
        );
    }

    #[test]
    fn bad_values_name_the_choices() {
        assert!(parse_role("wizard").unwrap_err().contains("practitioner"));
        assert!(parse_kind("castle").unwrap_err().contains("school"));
        assert_eq!(parse_scope("administer"), Ok(Permission::Administer));
    }
}
