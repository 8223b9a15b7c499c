//! A deterministic generator of synthetic people with known truth: a clean population and a
//! second list of perturbed copies (typos, nicknames, swaps, moves) plus non-matching people.

use std::io;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use time::{Date, Month};

use crate::nicknames::variants_of;
use crate::normalize::{normalise_name, parse_date};
use crate::record::PersonRecord;

const FIRST_F: &[&str] = &[
    "Amelia",
    "Olivia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Sophie",
    "Emily",
    "Lily",
    "Freya",
    "Chloe",
    "Ella",
    "Charlotte",
    "Ruby",
    "Evie",
    "Poppy",
    "Hannah",
    "Jessica",
    "Megan",
    "Holly",
    "Elizabeth",
    "Catherine",
    "Margaret",
    "Rebecca",
    "Samantha",
    "Victoria",
    "Natalie",
    "Jennifer",
    "Abigail",
    "Eleanor",
    "Isabel",
    "Zainab",
    "Fatima",
    "Aisha",
    "Maryam",
    "Khadija",
    "Amina",
    "Layla",
    "Nadia",
    "Yasmin",
    "Jasmine",
    "Priya",
    "Ananya",
    "Harpreet",
    "Lakshmi",
    "Chioma",
    "Ngozi",
    "Folasade",
    "Temitope",
    "Funmilayo",
    "Abena",
    "Akua",
    "Efua",
    "Precious",
    "Blessing",
    "Imani",
    "Shanice",
    "Aaliyah",
    "Destiny",
    "Kayla",
    "Katarzyna",
    "Agnieszka",
    "Magdalena",
    "Malgorzata",
    "Karolina",
    "Aleksandra",
    "Natalia",
    "Olga",
    "Tatiana",
    "Svetlana",
    "Francesca",
    "Maria",
    "Teresa",
    "Rosa",
    "Carmen",
    "Dolores",
    "Eleni",
    "Siobhan",
    "Niamh",
    "Aoife",
    "Leanne",
    "Kerry",
    "Tracy",
    "Sharon",
    "Karen",
    "Zoe",
    "Bethany",
    "Leah",
    "Josephine",
    "Patricia",
    "Susan",
    "Louise",
    "Lucy",
    "Frances",
    "Harriet",
    "Deborah",
    "Anna",
];
const FIRST_M: &[&str] = &[
    "Oliver",
    "George",
    "Harry",
    "Noah",
    "Jack",
    "Leo",
    "Oscar",
    "Charles",
    "Thomas",
    "William",
    "James",
    "Alexander",
    "Benjamin",
    "Daniel",
    "Joseph",
    "Samuel",
    "Matthew",
    "Michael",
    "Robert",
    "Richard",
    "Edward",
    "Christopher",
    "Anthony",
    "Nicholas",
    "Jonathan",
    "Stephen",
    "Andrew",
    "Patrick",
    "Timothy",
    "Mohammed",
    "Ahmed",
    "Ibrahim",
    "Yusuf",
    "Omar",
    "Hassan",
    "Hussein",
    "Mustafa",
    "Abdullah",
    "Bilal",
    "Tariq",
    "Khalid",
    "Hamza",
    "Imran",
    "Rahul",
    "Arjun",
    "Aditya",
    "Rajesh",
    "Sanjay",
    "Krishna",
    "Chukwuemeka",
    "Oluwaseun",
    "Adebayo",
    "Babatunde",
    "Adewale",
    "Oluwafemi",
    "Kehinde",
    "Taiwo",
    "Kwame",
    "Kofi",
    "Kojo",
    "Emmanuel",
    "Tyrone",
    "Jermaine",
    "Marcus",
    "Jamal",
    "Deshawn",
    "Tremaine",
    "Wojciech",
    "Krzysztof",
    "Mateusz",
    "Lukasz",
    "Pawel",
    "Jakub",
    "Piotr",
    "Dmitri",
    "Ivan",
    "Vladimir",
    "Giuseppe",
    "Giovanni",
    "Alessandro",
    "Antonio",
    "Ricardo",
    "Rafael",
    "Alejandro",
    "Declan",
    "Eoin",
    "Sean",
    "Connor",
    "Callum",
    "Kieran",
    "Rhys",
    "Gareth",
    "Darren",
    "Liam",
    "Tyler",
    "Kyle",
    "Ryan",
    "Jayden",
    "Caleb",
    "Elijah",
    "Isaiah",
    "Nathaniel",
    "Zachary",
    "Dimitrios",
];
const SURNAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Khan",
    "Ali",
    "Ahmed",
    "Hussain",
    "Rahman",
    "Begum",
    "Islam",
    "Uddin",
    "Miah",
    "Chowdhury",
    "Hassan",
    "Mohamed",
    "Abdi",
    "Osman",
    "Farah",
    "Yusuf",
    "Ibrahim",
    "Omar",
    "Aziz",
    "Malik",
    "Qureshi",
    "Iqbal",
    "Shah",
    "Singh",
    "Kaur",
    "Sharma",
    "Gupta",
    "Kumar",
    "Mehta",
    "Joshi",
    "Desai",
    "Shah",
    "Nair",
    "Okafor",
    "Okonkwo",
    "Adeyemi",
    "Adebayo",
    "Oyelaran",
    "Ogunleye",
    "Balogun",
    "Afolabi",
    "Eze",
    "Nwosu",
    "Obi",
    "Mensah",
    "Owusu",
    "Boateng",
    "Asante",
    "Appiah",
    "Osei",
    "Agyeman",
    "Danso",
    "Campbell",
    "Francis",
    "Grant",
    "Stewart",
    "Henry",
    "Reid",
    "Brooks",
    "Gordon",
    "Forbes",
    "Bryan",
    "Nowak",
    "Kowalski",
    "Wisniewski",
    "Wojcik",
    "Kaminski",
    "Lewandowski",
    "Zielinski",
    "Szymanski",
    "Ivanov",
    "Petrov",
    "Popescu",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Garcia",
    "Rodriguez",
    "Fernandez",
    "Lopez",
    "Martinez",
    "Gonzalez",
    "Silva",
    "Santos",
    "Pereira",
    "Costa",
    "Papadopoulos",
    "Georgiou",
    "Christodoulou",
    "Nguyen",
    "Tran",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Wong",
    "Chan",
    "O'Brien",
    "O'Connor",
    "McCarthy",
    "Murray",
    "Byrne",
    "Doyle",
    "Kennedy",
    "Quinn",
    "Okoro",
    "Mwangi",
    "Kamara",
    "Sesay",
    "Conteh",
    "Bangura",
    "Koroma",
    "Diallo",
    "Traore",
    "Mohammed",
];
const STREETS: &[&str] = &[
    "Acre",
    "Latimer",
    "Ladbroke",
    "Portobello",
    "Golborne",
    "Lancaster",
    "Silchester",
    "Bramley",
    "Walmer",
    "Treadgold",
    "Kensal",
    "Harrow",
    "Elgin",
    "Westbourne",
    "Talbot",
    "Cambridge",
    "Oxford",
    "Chesterton",
    "Tavistock",
    "Powis",
    "Colville",
    "Ledbury",
    "Artesian",
    "Hereford",
    "Cornwall",
    "Holland",
    "Abbotsbury",
    "Addison",
    "Russell",
    "Fulham",
    "Lots",
    "Cremorne",
    "Edith",
    "Gunter",
    "Redcliffe",
    "Tregunter",
    "Drayton",
    "Onslow",
    "Pelham",
    "Elm Park",
    "Beaufort",
    "Oakley",
    "Glebe",
    "Manor",
    "Park",
    "Church",
    "Victoria",
    "Albert",
    "Queens",
    "Kings",
    "Station",
    "Mill",
    "Bridge",
    "Canal",
    "Market",
    "School",
];
const STREET_KINDS: &[&str] = &[
    "Road", "Street", "Avenue", "Gardens", "Place", "Square", "Close", "Lane", "Terrace",
    "Crescent",
];
const DISTRICTS: &[&str] = &[
    "W10", "W11", "W14", "W2", "W8", "W12", "W6", "SW3", "SW5", "SW7", "SW10", "SW6", "NW10",
    "NW6", "NW1", "N1", "N7", "N15", "N17", "N19", "E1", "E2", "E8", "E9", "E15", "SE1", "SE5",
    "SE15", "SE17", "SW9",
];
const SCHOOL_KINDS: &[&str] = &[
    "Academy",
    "School",
    "High School",
    "College",
    "Primary School",
];

