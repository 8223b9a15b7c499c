//! Insight pages: the problem profile of an area and period built from the crime store
//! (police.uk data), with server-rendered charts and maps, CSV export of every table, and
//! the same profile as JSON for partner systems.

use std::path::PathBuf;

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pathways_domain::Permission;
use pathways_insight::error::InsightError;
use pathways_insight::model::{Month, Series};
use pathways_insight::profile::{self, ProblemProfile};
use serde::Deserialize;

use crate::auth::{ApiCaller, Staff};
use crate::error::{AppError, FieldError, html};
use crate::routes::{Guard, Route, Verb};
use crate::{AppState, Chrome};

/// Every route of the insight module (crime data is not personal data: nothing to audit).
pub(crate) const ROUTES: &[Route] = &[
    Route {
        verb: Verb::Get,
        path: "/insight",
        guard: Guard::Permission(Permission::ViewInsight),
        audit: &[],
        summary: "the problem profile of an area and period",
        handler: || get(page),
    },
    Route {
        verb: Verb::Get,
        path: "/insight/profile.csv",
        guard: Guard::Permission(Permission::ViewInsight),
        audit: &[],
        summary: "one table of the problem profile as CSV",
        handler: || get(csv),
    },
    Route {
        verb: Verb::Get,
        path: "/api/v1/insight/profile",
        guard: Guard::ApiScope(Permission::ViewInsight),
        audit: &[],
        summary: "the problem profile (JSON)",
        handler: || get(api),
    },
];

/// The area and period asked for.
#[derive(Debug, Default, Deserialize)]
struct ProfileQuery {
    #[serde(default)]
    area: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    table: String,
}

fn crime_dir(state: &AppState) -> PathBuf {
    state.settings().data_dir.join("crime")
}

fn parse_month(raw: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<Month> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match Month::parse(raw) {
        Ok(m) => Some(m),
        Err(_) => {
            errors.push(FieldError {
                field: field.into(),
                message: format!("Enter the {field} month as YYYY-MM, for example 2024-03"),
            });
            None
        }
    }
}

/// Builds the profile off the async threads (it reads the crime store from disk).
async fn build(state: &AppState, q: &ProfileQuery) -> Result<ProblemProfile, AppError> {
    let mut errors = Vec::new();
    let from = parse_month(&q.from, "from", &mut errors);
    let to = parse_month(&q.to, "to", &mut errors);
    if q.area.trim().is_empty() {
        errors.push(FieldError {
            field: "area".into(),
            message: "Choose an area".into(),
        });
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let dir = crime_dir(state);
    let area = q.area.trim().to_string();
    tokio::task::spawn_blocking(move || profile::build(&dir, &area, from, to))
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
        .map_err(public_error)
}

/// What a browser or partner system is told when a profile cannot be built: the area or
/// period at fault in the user's terms, never a file or folder of this server (those go
/// to the log).
fn public_error(e: InsightError) -> AppError {
    let message = match &e {
        InsightError::UnknownArea(_) | InsightError::BadMonth(_) | InsightError::Invalid(_) => {
            e.to_string()
        }
        InsightError::NoGeo { .. } => NOT_LOADED.to_string(),
        _ => {
            tracing::error!(error = %e, "crime store cannot be read");
            return AppError::internal(e);
        }
    };
    AppError::Invalid(vec![FieldError {
        field: "area".into(),
        message,
    }])
}

const NOT_LOADED: &str = "No crime data or geography is loaded on this server yet. An administrator loads them with `pathways geo import` and `pathways crime import`.";

#[derive(Template)]
#[template(path = "insight/profile.html")]
struct ProfilePage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    areas: Vec<(String, String)>,
    area: String,
    from: String,
    to: String,
    status: String,
    profile: Option<ProblemProfile>,
    charts: Vec<(String, String)>,
    tables: Vec<&'static str>,
    query: String,
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn store_status(state: &AppState) -> (String, Vec<(String, String)>) {
    let dir = crime_dir(state);
    let areas = pathways_insight::geo::Geo::load(&dir)
        .ok()
        .flatten()
        .map(|g| g.local_authorities())
        .unwrap_or_default();
    let status = match pathways_insight::store::Store::open(&dir) {
        Ok(s) => match s.month_range(Series::Street) {
            Some((a, b)) => format!(
                "{} street-level records from {a} to {b} are loaded.",
                s.rows(Series::Street)
            ),
            None => "No crime data is loaded yet. An administrator loads it with `pathways crime import`.".into(),
        },
        Err(_) => "No crime data is loaded yet. An administrator loads it with `pathways crime import`.".into(),
    };
    (status, areas)
}

async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, AppError> {
    staff.require(Permission::ViewInsight)?;
    let (status, areas) = store_status(&state);
    let mut errors = Vec::new();
    let mut profile = None;
    if !q.area.is_empty() {
        match build(&state, &q).await {
            Ok(p) => profile = Some(p),
            Err(AppError::Invalid(e)) => errors = e,
            Err(e) => return Err(e),
        }
    }
    let charts = profile
        .as_ref()
        .map(|p| {
            vec![
                (
                    "Crimes and anti-social behaviour per month".to_string(),
                    p.trend_svg(),
                ),
                ("Harm per month (days of custody)".to_string(), p.harm_svg()),
                ("Crime types".to_string(), p.types_svg()),
                (
                    "Crimes per 1,000 residents by LSOA".to_string(),
                    p.choropleth_svg(),
                ),
                (
                    "Hotspots (Getis-Ord Gi*, false discovery rate 5%)".to_string(),
                    p.hotspots_svg(),
                ),
            ]
        })
        .unwrap_or_default();
    let query = format!(
        "area={}&from={}&to={}",
        encode(&q.area),
        encode(&q.from),
        encode(&q.to)
    );
    html(ProfilePage {
        chrome: staff.chrome(&state, "Problem profile"),
        errors,
        areas,
        area: q.area.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        status,
        profile,
        charts,
        tables: profile::TABLES.to_vec(),
        query,
    })
}

async fn csv(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, AppError> {
    staff.require(Permission::ViewInsight)?;
    let profile = build(&state, &q).await?;
    let body = profile.to_csv(&q.table).ok_or(AppError::NotFound)?;
    let name = format!(
        "{}-{}-{}-{}.csv",
        profile.area_code, profile.from, profile.to, q.table
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

async fn api(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, AppError> {
    caller.require(Permission::ViewInsight)?;
    Ok(Json(build(&state, &q).await?).into_response())
}
