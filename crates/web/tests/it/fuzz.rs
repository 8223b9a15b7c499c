//! Fuzzing of what takes input from outside: the police.uk importer, the ORUK feed importer,
//! the people-match CSV reader, the referral API and the instrument scoring API. Each target
//! is fed arbitrary bytes and structured mutations of real samples (rows of the police.uk
//! file and documents of the ORUK profile from the shared data folder when it is present,
//! built-in samples otherwise), and must never panic; the APIs must never answer 5xx.
//!
//! How long: `PATHWAYS_FUZZ_SECS` (per target) keeps generating fresh inputs until the time
//! is up; without it each target runs `PATHWAYS_FUZZ_CASES` inputs (default 16), so the
//! ordinary test run stays quick. `.ci/run` gives each a few seconds and `bench/fuzz/run.sh`
//! hours. Every input in `tests/fuzz-corpus/<target>/` is replayed first: an input that
//! once failed is written there (the smallest proptest found) and kept as a regression case.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::support::App;

// -------------------------------------------------------------------- the harness

/// A target's verdict on one input: `Err` names what went wrong.
type Verdict = Result<(), String>;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(target)
}

fn run_one(target: &dyn Fn(&[u8]) -> Verdict, input: &[u8]) -> Verdict {
    match catch_unwind(AssertUnwindSafe(|| target(input))) {
        Ok(v) => v,
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

/// Replays the corpus, then fuzzes `target` with inputs from `strategy` for the configured
/// budget. A failing input is shrunk, saved to the corpus and reported.
fn fuzz(name: &str, strategy: impl Strategy<Value = Vec<u8>>, target: impl Fn(&[u8]) -> Verdict) {
    let dir = corpus_dir(name);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            let input = std::fs::read(&f).expect("corpus file");
            if let Err(why) = run_one(&target, &input) {
                panic!("{name}: regression case {} fails: {why}", f.display());
            }
        }
    }
    let budget = std::env::var("PATHWAYS_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map(Duration::from_secs_f64);
    let cases = std::env::var("PATHWAYS_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(16);
    let started = Instant::now();
    let mut inputs: u64 = 0;
    loop {
        let config = Config {
            cases: if budget.is_some() { 64 } else { cases },
            failure_persistence: None,
            max_shrink_iters: 2_000,
            ..Config::default()
        };
        // A fresh random seed each round.
        let mut runner = TestRunner::new(config.clone());
        let result = runner.run(&strategy, |input| {
            run_one(&target, &input).map_err(TestCaseError::fail)
        });
        inputs += u64::from(config.cases);
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, minimal)) => {
                std::fs::create_dir_all(&dir).expect("corpus folder");
                let file = dir.join(format!(
                    "found-{}.bin",
                    &pathways_app::crypto::digest(&String::from_utf8_lossy(&minimal))[..16]
                ));
                std::fs::write(&file, &minimal).expect("save the failing input");
                panic!(
                    "{name}: {why}; the input ({} bytes) is saved as {}",
                    minimal.len(),
                    file.display()
                );
            }
            Err(e) => panic!("{name}: {e}"),
        }
        if budget.is_none_or(|b| started.elapsed() >= b) {
            break;
        }
    }
    println!(
        "fuzz {name}: {inputs} inputs in {:.1} s, no failure",
        started.elapsed().as_secs_f64()
    );
}

/// The shared real-data folder (`PATHWAYS_SHARED_DIR`, else `../shared/data` beside the
/// workspace), if present.
fn shared_data() -> Option<PathBuf> {
    let data = std::env::var("PATHWAYS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    data.is_dir().then_some(data)
}

/// One edit of a sample: where (a fraction of the length), what, and the bytes it uses.
#[derive(Debug, Clone)]
enum Edit {
    Truncate(u32),
    Delete(u32, u8),
    Insert(u32, Vec<u8>),
    Flip(u32, u8),
    Syntax(u32, u8),
    DuplicateLine(u32),
    SwapLines(u32, u32),
    Repeat(u32, u16),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<u32>().prop_map(Edit::Truncate),
        (any::<u32>(), any::<u8>()).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<u32>(), proptest::collection::vec(any::<u8>(), 1..24))
            .prop_map(|(a, b)| Edit::Insert(a, b)),
        (any::<u32>(), any::<u8>()).prop_map(|(a, b)| Edit::Flip(a, b)),
        (any::<u32>(), any::<u8>()).prop_map(|(a, b)| Edit::Syntax(a, b)),
        any::<u32>().prop_map(Edit::DuplicateLine),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (any::<u32>(), 1u16..2_000).prop_map(|(a, n)| Edit::Repeat(a, n)),
    ]
}

