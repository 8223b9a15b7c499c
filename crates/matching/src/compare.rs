//! Comparators with graded levels (as in Splink's comparison levels): each field of a pair of
//! prepared records falls into exactly one named level, the first in order whose test holds.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use serde::{Deserialize, Serialize};

use crate::blocking::KeyHasher;
use crate::nicknames::shares_group;
use crate::record::{Hot, Prepared};
use crate::similarity::{jaro_winkler, one_edit_apart, word_overlap};

/// Number of compared fields.
pub const FIELD_COUNT: usize = 10;

/// The level index of every field for one pair of records (0 always means "missing").
pub type Pattern = [u8; FIELD_COUNT];

/// A compared field of a person record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Given name, with nicknames, aliases, swaps and middle names.
    FirstName,
    /// Family name.
    Surname,
    /// Date of birth or approximate birth year.
    Dob,
    /// UK postcode.
    Postcode,
    /// First address line.
    Address,
    /// Phone number.
    Phone,
    /// School or college.
    School,
    /// Gender.
    Gender,
    /// E-mail address.
    Email,
    /// Town, city, suburb or locality.
    Town,
}

const FIRST_LEVELS: &[&str] = &[
    "missing",
    "exact",
    "alias or swapped with surname",
    "nickname",
    "jaro-winkler >= 0.92",
    "sounds alike",
    "matches a middle name",
    "jaro-winkler >= 0.80",
    "different",
];
const SURNAME_LEVELS: &[&str] = &[
    "missing",
    "exact",
    "alias or swapped with first name",
    "jaro-winkler >= 0.92",
    "sounds alike",
    "shares a part",
    "jaro-winkler >= 0.80",
    "different",
];
const DOB_LEVELS: &[&str] = &[
    "missing",
    "exact",
    "day and month swapped",
    "one of day, month, year differs",
    "digits one edit apart",
    "same birth year",
    "birth year within one",
    "different",
];
const POSTCODE_LEVELS: &[&str] = &[
    "missing",
    "exact",
    "same sector",
    "same district",
    "different",
];
const ADDRESS_LEVELS: &[&str] = &[
    "missing",
    "exact",
    "similar",
    "most words alike",
    "some words alike",
    "different",
];
const PHONE_LEVELS: &[&str] = &["missing", "exact", "same last 9 digits", "different"];
const SCHOOL_LEVELS: &[&str] = &["missing", "exact", "similar", "different"];
const GENDER_LEVELS: &[&str] = &["missing", "same", "different"];
const EMAIL_LEVELS: &[&str] = &["missing", "exact", "different"];
const TOWN_LEVELS: &[&str] = &["missing", "exact", "jaro-winkler >= 0.90", "different"];

/// The most levels any field has.
pub const MAX_LEVELS: usize = 9;

impl Field {
    /// Every field, in pattern order.
    pub const ALL: [Field; FIELD_COUNT] = [
        Field::FirstName,
        Field::Surname,
        Field::Dob,
        Field::Postcode,
        Field::Address,
        Field::Phone,
        Field::School,
        Field::Gender,
        Field::Email,
        Field::Town,
    ];

    /// Machine name used in JSON and CSV headers.
    pub fn name(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::Surname => "surname",
            Field::Dob => "dob",
            Field::Postcode => "postcode",
            Field::Address => "address_line",
            Field::Phone => "phone",
            Field::School => "school",
            Field::Gender => "gender",
            Field::Email => "email",
            Field::Town => "town",
        }
    }

    /// Names of the levels, best first after "missing"; the last is "different".
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::FirstName => FIRST_LEVELS,
            Field::Surname => SURNAME_LEVELS,
            Field::Dob => DOB_LEVELS,
            Field::Postcode => POSTCODE_LEVELS,
            Field::Address => ADDRESS_LEVELS,
            Field::Phone => PHONE_LEVELS,
            Field::School => SCHOOL_LEVELS,
            Field::Gender => GENDER_LEVELS,
            Field::Email => EMAIL_LEVELS,
            Field::Town => TOWN_LEVELS,
        }
    }

    /// Position of the field in a [`Pattern`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Jaro-Winkler with a fixed argument order (shorter first, then lexical) so every
