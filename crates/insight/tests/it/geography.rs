//! ONS geography import with the real lookup, population and London boundaries.

use crate::common::*;
use pathways_insight::geo::{Geo, import_geo};

#[test]
fn kensington_and_chelsea_by_code_and_name() {
    let Some(data) = shared_data() else {
        eprintln!("skipping: ../shared/data not present");
        return;
    };
    let g = data.join("geo");
    let store = TempDir::new("geo");
    let r = import_geo(
        store.path(),
        &g.join("lsoa-lookup-2011.csv"),
        Some(&g.join("lsoa-population-2011.csv")),
        Some(&g.join("london-lsoa-2011.geojson")),
    )
    .expect("geo import");
    assert_eq!(r.with_boundary, 4835);
    let geo = Geo::require(store.path()).expect("load");
    let by_code = geo.area("E09000020").expect("by code");
    assert_eq!(by_code.lsoas.len(), 103);
    let by_name = geo.area("kensington and chelsea").expect("by name");
    assert_eq!(by_name.code, "E09000020");
    // Independent check of the population parse ("1,563" style numbers).
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(g.join("lsoa-population-2011.csv"))
        .expect("pop");
    let rec = rdr.records().next().expect("row").expect("record");
    let code = rec[6].to_string();
    let persons: u32 = rec[9].replace(',', "").parse().expect("persons");
    assert_eq!(geo.lsoa(&code).and_then(|l| l.population), Some(persons));
    // A point in the middle of an LSOA polygon is located in it.
    let l = geo.lsoa(&by_code.lsoas[0]).expect("lsoa");
    let ring = &l.rings[0];
    let (cx, cy) = ring
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p[0], a.1 + p[1]));
    let (cx, cy) = (cx / ring.len() as f64, cy / ring.len() as f64);
    if pathways_insight::geo::point_in_rings(cx, cy, &l.rings) {
        assert_eq!(geo.locate(cx, cy).map(|x| x.0), Some(l.code.as_str()));
    }
    assert!(geo.area("Atlantis").is_err());
}
