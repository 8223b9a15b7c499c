//! Risk instruments for administrators: the list with each instrument's current version and
//! history, one instrument's versions (who published each, when, why, its indicators, weights
//! and bands, and what changed from the version before), and the form that publishes a new
//! version of an instrument the council may change locally.
//!
//! Publishing never alters a version: it stores version N+1 (with its audit entry, in one
//! transaction), which new assessments use from then on, while every earlier assessment
//! keeps the version it was made with. Whether a definition is usable is decided by the risk
//! rules (`InstrumentDefinition::problems`); this module only places each problem beside the
//! field that caused it.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use pathways_app::instruments as uc;
use pathways_risk::{
    InstrumentDefinition, InstrumentRegistry, MAX_WEIGHT, Problem, Question, QuestionField,
    RiskLevel, Scoring, Subject,
};
use pathways_store::PublishedVersion;

use serde::Deserialize;

use super::{done, field, field_errors, invalid, notice, when};
use crate::auth::{Staff, form_pairs};
use crate::error::{AppError, FieldError, html};
use crate::{AppState, Chrome};

/// Blank rows offered for new indicators on each edit.
pub(crate) const NEW_ROWS: usize = 3;
/// Longest change note accepted.
const MAX_NOTE: usize = 1000;
/// Longest indicator wording or guidance accepted.
const MAX_TEXT: usize = 500;
/// Form fields of the assessment page; an indicator id must not take one of these names.
const RESERVED_IDS: &[&str] = &[
    "csrf",
    "version",
    "judgement_level",
    "judgement_reason",
    "incidents",
    "last_marac_referral",
    "new_incident",
];

/// Who published a version and why; shipped versions have no stored row.
struct Provenance {
    published: String,
    note: String,
}

fn provenance(stored: Option<&PublishedVersion>) -> Provenance {
    match stored {
        Some(v) => Provenance {
            published: format!("{} by {}", when(v.published_at), v.published_by_name),
            note: v.change_note.clone(),
        },
        None => Provenance {
            published: "Shipped with Pathways".into(),
            note: String::new(),
        },
    }
}

/// The stored rows of one instrument by version.
async fn stored_rows(
    state: &AppState,
    staff: &Staff,
    key: &str,
) -> Result<HashMap<u32, PublishedVersion>, AppError> {
    Ok(uc::published(state.app(), &staff.caller(), Some(key))
        .await?
        .into_iter()
        .filter_map(|v| u32::try_from(v.version).ok().map(|n| (n, v)))
        .collect())
}