/// comparator is exactly symmetric; ordering by length first avoids most byte comparisons.
fn jw(a: &str, b: &str) -> f64 {
    let a_first = match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => a <= b,
    };
    if a_first {
        jaro_winkler(a, b)
    } else {
        jaro_winkler(b, a)
    }
}

/// Memo of string-only similarity classes keyed by the pair of name hashes. Names repeat a
/// lot across a list, so linking whole lists computes each Jaro-Winkler once per name pair.
#[derive(Default)]
pub(crate) struct SimilarityCache {
    first: HashMap<u64, u8, BuildHasherDefault<KeyHasher>>,
    surname: HashMap<u64, u8, BuildHasherDefault<KeyHasher>>,
    school: HashMap<u64, u8, BuildHasherDefault<KeyHasher>>,
    town: HashMap<u64, u8, BuildHasherDefault<KeyHasher>>,
}

/// Bound on each memo so a huge list cannot grow it without limit.
const CACHE_LIMIT: usize = 1 << 20;

/// Symmetric key of two text hashes.
fn pair_key(x: u64, y: u64) -> u64 {
    let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
    lo.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ hi.rotate_left(29)
}

fn memo(
    map: &mut HashMap<u64, u8, BuildHasherDefault<KeyHasher>>,
    key: u64,
    f: impl FnOnce() -> u8,
) -> u8 {
    if let Some(&v) = map.get(&key) {
        return v;
    }
    let v = f();
    if map.len() >= CACHE_LIMIT {
        map.clear();
    }
    map.insert(key, v);
    v
}

/// A prepared record with its hot hashes, which may live in a separate contiguous array.
#[derive(Clone, Copy)]
pub(crate) struct Side<'a> {
    pub p: &'a Prepared,
    pub h: &'a Hot,
}

impl<'a> Side<'a> {
    /// A record using its own hot hashes.
    pub fn of(p: &'a Prepared) -> Side<'a> {
        Side { p, h: &p.hot }
    }
}

impl std::ops::Deref for Side<'_> {
    type Target = Prepared;
    fn deref(&self) -> &Prepared {
        self.p
    }
}

/// Compares two prepared records field by field.
pub(crate) fn compare(a: &Prepared, b: &Prepared) -> Pattern {
    compare_cached(Side::of(a), Side::of(b), None)
}

/// [`compare`] with an optional similarity memo (same result, faster on whole lists). Most
/// pairs are decided from the hot hashes alone; the text is read only for fuzzy levels.
pub(crate) fn compare_cached(a: Side, b: Side, mut cache: Option<&mut SimilarityCache>) -> Pattern {
    let swapped = names_swapped(a, b);
    let first_sim = if a.h.first == 0 || b.h.first == 0 {
        FIRST_DIFFERENT
    } else {
        match cache.as_deref_mut() {
            Some(_) if a.h.first == b.h.first => FIRST_EXACT,
            Some(c) => memo(&mut c.first, pair_key(a.h.first, b.h.first), || {
                first_similarity(a, b)
            }),
            None => first_similarity(a, b),
        }
    };
    let surname_sim = if a.h.surname == 0 || b.h.surname == 0 {
        SURNAME_DIFFERENT
    } else {
        match cache.as_deref_mut() {
            Some(_) if a.h.surname == b.h.surname => SURNAME_EXACT,
            Some(c) => memo(&mut c.surname, pair_key(a.h.surname, b.h.surname), || {
                surname_similarity(&a.surname, &b.surname, &a.surname_code, &b.surname_code)
            }),
            None => surname_similarity(&a.surname, &b.surname, &a.surname_code, &b.surname_code),
        }
    };
    let school = match (a.school.as_deref(), b.school.as_deref()) {
        _ if a.h.school == 0 || b.h.school == 0 => 0,
        _ if a.h.school == b.h.school => 1,
        (Some(x), Some(y)) => match cache.as_deref_mut() {
            Some(c) => memo(&mut c.school, pair_key(a.h.school, b.h.school), || {
                school_level(x, y)
            }),
            None => school_level(x, y),
        },
        _ => 0,
    };
    [
        first_name_level(a, b, swapped, first_sim),
        surname_level(a, b, swapped, surname_sim),
        dob_level(a, b),
        postcode_level(a.h, b.h),
        address_level(a, b),
        phone_level(a.h, b.h),
        school,
        exact_level(a.h.gender, b.h.gender),
        exact_level(a.h.email, b.h.email),
        match cache {
            Some(c) if a.h.town != 0 && b.h.town != 0 && a.h.town != b.h.town => {
                memo(&mut c.town, pair_key(a.h.town, b.h.town), || {
                    town_level(a, b)
                })
            }
            _ => town_level(a, b),
        },
    ]
}

