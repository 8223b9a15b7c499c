//! Normalisation of raw person fields at the edge: case, punctuation, whitespace, diacritics,
//! UK postcodes, UK phone numbers and dates of birth in ISO or UK form.

use std::fmt;

use time::{Date, Month};

/// Folds diacritics to ASCII, lowercases, drops apostrophes and turns other punctuation into
/// single spaces, so "  O'Brien-Núñez " becomes "obrien nunez".
pub fn normalise_name(raw: &str) -> String {
    let folded = deunicode::deunicode(raw);
    let mut out = String::with_capacity(folded.len());
    let mut pending_space = false;
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c.to_ascii_lowercase());
        } else if c == '\'' || c == '`' {
            // Apostrophes join: O'Brien and OBrien are the same surname.
        } else {
            pending_space = true;
        }
    }
    out
}

/// Normalises free text such as an address line or school name: like [`normalise_name`],
/// then expands common street abbreviations so "12 High St." equals "12 high street".
pub fn normalise_text(raw: &str) -> String {
    let base = normalise_name(raw);
    let mut out = String::with_capacity(base.len() + 8);
    for (i, word) in base.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(expand_abbreviation(word));
    }
    out
}

fn expand_abbreviation(word: &str) -> &str {
    match word {
        "st" => "street",
        "rd" => "road",
        "ave" | "av" => "avenue",
        "ln" => "lane",
        "gdns" => "gardens",
        "sq" => "square",
        "cres" => "crescent",
        "ct" => "court",
        "pl" => "place",
        "ter" | "terr" => "terrace",
        "cl" => "close",
        "dr" => "drive",
        "grn" => "green",
        "hse" => "house",
        "est" => "estate",
        "sch" => "school",
        "acad" => "academy",
        "flt" => "flat",
        other => other,
    }
}

/// A syntactically valid UK postcode split into outward and inward codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Postcode {
    outward: String,
    inward: String,
}

impl Postcode {
    /// Parses any spacing and case ("sw1a1aa", " SW1A  1AA") into a postcode; `None` when the
    /// text is not shaped like a UK postcode.
    pub fn parse(raw: &str) -> Option<Postcode> {
        let cleaned: String = raw
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !(5..=7).contains(&cleaned.len()) {
            return None;
        }
        let (outward, inward) = cleaned.split_at(cleaned.len() - 3);
        let ib = inward.as_bytes();
        if !(ib[0].is_ascii_digit() && ib[1].is_ascii_alphabetic() && ib[2].is_ascii_alphabetic()) {
            return None;
        }
        if !valid_outward(outward.as_bytes()) {
            return None;
        }
        Some(Postcode {
            outward: outward.to_string(),
            inward: inward.to_string(),
        })
    }

    /// Outward code, also called the postcode district ("SW1A").
    pub fn district(&self) -> &str {
        &self.outward
    }

    /// Postcode sector: outward code plus the first digit of the inward code ("SW1A 1").
    pub fn sector(&self) -> String {
        format!("{} {}", self.outward, &self.inward[..1])
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.outward, self.inward)
    }
}

/// Outward codes are A9, A99, A9A, AA9, AA99 or AA9A.
fn valid_outward(o: &[u8]) -> bool {
    let a = |c: u8| c.is_ascii_alphabetic();
    let d = |c: u8| c.is_ascii_digit();
    match o.len() {
        2 => a(o[0]) && d(o[1]),
        3 => a(o[0]) && ((d(o[1]) && (d(o[2]) || a(o[2]))) || (a(o[1]) && d(o[2]))),
        4 => a(o[0]) && a(o[1]) && d(o[2]) && (d(o[3]) || a(o[3])),
        _ => false,
    }
}

/// Normalises a UK postcode to its canonical "OUT IN" form, or `None` when it is not one.
pub fn normalise_postcode(raw: &str) -> Option<String> {
    Postcode::parse(raw).map(|p| p.to_string())
}

/// Normalises a phone number: UK numbers in any common form ("07700 900123", "+44 (0)7700
/// 900123", "0044 7700 900123", "447700900123") become "+447700900123"; other international
/// numbers keep "+" and their digits. `None` when there are fewer than seven digits, before
/// or after an international prefix is taken off.
pub fn normalise_phone(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let international = trimmed.starts_with('+');
    let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
    // Too short to be a telephone number, before or after prefixes are taken off: checking
    // the result too keeps the canonical form a fixed point ("0000000" is not "+00000").
    let canonical = |digits: &str| (digits.len() >= 7).then(|| format!("+{digits}"));
    if digits.len() < 7 {
        return None;
    }
    let national = if international {
        match digits.strip_prefix("44") {
            Some(rest) => rest.to_string(),
            None => return canonical(&digits),
        }
    } else if let Some(rest) = digits.strip_prefix("0044") {
        rest.to_string()
    } else if let Some(rest) = digits.strip_prefix("00") {
        return canonical(rest);
    } else if digits.len() == 12 && digits.starts_with("44") {
        digits[2..].to_string()
    } else {
        digits
    };
    // "+44 (0)20 ..." and "020 ..." both carry a trunk zero that the canonical form drops.
    let national = national.trim_start_matches('0');
    canonical(&format!("44{national}"))
}

