//! The directory editor's pages: list, create, edit, archive and restore services, and the
//! assurance dashboard of records not checked in the last three months.
//!
//! Edits change the main fields of a stored document and keep everything else (schedules,
//! further locations, contacts) as it was; every save passes the directory's validation,
//! is audited, and updates the shared search index.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use pathways_directory::model::{
    Address, Attribute, Language, Location, LocationType, Organization, Phone, Service,
    ServiceAtLocation, Status, number_f64,
};
use pathways_directory::validate::months_before;
use pathways_directory::{TermSet, ValidService, validate_service};
use pathways_domain::Permission;
use serde_json::Number;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::service_row;
use crate::auth::{Staff, form_pairs};
use crate::error::{FieldError, PageError};
use crate::{AppError, AppState, Chrome};

/// Services per page of the editor's list.
const PER_PAGE: usize = 50;
/// Months after which a record is due for assurance (ORUK expects under three).
const ASSURANCE_MONTHS: u8 = 3;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/directory", get(list))
        .route("/directory/assurance", get(assurance))
        .route("/directory/new", get(new_form).post(create))
        .route("/directory/{id}/edit", get(edit_form).post(update))
        .route("/directory/{id}/archive", post(archive))
        .route("/directory/{id}/restore", post(restore))
}

fn today() -> time::Date {
    OffsetDateTime::now_utc().date()
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// A row of the list or the assurance dashboard.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    name: String,
    status: String,
    assured: String,
    archived: bool,
}

#[derive(Template)]
#[template(path = "directory/list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    q: String,
    total: usize,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
    due: usize,
}

async fn list(
    State(state): State<AppState>,
    staff: Staff,
    RawQuery(q): RawQuery,
) -> Result<Html<String>, PageError> {
    list_page(&state, &staff, q.as_deref())
        .await
        .map_err(|e| PageError(state, e))
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    raw: Option<&str>,
) -> Result<Html<String>, AppError> {
    staff.require(Permission::EditDirectory)?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let q = pairs
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let page = pairs
        .iter()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let needle = q.to_lowercase();
    let mut all: Vec<Row> = state
        .store()
        .directory_services(true)
        .await?
        .into_iter()
        .filter(|s| needle.is_empty() || s.row.name.to_lowercase().contains(&needle))
        .map(|s| Row {
            id: s.row.id,
            name: s.row.name,
            status: s.row.status,
            assured: s.row.assured_date.unwrap_or_else(|| "never".into()),
            archived: s.archived,
        })
        .collect();
    all.sort_by(|a, b| {
        a.archived
            .cmp(&b.archived)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.id.cmp(&b.id))
    });
    let total = all.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let rows = all
        .into_iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .collect();
    let link = |p: usize| {
        serde_urlencoded::to_string([("q", q.as_str()), ("page", &p.to_string())])
            .unwrap_or_default()
    };
    let cutoff = months_before(today(), ASSURANCE_MONTHS).to_string();
    let due = state
        .store()
        .directory_services_due_assurance(&cutoff)
        .await?
        .len();
    let page_view = ListPage {
        chrome: staff.chrome(state, "Directory"),
        rows,
        total,
        pages,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        page,
        q,
        due,
    };
    Ok(Html(page_view.render()?))
}

#[derive(Template)]
#[template(path = "directory/assurance.html")]
struct AssurancePage {
    chrome: Chrome,
    rows: Vec<Row>,
    cutoff: String,
}

async fn assurance(State(state): State<AppState>, staff: Staff) -> Result<Html<String>, PageError> {
    async fn inner(state: &AppState, staff: &Staff) -> Result<Html<String>, AppError> {
        staff.require(Permission::EditDirectory)?;
        let cutoff = months_before(today(), ASSURANCE_MONTHS).to_string();
        let rows = state
            .store()
            .directory_services_due_assurance(&cutoff)
            .await?
            .into_iter()
            .map(|s| Row {
                id: s.row.id,
                name: s.row.name,
                status: s.row.status,
                assured: s.row.assured_date.unwrap_or_else(|| "never".into()),
                archived: false,
            })
            .collect();
        let page = AssurancePage {
            chrome: staff.chrome(state, "Directory assurance"),
            rows,
            cutoff,
        };
        Ok(Html(page.render()?))
    }
    inner(&state, &staff).await.map_err(|e| PageError(state, e))
}