/// First name and surname written the other way round (exactly, or nearly with the same
/// initials: the initial check keeps this cheap on the many pairs that are not swaps).
fn names_swapped(a: Side, b: Side) -> bool {
    let (x, y) = (a.h, b.h);
    if x.first == 0 || x.surname == 0 || y.first == 0 || y.surname == 0 {
        return false;
    }
    if x.first == y.first && x.surname == y.surname {
        return false;
    }
    if x.first_initial != y.surname_initial || x.surname_initial != y.first_initial {
        return false;
    }
    (x.first == y.surname || jw(&a.first, &b.surname) >= 0.92)
        && (x.surname == y.first || jw(&a.surname, &b.first) >= 0.92)
}

/// An alias of one record names the other's primary first name (or both aliases agree).
fn alias_first(a: Side, b: Side) -> bool {
    if a.h.aliases == 0 && b.h.aliases == 0 {
        return false;
    }
    a.aliases.iter().any(|x| x.first == b.first)
        || b.aliases.iter().any(|x| x.first == a.first)
        || a.aliases
            .iter()
            .any(|x| b.aliases.iter().any(|y| x.first == y.first))
}

fn alias_last(a: Side, b: Side) -> bool {
    if a.h.aliases == 0 && b.h.aliases == 0 {
        return false;
    }
    let has = |p: Side, name: &str| {
        p.aliases
            .iter()
            .any(|x| !x.last.is_empty() && x.last == name)
    };
    has(a, &b.surname)
        || has(b, &a.surname)
        || a.aliases
            .iter()
            .any(|x| !x.last.is_empty() && has(b, &x.last))
}

// String-only similarity classes of two given names, best first.
const FIRST_EXACT: u8 = 0;
const FIRST_NICKNAME: u8 = 1;
const FIRST_JW92: u8 = 2;
const FIRST_SOUNDS: u8 = 3;
const FIRST_JW80: u8 = 4;
const FIRST_DIFFERENT: u8 = 5;

fn first_similarity(a: Side, b: Side) -> u8 {
    let (x, y) = (a.first.as_str(), b.first.as_str());
    if x == y {
        return FIRST_EXACT;
    }
    if shares_group(a.first_groups, b.first_groups) {
        return FIRST_NICKNAME;
    }
    let sim = jw(x, y);
    if sim >= 0.92 {
        FIRST_JW92
    } else if !a.first_code.is_empty() && a.first_code == b.first_code {
        FIRST_SOUNDS
    } else if sim >= 0.80 {
        FIRST_JW80
    } else {
        FIRST_DIFFERENT
    }
}

/// One record's first name is among the other's middle names.
fn middle_matches(a: Side, b: Side) -> bool {
    (b.h.middles > 0 && b.middles.iter().any(|m| *m == a.first))
        || (a.h.middles > 0 && a.middles.iter().any(|m| *m == b.first))
}

fn first_name_level(a: Side, b: Side, swapped: bool, sim: u8) -> u8 {
    if a.h.first == 0 || b.h.first == 0 {
        return 0;
    }
    if sim == FIRST_EXACT {
        return 1;
    }
    if swapped || alias_first(a, b) {
        return 2;
    }
    match sim {
        FIRST_NICKNAME => 3,
        FIRST_JW92 => 4,
        FIRST_SOUNDS => 5,
        _ if middle_matches(a, b) => 6,
        FIRST_JW80 => 7,
        _ => 8,
    }
}

// String-only similarity classes of two surnames, best first.
const SURNAME_EXACT: u8 = 0;
const SURNAME_JW92: u8 = 1;
const SURNAME_SOUNDS: u8 = 2;
const SURNAME_PART: u8 = 3;
const SURNAME_JW80: u8 = 4;
const SURNAME_DIFFERENT: u8 = 5;

