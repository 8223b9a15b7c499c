//! The person record as other modules supply it, and its prepared (normalised, pre-coded) form
//! that comparators and blocking work on, computed once per record.

use serde::{Deserialize, Serialize};

use crate::nicknames::name_groups;
use crate::normalize::{
    Dob, Postcode, normalise_email, normalise_name, normalise_phone, normalise_text,
};
use crate::phonetic::metaphone;

/// A person as held by any agency: names, date of birth or approximate birth year, gender,
/// address, phone, school and e-mail. Raw text is fine: matching normalises it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    /// Stable identifier of the record in its source (person id, CSV row id).
    pub id: String,
    /// Given name as written.
    pub first_name: Option<String>,
    /// Middle names, space separated.
    pub middle_names: Option<String>,
    /// Family name as written.
    pub surname: Option<String>,
    /// Other full names the person is known by ("Jay Smith", "JJ").
    pub aliases: Vec<String>,
    /// Date of birth as written: `YYYY-MM-DD`, `YYYYMMDD`, `DD/MM/YYYY`, `DD-MM-YYYY` or
    /// `DD.MM.YYYY`. A value that is no calendar date (19751402) is kept and compared as
    /// digits (day and month swaps, one-digit slips), never dropped.
    pub dob: Option<String>,
    /// Approximate birth year when only an age is known.
    pub approx_birth_year: Option<i32>,
    /// Gender as recorded.
    pub gender: Option<String>,
    /// Postcode in any spacing or case.
    pub postcode: Option<String>,
    /// First line of the address.
    pub address_line: Option<String>,
    /// Phone number in any common UK form.
    pub phone: Option<String>,
    /// School or college name.
    pub school: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Town, city, suburb or locality.
    pub town: Option<String>,
}

/// A postcode as compared: the canonical text, plus sector and district when it parsed.
#[derive(Debug, Clone)]
pub(crate) struct PreparedPostcode {
    pub full: String,
    pub sector: Option<String>,
    pub district: Option<String>,
}

/// One name (primary or alias) split into first and last parts.
#[derive(Debug, Clone)]
pub(crate) struct NamePair {
    pub first: String,
    pub last: String,
}

/// Hashes of the compared values (0 = missing), kept together in the record so comparing
/// two records mostly reads one small block of memory instead of a dozen heap strings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Hot {
    pub first: u64,
    pub surname: u64,
    pub school: u64,
    pub first_initial: u8,
    pub surname_initial: u8,
    pub postcode: u64,
    pub sector: u64,
    pub district: u64,
    pub address: u64,
    /// House and flat numbers; `address_num_count` 255 means more than two.
    pub address_nums: [u64; 2],
    pub address_num_count: u8,
    pub phone: u64,
    pub phone_tail: u64,
    pub gender: u64,
    pub email: u64,
    pub town: u64,
    /// Date of birth as (year, month, day) as written, valid or not.
    pub dob: (i32, u8, u8),
    /// 0: no date of birth; 1: `dob` holds its parts; 2: only digits (in `Prepared`).
    pub dob_kind: u8,
    /// Hash of the date's digits.
    pub dob_value: u64,
    /// Birth year from the date or the approximate year; `i32::MIN` when unknown.
    pub birth_year: i32,
    pub aliases: u8,
    pub middles: u8,
}

/// A record normalised for comparison and blocking.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub id: String,
    pub first: String,
    pub first_code: String,
    pub first_groups: &'static [u32],
    pub hot: Hot,
    pub middles: Vec<String>,
    pub surname: String,
    pub surname_code: String,
    pub aliases: Vec<NamePair>,
    pub dob: Option<Dob>,
    /// The date's digits for edit distance (`YYYYMMDD` when the parts are known).
    pub dob_digits: String,
    pub birth_year: Option<i32>,
    pub gender: Option<String>,
    pub postcode: Option<PreparedPostcode>,
    pub address: Option<String>,
    /// Words of the address containing digits (house and flat numbers), sorted.
    pub address_numbers: Vec<String>,
    pub phone: Option<String>,
    pub school: Option<String>,
    pub email: Option<String>,
    pub town: Option<String>,
}

fn clean(value: &Option<String>, f: impl Fn(&str) -> String) -> Option<String> {
    value.as_deref().map(f).filter(|s| !s.is_empty())
}

/// Canonical gender codes so "Male", "M" and "boy" compare equal.
fn normalise_gender(raw: &str) -> String {
    match normalise_name(raw).as_str() {
        "m" | "male" | "man" | "boy" => "m".into(),
        "f" | "female" | "woman" | "girl" => "f".into(),
        "" | "u" | "unknown" | "not known" | "not stated" | "prefer not to say" => String::new(),
        other => other.to_string(),
    }
}

