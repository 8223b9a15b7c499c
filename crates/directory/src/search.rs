//! In-memory search over services: BM25-style keywords, needs (with descendants), ages, opening
//! times, distance and the ORUK `/services` filters. Confidential locations never contribute coordinates.

use std::collections::HashMap;
use std::sync::Arc;

use time::{OffsetDateTime, PrimitiveDateTime};

use crate::model::{Service, Status, number_f64};
use crate::schedule::CompiledSchedule;
use crate::taxonomy::TermSet;
use crate::validate::{ValidService, parse_datetime};

/// A WGS84 point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// Mean Earth radius in metres.
const EARTH_R: f64 = 6_371_008.8;

/// A point as a unit vector, so ranking by distance needs only multiplications: the squared
/// chord between two unit vectors grows with the great-circle distance.
#[derive(Debug, Clone, Copy, PartialEq)]
struct UnitPoint {
    x: f64,
    y: f64,
    z: f64,
}

impl UnitPoint {
    fn new(p: GeoPoint) -> UnitPoint {
        let (lat, lon) = (p.lat.to_radians(), p.lon.to_radians());
        UnitPoint {
            x: lat.cos() * lon.cos(),
            y: lat.cos() * lon.sin(),
            z: lat.sin(),
        }
    }
}

/// Squared chord length between two unit vectors (0 to 4).
fn chord2(a: &UnitPoint, b: &UnitPoint) -> f64 {
    let (dx, dy, dz) = (a.x - b.x, a.y - b.y, a.z - b.z);
    dx * dx + dy * dy + dz * dz
}

fn chord2_to_m(chord2: f64) -> f64 {
    2.0 * EARTH_R * (chord2.sqrt() / 2.0).min(1.0).asin()
}

fn m_to_chord2(m: f64) -> f64 {
    let half = (m.max(0.0) / (2.0 * EARTH_R))
        .min(std::f64::consts::FRAC_PI_2)
        .sin();
    4.0 * half * half
}

/// Great-circle distance in metres on a sphere of the mean Earth radius.
pub fn haversine_m(a: GeoPoint, b: GeoPoint) -> f64 {
    chord2_to_m(chord2(&UnitPoint::new(a), &UnitPoint::new(b)))
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on",
    "or", "our", "the", "this", "that", "to", "we", "with", "you", "your",
];

/// Light English stemmer: plurals, `-ing`/`-ed`, a final `e` and doubled end consonants, so
/// that "counselling", "counsel" and "counsels" meet, as do "abuse" and "abused".
pub fn stem(word: &str) -> String {
    let mut w = word.to_string();
    if w.len() > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if w.len() > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        w.pop();
    }
    let mut suffix_removed = false;
    for suffix in ["ing", "ed"] {
        if w.ends_with(suffix) && w.len() - suffix.len() >= 3 {
            w.truncate(w.len() - suffix.len());
            suffix_removed = true;
            break;
        }
    }
    if suffix_removed {
        let b = w.as_bytes();
        let n = b.len();
        if n >= 2 && b[n - 1] == b[n - 2] && !b"aeiou".contains(&b[n - 1]) {
            w.pop();
        }
    }
    if w.len() > 3 && w.ends_with('e') {
        w.pop();
    }
    w
}

/// Lower-cases, splits on anything not a letter or digit, drops stop words and stems.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .filter(|t| !STOP_WORDS.contains(&t.as_str()))
        .map(|t| stem(&t))
        .collect()
}

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Best keyword match first; ties by distance (when a point is given), then name.
    #[default]
    Relevance,
    /// Nearest public location first; services with no public location come last.
    Distance,
    /// Alphabetical by name, then id (stable paging for feeds).
    Name,
}

/// Which statuses a query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Active and temporarily closed (the public pages).
    #[default]
    Public,
    /// Every status (the ORUK feed).
    All,
}

