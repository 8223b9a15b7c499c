//! Settings for `pathways serve` and `pathways demo`, layered with a documented precedence:
//! command-line flags, then environment variables, then the TOML file, then defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use pathways_web::client::ProxyRange;
use serde::Deserialize;

/// The audit signing key's file name in the data folder, unless set otherwise.
pub const AUDIT_KEY_FILE: &str = "audit-signing-key.pem";
/// The file in the data folder holding the key of CSRF tokens (a server secret, owner-only,
/// made on first start; instances sharing a data folder share it).
pub const CSRF_KEY_FILE: &str = "csrf-key";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Options common to every command that opens the database or serves pages. Each is
/// `Option` so that an absent flag falls through to the file and the defaults.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on [env: PATHWAYS_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, env = "PATHWAYS_LISTEN", hide_env = true)]
    pub listen: Option<SocketAddr>,
    /// Database: a SQLite file path or a postgres:// URL [env: DATABASE_URL] [default: DATA_DIR/pathways.db]
    #[arg(
        long = "database",
        env = "DATABASE_URL",
        hide_env = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Folder for the SQLite file, the crime store and other data [env: PATHWAYS_DATA_DIR] [default: ./pathways-data]
    #[arg(long, env = "PATHWAYS_DATA_DIR", hide_env = true)]
    pub data_dir: Option<PathBuf>,
    /// Audit signing key file (Ed25519, PKCS#8 PEM, owner-only; created on first start) [env: PATHWAYS_AUDIT_KEY] [default: DATA_DIR/audit-signing-key.pem]
    #[arg(long, env = "PATHWAYS_AUDIT_KEY", hide_env = true)]
    pub audit_key: Option<PathBuf>,
    /// Public base URL; https:// turns on Secure cookies and HSTS [env: PATHWAYS_PUBLIC_URL]
    #[arg(long, env = "PATHWAYS_PUBLIC_URL", hide_env = true)]
    pub public_url: Option<String>,
    /// Log format [env: PATHWAYS_LOG_FORMAT] [default: human]
    #[arg(long, value_enum, env = "PATHWAYS_LOG_FORMAT", hide_env = true)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. info or pathways=debug [env: PATHWAYS_LOG] [default: info]
    #[arg(long, env = "PATHWAYS_LOG", hide_env = true)]
    pub log: Option<String>,
    /// Settings file (TOML) [env: PATHWAYS_CONFIG] [default: ./pathways.toml if present]
    #[arg(long, short = 'c', env = "PATHWAYS_CONFIG", hide_env = true)]
    pub config: Option<PathBuf>,
    /// A reverse proxy (address or CIDR range) whose X-Forwarded-For or Forwarded header
    /// names the client; repeat for several [env: PATHWAYS_TRUSTED_PROXIES, comma-separated] [default: none]
    #[arg(
        long = "trusted-proxy",
        value_name = "ADDR_OR_CIDR",
        env = "PATHWAYS_TRUSTED_PROXIES",
        hide_env = true,
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<ProxyRange>,
    /// Database connections each process keeps at most, plus one for the audit writer [env: PATHWAYS_DB_POOL_SIZE] [default: 8 on SQLite; PostgreSQL: twice the cores, 4 to 10]
    #[arg(long, value_name = "N", env = "PATHWAYS_DB_POOL_SIZE", hide_env = true)]
    pub db_pool_size: Option<u32>,
    /// Most open HTTP connections; the idlest is closed to make room [env: PATHWAYS_MAX_CONNECTIONS] [default: 1000]
    #[arg(
        long,
        value_name = "N",
        env = "PATHWAYS_MAX_CONNECTIONS",
        hide_env = true
    )]
    pub max_connections: Option<usize>,
    /// Seconds a client may take to send a request's headers [env: PATHWAYS_HEADER_TIMEOUT] [default: 10]
    #[arg(
        long,
        value_name = "SECS",
        env = "PATHWAYS_HEADER_TIMEOUT",
        hide_env = true
    )]
    pub header_timeout: Option<u64>,
    /// Seconds a kept-alive connection may wait for its next request [env: PATHWAYS_IDLE_TIMEOUT] [default: 60]
    #[arg(
        long,
        value_name = "SECS",
        env = "PATHWAYS_IDLE_TIMEOUT",
        hide_env = true
    )]
    pub idle_timeout: Option<u64>,
    /// Seconds a request may take, body included, before it is answered 503 [env: PATHWAYS_REQUEST_TIMEOUT] [default: 30]
    #[arg(
        long,
        value_name = "SECS",
        env = "PATHWAYS_REQUEST_TIMEOUT",
        hide_env = true
    )]
    pub request_timeout: Option<u64>,
    /// Working hours allowed to triage an urgent referral [env: PATHWAYS_SLA_URGENT_HOURS] [default: 4]
    #[arg(
        long,
        value_name = "HOURS",
        env = "PATHWAYS_SLA_URGENT_HOURS",
        hide_env = true
    )]
    pub sla_urgent_hours: Option<f64>,
    /// Working hours allowed to triage a standard referral [env: PATHWAYS_SLA_STANDARD_HOURS] [default: 8, one working day]
    #[arg(
        long,
        value_name = "HOURS",
        env = "PATHWAYS_SLA_STANDARD_HOURS",
        hide_env = true
    )]
    pub sla_standard_hours: Option<f64>,
    /// Bank holidays: a file of YYYY-MM-DD lines replacing the shipped England and Wales list [env: PATHWAYS_BANK_HOLIDAYS]
    #[arg(
        long,
        value_name = "FILE",
        env = "PATHWAYS_BANK_HOLIDAYS",
        hide_env = true
    )]
    pub bank_holidays: Option<PathBuf>,
    /// SMTP relay host for e-mail from the outbox [env: PATHWAYS_SMTP_HOST] [default: localhost]
    #[arg(long, env = "PATHWAYS_SMTP_HOST", hide_env = true)]
    pub smtp_host: Option<String>,
    /// SMTP relay port [env: PATHWAYS_SMTP_PORT] [default: 25]
    #[arg(long, env = "PATHWAYS_SMTP_PORT", hide_env = true)]
    pub smtp_port: Option<u16>,
    /// Sender address of e-mail [env: PATHWAYS_MAIL_FROM] [default: pathways@localhost]
    #[arg(long, env = "PATHWAYS_MAIL_FROM", hide_env = true)]
    pub mail_from: Option<String>,
}