/// Characters that mean something to CSV and JSON readers.
const SYNTAX: &[u8] = b",\"\n\r{}[]:\\'\t\0;=-+.eE0";

fn at(pos: u32, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (pos as usize) % (len + 1)
    }
}

fn apply(sample: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = sample.to_vec();
    for e in edits {
        match e {
            Edit::Truncate(p) => b.truncate(at(*p, b.len())),
            Edit::Delete(p, n) => {
                let s = at(*p, b.len());
                let end = (s + usize::from(*n)).min(b.len());
                b.drain(s..end);
            }
            Edit::Insert(p, bytes) => {
                let s = at(*p, b.len());
                b.splice(s..s, bytes.iter().copied());
            }
            Edit::Flip(p, x) => {
                if !b.is_empty() {
                    let s = at(*p, b.len() - 1);
                    b[s] ^= x | 1;
                }
            }
            Edit::Syntax(p, c) => {
                let s = at(*p, b.len());
                b.insert(s, SYNTAX[usize::from(*c) % SYNTAX.len()]);
            }
            Edit::DuplicateLine(p) | Edit::Repeat(p, _) | Edit::SwapLines(p, _) => {
                let mut lines: Vec<Vec<u8>> = b
                    .split_inclusive(|c| *c == b'\n')
                    .map(<[u8]>::to_vec)
                    .collect();
                if lines.is_empty() {
                    continue;
                }
                let i = (*p as usize) % lines.len();
                match e {
                    Edit::DuplicateLine(_) => {
                        let l = lines[i].clone();
                        lines.insert(i, l);
                    }
                    Edit::SwapLines(_, q) => {
                        let j = (*q as usize) % lines.len();
                        lines.swap(i, j);
                    }
                    Edit::Repeat(_, n) => {
                        // One field made very long.
                        let l = &mut lines[i];
                        let cut = l.len() / 2;
                        let piece: Vec<u8> = l[..cut.min(8)].to_vec();
                        for _ in 0..*n {
                            l.splice(cut..cut, piece.iter().copied());
                        }
                    }
                    _ => {}
                }
                b = lines.concat();
            }
        }
    }
    b
}

/// Arbitrary bytes, or one of the samples with up to eight edits.
fn inputs(samples: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = samples.len();
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..2_048),
        4 => (0..n, proptest::collection::vec(edit(), 0..8))
            .prop_map(move |(i, edits)| apply(&samples[i], &edits)),
    ]
}

/// A temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "pathways-fuzz-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// -------------------------------------------------------------------- police.uk importer

const STREET_SAMPLE: &str = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n\
b0f5c3a1d2e4f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d,2016-07,Kent Police,Kent Police,0.521,51.27,On or near Mill Road,E01024000,Maidstone 001A,Burglary,Under investigation,\n\
,2016-07,Kent Police,Kent Police,,,No location,,,Anti-social behaviour,,\n\
c1,2016-07,Kent Police,Kent Police,0.52,51.2,\"On or near \"\"X\"\", Y\",E01024001,Maidstone 001B,Violence and sexual offences,Unable to prosecute suspect,\n";

const OUTCOMES_SAMPLE: &str = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Outcome type\n\
b0f5c3a1d2e4f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d,2016-07,Kent Police,Kent Police,0.521,51.27,On or near Mill Road,E01024000,Maidstone 001A,Investigation complete; no suspect identified\n";

