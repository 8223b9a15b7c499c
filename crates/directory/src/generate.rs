//! A deterministic generator of a realistic fictional London-borough directory, from a seed.
//! Used for the demo (a few hundred services) and benchmarks (tens of thousands).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Number;
use time::{Date, Duration};

use crate::model::{
    Accessibility, Address, Attribute, Contact, CostOption, Freq, Funding, Language, Location,
    LocationType, Organization, OrganizationIdentifier, Phone, Schedule, Service, ServiceArea,
    ServiceAtLocation, Status,
};
use crate::taxonomy::TermSet;
use crate::validate::{ValidService, validate_service};

/// Settings for [`generate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Seed: the same seed, size and date always give the same directory.
    pub seed: u64,
    /// Number of services.
    pub services: usize,
    /// "Today": assurance dates and modification times are set relative to it.
    pub today: Date,
}

/// Centre of the fictional borough (WGS84).
pub const CENTRE: (f64, f64) = (51.50, -0.19);

const NEIGHBOURHOODS: &[(&str, &str)] = &[
    ("Kenbridge", "W8"),
    ("Westbourne Vale", "W11"),
    ("Holland Gate", "W14"),
    ("Norland Rise", "W11"),
    ("Earls Reach", "SW5"),
    ("Brompton Cross", "SW7"),
    ("Cheyne Wharf", "SW10"),
    ("Golborne Green", "W10"),
    ("Ladbroke Fields", "W10"),
    ("Abingdon Park", "W8"),
];

const STREETS: &[&str] = &[
    "Marlow Terrace",
    "Ashcombe Street",
    "Lindley Road",
    "Pembury Gardens",
    "Tavistock Mews",
    "Colville Walk",
    "Hartland Road",
    "Sutherland Place",
    "Brackley Street",
    "Dalgarno Way",
    "Rillington Row",
    "Elmstead Avenue",
    "Cranley Close",
    "Ormiston Grove",
    "Verity Lane",
    "Sheldrake Place",
    "Wornington Road",
    "Treverton Street",
    "Kensal Parade",
    "Blenheim Crescent",
];

const BUILDINGS: &[&str] = &[
    "Community Centre",
    "Family Hub",
    "Youth Centre",
    "Health Centre",
    "Library",
    "Sports Centre",
    "Advice Centre",
    "Resource Centre",
];

/// Letters allowed in the inward part of a UK postcode.
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

const LANGUAGES: &[(&str, &str)] = &[
    ("Arabic", "ar"),
    ("Polish", "pl"),
    ("Portuguese", "pt"),
    ("Somali", "so"),
    ("Tigrinya", "ti"),
    ("Spanish", "es"),
    ("Farsi", "fa"),
    ("Bengali", "bn"),
    ("Turkish", "tr"),
    ("French", "fr"),
];