/// One instrument on the list page.
struct ListRow {
    key: String,
    title: String,
    version: u32,
    editable: bool,
    history: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/instruments.html")]
struct ListPage {
    chrome: Chrome,
    instruments: Vec<ListRow>,
}

/// `GET /admin/instruments`: every instrument with its current version and history.
pub(super) async fn list(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Response, AppError> {
    {
        let caller = staff.caller();
        let registry = uc::registry(state.app(), &caller).await?;
        let mut stored: HashMap<(String, u32), PublishedVersion> = HashMap::new();
        for v in uc::published(state.app(), &caller, None).await? {
            if let Ok(n) = u32::try_from(v.version) {
                stored.insert((v.instrument_key.clone(), n), v);
            }
        }
        let instruments = registry
            .keys()
            .into_iter()
            .filter_map(|key| registry.latest(key))
            .map(|latest| ListRow {
                key: latest.key.clone(),
                title: latest.title.clone(),
                version: latest.version,
                editable: latest.local_changes.allowed,
                history: registry
                    .versions(&latest.key)
                    .iter()
                    .rev()
                    .map(|d| {
                        let p = provenance(stored.get(&(d.key.clone(), d.version)));
                        if p.note.is_empty() {
                            format!("Version {}: {}", d.version, p.published)
                        } else {
                            format!("Version {}: {}: {}", d.version, p.published, p.note)
                        }
                    })
                    .collect(),
            })
            .collect();
        html(ListPage {
            chrome: staff.chrome(&state, "Risk instruments"),
            instruments,
        })
    }
}

/// One indicator as a version shows it.
struct IndicatorView {
    id: String,
    text: String,
    weight: u32,
    /// False for optional add-on questions, which are recorded but never scored.
    scored: bool,
}

/// A section of a version with its indicators.
struct SectionView {
    title: String,
    indicators: Vec<IndicatorView>,
}

/// One version on the instrument page.
struct VersionView {
    version: u32,
    latest: bool,
    published: String,
    note: String,
    weighted: bool,
    max_score: u32,
    bands: Vec<(&'static str, String)>,
    sections: Vec<SectionView>,
    changes: Vec<String>,
}

/// "Low: 0 to 4", "High: 10 or more".
fn band_ranges(def: &InstrumentDefinition) -> Vec<(&'static str, String)> {
    def.bands
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let range = match def.bands.get(i + 1) {
                Some(next) if next.min_score > b.min_score + 1 => {
                    format!("{} to {}", b.min_score, next.min_score - 1)
                }
                Some(_) => b.min_score.to_string(),
                None => format!("{} or more", b.min_score),
            };
            (b.level.label(), range)
        })
        .collect()
}

fn section_views(def: &InstrumentDefinition) -> Vec<SectionView> {
    let mut out: Vec<SectionView> = def
        .sections
        .iter()
        .map(|s| SectionView {
            title: s.title.clone(),
            indicators: def
                .questions_in(&s.id)
                .map(|q| IndicatorView {
                    id: q.id.clone(),
                    text: q.text.clone(),
                    weight: def.points(q),
                    scored: q.add_on.is_none(),
                })
                .collect(),
        })
        .collect();
    out.retain(|s| !s.indicators.is_empty());
    out
}

fn short(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{}…", cut.trim_end())
    }
}

/// What changed from one version to the next, in words an administrator can check.
pub(crate) fn changes(before: &InstrumentDefinition, after: &InstrumentDefinition) -> Vec<String> {
    let mut out = Vec::new();
    for b in &after.bands {
        match before.bands.iter().find(|old| old.level == b.level) {
            Some(old) if old.min_score != b.min_score => out.push(format!(
                "{} starts at {} (was {})",
                b.level.label(),
                b.min_score,
                old.min_score
            )),
            Some(_) => {}
            None => out.push(format!(
                "{} band added from {}",
                b.level.label(),
                b.min_score
            )),
        }
    }
    for q in &after.questions {
        let Some(old) = before.question(&q.id) else {
            out.push(format!(
                "Added {} (weight {}): {}",
                q.id,
                after.points(q),
                short(&q.text)
            ));
            continue;
        };
        if old.text != q.text {
            out.push(format!("Reworded {}: {}", q.id, short(&q.text)));
        }
        if old.help != q.help {
            out.push(format!("New guidance for {}", q.id));
        }
        if before.points(old) != after.points(q) {
            out.push(format!(
                "Weight of {} is {} (was {})",
                q.id,
                after.points(q),
                before.points(old)
            ));
        }
        if old.section != q.section {
            let title = after
                .sections
                .iter()
                .find(|s| s.id == q.section)
                .map_or(q.section.as_str(), |s| s.title.as_str());
            out.push(format!("Moved {} to {title}", q.id));
        }
    }
    for old in &before.questions {
        if after.question(&old.id).is_none() {
            out.push(format!("Removed {}: {}", old.id, short(&old.text)));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "admin/instrument.html")]
struct InstrumentPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    notice: Option<&'static str>,
    key: String,
    title: String,
    description: String,
    editable: bool,
    reason: String,
    versions: Vec<VersionView>,
}