/// The editor form's values, as typed.
#[derive(Debug, Clone, Default)]
struct EditForm {
    name: String,
    description: String,
    status: String,
    organisation: String,
    url: String,
    email: String,
    phone: String,
    minimum_age: String,
    maximum_age: String,
    fees: String,
    languages: String,
    needs: Vec<String>,
    address_1: String,
    city: String,
    postal_code: String,
    latitude: String,
    longitude: String,
    confidential: bool,
    assured_date: String,
    assurer_email: String,
    assured_today: bool,
}

fn num_text(n: &Option<Number>) -> String {
    n.as_ref()
        .map(|n| number_f64(n).to_string())
        .unwrap_or_default()
}

fn first_location(s: &Service) -> Option<&Location> {
    s.service_at_locations
        .iter()
        .find_map(|sal| sal.location.as_ref())
}

impl EditForm {
    fn of(s: &Service, terms: &TermSet) -> EditForm {
        let loc = first_location(s);
        let addr = loc.and_then(|l| l.addresses.first());
        EditForm {
            name: s.name.clone(),
            description: s.description.clone().unwrap_or_default(),
            status: s.status.as_str().into(),
            organisation: s
                .organization
                .as_ref()
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            url: s.url.clone().unwrap_or_default(),
            email: s.email.clone().unwrap_or_default(),
            phone: s
                .phones
                .first()
                .map(|p| p.number.clone())
                .unwrap_or_default(),
            minimum_age: num_text(&s.minimum_age),
            maximum_age: num_text(&s.maximum_age),
            fees: s.fees.clone().unwrap_or_default(),
            languages: s
                .languages
                .iter()
                .filter_map(|l| l.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            needs: s
                .term_ids()
                .filter(|t| terms.contains(t))
                .map(str::to_string)
                .collect(),
            address_1: addr.map(|a| a.address_1.clone()).unwrap_or_default(),
            city: addr.map(|a| a.city.clone()).unwrap_or_default(),
            postal_code: addr.map(|a| a.postal_code.clone()).unwrap_or_default(),
            latitude: loc
                .and_then(|l| l.latitude)
                .map(|x| x.to_string())
                .unwrap_or_default(),
            longitude: loc
                .and_then(|l| l.longitude)
                .map(|x| x.to_string())
                .unwrap_or_default(),
            confidential: loc.is_some_and(|l| l.confidential),
            assured_date: s.assured_date.clone().unwrap_or_default(),
            assurer_email: s.assurer_email.clone().unwrap_or_default(),
            assured_today: false,
        }
    }

    fn parse(body: &[u8]) -> EditForm {
        let mut f = EditForm::default();
        for (k, v) in form_pairs(body) {
            let v = v.trim().to_string();
            match k.as_str() {
                "name" => f.name = v,
                "description" => f.description = v,
                "status" => f.status = v,
                "organisation" => f.organisation = v,
                "url" => f.url = v,
                "email" => f.email = v,
                "phone" => f.phone = v,
                "minimum_age" => f.minimum_age = v,
                "maximum_age" => f.maximum_age = v,
                "fees" => f.fees = v,
                "languages" => f.languages = v,
                "needs" => f.needs.push(v),
                "address_1" => f.address_1 = v,
                "city" => f.city = v,
                "postal_code" => f.postal_code = v,
                "latitude" => f.latitude = v,
                "longitude" => f.longitude = v,
                "confidential" => f.confidential = true,
                "assured_date" => f.assured_date = v,
                "assurer_email" => f.assurer_email = v,
                "assured_today" => f.assured_today = true,
                _ => {}
            }
        }
        f
    }
}

fn opt(v: &str) -> Option<String> {
    Some(v.to_string()).filter(|v| !v.is_empty())
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A blank service with a fresh id.
fn blank_service() -> Service {
    serde_json::from_value(serde_json::json!({"id": new_id(), "name": "", "status": "active"}))
        .expect("a minimal service deserialises")
}

fn number(field: &str, label: &str, v: &str, errors: &mut Vec<FieldError>) -> Option<Number> {
    if v.is_empty() {
        return None;
    }
    match v.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(n) => Some(n),
        None => {
            errors.push(FieldError {
                field: field.into(),
                message: format!("{label} must be a number, like 16"),
            });
            None
        }
    }
}

/// Applies the form to `s`; problems the form itself can see (not numbers) are added to `errors`.
fn apply(
    form: &EditForm,
    s: &mut Service,
    terms: &TermSet,
    staff_email: &str,
    errors: &mut Vec<FieldError>,
) {
    s.name = form.name.clone();
    s.description = opt(&form.description);
    match Status::parse(&form.status) {
        Ok(st) => s.status = st,
        Err(_) => errors.push(FieldError {
            field: "status".into(),
            message: "Choose a status".into(),
        }),
    }
    if form.organisation.is_empty() {
        s.organization = None;
        s.organization_id = None;
    } else {
        let org = s.organization.get_or_insert_with(|| {
            serde_json::from_value::<Organization>(
                serde_json::json!({"id": new_id(), "name": "", "description": ""}),
            )
            .expect("a minimal organisation deserialises")
        });
        if org.description.is_empty() || org.description == org.name {
            org.description = form.organisation.clone();
        }
        org.name = form.organisation.clone();
        s.organization_id = Some(org.id.clone());
    }
    s.url = opt(&form.url);
    s.email = opt(&form.email);
    if form.phone.is_empty() {
        if !s.phones.is_empty() {
            s.phones.remove(0);
        }
    } else if let Some(p) = s.phones.first_mut() {
        p.number = form.phone.clone();
    } else {
        let mut p: Phone =
            serde_json::from_value(serde_json::json!({"id": new_id(), "number": form.phone}))
                .expect("a minimal phone deserialises");
        p.description = Some("Phone".into());
        s.phones.push(p);
    }
    s.minimum_age = number("minimum_age", "Minimum age", &form.minimum_age, errors);
    s.maximum_age = number("maximum_age", "Maximum age", &form.maximum_age, errors);
    s.fees = opt(&form.fees);
    let old_languages = std::mem::take(&mut s.languages);
    for name in form
        .languages
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let lang = old_languages
            .iter()
            .find(|l| l.name.as_deref() == Some(name))
            .cloned()
            .unwrap_or_else(|| {
                let mut l: Language = serde_json::from_value(serde_json::json!({"id": new_id()}))
                    .expect("a minimal language deserialises");
                l.name = Some(name.to_string());
                l
            });
        s.languages.push(lang);
    }
    // Needs: replace the links into the directory's taxonomy, keep any other attributes.
    let old: Vec<Attribute> = std::mem::take(&mut s.attributes);
    let (ours, others): (Vec<Attribute>, Vec<Attribute>) = old
        .into_iter()
        .partition(|a| a.term_id().is_some_and(|t| terms.contains(t)));
    s.attributes = others;
    for term in &form.needs {
        if !terms.contains(term) {
            errors.push(FieldError {
                field: "needs".into(),
                message: "Choose needs from the list".into(),
            });
            continue;
        }
        let attr = ours
            .iter()
            .find(|a| a.term_id() == Some(term.as_str()))
            .cloned()
            .unwrap_or_else(|| Attribute {
                id: new_id(),
                link_id: Some(s.id.clone()),
                taxonomy_term_id: Some(term.clone()),
                link_type: Some("need".into()),
                link_entity: Some("service".into()),
                value: None,
                taxonomy_term: None,
            });
        s.attributes.push(attr);
    }
    apply_location(form, s, errors);
    if form.assured_today {
        s.assured_date = Some(today().to_string());
        s.assurer_email = opt(staff_email);
    } else {
        s.assured_date = opt(&form.assured_date);
        s.assurer_email = opt(&form.assurer_email);
    }
    s.last_modified = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok());
}