/// How the second list is made from the first; the defaults give realistic, hard data.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Share of the second list that are perturbed copies of first-list people.
    pub overlap: f64,
    /// Share of non-matching second-list people who are siblings of a first-list person (same
    /// surname, home, phone): the hardest non-matches.
    pub sibling_share: f64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            overlap: 0.6,
            sibling_share: 0.15,
        }
    }
}

/// Two lists with truth: `a` is clean, `b` mixes perturbed copies and other people.
#[derive(Debug, Clone)]
pub struct GeneratedPair {
    /// The clean list (ids "A0000001", ...).
    pub a: Vec<PersonRecord>,
    /// The second list (ids "B0000001", ...).
    pub b: Vec<PersonRecord>,
    /// Cluster id of every record in `a`: equal ids across lists are the same person.
    pub clusters_a: Vec<u64>,
    /// Cluster id of every record in `b`.
    pub clusters_b: Vec<u64>,
}

impl GeneratedPair {
    /// True matching pairs as (a index, b index).
    pub fn true_pairs(&self) -> Vec<(usize, usize)> {
        let mut by_cluster = std::collections::HashMap::new();
        for (i, c) in self.clusters_a.iter().enumerate() {
            by_cluster.insert(*c, i);
        }
        self.clusters_b
            .iter()
            .enumerate()
            .filter_map(|(j, c)| by_cluster.get(c).map(|&i| (i, j)))
            .collect()
    }
}

