//! The quarterly MARAC data return, computed from the cases a panel discussed in a quarter:
//! cases discussed, repeats and the repeat rate, referrals by referring agency and the share
//! from the police, children in the households, and the shares of victims who are from
//! Black and minority ethnic groups, LGBT+, disabled, male, and aged 16–17. "Not known" is
//! counted apart from "no". Published versions suppress small counts.

use serde::Serialize;

use super::Answer;

/// One case discussed in the quarter, as the return counts it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReturnCase {
    /// The referring agency's name.
    pub referring_agency: String,
    /// True when the referring agency is the police.
    pub police: bool,
    /// A repeat referral.
    pub repeat: bool,
    /// Children in the household.
    pub children: i64,
    /// From a Black or minority ethnic group.
    pub bme: Answer,
    /// LGBT+.
    pub lgbt: Answer,
    /// Disabled.
    pub disabled: Answer,
    /// Male.
    pub male: Answer,
    /// Aged 16 or 17 when referred (not known without a date of birth).
    pub aged_16_17: Answer,
}

/// How many victims answered yes, no and not known for one characteristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Share {
    /// Yes.
    pub yes: i64,
    /// No.
    pub no: i64,
    /// Not known (including "prefers not to say").
    pub not_known: i64,
}

impl Share {
    fn add(&mut self, a: Answer) {
        match a {
            Answer::Yes => self.yes += 1,
            Answer::No => self.no += 1,
            Answer::NotKnown | Answer::PreferNotToSay => self.not_known += 1,
        }
    }
}

/// The return for one panel and quarter.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DataReturn {
    /// Cases discussed.
    pub cases_discussed: i64,
    /// Of which repeats.
    pub repeat_cases: i64,
    /// Referrals by referring agency, most first.
    pub by_agency: Vec<(String, i64)>,
    /// Referrals from the police.
    pub police_referrals: i64,
    /// Children in the households.
    pub children: i64,
    /// Black and minority ethnic groups.
    pub bme: Share,
    /// LGBT+.
    pub lgbt: Share,
    /// Disabled.
    pub disabled: Share,
    /// Male.
    pub male: Share,
    /// Aged 16–17.
    pub aged_16_17: Share,
}

/// Computes the return from the cases discussed.
pub fn compute(cases: &[ReturnCase]) -> DataReturn {
    let mut r = DataReturn {
        cases_discussed: cases.len() as i64,
        ..DataReturn::default()
    };
    let mut agencies: std::collections::BTreeMap<&str, i64> = Default::default();
    for c in cases {
        r.repeat_cases += i64::from(c.repeat);
        r.police_referrals += i64::from(c.police);
        r.children += c.children.max(0);
        *agencies.entry(c.referring_agency.as_str()).or_default() += 1;
        r.bme.add(c.bme);
        r.lgbt.add(c.lgbt);
        r.disabled.add(c.disabled);
        r.male.add(c.male);
        r.aged_16_17.add(c.aged_16_17);
    }
    r.by_agency = agencies
        .into_iter()
        .map(|(a, n)| (a.to_string(), n))
        .collect();
    r.by_agency
        .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    r
}

/// One line of the return as shown or exported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    /// Stable key (`cases_discussed`, `referrals_from:Police`).
    pub key: String,
    /// How people read it.
    pub label: String,
    /// The value; `None` when suppressed.
    pub value: Option<f64>,
    /// True when the count is below the threshold (or derived from one) and withheld.
    pub suppressed: bool,
    /// The value as shown: a count, a percentage with one decimal, or `<5`.
    pub shown: String,
}

/// True when a count must be withheld: more than none and fewer than `threshold`.
pub fn suppress(count: i64, threshold: i64) -> bool {
    count > 0 && count < threshold
}

