//! The next step for an administrator whose okapi-server waits for its database.
//!
//! `systemctl status okapi-server` shows the last STATUS= line: a bare "Access denied" there
//! leaves the reader guessing. Start-up waits for the database whatever the cause (it may be
//! starting, or being set up by `okapi-server-setup.service`), and says with each cause which
//! command ends the wait.

use crate::error::StoreError;

/// Why the database does not let okapi-server in, as far as the fix is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trouble {
    /// The server answered and refused: no such account, wrong password, no such database.
    /// The database was never set up for okapi (or its password file does not match).
    Refused,
    /// Nothing answered: the database server is not running or not reachable.
    Unreachable,
    /// Anything else; the error text is all there is to say.
    Other,
}

/// Sorts a store error by what fixes it.
pub fn classify(e: &StoreError) -> Trouble {
    match e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            if refuses_okapi(db.code().as_deref(), db.message()) {
                Trouble::Refused
            } else {
                Trouble::Other
            }
        }
        StoreError::Database(
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_),
        ) => Trouble::Unreachable,
        _ => Trouble::Other,
    }
}

/// MySQL/MariaDB's answers that mean "this account or database does not exist for you":
/// SQLSTATE 28000 (errors 1045 and 1698, access denied) and errors 1044 (no rights on the
/// database) and 1049 (unknown database), which share SQLSTATE 42000 with syntax errors and so
/// are told apart by their text.
fn refuses_okapi(sqlstate: Option<&str>, message: &str) -> bool {
    sqlstate == Some("28000") || message.contains("Access denied") || message.contains("Unknown database")
}

/// The sentence that follows the error in STATUS= and the log: the command that ends the wait.
/// `url` is the configured `database_url`.
pub fn next_step(trouble: Trouble, url: &str) -> Option<String> {
    let host = mysql_host(url)?;
    let local = matches!(host, "" | "localhost" | "127.0.0.1" | "::1" | "[::1]");
    match trouble {
        Trouble::Refused => Some(
            "the database or okapi's account in it is not set up: run \"okapi-admin setup database\" \
             as root (Debian: \"dpkg-reconfigure okapi-server\"), then \"systemctl restart okapi-server\""
                .to_string(),
        ),
        Trouble::Unreachable if local => Some(
            "the database server on this host does not answer: start it with \"systemctl start mariadb\" \
             (or mysql)"
                .to_string(),
        ),
        Trouble::Unreachable => Some(format!(
            "the database server {host} does not answer: check that it runs and that okapi-server may reach \
             it (\"systemctl edit okapi-server\": [Service] IPAddressAllow=its address)"
        )),
        Trouble::Other => None,
    }
}

/// The host of a `mysql://` URL (empty when none is given); None for other backends.
fn mysql_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("mysql://")
        .or_else(|| url.strip_prefix("mariadb://"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or(host_port)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    Some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MariaDB's "Access denied" and "Unknown database" answers are a refusal; a syntax error is not.
    #[test]
    fn refusals_are_recognised() {
        assert!(refuses_okapi(
            Some("28000"),
            "Access denied for user 'okapi'@'localhost' (using password: YES)"
        ));
        assert!(refuses_okapi(
            Some("42000"),
            "Access denied for user 'okapi'@'localhost' to database 'okapi'"
        ));
        assert!(refuses_okapi(Some("42000"), "Unknown database 'okapi'"));
        assert!(!refuses_okapi(Some("42000"), "You have an error in your SQL syntax"));
    }

    /// A connection that nobody answers is "unreachable"; a bad argument is neither.
    #[test]
    fn io_errors_are_unreachable() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        assert_eq!(
            classify(&StoreError::Database(sqlx::Error::Io(refused))),
            Trouble::Unreachable
        );
        assert_eq!(
            classify(&StoreError::Database(sqlx::Error::PoolTimedOut)),
            Trouble::Unreachable
        );
        assert_eq!(classify(&StoreError::Invalid("x".into())), Trouble::Other);
    }

    /// Each cause names its command; a local server is started, a remote one is checked.
    #[test]
    fn each_cause_names_its_command() {
        let url = "mysql://okapi@localhost/okapi";
        let refused = next_step(Trouble::Refused, url).unwrap();
        assert!(refused.contains("okapi-admin setup database"), "{refused}");
        assert!(refused.contains("dpkg-reconfigure okapi-server"), "{refused}");
        let local = next_step(Trouble::Unreachable, url).unwrap();
        assert!(local.contains("systemctl start mariadb"), "{local}");
        for url in [
            "mysql://okapi:pw@127.0.0.1:3306/okapi",
            "mysql://[::1]:3306/okapi",
            "mysql:///okapi",
        ] {
            assert!(
                next_step(Trouble::Unreachable, url)
                    .unwrap()
                    .contains("systemctl start"),
                "{url}"
            );
        }
        let remote = next_step(Trouble::Unreachable, "mysql://okapi@db.example.org:3307/okapi").unwrap();
        assert!(
            remote.contains("db.example.org") && remote.contains("IPAddressAllow"),
            "{remote}"
        );
        assert_eq!(next_step(Trouble::Other, url), None);
        assert_eq!(
            next_step(Trouble::Unreachable, "sqlite:///var/lib/okapi/okapi.db"),
            None
        );
    }
}