/// Organisation name, kind, and the term slugs it mostly works on.
const ORGS: &[(&str, &str, &[&str])] = &[
    (
        "Kenbridge Council",
        "council",
        &[
            "homelessness",
            "early-help",
            "parenting",
            "youth-clubs",
            "employment-support",
            "emergency-accommodation",
            "supported-accommodation",
        ],
    ),
    (
        "Vale Women's Aid",
        "charity",
        &[
            "domestic-abuse-advocacy",
            "refuge",
            "vawg",
            "domestic-abuse",
            "crisis-lines",
        ],
    ),
    (
        "Safe Harbour Refuges",
        "charity",
        &["refuge", "domestic-abuse", "emergency-accommodation"],
    ),
    (
        "Northside Youth Trust",
        "charity",
        &[
            "youth-clubs",
            "mentoring",
            "sport",
            "football",
            "young-victims",
            "youth",
        ],
    ),
    (
        "Harbour Counselling Service",
        "charity",
        &[
            "talking-therapies",
            "mental-health",
            "young-peoples-mental-health",
        ],
    ),
    (
        "Stepping Stones Recovery",
        "charity",
        &[
            "drugs",
            "alcohol",
            "young-peoples-substance-misuse",
            "substance-misuse",
        ],
    ),
    (
        "West London Rape Crisis Partnership",
        "charity",
        &["isva", "sarc", "sexual-violence"],
    ),
    (
        "Kenbridge Citizens Advice",
        "charity",
        &["legal-advice", "homelessness", "criminal-justice"],
    ),
    (
        "Golborne Family Network",
        "charity",
        &["parenting", "family-support", "early-help"],
    ),
    (
        "Vale Works",
        "social enterprise",
        &[
            "employment-support",
            "training",
            "apprenticeships",
            "employability",
        ],
    ),
    (
        "Honour Network West",
        "charity",
        &["honour-based-abuse", "forced-marriage", "fgm"],
    ),
    ("Paladin Stalking Advocacy West", "charity", &["stalking"]),
    (
        "Victim Care West London",
        "charity",
        &[
            "support-after-crime",
            "victim-support",
            "witness-support",
            "young-victims",
        ],
    ),
    (
        "Cheyne Wharf Boxing & Football Club",
        "club",
        &["sport", "football", "youth"],
    ),
    ("Earls Reach Running Club", "club", &["running", "sport"]),
    (
        "Brompton Shuttle Badminton",
        "club",
        &["badminton", "sport"],
    ),
    (
        "Kenbridge Mind",
        "charity",
        &["mental-health-crisis", "talking-therapies", "mental-health"],
    ),
    (
        "Second Chance Resettlement",
        "charity",
        &["resettlement", "employment-support", "criminal-justice"],
    ),
    (
        "Respect Change Project",
        "charity",
        &["behaviour-change", "domestic-abuse"],
    ),
    (
        "Kenbridge & Westbourne NHS Trust",
        "nhs",
        &[
            "fgm",
            "sarc",
            "mental-health-crisis",
            "young-peoples-mental-health",
        ],
    ),
    (
        "Westway Housing Association",
        "housing",
        &["supported-accommodation", "homelessness", "housing"],
    ),
    (
        "Crisis Line West",
        "charity",
        &["crisis-lines", "emergency-help", "mental-health-crisis"],
    ),
];

/// A service template: name stem, description, and age range (`None` = all ages).
type Template = (&'static str, &'static str, Option<(u32, u32)>);

