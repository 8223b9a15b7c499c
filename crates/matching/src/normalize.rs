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

/// Why a date of birth could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The text is not in a recognised layout.
    #[error("'{0}' is not a date: write it as YYYY-MM-DD or DD/MM/YYYY")]
    Unrecognised(String),
    /// The layout is right but no such day exists (for example 31/02/2010).
    #[error("'{0}' is an impossible date: check the day and month")]
    Impossible(String),
}

/// Parses a date of birth written as ISO `YYYY-MM-DD` or UK `DD/MM/YYYY` (also `DD-MM-YYYY`
/// and `DD.MM.YYYY`), rejecting impossible days such as 30 February.
pub fn parse_date(raw: &str) -> Result<Date, DateError> {
    let s = raw.trim();
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    let bad = || DateError::Unrecognised(s.to_string());
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let (y, m, d) = if parts[0].len() == 4 && s.contains('-') {
        (parts[0], parts[1], parts[2])
    } else if parts[2].len() == 4 {
        (parts[2], parts[1], parts[0])
    } else {
        return Err(bad());
    };
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    let day: u8 = d.parse().map_err(|_| bad())?;
    let impossible = || DateError::Impossible(s.to_string());
    let month = Month::try_from(month).map_err(|_| impossible())?;
    Date::from_calendar_date(year, month, day).map_err(|_| impossible())
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
    }
}
