//! Outbox delivery: a background worker sends queued e-mail over SMTP and turns queued
//! in-app messages into notifications, retrying failures with exponential back-off.
//!
//! Any number of processes may run the worker on one database: each message is claimed by
//! one sender with a lease, marked sent by that sender in the statement that ends the
//! claim, and taken over by another sender only once the lease has run out (its sender
//! died). E-mail is delivered once unless a sender dies between the relay's acceptance and
//! the mark, or outlives its lease; then it may be sent again, and each message carries
//! its outbox id as the `Message-ID` so a relay or mail client can drop the repeat.
//! In-app notifications are exactly once (written and marked sent in one transaction).

use std::time::Duration;

use pathways_store::{OutboxMessage, Store, StoreError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Where and how to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// SMTP relay host (plain SMTP; TLS is the relay's business).
    pub smtp_host: String,
    /// SMTP relay port.
    pub smtp_port: u16,
    /// The sender address.
    pub from: String,
    /// The name this host gives in `EHLO`.
    pub helo: String,
    /// Seconds between passes over the outbox.
    pub poll_secs: u64,
    /// Attempts before a message is given up.
    pub max_attempts: i64,
    /// Wait after the first failure, doubled after each further failure.
    pub base_backoff_secs: i64,
    /// Longest wait between attempts.
    pub max_backoff_secs: i64,
    /// Seconds allowed for each network step.
    pub timeout_secs: u64,
    /// Seconds a sender holds a claimed message before another sender may take it over;
    /// longer than one message's slowest delivery (six network steps at `timeout_secs`).
    pub lease_secs: i64,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            smtp_host: "localhost".into(),
            smtp_port: 25,
            from: "pathways@localhost".into(),
            helo: "pathways.localhost".into(),
            poll_secs: 5,
            max_attempts: 8,
            base_backoff_secs: 60,
            max_backoff_secs: 6 * 3600,
            timeout_secs: 30,
            lease_secs: 300,
        }
    }
}

/// Why an e-mail could not be handed to the relay.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The relay could not be reached.
    #[error("cannot connect to the SMTP relay at {addr}: {source}")]
    Connect {
        /// host:port.
        addr: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The connection broke mid-conversation.
    #[error("SMTP connection failed during {stage}: {source}")]
    Io {
        /// The command being sent.
        stage: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The relay did not answer in time.
    #[error("the SMTP relay did not answer {stage} in time")]
    Timeout {
        /// The command being sent.
        stage: &'static str,
    },
    /// The relay refused a command.
    #[error("the SMTP relay refused {stage}: {reply}")]
    Refused {
        /// The command refused.
        stage: &'static str,
        /// The relay's reply, with its code.
        reply: String,
        /// True for 5xx replies: retrying will not help.
        permanent: bool,
    },
    /// The address cannot be used in an SMTP envelope.
    #[error("{0:?} is not a usable e-mail address")]
    BadAddress(String),
}

impl SmtpError {
    /// True when retrying cannot succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            SmtpError::Refused {
                permanent: true,
                ..
            } | SmtpError::BadAddress(_)
        )
    }
}

/// An e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email<'a> {
    /// Recipient address.
    pub to: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
    /// Unique id, used in the `Message-ID` header.
    pub id: &'a str,
}