fn apply_location(form: &EditForm, s: &mut Service, errors: &mut Vec<FieldError>) {
    let lat = if form.latitude.is_empty() {
        None
    } else {
        match form.latitude.parse::<f64>() {
            Ok(x) => Some(x),
            Err(_) => {
                errors.push(FieldError {
                    field: "latitude".into(),
                    message: "Latitude must be a number, like 51.5".into(),
                });
                None
            }
        }
    };
    let lon = if form.longitude.is_empty() {
        None
    } else {
        match form.longitude.parse::<f64>() {
            Ok(x) => Some(x),
            Err(_) => {
                errors.push(FieldError {
                    field: "longitude".into(),
                    message: "Longitude must be a number, like -0.19".into(),
                });
                None
            }
        }
    };
    let wanted = !form.address_1.is_empty() || lat.is_some() || lon.is_some();
    let existing = s
        .service_at_locations
        .iter()
        .position(|sal| sal.location.is_some());
    let idx = match (existing, wanted) {
        (Some(i), _) => i,
        (None, false) => return,
        (None, true) => {
            let loc: Location = serde_json::from_value(
                serde_json::json!({"id": new_id(), "location_type": "physical"}),
            )
            .expect("a minimal location deserialises");
            let mut sal: ServiceAtLocation =
                serde_json::from_value(serde_json::json!({"id": new_id()}))
                    .expect("a minimal service at location deserialises");
            sal.location_id = Some(loc.id.clone());
            sal.location = Some(loc);
            s.service_at_locations.push(sal);
            s.service_at_locations.len() - 1
        }
    };
    let loc = s.service_at_locations[idx]
        .location
        .as_mut()
        .expect("chosen because it has a location");
    loc.latitude = lat;
    loc.longitude = lon;
    loc.confidential = form.confidential;
    if form.address_1.is_empty() && form.city.is_empty() && form.postal_code.is_empty() {
        loc.addresses.clear();
        return;
    }
    if loc.addresses.is_empty() {
        loc.addresses.push(Address {
            id: new_id(),
            location_id: Some(loc.id.clone()),
            attention: None,
            address_1: String::new(),
            address_2: None,
            city: String::new(),
            region: None,
            state_province: "Greater London".into(),
            postal_code: String::new(),
            country: "GB".into(),
            address_type: LocationType::Physical,
            attributes: Vec::new(),
        });
    }
    let a = &mut loc.addresses[0];
    for (field, value, label) in [
        ("address_1", &form.address_1, "Address"),
        ("city", &form.city, "Town or city"),
        ("postal_code", &form.postal_code, "Postcode"),
    ] {
        if value.is_empty() {
            errors.push(FieldError {
                field: field.into(),
                message: format!(
                    "Enter the {}, or clear the whole address",
                    label.to_lowercase()
                ),
            });
        }
    }
    a.address_1 = form.address_1.clone();
    a.city = form.city.clone();
    a.postal_code = form.postal_code.clone();
}

