//! The web's own uses of keys: CSRF tokens bound to a session under the server's secret key,
//! and the QR code of a TOTP enrolment. Password hashes, tokens and TOTP codes are the
//! application's (`pathways_app::crypto`).

use hmac::{Hmac, Mac};
use pathways_store::ServerSecret;
use sha2::Sha256;

/// A CSRF token bound to a session: HMAC-SHA-256 of the session id under the server's CSRF
/// key (a secret kept in the data folder), so it can be checked without storing it and
/// cannot be computed by anyone who lacks the key.
pub fn csrf_token(key: &ServerSecret, session_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.bytes()).expect("HMAC takes any key length");
    mac.update(session_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The QR code of `data` as an inline SVG document rendered on the server.
pub fn qr_svg(data: &str) -> Option<String> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_per_key() {
        let key = ServerSecret::generate();
        assert_ne!(csrf_token(&key, "a"), csrf_token(&key, "b"));
        assert_eq!(csrf_token(&key, "a"), csrf_token(&key, "a"));
        assert_ne!(
            csrf_token(&key, "a"),
            csrf_token(&ServerSecret::generate(), "a")
        );
    }

    #[test]
    fn qr_code_renders_svg() {
        let svg = qr_svg(&pathways_app::crypto::totp_uri(
            "JBSWY3DPEHPK3PXP",
            "a@b.example",
            "Pathways",
        ))
        .expect("renders");
        assert!(svg.contains("<svg"));
    }
}
