//! Steps every browser journey shares, done the way a person does them.

use crate::{Browser, E2eError, TestServer};

/// How many times a page element or URL is polled before a step gives up.
const ATTEMPTS: u32 = 200;

impl Browser {
    /// Signs a member of staff in through the real sign-in form: e-mail and password, then,
    /// when the server asks for a second factor, the current code of `totp_secret` from the
    /// authenticator. Returns once the dashboard is shown.
    pub async fn sign_in(
        &self,
        server: &TestServer,
        email: &str,
        password: &str,
        totp_secret: Option<&str>,
    ) -> Result<(), E2eError> {
        self.goto(&server.url("/login")).await?;
        let field = self.wait_for("#email", ATTEMPTS).await?;
        self.send_keys(&field, email).await?;
        let field = self.find("#password").await?;
        self.send_keys(&field, password).await?;
        let submit = self.find("form[action='/login'] button").await?;
        self.click(&submit).await?;
        if let Some(secret) = totp_secret {
            self.wait_for_url(&server.url("/login/two-factor"), ATTEMPTS)
                .await?;
            let code = pathways_app::crypto::totp_code(secret, pathways_store::now_unix())
                .ok_or_else(|| {
                    E2eError::Fixture(format!("the TOTP secret of {email} is not base32"))
                })?;
            let field = self.wait_for("#code", ATTEMPTS).await?;
            self.send_keys(&field, &code).await?;
            let submit = self.find("form[action='/login/two-factor'] button").await?;
            self.click(&submit).await?;
        }
        self.wait_for_url(&server.url("/dashboard"), ATTEMPTS).await
    }

    /// Signs out with the button in the header and waits for the sign-in page.
    pub async fn sign_out(&self, server: &TestServer) -> Result<(), E2eError> {
        let button = self.find(".pw-user form button").await?;
        self.click(&button).await?;
        self.wait_for_url(&server.url("/login?signed-out"), ATTEMPTS)
            .await
    }
}
