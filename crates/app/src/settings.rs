//! The settings use cases need, loaded once at start by the front end (flags, environment,
//! file) and passed down; nothing here reads the environment.

use pathways_domain::working_time::WorkingCalendar;

/// Settings shared by every use case.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The working week, bank holidays and triage service levels.
    pub calendar: WorkingCalendar,
    /// How long a break-glass grant lasts, in seconds.
    pub break_glass_secs: i64,
    /// The public base URL, for links in e-mails.
    pub public_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            calendar: WorkingCalendar::default(),
            break_glass_secs: 4 * 60 * 60,
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}