/// The TOML file's shape; every key optional. Unknown keys are an error so typos surface.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<SocketAddr>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    audit_key: Option<PathBuf>,
    public_url: Option<String>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    service_name: Option<String>,
    exit_url: Option<String>,
    session_idle_minutes: Option<i64>,
    session_absolute_hours: Option<i64>,
    require_totp_for_case_roles: Option<bool>,
    trusted_proxies: Option<Vec<String>>,
    db_pool_size: Option<u32>,
    max_connections: Option<usize>,
    header_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    sla_urgent_hours: Option<f64>,
    sla_standard_hours: Option<f64>,
    bank_holidays: Option<PathBuf>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    mail_from: Option<String>,
    metrics_allow: Option<Vec<String>>,
    metrics_token: Option<String>,
}

/// Fully resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The database URL.
    pub database_url: String,
    /// The audit signing key file.
    pub audit_key: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter.
    pub log: String,
    /// Web settings.
    pub web: pathways_web::WebSettings,
    /// Database pool settings.
    pub store: pathways_store::StoreOptions,
    /// Connection limits of the HTTP server.
    pub limits: crate::server::Limits,
    /// Settings every use case shares (working calendar, service levels, public URL).
    pub app: pathways_app::Settings,
    /// The e-mail relay.
    pub notify: pathways_web::notify::NotifySettings,
}

impl Settings {
    /// The audit signing key, read from its file or, on first use, created there; its public
    /// half is logged so that it can be noted outside the system.
    pub fn audit_keys(&self) -> anyhow::Result<pathways_store::AuditKeys> {
        let keys = pathways_store::AuditKeys::load_or_create(&self.audit_key)?;
        if keys.is_fresh() {
            tracing::warn!(
                file = %self.audit_key.display(),
                key = %keys.public_key(),
                "created a new audit signing key; keep a copy of the file apart from the database backups"
            );
        } else {
            tracing::info!(file = %self.audit_key.display(), key = %keys.public_key(), "audit signing key");
        }
        Ok(keys)
    }

    /// Reads the server secrets from the data folder, creating them on first start: the key
    /// of CSRF tokens. Done once, before serving.
    pub fn load_server_secrets(&mut self) -> anyhow::Result<()> {
        let path = self.web.data_dir.join(CSRF_KEY_FILE);
        self.web.csrf_key = pathways_store::ServerSecret::load_or_create(&path)?;
        Ok(())
    }

    /// Opens (and migrates) the database, signing the audit log with the configured key.
    pub async fn connect(&self) -> anyhow::Result<pathways_store::Store> {
        let keys = self.audit_keys()?;
        Ok(pathways_store::Store::connect_with(&self.database_url, keys, self.store).await?)
    }
}

/// Hides a password in a database URL for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