fn check_address(a: &str) -> Result<(), SmtpError> {
    let ok = a.contains('@')
        && a.len() <= 254
        && !a
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "<>".contains(c));
    if ok {
        Ok(())
    } else {
        Err(SmtpError::BadAddress(a.to_string()))
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A header value safe to send: ASCII as is, anything else as an RFC 2047 encoded word;
/// line breaks (header injection) are removed either way.
fn header_text(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    if flat.is_ascii() {
        flat
    } else {
        format!("=?UTF-8?B?{}?=", base64(flat.as_bytes()))
    }
}

/// The message as sent after `DATA`: headers, CRLF line ends, dot-stuffed, ending `.`.
pub fn render_message(settings: &NotifySettings, email: &Email<'_>, now: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(now)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .unwrap_or_default();
    let domain = settings
        .from
        .split_once('@')
        .map(|(_, d)| d)
        .unwrap_or("localhost");
    let mut out = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@{domain}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        from = settings.from,
        to = email.to,
        subject = header_text(email.subject),
        id = email.id,
    );
    for line in email.body.replace("\r\n", "\n").split('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

struct Conversation {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    timeout: Duration,
}

impl Conversation {
    async fn reply(&mut self, stage: &'static str) -> Result<(u16, String), SmtpError> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let read = tokio::time::timeout(self.timeout, self.reader.read_line(&mut line))
                .await
                .map_err(|_| SmtpError::Timeout { stage })?
                .map_err(|source| SmtpError::Io { stage, source })?;
            if read == 0 {
                return Err(SmtpError::Io {
                    stage,
                    source: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the relay closed the connection",
                    ),
                });
            }
            text.push_str(line.trim_end());
            // "250-..." continues a multi-line reply; "250 ..." ends it.
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                let code = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
                return Ok((code, text));
            }
            text.push(' ');
        }
    }

    async fn expect(&mut self, stage: &'static str, ok: &[u16]) -> Result<(), SmtpError> {
        let (code, reply) = self.reply(stage).await?;
        if ok.contains(&code) {
            Ok(())
        } else {
            Err(SmtpError::Refused {
                stage,
                reply,
                permanent: (500..600).contains(&code),
            })
        }
    }

    async fn send(&mut self, stage: &'static str, data: &str, ok: &[u16]) -> Result<(), SmtpError> {
        tokio::time::timeout(self.timeout, self.writer.write_all(data.as_bytes()))
            .await
            .map_err(|_| SmtpError::Timeout { stage })?
            .map_err(|source| SmtpError::Io { stage, source })?;
        self.expect(stage, ok).await
    }
}

/// Sends one e-mail over plain SMTP to the configured relay.
pub async fn send_email(settings: &NotifySettings, email: &Email<'_>) -> Result<(), SmtpError> {
    check_address(email.to)?;
    check_address(&settings.from)?;
    let addr = format!("{}:{}", settings.smtp_host, settings.smtp_port);
    let timeout = Duration::from_secs(settings.timeout_secs.max(1));
    let stream = tokio::time::timeout(timeout, TcpStream::connect(&addr))
        .await
        .map_err(|_| SmtpError::Timeout { stage: "connect" })?
        .map_err(|source| SmtpError::Connect {
            addr: addr.clone(),
            source,
        })?;
    let (r, w) = stream.into_split();
    let mut c = Conversation {
        reader: BufReader::new(r),
        writer: w,
        timeout,
    };
    c.expect("greeting", &[220]).await?;
    c.send("EHLO", &format!("EHLO {}\r\n", settings.helo), &[250])
        .await?;
    c.send(
        "MAIL FROM",
        &format!("MAIL FROM:<{}>\r\n", settings.from),
        &[250],
    )
    .await?;
    c.send(
        "RCPT TO",
        &format!("RCPT TO:<{}>\r\n", email.to),
        &[250, 251],
    )
    .await?;
    c.send("DATA", "DATA\r\n", &[354]).await?;
    let message = render_message(settings, email, pathways_store::now_unix());
    c.send("message", &message, &[250]).await?;
    // The message is accepted; a failed QUIT changes nothing.
    let _ = c.send("QUIT", "QUIT\r\n", &[221]).await;
    Ok(())
}

/// Seconds to wait before the next attempt after `attempts` failed attempts (1, 2, ...).
pub fn backoff(settings: &NotifySettings, attempts: i64) -> i64 {
    let exp = u32::try_from((attempts - 1).clamp(0, 30)).unwrap_or(30);
    settings
        .base_backoff_secs
        .saturating_mul(1_i64 << exp)
        .min(settings.max_backoff_secs)
}

/// What one pass over the outbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Messages delivered.
    pub sent: usize,
    /// Messages that failed and will be retried.
    pub retrying: usize,
    /// Messages given up.
    pub given_up: usize,
}

/// Why one message could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The e-mail relay failed or refused.
    #[error(transparent)]
    Smtp(#[from] SmtpError),
    /// The in-app notification could not be written (for example, the user was removed).
    #[error("cannot write the in-app notification: {0}")]
    InApp(String),
    /// No transport exists for the message's channel.
    #[error("no delivery route for channel {0:?}")]
    NoRoute(String),
}

impl DeliveryError {
    /// True when retrying cannot succeed.
    pub fn is_permanent(&self) -> bool {
        match self {
            DeliveryError::Smtp(e) => e.is_permanent(),
            DeliveryError::InApp(_) => false,
            DeliveryError::NoRoute(_) => true,
        }
    }
}