/// A search. Every given criterion must hold (AND).
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Keywords; every keyword (after stemming, minus stop words) must occur.
    pub text: Option<String>,
    /// Need term id: services tagged with it or any descendant.
    pub need: Option<String>,
    /// Taxonomy id: services with any term of that taxonomy.
    pub taxonomy_id: Option<String>,
    /// Ages of the person or group, `(from, to)` inclusive: the service's age range must overlap.
    pub ages: Option<(f64, f64)>,
    /// Open at this Europe/London local time.
    pub open_at: Option<PrimitiveDateTime>,
    /// Reference point for distance.
    pub near: Option<GeoPoint>,
    /// Only services with a public location within this many metres of `near`.
    pub within_m: Option<f64>,
    /// ORUK `minimum_age`: the service's minimum age (0 when absent) is at least this.
    pub minimum_age_at_least: Option<f64>,
    /// ORUK `maximum_age`: the service's maximum age is present and at most this.
    pub maximum_age_at_most: Option<f64>,
    /// ORUK `day` (0 = Monday): a schedule runs on that weekday.
    pub day: Option<u8>,
    /// ORUK `start_time` in minutes: a schedule (on `day`, if given) opens at or after it.
    pub start_time: Option<u16>,
    /// ORUK `end_time` in minutes: a schedule (on `day`, if given) closes at or before it.
    pub end_time: Option<u16>,
    /// ORUK `modified_after`: `last_modified` on or after this instant.
    pub modified_after: Option<OffsetDateTime>,
    /// Statuses returned.
    pub status: StatusFilter,
    /// Result order.
    pub sort: SortOrder,
}

/// One result.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The matching service (canonical form; publish through [`crate::oruk`]).
    pub service: Arc<ValidService>,
    /// Keyword relevance (0 without keywords).
    pub score: f32,
    /// Metres from `near` to the nearest public location, when both exist.
    pub distance_m: Option<f64>,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// Matches in total, before paging.
    pub total: usize,
    /// The requested slice of matches, in order.
    pub hits: Vec<Hit>,
}

#[derive(Debug)]
struct Doc {
    service: Arc<ValidService>,
    sort_key: String,
    tokens: Vec<String>,
    len: f32,
    term_bits: Vec<u64>,
    taxonomy_ids: Vec<String>,
    min_age: Option<f64>,
    max_age: Option<f64>,
    points: Vec<UnitPoint>,
    schedules: Vec<CompiledSchedule>,
    modified: Option<OffsetDateTime>,
    status: Status,
}

/// Grid cell size in degrees (about 560 m north–south, 350 m east–west in London).
const CELL_DEG: f64 = 0.005;
/// Metres per degree of latitude (mean Earth radius).
const M_PER_DEG: f64 = EARTH_R * std::f64::consts::PI / 180.0;
/// Most cells a radius search visits before scanning every service is cheaper.
const MAX_CELLS: i64 = 20_000;

/// The grid cell of a point: (row by latitude, column by longitude).
fn cell_of(p: &UnitPoint) -> (i32, i32) {
    let lat = p.z.clamp(-1.0, 1.0).asin().to_degrees();
    let lon = p.y.atan2(p.x).to_degrees();
    cell_of_deg(lat, lon)
}

fn cell_of_deg(lat: f64, lon: f64) -> (i32, i32) {
    (
        (lat / CELL_DEG).floor() as i32,
        (lon / CELL_DEG).floor() as i32,
    )
}

/// A uniform latitude/longitude grid over the services' public locations: distance
/// searches visit the cells around the searcher instead of every service.
#[derive(Debug, Default)]
struct Grid {
    cells: HashMap<(i32, i32), Vec<u32>>,
}

impl Grid {
    fn add(&mut self, cell: (i32, i32), slot: u32) {
        let list = self.cells.entry(cell).or_default();
        if let Err(pos) = list.binary_search(&slot) {
            list.insert(pos, slot);
        }
    }

    fn remove(&mut self, cell: (i32, i32), slot: u32) {
        if let Some(list) = self.cells.get_mut(&cell) {
            if let Ok(pos) = list.binary_search(&slot) {
                list.remove(pos);
            }
            if list.is_empty() {
                self.cells.remove(&cell);
            }
        }
    }

    /// Slots in the cells `rows` × `cols`.
    fn visit(
        &self,
        rows: std::ops::RangeInclusive<i32>,
        cols: std::ops::RangeInclusive<i32>,
        mut f: impl FnMut(u32),
    ) -> usize {
        let mut found = 0;
        for r in rows {
            for c in cols.clone() {
                if let Some(list) = self.cells.get(&(r, c)) {
                    found += 1;
                    list.iter().for_each(|&s| f(s));
                }
            }
        }
        found
    }