impl ServeArgs {
    /// Resolves flags/environment over the file over defaults.
    pub fn resolve(&self) -> anyhow::Result<Settings> {
        let file = load_file(self.config.as_deref())?;
        let listen = self
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let data_dir = self
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("pathways-data"));
        let database_url = self
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| data_dir.join("pathways.db").display().to_string());
        let audit_key = self
            .audit_key
            .clone()
            .or(file.audit_key)
            .unwrap_or_else(|| data_dir.join(AUDIT_KEY_FILE));
        let defaults = pathways_web::WebSettings::default();
        let public_url = self
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        let idle = file
            .session_idle_minutes
            .unwrap_or(defaults.session_idle_secs / 60);
        let absolute = file
            .session_absolute_hours
            .unwrap_or(defaults.session_absolute_secs / 3600);
        if idle <= 0 || absolute <= 0 {
            bail!("session_idle_minutes and session_absolute_hours must be positive");
        }
        let trusted_proxies = if self.trusted_proxies.is_empty() {
            file.trusted_proxies
                .unwrap_or_default()
                .iter()
                .map(|p| p.parse())
                .collect::<Result<Vec<ProxyRange>, _>>()
                .context("settings file: trusted_proxies")?
        } else {
            self.trusted_proxies.clone()
        };
        let metrics_allow = match file.metrics_allow {
            Some(list) => list
                .iter()
                .map(|p| p.parse())
                .collect::<Result<Vec<ProxyRange>, _>>()
                .context("settings file: metrics_allow")?,
            None => defaults.metrics_allow.clone(),
        };
        let metrics_token = std::env::var("PATHWAYS_METRICS_TOKEN")
            .ok()
            .or(file.metrics_token)
            .filter(|t| !t.trim().is_empty());
        if metrics_token.as_ref().is_some_and(|t| t.len() < 20) {
            bail!("metrics_token must be at least 20 characters");
        }
        let mut store = pathways_store::StoreOptions::defaults_for(&database_url);
        if let Some(n) = self.db_pool_size.or(file.db_pool_size) {
            if n == 0 {
                bail!("db_pool_size must be at least 1");
            }
            store.pool_size = n;
        }
        let default_limits = crate::server::Limits::default();
        let secs = |flag: Option<u64>, file: Option<u64>, default: Duration, name: &str| match flag
            .or(file)
        {
            Some(0) => bail!("{name} must be at least 1 second"),
            Some(s) => Ok(Duration::from_secs(s)),
            None => Ok(default),
        };
        let limits = crate::server::Limits {
            max_connections: match self.max_connections.or(file.max_connections) {
                Some(0) => bail!("max_connections must be at least 1"),
                Some(n) => n,
                None => default_limits.max_connections,
            },
            header_timeout: secs(
                self.header_timeout,
                file.header_timeout_secs,
                default_limits.header_timeout,
                "header_timeout_secs",
            )?,
            idle_timeout: secs(
                self.idle_timeout,
                file.idle_timeout_secs,
                default_limits.idle_timeout,
                "idle_timeout_secs",
            )?,
        };
        let request_timeout = secs(
            self.request_timeout,
            file.request_timeout_secs,
            defaults.request_timeout,
            "request_timeout_secs",
        )?;
        let mut calendar = pathways_domain::working_time::WorkingCalendar::default();
        let hours = |v: Option<f64>, name: &str| -> anyhow::Result<Option<i64>> {
            match v {
                Some(h) if h > 0.0 && h < 10_000.0 => Ok(Some((h * 3600.0).round() as i64)),
                Some(_) => bail!("{name} must be a positive number of working hours"),
                None => Ok(None),
            }
        };
        if let Some(s) = hours(
            self.sla_urgent_hours.or(file.sla_urgent_hours),
            "sla_urgent_hours",
        )? {
            calendar.urgent_secs = s;
        }
        if let Some(s) = hours(
            self.sla_standard_hours.or(file.sla_standard_hours),
            "sla_standard_hours",
        )? {
            calendar.standard_secs = s;
        }
        if let Some(path) = self.bank_holidays.clone().or(file.bank_holidays) {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("cannot read the bank holidays file {}", path.display())
            })?;
            calendar.holidays = pathways_domain::working_time::parse_holidays(&text)
                .map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.problem))?;
        }
        let mut notify = pathways_web::notify::NotifySettings::default();
        if let Some(h) = self.smtp_host.clone().or(file.smtp_host) {
            notify.smtp_host = h;
        }
        if let Some(p) = self.smtp_port.or(file.smtp_port) {
            notify.smtp_port = p;
        }
        if let Some(f) = self.mail_from.clone().or(file.mail_from) {
            notify.from = f;
        }
        let app = pathways_app::Settings {
            calendar,
            public_url: public_url.clone(),
            ..pathways_app::Settings::default()
        };
        Ok(Settings {
            app,
            notify,
            listen,
            database_url,
            audit_key,
            log_format: self.log_format.or(file.log_format).unwrap_or_default(),
            log: self
                .log
                .clone()
                .or(file.log)
                .unwrap_or_else(|| "info".into()),
            web: pathways_web::WebSettings {
                service_name: file.service_name.unwrap_or(defaults.service_name),
                public_url,
                exit_url: file.exit_url.unwrap_or(defaults.exit_url),
                session_idle_secs: idle * 60,
                session_absolute_secs: absolute * 3600,
                require_totp_for_case_roles: file
                    .require_totp_for_case_roles
                    .unwrap_or(defaults.require_totp_for_case_roles),
                audit_reads: defaults.audit_reads,
                data_dir: data_dir.clone(),
                trusted_proxies,
                request_timeout,
                metrics_allow,
                metrics_token,
                csrf_key: defaults.csrf_key,
            },
            store,
            limits,
        })
    }
}

