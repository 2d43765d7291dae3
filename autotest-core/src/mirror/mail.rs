//! The run's one mail listing the new releases, through a plain SMTP relay (the lab's, or
//! localhost:25). No TLS: a lab relay on its own network is what the legacy mirror used.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{Message, SmtpTransport, Transport};

use super::error::MirrorError;

/// The default SMTP server.
pub const DEFAULT_SMTP_SERVER: &str = "localhost:25";

/// Parses the `-e` list (`a@x,b@y`).
pub fn parse_recipients(list: &str) -> Result<Vec<Mailbox>, MirrorError> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse::<Mailbox>().map_err(|e| MirrorError::BadAddress {
                address: a.to_owned(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// The text of the mail: "Testing new kernel releases:" and one release per line.
pub fn release_mail_body(releases: &[String]) -> String {
    let mut body = String::from("Testing new kernel releases:\n");
    for r in releases {
        body.push_str(r);
        body.push('\n');
    }
    body
}

/// Sends the release mail to `to` through `server` (`host` or `host:port`).
pub fn send_release_mail(
    server: &str,
    from: &str,
    to: &[Mailbox],
    releases: &[String],
) -> Result<(), MirrorError> {
    let fail = |message: String| MirrorError::Mail {
        server: server.to_owned(),
        message,
    };
    let from: Mailbox = from.parse().map_err(|e| MirrorError::BadAddress {
        address: from.to_owned(),
        message: format!("{e} (the sender, [MIRROR] mail_from)"),
    })?;
    let (host, port) = match server.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| fail(format!("'{p}' is not a port number")))?,
        ),
        None => (server, 25),
    };
    let mut builder = Message::builder()
        .from(from)
        .subject(format!(
            "autotest mirror: new kernel releases {}",
            releases.join(", ")
        ))
        .header(ContentType::TEXT_PLAIN);
    for m in to {
        builder = builder.to(m.clone());
    }
    let message = builder
        .body(release_mail_body(releases))
        .map_err(|e| fail(e.to_string()))?;
    let transport = SmtpTransport::builder_dangerous(host)
        .port(port)
        .timeout(Some(Duration::from_secs(30)))
        .build();
    transport
        .send(&message)
        .map(|_| ())
        .map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_and_body() {
        assert_eq!(parse_recipients("a@x, b@y.org,").unwrap().len(), 2);
        let e = parse_recipients("a@x,not an address")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'not an address'"), "{e}");
        assert_eq!(
            release_mail_body(&["6.1".into(), "6.2-rc1".into()]),
            "Testing new kernel releases:\n6.1\n6.2-rc1\n"
        );
    }
}