/// The form field a validation path belongs to.
fn field_of(path: &str) -> &'static str {
    let last = path.rsplit('.').next().unwrap_or(path);
    if path.starts_with("organization") {
        "organisation"
    } else if path.starts_with("phones") {
        "phone"
    } else if path.starts_with("languages") {
        "languages"
    } else if path.starts_with("attributes") {
        "needs"
    } else if path.starts_with("service_at_locations") {
        match last {
            "latitude" => "latitude",
            "longitude" => "longitude",
            "city" => "city",
            "postal_code" => "postal_code",
            _ => "address_1",
        }
    } else {
        match path {
            "description" => "description",
            "status" => "status",
            "url" => "url",
            "email" => "email",
            "minimum_age" => "minimum_age",
            "maximum_age" => "maximum_age",
            "fees" => "fees",
            "assured_date" => "assured_date",
            "assurer_email" => "assurer_email",
            _ => "name",
        }
    }
}

fn field_errors(errors: Vec<pathways_directory::FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| {
            let field = field_of(&e.path);
            let message = if e.path.is_empty() || e.path == field {
                capitalise(&e.message)
            } else {
                format!("{} ({})", capitalise(&e.message), e.path)
            };
            FieldError {
                field: field.into(),
                message,
            }
        })
        .collect()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A need checkbox.
#[derive(Debug, Clone)]
struct NeedBox {
    id: String,
    label: String,
    checked: bool,
    child: bool,
}

/// A status option.
#[derive(Debug, Clone)]
struct StatusOption {
    value: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "directory/edit.html")]
struct EditPage {
    chrome: Chrome,
    errors: Vec<FieldError>,
    form: EditForm,
    action: String,
    heading: String,
    id: Option<String>,
    archived: bool,
    statuses: Vec<StatusOption>,
    needs: Vec<NeedBox>,
}

impl EditPage {
    fn error_for(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    }
}