fn load_file(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("pathways.toml"), false),
    };
    if !path.exists() {
        if required {
            bail!("settings file {} does not exist", path.display());
        }
        return Ok(FileConfig::default());
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read settings file {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let msg = e.message().to_string();
        // An unknown key is reported at its own line, not at the table that holds it.
        let key_line = msg
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .and_then(|key| {
                text.lines().position(|l| {
                    l.trim_start().starts_with(key)
                        && l[l.find(key).unwrap_or(0) + key.len()..]
                            .trim_start()
                            .starts_with('=')
                })
            })
            .map(|i| i + 1);
        let at = key_line
            .or_else(|| {
                e.span()
                    .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            })
            .map(|line| format!(" at line {line}"))
            .unwrap_or_default();
        anyhow::anyhow!("settings file {}{at}: {msg}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/p\"\nservice_name = \"Safer Borough\"\n")
            .expect("write");
        let args = ServeArgs {
            config: Some(path.clone()),
            listen: Some("127.0.0.1:7000".parse().expect("addr")),
            ..ServeArgs::default()
        };
        let s = args.resolve().expect("resolves");
        assert_eq!(s.listen.port(), 7000);
        assert_eq!(s.web.data_dir, PathBuf::from("/srv/p"));
        assert_eq!(s.database_url, "/srv/p/pathways.db");
        assert_eq!(s.audit_key, PathBuf::from("/srv/p/audit-signing-key.pem"));
        assert_eq!(s.web.service_name, "Safer Borough");
        assert_eq!(s.web.session_idle_secs, 30 * 60);
    }

    #[test]
    fn operations_settings_come_from_flags_or_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.toml");
        std::fs::write(
            &path,
            "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\ndb_pool_size = 6\nmax_connections = 50\n\
             header_timeout_secs = 3\nidle_timeout_secs = 20\nrequest_timeout_secs = 9\n",
        )
        .expect("write");
        let from_file = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        }
        .resolve()
        .expect("resolves");
        assert_eq!(from_file.web.trusted_proxies.len(), 2);
        assert!(from_file.web.trusted_proxies[0].contains("10.1.2.3".parse().expect("ip")));
        assert_eq!(from_file.store.pool_size, 6);
        assert_eq!(from_file.limits.max_connections, 50);
        assert_eq!(from_file.limits.header_timeout, Duration::from_secs(3));
        assert_eq!(from_file.limits.idle_timeout, Duration::from_secs(20));
        assert_eq!(from_file.web.request_timeout, Duration::from_secs(9));
        let flags = ServeArgs {
            config: Some(path.clone()),
            trusted_proxies: vec!["192.0.2.1".parse().expect("range")],
            db_pool_size: Some(3),
            ..ServeArgs::default()
        }
        .resolve()
        .expect("resolves");
        assert_eq!(flags.web.trusted_proxies.len(), 1);
        assert_eq!(flags.store.pool_size, 3);
        let defaults = ServeArgs::default().resolve().expect("defaults");
        assert!(defaults.web.trusted_proxies.is_empty());
        assert_eq!(defaults.store.pool_size, 8, "SQLite default");
        std::fs::write(&path, "trusted_proxies = [\"proxy.internal\"]\n").expect("write");
        let err = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        }
        .resolve()
        .expect_err("not an address");
        let text = format!("{err:#}");
        assert!(
            text.contains("trusted_proxies") && text.contains("proxy.internal"),
            "{text}"
        );
    }

    #[test]
    fn malformed_file_names_the_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nlisten_port = 4\n").expect("write");
        let args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        let err = args.resolve().expect_err("unknown key").to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("listen_port"), "{err}");
    }
}
