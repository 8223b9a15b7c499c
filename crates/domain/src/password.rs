//! Password rules after current guidance: length, and refusal of common or breached
//! passwords; no composition rules.

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// The longest password accepted (hashing cost stays bounded).
pub const MAX_LENGTH: usize = 256;

const COMMON: &str = include_str!("common-passwords.txt");

/// Why a new password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Fewer than [`MIN_LENGTH`] characters.
    #[error("Password must be at least {MIN_LENGTH} characters")]
    TooShort,
    /// More than [`MAX_LENGTH`] characters.
    #[error("Password must be {MAX_LENGTH} characters or fewer")]
    TooLong,
    /// Found in the list of common and breached passwords.
    #[error("That password is too common; choose a longer phrase only you would use")]
    Common,
    /// Contains the account's e-mail name.
    #[error("Password must not contain your e-mail address")]
    ContainsEmail,
}

/// Checks a proposed password for the account with `email`.
pub fn check_new_password(password: &str, email: &str) -> Result<(), PasswordProblem> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Err(PasswordProblem::TooShort);
    }
    if len > MAX_LENGTH {
        return Err(PasswordProblem::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON
        .lines()
        .any(|c| !c.is_empty() && (lower == c || is_repeat_of(&lower, c)))
    {
        return Err(PasswordProblem::Common);
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err(PasswordProblem::ContainsEmail);
    }
    Ok(())
}

fn is_repeat_of(candidate: &str, common: &str) -> bool {
    // "passwordpassword" and "password123456" are no better than the common word.
    candidate.starts_with(common)
        && candidate[common.len()..]
            .chars()
            .all(|c| c.is_ascii_digit() || common.contains(c) || "!?.#".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(
            check_new_password("short", "a@b.c"),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(
            check_new_password("password1234", "a@b.c"),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            check_new_password("Password123!", "a@b.c"),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            check_new_password("jo.smith-is-great", "jo.smith@council.example"),
            Err(PasswordProblem::ContainsEmail)
        );
        assert_eq!(
            check_new_password("correct horse battery staple", "a@b.c"),
            Ok(())
        );
        assert_eq!(
            check_new_password(&"x".repeat(300), "a@b.c"),
            Err(PasswordProblem::TooLong)
        );
    }
}