fn surname_similarity(x: &str, y: &str, x_code: &str, y_code: &str) -> u8 {
    let no_space = |s: &str| s.bytes().filter(|&c| c != b' ').collect::<Vec<u8>>();
    if x == y || ((x.contains(' ') || y.contains(' ')) && no_space(x) == no_space(y)) {
        return SURNAME_EXACT;
    }
    let sim = jw(x, y);
    if sim >= 0.92 {
        return SURNAME_JW92;
    }
    if !x_code.is_empty() && x_code == y_code {
        return SURNAME_SOUNDS;
    }
    let shares_part = x
        .split(' ')
        .any(|p| p.len() >= 3 && y.split(' ').any(|q| q == p));
    if shares_part {
        SURNAME_PART
    } else if sim >= 0.80 {
        SURNAME_JW80
    } else {
        SURNAME_DIFFERENT
    }
}

fn surname_level(a: Side, b: Side, swapped: bool, sim: u8) -> u8 {
    if a.h.surname == 0 || b.h.surname == 0 {
        return 0;
    }
    if sim == SURNAME_EXACT {
        return 1;
    }
    if swapped || alias_last(a, b) {
        return 2;
    }
    match sim {
        SURNAME_JW92 => 3,
        SURNAME_SOUNDS => 4,
        SURNAME_PART => 5,
        SURNAME_JW80 => 6,
        _ => 7,
    }
}

/// Dates are compared on their parts as written, calendar dates or not, so a mistyped
/// 19751402 still meets 1975-02-14 as a day and month swap.
fn dob_level(a: Side, b: Side) -> u8 {
    let (x, y) = (a.h, b.h);
    if x.dob_kind == 1 && y.dob_kind == 1 {
        let ((xy, xm, xd), (yy, ym, yd)) = (x.dob, y.dob);
        if (xy, xm, xd) == (yy, ym, yd) {
            return 1;
        }
        if xy == yy && xd == ym && xm == yd {
            return 2;
        }
        let same = (xy == yy) as u8 + (xm == ym) as u8 + (xd == yd) as u8;
        if same == 2 {
            return 3;
        }
    }
    if x.dob_kind != 0 && y.dob_kind != 0 {
        match one_edit_apart(&a.dob_digits, &b.dob_digits) {
            Some(0) => return 1,
            Some(_) => return 4,
            None => {}
        }
    }
    if x.birth_year != i32::MIN && y.birth_year != i32::MIN {
        year_level(x.birth_year, y.birth_year)
    } else {
        0
    }
}

fn year_level(x: i32, y: i32) -> u8 {
    match (i64::from(x) - i64::from(y)).abs() {
        0 => 5,
        1 => 6,
        _ => 7,
    }
}

fn postcode_level(a: &Hot, b: &Hot) -> u8 {
    if a.postcode == 0 || b.postcode == 0 {
        0
    } else if a.postcode == b.postcode {
        1
    } else if a.sector != 0 && a.sector == b.sector {
        2
    } else if a.district != 0 && a.district == b.district {
        3
    } else {
        4
    }
}

/// Whether the house and flat numbers of two addresses agree: equal, or all of one side's
/// numbers found on the other (a flat number added or dropped).
fn numbers_agree(a: Side, b: Side) -> bool {
    let (x, y) = (a.h, b.h);
    if x.address_num_count == 255 || y.address_num_count == 255 {
        let (na, nb) = (&a.address_numbers, &b.address_numbers);
        return na == nb
            || (!na.is_empty()
                && !nb.is_empty()
                && (na.iter().all(|n| nb.contains(n)) || nb.iter().all(|n| na.contains(n))));
    }
    let na = &x.address_nums[..x.address_num_count as usize];
    let nb = &y.address_nums[..y.address_num_count as usize];
    na == nb
        || (!na.is_empty()
            && !nb.is_empty()
            && (na.iter().all(|n| nb.contains(n)) || nb.iter().all(|n| na.contains(n))))
}

/// House and flat numbers must agree before two address lines count as similar: "12 Acre
/// Road" and "14 Acre Road" are neighbours, not the same home.
fn address_level(a: Side, b: Side) -> u8 {
    if a.h.address == 0 || b.h.address == 0 {
        return 0;
    }
    if a.h.address == b.h.address {
        return 1;
    }
    let (Some(x), Some(y)) = (a.address.as_deref(), b.address.as_deref()) else {
        return 0;
    };
    if numbers_agree(a, b) && (jw(x, y) >= 0.88 || word_overlap(x, y) >= 0.75) {
        return 2;
    }
    let share = words_alike(x, y);
    if share >= 0.66 {
        3
    } else if share >= 0.3 {
        4
    } else {
        5
    }
}

