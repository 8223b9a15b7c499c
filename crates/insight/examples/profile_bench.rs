//! Times the standard profile queries on an imported store, in process (store and geography
//! opened once, as a server does). Prints one JSON line per query with the median of N runs.

use pathways_insight::analysis;
use pathways_insight::geo::Geo;
use pathways_insight::harm::HarmTable;
use pathways_insight::model::{Month, Series};
use pathways_insight::profile::{ProfileOptions, build_with};
use pathways_insight::stats::area_filter;
use pathways_insight::store::Store;
use std::path::PathBuf;
use std::time::Instant;

fn median_ms(runs: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        size = f();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], size)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: profile_bench STORE AREA FROM TO [RUNS]");
        std::process::exit(2);
    }
    let store_dir = PathBuf::from(&args[1]);
    let (area, from, to) = (
        args[2].as_str(),
        Month::parse(&args[3])?,
        Month::parse(&args[4])?,
    );
    let runs: usize = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(21);
    let t = Instant::now();
    let store = Store::open(&store_dir)?;
    let geo = Geo::require(&store_dir)?;
    let harm = HarmTable::load(None, Some(&store_dir))?;
    println!(
        "{{\"query\":\"open store + geography (once)\",\"ms\":{:.2}}}",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let (filter, a) = area_filter(&store, Some(&geo), Some(area), Some(from), Some(to))?;
    let a = a.ok_or("no area")?;
    let months = (to.0 - from.0) as u32 + 1;
    let d = store.dicts();
    let frame = store.load(Series::Street, &filter)?;
    let stops = store.load(Series::StopSearch, &filter)?;
    let shapes: Vec<&[pathways_insight::geo::Ring]> = a
        .lsoas
        .iter()
        .filter_map(|c| geo.lsoa(c))
        .map(|l| l.rings.as_slice())
        .collect();
    let report = |name: &str, (ms, n): (f64, usize)| {
        println!("{{\"query\":\"{name}\",\"ms\":{ms:.3},\"result_size\":{n}}}");
    };
    report(
        "load borough rows (street, 3 years)",
        median_ms(runs, || {
            store
                .load(Series::Street, &filter)
                .map(|f| f.len())
                .unwrap_or(0)
        }),
    );
    report(
        "monthly crimes and harm",
        median_ms(runs, || {
            analysis::monthly_series(&frame, d, &harm, Some(from), Some(to)).len()
        }),
    );
    report(
        "monthly counts by type",
        median_ms(runs, || analysis::monthly_by_type(&frame, d).len()),
    );
    report(
        "totals by type",
        median_ms(runs, || analysis::by_type(&frame, d, &harm).len()),
    );
    report(
        "LSOA rates per 1,000",
        median_ms(runs, || {
            analysis::lsoa_rates(&frame, d, &harm, Some(&geo), Some(&a.lsoas), months).len()
        }),
    );
    report(
        "change flags",
        median_ms(runs, || {
            analysis::change_flags(&frame, d, to, analysis::ChangeWindows::default()).len()
        }),
    );
    report(
        "hotspots Gi* + FDR (250 m)",
        median_ms(runs, || {
            analysis::hotspots(&frame, d, 250, 0.05, &shapes)
                .cells
                .len()
        }),
    );
    report(
        "last-outcome shares",
        median_ms(runs, || analysis::outcome_shares(&frame, d).len()),
    );
    report(
        "stop and search summary",
        median_ms(runs, || {
            analysis::stop_search_summary(&stops, d).total as usize
        }),
    );
    let opts = ProfileOptions::new(area, Some(from), Some(to));
    report(
        "whole profile (all of the above, from disk)",
        median_ms(runs, || {
            build_with(&store, &geo, &harm, &opts)
                .map(|p| p.headline.crimes as usize)
                .unwrap_or(0)
        }),
    );
    let p = build_with(&store, &geo, &harm, &opts)?;
    report(
        "render 5 SVGs",
        median_ms(runs, || {
            p.trend_svg().len()
                + p.harm_svg().len()
                + p.types_svg().len()
                + p.choropleth_svg().len()
                + p.hotspots_svg().len()
        }),
    );
    println!(
        "{{\"summary\":\"{} ({}) {}..{}: {} crimes, {} ASB, {} stop and searches, {} hot cells\"}}",
        p.area_name,
        p.area_code,
        p.from,
        p.to,
        p.headline.crimes,
        p.headline.asb,
        p.headline.stop_searches,
        p.headline.hot_cells
    );
    Ok(())
}
