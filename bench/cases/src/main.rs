//! Caseload page benchmark: generates N cases (default 200,000) on SQLite, then renders every
//! caseload view through the real router with a signed-in practitioner and prints latency
//! percentiles, next to the bare store queries the page runs (the floor), as a ratio.
//!
//! Usage: pathways-cases-bench DB_PATH [CASES] [REQUESTS_PER_VIEW]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::cases::{CaseSort, CaseloadQuery, CaseloadView};
use pathways_store::{NewUser, Store, now_unix};
use pathways_web::{AppState, WebSettings, crypto};
use tower::ServiceExt;

const AGENCIES: usize = 40;
const WORKERS_PER_AGENCY: usize = 25;
const BATCH: usize = 400;

/// SplitMix64: deterministic data from a fixed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const FIRST: &[&str] = &[
    "Aaliyah",
    "Ben",
    "Chantelle",
    "Darnell",
    "Ellie",
    "Femi",
    "Grace",
    "Hassan",
    "Imani",
    "Jamal",
];
const SURNAMES: &[&str] = &[
    "Adebayo", "Brooks", "Campbell", "Daley", "Evans", "Francis", "Gordon", "Hughes", "Iqbal",
    "Khan",
];

async fn generate(store: &Store, cases: usize) -> Vec<(String, String)> {
    let mut workers = Vec::new();
    for a in 0..AGENCIES {
        let agency = store
            .create_agency(&format!("Agency {a:02}"), AgencyKind::CouncilTeam)
            .await
            .expect("agency");
        for w in 0..WORKERS_PER_AGENCY {
            let u = store
                .create_user(&NewUser {
                    agency_id: agency.id.clone(),
                    email: format!("w{a}-{w}@bench.example"),
                    display_name: format!("Worker {a}-{w}"),
                    roles: RoleSet::new(vec![Role::Practitioner]),
                    password_hash: None,
                })
                .await
                .expect("user");
            workers.push((u.id, agency.id.clone()));
        }
    }
    let mut rng = Rng(2026);
    let now = now_unix();
    let pool = store.pool();
    let mut done = 0;
    while done < cases {
        let n = BATCH.min(cases - done);
        let mut tx = pool.begin().await.expect("tx");
        let mut people_sql = String::from(
            "INSERT INTO people (id, first_name, surname, created_at, created_by, updated_at) VALUES ",
        );
        let mut case_sql = String::from(
            "INSERT INTO cases (id, reference, person_id, lead_worker_id, lead_agency_id, status, opened_at, opened_by, \
             updated_at, restricted, restriction_contact, risk_level, risk_instrument, risk_score, risk_at, marac_eligible, \
             next_task_due_at, next_review_at) VALUES ",
        );
        let mut team_sql = String::from(
            "INSERT INTO case_team (case_id, member_kind, member_id, role, added_at, added_by) VALUES ",
        );
        let mut access: Vec<(String, String)> = Vec::new();
        let mut rows = Vec::new();
        for i in 0..n {
            let k = done + i;
            let person = format!("00000000-0000-4000-8000-{:012x}", k);
            let case = format!("00000000-0000-4000-9000-{:012x}", k);
            let (lead, agency) = workers[rng.below(workers.len() as u64) as usize].clone();
            let status = match rng.below(10) {
                0 => "on_hold",
                1 => "closed",
                _ => "open",
            };
            let risk = match rng.below(20) {
                0..=2 => "high",
                3..=7 => "medium",
                8..=15 => "standard",
                _ => "",
            };
            let restricted = rng.below(100) == 0;
            let task =
                (rng.below(10) < 7).then(|| now + (rng.below(60 * 86_400) as i64) - 30 * 86_400);
            let review =
                (rng.below(10) < 8).then(|| now + (rng.below(90 * 86_400) as i64) - 10 * 86_400);
            let opened = now - rng.below(3 * 365 * 86_400) as i64;
            if restricted {
                access.push((case.clone(), lead.clone()));
            }
            rows.push((
                person,
                case,
                lead,
                agency,
                status,
                risk,
                restricted,
                task,
                review,
                opened,
                FIRST[rng.below(FIRST.len() as u64) as usize],
                SURNAMES[rng.below(SURNAMES.len() as u64) as usize],
            ));
        }
        let mut p = 0;
        let mut mark = || {
            p += 1;
            format!("${p}")
        };
        let mut people_vals = Vec::new();
        for _ in &rows {
            people_vals.push(format!(
                "({}, {}, {}, {}, 'bench', {})",
                mark(),
                mark(),
                mark(),
                mark(),
                mark()
            ));
        }
        people_sql.push_str(&people_vals.join(", "));
        let mut q = sqlx::query(&people_sql);
        for r in &rows {
            q = q
                .bind(r.0.clone())
                .bind(r.10)
                .bind(r.11)
                .bind(r.9)
                .bind(r.9);
        }
        q.execute(&mut *tx).await.expect("people");

        let mut p = 0;
        let mut mark = || {
            p += 1;
            format!("${p}")
        };
        let mut case_vals = Vec::new();
        for _ in &rows {
            // 18 columns, 17 binds: `reference` is derived in SQL from the id.
            let id = mark();
            let rest: Vec<String> = (0..16).map(|_| mark()).collect();
            case_vals.push(format!(
                "({id}, 'C-' || upper(substr({id}, 25, 12)), {})",
                rest.join(", ")
            ));
        }
        case_sql.push_str(&case_vals.join(", "));
        let mut q = sqlx::query(&case_sql);
        for r in &rows {
            q = q
                .bind(r.1.clone())
                .bind(r.0.clone())
                .bind(r.2.clone())
                .bind(r.3.clone())
                .bind(r.4)
                .bind(r.9)
                .bind(r.2.clone())
                .bind(r.9)
                .bind(i64::from(r.6))
                .bind(if r.6 { "Team manager" } else { "" })
                .bind(r.5)
                .bind(if r.5.is_empty() { "" } else { "dash" })
                .bind(if r.5.is_empty() { None } else { Some(12_i64) })
                .bind(if r.5.is_empty() { None } else { Some(r.9) })
                .bind(i64::from(r.5 == "high"))
                .bind(r.7)
                .bind(r.8);
        }
        q.execute(&mut *tx).await.expect("cases");

        let mut p = 0;
        let mut mark = || {
            p += 1;
            format!("${p}")
        };
        let mut team_vals = Vec::new();
        for _ in &rows {
            team_vals.push(format!(
                "({}, 'user', {}, 'lead', {}, 'bench')",
                mark(),
                mark(),
                mark()
            ));
            team_vals.push(format!(
                "({}, 'agency', {}, 'agency', {}, 'bench')",
                mark(),
                mark(),
                mark()
            ));
        }
        team_sql.push_str(&team_vals.join(", "));
        let mut q = sqlx::query(&team_sql);
        for r in &rows {
            q = q
                .bind(r.1.clone())
                .bind(r.2.clone())
                .bind(now)
                .bind(r.1.clone())
                .bind(r.3.clone())
                .bind(now);
        }
        q.execute(&mut *tx).await.expect("team");
        for (case, user) in access {
            sqlx::query("INSERT INTO case_access (case_id, user_id, added_at, added_by) VALUES ($1, $2, $3, 'bench')")
                .bind(case)
                .bind(user)
                .bind(now)
                .execute(&mut *tx)
                .await
                .expect("access");
        }
        tx.commit().await.expect("commit");
        done += n;
        if done % 20_000 == 0 {
            eprintln!("  generated {done} cases");
        }
    }
    sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
    workers
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn summary(mut times: Vec<Duration>) -> (f64, f64, f64) {
    times.sort();
    (
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "bench-cases.db".into());
    let cases: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let requests: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(300);
    let fresh = !std::path::Path::new(&path).exists();
    let store = Store::connect(&path).await.expect("database opens");
    if fresh {
        eprintln!("generating {cases} cases into {path} ...");
        let t = Instant::now();
        generate(&store, cases).await;
        eprintln!("generated in {:.1} s", t.elapsed().as_secs_f64());
    }
    let total: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM cases")
        .fetch_one(store.pool())
        .await
        .expect("count");
    // The practitioner whose caseload is shown: the first worker of the first agency.
    let user = store
        .user_by_email("w0-0@bench.example")
        .await
        .expect("q")
        .expect("bench user");
    let raw = crypto::random_token();
    store
        .create_session(&crypto::digest(&raw), &user.id, "full", "bench")
        .await
        .expect("session");
    let app = pathways_web::router(AppState::new(store.clone(), WebSettings::default()));
    let cookie = format!("pw_session={raw}");
    println!(
        "Caseload pages over {total} cases on SQLite ({requests} requests per view, one at a time)"
    );
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>10} {:>8} {:>7}",
        "view", "p50 ms", "p95 ms", "p99 ms", "SQL p95 ms", "ratio", "rows"
    );
    let views: [(&str, CaseloadView, CaseSort); 7] = [
        ("/cases?view=mine", CaseloadView::Mine, CaseSort::Opened),
        ("/cases?view=team", CaseloadView::Team, CaseSort::Opened),
        (
            "/cases?view=overdue",
            CaseloadView::OverdueTasks,
            CaseSort::Opened,
        ),
        (
            "/cases?view=reviews",
            CaseloadView::ReviewsDue,
            CaseSort::Opened,
        ),
        ("/cases?view=high", CaseloadView::HighRisk, CaseSort::Opened),
        (
            "/cases?view=team&sort=risk",
            CaseloadView::Team,
            CaseSort::Risk,
        ),
        (
            "/cases?view=team&sort=name&risk=medium",
            CaseloadView::Team,
            CaseSort::Name,
        ),
    ];
    let mut worst_p95: f64 = 0.0;
    for (path, view, sort) in views {
        // Warm the page cache and statement caches first.
        for _ in 0..10 {
            let req = Request::get(path)
                .header("cookie", &cookie)
                .body(Body::empty())
                .expect("request");
            let res = app.clone().oneshot(req).await.expect("response");
            assert_eq!(res.status(), StatusCode::OK, "{path}");
        }
        let mut page_times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let req = Request::get(path)
                .header("cookie", &cookie)
                .body(Body::empty())
                .expect("request");
            let t = Instant::now();
            let res = app.clone().oneshot(req).await.expect("response");
            let body = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .expect("body");
            page_times.push(t.elapsed());
            assert!(body.len() > 1000);
        }
        let q = CaseloadQuery {
            view,
            user_id: user.id.clone(),
            agency_id: user.agency_id.clone(),
            borough_wide: false,
            break_glass: false,
            status: None,
            risk: path.contains("risk=medium").then(|| "medium".to_string()),
            text: None,
            sort,
            page: 1,
            per_page: 25,
            now: now_unix(),
            review_horizon: 14 * 86_400,
        };
        let mut sql_times = Vec::with_capacity(requests);
        let mut rows = 0;
        for _ in 0..requests {
            let t = Instant::now();
            // As the page does: the list and the tab counts side by side.
            let (page, _) = tokio::try_join!(store.caseload(&q), store.caseload_counts(&q))
                .expect("caseload and counts");
            sql_times.push(t.elapsed());
            rows = page.total;
        }
        let (p50, p95, p99) = summary(page_times);
        let (_, sql95, _) = summary(sql_times);
        worst_p95 = worst_p95.max(p95);
        println!(
            "{path:<34} {p50:>8.2} {p95:>8.2} {p99:>8.2} {sql95:>10.2} {:>7.2}x {rows:>7}",
            p95 / sql95
        );
    }
    println!("worst p95: {worst_p95:.2} ms (target: under 50 ms)");
}