async fn deliver_one(
    store: &Store,
    settings: &NotifySettings,
    owner: &str,
    m: &OutboxMessage,
) -> Result<(), DeliveryError> {
    match m.channel.as_str() {
        "email" => {
            let body = m.body_to_send();
            let email = Email {
                to: &m.recipient,
                subject: &m.subject,
                body: &body,
                id: &m.id,
            };
            send_email(settings, &email).await?;
            let held = store
                .mark_sent(&m.id, owner)
                .await
                .map_err(|e| DeliveryError::InApp(e.to_string()))?;
            if !held {
                tracing::warn!(message = %m.id, "sent after the claim ran out; another sender may repeat it");
            }
            Ok(())
        }
        // In-app messages carry the notification text as the subject and its link as the
        // body; writing it and marking the message sent is one transaction.
        "in_app" => store
            .deliver_in_app(&m.id, &m.recipient, "referral_update", &m.subject, &m.body)
            .await
            .map_err(|e| DeliveryError::InApp(e.to_string())),
        other => Err(DeliveryError::NoRoute(other.to_string())),
    }
}

/// Messages one pass delivers at most, so a pass ends and the worker stays responsive.
const PASS_LIMIT: usize = 500;

/// One pass: claims due messages one at a time as `owner` and delivers each, recording its
/// outcome, until none is due (or [`PASS_LIMIT`]).
pub async fn deliver_due(
    store: &Store,
    settings: &NotifySettings,
    owner: &str,
) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    for _ in 0..PASS_LIMIT {
        let Some(m) = store
            .claim_due(owner, pathways_store::now_unix(), settings.lease_secs)
            .await?
        else {
            break;
        };
        match deliver_one(store, settings, owner, &m).await {
            Ok(()) => report.sent += 1,
            Err(e) => {
                let attempts = m.attempts + 1;
                // Logs carry no addresses or content, only the message id and the failure.
                tracing::warn!(message = %m.id, attempts, error = %e, "delivery failed");
                let retry_in = if e.is_permanent() || attempts >= settings.max_attempts {
                    report.given_up += 1;
                    None
                } else {
                    report.retrying += 1;
                    Some(backoff(settings, attempts))
                };
                store
                    .mark_attempt_failed(&m.id, owner, &e.to_string(), retry_in)
                    .await?;
            }
        }
    }
    Ok(report)
}

/// Starts the delivery worker: a pass every `poll_secs` until the runtime stops, claiming
/// messages under a name of its own (fresh for each process).
pub fn spawn_worker(store: Store, settings: NotifySettings) -> tokio::task::JoinHandle<()> {
    let owner = format!("sender-{}", pathways_store::new_id());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(settings.poll_secs.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match deliver_due(&store, &settings, &owner).await {
                Ok(r) if r != DeliveryReport::default() => {
                    tracing::info!(
                        sent = r.sent,
                        retrying = r.retrying,
                        given_up = r.given_up,
                        "outbox pass"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox pass failed"),
            }
        }
    })
}

