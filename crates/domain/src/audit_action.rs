//! Every action the audit log records, with one spelling each. The stored key is what the
//! chain hashes and what older entries already hold; the label is how the audit log, the
//! access log and `audit verify` describe it to people.

use crate::vocabulary;

vocabulary! {
    /// What was done.
    pub enum AuditAction("audit action") {
        // Signing in and accounts.
        /// Signed in.
        Login => "login", "Signed in",
        /// The password was accepted; a second factor is still to come.
        LoginPasswordOk => "login_password_ok", "Gave the password",
        /// A sign-in was refused (wrong password or code, unknown account).
        LoginFailed => "login_failed", "Sign-in refused",
        /// The second step of signing in (authenticator or recovery code).
        LoginSecondFactor => "login_second_factor", "Gave the second factor",
        /// Sign-in attempts were throttled.
        LoginThrottled => "login_throttled", "Sign-in throttled",
        /// Signed out.
        Logout => "logout", "Signed out",
        /// Asked for a password reset link.
        PasswordResetRequested => "password_reset_requested", "Asked to reset the password",
        /// Set a new password from a reset link.
        PasswordReset => "password_reset", "Reset the password",
        /// Accepted an invitation and set a password.
        InvitationAccepted => "invitation_accepted", "Accepted an invitation",
        /// Set up an authenticator.
        SecondFactorEnrolled => "second_factor_enrolled", "Set up an authenticator",
        /// An administrator reset someone's authenticator.
        SecondFactorReset => "second_factor_reset", "Reset an authenticator",
        /// A change of authenticator was refused (wrong password).
        SecondFactorChangeRefused => "second_factor_change_refused", "Authenticator change refused",
        /// A one-time link was refused (used, expired or unknown).
        LinkRefused => "link_refused", "One-time link refused",
        /// A request from another site, or without the form's token, was refused.
        CsrfRefused => "csrf_refused", "Cross-site request refused",
        /// An API token was refused.
        ApiTokenRefused => "api_token_refused", "API token refused",

        // Administration.
        /// Created an agency.
        AgencyCreated => "agency_created", "Created an agency",
        /// Archived an agency.
        AgencyArchived => "agency_archived", "Archived an agency",
        /// Restored an archived agency.
        AgencyRestored => "agency_restored", "Restored an agency",
        /// Made an agency a member of a consortium.
        ConsortiumMember => "consortium_member", "Added a consortium member",
        /// Invited a user.
        UserInvited => "user_invited", "Invited a user",
        /// Sent a new invitation or password reset link.
        LinkSent => "link_sent", "Sent a one-time link",
        /// Sent a password reset link.
        ResetLinkSent => "reset_link_sent", "Sent a password reset link",
        /// Sent a new invitation to someone who had not accepted theirs.
        InvitationResent => "invitation_resent", "Sent a new invitation",
        /// Disabled a user's account.
        UserDisabled => "user_disabled", "Disabled an account",
        /// Enabled a user's account.
        UserEnabled => "user_enabled", "Enabled an account",
        /// Changed a user's roles, agency or status.
        PermissionChange => "permission_change", "Changed a user's access",
        /// Created an API token.
        TokenCreated => "token_created", "Created an API token",
        /// Revoked an API token.
        TokenRevoked => "token_revoked", "Revoked an API token",
        /// Published a version of a risk instrument.
        InstrumentPublished => "instrument_published", "Published a risk instrument version",
        /// Read an administrative record (a user, the outbox).
        RecordRead => "record_read", "Read an administrative record",
        /// Read the audit log.
        AuditLogViewed => "audit_log_viewed", "Read the audit log",
        /// Read who accessed a record.
        AccessLogViewed => "access_log_viewed", "Read a record's access log",
        /// Verified the audit chain.
        AuditVerified => "audit_verified", "Verified the audit log",

        // Referrals, triage and the person index.
        /// Made a referral.
        Create => "create", "Made a referral",
        /// Read a record.
        Read => "read", "Read",
        /// Read the status and outcome of one's own referral.
        ReadStatus => "read_status", "Read a referral's status",
        /// Was shown a possible match at triage.
        ReadCandidate => "read_candidate", "Was shown a possible match",
        /// Listed records (a queue, a list).
        List => "list", "Listed records",
        /// Opened a referral for triage.
        Triage => "triage", "Opened a referral for triage",
        /// Linked a referral to a person.
        LinkPerson => "link_person", "Linked a referral to a person",
        /// Recorded a triage decision.
        Decide => "decide", "Recorded a triage decision",
        /// Merged two records of one person.
        Merge => "merge", "Merged people",
        /// Undid a merge.
        Unmerge => "unmerge", "Undid a merge",
        /// Sent a message about a person.
        Message => "message", "Sent a message about a person",

        // Cases.
        /// Opened a case.
        CaseOpen => "case_open", "Opened a case",
        /// Read a case.
        CaseRead => "case_read", "Read a case",
        /// Asked to change a case.
        CaseEdit => "case_edit", "Asked to change a case",
        /// Exported cases.
        CaseExport => "case_export", "Exported cases",
        /// Viewed a caseload.
        CaseloadView => "caseload_view", "Viewed a caseload",
        /// Listed cases through the API.
        CaseListApi => "case_list_api", "Listed cases through the API",
        /// Read a case through the API.
        CaseReadApi => "case_read_api", "Read a case through the API",
        /// Added a chronology entry.
        CaseEntryAdd => "case_entry_add", "Added a chronology entry",
        /// Added a task.
        CaseTaskAdd => "case_task_add", "Added a task",
        /// Completed a task.
        CaseTaskDone => "case_task_done", "Completed a task",
        /// Changed the case plan.
        CasePlanEdit => "case_plan_edit", "Changed the case plan",
        /// Scheduled a review.
        CaseReviewSchedule => "case_review_schedule", "Scheduled a review",
        /// Recorded a review as held.
        CaseReviewHeld => "case_review_held", "Recorded a review",
        /// Changed the case team or lead worker.
        CaseTeamChange => "case_team_change", "Changed the case team",
        /// Put a case on hold or reopened it.
        CaseStatus => "case_status", "Changed a case's status",
        /// Closed a case.
        CaseClose => "case_close", "Closed a case",
        /// Changed a restricted record's access list.
        AccessList => "access_list", "Changed who can see a record",
        /// Changed a restricted address's access list.
        AddressAccessList => "address_access_list", "Changed who can see an address",
        /// Opened a restricted record in an emergency.
        BreakGlass => "break_glass", "Opened a restricted record in an emergency",
        /// Uploaded a document.
        DocumentUpload => "document_upload", "Uploaded a document",
        /// Downloaded a document.
        DocumentRead => "document_read", "Downloaded a document",
        /// Recorded a risk assessment.
        RiskAssessment => "risk_assessment", "Recorded a risk assessment",
        /// Scored answers through the API.
        RiskScoreApi => "risk_score_api", "Scored a risk instrument through the API",
        /// Referred a person to a service.
        ServiceReferralSend => "service_referral_send", "Referred to a service",
        /// Shared with a service without consent, on a recorded lawful basis.
        ShareWithoutConsent => "share_without_consent", "Shared without consent on a lawful basis",
        /// Read a service referral.
        ServiceReferralRead => "service_referral_read", "Read a service referral",
        /// Listed incoming service referrals.
        ServiceReferralsView => "service_referrals_view", "Listed incoming service referrals",
        /// Moved a service referral along its workflow.
        ServiceReferralStatus => "service_referral_status", "Changed a service referral's status",
        /// Allocated a service referral to a member organisation.
        ServiceReferralAllocate => "service_referral_allocate", "Allocated a service referral",

        // Panels.
        /// Created or changed a panel (members, chair, coordinator, schedule).
        PanelChange => "panel_change", "Changed a panel",
        /// Called a panel meeting.
        PanelMeetingCreate => "panel_meeting_create", "Called a panel meeting",
        /// Referred a case or person to a panel.
        PanelReferral => "panel_referral", "Referred to a panel",
        /// Accepted or declined a referral to a panel.
        PanelReferralDecide => "panel_referral_decide", "Decided a referral to a panel",
        /// Transferred a panel case to another area.
        PanelTransfer => "panel_transfer", "Transferred a panel case to another area",
        /// Built or changed a meeting's agenda.
        PanelAgendaBuild => "panel_agenda_build", "Built a panel agenda",
        /// Published an agenda to member agencies (opened the panel window).
        PanelAgendaPublish => "panel_agenda_publish", "Published a panel agenda",
        /// Read a panel agenda.
        PanelAgendaView => "panel_agenda_view", "Read a panel agenda",
        /// Recorded an agency's research for a case on an agenda.
        PanelResearch => "panel_research", "Recorded panel research",
        /// Chased outstanding research or overdue actions.
        PanelChase => "panel_chase", "Chased panel research and actions",
        /// Recorded the meeting (attendance, information shared, risks, minutes).
        PanelMeetingRecord => "panel_meeting_record", "Recorded a panel meeting",
        /// Read panel minutes.
        PanelMinutesRead => "panel_minutes_read", "Read panel minutes",
        /// Added a panel action.
        PanelActionAdd => "panel_action_add", "Added a panel action",
        /// Completed or closed a panel action.
        PanelActionChange => "panel_action_change", "Changed a panel action",
        /// Computed or exported a panel's data return.
        PanelDataReturn => "panel_data_return", "Exported a panel data return",
        /// Recorded a person's self-described characteristics.
        PersonCharacteristics => "person_characteristics", "Recorded a person's characteristics",

        // Directory.
        /// Added a service to the directory.
        DirectoryServiceCreate => "directory_service_create", "Added a service",
        /// Changed a directory service.
        DirectoryServiceUpdate => "directory_service_update", "Changed a service",
        /// Archived a directory service.
        DirectoryServiceArchive => "directory_service_archive", "Archived a service",
        /// Restored an archived directory service.
        DirectoryServiceRestore => "directory_service_restore", "Restored a service",
        /// Imported an Open Referral UK feed.
        DirectoryImport => "directory_import", "Imported a directory feed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_distinct_key_and_label() {
        let keys: std::collections::BTreeSet<&str> =
            AuditAction::ALL.iter().map(|a| a.key()).collect();
        assert_eq!(keys.len(), AuditAction::ALL.len());
        let labels: std::collections::BTreeSet<&str> =
            AuditAction::ALL.iter().map(|a| a.label()).collect();
        assert_eq!(labels.len(), AuditAction::ALL.len());
        assert_eq!(AuditAction::parse("case_open"), Ok(AuditAction::CaseOpen));
    }
}
