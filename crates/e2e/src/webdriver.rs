//! A minimal W3C WebDriver client over HTTP: starts chromedriver on a free local port,
//! opens one headless Chromium session, and offers the commands the browser tests need.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{E2eError, REQUIRE_BROWSER_ENV};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long to wait between two checks of a polled condition.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How many checks of chromedriver's `/status` before giving up (about ten seconds).
const DRIVER_READY_ATTEMPTS: u32 = 200;

/// Where `axe.min.js` is installed by `npm ci` in the web crate.
const AXE_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../web/node_modules/axe-core/axe.min.js"
);

/// WebDriver key codes for [`Browser::press_keys`] and [`Browser::send_keys`].
pub mod keys {
    /// The Shift key.
    pub const SHIFT: &str = "\u{E008}";
    /// The Enter key.
    pub const ENTER: &str = "\u{E007}";
    /// The Tab key.
    pub const TAB: &str = "\u{E004}";
}

/// A reference to an element on the current page, valid until the page changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementId(String);

/// One accessibility rule that axe-core found broken on a page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Violation {
    /// The axe rule id, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    /// What the rule asks for.
    pub help: String,
    /// Deque's explanation of the rule.
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    /// CSS selectors of the offending elements.
    pub nodes: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {} at {} — {}",
            self.id,
            self.impact.as_deref().unwrap_or("unknown impact"),
            self.help,
            self.nodes.join(", "),
            self.help_url
        )
    }
}

