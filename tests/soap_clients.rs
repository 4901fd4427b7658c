//! The WSDL driven by a SOAP client written elsewhere: PHP's SoapClient
//! (Debian's php-soap) builds its calls from `/okapi?wsdl` alone and runs
//! logon, getStore, getHierarchy, saveObject, a sorted and restricted
//! queryRows, and a loadObject that must fail with a SOAP fault carrying the
//! MAPI error name. Proves the WSDL, the codec and the fault detail agree with
//! what a third-party client expects, on SQLite and MariaDB.
//!
//! The script is `tests/php/soap_client.php`. Without `php` on the PATH the
//! test is skipped with a note, except under CI (`CI` set), where it fails.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Db, TestServer};
use serde_json::Value;

/// The PHP interpreter, or None (after a note, or a panic under CI) if there is none.
fn php() -> Option<&'static str> {
    let found = Command::new("php")
        .args(["-r", "exit(class_exists('SoapClient') ? 0 : 3);"])
        .status();
    match found {
        Ok(s) if s.success() => Some("php"),
        other => {
            let why = match other {
                Ok(_) => "php is installed but its soap extension (php-soap) is not",
                Err(_) => "php (php-cli) is not installed",
            };
            assert!(
                std::env::var("CI").is_err(),
                "CI is set but {why}: apt-get install php-cli php-soap"
            );
            eprintln!("{why}: PHP SoapClient test not run");
            None
        }
    }
}

/// Runs the PHP client against the server; returns its JSON report.
async fn run_php(php: &'static str, wsdl: String, user: &str, password: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/php/soap_client.php");
    let (user, password) = (user.to_string(), password.to_string());
    let ran = tokio::task::spawn_blocking(move || {
        Command::new(php)
            .arg(&script)
            .arg(&wsdl)
            .arg(user)
            .arg(password)
            .output()
    })
    .await;
    let out = match ran {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("could not start {php}: {e}"),
        Err(e) => panic!("the task running {php} failed: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "php soap_client.php failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("php printed no JSON ({e}):\n{stdout}\n{stderr}"))
}

/// PHP's SoapClient: logon, hierarchy, save, queryRows, and a typed fault.
async fn php_soap_client(db: Db) {
    let Some(php) = php() else { return };
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("phpuser", "php-pw").await;
    let r = run_php(php, format!("{}/okapi?wsdl", srv.base), "phpuser", "php-pw").await;

    assert!(r["session"].as_str().is_some_and(|s| !s.is_empty()), "no session: {r}");
    let folders: Vec<&str> = r["hierarchy"]
        .as_array()
        .unwrap_or_else(|| panic!("no hierarchy in {r}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(folders.contains(&"Inbox"), "Inbox missing from {folders:?}");
    assert!(folders.contains(&"Calendar"), "Calendar missing from {folders:?}");

    let subject = r["saved_subject"]
        .as_str()
        .unwrap_or_else(|| panic!("no saved_subject in {r}"));
    assert_eq!(r["query_total"], 1, "{r}");
    let row = &r["query_rows"][0];
    assert_eq!(row["subject"], subject, "{r}");
    assert_eq!(row["sender_name"], "PHP Tester", "{r}");
    assert_eq!(row["entry_id"], r["saved_entry_id"], "{r}");

    let fault = &r["fault"];
    assert_eq!(fault["name"], "MAPI_E_INVALID_ENTRYID", "{r}");
    assert_eq!(fault["code"], "0x80040107", "{r}");
    assert!(
        fault["faultcode"].as_str().is_some_and(|c| c.ends_with("Client")),
        "a caller's mistake is soap:Client: {r}"
    );
    assert!(
        fault["faultstring"]
            .as_str()
            .is_some_and(|m| m.contains("not-an-entry-id")),
        "{r}"
    );
    srv.stop().await;
}

on_both_backends!(php_soap_client);