fn town_level(a: Side, b: Side) -> u8 {
    match (a.town.as_deref(), b.town.as_deref()) {
        _ if a.h.town == 0 || b.h.town == 0 => 0,
        _ if a.h.town == b.h.town => 1,
        (Some(x), Some(y)) if jw(x, y) >= 0.90 => 2,
        _ => 3,
    }
}

/// Share of the words of the address with fewer words that have a partner in the other:
/// numbers must be equal, other words equal or alike by Jaro-Winkler (>= 0.88). Only words
/// sharing their first or second letter are compared, which keeps this cheap.
fn words_alike(x: &str, y: &str) -> f64 {
    let words = |s: &str| s.split(' ').filter(|w| !w.is_empty()).count();
    let (short, long) = if words(x) <= words(y) { (x, y) } else { (y, x) };
    let n = words(short);
    if n == 0 {
        return 0.0;
    }
    let alike = |a: &str, b: &str| {
        if a == b {
            return true;
        }
        let (ab, bb) = (a.as_bytes(), b.as_bytes());
        if ab.len() < 3 || bb.len() < 3 || ab[0].is_ascii_digit() || bb[0].is_ascii_digit() {
            return false;
        }
        (ab[0] == bb[0] || ab[1] == bb[1]) && jw(a, b) >= 0.88
    };
    let found = short
        .split(' ')
        .filter(|w| !w.is_empty())
        .filter(|w| long.split(' ').any(|v| alike(w, v)))
        .count();
    found as f64 / n as f64
}

fn phone_level(a: &Hot, b: &Hot) -> u8 {
    if a.phone == 0 || b.phone == 0 {
        0
    } else if a.phone == b.phone {
        1
    } else if a.phone_tail != 0 && a.phone_tail == b.phone_tail {
        2
    } else {
        3
    }
}

fn school_level(a: &str, b: &str) -> u8 {
    if a == b {
        1
    } else if jw(a, b) >= 0.88 {
        2
    } else {
        3
    }
}

