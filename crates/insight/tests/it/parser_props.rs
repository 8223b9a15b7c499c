//! Property tests of the row parser: any street row written by a CSV writer (with quoting
//! wherever needed) is stored with the same month, type, outcome and LSOA.

use crate::common::*;
use pathways_insight::model::Series;
use pathways_insight::store::{Filter, Store};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    // Commas, quotes and spaces force quoting; no control characters or leading spaces.
    "[A-Za-z][A-Za-z0-9 ,\"'/&-]{0,30}[A-Za-z0-9]".prop_map(|s| s)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn written_rows_are_read_back(
        month in 0u16..240,
        cat in text(),
        outcome in proptest::option::of(text()),
        lsoa in "E01[0-9]{6}",
        lon in -5.0f64..1.5,
        lat in 50.0f64..55.0,
        with_id in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let dir = TempDir::new("prop");
        let m = pathways_insight::model::Month(month).to_string();
        let mut w = csv::WriterBuilder::new()
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        w.write_record(STREET_HEADER.split(',')).expect("header");
        let id = if with_id { format!("{:064x}", month as u64 * 7919 + 1) } else { String::new() };
        let (lon_s, lat_s) = (format!("{lon:.6}"), format!("{lat:.6}"));
        w.write_record([
            id.as_str(), &m, "Kent Police", "Kent Police", &lon_s, &lat_s, "On or near \"X\", Y",
            &lsoa, "Somewhere 001A", &cat, outcome.as_deref().unwrap_or(""), "",
        ]).expect("row");
        let bytes = w.into_inner().expect("bytes");
        let f = dir.path().join(format!("{m}-kent-street.csv"));
        std::fs::write(&f, bytes).expect("write");
        let store = dir.path().join("store");
        let r = import(&[f], &store).expect("import");
        prop_assert_eq!(r.malformed, 0);
        prop_assert_eq!(r.street.added, 1);
        let s = Store::open(&store).expect("open");
        let fr = s.load(Series::Street, &Filter::default()).expect("load");
        let d = s.dicts();
        prop_assert_eq!(fr.u16(0)[0], month);
        prop_assert_eq!(d.categories.value(fr.u16(1)[0] as u32), cat.as_str());
        match &outcome {
            Some(o) => prop_assert_eq!(d.outcomes.value(fr.u16(2)[0] as u32), o.as_str()),
            None => prop_assert_eq!(fr.u16(2)[0], u16::MAX),
        }
        prop_assert_eq!(d.lsoas.value(fr.u32(5)[0]), lsoa.as_str());
        let (e, n) = pathways_insight::bng::wgs84_to_bng(lon, lat);
        prop_assert!((fr.i32(6)[0] as f64 - e).abs() <= 1.0 && (fr.i32(7)[0] as f64 - n).abs() <= 1.0);
    }

    #[test]
    fn decimal_degrees_parse_like_floats(v in -179.999999f64..179.999999) {
        let s = format!("{v:.6}");
        let want = (s.parse::<f64>().expect("float") * 1e6).round() as i32;
        prop_assert_eq!(pathways_insight::import::parse_micro(s.as_bytes()), Some(want));
    }
}