fn edit_page(
    state: &AppState,
    staff: &Staff,
    form: EditForm,
    errors: Vec<FieldError>,
    id: Option<String>,
    archived: bool,
    terms: &TermSet,
) -> EditPage {
    let mut needs = Vec::new();
    for root in terms.roots() {
        needs.push(NeedBox {
            id: root.id.clone(),
            label: root.name.clone(),
            checked: form.needs.contains(&root.id),
            child: false,
        });
        for c in terms.descendants_and_self(&root.id).into_iter().skip(1) {
            if let Some(t) = terms.get(c) {
                needs.push(NeedBox {
                    id: t.id.clone(),
                    label: t.name.clone(),
                    checked: form.needs.contains(&t.id),
                    child: true,
                });
            }
        }
    }
    let statuses = Status::ALL
        .iter()
        .map(|s| StatusOption {
            value: s.as_str(),
            selected: form.status == s.as_str(),
        })
        .collect();
    let (action, heading, title) = match &id {
        Some(i) => (
            format!("/directory/{i}/edit"),
            "Edit service".to_string(),
            "Edit service",
        ),
        None => (
            "/directory/new".to_string(),
            "Add a service".to_string(),
            "Add a service",
        ),
    };
    let title = if errors.is_empty() {
        title.to_string()
    } else {
        format!("Error: {title}")
    };
    EditPage {
        chrome: staff.chrome(state, &title),
        errors,
        form,
        action,
        heading,
        id,
        archived,
        statuses,
        needs,
    }
}

async fn new_form(State(state): State<AppState>, staff: Staff) -> Result<Html<String>, PageError> {
    async fn inner(state: &AppState, staff: &Staff) -> Result<Html<String>, AppError> {
        staff.require(Permission::EditDirectory)?;
        let index = state.directory().index(state.store()).await?;
        let index = index.read().await;
        let form = EditForm {
            status: "active".into(),
            ..EditForm::default()
        };
        Ok(Html(
            edit_page(state, staff, form, Vec::new(), None, false, index.terms()).render()?,
        ))
    }
    inner(&state, &staff).await.map_err(|e| PageError(state, e))
}

async fn edit_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    async fn inner(state: &AppState, staff: &Staff, id: &str) -> Result<Html<String>, AppError> {
        staff.require(Permission::EditDirectory)?;
        let stored = state
            .store()
            .directory_service(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let index = state.directory().index(state.store()).await?;
        let index = index.read().await;
        let service: Service = serde_json::from_str(&stored.row.document).map_err(|e| {
            AppError::internal(format!(
                "stored directory service {id} is not readable: {e}"
            ))
        })?;
        let form = EditForm::of(&service, index.terms());
        Ok(Html(
            edit_page(
                state,
                staff,
                form,
                Vec::new(),
                Some(id.to_string()),
                stored.archived,
                index.terms(),
            )
            .render()?,
        ))
    }
    inner(&state, &staff, &id)
        .await
        .map_err(|e| PageError(state, e))
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    body: Bytes,
) -> Result<Response, PageError> {
    save(&state, &staff, None, &body)
        .await
        .map_err(|e| PageError(state, e))
}

async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    save(&state, &staff, Some(id), &body)
        .await
        .map_err(|e| PageError(state, e))
}

/// Validates and writes a created or edited service, or shows the form again with errors.
async fn save(
    state: &AppState,
    staff: &Staff,
    id: Option<String>,
    body: &[u8],
) -> Result<Response, AppError> {
    staff.require(Permission::EditDirectory)?;
    let form = EditForm::parse(body);
    let (mut service, archived) = match &id {
        Some(id) => {
            let stored = state
                .store()
                .directory_service(id)
                .await?
                .ok_or(AppError::NotFound)?;
            let s: Service = serde_json::from_str(&stored.row.document).map_err(|e| {
                AppError::internal(format!(
                    "stored directory service {id} is not readable: {e}"
                ))
            })?;
            (s, stored.archived)
        }
        None => (blank_service(), false),
    };
    let index = state.directory().index(state.store()).await?;
    let mut errors = Vec::new();
    let terms = index.read().await.terms().clone();
    drop(index);
    apply(&form, &mut service, &terms, &staff.user.email, &mut errors);
    if form.name.is_empty() {
        errors.push(FieldError {
            field: "name".into(),
            message: "Enter the service name".into(),
        });
        // A stand-in name lets validation report every other problem at once.
        service.name = "unnamed".into();
    }
    let valid: Option<ValidService> = match validate_service(service, &terms) {
        Ok(v) => Some(v),
        Err(e) => {
            for fe in field_errors(e) {
                if !errors.iter().any(|x| x.field == fe.field) {
                    errors.push(fe);
                }
            }
            None
        }
    };
    let Some(valid) = valid.filter(|_| errors.is_empty()) else {
        let page = edit_page(state, staff, form, errors, id, archived, &terms);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    };
    let sid = valid.id().to_string();
    let action = if id.is_some() {
        "directory_service_update"
    } else {
        "directory_service_create"
    };
    // The write, its audit entry and the change version every instance follows commit
    // together; this process's index catches up before its next directory read.
    state
        .store()
        .upsert_directory_services(
            &[service_row(&valid)],
            &staff.user.id,
            &staff.event(action, "directory_service", &sid, "allowed"),
        )
        .await?;
    Ok(see_other("/directory"))
}

