//! End-to-end test support for Pathways: the real application served on a throw-away
//! database, and a small W3C WebDriver client that drives headless Chromium against it.

mod journey;
mod server;
mod webdriver;

pub use server::TestServer;
pub use webdriver::{Browser, ElementId, Violation, keys};

/// The environment variable that turns a missing browser from a skip into a failure.
pub const REQUIRE_BROWSER_ENV: &str = "PATHWAYS_REQUIRE_BROWSER";

/// Why the test harness could not do what a test asked.
#[derive(Debug, thiserror::Error)]
pub enum E2eError {
    /// The throw-away database could not be opened or seeded.
    #[error("the test database could not be prepared: {0}")]
    Database(#[from] pathways_store::StoreError),
    /// The test server could not bind or serve.
    #[error("the test server could not start on 127.0.0.1: {0}")]
    Server(std::io::Error),
    /// A browser program is missing while `PATHWAYS_REQUIRE_BROWSER=1` demands one.
    #[error(
        "{program} is not installed at {path} and PATHWAYS_REQUIRE_BROWSER=1 requires it; \
         install it (Debian: apt-get install chromium chromium-driver) or unset the variable"
    )]
    BrowserMissing {
        /// Which program (chromium or chromedriver).
        program: &'static str,
        /// Where it was looked for.
        path: String,
    },
    /// chromedriver could not be started or did not become ready.
    #[error("chromedriver at {path} did not start: {reason}")]
    DriverStart {
        /// The chromedriver binary.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// An HTTP exchange with chromedriver failed.
    #[error("WebDriver request {command} failed: {source}")]
    Http {
        /// The WebDriver command, e.g. `POST /session/{id}/url`.
        command: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// chromedriver answered a command with a WebDriver error.
    #[error("WebDriver command {command} returned {error}: {message}")]
    WebDriver {
        /// The WebDriver command.
        command: String,
        /// The WebDriver error code, e.g. `no such element`.
        error: String,
        /// The driver's explanation.
        message: String,
    },
    /// chromedriver answered with a body this client does not understand.
    #[error("WebDriver command {command} returned an unexpected answer: {body}")]
    Protocol {
        /// The WebDriver command.
        command: String,
        /// The answer, as received.
        body: String,
    },
    /// A test fixture is unusable, e.g. a TOTP secret that is not base32.
    #[error("unusable test fixture: {0}")]
    Fixture(String),
    /// A polled condition never became true.
    #[error("gave up after {attempts} attempts waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How many times it was checked.
        attempts: u32,
    },
    /// A local file (screenshot, axe-core script, profile folder) could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}