/// Paths written by [`generate_pair`].
#[derive(Debug, Clone)]
pub struct GeneratedFiles {
    /// The clean list.
    pub a: PathBuf,
    /// The perturbed list.
    pub b: PathBuf,
    /// `id,cluster` for every record of both files.
    pub truth: PathBuf,
}

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or("")
}

fn random_dob(rng: &mut StdRng) -> Date {
    let year = rng.gen_range(2003..=2016);
    let month = Month::try_from(rng.gen_range(1..=12u8)).unwrap_or(Month::January);
    let day = rng.gen_range(1..=28u8);
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MIN)
}

fn random_home(rng: &mut StdRng) -> (String, String) {
    let postcode = format!(
        "{} {}{}{}",
        pick(rng, DISTRICTS),
        rng.gen_range(0..10),
        (b'A' + rng.gen_range(0..26u8)) as char,
        (b'A' + rng.gen_range(0..26u8)) as char
    );
    let address = format!(
        "{} {} {}",
        rng.gen_range(1..250),
        pick(rng, STREETS),
        pick(rng, STREET_KINDS)
    );
    (postcode, address)
}

fn random_phone(rng: &mut StdRng) -> String {
    format!(
        "07{:03} {:06}",
        rng.gen_range(100..1000),
        rng.gen_range(0..1_000_000)
    )
}

fn random_school(rng: &mut StdRng) -> String {
    format!("{} {}", pick(rng, STREETS), pick(rng, SCHOOL_KINDS))
}

fn new_person(rng: &mut StdRng, id: String) -> PersonRecord {
    let female = rng.gen_bool(0.5);
    let first = pick(rng, if female { FIRST_F } else { FIRST_M });
    let (postcode, address) = random_home(rng);
    let surname = pick(rng, SURNAMES).to_string();
    let middle = rng
        .gen_bool(0.3)
        .then(|| pick(rng, if female { FIRST_F } else { FIRST_M }).to_string());
    let email = rng.gen_bool(0.3).then(|| {
        format!(
            "{}.{}{}@example.com",
            normalise_name(first).replace(' ', ""),
            normalise_name(&surname).replace(' ', ""),
            rng.gen_range(1..100)
        )
    });
    PersonRecord {
        id,
        first_name: Some(first.to_string()),
        middle_names: middle,
        surname: Some(surname),
        aliases: Vec::new(),
        dob: Some(random_dob(rng).to_string()),
        approx_birth_year: None,
        gender: Some(if female { "F" } else { "M" }.to_string()),
        postcode: Some(postcode),
        address_line: Some(address),
        phone: Some(random_phone(rng)),
        school: Some(random_school(rng)),
        email,
        town: None,
    }
}

/// A sibling: same surname, home and home phone, another first name and birthday.
fn sibling_of(rng: &mut StdRng, p: &PersonRecord, id: String) -> PersonRecord {
    let mut s = new_person(rng, id);
    s.surname.clone_from(&p.surname);
    s.postcode.clone_from(&p.postcode);
    s.address_line.clone_from(&p.address_line);
    if rng.gen_bool(0.5) {
        s.phone.clone_from(&p.phone);
    }
    if rng.gen_bool(0.5) {
        s.school.clone_from(&p.school);
    }
    s
}