/// Lowercases and trims an e-mail address; `None` when it has no "@".
pub fn normalise_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_ascii_lowercase();
    if e.contains('@') { Some(e) } else { None }
}

/// Why a date of birth could not be read as a calendar date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The text is not in a recognised layout.
    #[error(
        "'{0}' is not a date: write it as YYYY-MM-DD, DD/MM/YYYY or YYYYMMDD (or give --dob-format)"
    )]
    Unrecognised(String),
    /// The layout is right but no such day exists (for example 31/02/2010).
    #[error("'{0}' is an impossible date: check the day and month")]
    Impossible(String),
}

/// A date of birth as written, read as far as it goes. Dates are often mistyped, and a
/// mistyped date still identifies someone: 19751402 is 14 February 1975 with day and month
/// the wrong way round. So nothing is thrown away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dob {
    /// A real calendar date.
    Date(Date),
    /// Year, month and day could be told apart, but they are no calendar date (month 14,
    /// 31 June, day 0).
    Parts {
        /// The year as written.
        year: i32,
        /// The month as written (may be above 12 or 0).
        month: u8,
        /// The day as written (may be above 31 or 0).
        day: u8,
    },
    /// Only digits in no recognised layout ("197514", "15.1975"); compared as text.
    Digits(String),
}

impl Dob {
    /// Reads a date of birth in the common layouts: `YYYY-MM-DD`, `YYYYMMDD`, `DD/MM/YYYY`,
    /// `DD-MM-YYYY`, `DD.MM.YYYY` (also with one-digit day and month). `None` when the text
    /// holds no digits at all.
    pub fn read(raw: &str) -> Option<Dob> {
        let s = raw.trim();
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        let parts: Vec<&str> = s
            .split(['-', '/', '.', ' '])
            .filter(|p| !p.is_empty())
            .collect();
        let numeric = parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
        let ymd = if numeric && parts.len() == 3 {
            if parts[0].len() == 4 && parts[1].len() <= 2 && parts[2].len() <= 2 {
                Some((parts[0], parts[1], parts[2]))
            } else if parts[2].len() == 4 && parts[0].len() <= 2 && parts[1].len() <= 2 {
                Some((parts[2], parts[1], parts[0]))
            } else {
                None
            }
        } else if numeric && parts.len() == 1 && digits.len() == 8 {
            // YYYYMMDD when it starts like a year of birth, otherwise DDMMYYYY.
            let year_first = matches!(&digits[..2], "18" | "19" | "20");
            if year_first {
                Some((&digits[..4], &digits[4..6], &digits[6..]))
            } else {
                Some((&digits[4..], &digits[2..4], &digits[..2]))
            }
        } else {
            None
        };
        let Some((y, m, d)) = ymd else {
            return Some(Dob::Digits(digits));
        };
        let (Ok(year), Ok(month), Ok(day)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>())
        else {
            return Some(Dob::Digits(digits));
        };
        Some(Dob::from_parts(year, month, day))
    }

    /// A date from its parts, or the parts themselves when they are no calendar date.
    pub fn from_parts(year: i32, month: u8, day: u8) -> Dob {
        Month::try_from(month)
            .ok()
            .and_then(|m| Date::from_calendar_date(year, m, day).ok())
            .map_or(Dob::Parts { year, month, day }, Dob::Date)
    }

    /// Year, month and day when they could be told apart.
    pub fn parts(&self) -> Option<(i32, u8, u8)> {
        match self {
            Dob::Date(d) => Some((d.year(), d.month() as u8, d.day())),
            Dob::Parts { year, month, day } => Some((*year, *month, *day)),
            Dob::Digits(_) => None,
        }
    }

    /// The year of birth when it is known: from the parts, or four digits at the start or
    /// end of a digit string that look like a year of birth.
    pub fn year(&self) -> Option<i32> {
        match self {
            Dob::Digits(d) => [d.get(..4), d.get(d.len().saturating_sub(4)..)]
                .into_iter()
                .flatten()
                .filter(|y| y.len() == 4 && matches!(&y[..2], "18" | "19" | "20"))
                .find_map(|y| y.parse().ok()),
            other => other.parts().map(|p| p.0),
        }
    }

    /// The calendar date, when it is one.
    pub fn date(&self) -> Option<Date> {
        match self {
            Dob::Date(d) => Some(*d),
            _ => None,
        }
    }