/// Name stem, description, and age range for services of each term slug.
fn templates(slug: &str) -> &'static [Template] {
    match slug {
        "emergency-help" => &[(
            "Emergency Help Desk",
            "Same-day help for anyone in immediate difficulty: we find you somewhere safe, food and the right service. In an emergency always call 999.",
            Some((16, 120)),
        )],
        "crisis-lines" => &[
            (
                "24-Hour Crisis Line",
                "A free, confidential telephone line answered day and night by trained volunteers. Call us if you are frightened, overwhelmed or need someone to talk to.",
                None,
            ),
            (
                "Text Support Line",
                "Text us any time for confidential support from a trained volunteer. Texts do not show on your phone bill.",
                Some((13, 120)),
            ),
        ],
        "emergency-accommodation" => &[(
            "Out-of-Hours Emergency Housing",
            "If you have nowhere safe to sleep tonight, call our out-of-hours team. We arrange emergency accommodation and a housing assessment the next working day.",
            Some((18, 120)),
        )],
        "domestic-abuse" => &[(
            "Domestic Abuse Drop-In",
            "Talk in confidence to a specialist domestic abuse worker about what is happening at home, your options and staying safe. No appointment needed.",
            Some((16, 120)),
        )],
        "domestic-abuse-advocacy" => &[
            (
                "Independent Domestic Violence Advisers",
                "IDVAs support people at high risk of harm from a partner, ex-partner or family member: safety planning, the MARAC process, court and housing.",
                Some((16, 120)),
            ),
            (
                "Domestic Abuse Outreach",
                "Community outreach workers who meet you somewhere safe to plan for your safety and help with housing, money and children.",
                Some((16, 120)),
            ),
        ],
        "refuge" => &[
            (
                "Women's Refuge",
                "Safe, confidential accommodation for women and children escaping domestic abuse, with a key worker for each family. The address is never published: call the referral line.",
                Some((16, 120)),
            ),
            (
                "Safe House for Men",
                "Confidential supported accommodation for men escaping domestic abuse. Referrals by telephone.",
                Some((18, 120)),
            ),
        ],
        "vawg" => &[(
            "Women and Girls Safety Project",
            "Support for women and girls affected by harassment, exploitation and violence, including group work and one-to-one advocacy.",
            Some((13, 120)),
        )],
        "behaviour-change" => &[(
            "Choosing to Change Programme",
            "A 26-week group programme for people who have been abusive to a partner and want to stop, with support offered to their partners.",
            Some((18, 120)),
        )],
        "sexual-violence" => &[(
            "Sexual Violence Support Service",
            "Free, confidential emotional support and counselling for anyone affected by rape or sexual abuse, however long ago it happened.",
            Some((13, 120)),
        )],
        "isva" => &[(
            "Independent Sexual Violence Advisers",
            "ISVAs explain your options after rape or sexual assault, support you whether or not you report to the police, and stay with you through court.",
            Some((13, 120)),
        )],
        "sarc" => &[(
            "Sexual Assault Referral Centre",
            "Medical care, emergency contraception, forensic examination and support after a recent sexual assault. You do not have to report to the police.",
            Some((0, 120)),
        )],
        "stalking" => &[(
            "Stalking Advocacy Service",
            "Specialist advocates for people being stalked or harassed, online or in person: risk assessment, safety planning and help with protective orders.",
            Some((16, 120)),
        )],
        "honour-based-abuse" => &[(
            "Honour-Based Abuse Support",
            "Confidential advice and advocacy for people at risk of abuse in the name of honour, in several community languages.",
            Some((13, 120)),
        )],
        "forced-marriage" => &[(
            "Forced Marriage Advice Line",
            "Confidential advice if you or someone you know is being forced into marriage, in the UK or abroad.",
            Some((13, 120)),
        )],
        "fgm" => &[(
            "FGM Specialist Clinic",
            "Specialist health care, counselling and support for women and girls affected by female genital mutilation.",
            Some((0, 120)),
        )],
        "mental-health" => &[(
            "Wellbeing Cafe",
            "A relaxed weekly drop-in for anyone struggling with their mental health: peer support, activities and signposting.",
            Some((18, 120)),
        )],
        "talking-therapies" => &[
            (
                "Talking Therapies",
                "Free NHS talking therapies for anxiety, low mood and stress, including cognitive behavioural therapy and counselling. Refer yourself online or by phone.",
                Some((18, 120)),
            ),
            (
                "Community Counselling",
                "Low-cost counselling with trained counsellors, in person or by video, for adults going through a difficult time.",
                Some((18, 120)),
            ),
        ],
        "mental-health-crisis" => &[(
            "Crisis Cafe",
            "An evening safe space for adults in mental health crisis, as an alternative to A&E. Just turn up.",
            Some((18, 120)),
        )],
        "young-peoples-mental-health" => &[(
            "Young Minds Matter",
            "Free, confidential counselling and wellbeing support for young people aged 11 to 25.",
            Some((11, 25)),
        )],
        "substance-misuse" => &[(
            "Drug and Alcohol Advice Service",
            "Confidential advice and assessment for anyone worried about their own or someone else's drug or alcohol use.",
            Some((18, 120)),
        )],
        "drugs" => &[(
            "Drug Treatment and Recovery",
            "Treatment, harm reduction, needle exchange and recovery groups for people who use drugs.",
            Some((18, 120)),
        )],
        "alcohol" => &[(
            "Alcohol Recovery Service",
            "One-to-one support, detox planning and mutual aid groups for people who want to cut down or stop drinking.",
            Some((18, 120)),
        )],
        "young-peoples-substance-misuse" => &[(
            "Young People's Drug and Alcohol Team",
            "Friendly, confidential support for young people under 25 about drugs and alcohol, and for their families.",
            Some((11, 24)),
        )],
        "employability" => &[(
            "Jobs and Skills Hub",
            "Drop in for help finding work, training or volunteering, with a careers adviser.",
            Some((16, 120)),
        )],
        "employment-support" => &[
            (
                "Employment Support Programme",
                "One-to-one help with CVs, applications and interviews, and support in your first months of work.",
                Some((16, 120)),
            ),
            (
                "Youth Employment Coaching",
                "Coaching for young people not in education, employment or training to find work they enjoy.",
                Some((16, 24)),
            ),
        ],
        "training" => &[(
            "Adult Learning Courses",
            "Free and low-cost courses in English, maths, digital skills and vocational qualifications.",
            Some((19, 120)),
        )],
        "apprenticeships" => &[(
            "Apprenticeship Support",
            "Help finding and applying for apprenticeships with local employers.",
            Some((16, 24)),
        )],
        "family-support" => &[(
            "Family Support Service",
            "Family support workers help parents and children through difficult times at home.",
            Some((0, 120)),
        )],
        "parenting" => &[(
            "Parenting Programme",
            "Free group and one-to-one parenting courses for parents and carers of children of all ages.",
            Some((16, 120)),
        )],
        "early-help" => &[(
            "Early Help Team",
            "Family workers who help early, before problems get bigger: school attendance, behaviour, money and housing worries.",
            Some((0, 18)),
        )],
        "youth" => &[(
            "Youth Activities Programme",
            "Free activities for young people after school and in the holidays.",
            Some((11, 19)),
        )],
        "youth-clubs" => &[
            (
                "Youth Club",
                "An open-access youth club with games, music, cooking and trips, run by qualified youth workers.",
                Some((11, 19)),
            ),
            (
                "Junior Youth Club",
                "A safe, fun club for younger children after school.",
                Some((8, 12)),
            ),
        ],
        "mentoring" => &[(
            "Mentoring Scheme",
            "A trained volunteer mentor meets you every week to help with school, confidence and goals.",
            Some((10, 21)),
        )],
        "sport" => &[(
            "Multi-Sport Sessions",
            "Free multi-sport sessions: basketball, boxing fitness, table tennis and more.",
            Some((11, 25)),
        )],
        "football" => &[(
            "Midnight Football",
            "Free evening football for young people, with coaching and youth workers on hand.",
            Some((12, 25)),
        )],
        "running" => &[(
            "Community Running Club",
            "A friendly running club for all abilities, from beginners to half-marathon runners.",
            Some((14, 120)),
        )],
        "badminton" => &[(
            "Badminton Club",
            "Recreational and coached badminton sessions; rackets provided.",
            Some((11, 120)),
        )],
        "housing" => &[(
            "Housing Options",
            "Advice on finding somewhere to live, private renting, social housing and your rights as a tenant.",
            Some((16, 120)),
        )],
        "homelessness" => &[(
            "Homelessness Prevention Team",
            "If you are homeless or might lose your home in the next 56 days, we can help you keep your home or find another.",
            Some((16, 120)),
        )],
        "supported-accommodation" => &[(
            "Supported Housing for Young People",
            "Supported accommodation with a key worker for young people aged 16 to 25 who cannot live at home.",
            Some((16, 25)),
        )],
        "victim-support" => &[(
            "Victim Support Service",
            "Free, confidential support for anyone affected by crime, whether or not it was reported to the police.",
            Some((0, 120)),
        )],
        "support-after-crime" => &[(
            "Support After Crime",
            "Emotional and practical help after burglary, robbery, assault, hate crime or fraud.",
            Some((0, 120)),
        )],
        "young-victims" => &[(
            "Young Victims of Violence Service",
            "Caseworkers who support young people hurt or threatened by violence, including knife crime, from hospital onwards.",
            Some((10, 25)),
        )],
        "criminal-justice" => &[(
            "Criminal Justice Advice",
            "Plain-language help through the police and courts process for victims, witnesses and families.",
            Some((16, 120)),
        )],
        "witness-support" => &[(
            "Court and Witness Support",
            "Volunteers who support witnesses before, during and after giving evidence in court.",
            Some((0, 120)),
        )],
        "legal-advice" => &[(
            "Free Legal Advice Clinic",
            "Free legal advice on family law, protective orders, housing and immigration.",
            Some((16, 120)),
        )],
        "resettlement" => &[(
            "Through the Gate Resettlement",
            "Support for people leaving prison: housing, benefits, work and staying out of trouble.",
            Some((18, 120)),
        )],
        _ => &[(
            "Community Support Service",
            "Local support and signposting.",
            None,
        )],
    }
}