const STOP_SAMPLE: &str = "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,Outcome,Outcome linked to object of search,Removal of more than just outer clothing\n\
Person search,2016-07-01T00:10:00+00:00,False,,51.27,0.52,Male,18-24,White - English,White,Misuse of Drugs Act 1971 (section 23),Controlled drugs,Arrest,True,False\n";

fn police_samples() -> Vec<Vec<u8>> {
    let mut samples = vec![
        STREET_SAMPLE.as_bytes().to_vec(),
        OUTCOMES_SAMPLE.as_bytes().to_vec(),
        STOP_SAMPLE.as_bytes().to_vec(),
    ];
    if let Some(data) = shared_data() {
        let real = std::fs::read(data.join("police-uk/2016-07-west-yorkshire-street.csv"))
            .unwrap_or_default();
        // Windows of real rows under the real header.
        let lines: Vec<&[u8]> = real.split_inclusive(|c| *c == b'\n').collect();
        if lines.len() > 1 {
            for start in [1, lines.len() / 3, lines.len() / 2, lines.len() - 40] {
                let mut s = lines[0].to_vec();
                for l in lines.iter().skip(start.max(1)).take(40) {
                    s.extend_from_slice(l);
                }
                samples.push(s);
            }
        }
    }
    samples
}

#[test]
fn fuzz_police_uk_import() {
    let names = [
        "2016-07-kent-street.csv",
        "2016-07-kent-outcomes.csv",
        "2016-07-kent-stop-and-search.csv",
    ];
    let strategy = (0..names.len(), inputs(police_samples())).prop_map(|(i, mut bytes)| {
        bytes.insert(0, i as u8);
        bytes
    });
    fuzz("police_uk_import", strategy, |input| {
        let (name, bytes) = match input.split_first() {
            Some((i, rest)) => (names[usize::from(*i) % names.len()], rest),
            None => (names[0], input),
        };
        let dir = Scratch::new("police");
        let file = dir.0.join(name);
        std::fs::write(&file, bytes).map_err(|e| e.to_string())?;
        let opts = pathways_insight::import::ImportOptions {
            threads: 1,
            ..Default::default()
        };
        // Refusing is fine; the report must add up when it is accepted.
        if let Ok(report) = pathways_insight::import::import_paths(
            &[file],
            &dir.0.join("store"),
            &opts,
            &mut |_| {},
        ) && report.problems.len() > opts.max_reported_problems
        {
            return Err(format!("{} problems described", report.problems.len()));
        }
        Ok(())
    });
}

// -------------------------------------------------------------------- ORUK feed importer

fn oruk_samples() -> Vec<Vec<u8>> {
    use pathways_directory::generate::{GenerateOptions, generate};
    let terms = pathways_directory::TermSet::needs();
    let services = generate(
        &terms,
        &GenerateOptions {
            seed: 7,
            services: 3,
            today: time::Date::from_calendar_date(2026, time::Month::November, 1).expect("date"),
        },
    );
    let mut samples = Vec::new();
    for format in [
        pathways_directory::ExportFormat::Page,
        pathways_directory::ExportFormat::Array,
        pathways_directory::ExportFormat::Ndjson,
    ] {
        let mut out = Vec::new();
        pathways_directory::write_feed(&services, format, &mut out).expect("feed");
        samples.push(out);
    }
    if let Some(data) = shared_data() {
        for f in ["service_full.json", "service_list.json"] {
            if let Ok(b) = std::fs::read(data.join("oruk/examples").join(f)) {
                samples.push(b);
            }
        }
    }
    samples
}