    /// The digits compared by edit distance: `YYYYMMDD` when the parts are known, otherwise
    /// the digits as written.
    pub fn digits(&self) -> String {
        match self {
            Dob::Digits(d) => d.clone(),
            other => other.parts().map_or_else(String::new, |(y, m, d)| {
                format!("{:04}{:02}{:02}", y.rem_euclid(10_000), m, d)
            }),
        }
    }
}

/// A date layout given with `--dob-format`: runs of `Y`, `M` and `D` for the year, month and
/// day, anything else a separator. `MM/DD/YYYY` reads US dates, `YYYY.DD.MM` another order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    /// (letter, width) of each part in order.
    parts: Vec<(char, usize)>,
    /// Whether separators stand between the parts (then widths may vary).
    separated: bool,
    text: String,
}

impl DateFormat {
    /// Parses a layout such as `MM/DD/YYYY` or `DDMMYYYY`.
    pub fn parse(text: &str) -> Result<DateFormat, String> {
        let mut parts: Vec<(char, usize)> = Vec::new();
        let mut separated = false;
        let mut prev_sep = true;
        for c in text.trim().chars() {
            let c_up = c.to_ascii_uppercase();
            if matches!(c_up, 'Y' | 'M' | 'D') {
                match parts.last_mut() {
                    Some((l, w)) if *l == c_up && !prev_sep => *w += 1,
                    _ => parts.push((c_up, 1)),
                }
                prev_sep = false;
            } else {
                if !parts.is_empty() {
                    separated = true;
                }
                prev_sep = true;
            }
        }
        let mut letters: Vec<char> = parts.iter().map(|p| p.0).collect();
        letters.sort_unstable();
        if letters != ['D', 'M', 'Y'] {
            return Err(format!(
                "--dob-format '{text}' must name the year, month and day once each, for example MM/DD/YYYY or YYYYDDMM"
            ));
        }
        Ok(DateFormat {
            parts,
            separated,
            text: text.trim().to_string(),
        })
    }

    /// Reads a value in this layout as ISO text `YYYY-MM-DD` (kept even when the parts make
    /// no calendar date, so it is still compared); `None` when the value does not fit.
    pub fn to_iso(&self, raw: &str) -> Option<String> {
        let s = raw.trim();
        let fields: Vec<&str> = if self.separated {
            s.split(|c: char| !c.is_ascii_digit())
                .filter(|p| !p.is_empty())
                .collect()
        } else {
            if !s.bytes().all(|b| b.is_ascii_digit())
                || s.len() != self.parts.iter().map(|p| p.1).sum::<usize>()
            {
                return None;
            }
            let mut at = 0;
            self.parts
                .iter()
                .map(|&(_, w)| {
                    let f = &s[at..at + w];
                    at += w;
                    f
                })
                .collect()
        };
        if fields.len() != self.parts.len() {
            return None;
        }
        let (mut y, mut m, mut d) = (None, None, None);
        for (&(letter, _), f) in self.parts.iter().zip(&fields) {
            if f.len() > 4 {
                return None;
            }
            let v: i32 = f.parse().ok()?;
            match letter {
                'Y' => y = Some(if f.len() == 2 { 1900 + v } else { v }),
                'M' => m = Some(v),
                _ => d = Some(v),
            }
        }
        let (y, m, d) = (y?, m?, d?);
        (m <= 99 && d <= 99).then(|| format!("{y:04}-{m:02}-{d:02}"))
    }