/// A clean population of `n` people (about one in eight a sibling of an earlier person).
pub fn generate_population(n: usize, seed: u64) -> Vec<PersonRecord> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut people: Vec<PersonRecord> = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("A{:07}", i + 1);
        let p = if i > 0 && rng.gen_bool(0.12) {
            let j = rng.gen_range(0..i);
            let source = people[j].clone();
            sibling_of(&mut rng, &source, id)
        } else {
            new_person(&mut rng, id)
        };
        people.push(p);
    }
    people
}

fn typo(rng: &mut StdRng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 3 {
        return s.to_string();
    }
    let i = rng.gen_range(1..c.len());
    match rng.gen_range(0..4) {
        0 => {
            c.remove(i);
        }
        1 => c.insert(i, (b'a' + rng.gen_range(0..26u8)) as char),
        2 => c[i] = (b'a' + rng.gen_range(0..26u8)) as char,
        _ => c.swap(i - 1, i),
    }
    c.into_iter().collect()
}

fn restyle_phone(rng: &mut StdRng, phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return phone.to_string();
    }
    match rng.gen_range(0..3) {
        0 => format!("+44 {}", &digits[1..]),
        1 => digits,
        _ => format!("({}) {}", &digits[..5], &digits[5..]),
    }
}

/// A perturbed copy of a person as another agency might record them.
pub fn perturb(rng: &mut StdRng, p: &PersonRecord, id: String) -> PersonRecord {
    let mut q = p.clone();
    q.id = id;
    if let Some(first) = q.first_name.clone() {
        let r: f64 = rng.r#gen();
        let nicks = variants_of(&normalise_name(&first));
        if r < 0.15 && !nicks.is_empty() {
            let n = nicks[rng.gen_range(0..nicks.len())];
            let mut cs = n.chars();
            q.first_name = cs
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + cs.as_str());
        } else if r < 0.27 {
            q.first_name = Some(typo(rng, &first));
        }
    }
    if let Some(s) = q.surname.clone() {
        if rng.gen_bool(0.12) {
            q.surname = Some(typo(rng, &s));
        }
    }
    if rng.gen_bool(0.05) {
        std::mem::swap(&mut q.first_name, &mut q.surname);
    }
    if rng.gen_bool(0.1) {
        q.first_name = q.first_name.map(|s| s.to_uppercase());
        q.surname = q.surname.map(|s| s.to_uppercase());
    }
    if rng.gen_bool(0.4) {
        q.middle_names = None;
    }
    if let Some(d) = q.dob.as_deref().and_then(|d| parse_date(d).ok()) {
        let r: f64 = rng.r#gen();
        let (y, m, day) = (d.year(), d.month() as u8, d.day());
        q.dob = if r < 0.06 && day <= 12 && day != m {
            Month::try_from(day)
                .ok()
                .and_then(|mm| Date::from_calendar_date(y, mm, m).ok())
        } else if r < 0.12 {
            let nd = if day < 28 { day + 1 } else { day - 1 };
            Date::from_calendar_date(y, d.month(), nd).ok()
        } else if r < 0.15 {
            Date::from_calendar_date(y + if rng.gen_bool(0.5) { 1 } else { -1 }, d.month(), day)
                .ok()
        } else if r < 0.23 {
            if rng.gen_bool(0.5) {
                q.approx_birth_year = Some(y + rng.gen_range(-1..=1));
            }
            None
        } else {
            Some(d)
        }
        .map(|d| d.to_string());
    }
    if rng.gen_bool(0.25) {
        let (pc, addr) = random_home(rng);
        q.postcode = Some(pc);
        q.address_line = Some(addr);
    } else if rng.gen_bool(0.3) {
        q.postcode = q.postcode.map(|s| s.to_lowercase().replace(' ', ""));
        q.address_line = q
            .address_line
            .map(|a| a.replace("Road", "Rd").replace("Street", "St"));
    }
    if rng.gen_bool(0.08) {
        q.postcode = None;
    }
    if rng.gen_bool(0.1) {
        q.address_line = None;
    }
    let r: f64 = rng.r#gen();
    q.phone = if r < 0.2 {
        Some(random_phone(rng))
    } else if r < 0.4 {
        None
    } else {
        q.phone.map(|ph| restyle_phone(rng, &ph))
    };
    if rng.gen_bool(0.15) {
        q.school = None;
    } else if rng.gen_bool(0.1) {
        q.school = Some(random_school(rng));
    }
    if rng.gen_bool(0.1) {
        q.gender = None;
    }
    if rng.gen_bool(0.5) {
        q.email = None;
    }
    q
}

