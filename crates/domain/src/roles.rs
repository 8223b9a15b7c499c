//! Roles are named sets of permissions. Routes ask for a permission, never for a role, so
//! a council can reshape roles without touching the code that enforces them.

use serde::{Deserialize, Serialize};

/// One thing a user may be allowed to do, independent of any particular record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Make a referral and follow its status.
    MakeReferral,
    /// Work cases the user is on the team of.
    WorkCases,
    /// Read any non-restricted case or person in the borough (triage, managers).
    ReadBoroughWide,
    /// Triage incoming referrals.
    TriageReferrals,
    /// Coordinate multi-agency panels.
    CoordinatePanels,
    /// View crime analysis and reports.
    ViewInsight,
    /// Edit the service directory.
    EditDirectory,
    /// See who accessed a record (access logs) and staff activity.
    ViewAccessLog,
    /// Open a restricted record in an emergency, giving a reason.
    BreakGlass,
    /// Manage agencies, users, roles and API tokens.
    Administer,
    /// Change who is on a restricted record's access lists, for records led by the user's
    /// own agency, without being on the list.
    ManageRestrictions,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 11] = [
        Permission::MakeReferral,
        Permission::WorkCases,
        Permission::ReadBoroughWide,
        Permission::TriageReferrals,
        Permission::CoordinatePanels,
        Permission::ViewInsight,
        Permission::EditDirectory,
        Permission::ViewAccessLog,
        Permission::BreakGlass,
        Permission::Administer,
        Permission::ManageRestrictions,
    ];

    /// The stable key used in API token scopes.
    pub fn key(self) -> &'static str {
        match self {
            Permission::MakeReferral => "make_referral",
            Permission::WorkCases => "work_cases",
            Permission::ReadBoroughWide => "read_borough_wide",
            Permission::TriageReferrals => "triage_referrals",
            Permission::CoordinatePanels => "coordinate_panels",
            Permission::ViewInsight => "view_insight",
            Permission::EditDirectory => "edit_directory",
            Permission::ViewAccessLog => "view_access_log",
            Permission::BreakGlass => "break_glass",
            Permission::Administer => "administer",
            Permission::ManageRestrictions => "manage_restrictions",
        }
    }

    /// Parses a stored key.
    pub fn parse(key: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.key() == key)
    }

    /// True for permissions that let a user read case files (TOTP is required for these by
    /// default).
    pub fn reads_cases(self) -> bool {
        matches!(
            self,
            Permission::WorkCases
                | Permission::ReadBoroughWide
                | Permission::TriageReferrals
                | Permission::CoordinatePanels
                | Permission::ViewAccessLog
                | Permission::BreakGlass
                | Permission::ManageRestrictions
        )
    }
}

/// A named set of permissions given to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Outreach, Early Help or specialist worker who works cases.
    Practitioner,
    /// Team manager: borough-wide read, triage, access logs, break-glass.
    Manager,
    /// Runs MARAC and MACE panels.
    PanelCoordinator,
    /// Community safety analyst: crime data and reports.
    Analyst,
    /// Maintains the service directory.
    DirectoryEditor,
    /// Runs the system: agencies, users, tokens.
    Administrator,
    /// A partner agency user who refers and sees outcomes of their own referrals only.
    PartnerReferrer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 7] = [
        Role::Practitioner,
        Role::Manager,
        Role::PanelCoordinator,
        Role::Analyst,
        Role::DirectoryEditor,
        Role::Administrator,
        Role::PartnerReferrer,
    ];

    /// The stable key stored in the database.
    pub fn key(self) -> &'static str {
        match self {
            Role::Practitioner => "practitioner",
            Role::Manager => "manager",
            Role::PanelCoordinator => "panel_coordinator",
            Role::Analyst => "analyst",
            Role::DirectoryEditor => "directory_editor",
            Role::Administrator => "administrator",
            Role::PartnerReferrer => "partner_referrer",
        }
    }

    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            Role::Practitioner => "Practitioner",
            Role::Manager => "Manager",
            Role::PanelCoordinator => "Panel coordinator",
            Role::Analyst => "Analyst",
            Role::DirectoryEditor => "Directory editor",
            Role::Administrator => "Administrator",
            Role::PartnerReferrer => "Partner referrer",
        }
    }

    /// Parses a stored key.
    pub fn parse(key: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == key)
    }

    /// The permissions this role grants.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Practitioner => &[MakeReferral, WorkCases],
            Role::Manager => &[
                MakeReferral,
                WorkCases,
                ReadBoroughWide,
                TriageReferrals,
                ViewAccessLog,
                BreakGlass,
                ViewInsight,
                ManageRestrictions,
            ],
            Role::PanelCoordinator => &[MakeReferral, WorkCases, CoordinatePanels],
            Role::Analyst => &[ViewInsight],
            Role::DirectoryEditor => &[EditDirectory],
            Role::Administrator => &[Administer, ViewAccessLog],
            Role::PartnerReferrer => &[MakeReferral],
        }
    }
}

/// The roles a user holds, and the union of their permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSet {
    roles: Vec<Role>,
}

impl RoleSet {
    /// A set from roles (duplicates removed, sorted).
    pub fn new(mut roles: Vec<Role>) -> RoleSet {
        roles.sort();
        roles.dedup();
        RoleSet { roles }
    }

    /// Parses the stored comma-separated form; unknown keys are an error naming the key.
    pub fn parse(stored: &str) -> Result<RoleSet, String> {
        let roles = stored
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|k| Role::parse(k).ok_or_else(|| format!("unknown role {k:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RoleSet::new(roles))
    }

    /// The stored comma-separated form.
    pub fn to_stored(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.key())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The roles, sorted.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// True when any role grants `p`.
    pub fn has(&self, p: Permission) -> bool {
        self.roles.iter().any(|r| r.permissions().contains(&p))
    }

    /// True when any held permission reads case files.
    pub fn reads_cases(&self) -> bool {
        Permission::ALL
            .into_iter()
            .any(|p| p.reads_cases() && self.has(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_set_round_trips_and_rejects_unknown_roles() {
        let set = RoleSet::parse("manager, practitioner,manager").expect("valid");
        assert_eq!(set.roles(), &[Role::Practitioner, Role::Manager]);
        assert_eq!(set.to_stored(), "practitioner,manager");
        assert_eq!(
            RoleSet::parse("wizard").unwrap_err(),
            "unknown role \"wizard\""
        );
    }

    #[test]
    fn partner_referrers_cannot_read_cases() {
        let referrer = RoleSet::new(vec![Role::PartnerReferrer]);
        assert!(referrer.has(Permission::MakeReferral));
        assert!(!referrer.reads_cases());
        assert!(RoleSet::new(vec![Role::Practitioner]).reads_cases());
        assert!(!RoleSet::new(vec![Role::Analyst]).has(Permission::WorkCases));
    }
}