fn uuid(rng: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(rng.r#gen())
        .into_uuid()
        .to_string()
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn postcode(rng: &mut ChaCha8Rng, district: &str) -> String {
    let a = INWARD_LETTERS[rng.gen_range(0..INWARD_LETTERS.len())] as char;
    let b = INWARD_LETTERS[rng.gen_range(0..INWARD_LETTERS.len())] as char;
    format!("{district} {}{a}{b}", rng.gen_range(1..10))
}

fn phone(rng: &mut ChaCha8Rng) -> String {
    // 020 7946 0000-0999 is reserved by Ofcom for drama and fiction: never a real line.
    format!("020 7946 0{:03}", rng.gen_range(0..1000))
}

struct OrgInfo {
    org: Organization,
    domain: String,
    terms: Vec<String>,
}

fn make_orgs(rng: &mut ChaCha8Rng, terms: &TermSet) -> Vec<OrgInfo> {
    ORGS.iter()
        .map(|(name, kind, slugs)| {
            let id = uuid(rng);
            let domain = format!("{}.example", slug(name));
            let mut identifiers = Vec::new();
            if *kind == "charity" {
                identifiers.push(OrganizationIdentifier {
                    id: uuid(rng),
                    organization_id: Some(id.clone()),
                    identifier_scheme: Some("GB-CHC".into()),
                    identifier_type: "Charity number".into(),
                    identifier: format!("11{:05}", rng.gen_range(0..100_000)),
                    attributes: Vec::new(),
                });
            }
            let description = match *kind {
                "council" => {
                    format!("{name} provides local services for residents of the borough.")
                }
                "nhs" => format!("{name} provides NHS community and hospital services."),
                "club" => format!("{name} is a volunteer-run community sports club."),
                "housing" => format!(
                    "{name} is a housing association providing affordable and supported homes."
                ),
                "social enterprise" => {
                    format!("{name} is a social enterprise helping local people into work.")
                }
                _ => format!(
                    "{name} is a registered charity working with people across the borough."
                ),
            };
            OrgInfo {
                org: Organization {
                    id,
                    name: (*name).into(),
                    description,
                    email: Some(format!("hello@{domain}")),
                    website: Some(format!("https://{domain}/")),
                    logo: None,
                    uri: None,
                    parent_organization_id: None,
                    organization_identifiers: identifiers,
                    attributes: Vec::new(),
                },
                domain,
                terms: slugs
                    .iter()
                    .filter_map(|s| terms.terms().iter().find(|t| t.term.as_deref() == Some(*s)))
                    .map(|t| t.id.clone())
                    .collect(),
            }
        })
        .collect()
}

fn schedule_for(rng: &mut ChaCha8Rng, slug: &str, service_id: &str) -> Vec<Schedule> {
    let base =
        |rng: &mut ChaCha8Rng, freq: Freq, byday: &str, opens: &str, closes: &str, desc: &str| {
            Schedule {
                id: uuid(rng),
                service_id: Some(service_id.to_string()),
                service_at_location_id: None,
                valid_from: None,
                valid_to: None,
                dtstart: None,
                freq: Some(freq),
                interval: None,
                byday: Some(byday.to_string()),
                bymonthday: None,
                description: Some(desc.to_string()),
                opens_at: Some(opens.to_string()),
                closes_at: Some(closes.to_string()),
                schedule_link: None,
                attending_type: None,
                notes: None,
            }
        };
    match slug {
        "crisis-lines" | "emergency-accommodation" | "emergency-help" | "refuge" | "sarc" => {
            vec![base(
                rng,
                Freq::Weekly,
                "MO,TU,WE,TH,FR,SA,SU",
                "00:00",
                "24:00",
                "Open 24 hours a day, every day.",
            )]
        }
        "youth-clubs" | "youth" | "mentoring" => {
            let days = ["MO,WE,FR", "TU,TH", "MO,TU,TH"][rng.gen_range(0..3)];
            vec![base(
                rng,
                Freq::Weekly,
                days,
                "18:00",
                "21:00",
                "Evenings during term time and holidays.",
            )]
        }
        "football" => vec![base(
            rng,
            Freq::Weekly,
            "FR,SA",
            "20:00",
            "23:30",
            "Friday and Saturday nights.",
        )],
        "running" | "badminton" | "sport" => vec![
            base(
                rng,
                Freq::Weekly,
                "TU,TH",
                "18:30",
                "20:00",
                "Tuesday and Thursday evenings.",
            ),
            base(
                rng,
                Freq::Weekly,
                "SA",
                "09:00",
                "11:00",
                "Saturday mornings.",
            ),
        ],
        "mental-health-crisis" => vec![base(
            rng,
            Freq::Weekly,
            "MO,TU,WE,TH,FR,SA,SU",
            "18:00",
            "01:00",
            "Every evening, 6pm to 1am.",
        )],
        "legal-advice" | "mental-health" => {
            let mut s = base(
                rng,
                Freq::Monthly,
                "1TU,3TU",
                "10:00",
                "13:00",
                "First and third Tuesday of the month.",
            );
            s.interval = Some(Number::from(1));
            vec![s]
        }
        _ => {
            let opens = ["09:00", "09:30", "10:00"][rng.gen_range(0..3)];
            let closes = ["17:00", "17:30", "16:00"][rng.gen_range(0..3)];
            let mut v = vec![base(
                rng,
                Freq::Weekly,
                "MO,TU,WE,TH,FR",
                opens,
                closes,
                "Monday to Friday, office hours.",
            )];
            if rng.gen_bool(0.3) {
                v.push(base(
                    rng,
                    Freq::Weekly,
                    "WE",
                    "17:00",
                    "19:30",
                    "Late opening on Wednesdays.",
                ));
            }
            v
        }
    }
}

fn location(
    rng: &mut ChaCha8Rng,
    name: String,
    neighbourhood: (&str, &str),
    confidential: bool,
) -> Location {
    let id = uuid(rng);
    let lat = CENTRE.0 + rng.gen_range(-0.018..0.018);
    let lon = CENTRE.1 + rng.gen_range(-0.028..0.028);
    // Six decimal places (about 10 cm) is plenty and keeps documents tidy.
    let round = |x: f64| (x * 1e6).round() / 1e6;
    let street = STREETS[rng.gen_range(0..STREETS.len())];
    Location {
        id: id.clone(),
        location_type: LocationType::Physical,
        name: Some(name),
        description: None,
        latitude: Some(round(lat)),
        longitude: Some(round(lon)),
        external_identifier: None,
        external_identifier_type: None,
        addresses: vec![Address {
            id: uuid(rng),
            location_id: Some(id.clone()),
            attention: None,
            address_1: format!("{} {street}", rng.gen_range(1..240)),
            address_2: None,
            city: "London".into(),
            region: Some(neighbourhood.0.into()),
            state_province: "Greater London".into(),
            postal_code: postcode(rng, neighbourhood.1),
            country: "GB".into(),
            address_type: LocationType::Physical,
            attributes: Vec::new(),
        }],
        accessibility: if !confidential && rng.gen_bool(0.6) {
            vec![Accessibility {
                id: uuid(rng),
                location_id: Some(id),
                description: Some(
                    [
                        "Step-free entrance and accessible toilet.",
                        "Ground floor rooms, hearing loop at reception.",
                        "Lift to all floors; quiet room available.",
                    ][rng.gen_range(0..3)]
                    .into(),
                ),
                details: None,
                url: None,
                attributes: Vec::new(),
                accessibility: None,
            }]
        } else {
            Vec::new()
        },
        attributes: Vec::new(),
        confidential,
    }
}

fn attribute(rng: &mut ChaCha8Rng, service_id: &str, term_id: &str) -> Attribute {
    Attribute {
        id: uuid(rng),
        link_id: Some(service_id.to_string()),
        taxonomy_term_id: Some(term_id.to_string()),
        link_type: Some("need".into()),
        link_entity: Some("service".into()),
        value: None,
        taxonomy_term: None,
    }
}

/// Generates `opts.services` valid services spread across every term of `terms`.
pub fn generate(terms: &TermSet, opts: &GenerateOptions) -> Vec<ValidService> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let orgs = make_orgs(&mut rng, terms);
    let all_terms = terms.terms();
    let mut out = Vec::with_capacity(opts.services);
    let mut used_names: std::collections::HashSet<String> = std::collections::HashSet::new();
    for i in 0..opts.services {
        // Walk the taxonomy in turn so every term is used, then let the rest fall at random.
        let term = if i < all_terms.len() * 3 {
            &all_terms[i % all_terms.len()]
        } else {
            &all_terms[rng.gen_range(0..all_terms.len())]
        };
        let tslug = term.term.clone().unwrap_or_default();
        let candidates: Vec<&OrgInfo> =
            orgs.iter().filter(|o| o.terms.contains(&term.id)).collect();
        let org = if candidates.is_empty() {
            &orgs[rng.gen_range(0..orgs.len())]
        } else {
            candidates[rng.gen_range(0..candidates.len())]
        };
        let (stem, description, ages) = *templates(&tslug)
            .choose(&mut rng)
            .expect("every template list is non-empty");
        let hood = NEIGHBOURHOODS[rng.gen_range(0..NEIGHBOURHOODS.len())];
        let base_name = format!("{stem} – {}", hood.0);
        // Names stay unique so that people can tell services apart in a list.
        let mut name = base_name.clone();
        if used_names.contains(&name) {
            name = format!("{base_name} ({})", org.org.name);
        }
        let mut n = 2;
        while used_names.contains(&name) {
            name = format!("{base_name} ({}) {n}", org.org.name);
            n += 1;
        }
        used_names.insert(name.clone());
        let id = uuid(&mut rng);
        let is_refuge = tslug == "refuge";
        let phone_only = matches!(tslug.as_str(), "crisis-lines" | "forced-marriage");
        let mut sals = Vec::new();
        if is_refuge {
            let loc = location(&mut rng, format!("{} (confidential)", stem), hood, true);
            sals.push(ServiceAtLocation {
                id: uuid(&mut rng),
                service_id: Some(id.clone()),
                location_id: Some(loc.id.clone()),
                location: Some(loc),
            });
            if rng.gen_bool(0.4) {
                let loc = location(
                    &mut rng,
                    format!("{} Outreach Office", org.org.name),
                    hood,
                    false,
                );
                sals.push(ServiceAtLocation {
                    id: uuid(&mut rng),
                    service_id: Some(id.clone()),
                    location_id: Some(loc.id.clone()),
                    location: Some(loc),
                });
            }
        } else if !phone_only {
            let count = if rng.gen_bool(0.15) { 2 } else { 1 };
            for _ in 0..count {
                let building = BUILDINGS[rng.gen_range(0..BUILDINGS.len())];
                let loc = location(&mut rng, format!("{} {building}", hood.0), hood, false);
                sals.push(ServiceAtLocation {
                    id: uuid(&mut rng),
                    service_id: Some(id.clone()),
                    location_id: Some(loc.id.clone()),
                    location: Some(loc),
                });
            }
        }
        let mut attributes = vec![attribute(&mut rng, &id, &term.id)];
        if !org.terms.is_empty() && rng.gen_bool(0.25) {
            let extra = org.terms[rng.gen_range(0..org.terms.len())].clone();
            if extra != term.id {
                attributes.push(attribute(&mut rng, &id, &extra));
            }
        }
        let mut languages = vec![Language {
            id: uuid(&mut rng),
            service_id: Some(id.clone()),
            phone_id: None,
            name: Some("English".into()),
            code: Some("en".into()),
            note: None,
        }];
        for _ in 0..rng.gen_range(0..3) {
            let (lname, code) = LANGUAGES[rng.gen_range(0..LANGUAGES.len())];
            if !languages.iter().any(|l| l.code.as_deref() == Some(code)) {
                languages.push(Language {
                    id: uuid(&mut rng),
                    service_id: Some(id.clone()),
                    phone_id: None,
                    name: Some(lname.into()),
                    code: Some(code.into()),
                    note: Some("Interpreters available on request.".into()),
                });
            }
        }
        let is_sport = matches!(tslug.as_str(), "running" | "badminton" | "sport");
        let cost_options = if is_sport && rng.gen_bool(0.6) {
            vec![CostOption {
                id: uuid(&mut rng),
                service_id: Some(id.clone()),
                valid_from: None,
                valid_to: None,
                option: Some("Per session".into()),
                amount: Some(Number::from(rng.gen_range(1..6))),
                currency: Some("GBP".into()),
                amount_description: Some("Free for under-18s and people on benefits.".into()),
            }]
        } else {
            vec![CostOption {
                id: uuid(&mut rng),
                service_id: Some(id.clone()),
                valid_from: None,
                valid_to: None,
                option: Some("Everyone".into()),
                amount: Some(Number::from(0)),
                currency: Some("GBP".into()),
                amount_description: Some("Free of charge.".into()),
            }]
        };
        let contact_id = uuid(&mut rng);
        let contacts = vec![Contact {
            id: contact_id.clone(),
            service_id: Some(id.clone()),
            name: Some(if is_refuge {
                "Referral line".into()
            } else {
                "Duty worker".into()
            }),
            title: None,
            department: None,
            email: Some(format!("{}@{}", slug(stem), org.domain)),
            phones: vec![Phone {
                id: uuid(&mut rng),
                contact_id: Some(contact_id),
                number: phone(&mut rng),
                phone_type: Some("voice".into()),
                description: Some(
                    "Leave a message and we will call back within one working day.".into(),
                ),
                languages: Vec::new(),
            }],
            attributes: Vec::new(),
        }];
        let phones = vec![Phone {
            id: uuid(&mut rng),
            contact_id: None,
            number: phone(&mut rng),
            phone_type: Some("voice".into()),
            description: None,
            languages: Vec::new(),
        }];
        // About one in eight records has not been assured in the last three months.
        let assured_days_ago = if rng.gen_bool(0.125) {
            rng.gen_range(100..400)
        } else {
            rng.gen_range(1..85)
        };
        let assured = opts.today - Duration::days(assured_days_ago);
        let modified_days_ago = assured_days_ago + rng.gen_range(0..30);
        let modified = (opts.today - Duration::days(modified_days_ago))
            .with_hms(rng.gen_range(8..18), rng.gen_range(0..60), 0)
            .expect("valid time")
            .assume_utc();
        let status = match rng.gen_range(0..100) {
            0..=2 => Status::TemporarilyClosed,
            3 => Status::Inactive,
            _ => Status::Active,
        };
        let (minimum_age, maximum_age) = match ages {
            Some((lo, hi)) => (
                Some(Number::from(lo)),
                if hi >= 120 {
                    None
                } else {
                    Some(Number::from(hi))
                },
            ),
            None => (None, None),
        };
        let service = Service {
            id: id.clone(),
            organization_id: Some(org.org.id.clone()),
            name,
            description: Some(description.into()),
            url: Some(format!("https://{}/services/{}", org.domain, slug(stem))),
            email: Some(format!("{}@{}", slug(stem), org.domain)),
            status,
            fees: None,
            accreditations: None,
            minimum_age,
            maximum_age,
            assured_date: Some(assured.to_string()),
            assurer_email: Some("directory.team@kenbridge.example".into()),
            alert: if status == Status::TemporarilyClosed {
                Some(
                    "This service is temporarily closed. Please call for the latest information."
                        .into(),
                )
            } else {
                None
            },
            last_modified: Some(
                modified
                    .format(&time::format_description::well_known::Rfc3339)
                    .expect("UTC date-times always format"),
            ),
            schedules: schedule_for(&mut rng, &tslug, &id),
            service_areas: vec![ServiceArea {
                id: uuid(&mut rng),
                service_id: Some(id.clone()),
                name: Some("Royal Borough of Kenbridge".into()),
                extent: None,
                extent_type: None,
                uri: None,
                service_area: None,
            }],
            service_at_locations: sals,
            languages,
            organization: Some(org.org.clone()),
            funding: vec![Funding {
                id: uuid(&mut rng),
                service_id: Some(id.clone()),
                source: Some(
                    [
                        "Kenbridge Council",
                        "National Lottery Community Fund",
                        "Mayor's Office for Policing and Crime",
                        "NHS North West London",
                    ][rng.gen_range(0..4)]
                    .into(),
                ),
            }],
            cost_options,
            contacts,
            phones,
            program: None,
            attributes,
            metadata: Vec::new(),
        };
        out.push(validate_service(service, terms).expect("generated services are valid"));
    }
    out
}

/// The demo directory: 180 services from seed 42, assured relative to `today`.
pub fn demo(terms: &TermSet, today: Date) -> Vec<ValidService> {
    generate(
        terms,
        &GenerateOptions {
            seed: 42,
            services: 180,
            today,
        },
    )
}