async fn instrument_page(
    state: &AppState,
    staff: &Staff,
    key: &str,
    errors: Vec<FieldError>,
    done: Option<&str>,
) -> Result<InstrumentPage, AppError> {
    let registry = uc::registry(state.app(), &staff.caller()).await?;
    let latest = registry.latest(key).ok_or(AppError::NotFound)?;
    let stored = stored_rows(state, staff, key).await?;
    let all = registry.versions(key);
    let versions = all
        .iter()
        .enumerate()
        .rev()
        .map(|(i, d)| {
            let p = provenance(stored.get(&d.version));
            VersionView {
                version: d.version,
                latest: d.version == latest.version,
                published: p.published,
                note: p.note,
                weighted: d.scoring == Scoring::Weighted,
                max_score: d.max_score(),
                bands: band_ranges(d),
                sections: section_views(d),
                changes: i
                    .checked_sub(1)
                    .map(|prev| changes(all[prev], d))
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(InstrumentPage {
        chrome: staff.chrome(state, &latest.title),
        errors,
        notice: notice(done),
        key: latest.key.clone(),
        title: latest.title.clone(),
        description: latest.description.clone(),
        editable: latest.local_changes.allowed,
        reason: locked_reason(latest),
        versions,
    })
}

fn locked_reason(def: &InstrumentDefinition) -> String {
    if def.local_changes.reason.trim().is_empty() {
        if def.local_changes.allowed {
            "The council may change this instrument; each change is a new version.".into()
        } else {
            "This instrument is fixed: it cannot be changed locally.".into()
        }
    } else {
        def.local_changes.reason.clone()
    }
}

#[derive(Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

/// `GET /admin/instruments/{instrument}`: every version, newest first.
pub(super) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(key): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    html(instrument_page(&state, &staff, &key, vec![], q.done.as_deref()).await?)
}

/// The instrument page with the reason it cannot be changed, as a refusal (403).
async fn refuse_locked(
    state: &AppState,
    staff: &Staff,
    def: &InstrumentDefinition,
) -> Result<Response, AppError> {
    let page = instrument_page(
        state,
        staff,
        &def.key,
        vec![field(
            "local-changes",
            format!(
                "{} cannot be changed locally. {}",
                def.title,
                locked_reason(def)
            ),
        )],
        None,
    )
    .await?;
    let mut page = html(page)?;
    *page.status_mut() = StatusCode::FORBIDDEN;
    Ok(page)
}

/// An existing indicator on the edit form.
struct EditRow {
    number: usize,
    id: String,
    text: String,
    help: String,
    section: String,
    weight: String,
    remove: bool,
    text_error: Option<String>,
    section_error: Option<String>,
    weight_error: Option<String>,
}

/// A blank (or partly filled) row for a new indicator.
struct NewRow {
    n: usize,
    id: String,
    text: String,
    help: String,
    section: String,
    weight: String,
    id_error: Option<String>,
    text_error: Option<String>,
    section_error: Option<String>,
    weight_error: Option<String>,
}

/// A band threshold on the edit form; the first band always starts at 0.
struct BandRow {
    level: &'static str,
    label: &'static str,
    value: String,
    fixed: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/instrument_edit.html")]
struct EditPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    key: String,
    title: String,
    base_version: u32,
    next_version: u32,
    weighted: bool,
    max_score: u32,
    max_weight: u32,
    sections: Vec<(String, String)>,
    rows: Vec<EditRow>,
    new_rows: Vec<NewRow>,
    bands: Vec<BandRow>,
    note: String,
}

impl EditPage {
    /// The message for a page-level field, if any.
    fn error(&self, name: &str) -> Option<&str> {
        super::error_for(&self.errors, name).map(|e| e.message.as_str())
    }
}

/// What the administrator submitted, field by field, as text.
struct Submitted(HashMap<String, String>);

impl Submitted {
    fn parse(body: &[u8]) -> Submitted {
        Submitted(form_pairs(body).into_iter().collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A submitted value, or the default when the field was not sent.
    fn or(&self, name: &str, default: impl Into<String>) -> String {
        self.get(name)
            .map(str::to_string)
            .unwrap_or_else(|| default.into())
    }
}

fn edit_page(
    state: &AppState,
    staff: &Staff,
    base: &InstrumentDefinition,
    form: &Submitted,
    errors: Vec<FieldError>,
) -> EditPage {
    let err = |name: &str| super::error_for(&errors, name).map(|e| e.message.clone());
    let rows = base
        .questions
        .iter()
        .filter(|q| q.add_on.is_none())
        .enumerate()
        .map(|(i, q)| EditRow {
            number: i + 1,
            text: form.or(&format!("text-{}", q.id), q.text.clone()),
            help: form.or(&format!("help-{}", q.id), q.help.clone()),
            section: form.or(&format!("section-{}", q.id), q.section.clone()),
            weight: form.or(&format!("weight-{}", q.id), base.points(q).to_string()),
            remove: form.get(&format!("remove-{}", q.id)).is_some(),
            text_error: err(&format!("text-{}", q.id)),
            section_error: err(&format!("section-{}", q.id)),
            weight_error: err(&format!("weight-{}", q.id)),
            id: q.id.clone(),
        })
        .collect();
    let new_rows = (0..NEW_ROWS)
        .map(|n| NewRow {
            n,
            id: form.or(&format!("new-{n}-id"), ""),
            text: form.or(&format!("new-{n}-text"), ""),
            help: form.or(&format!("new-{n}-help"), ""),
            section: form.or(&format!("new-{n}-section"), ""),
            weight: form.or(&format!("new-{n}-weight"), ""),
            id_error: err(&format!("new-{n}-id")),
            text_error: err(&format!("new-{n}-text")),
            section_error: err(&format!("new-{n}-section")),
            weight_error: err(&format!("new-{n}-weight")),
        })
        .collect();
    let bands = base
        .bands
        .iter()
        .enumerate()
        .map(|(i, b)| BandRow {
            level: b.level.key(),
            label: b.level.label(),
            value: if i == 0 {
                "0".into()
            } else {
                form.or(&format!("band-{}", b.level.key()), b.min_score.to_string())
            },
            fixed: i == 0,
            error: err(&format!("band-{}", b.level.key())),
        })
        .collect();
    EditPage {
        chrome: staff.chrome(state, &format!("Change {}", base.title)),
        key: base.key.clone(),
        title: base.title.clone(),
        base_version: base.version,
        next_version: base.version + 1,
        weighted: base.scoring == Scoring::Weighted,
        max_score: base.max_score(),
        max_weight: MAX_WEIGHT,
        sections: base
            .sections
            .iter()
            .map(|s| (s.id.clone(), s.title.clone()))
            .collect(),
        rows,
        new_rows,
        bands,
        note: form.or("note", ""),
        errors,
    }
}

/// The latest version of an instrument the council may change, or the refusal to show.
async fn editable_latest(
    state: &AppState,
    staff: &Staff,
    key: &str,
) -> Result<Result<(InstrumentRegistry, u32), Response>, AppError> {
    let registry = uc::registry(state.app(), &staff.caller()).await?;
    let latest = registry.latest(key).ok_or(AppError::NotFound)?;
    if !latest.local_changes.allowed {
        return Ok(Err(refuse_locked(state, staff, latest).await?));
    }
    let version = latest.version;
    Ok(Ok((registry, version)))
}

/// `GET /admin/instruments/{instrument}/edit`: the form for the next version.
pub(super) async fn edit_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let (registry, version) = match editable_latest(&state, &staff, &key).await? {
        Ok(found) => found,
        Err(refusal) => return Ok(refusal),
    };
    let base = registry.get(&key, version).ok_or(AppError::NotFound)?;
    html(edit_page(
        &state,
        &staff,
        base,
        &Submitted(HashMap::new()),
        vec![],
    ))
}

/// Where each indicator of the candidate came from on the form, to place its problems.
#[derive(Default)]
struct Origins {
    /// New indicator id → its row number.
    new_rows: HashMap<String, usize>,
    /// Indicator id → its number among the existing indicators.
    numbers: HashMap<String, usize>,
}

impl Origins {
    fn field(&self, id: &str, part: &str) -> String {
        match self.new_rows.get(id) {
            Some(n) => format!("new-{n}-{part}"),
            None => format!("{part}-{id}"),
        }
    }

    fn name(&self, id: &str) -> String {
        match (self.new_rows.get(id), self.numbers.get(id)) {
            (Some(n), _) => format!("new indicator {}", n + 1),
            (None, Some(number)) => format!("indicator {number}"),
            (None, None) => format!("indicator {id}"),
        }
    }
}

fn parse_weight(raw: &str) -> Option<u32> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|w| (1..=MAX_WEIGHT).contains(w))
}

/// Applies the submitted changes to a copy of `base`. Fields that were not sent keep their
/// current value. Problems the form alone can spot (numbers that are not numbers, a missing
/// note, a reserved id) are returned; everything else is left to the risk rules.
fn apply(
    base: &InstrumentDefinition,
    form: &Submitted,
) -> (InstrumentDefinition, Origins, Vec<FieldError>) {
    let mut next = base.clone();
    let mut origins = Origins::default();
    let mut errors = Vec::new();
    let weighted = base.scoring == Scoring::Weighted;
    let mut kept = Vec::with_capacity(base.questions.len());
    let mut number = 0;
    for q in &base.questions {
        if q.add_on.is_some() {
            kept.push(q.clone());
            continue;
        }
        number += 1;
        origins.numbers.insert(q.id.clone(), number);
        if form.get(&format!("remove-{}", q.id)).is_some() {
            continue;
        }
        let mut q = q.clone();
        if let Some(text) = form.get(&format!("text-{}", q.id)) {
            q.text = text.trim().to_string();
        }
        if let Some(help) = form.get(&format!("help-{}", q.id)) {
            q.help = help.trim().to_string();
        }
        if let Some(section) = form.get(&format!("section-{}", q.id)) {
            q.section = section.trim().to_string();
        }
        let weight = form.get(&format!("weight-{}", q.id)).filter(|_| weighted);
        if let Some(raw) = weight {
            match parse_weight(raw) {
                Some(w) => q.weight = w,
                None => errors.push(field(
                    &format!("weight-{}", q.id),
                    format!(
                        "Enter the weight of indicator {number} as a whole number from 1 to {MAX_WEIGHT}"
                    ),
                )),
            }
        }
        kept.push(q);
    }
    for n in 0..NEW_ROWS {
        let value = |part: &str| {
            form.get(&format!("new-{n}-{part}"))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let (id, text, help, section, weight) = (
            value("id"),
            value("text"),
            value("help"),
            value("section"),
            value("weight"),
        );
        if id.is_empty() && text.is_empty() && help.is_empty() && weight.is_empty() {
            continue;
        }
        let label = format!("new indicator {}", n + 1);
        if id.is_empty() {
            errors.push(field(
                &format!("new-{n}-id"),
                format!("Enter a short id for {label}, such as knife-in-family"),
            ));
        } else if RESERVED_IDS.contains(&id.as_str()) {
            errors.push(field(
                &format!("new-{n}-id"),
                format!("The id {id} is used by the assessment form: choose another for {label}"),
            ));
        }
        let weight = if weighted {
            parse_weight(&weight).unwrap_or_else(|| {
                errors.push(field(
                    &format!("new-{n}-weight"),
                    format!("Enter the weight of {label} as a whole number from 1 to {MAX_WEIGHT}"),
                ));
                1
            })
        } else {
            1
        };
        let placeholder = format!("new-{n}");
        let id = if id.is_empty() { placeholder } else { id };
        origins.new_rows.insert(id.clone(), n);
        kept.push(Question {
            id,
            section,
            text,
            help,
            answer_kind: pathways_risk::AnswerKind::YesNoNotKnown,
            weight,
            add_on: None,
        });
    }
    next.questions = kept;
    for band in next.bands.iter_mut().skip(1) {
        let name = format!("band-{}", band.level.key());
        if let Some(raw) = form.get(&name) {
            match raw.trim().parse::<u32>() {
                Ok(v) => band.min_score = v,
                Err(_) => errors.push(field(
                    &name,
                    format!(
                        "Enter the lowest score for {} as a whole number",
                        band.level.label()
                    ),
                )),
            }
        }
    }
    let note = form.get("note").unwrap_or("").trim();
    if note.is_empty() {
        errors.push(field(
            "note",
            "Enter a change note: what changed and why, for people reading this version later",
        ));
    } else if note.chars().count() > MAX_NOTE {
        errors.push(field(
            "note",
            format!("The change note must be {MAX_NOTE} characters or fewer"),
        ));
    }
    for q in &next.questions {
        if q.text.chars().count() > MAX_TEXT || q.help.chars().count() > MAX_TEXT {
            errors.push(field(
                &origins.field(&q.id, "text"),
                format!(
                    "The wording and guidance of {} must each be {MAX_TEXT} characters or fewer",
                    origins.name(&q.id)
                ),
            ));
        }
    }
    (next, origins, errors)
}

/// Places one broken rule beside the field that caused it, in words for the form.
fn place(problem: &Problem, next: &InstrumentDefinition, origins: &Origins) -> FieldError {
    match &problem.subject {
        Subject::Question { id, field: part } => {
            let name = origins.name(id);
            match part {
                QuestionField::Id => {
                    let taken = next.questions.iter().filter(|q| &q.id == id).count() > 1;
                    field(
                        &origins.field(id, "id"),
                        if taken {
                            format!(
                                "The id {id} is already used by another indicator: choose another for {name}"
                            )
                        } else {
                            format!(
                                "The id of {name} can only contain letters, digits, hyphens and underscores"
                            )
                        },
                    )
                }
                QuestionField::Text => field(
                    &origins.field(id, "text"),
                    format!("Enter the wording of {name}"),
                ),
                QuestionField::Section | QuestionField::AddOn => field(
                    &origins.field(id, "section"),
                    format!("Choose a section for {name}"),
                ),
                QuestionField::Weight => field(
                    &origins.field(id, "weight"),
                    format!("Enter the weight of {name} as a whole number from 1 to {MAX_WEIGHT}"),
                ),
            }
        }
        Subject::Band(level) => band_problem(*level, next, problem),
        Subject::Definition if next.core_questions().next().is_none() => field(
            "indicators",
            "Keep at least one indicator: an instrument with none cannot give a score",
        ),
        _ => field("indicators", problem.message.clone()),
    }
}

fn band_problem(level: RiskLevel, next: &InstrumentDefinition, problem: &Problem) -> FieldError {
    let name = format!("band-{}", level.key());
    let Some(i) = next.bands.iter().position(|b| b.level == level) else {
        return field(&name, problem.message.clone());
    };
    let band = next.bands[i];
    let max = next.max_score();
    let message = match i.checked_sub(1).map(|p| next.bands[p]) {
        Some(below) if band.min_score <= below.min_score => format!(
            "{} must start at a higher score than {} (which starts at {})",
            level.label(),
            below.level.label(),
            below.min_score
        ),
        _ if band.min_score > max => format!(
            "{} starts at {} but the highest possible score is {max}: lower the threshold or add weight",
            level.label(),
            band.min_score
        ),
        _ => problem.message.clone(),
    };
    field(&name, message)
}

/// `POST /admin/instruments/{instrument}/versions`: validates the changes and publishes
/// them as the next version, or shows every problem with nothing saved.
pub(super) async fn publish(
    State(state): State<AppState>,
    staff: Staff,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let (registry, version) = match editable_latest(&state, &staff, &key).await? {
        Ok(found) => found,
        Err(refusal) => return Ok(refusal),
    };
    let base = registry.get(&key, version).ok_or(AppError::NotFound)?;
    let form = Submitted::parse(&body);
    let based_on = form
        .get("base_version")
        .and_then(|v| v.trim().parse::<u32>().ok());
    if based_on != Some(base.version) {
        // Someone published while this form was open: the changes were made to an older
        // version, so show the current one instead of overwriting theirs.
        let message = match based_on {
            Some(v) if v < base.version => format!(
                "Version {} was published while you were editing version {v}. Nothing was saved: make your changes again on version {}",
                base.version, base.version
            ),
            _ => "Start again from the current version: the form did not say which version it changes".to_string(),
        };
        return invalid(edit_page(
            &state,
            &staff,
            base,
            &Submitted(HashMap::new()),
            vec![field("indicators", message)],
        ));
    }
    let (candidate, origins, mut errors) = apply(base, &form);
    for problem in candidate.problems() {
        let placed = place(&problem, &candidate, &origins);
        if !errors.iter().any(|e| e.field == placed.field) {
            errors.push(placed);
        }
    }
    if !errors.is_empty() {
        return invalid(edit_page(&state, &staff, base, &form, errors));
    }
    let note = form.get("note").unwrap_or("");
    match uc::publish(state.app(), &staff.caller(), base, &candidate, note).await {
        Ok(_) => done(&format!(
            "/admin/instruments/{key}?done=instrument-published"
        )),
        Err(e) => {
            let errors = field_errors(e)?;
            invalid(edit_page(&state, &staff, base, &form, errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pathways_app::cases::builtin_registry;

    fn screening() -> InstrumentDefinition {
        builtin_registry()
            .latest(pathways_risk::YV_SCREENING)
            .expect("shipped")
            .clone()
    }

    fn form(pairs: &[(&str, &str)]) -> Submitted {
        Submitted(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn unsent_fields_keep_their_values_and_sent_ones_change() {
        let base = screening();
        let (next, _, errors) = apply(
            &base,
            &form(&[
                ("note", "Weapons weigh more"),
                ("weight-weapon-carrying", "4"),
                ("band-medium", "6"),
                ("remove-fear-of-areas", "yes"),
                ("new-1-id", "knife-in-family"),
                ("new-1-text", "Does a family member carry a knife?"),
                ("new-1-section", "violence"),
                ("new-1-weight", "2"),
            ]),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert!(next.problems().is_empty());
        assert_eq!(next.question("weapon-carrying").map(|q| q.weight), Some(4));
        assert_eq!(next.question("county-lines"), base.question("county-lines"));
        assert!(next.question("fear-of-areas").is_none());
        assert_eq!(next.question("knife-in-family").map(|q| q.weight), Some(2));
        assert_eq!(next.bands[1].min_score, 6);
        assert_eq!(next.bands[2].min_score, base.bands[2].min_score);
        assert_eq!(
            changes(&base, &next),
            [
                "Medium starts at 6 (was 5)",
                "Weight of weapon-carrying is 4 (was 3)",
                "Added knife-in-family (weight 2): Does a family member carry a knife?",
                "Removed fear-of-areas: Is the young person afraid of particular people, or of going…",
            ]
        );
    }

    #[test]
    fn rule_problems_are_placed_beside_their_fields() {
        let base = screening();
        let (next, origins, errors) = apply(
            &base,
            &form(&[
                ("note", "Tidy"),
                ("text-county-lines", "  "),
                ("band-medium", "12"),
                ("band-high", "11"),
                ("new-0-id", "going-missing"),
                ("new-0-text", "Duplicate"),
                ("new-0-section", "violence"),
                ("new-0-weight", "1"),
                ("new-2-id", "csrf"),
                ("new-2-weight", "0"),
            ]),
        );
        let mut fields: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
        fields.extend(
            next.problems()
                .iter()
                .map(|p| place(p, &next, &origins).field),
        );
        for expected in [
            "new-2-id",
            "new-2-weight",
            "new-0-id",
            "text-county-lines",
            "band-high",
            "new-2-text",
            "new-2-section",
        ] {
            assert!(
                fields.iter().any(|f| f == expected),
                "{expected} in {fields:?}"
            );
        }
        let high = next
            .problems()
            .into_iter()
            .find(|p| p.subject == Subject::Band(RiskLevel::High))
            .map(|p| place(&p, &next, &origins).message);
        assert_eq!(
            high.as_deref(),
            Some("High must start at a higher score than Medium (which starts at 12)")
        );
    }

    #[test]
    fn a_missing_note_and_bad_numbers_are_form_errors() {
        let (_, _, errors) = apply(
            &screening(),
            &form(&[("weight-county-lines", "three"), ("band-high", "-1")]),
        );
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["weight-county-lines", "band-high", "note"]);
    }

    #[test]
    fn ranges_read_naturally() {
        assert_eq!(
            band_ranges(&screening()),
            [
                ("Low", "0 to 4".to_string()),
                ("Medium", "5 to 9".to_string()),
                ("High", "10 or more".to_string())
            ]
        );
    }
}