    /// The ring of cells at Chebyshev distance `k` from `center`.
    fn ring(&self, center: (i32, i32), k: i32, mut f: impl FnMut(u32)) -> usize {
        let (r0, c0) = center;
        if k == 0 {
            return self.visit(r0..=r0, c0..=c0, f);
        }
        self.visit(r0 - k..=r0 - k, c0 - k..=c0 + k, &mut f)
            + self.visit(r0 + k..=r0 + k, c0 - k..=c0 + k, &mut f)
            + self.visit(r0 - k + 1..=r0 + k - 1, c0 - k..=c0 - k, &mut f)
            + self.visit(r0 - k + 1..=r0 + k - 1, c0 + k..=c0 + k, &mut f)
    }

    /// The cells covering a circle of `m` metres round `p`, or `None` when there would be
    /// more than [`MAX_CELLS`] of them.
    fn cover(
        p: GeoPoint,
        m: f64,
    ) -> Option<(std::ops::RangeInclusive<i32>, std::ops::RangeInclusive<i32>)> {
        let dlat = m / M_PER_DEG;
        let lat_hi = (p.lat.abs() + dlat).min(89.9);
        let dlon = (dlat / lat_hi.to_radians().cos()).min(180.0);
        let (r0, c0) = cell_of_deg(p.lat - dlat, p.lon - dlon);
        let (r1, c1) = cell_of_deg(p.lat + dlat, p.lon + dlon);
        let n = (i64::from(r1) - i64::from(r0) + 1) * (i64::from(c1) - i64::from(c0) + 1);
        (n <= MAX_CELLS).then_some((r0..=r1, c0..=c1))
    }

    /// A lower bound, in metres, on the distance from `p` to any point outside the block of
    /// cells within Chebyshev distance `k` of `p`'s cell.
    fn outside_bound(p: GeoPoint, k: i32) -> f64 {
        let (r, c) = cell_of_deg(p.lat, p.lon);
        let south = p.lat - f64::from(r - k) * CELL_DEG;
        let north = f64::from(r + k + 1) * CELL_DEG - p.lat;
        let west = p.lon - f64::from(c - k) * CELL_DEG;
        let east = f64::from(c + k + 1) * CELL_DEG - p.lon;
        // East–west degrees are shortest at the block's edge farthest from the equator.
        let lat_far = (p.lat.abs() + f64::from(k + 1) * CELL_DEG).min(89.9);
        let lon_m = M_PER_DEG * lat_far.to_radians().cos();
        (south.min(north) * M_PER_DEG)
            .min(west.min(east) * lon_m)
            .max(0.0)
    }
}

const W_NAME: f32 = 3.0;
const W_TERMS: f32 = 2.0;
const W_ORG: f32 = 1.5;
const W_DESC: f32 = 1.0;
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// Per-slot data read by every scan, kept small and contiguous for speed.
#[derive(Debug, Clone, Copy, Default)]
struct Hot {
    live: bool,
    public: bool,
    point: Option<UnitPoint>,
    more_points: bool,
}

/// The search index. Build once, then [`SearchIndex::upsert`] and [`SearchIndex::remove`] as
/// records change; results never depend on insertion order.
#[derive(Debug)]
pub struct SearchIndex {
    terms: TermSet,
    docs: Vec<Option<Doc>>,
    hot: Vec<Hot>,
    free: Vec<u32>,
    by_id: HashMap<String, u32>,
    postings: HashMap<String, Vec<(u32, f32)>>,
    term_postings: Vec<Vec<u32>>,
    order: Vec<u32>,
    rank: Vec<u32>,
    total_len: f64,
    live: usize,
    /// Live services of a public status.
    live_public: usize,
    /// The spatial index: slots with a public location in each grid cell.
    grid: Grid,
}

impl SearchIndex {
    /// An empty index using `terms` for need filtering and term names.
    pub fn new(terms: TermSet) -> SearchIndex {
        SearchIndex {
            term_postings: vec![Vec::new(); terms.terms().len()],
            terms,
            docs: Vec::new(),
            hot: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            postings: HashMap::new(),
            order: Vec::new(),
            rank: Vec::new(),
            total_len: 0.0,
            live: 0,
            live_public: 0,
            grid: Grid::default(),
        }
    }

    /// An index of `services` (later duplicates of an id replace earlier ones).
    pub fn build(terms: TermSet, services: impl IntoIterator<Item = ValidService>) -> SearchIndex {
        let mut idx = SearchIndex::new(terms);
        for s in services {
            idx.insert(s, false);
        }
        // Sort the name order once rather than inserting into it service by service.
        let mut order = std::mem::take(&mut idx.order);
        order.sort_by(|&a, &b| idx.name_key(a).cmp(&idx.name_key(b)));
        idx.order = order;
        idx.recompute_ranks();
        idx
    }

