//! `pathways demo`: a fictional borough generated deterministically from a seed on a fresh
//! database, served at once, with the demo sign-ins printed.

use std::path::PathBuf;

use anyhow::Context;
use pathways_domain::{AgencyKind, Role, RoleSet};
use pathways_store::{NewUser, Store};

use crate::config::{LogFormat, Settings};
use crate::serve;

/// The password of every demo account. Demo data only; never used outside the demo.
pub const DEMO_PASSWORD: &str = "demo-borough-2026";

/// Options of `pathways demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Seed for the generated borough; the same seed gives the same borough.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Folder for the demo database (recreated on every start).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pathways-demo"))]
    pub data_dir: PathBuf,
    /// Build the demo database, print the sign-ins and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// One agency of the fictional borough with its staff: (name, kind, [(name, email local part, roles)]).
type Staff = (&'static str, &'static str, &'static [Role]);
const BOROUGH: &[(&str, AgencyKind, &[Staff])] = &[
    (
        "Riverside Council Early Help and Outreach",
        AgencyKind::CouncilTeam,
        &[
            ("Amara Okafor", "amara.okafor", &[Role::Practitioner]),
            ("Dev Patel", "dev.patel", &[Role::Manager]),
            ("Grace Mensah", "grace.mensah", &[Role::PanelCoordinator]),
            ("Sam Whitfield", "sam.whitfield", &[Role::Administrator]),
        ],
    ),
    (
        "Riverside Council Community Safety",
        AgencyKind::CouncilTeam,
        &[
            ("Lena Kowalski", "lena.kowalski", &[Role::Analyst]),
            ("Tom Harris", "tom.harris", &[Role::DirectoryEditor]),
        ],
    ),
    (
        "Riverside Children's Social Care",
        AgencyKind::ChildrensSocialCare,
        &[("Helen Adeyemi", "helen.adeyemi", &[Role::Practitioner])],
    ),
    (
        "Metropolitan Police, Riverside",
        AgencyKind::Police,
        &[("PC Daniel Reid", "daniel.reid", &[Role::PartnerReferrer])],
    ),
    (
        "Probation Service, Riverside",
        AgencyKind::Probation,
        &[("Ruth Campbell", "ruth.campbell", &[Role::PartnerReferrer])],
    ),
    (
        "Northgate Academy",
        AgencyKind::School,
        &[("Ms Priya Shah", "priya.shah", &[Role::PartnerReferrer])],
    ),
    (
        "Riverside Homes",
        AgencyKind::HousingProvider,
        &[("Kwame Asante", "kwame.asante", &[Role::PartnerReferrer])],
    ),
    (
        "Riverside Health Partnership",
        AgencyKind::Health,
        &[("Dr Fiona Byrne", "fiona.byrne", &[Role::PartnerReferrer])],
    ),
    (
        "Westway Youth Club",
        AgencyKind::YouthService,
        &[("Jordan Blake", "jordan.blake", &[Role::PartnerReferrer])],
    ),
    (
        "Turning Point Riverside",
        AgencyKind::SubstanceMisuse,
        &[("Nadia Rahman", "nadia.rahman", &[Role::Practitioner])],
    ),
    (
        "Riverside VAWG Partnership (hub)",
        AgencyKind::ConsortiumHub,
        &[(
            "Maya Thompson",
            "maya.thompson",
            &[Role::Practitioner, Role::PanelCoordinator],
        )],
    ),
    (
        "Safe Haven Refuge",
        AgencyKind::VawgSpecialist,
        &[("Olivia Grant", "olivia.grant", &[Role::Practitioner])],
    ),
    (
        "Riverside IDVA Service",
        AgencyKind::VawgSpecialist,
        &[("Chloe Evans", "chloe.evans", &[Role::Practitioner])],
    ),
    ("Women's Aid Riverside", AgencyKind::VawgSpecialist, &[]),
    (
        "Sister Circle (by and for)",
        AgencyKind::VawgSpecialist,
        &[],
    ),
    ("Rape Crisis Riverside", AgencyKind::VawgSpecialist, &[]),
    ("Stalking Advocacy Service", AgencyKind::VawgSpecialist, &[]),
    (
        "Karma Ashanti Honour Abuse Support",
        AgencyKind::VawgSpecialist,
        &[],
    ),
    (
        "Children Affected by Abuse Project",
        AgencyKind::VawgSpecialist,
        &[],
    ),
    (
        "Men's Advice and Change Project",
        AgencyKind::VawgSpecialist,
        &[],
    ),
    ("Riverside Faith Forum", AgencyKind::Voluntary, &[]),
];

/// Domain of every demo e-mail address (reserved for documentation, never delivered).
pub const DEMO_DOMAIN: &str = "riverside.example";

/// Fills an empty store with the fictional borough's agencies and users.
pub async fn seed(store: &Store, seed: u64) -> anyhow::Result<Vec<(String, String, String)>> {
    let _ = seed; // The borough's agencies and staff are fixed; generated records use the seed.
    let app = pathways_app::App::new(store.clone(), pathways_app::Settings::default());
    let demo = pathways_app::Caller::system("demo");
    let hash = pathways_app::identity::hash_password(DEMO_PASSWORD)?;
    let mut logins = Vec::new();
    for (name, kind, staff) in BOROUGH {
        let agency = pathways_app::agencies::create(&app, &demo, name, kind.key()).await?;
        for (person, local, roles) in *staff {
            let email = format!("{local}@{DEMO_DOMAIN}");
            pathways_app::identity::create_account(
                &app,
                &demo,
                &NewUser {
                    agency_id: agency.id.clone(),
                    email: email.clone(),
                    display_name: person.to_string(),
                    roles: RoleSet::new(roles.to_vec()),
                    password_hash: Some(hash.clone()),
                },
            )
            .await?;
            let role_names = roles
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
                .join(", ");
            logins.push((email, role_names, name.to_string()));
        }
    }
    let app = pathways_app::App::new(store.clone(), pathways_app::Settings::default());
    crate::demo_referrals::seed_referrals(&app, seed).await?;
    crate::demo_cases::seed_cases(&app, seed, DEMO_DOMAIN).await?;
    crate::demo_panels::seed_panels(store, DEMO_DOMAIN).await?;
    crate::directory::seed_demo(store).await?;
    Ok(logins)
}

/// Builds the demo database and serves it.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir)
            .with_context(|| format!("cannot clear the demo folder {}", args.data_dir.display()))?;
    }
    let mut settings = Settings {
        listen: args.listen,
        database_url: args.data_dir.join("pathways-demo.db").display().to_string(),
        audit_key: args.data_dir.join(crate::config::AUDIT_KEY_FILE),
        log_format: LogFormat::Human,
        log: "warn".into(),
        web: pathways_web::WebSettings {
            service_name: "Pathways (demo: Riverside)".into(),
            public_url: format!("http://{}", args.listen),
            // Demo accounts sign in with a password alone; real deployments require TOTP.
            require_totp_for_case_roles: false,
            data_dir: args.data_dir.clone(),
            ..pathways_web::WebSettings::default()
        },
        store: pathways_store::StoreOptions::defaults_for("demo.db"),
        limits: crate::server::Limits::default(),
        app: pathways_app::Settings {
            public_url: format!("http://{}", args.listen),
            ..pathways_app::Settings::default()
        },
        notify: pathways_web::notify::NotifySettings::default(),
    };
    serve::init_logging(&settings);
    settings.load_server_secrets()?;
    let listener = if args.no_serve {
        None
    } else {
        Some(serve::bind(args.listen).await?)
    };
    let store = settings.connect().await?;
    let logins = seed(&store, args.seed).await?;
    let (dir, seed_value) = (args.data_dir.clone(), args.seed);
    let area =
        tokio::task::spawn_blocking(move || crate::demo_insight::seed_crime(&dir, seed_value))
            .await
            .context("crime data generation stopped")??;
    println!(
        "Pathways demo: the fictional London Borough of Riverside (seed {}).",
        args.seed
    );
    println!();
    println!("Sign in with any of these (password for all: {DEMO_PASSWORD}):");
    let width = logins.iter().map(|l| l.0.len()).max().unwrap_or(0);
    for (email, roles, agency) in &logins {
        println!("  {email:<width$}  {roles} — {agency}");
    }
    println!(
        "Crime data: three years for three synthetic boroughs; the problem profile is at /insight?area={area}"
    );
    println!();
    match listener {
        None => {
            println!("Demo database written to {}", settings.database_url);
            Ok(())
        }
        Some(listener) => {
            println!(
                "Open http://{} in a browser. Press Ctrl-C to stop.",
                args.listen
            );
            serve::run_until_shutdown(
                listener,
                store,
                settings.web,
                settings.app,
                settings.notify,
                settings.limits,
            )
            .await
        }
    }
}