impl DataReturn {
    /// The return as lines. With `threshold`, counts between 1 and `threshold - 1` are
    /// withheld (shown as `<threshold`), and so are percentages computed from them; without
    /// it every figure is shown (the coordinator's own view).
    pub fn measures(&self, threshold: Option<i64>) -> Vec<Measure> {
        let hidden = |n: i64| threshold.is_some_and(|t| suppress(n, t));
        let below = threshold.map(|t| format!("<{t}")).unwrap_or_default();
        let count = |key: &str, label: &str, n: i64| {
            let s = hidden(n);
            Measure {
                key: key.into(),
                label: label.into(),
                value: (!s).then_some(n as f64),
                suppressed: s,
                shown: if s { below.clone() } else { n.to_string() },
            }
        };
        let share = |key: &str, label: &str, n: i64, of: i64| {
            let s = hidden(n) || hidden(of);
            let pct = (of > 0).then(|| (n as f64 * 1000.0 / of as f64).round() / 10.0);
            Measure {
                key: key.into(),
                label: label.into(),
                value: if s { None } else { pct },
                suppressed: s,
                shown: match (s, pct) {
                    (true, _) => "suppressed".into(),
                    (false, Some(p)) => format!("{p:.1}%"),
                    (false, None) => "no cases".into(),
                },
            }
        };
        let n = self.cases_discussed;
        let mut out = vec![
            count("cases_discussed", "Cases discussed", n),
            count("repeat_cases", "Repeat cases", self.repeat_cases),
            share("repeat_rate", "Repeat rate", self.repeat_cases, n),
            count(
                "police_referrals",
                "Referrals from the police",
                self.police_referrals,
            ),
            share(
                "police_share",
                "Share of referrals from the police",
                self.police_referrals,
                n,
            ),
            count("children", "Children in the households", self.children),
        ];
        for (key, label, s) in [
            ("bme", "Black and minority ethnic groups", self.bme),
            ("lgbt", "LGBT+", self.lgbt),
            ("disabled", "Disabled", self.disabled),
            ("male", "Male", self.male),
            ("aged_16_17", "Aged 16–17", self.aged_16_17),
        ] {
            out.push(count(
                &format!("{key}_yes"),
                &format!("Victims: {label}"),
                s.yes,
            ));
            out.push(share(
                &format!("{key}_share"),
                &format!("Share of victims: {label}"),
                s.yes,
                n,
            ));
            out.push(count(
                &format!("{key}_not_known"),
                &format!("Victims: {label}, not known"),
                s.not_known,
            ));
        }
        for (agency, k) in &self.by_agency {
            out.push(count(
                &format!("referrals_from:{agency}"),
                &format!("Referrals from {agency}"),
                *k,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(agency: &str, police: bool, repeat: bool, children: i64, male: Answer) -> ReturnCase {
        ReturnCase {
            referring_agency: agency.into(),
            police,
            repeat,
            children,
            male,
            ..ReturnCase::default()
        }
    }

    #[test]
    fn counts_shares_and_keeps_not_known_apart_from_no() {
        let mut cases = vec![
            case("Police", true, true, 2, Answer::No),
            case("Police", true, false, 0, Answer::Yes),
            case("IDVA service", false, false, 3, Answer::NotKnown),
            case("Police", true, false, 1, Answer::No),
        ];
        cases[0].bme = Answer::Yes;
        cases[1].aged_16_17 = Answer::No;
        let r = compute(&cases);
        assert_eq!(r.cases_discussed, 4);
        assert_eq!(r.repeat_cases, 1);
        assert_eq!(r.police_referrals, 3);
        assert_eq!(r.children, 6);
        assert_eq!(
            r.male,
            Share {
                yes: 1,
                no: 2,
                not_known: 1
            }
        );
        assert_eq!(
            r.aged_16_17,
            Share {
                yes: 0,
                no: 1,
                not_known: 3
            }
        );
        assert_eq!(
            r.by_agency,
            vec![("Police".to_string(), 3), ("IDVA service".to_string(), 1)]
        );
        let m = r.measures(None);
        let get = |k: &str| m.iter().find(|x| x.key == k).expect(k).shown.clone();
        assert_eq!(get("repeat_rate"), "25.0%");
        assert_eq!(get("police_share"), "75.0%");
        assert_eq!(get("bme_share"), "25.0%");
    }

    #[test]
    fn exported_counts_under_the_threshold_are_withheld() {
        let cases: Vec<ReturnCase> = (0..12)
            .map(|i| case("Police", true, i < 3, 1, Answer::NotKnown))
            .collect();
        let m = compute(&cases).measures(Some(5));
        let get = |k: &str| m.iter().find(|x| x.key == k).expect(k).clone();
        assert_eq!(get("cases_discussed").shown, "12");
        assert_eq!(get("repeat_cases").shown, "<5");
        assert_eq!(get("repeat_cases").value, None);
        assert!(get("repeat_rate").suppressed);
        // Zero is not a small number worth hiding.
        assert_eq!(get("bme_yes").shown, "0");
        assert_eq!(get("bme_share").shown, "0.0%");
        let open = compute(&cases).measures(None);
        assert_eq!(
            open.iter()
                .find(|x| x.key == "repeat_cases")
                .expect("row")
                .shown,
            "3"
        );
    }
}