    /// The term set in use.
    pub fn terms(&self) -> &TermSet {
        &self.terms
    }

    /// Number of services.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// A service by id.
    pub fn get(&self, id: &str) -> Option<&Arc<ValidService>> {
        let slot = *self.by_id.get(id)?;
        self.docs[slot as usize].as_ref().map(|d| &d.service)
    }

    /// All services by name, then id.
    pub fn services(&self) -> impl Iterator<Item = &Arc<ValidService>> {
        self.order
            .iter()
            .filter_map(|&s| self.docs[s as usize].as_ref().map(|d| &d.service))
    }

    fn name_key(&self, slot: u32) -> (&str, &str) {
        let d = self.docs[slot as usize]
            .as_ref()
            .expect("ordered slots are live");
        (d.sort_key.as_str(), d.service.id())
    }

    fn recompute_ranks(&mut self) {
        self.rank.resize(self.docs.len(), u32::MAX);
        for (i, &slot) in self.order.iter().enumerate() {
            self.rank[slot as usize] = u32::try_from(i).expect("fewer than 4 billion services");
        }
    }

    /// Adds or replaces a service.
    pub fn upsert(&mut self, service: ValidService) {
        self.insert(service, true);
        self.recompute_ranks();
    }

    fn insert(&mut self, service: ValidService, keep_order: bool) {
        self.remove_slot(service.id(), keep_order);
        let doc = self.make_doc(service);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.docs.push(None);
                self.hot.push(Hot::default());
                u32::try_from(self.docs.len() - 1).expect("fewer than 4 billion services")
            }
        };
        let mut tf: HashMap<&str, f32> = HashMap::new();
        let s = doc.service.service();
        let org = s
            .organization
            .as_ref()
            .map(|o| o.name.as_str())
            .unwrap_or("");
        let term_names: Vec<&str> = s
            .term_ids()
            .filter_map(|id| self.terms.get(id))
            .map(|t| t.name.as_str())
            .collect();
        let fields: [(&str, f32); 3] = [
            (s.name.as_str(), W_NAME),
            (org, W_ORG),
            (s.description.as_deref().unwrap_or(""), W_DESC),
        ];
        let mut owned: Vec<(String, f32)> = Vec::new();
        for (text, w) in fields {
            for t in tokenize(text) {
                owned.push((t, w));
            }
        }
        for name in term_names {
            for t in tokenize(name) {
                owned.push((t, W_TERMS));
            }
        }
        let mut len = 0.0;
        for (t, w) in &owned {
            *tf.entry(t.as_str()).or_insert(0.0) += w;
            len += w;
        }
        let mut tokens: Vec<String> = tf.keys().map(|k| (*k).to_string()).collect();
        tokens.sort();
        for t in &tokens {
            let list = self.postings.entry(t.clone()).or_default();
            let pos = list.partition_point(|&(d, _)| d < slot);
            list.insert(pos, (slot, tf[t.as_str()]));
        }
        for (w, bits) in doc.term_bits.iter().enumerate() {
            let mut b = *bits;
            while b != 0 {
                let i = w * 64 + b.trailing_zeros() as usize;
                b &= b - 1;
                let list = &mut self.term_postings[i];
                let pos = list.partition_point(|&d| d < slot);
                list.insert(pos, slot);
            }
        }
        let key = doc.sort_key.clone();
        let id = doc.service.id().to_string();
        let doc = Doc { tokens, len, ..doc };
        self.total_len += f64::from(len);
        self.hot[slot as usize] = Hot {
            live: true,
            public: matches!(doc.status, Status::Active | Status::TemporarilyClosed),
            point: doc.points.first().copied(),
            more_points: doc.points.len() > 1,
        };
        for p in &doc.points {
            self.grid.add(cell_of(p), slot);
        }
        if self.hot[slot as usize].public {
            self.live_public += 1;
        }
        self.docs[slot as usize] = Some(doc);
        if keep_order {
            let pos = self
                .order
                .partition_point(|&o| self.name_key(o) < (key.as_str(), id.as_str()));
            self.order.insert(pos, slot);
        } else {
            self.order.push(slot);
        }
        self.by_id.insert(id, slot);
        self.live += 1;
    }

    /// Applies a batch of changes: removes `removals` (ids; unknown ones are ignored), then
    /// adds or replaces `upserts`. Cheaper than one call per change for more than a few.
    pub fn apply(&mut self, upserts: Vec<ValidService>, removals: &[String]) {
        for id in removals {
            self.remove_slot(id, true);
        }
        for s in upserts {
            self.insert(s, true);
        }
        self.recompute_ranks();
    }

    /// Removes a service; returns whether it was present.
    pub fn remove(&mut self, id: &str) -> bool {
        let removed = self.remove_slot(id, true);
        if removed {
            self.recompute_ranks();
        }
        removed
    }

    fn remove_slot(&mut self, id: &str, keep_order: bool) -> bool {
        let Some(slot) = self.by_id.remove(id) else {
            return false;
        };
        let Some(doc) = self.docs[slot as usize].take() else {
            return false;
        };
        for t in &doc.tokens {
            if let Some(list) = self.postings.get_mut(t) {
                if let Ok(pos) = list.binary_search_by_key(&slot, |&(d, _)| d) {
                    list.remove(pos);
                }
                if list.is_empty() {
                    self.postings.remove(t);
                }
            }
        }
        for list in &mut self.term_postings {
            if let Ok(pos) = list.binary_search(&slot) {
                list.remove(pos);
            }
        }
        if keep_order {
            self.order.retain(|&o| o != slot);
        } else if let Some(pos) = self.order.iter().position(|&o| o == slot) {
            self.order.swap_remove(pos);
        }
        self.total_len -= f64::from(doc.len);
        for p in &doc.points {
            self.grid.remove(cell_of(p), slot);
        }
        if self.hot[slot as usize].public {
            self.live_public -= 1;
        }
        self.hot[slot as usize] = Hot::default();
        self.free.push(slot);
        self.live -= 1;
        true
    }

    fn make_doc(&self, service: ValidService) -> Doc {
        let s: &Service = service.service();
        let words = self.terms.terms().len().div_ceil(64);
        let mut term_bits = vec![0u64; words.max(1)];
        let mut taxonomy_ids: Vec<String> = Vec::new();
        for id in s.term_ids() {
            if let Some(i) = self.terms.index_of(id) {
                for a in self.terms.ancestors_and_self_idx(i) {
                    term_bits[a / 64] |= 1 << (a % 64);
                }
                if let Some(t) = self
                    .terms
                    .get(id)
                    .and_then(|t| self.terms.taxonomy_id_of(t))
                    && !taxonomy_ids.iter().any(|x| x == t)
                {
                    taxonomy_ids.push(t.to_string());
                }
            }
        }
        let points = s
            .public_locations()
            .filter_map(|l| match (l.latitude, l.longitude) {
                (Some(lat), Some(lon)) => Some(UnitPoint::new(GeoPoint { lat, lon })),
                _ => None,
            })
            .collect();
        let public_sals: Vec<&str> = s
            .service_at_locations
            .iter()
            .filter(|sal| !sal.location.as_ref().is_some_and(|l| l.confidential))
            .map(|sal| sal.id.as_str())
            .collect();
        let schedules = s
            .schedules
            .iter()
            .filter(|sch| {
                sch.service_at_location_id
                    .as_deref()
                    .is_none_or(|id| public_sals.contains(&id))
            })
            .filter_map(CompiledSchedule::compile)
            .collect();
        Doc {
            sort_key: s.name.to_lowercase(),
            tokens: Vec::new(),
            len: 0.0,
            term_bits,
            taxonomy_ids,
            min_age: s.minimum_age.as_ref().map(number_f64),
            max_age: s.maximum_age.as_ref().map(number_f64),
            points,
            schedules,
            modified: s.last_modified.as_deref().and_then(parse_datetime),
            status: s.status,
            service: Arc::new(service),
        }
    }

    fn passes(&self, d: &Doc, q: &Query, need_idx: Option<usize>) -> bool {
        if q.status == StatusFilter::Public
            && !matches!(d.status, Status::Active | Status::TemporarilyClosed)
        {
            return false;
        }
        if let Some(i) = need_idx
            && d.term_bits[i / 64] & (1 << (i % 64)) == 0
        {
            return false;
        }
        if let Some(t) = &q.taxonomy_id
            && !d.taxonomy_ids.iter().any(|x| x == t)
        {
            return false;
        }
        if let Some((from, to)) = q.ages {
            let min = d.min_age.unwrap_or(0.0);
            let max = d.max_age.unwrap_or(f64::INFINITY);
            if min > to || max < from {
                return false;
            }
        }
        if let Some(v) = q.minimum_age_at_least
            && d.min_age.unwrap_or(0.0) < v
        {
            return false;
        }
        if let Some(v) = q.maximum_age_at_most
            && d.max_age.is_none_or(|m| m > v)
        {
            return false;
        }
        if let Some(after) = q.modified_after
            && d.modified.is_none_or(|m| m < after)
        {
            return false;
        }
        if let Some(at) = q.open_at
            && !d.schedules.iter().any(|s| s.open_at(at))
        {
            return false;
        }
        if q.day.is_some() || q.start_time.is_some() || q.end_time.is_some() {
            let ok = d.schedules.iter().any(|s| {
                q.day.is_none_or(|w| s.on_weekday(w))
                    && q.start_time.is_none_or(|t| s.opens >= t)
                    && q.end_time.is_none_or(|t| s.closes <= t)
            });
            if !ok {
                return false;
            }
        }
        true
    }

    /// Whether a query has criteria beyond status, need and distance (these need the full doc).
    fn needs_doc(q: &Query) -> bool {
        q.taxonomy_id.is_some()
            || q.ages.is_some()
            || q.open_at.is_some()
            || q.minimum_age_at_least.is_some()
            || q.maximum_age_at_most.is_some()
            || q.day.is_some()
            || q.start_time.is_some()
            || q.end_time.is_some()
            || q.modified_after.is_some()
    }

    /// Squared chord to the nearest public location of a slot, if it has one.
    fn nearest(&self, slot: u32, p: &UnitPoint) -> Option<f64> {
        let h = &self.hot[slot as usize];
        if h.more_points {
            let d = self.docs[slot as usize].as_ref()?;
            d.points.iter().map(|x| chord2(p, x)).min_by(f64::total_cmp)
        } else {
            h.point.map(|x| chord2(p, &x))
        }
    }

    /// Nearest first with no other criterion than the status ("near me"): visits the grid
    /// in rings round the searcher until the page is certain, instead of measuring the
    /// distance to every service. Services with no public location follow, by name.
    fn nearest_page(
        &self,
        q: &Query,
        p: GeoPoint,
        offset: usize,
        limit: usize,
    ) -> Option<SearchPage> {
        let want = offset.saturating_add(limit);
        let total = match q.status {
            StatusFilter::Public => self.live_public,
            StatusFilter::All => self.live,
        };
        let up = UnitPoint::new(p);
        let center = cell_of_deg(p.lat, p.lon);
        let cells = self.grid.cells.len();
        let mut visited = 0;
        let mut found: Vec<(u32, f64)> = Vec::new();
        // A service with several locations may sit in several cells: count it once.
        let mut seen: std::collections::HashSet<u32> = std::collections::HashSet::new();
        let mut k = 0;
        loop {
            if k > 4000 {
                return None;
            }
            visited += self.grid.ring(center, k, |slot| {
                let h = &self.hot[slot as usize];
                if h.live && (q.status == StatusFilter::All || h.public) && seen.insert(slot) {
                    found.push((slot, self.nearest(slot, &up).unwrap_or(f64::INFINITY)));
                }
            });
            let all = visited >= cells;
            let bound = m_to_chord2(Grid::outside_bound(p, k));
            if all || found.iter().filter(|(_, d)| *d <= bound).count() >= want {
                break;
            }
            k += 1;
        }
        let rank = |slot: u32| self.rank[slot as usize];
        found.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then_with(|| rank(a.0).cmp(&rank(b.0))));
        let mut page: Vec<(u32, f64)> = found.into_iter().skip(offset).take(limit).collect();
        if page.len() < limit && visited >= cells {
            // Past the located services: those with no public location, by name.
            let located = self.live_located(q.status);
            let skip = offset.saturating_sub(located);
            page.extend(
                self.order
                    .iter()
                    .filter(|&&s| {
                        let h = &self.hot[s as usize];
                        h.live && (q.status == StatusFilter::All || h.public) && h.point.is_none()
                    })
                    .skip(skip)
                    .take(limit - page.len())
                    .map(|&s| (s, f64::INFINITY)),
            );
        }
        Some(SearchPage {
            total,
            hits: page
                .into_iter()
                .map(|(slot, d)| self.hit(slot, 0.0, d))
                .collect(),
        })
    }

    /// Live services of the status with a public location.
    fn live_located(&self, status: StatusFilter) -> usize {
        self.hot
            .iter()
            .filter(|h| h.live && h.point.is_some() && (status == StatusFilter::All || h.public))
            .count()
    }

    fn hit(&self, slot: u32, score: f32, chord2: f64) -> Hit {
        Hit {
            service: Arc::clone(
                &self.docs[slot as usize]
                    .as_ref()
                    .expect("hits are live")
                    .service,
            ),
            score,
            distance_m: chord2.is_finite().then(|| chord2_to_m(chord2)),
        }
    }

    /// Runs a query and returns `limit` matches from `offset`, with the total count.
    pub fn search(&self, q: &Query, offset: usize, limit: usize) -> SearchPage {
        let need_idx = match &q.need {
            Some(id) => match self.terms.index_of(id) {
                Some(i) => Some(i),
                None => {
                    return SearchPage {
                        total: 0,
                        hits: Vec::new(),
                    };
                }
            },
            None => None,
        };
        let tokens: Vec<String> = {
            let mut t = q.text.as_deref().map(tokenize).unwrap_or_default();
            t.sort();
            t.dedup();
            t
        };
        // Distances are ranked as squared chords and turned into metres only for the page.
        // (slot, score, squared chord or +inf when there is no public location)
        let mut hits: Vec<(u32, f32, f64)> = Vec::new();
        let near = q.near.map(UnitPoint::new);
        let max_h = q.within_m.map(m_to_chord2);
        let doc_filters = Self::needs_doc(q);
        let no_words = q.text.as_deref().is_none_or(|t| t.trim().is_empty());
        if let Some(p) = q.near
            && q.sort == SortOrder::Distance
            && q.within_m.is_none()
            && no_words
            && need_idx.is_none()
            && !doc_filters
            && let Some(page) = self.nearest_page(q, p, offset, limit)
        {
            return page;
        }
        let keep = |slot: u32, need_checked: bool| -> Option<f64> {
            let h = &self.hot[slot as usize];
            if !h.live || (q.status == StatusFilter::Public && !h.public) {
                return None;
            }
            let need = if need_checked { None } else { need_idx };
            if need.is_some() || doc_filters {
                let d = self.docs[slot as usize].as_ref()?;
                if !self.passes(d, q, need) {
                    return None;
                }
            }
            let dist = near.and_then(|p| self.nearest(slot, &p));
            if let Some(max) = max_h
                && dist.is_none_or(|x| x > max)
            {
                return None;
            }
            Some(dist.unwrap_or(f64::INFINITY))
        };
        if tokens.is_empty() {
            if q.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
                // Only stop words: nothing meaningful to match on.
                return SearchPage {
                    total: 0,
                    hits: Vec::new(),
                };
            }
            // A need narrows the candidates to its posting list. Otherwise scan in name order
            // when that is the result order, else in slot order (sequential memory).
            let area = match (q.near, q.within_m) {
                (Some(p), Some(m)) => Grid::cover(p, m),
                _ => None,
            };
            match need_idx {
                Some(i) => {
                    for &slot in &self.term_postings[i] {
                        if let Some(dist) = keep(slot, true) {
                            hits.push((slot, 0.0, dist));
                        }
                    }
                }
                // Within a distance: only the grid cells covering the circle.
                None if area.is_some() => {
                    let (rows, cols) = area.expect("checked");
                    let mut slots = Vec::new();
                    self.grid.visit(rows, cols, |s| slots.push(s));
                    slots.sort_unstable();
                    slots.dedup();
                    for slot in slots {
                        if let Some(dist) = keep(slot, false) {
                            hits.push((slot, 0.0, dist));
                        }
                    }
                }
                None if q.sort == SortOrder::Name
                    || (q.sort == SortOrder::Relevance && q.near.is_none()) =>
                {
                    for &slot in &self.order {
                        if let Some(dist) = keep(slot, false) {
                            hits.push((slot, 0.0, dist));
                        }
                    }
                }
                None => {
                    for slot in 0..self.hot.len() {
                        let slot = u32::try_from(slot).expect("slots fit in u32");
                        if let Some(dist) = keep(slot, false) {
                            hits.push((slot, 0.0, dist));
                        }
                    }
                }
            }
        } else {
            let mut lists = Vec::with_capacity(tokens.len());
            for t in &tokens {
                match self.postings.get(t) {
                    Some(l) => lists.push(l),
                    None => {
                        return SearchPage {
                            total: 0,
                            hits: Vec::new(),
                        };
                    }
                }
            }
            lists.sort_by_key(|l| l.len());
            let n = self.live as f32;
            let avg = if self.live == 0 {
                1.0
            } else {
                (self.total_len / self.live as f64) as f32
            };
            let idf = |df: usize| -> f32 {
                let df = df as f32;
                (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
            };
            let idfs: Vec<f32> = lists.iter().map(|l| idf(l.len())).collect();
            // Drive from the shortest list: the rarest keyword, or the need when it is rarer.
            let need_list = need_idx
                .map(|i| &self.term_postings[i])
                .filter(|l| l.len() < lists[0].len());
            let driven_by_need = need_list.is_some();
            let mut score_slot = |slot: u32, skip_first: Option<f32>| {
                let Some(d) = &self.docs[slot as usize] else {
                    return;
                };
                let norm = K1 * (1.0 - B + B * d.len / avg);
                let mut score = 0.0;
                for (li, list) in lists.iter().enumerate() {
                    let tf = match (li, skip_first) {
                        (0, Some(tf0)) => tf0,
                        _ => match list.binary_search_by_key(&slot, |&(x, _)| x) {
                            Ok(p) => list[p].1,
                            Err(_) => return,
                        },
                    };
                    score += idfs[li] * tf * (K1 + 1.0) / (tf + norm);
                }
                if let Some(dist) = keep(slot, driven_by_need) {
                    hits.push((slot, score, dist));
                }
            };
            match need_list {
                Some(nl) => nl.iter().for_each(|&slot| score_slot(slot, None)),
                None => lists[0]
                    .iter()
                    .for_each(|&(slot, tf0)| score_slot(slot, Some(tf0))),
            }
        }
        let total = hits.len();
        // Ties are broken by the name order's rank: numbers only, no string compares.
        let rank = |slot: u32| self.rank[slot as usize];
        let cmp = |a: &(u32, f32, f64), b: &(u32, f32, f64)| match q.sort {
            SortOrder::Relevance => {
                b.1.total_cmp(&a.1)
                    .then_with(|| a.2.total_cmp(&b.2))
                    .then_with(|| rank(a.0).cmp(&rank(b.0)))
            }
            SortOrder::Distance => {
                a.2.total_cmp(&b.2)
                    .then_with(|| b.1.total_cmp(&a.1))
                    .then_with(|| rank(a.0).cmp(&rank(b.0)))
            }
            SortOrder::Name => rank(a.0).cmp(&rank(b.0)),
        };
        let already_ordered = tokens.is_empty()
            && need_idx.is_none()
            && !(q.near.is_some() && q.within_m.is_some())
            && (q.sort == SortOrder::Name || (q.sort == SortOrder::Relevance && q.near.is_none()));
        let end = offset.saturating_add(limit).min(total);
        if !already_ordered && offset < end {
            if end < total {
                hits.select_nth_unstable_by(end - 1, cmp);
                hits.truncate(end);
            }
            hits.sort_by(cmp);
        }
        let hits = if offset < end {
            hits[offset..end]
                .iter()
                .map(|&(slot, score, distance_m)| Hit {
                    service: Arc::clone(
                        &self.docs[slot as usize]
                            .as_ref()
                            .expect("hits are live")
                            .service,
                    ),
                    score,
                    distance_m: distance_m.is_finite().then(|| chord2_to_m(distance_m)),
                })
                .collect()
        } else {
            Vec::new()
        };
        SearchPage { total, hits }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stemming_brings_forms_together() {
        assert_eq!(stem("counselling"), stem("counsel"));
        assert_eq!(stem("abused"), stem("abuse"));
        assert_eq!(stem("services"), stem("service"));
        assert_eq!(stem("families"), "family");
        assert_eq!(stem("running"), "run");
        assert_eq!(
            tokenize("The Domestic-Abuse helpline"),
            vec!["domestic", "abus", "helplin"]
        );
    }

    #[test]
    fn haversine_known_distance() {
        // One degree of latitude is about 111.2 km.
        let d = haversine_m(
            GeoPoint {
                lat: 51.0,
                lon: -0.19,
            },
            GeoPoint {
                lat: 52.0,
                lon: -0.19,
            },
        );
        assert!((d - 111_195.0).abs() < 50.0, "{d}");
        assert_eq!(
            haversine_m(
                GeoPoint {
                    lat: 51.5,
                    lon: -0.19
                },
                GeoPoint {
                    lat: 51.5,
                    lon: -0.19
                }
            ),
            0.0
        );
    }
}