fn exact_level(a: u64, b: u64) -> u8 {
    if a == 0 || b == 0 {
        0
    } else if a == b {
        1
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phonetic::metaphone;
    use crate::record::PersonRecord;

    fn person(first: &str, surname: &str) -> PersonRecord {
        PersonRecord {
            id: format!("{first}-{surname}"),
            first_name: Some(first.into()),
            surname: Some(surname.into()),
            ..Default::default()
        }
    }

    fn level(a: &PersonRecord, b: &PersonRecord, field: Field) -> &'static str {
        let p = compare(&Prepared::new(a), &Prepared::new(b));
        field.levels()[p[field.index()] as usize]
    }

    #[test]
    fn first_name_levels() {
        let f = Field::FirstName;
        assert_eq!(
            level(&person("Robert", "Ade"), &person("ROBERT", "Ade"), f),
            "exact"
        );
        assert_eq!(
            level(&person("Robert", "Ade"), &person("Bob", "Ade"), f),
            "nickname"
        );
        assert_eq!(
            level(&person("Mo", "Ali"), &person("Mohammed", "Ali"), f),
            "nickname"
        );
        // Jaro-Winkler boundary: jonathon/jonathan is ~0.95, above 0.92.
        assert_eq!(
            level(&person("Jonathon", "X"), &person("Jonathan", "X"), f),
            "nickname"
        );
        assert_eq!(
            level(&person("Jonathen", "X"), &person("Jonathan", "X"), f),
            "jaro-winkler >= 0.92"
        );
        assert_eq!(
            level(&person("Kathryn", "X"), &person("Catherin", "X"), f),
            "sounds alike"
        );
        assert_eq!(
            level(&person("Dwayne", "X"), &person("Duane", "X"), f),
            "jaro-winkler >= 0.80"
        );
        assert_eq!(
            level(&person("Alice", "X"), &person("Zainab", "X"), f),
            "different"
        );
        assert_eq!(
            level(&person("", "X"), &person("Zainab", "X"), f),
            "missing"
        );
        let mut m = person("Kemi", "Ade");
        m.middle_names = Some("Grace".into());
        assert_eq!(
            level(&m, &person("Grace", "Ade"), f),
            "matches a middle name"
        );
        let mut al = person("Jermaine", "Ade");
        al.aliases = vec!["JJ Ade".into()];
        assert_eq!(
            level(&al, &person("JJ", "Ade"), f),
            "alias or swapped with surname"
        );
    }

    #[test]
    fn jaro_winkler_thresholds_at_their_boundaries() {
        let f = Field::FirstName;
        // 0.961: above 0.92.
        assert!(jw("martha", "marhta") >= 0.92);
        assert_eq!(
            level(&person("Martha", "X"), &person("Marhta", "X"), f),
            "jaro-winkler >= 0.92"
        );
        // 0.813: just above 0.80, and the two do not sound alike.
        let sim = jw("dixon", "dicksonx");
        assert!((0.80..0.82).contains(&sim), "{sim}");
        assert_ne!(metaphone("dixon"), metaphone("dicksonx"));
        assert_eq!(
            level(&person("Dixon", "X"), &person("Dicksonx", "X"), f),
            "jaro-winkler >= 0.80"
        );
        // 0.787: just below 0.80.
        let sim = jw("abcdefg", "abxyzfg");
        assert!((0.70..0.80).contains(&sim), "{sim}");
        assert_eq!(
            level(&person("Abcdefg", "X"), &person("Abxyzfg", "X"), f),
            "different"
        );
    }

    #[test]
    fn swapped_names() {
        let a = person("Smith", "John");
        let b = person("John", "Smith");
        assert_eq!(
            level(&a, &b, Field::FirstName),
            "alias or swapped with surname"
        );
        assert_eq!(
            level(&a, &b, Field::Surname),
            "alias or swapped with first name"
        );
    }

    #[test]
    fn surname_levels() {
        let s = Field::Surname;
        assert_eq!(
            level(&person("A", "Mc Donald"), &person("A", "McDonald"), s),
            "exact"
        );
        assert_eq!(
            level(&person("A", "Smith"), &person("A", "Smithe"), s),
            "jaro-winkler >= 0.92"
        );
        // Smith/Smyth is 0.893 by Jaro-Winkler, below 0.92, but sounds the same.
        assert_eq!(
            level(&person("A", "Smith"), &person("A", "Smyth"), s),
            "sounds alike"
        );
        assert_eq!(
            level(&person("A", "Okonkwo-Smith"), &person("A", "Okonkwo"), s),
            "shares a part"
        );
        assert_eq!(
            level(&person("A", "Smith"), &person("A", "Jones"), s),
            "different"
        );
    }

    fn with_dob(dob: &str) -> PersonRecord {
        PersonRecord {
            id: dob.into(),
            dob: Some(dob.into()),
            ..Default::default()
        }
    }

    #[test]
    fn dates_that_are_no_calendar_date_are_compared_as_written() {
        let d = Field::Dob;
        assert_eq!(
            level(&with_dob("19751402"), &with_dob("1975-02-14"), d),
            "day and month swapped"
        );
        assert_eq!(
            level(&with_dob("19751402"), &with_dob("19751402"), d),
            "exact"
        );
        assert_eq!(
            level(&with_dob("31/02/2010"), &with_dob("2010-02-28"), d),
            "one of day, month, year differs"
        );
        assert_eq!(
            level(&with_dob("1975142"), &with_dob("19751402"), d),
            "digits one edit apart"
        );
        assert_eq!(
            level(&with_dob("c1975"), &with_dob("1975-06-01"), d),
            "same birth year"
        );
        assert_eq!(
            level(&with_dob("1975-02-14"), &with_dob("14/02/1975"), d),
            "exact"
        );
        assert_eq!(
            level(&with_dob("19750214"), &with_dob("14.02.1975"), d),
            "exact"
        );
    }

    #[test]
    fn dob_levels() {
        let d = Field::Dob;
        assert_eq!(
            level(&with_dob("2009-03-04"), &with_dob("2009-03-04"), d),
            "exact"
        );
        assert_eq!(
            level(&with_dob("2009-03-04"), &with_dob("2009-04-03"), d),
            "day and month swapped"
        );
        assert_eq!(
            level(&with_dob("2009-03-04"), &with_dob("2009-03-05"), d),
            "one of day, month, year differs"
        );
        assert_eq!(
            level(&with_dob("2009-03-04"), &with_dob("2090-03-04"), d),
            "one of day, month, year differs"
        );
        assert_eq!(
            level(&with_dob("2009-03-04"), &with_dob("2009-07-22"), d),
            "same birth year"
        );
        // Digits swapped across day and month: two parts differ, one edit apart.
        assert_eq!(
            level(&with_dob("1975-10-24"), &with_dob("1975-12-04"), d),
            "digits one edit apart"
        );
        assert_eq!(
            level(&with_dob("2009-03-04"), &with_dob("2010-07-22"), d),
            "birth year within one"
        );
        assert_eq!(
            level(&with_dob("2009-03-04"), &with_dob("2012-07-22"), d),
            "different"
        );
        let approx = PersonRecord {
            approx_birth_year: Some(2010),
            ..Default::default()
        };
        assert_eq!(
            level(&with_dob("2009-03-04"), &approx, d),
            "birth year within one"
        );
        assert_eq!(
            level(&with_dob("2009-03-04"), &PersonRecord::default(), d),
            "missing"
        );
    }

    fn at(postcode: &str, address: &str, phone: &str) -> PersonRecord {
        PersonRecord {
            postcode: Some(postcode.into()),
            address_line: Some(address.into()),
            phone: Some(phone.into()),
            ..Default::default()
        }
    }

    #[test]
    fn location_and_phone_levels() {
        let a = at("W11 1AA", "12 Acre Road", "07700 900123");
        assert_eq!(
            level(
                &a,
                &at("w111aa", "12 acre rd", "+447700900123"),
                Field::Postcode
            ),
            "exact"
        );
        assert_eq!(
            level(&a, &at("W11 1AB", "", ""), Field::Postcode),
            "same sector"
        );
        assert_eq!(
            level(&a, &at("W11 2AB", "", ""), Field::Postcode),
            "same district"
        );
        assert_eq!(
            level(&a, &at("E1 2AB", "", ""), Field::Postcode),
            "different"
        );
        assert_eq!(
            level(&a, &at("", "12 acre rd", ""), Field::Address),
            "exact"
        );
        // A flat inside the same building keeps every word of the shorter line.
        assert_eq!(
            level(&a, &at("", "Flat 2, 12 Acre Road", ""), Field::Address),
            "similar"
        );
        assert_eq!(
            level(&a, &at("", "12 Acer Road", ""), Field::Address),
            "similar"
        );
        // Neighbours: the street is alike but the house number is not.
        assert_eq!(
            level(&a, &at("", "14 Acre Road", ""), Field::Address),
            "most words alike"
        );
        assert_eq!(
            level(&a, &at("", "14 Acer Lane", ""), Field::Address),
            "some words alike"
        );
        assert_eq!(
            level(&a, &at("", "3 Mill Lane", ""), Field::Address),
            "different"
        );
        assert_eq!(level(&a, &at("", "", "07700900123"), Field::Phone), "exact");
        assert_eq!(
            level(&a, &at("", "", "07700 900124"), Field::Phone),
            "different"
        );
        assert_eq!(
            level(
                &at("", "", "+1 650 770 0900 123"),
                &at("", "", "+33 7700 900123"),
                Field::Phone
            ),
            "same last 9 digits"
        );
    }

    #[test]
    fn town_levels() {
        let t = |name: &str| PersonRecord {
            town: Some(name.into()),
            ..Default::default()
        };
        assert_eq!(
            level(&t("Winston Hills"), &t("winston hills"), Field::Town),
            "exact"
        );
        assert_eq!(
            level(&t("Winston Hills"), &t("Winstn Hills"), Field::Town),
            "jaro-winkler >= 0.90"
        );
        assert_eq!(level(&t("Dover"), &t("Kedron"), Field::Town), "different");
        assert_eq!(
            level(&t("Dover"), &PersonRecord::default(), Field::Town),
            "missing"
        );
    }

    #[test]
    fn school_levels() {
        let s = |name: &str| PersonRecord {
            school: Some(name.into()),
            ..Default::default()
        };
        assert_eq!(
            level(&s("Holland Park School"), &s("holland park"), Field::School),
            "exact"
        );
        assert_eq!(
            level(
                &s("St Marys Academy"),
                &s("St Mary's RC Academy"),
                Field::School
            ),
            "similar"
        );
        assert_eq!(
            level(&s("Holland Park"), &s("Chelsea Academy"), Field::School),
            "different"
        );
    }
}
