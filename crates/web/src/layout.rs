//! The page chrome every HTML page shares: title, hashed asset URLs, service navigation for
//! the signed-in user, and the survivor-safe elements on public pages.

use crate::{AppState, assets};

/// A link in the service navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
    /// True on the page it leads to.
    pub current: bool,
}

/// The signed-in user shown in the header.
#[derive(Debug, Clone)]
pub struct Badge {
    /// The user's display name.
    pub name: String,
    /// The user's agency name.
    pub agency: String,
}

/// What the base layout needs from every page.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page's own title (neutral on public pages).
    pub title: String,
    /// The service name.
    pub service_name: String,
    /// Where the header name links to.
    pub home: &'static str,
    /// GOV.UK Frontend stylesheet URL.
    pub css: &'static str,
    /// Pathways stylesheet URL.
    pub app_css: &'static str,
    /// The enhancement script URL.
    pub js: &'static str,
    /// Favicon URL.
    pub favicon: &'static str,
    /// Service navigation links (empty on public pages).
    pub nav: Vec<NavLink>,
    /// The signed-in user, if any.
    pub user: Option<Badge>,
    /// The CSRF token for forms on this page.
    pub csrf: String,
    /// True on public survivor-safe pages: Exit this page and the emergency line.
    pub safe_browsing: bool,
    /// Where Exit this page goes.
    pub exit_url: String,
}

impl Chrome {
    /// Chrome for a public, survivor-safe page: no navigation, Exit this page, 999.
    pub fn public(state: &AppState, title: &str) -> Chrome {
        Chrome {
            title: title.to_string(),
            service_name: state.settings().service_name.clone(),
            home: "/",
            css: assets::url("govuk-frontend.min.css"),
            app_css: assets::url("app.css"),
            js: assets::url("app.js"),
            favicon: assets::url("images/favicon.svg"),
            nav: Vec::new(),
            user: None,
            csrf: String::new(),
            safe_browsing: true,
            exit_url: state.settings().exit_url.clone(),
        }
    }

    /// Chrome for a staff page (or a staff page before sign-in, such as the login form).
    pub fn staff(state: &AppState, title: &str, csrf: &str) -> Chrome {
        Chrome {
            safe_browsing: false,
            home: "/dashboard",
            csrf: csrf.to_string(),
            ..Chrome::public(state, title)
        }
    }

    /// Adds the signed-in user's badge and navigation, marking `current_path` as current.
    pub fn with_user(
        mut self,
        badge: Badge,
        links: &[(&'static str, &'static str)],
        current_path: &str,
    ) -> Chrome {
        self.user = Some(badge);
        // The longest link that is the current path or a parent of it is the current one.
        let matches = |href: &str| {
            current_path == href
                || (href.len() > 1 && current_path.starts_with(&format!("{href}/")))
        };
        let best = links
            .iter()
            .map(|(href, _)| *href)
            .filter(|h| matches(h))
            .max_by_key(|h| h.len());
        self.nav = links
            .iter()
            .map(|(href, label)| NavLink {
                href,
                label,
                current: Some(*href) == best,
            })
            .collect();
        self
    }
}