/// A minimal SMTP sink for tests: accepts connections on 127.0.0.1 and hands over each
/// message received (envelope recipient and data).
pub mod sink {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    /// One message received.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Received {
        /// `RCPT TO` address.
        pub to: String,
        /// The data, dot-unstuffed, CRLF line ends.
        pub data: String,
    }

    /// Starts a sink; returns its port and a channel of received messages. When
    /// `refuse_rcpt` is set, every recipient is refused with a temporary 450.
    pub async fn start(
        refuse_rcpt: bool,
    ) -> std::io::Result<(u16, mpsc::UnboundedReceiver<Received>)> {
        start_slow(refuse_rcpt, std::time::Duration::ZERO).await
    }

    /// [`start`], answering each message's data only after `delay`, as a slow relay does.
    pub async fn start_slow(
        refuse_rcpt: bool,
        delay: std::time::Duration,
    ) -> std::io::Result<(u16, mpsc::UnboundedReceiver<Received>)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut lines = BufReader::new(r);
                    let _ = w.write_all(b"220 sink ready\r\n").await;
                    let mut to = String::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let cmd = line.trim_end().to_string();
                        let upper = cmd.to_ascii_uppercase();
                        let answer: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            if refuse_rcpt {
                                b"450 mailbox busy\r\n"
                            } else {
                                to = cmd[8..].trim_matches(|c| c == '<' || c == '>').to_string();
                                b"250 ok\r\n"
                            }
                        } else if upper == "DATA" {
                            let _ = w.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                            }
                            if !delay.is_zero() {
                                tokio::time::sleep(delay).await;
                            }
                            let _ = tx.send(Received {
                                to: to.clone(),
                                data,
                            });
                            b"250 queued\r\n"
                        } else if upper == "QUIT" {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(answer).await;
                    }
                });
            }
        });
        Ok((port, rx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pathways_store::testing::TestDatabase;

    fn settings(port: u16) -> NotifySettings {
        NotifySettings {
            smtp_host: "127.0.0.1".into(),
            smtp_port: port,
            timeout_secs: 5,
            ..NotifySettings::default()
        }
    }

    #[test]
    fn messages_are_dot_stuffed_and_headers_cannot_be_injected() {
        let s = NotifySettings::default();
        let m = render_message(
            &s,
            &Email {
                to: "a@b.example",
                subject: "Hi\r\nBcc: evil@x",
                body: "one\n.two\nthree",
                id: "m1",
            },
            0,
        );
        assert!(m.contains("Subject: Hi  Bcc: evil@x\r\n"));
        assert!(!m.contains("\r\nBcc:"));
        assert!(m.contains("\r\n..two\r\n"));
        assert!(m.ends_with("three\r\n.\r\n"));
        assert!(m.contains("Message-ID: <m1@localhost>"));
        assert_eq!(header_text("Café"), "=?UTF-8?B?Q2Fmw6k=?=");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    #[test]
    fn back_off_doubles_up_to_a_ceiling() {
        let s = NotifySettings::default();
        assert_eq!(backoff(&s, 1), 60);
        assert_eq!(backoff(&s, 2), 120);
        assert_eq!(backoff(&s, 4), 480);
        assert_eq!(backoff(&s, 30), 6 * 3600);
    }

    #[tokio::test]
    async fn due_email_reaches_the_relay_once() {
        let db = TestDatabase::sqlite().await.expect("db");
        let store = &db.store;
        let (port, mut rx) = sink::start(false).await.expect("sink");
        store
            .enqueue_message(
                "email",
                "referrer@school.example",
                "Referral R-2026-000001: outcome",
                "Hello.\n.done",
                "k1",
            )
            .await
            .expect("queue");
        store
            .enqueue_message("email", "referrer@school.example", "again", "dup", "k1")
            .await
            .expect("dup ignored");
        let report = deliver_due(store, &settings(port), "s1")
            .await
            .expect("pass");
        assert_eq!(
            report,
            DeliveryReport {
                sent: 1,
                retrying: 0,
                given_up: 0
            }
        );
        let got = rx.recv().await.expect("a message");
        assert_eq!(got.to, "referrer@school.example");
        assert!(
            got.data
                .contains("Subject: Referral R-2026-000001: outcome\r\n"),
            "{}",
            got.data
        );
        assert!(
            got.data.contains("\r\n\r\nHello.\r\n.done\r\n"),
            "{}",
            got.data
        );
        assert!(rx.try_recv().is_err(), "sent once");
        assert_eq!(
            deliver_due(store, &settings(port), "s1")
                .await
                .expect("pass"),
            DeliveryReport::default()
        );
        let sent = store.recent_outbox(5).await.expect("outbox");
        assert!(sent[0].sent_at.is_some());
    }

    #[tokio::test]
    async fn temporary_refusals_are_retried_later() {
        let db = TestDatabase::sqlite().await.expect("db");
        let store = &db.store;
        let (port, _rx) = sink::start(true).await.expect("sink");
        store
            .enqueue_message("email", "x@y.example", "s", "b", "k")
            .await
            .expect("queue");
        let report = deliver_due(store, &settings(port), "s1")
            .await
            .expect("pass");
        assert_eq!(report.retrying, 1);
        let m = &store.recent_outbox(1).await.expect("outbox")[0];
        assert_eq!(m.attempts, 1);
        assert!(
            m.last_error.as_deref().is_some_and(|e| e.contains("450")),
            "{:?}",
            m.last_error
        );
        assert!(m.failed_at.is_none());
        assert!(
            store
                .due_messages(pathways_store::now_unix(), 10)
                .await
                .expect("due")
                .is_empty(),
            "not due until the back-off passes"
        );
        // A bad address is permanent: given up at once.
        store
            .enqueue_message("email", "not an address", "s", "b", "k2")
            .await
            .expect("queue");
        let report = deliver_due(store, &settings(port), "s1")
            .await
            .expect("pass");
        assert_eq!(report.given_up, 1);
    }
}