/// Schools are compared without the generic words that every name carries.
fn normalise_school(raw: &str) -> String {
    normalise_text(raw)
        .split(' ')
        .filter(|w| !matches!(*w, "school" | "the" | "academy" | "college" | "high" | "of"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hash of a text, 0 for empty; a real hash of 0 is moved to 1 so 0 always means missing.
pub(crate) fn text_hash(s: &str) -> u64 {
    if s.is_empty() {
        return 0;
    }
    let mut h = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(s, &mut h);
    std::hash::Hasher::finish(&h).max(1)
}

fn opt_hash(s: Option<&str>) -> u64 {
    s.map_or(0, text_hash)
}

impl Hot {
    fn of(p: &Prepared) -> Hot {
        let nums = &p.address_numbers;
        let mut address_nums = [0u64; 2];
        for (slot, n) in address_nums.iter_mut().zip(nums) {
            *slot = text_hash(n);
        }
        let tail = p
            .phone
            .as_deref()
            .and_then(|s| s.get(s.len().saturating_sub(9)..))
            .filter(|t| t.len() == 9 && t.bytes().all(|c| c.is_ascii_digit()));
        Hot {
            first: text_hash(&p.first),
            surname: text_hash(&p.surname),
            school: opt_hash(p.school.as_deref()),
            first_initial: p.first.bytes().next().unwrap_or(0),
            surname_initial: p.surname.bytes().next().unwrap_or(0),
            postcode: opt_hash(p.postcode.as_ref().map(|x| x.full.as_str())),
            sector: opt_hash(p.postcode.as_ref().and_then(|x| x.sector.as_deref())),
            district: opt_hash(p.postcode.as_ref().and_then(|x| x.district.as_deref())),
            address: opt_hash(p.address.as_deref()),
            address_nums,
            address_num_count: if nums.len() > 2 {
                255
            } else {
                nums.len() as u8
            },
            phone: opt_hash(p.phone.as_deref()),
            phone_tail: opt_hash(tail),
            gender: opt_hash(p.gender.as_deref()),
            email: opt_hash(p.email.as_deref()),
            town: opt_hash(p.town.as_deref()),
            dob: p.dob.as_ref().and_then(Dob::parts).unwrap_or((0, 0, 0)),
            dob_value: text_hash(&p.dob_digits),
            dob_kind: match &p.dob {
                None => 0,
                Some(Dob::Digits(_)) => 2,
                Some(_) => 1,
            },
            birth_year: p.birth_year.unwrap_or(i32::MIN),
            aliases: p.aliases.len().min(255) as u8,
            middles: p.middles.len().min(255) as u8,
        }
    }
}

fn address_numbers(address: Option<&str>) -> Vec<String> {
    let mut v: Vec<String> = address
        .unwrap_or("")
        .split(' ')
        .filter(|w| w.bytes().any(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

impl Prepared {
    /// Normalises every field of a record once.
    pub fn new(r: &PersonRecord) -> Prepared {
        let mut p = Prepared::without_hot(r);
        p.hot = Hot::of(&p);
        p
    }

    fn without_hot(r: &PersonRecord) -> Prepared {
        let first = clean(&r.first_name, normalise_name).unwrap_or_default();
        let surname = clean(&r.surname, normalise_name).unwrap_or_default();
        let aliases = r
            .aliases
            .iter()
            .filter_map(|a| {
                let n = normalise_name(a);
                let mut words = n.split(' ').filter(|w| !w.is_empty());
                let first = words.next()?.to_string();
                let last = words.collect::<Vec<_>>().join(" ");
                Some(NamePair { first, last })
            })
            .collect();
        let postcode = r
            .postcode
            .as_deref()
            .and_then(|raw| match Postcode::parse(raw) {
                Some(p) => Some(PreparedPostcode {
                    full: p.to_string(),
                    sector: Some(p.sector()),
                    district: Some(p.district().to_string()),
                }),
                None => {
                    let full: String = raw
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .map(|c| c.to_ascii_uppercase())
                        .collect();
                    (!full.is_empty()).then_some(PreparedPostcode {
                        full,
                        sector: None,
                        district: None,
                    })
                }
            });
        let address = clean(&r.address_line, normalise_text);
        let school = clean(&r.school, normalise_school);
        let dob = r.dob.as_deref().and_then(Dob::read);
        Prepared {
            hot: Hot::default(),
            id: r.id.clone(),
            first_code: metaphone(&first),
            first_groups: name_groups(&first),
            middles: clean(&r.middle_names, normalise_name)
                .map(|m| m.split(' ').map(str::to_string).collect())
                .unwrap_or_default(),
            surname_code: metaphone(&surname),
            first,
            surname,
            aliases,
            dob_digits: dob.as_ref().map(Dob::digits).unwrap_or_default(),
            birth_year: dob.as_ref().and_then(Dob::year).or(r.approx_birth_year),
            dob,
            gender: clean(&r.gender, normalise_gender),
            postcode,
            address_numbers: address_numbers(address.as_deref()),
            address,
            phone: r.phone.as_deref().and_then(normalise_phone),
            school,
            email: r.email.as_deref().and_then(normalise_email),
            town: clean(&r.town, normalise_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_normalises_every_field() {
        let r = PersonRecord {
            id: "1".into(),
            first_name: Some(" Zoë ".into()),
            surname: Some("O'Neill".into()),
            aliases: vec!["Jay  Smith-Jones".into(), "  ".into()],
            gender: Some("Female".into()),
            postcode: Some("w111aa".into()),
            address_line: Some("3 Acre Rd".into()),
            phone: Some("07700 900123".into()),
            school: Some("Holland Park School".into()),
            email: Some(" A@B.com".into()),
            ..Default::default()
        };
        let p = Prepared::new(&r);
        assert_eq!(p.first, "zoe");
        assert_eq!(p.surname, "oneill");
        assert_eq!(p.aliases.len(), 1);
        assert_eq!(p.aliases[0].first, "jay");
        assert_eq!(p.aliases[0].last, "smith jones");
        assert_eq!(p.gender.as_deref(), Some("f"));
        let pc = p.postcode.expect("postcode");
        assert_eq!(pc.full, "W11 1AA");
        assert_eq!(pc.sector.as_deref(), Some("W11 1"));
        assert_eq!(p.address.as_deref(), Some("3 acre road"));
        assert_eq!(p.phone.as_deref(), Some("+447700900123"));
        assert_eq!(p.school.as_deref(), Some("holland park"));
        assert_eq!(p.email.as_deref(), Some("a@b.com"));
    }
}