/// The Chromium binary: `PATHWAYS_CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium_path() -> String {
    std::env::var("PATHWAYS_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// The chromedriver binary: `PATHWAYS_CHROMEDRIVER`, else Debian's `/usr/bin/chromedriver`.
fn chromedriver_path() -> String {
    std::env::var("PATHWAYS_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

/// True when a missing browser must fail the test rather than skip it.
fn browser_required() -> bool {
    std::env::var(REQUIRE_BROWSER_ENV).is_ok_and(|v| v == "1")
}

/// A headless Chromium session driven through its own chromedriver process; the session
/// ends, chromedriver stops and the profile folder is removed when it is dropped.
pub struct Browser {
    http: reqwest::Client,
    driver_url: String,
    session: Option<String>,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    /// Starts a browser, or returns `None` after printing why when Chromium or chromedriver
    /// is not installed; with `PATHWAYS_REQUIRE_BROWSER=1` a missing browser is an error.
    pub async fn launch() -> Result<Option<Browser>, E2eError> {
        let chromium = chromium_path();
        let driver = chromedriver_path();
        for (program, path) in [("chromium", &chromium), ("chromedriver", &driver)] {
            if !Path::new(path).is_file() {
                if browser_required() {
                    return Err(E2eError::BrowserMissing {
                        program,
                        path: path.clone(),
                    });
                }
                println!(
                    "SKIPPED: {program} is not installed at {path}, so this browser test did not run. \
                     Install it (Debian: apt-get install chromium chromium-driver) to run it; \
                     set {REQUIRE_BROWSER_ENV}=1 to make a missing browser a failure."
                );
                return Ok(None);
            }
        }
        Self::start(&chromium, &driver).await.map(Some)
    }

    /// Starts chromedriver and opens a headless session of the given Chromium binary.
    pub async fn start(chromium: &str, chromedriver: &str) -> Result<Browser, E2eError> {
        let profile =
            std::env::temp_dir().join(format!("pathways-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).map_err(|source| E2eError::File {
            path: profile.display().to_string(),
            source,
        })?;
        let http = reqwest::Client::new();
        // A port found free can be taken by someone else before chromedriver binds it;
        // a second and third port make that race harmless.
        let mut last_error = None;
        for _ in 0..3 {
            match start_driver(&http, chromedriver, &profile).await {
                Ok((driver, driver_url)) => {
                    let mut browser = Browser {
                        http,
                        driver_url,
                        session: None,
                        driver,
                        profile,
                    };
                    browser.open_session(chromium).await?;
                    return Ok(browser);
                }
                Err(e) => last_error = Some(e),
            }
        }
        let _ = std::fs::remove_dir_all(&profile);
        Err(last_error.unwrap_or_else(|| E2eError::DriverStart {
            path: chromedriver.into(),
            reason: "no attempt was made".into(),
        }))
    }

    async fn open_session(&mut self, chromium: &str) -> Result<(), E2eError> {
        let user_data = format!(
            "--user-data-dir={}",
            self.profile.join("user-data").display()
        );
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "script": 60_000, "pageLoad": 30_000, "implicit": 0 },
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": [
                            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--disable-dev-shm-usage", "--window-size=1280,1024", user_data,
                        ],
                    },
                },
            },
        });
        let value = self
            .raw(Method::POST, "/session".into(), Some(caps))
            .await?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| E2eError::Protocol {
                command: "POST /session".into(),
                body: value.to_string(),
            })?;
        self.session = Some(id.to_string());
        Ok(())
    }

    /// Sends one command to chromedriver and returns the `value` of its answer.
    async fn raw(
        &self,
        method: Method,
        path: String,
        body: Option<Value>,
    ) -> Result<Value, E2eError> {
        let command = format!("{method} {path}");
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.driver_url));
        if method == Method::POST {
            // WebDriver requires a JSON body on every POST, even an empty one.
            req = req.json(&body.unwrap_or_else(|| json!({})));
        }
        let res = req.send().await.map_err(|source| E2eError::Http {
            command: command.clone(),
            source,
        })?;
        let text = res.text().await.map_err(|source| E2eError::Http {
            command: command.clone(),
            source,
        })?;
        let parsed: Value = serde_json::from_str(&text).map_err(|_| E2eError::Protocol {
            command: command.clone(),
            body: text.clone(),
        })?;
        let value = parsed.get("value").cloned().unwrap_or(Value::Null);
        if let Some(error) = value.get("error").and_then(Value::as_str) {
            return Err(E2eError::WebDriver {
                command,
                error: error.to_string(),
                message: value
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        Ok(value)
    }

    /// Sends a command within the session (`path` is relative to `/session/{id}`).
    async fn cmd(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, E2eError> {
        let session = self.session.as_deref().ok_or_else(|| E2eError::Protocol {
            command: format!("{method} {path}"),
            body: "no open session".into(),
        })?;
        self.raw(method, format!("/session/{session}{path}"), body)
            .await
    }

    async fn string(&self, path: &str) -> Result<String, E2eError> {
        let value = self.cmd(Method::GET, path, None).await?;
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| E2eError::Protocol {
                command: format!("GET {path}"),
                body: value.to_string(),
            })
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> Result<(), E2eError> {
        self.cmd(Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
    }

    /// The URL of the current page.
    pub async fn current_url(&self) -> Result<String, E2eError> {
        self.string("/url").await
    }

    /// The title of the current page.
    pub async fn title(&self) -> Result<String, E2eError> {
        self.string("/title").await
    }

    /// Goes back one entry in the session history.
    pub async fn back(&self) -> Result<(), E2eError> {
        self.cmd(Method::POST, "/back", None).await.map(drop)
    }

    /// The first element matching the CSS selector; an error when there is none.
    pub async fn find(&self, css: &str) -> Result<ElementId, E2eError> {
        let value = self
            .cmd(
                Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await?;
        element_id(&value, css)
    }

    /// Every element matching the CSS selector, in document order.
    pub async fn find_all(&self, css: &str) -> Result<Vec<ElementId>, E2eError> {
        let value = self
            .cmd(
                Method::POST,
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await?;
        match value.as_array() {
            Some(items) => items.iter().map(|v| element_id(v, css)).collect(),
            None => Err(E2eError::Protocol {
                command: format!("find all {css}"),
                body: value.to_string(),
            }),
        }
    }

    /// Polls for an element matching the CSS selector, checking up to `attempts` times.
    pub async fn wait_for(&self, css: &str, attempts: u32) -> Result<ElementId, E2eError> {
        for _ in 0..attempts {
            if let Some(el) = self.find_all(css).await?.into_iter().next() {
                return Ok(el);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        Err(E2eError::Timeout {
            what: format!("an element matching {css}"),
            attempts,
        })
    }

    /// Polls until the current URL equals `expected`, checking up to `attempts` times.
    pub async fn wait_for_url(&self, expected: &str, attempts: u32) -> Result<(), E2eError> {
        let mut last = String::new();
        for _ in 0..attempts {
            last = self.current_url().await?;
            if last == expected {
                return Ok(());
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        Err(E2eError::Timeout {
            what: format!("the URL to become {expected} (it stayed {last})"),
            attempts,
        })
    }

    /// Clicks the element.
    pub async fn click(&self, el: &ElementId) -> Result<(), E2eError> {
        self.cmd(Method::POST, &format!("/element/{}/click", el.0), None)
            .await
            .map(drop)
    }

    /// Types `text` into the element (see [`keys`] for special keys).
    pub async fn send_keys(&self, el: &ElementId, text: &str) -> Result<(), E2eError> {
        self.cmd(
            Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .await
        .map(drop)
    }

    /// The element's rendered text.
    pub async fn text(&self, el: &ElementId) -> Result<String, E2eError> {
        self.string(&format!("/element/{}/text", el.0)).await
    }

    /// An attribute of the element, or `None` when it is absent.
    pub async fn attribute(&self, el: &ElementId, name: &str) -> Result<Option<String>, E2eError> {
        let value = self
            .cmd(
                Method::GET,
                &format!("/element/{}/attribute/{name}", el.0),
                None,
            )
            .await?;
        Ok(value.as_str().map(str::to_string))
    }

    /// The computed value of a CSS property of the first element matching `css`, exactly
    /// as `getComputedStyle` gives it (colours as `rgb(r, g, b)`); WebDriver's own CSS
    /// command is not used because it rewrites colours as `rgba`.
    pub async fn computed_style(&self, css: &str, property: &str) -> Result<String, E2eError> {
        let el = self.find(css).await?;
        let value = self
            .execute(
                "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1]);",
                vec![json!({ ELEMENT_KEY: el.0 }), json!(property)],
            )
            .await?;
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| E2eError::Protocol {
                command: format!("computed style {property} of {css}"),
                body: value.to_string(),
            })
    }

    /// Presses and releases each key in turn on the focused page (see [`keys`]).
    pub async fn press_keys(&self, keys: &[&str]) -> Result<(), E2eError> {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|k| {
                [
                    json!({ "type": "keyDown", "value": k }),
                    json!({ "type": "keyUp", "value": k }),
                ]
            })
            .collect();
        let body = json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] });
        self.cmd(Method::POST, "/actions", Some(body)).await?;
        self.cmd(Method::DELETE, "/actions", None).await.map(drop)
    }

    /// Runs `script` as the body of a function in the page with `args` as `arguments`
    /// and returns its result; a returned promise is awaited.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, E2eError> {
        self.cmd(
            Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Saves a PNG screenshot of the viewport to `path`, creating its folder.
    pub async fn screenshot_png(&self, path: &Path) -> Result<(), E2eError> {
        let data = self.string("/screenshot").await?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.as_bytes())
            .map_err(|e| E2eError::Protocol {
                command: "GET /screenshot".into(),
                body: format!("not base64: {e}"),
            })?;
        let file_error = |source| E2eError::File {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(file_error)?;
        }
        std::fs::write(path, bytes).map_err(file_error)
    }

    /// Runs axe-core's default rules (WCAG A and AA, best practices) on the current page
    /// and returns every violation; an empty list means none were found.
    pub async fn run_axe(&self) -> Result<Vec<Violation>, E2eError> {
        let source = std::fs::read_to_string(AXE_PATH).map_err(|source| E2eError::File {
            path: format!("{AXE_PATH} (run `npm ci` in crates/web to install axe-core)"),
            source,
        })?;
        // Scripts sent through WebDriver run outside the page's content security policy,
        // so the page's ban on inline script does not stop axe from loading.
        let loaded = self
            .execute(&format!("{source}\nreturn typeof window.axe;"), vec![])
            .await?;
        if loaded != json!("object") {
            return Err(E2eError::Protocol {
                command: "inject axe-core".into(),
                body: format!("window.axe is {loaded} after loading {AXE_PATH}"),
            });
        }
        let result = self
            .execute(
                "return window.axe.run(document, { resultTypes: ['violations'] }).then(function (r) {\n\
                   return r.violations.map(function (v) {\n\
                     return { id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,\n\
                       nodes: v.nodes.map(function (n) { return n.target.join(' ') }) }\n\
                   })\n\
                 })",
                vec![],
            )
            .await?;
        serde_json::from_value(result.clone()).map_err(|e| E2eError::Protocol {
            command: "axe.run".into(),
            body: format!("{e}: {result}"),
        })
    }

    /// Ends the session and stops chromedriver, reporting a failure to end the session.
    pub async fn quit(mut self) -> Result<(), E2eError> {
        let result = match self.session.take() {
            Some(id) => self
                .raw(Method::DELETE, format!("/session/{id}"), None)
                .await
                .map(drop),
            None => Ok(()),
        };
        // Drop stops chromedriver and removes the profile.
        drop(self);
        result
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            // Drop cannot await, and the test's runtime may be the current thread: a
            // short-lived runtime on its own thread ends the session so Chromium exits.
            let url = format!("{}/session/{id}", self.driver_url);
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(async move {
                        let _ = reqwest::Client::new().delete(url).send().await;
                    });
                }
            })
            .join();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Reads an element reference out of a WebDriver answer.
fn element_id(value: &Value, css: &str) -> Result<ElementId, E2eError> {
    value
        .get(ELEMENT_KEY)
        .and_then(Value::as_str)
        .map(|id| ElementId(id.to_string()))
        .ok_or_else(|| E2eError::Protocol {
            command: format!("find {css}"),
            body: value.to_string(),
        })
}

/// Starts chromedriver on a port that was free a moment ago and waits until it is ready.
async fn start_driver(
    http: &reqwest::Client,
    path: &str,
    profile: &Path,
) -> Result<(Child, String), E2eError> {
    let start_error = |reason: String| E2eError::DriverStart {
        path: path.into(),
        reason,
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| start_error(format!("no free local port: {e}")))?
        .port();
    let log = profile.join("chromedriver.log");
    let mut child = Command::new(path)
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| start_error(e.to_string()))?;
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..DRIVER_READY_ATTEMPTS {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(start_error(format!(
                "it exited with {status} before becoming ready; see {}",
                log.display()
            )));
        }
        if let Ok(res) = http.get(format!("{url}/status")).send().await
            && let Ok(body) = res.json::<Value>().await
            && body.pointer("/value/ready") == Some(&Value::Bool(true))
        {
            return Ok((child, url));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(start_error(format!(
        "/status did not report ready after {DRIVER_READY_ATTEMPTS} checks; see {}",
        log.display()
    )))
}