/// Generates a clean list of `n` people and a second list of `n` records: perturbed copies of
/// an `overlap` share of them plus other people (some siblings), with cluster ids.
pub fn generate_people_pair(n: usize, seed: u64, opts: &GenerateOptions) -> GeneratedPair {
    let a = generate_population(n, seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut b = Vec::with_capacity(n);
    let mut clusters_b = Vec::with_capacity(n);
    let mut next_cluster = n as u64;
    for j in 0..n {
        let id = format!("B{:07}", j + 1);
        if !a.is_empty() && rng.gen_bool(opts.overlap) {
            let i = rng.gen_range(0..a.len());
            b.push(perturb(&mut rng, &a[i], id));
            clusters_b.push(i as u64);
        } else {
            let p = if !a.is_empty() && rng.gen_bool(opts.sibling_share) {
                let i = rng.gen_range(0..a.len());
                sibling_of(&mut rng, &a[i], id)
            } else {
                new_person(&mut rng, id)
            };
            b.push(perturb(&mut rng, &p, p.id.clone()));
            clusters_b.push(next_cluster);
            next_cluster += 1;
        }
    }
    // A clean list without duplicates: copies picked twice would be two B records of one
    // person, which is allowed (one person referred twice) and kept in the truth.
    GeneratedPair {
        clusters_a: (0..n as u64).collect(),
        a,
        b,
        clusters_b,
    }
}

/// Column names of generated CSV files.
pub const CSV_HEADER: [&str; 12] = [
    "id",
    "first_name",
    "middle_names",
    "surname",
    "dob",
    "approx_birth_year",
    "gender",
    "postcode",
    "address_line",
    "phone",
    "school",
    "email",
];

/// Writes people as CSV with [`CSV_HEADER`] columns (dates in ISO form).
pub fn write_people_csv(people: &[PersonRecord], path: &Path) -> io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(CSV_HEADER)?;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    for p in people {
        w.write_record([
            p.id.clone(),
            s(&p.first_name),
            s(&p.middle_names),
            s(&p.surname),
            p.dob.clone().unwrap_or_default(),
            p.approx_birth_year
                .map(|y| y.to_string())
                .unwrap_or_default(),
            s(&p.gender),
            s(&p.postcode),
            s(&p.address_line),
            s(&p.phone),
            s(&p.school),
            s(&p.email),
        ])?;
    }
    w.flush()
}

/// Generates a pair of lists (see [`generate_people_pair`]) and writes `a.csv`, `b.csv` and
/// `truth.csv` (`id,cluster`) into `dir`, which must exist.
pub fn generate_pair(
    n: usize,
    seed: u64,
    opts: &GenerateOptions,
    dir: &Path,
) -> io::Result<GeneratedFiles> {
    let pair = generate_people_pair(n, seed, opts);
    let files = GeneratedFiles {
        a: dir.join("a.csv"),
        b: dir.join("b.csv"),
        truth: dir.join("truth.csv"),
    };
    write_people_csv(&pair.a, &files.a)?;
    write_people_csv(&pair.b, &files.b)?;
    let mut w = csv::Writer::from_path(&files.truth)?;
    w.write_record(["id", "cluster"])?;
    for (p, c) in pair
        .a
        .iter()
        .zip(&pair.clusters_a)
        .chain(pair.b.iter().zip(&pair.clusters_b))
    {
        w.write_record([p.id.clone(), c.to_string()])?;
    }
    w.flush()?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_for_a_seed() {
        let x = generate_people_pair(200, 7, &GenerateOptions::default());
        let y = generate_people_pair(200, 7, &GenerateOptions::default());
        assert_eq!(x.a, y.a);
        assert_eq!(x.b, y.b);
        assert_eq!(x.clusters_b, y.clusters_b);
        let z = generate_people_pair(200, 8, &GenerateOptions::default());
        assert_ne!(x.b, z.b);
    }

    #[test]
    fn overlap_share_is_respected() {
        let g = generate_people_pair(2000, 1, &GenerateOptions::default());
        let matches = g.true_pairs().len();
        assert!((1050..=1350).contains(&matches), "{matches} true pairs");
        let perturbed = g
            .true_pairs()
            .iter()
            .filter(|&&(i, j)| g.a[i].first_name != g.b[j].first_name)
            .count();
        assert!(perturbed > 200, "only {perturbed} first names changed");
    }
}