    /// The layout as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Parses a date of birth strictly: a real calendar date in one of the layouts [`Dob::read`]
/// knows, or an error saying why not.
pub fn parse_date(raw: &str) -> Result<Date, DateError> {
    let s = raw.trim();
    match Dob::read(s) {
        Some(Dob::Date(d)) => Ok(d),
        Some(Dob::Parts { .. }) => Err(DateError::Impossible(s.to_string())),
        _ => Err(DateError::Unrecognised(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_punctuation_and_diacritics() {
        assert_eq!(normalise_name("  O'Brien-Núñez "), "obrien nunez");
        assert_eq!(normalise_name("ZOË"), "zoe");
        assert_eq!(normalise_name("Mary  Ann"), "mary ann");
        assert_eq!(normalise_name("Łukasz"), "lukasz");
        assert_eq!(normalise_name("..."), "");
    }

    #[test]
    fn text_expands_street_abbreviations() {
        assert_eq!(normalise_text("12 High St."), "12 high street");
        assert_eq!(normalise_text("Flat 3, 4 Acre Rd"), "flat 3 4 acre road");
    }

    #[test]
    fn postcodes_in_all_shapes() {
        assert_eq!(normalise_postcode("sw1a1aa").as_deref(), Some("SW1A 1AA"));
        assert_eq!(normalise_postcode(" e1  6an").as_deref(), Some("E1 6AN"));
        assert_eq!(normalise_postcode("W11 2BQ").as_deref(), Some("W11 2BQ"));
        assert_eq!(normalise_postcode("SE15 4QT").as_deref(), Some("SE15 4QT"));
        assert_eq!(normalise_postcode("N1C 4AG").as_deref(), Some("N1C 4AG"));
        assert_eq!(normalise_postcode("12345"), None);
        assert_eq!(normalise_postcode("SW1A 1A"), None);
        assert_eq!(normalise_postcode(""), None);
        let p = Postcode::parse("SW1A 1AA").expect("valid postcode");
        assert_eq!(p.sector(), "SW1A 1");
        assert_eq!(p.district(), "SW1A");
    }

    #[test]
    fn uk_phones_become_plus_44() {
        for raw in [
            "07700 900123",
            "+44 7700 900123",
            "+44 (0)7700 900123",
            "0044 7700 900123",
            "447700900123",
            "7700900123",
        ] {
            assert_eq!(
                normalise_phone(raw).as_deref(),
                Some("+447700900123"),
                "{raw}"
            );
        }
        assert_eq!(
            normalise_phone("020 7946 0000").as_deref(),
            Some("+442079460000")
        );
        assert_eq!(
            normalise_phone("+33 1 23 45 67 89").as_deref(),
            Some("+33123456789")
        );
        assert_eq!(normalise_phone("12345"), None);
        // Too short once the international prefix is off, and a doubled trunk zero: each
        // normalised form must normalise to itself.
        assert_eq!(normalise_phone("0000000"), None);
        assert_eq!(normalise_phone("0044 123"), None);
        let doubled = normalise_phone("+44 0 0123456").expect("a number");
        assert_eq!(doubled, "+44123456");
        assert_eq!(normalise_phone(&doubled).as_deref(), Some("+44123456"));
    }

    #[test]
    fn dates_iso_and_uk() {
        let d = parse_date("2009-03-04").expect("iso");
        assert_eq!((d.year(), d.month() as u8, d.day()), (2009, 3, 4));
        assert_eq!(parse_date("04/03/2009"), Ok(d));
        assert_eq!(parse_date("4/3/2009"), Ok(d));
        assert!(matches!(
            parse_date("31/02/2010"),
            Err(DateError::Impossible(_))
        ));
        assert!(matches!(
            parse_date("2010-13-01"),
            Err(DateError::Impossible(_))
        ));
        assert!(matches!(
            parse_date("yesterday"),
            Err(DateError::Unrecognised(_))
        ));
        assert!(matches!(
            parse_date("01/02/10"),
            Err(DateError::Unrecognised(_))
        ));
        assert_eq!(parse_date("20090304"), Ok(d));
        assert_eq!(parse_date("04032009"), Ok(d));
        assert_eq!(parse_date("04-03-2009"), Ok(d));
        assert_eq!(parse_date("04.03.2009"), Ok(d));
    }

    #[test]
    fn impossible_and_odd_dates_are_kept() {
        assert_eq!(
            Dob::read("19751402"),
            Some(Dob::Parts {
                year: 1975,
                month: 14,
                day: 2
            })
        );
        let kept = Dob::read("19751402").expect("kept");
        assert_eq!(kept.digits(), "19751402");
        assert_eq!(kept.year(), Some(1975));
        assert_eq!(kept.date(), None);
        assert_eq!(
            Dob::read("31/02/2010").and_then(|d| d.parts()),
            Some((2010, 2, 31))
        );
        assert_eq!(Dob::read("197514"), Some(Dob::Digits("197514".into())));
        assert_eq!(Dob::read("c. 1975").and_then(|d| d.year()), Some(1975));
        assert_eq!(Dob::read("unknown"), None);
        assert_eq!(Dob::read("  "), None);
    }

    #[test]
    fn date_formats_given_by_the_user() {
        let us = DateFormat::parse("MM/DD/YYYY").expect("format");
        assert_eq!(us.to_iso("03/04/2009").as_deref(), Some("2009-03-04"));
        assert_eq!(us.to_iso("3/4/2009").as_deref(), Some("2009-03-04"));
        assert_eq!(us.to_iso("13/40/2009").as_deref(), Some("2009-13-40"));
        assert_eq!(us.to_iso("yesterday"), None);
        let packed = DateFormat::parse("YYYYDDMM").expect("format");
        assert_eq!(packed.to_iso("20090403").as_deref(), Some("2009-03-04"));
        assert_eq!(packed.to_iso("2009043"), None);
        let short = DateFormat::parse("DD.MM.YY").expect("format");
        assert_eq!(short.to_iso("04.03.75").as_deref(), Some("1975-03-04"));
        assert!(DateFormat::parse("DD/MM").is_err());
        assert!(DateFormat::parse("DD/MM/YYYY/DD").is_err());
    }
}
