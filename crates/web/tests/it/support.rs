//! The test server and helpers: start the application, create agencies and users directly
//! in the store, sign in, read CSRF tokens from forms, and look at the audit log.

use std::net::SocketAddr;
use std::sync::Arc;

use pathways_app::crypto;
use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::testing::TestDatabase;
use pathways_store::{NewUser, Store, User};
use pathways_web::{AppState, WebSettings};
use reqwest::Client;
use reqwest::cookie::Jar;
use reqwest::redirect::Policy;

/// A running application over its own database.
pub struct App {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The database (removed on drop).
    pub db: TestDatabase,
    /// Served until the app is dropped.
    server: Server,
}

/// The application served on a loopback port over an existing store, with fresh state (no
/// caches, no in-memory indexes); stops when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The key the server's CSRF tokens are made with.
    pub csrf_key: pathways_store::ServerSecret,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Serves `store`, letting the caller adjust the settings.
    pub async fn start_with(store: Store, adjust: impl FnOnce(&mut WebSettings)) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port is free");
        let addr = listener.local_addr().expect("bound address");
        let base = format!("http://{addr}");
        let mut settings = WebSettings {
            public_url: base.clone(),
            ..WebSettings::default()
        };
        adjust(&mut settings);
        let csrf_key = settings.csrf_key.clone();
        let app_settings = pathways_app::Settings {
            public_url: settings.public_url.clone(),
            ..pathways_app::Settings::default()
        };
        let app = pathways_web::router(AppState::new(store, settings, app_settings));
        let task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service).await;
        });
        Server {
            base,
            csrf_key,
            task,
        }
    }
}

/// A password that passes the password rules.
pub const PASSWORD: &str = "correct horse battery staple 42";

impl App {
    /// Starts the application with default settings (TOTP required for case roles).
    pub async fn start() -> App {
        App::start_with(|_| {}).await
    }

    /// Starts the application, letting the test adjust the settings.
    pub async fn start_with(adjust: impl FnOnce(&mut WebSettings)) -> App {
        let db = TestDatabase::sqlite()
            .await
            .expect("a temporary SQLite database opens");
        let server = Server::start_with(db.store.clone(), adjust).await;
        App {
            base: server.base.clone(),
            db,
            server,
        }
    }

    /// The key the server's CSRF tokens are made with.
    pub fn csrf_key(&self) -> pathways_store::ServerSecret {
        self.server.csrf_key.clone()
    }

    /// The store behind the application.
    pub fn store(&self) -> &Store {
        &self.db.store
    }

    /// An absolute URL for a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser-like client: cookie store on, redirects not followed (tests assert them).
    pub fn client(&self) -> (Client, Arc<Jar>) {
        let jar = Arc::new(Jar::default());
        let client = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .build()
            .expect("client builds");
        (client, jar)
    }

    /// The agency of the test users, created on first use.
    pub async fn agency(&self) -> String {
        match self
            .store()
            .agency_by_name("Riverside Council")
            .await
            .expect("query")
        {
            Some(a) => a.id,
            None => {
                pathways_store::testing::create_agency(
                    self.store(),
                    "Riverside Council",
                    AgencyKind::CouncilTeam,
                )
                .await
                .expect("agency")
                .id
            }
        }
    }

    /// Creates a user with a password and the given roles.
    pub async fn user(&self, email: &str, name: &str, roles: &[Role]) -> User {
        let agency_id = self.agency().await;
        pathways_store::testing::create_user(
            self.store(),
            &NewUser {
                agency_id,
                email: email.into(),
                display_name: name.into(),
                roles: RoleSet::new(roles.to_vec()),
                password_hash: Some(crypto::hash_password(PASSWORD).expect("hash")),
            },
        )
        .await
        .expect("user")
    }

    /// A fully signed-in session for `user`, created in the store (bypassing the sign-in
    /// pages); returns a client carrying it and the CSRF token for its forms.
    pub async fn session(&self, user: &User) -> (Client, String, String) {
        let raw = crypto::random_token();
        pathways_store::testing::create_session(
            self.store(),
            &crypto::digest(&raw),
            &user.id,
            "full",
            "127.0.0.1",
        )
        .await
        .expect("session");
        let (client, jar) = self.client();
        jar.add_cookie_str(
            &format!("pw_session={raw}; Path=/"),
            &self.base.parse().expect("url"),
        );
        (
            client,
            pathways_web::crypto::csrf_token(&self.server.csrf_key, &raw),
            raw,
        )
    }

    /// Every audit entry's (action, record_id, outcome), oldest first.
    pub async fn audit(&self) -> Vec<(String, String, String)> {
        let mut rows = self.store().recent_audit(10_000).await.expect("audit");
        rows.reverse();
        rows.into_iter()
            .map(|e| (e.event.action, e.event.record_id, e.event.outcome))
            .collect()
    }

    /// How many audit entries have this action.
    pub async fn audited(&self, action: &str) -> usize {
        self.audit()
            .await
            .iter()
            .filter(|(a, _, _)| a == action)
            .count()
    }

    /// Runs one SQL statement against the database (to age sessions, links and so on).
    pub async fn sql(&self, statement: &str) {
        sqlx::query(statement)
            .execute(self.store().pool())
            .await
            .expect("SQL runs");
    }
}

/// The value of a hidden form field in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_string()
}

/// The text inside the element with this id (`<x id="ID" ...>TEXT<`).
pub fn element_text(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = html[at..].find('>').expect("tag end") + at + 1;
    let end = html[start..].find('<').expect("next tag") + start;
    html[start..end].trim().to_string()
}

/// The `Location` header of a response.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The value the response sets for a cookie, if it sets one.
pub fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// The cookie's value from a `Set-Cookie` header.
pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

/// Fetches the sign-in form and posts the credentials; returns the response.
pub async fn sign_in(app: &App, client: &Client, email: &str, password: &str) -> reqwest::Response {
    let form = client
        .get(app.url("/login"))
        .send()
        .await
        .expect("GET /login")
        .text()
        .await
        .expect("body");
    let csrf = hidden(&form, "csrf");
    client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST /login")
}

/// Posts a form with the CSRF token added.
pub async fn post_form(
    app: &App,
    client: &Client,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    client
        .post(app.url(path))
        .form(&all)
        .send()
        .await
        .expect("POST")
}

/// GETs a page.
pub async fn get(app: &App, client: &Client, path: &str) -> reqwest::Response {
    client.get(app.url(path)).send().await.expect("GET")
}

/// POSTs a form of repeated or computed fields (answers, outcomes) with the CSRF token.
pub async fn post_pairs(
    app: &App,
    client: &reqwest::Client,
    path: &str,
    csrf: &str,
    pairs: &[(String, String)],
) -> reqwest::Response {
    let mut all: Vec<(String, String)> = vec![("csrf".into(), csrf.into())];
    all.extend_from_slice(pairs);
    client
        .post(app.url(path))
        .form(&all)
        .send()
        .await
        .expect("POST")
}