async fn archive(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    set_archived(&state, &staff, &id, true)
        .await
        .map_err(|e| PageError(state, e))
}

async fn restore(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    set_archived(&state, &staff, &id, false)
        .await
        .map_err(|e| PageError(state, e))
}

async fn set_archived(
    state: &AppState,
    staff: &Staff,
    id: &str,
    archived: bool,
) -> Result<Response, AppError> {
    staff.require(Permission::EditDirectory)?;
    let action = if archived {
        "directory_service_archive"
    } else {
        "directory_service_restore"
    };
    let mut tx = state.store().write().await?;
    tx.set_directory_service_archived(id, archived, &staff.user.id)
        .await?;
    tx.audit(&[&staff.event(action, "directory_service", id, "allowed")])
        .await?;
    tx.commit().await?;
    Ok(see_other("/directory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_paths_point_at_form_fields() {
        assert_eq!(
            field_of("service_at_locations[0].location.latitude"),
            "latitude"
        );
        assert_eq!(field_of("organization.name"), "organisation");
        assert_eq!(field_of("phones[0].number"), "phone");
        assert_eq!(field_of("email"), "email");
        assert_eq!(field_of("schedules[2].opens_at"), "name");
    }

    #[test]
    fn a_form_applied_to_a_blank_service_validates() {
        let terms = TermSet::needs();
        let need = terms.roots().next().expect("a root need").id.clone();
        let form = EditForm {
            name: "Riverside Boxing Club".into(),
            status: "active".into(),
            organisation: "Riverside Sports Trust".into(),
            phone: "020 7946 0011".into(),
            minimum_age: "11".into(),
            maximum_age: "18".into(),
            languages: "English, Somali".into(),
            needs: vec![need.clone()],
            address_1: "1 Canal Walk".into(),
            city: "London".into(),
            postal_code: "W10 5AA".into(),
            latitude: "51.52".into(),
            longitude: "-0.21".into(),
            assured_today: true,
            ..EditForm::default()
        };
        let mut s = blank_service();
        let mut errors = Vec::new();
        apply(
            &form,
            &mut s,
            &terms,
            "editor@riverside.example",
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let v = validate_service(s, &terms).expect("valid");
        assert_eq!(v.service().languages.len(), 2);
        assert_eq!(
            v.service().term_ids().collect::<Vec<_>>(),
            vec![need.as_str()]
        );
        assert_eq!(
            v.service().assurer_email.as_deref(),
            Some("editor@riverside.example")
        );
        let back = EditForm::of(v.service(), &terms);
        assert_eq!(back.latitude, "51.52");
        assert_eq!(back.minimum_age, "11");
    }

    #[test]
    fn latitude_out_of_range_is_reported_on_its_field() {
        let terms = TermSet::needs();
        let form = EditForm {
            name: "X".into(),
            status: "active".into(),
            latitude: "100".into(),
            longitude: "0".into(),
            ..EditForm::default()
        };
        let mut s = blank_service();
        let mut errors = Vec::new();
        apply(&form, &mut s, &terms, "", &mut errors);
        let e = validate_service(s, &terms).expect_err("latitude 100 is refused");
        let fields = field_errors(e);
        assert!(fields.iter().any(|f| f.field == "latitude"), "{fields:?}");
    }
}