#[test]
fn fuzz_oruk_import() {
    let terms = pathways_directory::TermSet::needs();
    fuzz("oruk_import", inputs(oruk_samples()), |input| {
        if let Ok(feed) = pathways_directory::parse_feed(
            input,
            &terms,
            pathways_directory::ImportOptions::default(),
        ) {
            // What is accepted exports again.
            let mut out = Vec::new();
            pathways_directory::write_feed(
                &feed.services,
                pathways_directory::ExportFormat::Ndjson,
                &mut out,
            )
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    });
}

// -------------------------------------------------------------------- people-match CSV

const PEOPLE_SAMPLE: &[u8] = b"id,first,last,dob,postcode,address\n\
1,Robert,Okafor,2009-03-04,W10 5AB,\"12 Mill Road, Kenbridge\"\n\
2,Amina,Hassan,12/11/2010,W11 1AA,3 Vale Court\n\
3,Rob,Okafor,04/03/2009,W10 5AB,12 Mill Rd\n\
4,Zo\xeb,Ali,19751402,,\n\
5,Kasia,Nowak,not known,SW5 9ZZ,\"Flat 2, \"\"The Lodge\"\"\"\n";

#[test]
fn fuzz_people_match_csv() {
    let map = pathways_matching::FieldMap::parse(
        "id=id,first=first_name,last=surname,dob=dob,postcode=postcode,address=address_line",
    )
    .expect("map");
    fuzz(
        "people_match_csv",
        inputs(vec![PEOPLE_SAMPLE.to_vec()]),
        |input| {
            let dir = Scratch::new("people");
            let file = dir.0.join("people.csv");
            std::fs::write(&file, input).map_err(|e| e.to_string())?;
            let mut clusters = Vec::new();
            let _ = pathways_matching::dedupe_csv(
                &file,
                &map,
                &pathways_matching::MatchOptions::default(),
                &mut clusters,
                None,
            );
            let mut pairs = Vec::new();
            let _ = pathways_matching::match_csv(&file, &file, &map, 0.5, &mut pairs);
            Ok(())
        },
    );
}

// -------------------------------------------------------------------- the JSON APIs

/// Edits of a JSON document at the level of its values: a value replaced by another of any
/// type, removed, or a key added; then, sometimes, byte edits of the text.
#[derive(Debug, Clone)]
enum JsonEdit {
    Replace(u32, serde_json::Value),
    Remove(u32),
    AddKey(u32, String, serde_json::Value),
}

fn json_leaf() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(|s| json!(s)),
        (1usize..60_000).prop_map(|n| json!("x".repeat(n))),
        Just(json!([])),
        Just(json!({})),
        Just(json!("2026-02-30")),
        Just(json!("yes")),
    ]
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        (any::<u32>(), json_leaf()).prop_map(|(p, v)| JsonEdit::Replace(p, v)),
        any::<u32>().prop_map(JsonEdit::Remove),
        (any::<u32>(), "[a-z_]{1,12}", json_leaf()).prop_map(|(p, k, v)| JsonEdit::AddKey(p, k, v)),
    ]
}

fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        serde_json::Value::Object(m) => {
            for (k, c) in m {
                pointers(
                    c,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        serde_json::Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn apply_json(seed: &serde_json::Value, edits: &[JsonEdit]) -> serde_json::Value {
    let mut doc = seed.clone();
    for e in edits {
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let pick = |p: &u32| all[(*p as usize) % all.len()].clone();
        match e {
            JsonEdit::Replace(p, v) => {
                if let Some(slot) = doc.pointer_mut(&pick(p)) {
                    *slot = v.clone();
                }
            }
            JsonEdit::Remove(p) => {
                let path = pick(p);
                if let Some((parent, last)) = path.rsplit_once('/') {
                    match doc.pointer_mut(parent) {
                        Some(serde_json::Value::Object(m)) => {
                            m.remove(&last.replace("~1", "/").replace("~0", "~"));
                        }
                        Some(serde_json::Value::Array(a)) => {
                            if let Ok(i) = last.parse::<usize>()
                                && i < a.len()
                            {
                                a.remove(i);
                            }
                        }
                        _ => {}
                    }
                }
            }
            JsonEdit::AddKey(p, k, v) => {
                if let Some(serde_json::Value::Object(m)) = doc.pointer_mut(&pick(p)) {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
    }
    doc
}

/// JSON bodies: structured edits of the seeds, sometimes followed by byte edits of the
/// text, or arbitrary bytes.
fn json_inputs(seeds: Vec<serde_json::Value>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        6 => (0..n, proptest::collection::vec(json_edit(), 0..6))
            .prop_map(move |(i, edits)| serde_json::to_vec(&apply_json(&seeds[i], &edits)).expect("json")),
    ]
    .prop_flat_map(|bytes| {
        (Just(bytes), proptest::collection::vec(edit(), 0..2), any::<bool>())
            .prop_map(|(b, edits, raw)| if raw { apply(&b, &edits) } else { b })
    })
}

/// Posts each input to `path` on a running application with a token of `scope`, and fails
/// on any 5xx or any answer that is not JSON.
fn fuzz_api(name: &str, path: &'static str, scope: &'static str, seeds: Vec<serde_json::Value>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (app, token) = rt.block_on(async {
        let app = App::start().await;
        let user = app
            .user(
                "feed@example.org",
                "Feed Owner",
                &[pathways_domain::Role::Practitioner],
            )
            .await;
        let token = pathways_app::crypto::random_token();
        pathways_store::testing::create_api_token(
            app.store(),
            "Fuzzing",
            &pathways_app::crypto::digest(&token),
            &user.agency_id,
            &[scope.into()],
            &user.id,
        )
        .await
        .expect("token");
        (app, token)
    });
    let client = reqwest::Client::new();
    let url = app.url(path);
    let answers = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u64>::new());
    fuzz(name, json_inputs(seeds), |body| {
        rt.block_on(async {
            let res = client
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.to_vec())
                .send()
                .await
                .map_err(|e| format!("no answer: {e}"))?;
            let status = res.status();
            *answers
                .lock()
                .expect("counts")
                .entry(status.as_u16())
                .or_default() += 1;
            let text = res.bytes().await.map_err(|e| e.to_string())?;
            if status.is_server_error() {
                return Err(format!(
                    "answered {status}: {}",
                    String::from_utf8_lossy(&text)
                ));
            }
            serde_json::from_slice::<serde_json::Value>(&text)
                .map_err(|e| format!("answered {status} with a body that is not JSON: {e}"))?;
            Ok(())
        })
    });
    println!(
        "fuzz {name}: answers by status {:?}",
        answers.lock().expect("counts")
    );
    drop(app);
}

#[test]
fn fuzz_referral_api() {
    let seeds = vec![
        serde_json::json!({
            "person": {"first_name": "Jay", "surname": "Mensah", "approx_age": 15, "aliases": ["JJ"],
                       "dob": "2010-04-01", "postcode": "W10 5AB", "address": "12 Mill Road"},
            "concerns": ["carrying_weapons"], "reason": "Found with a knife at the station.", "urgency": "urgent",
            "consent": {"status": "refused", "reason": "Prevention of serious crime."},
            "safe_contact": [{"channel": "text", "safe": false}, {"channel": "email", "safe": true, "detail": "a@b.example"}],
            "referrer": {"name": "PC Daniel Reid", "email": "pc.reid@police.example", "phone": "020 7946 0000"}
        }),
        serde_json::json!({"person": {"first_name": "A", "surname": "B"}, "concerns": [], "consent": {"status": "given"}}),
    ];
    fuzz_api("referral_api", "/api/v1/referrals", "make_referral", seeds);
}

#[test]
fn fuzz_score_api() {
    let answers: serde_json::Map<String, serde_json::Value> = (1..=24)
        .map(|i| {
            (
                format!("q{i}"),
                serde_json::json!(if i % 3 == 0 { "yes" } else { "no" }),
            )
        })
        .collect();
    let seeds = vec![
        serde_json::json!({"answers": answers, "assessment_date": "2026-11-29",
                           "incidents": ["2026-01-10", "2026-05-02", "2026-10-01"]}),
        serde_json::json!({"answers": answers, "assessment_date": "2026-11-29",
                           "professional_judgement": {"level": "high", "reason": "Escalating."},
                           "last_marac_referral": "2026-01-01", "new_incident": "2026-11-20"}),
    ];
    fuzz_api(
        "score_api",
        "/api/v1/instruments/dash/score",
        "work_cases",
        seeds,
    );
}
