//! okapi-server's start-up story: arguments, configuration, logging, the
//! store, listeners, signals, and the drain at the end. `src/bin/okapi-server.rs`
//! only calls [`server_main`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::{AttachmentStorage, Config};
use crate::linux::logging::LevelHandle;
use crate::ops::State;
use crate::store::{BlobLocation, NewUser, Store, StoreOptions};

/// The default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/okapi/server.cfg";

const USAGE: &str = "\
okapi-server: the okapi groupware server

Usage: okapi-server [OPTIONS]

Options:
  -c, --config PATH   configuration file (default /etc/okapi/server.cfg)
      --print-config  print every key with its effective value and default, then exit
      --dev [DIR]     run from a checkout as an ordinary user: SQLite and sockets
                      under DIR (default ./okapi-dev), HTTP on 127.0.0.1:8236
                      (OKAPI_DEV_LISTEN overrides), LMTP on DIR/lmtp.sock
                      (and OKAPI_DEV_LMTP_LISTEN if set), and a demo user
  -h, --help          this text
  -V, --version       the version
";

/// Parsed command line.
#[derive(Debug, Default, PartialEq)]
pub struct ServerArgs {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--print-config`.
    pub print_config: bool,
    /// `--dev [DIR]`.
    pub dev: Option<PathBuf>,
}

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Run (or print the configuration).
    Run(ServerArgs),
    /// Print usage.
    Help,
    /// Print the version.
    Version,
}

/// Parses okapi-server's arguments (without the program name).
pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut out = ServerArgs::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--print-config" => out.print_config = true,
            "-c" | "--config" => {
                i += 1;
                let p = args.get(i).ok_or("--config needs a file path")?;
                out.config = Some(PathBuf::from(p));
            }
            "--dev" => {
                let dir = match args.get(i + 1) {
                    Some(d) if !d.starts_with('-') => {
                        i += 1;
                        d.clone()
                    }
                    _ => "okapi-dev".into(),
                };
                out.dev = Some(PathBuf::from(dir));
            }
            _ if a.starts_with("--config=") => out.config = Some(PathBuf::from(&a["--config=".len()..])),
            _ => return Err(format!("unknown argument {a:?}; see okapi-server --help")),
        }
        i += 1;
    }
    Ok(Command::Run(out))
}

/// Applies the `--dev` overrides: everything under `dir`, HTTP on a high port.
pub fn apply_dev(cfg: &mut Config, dir: &Path) -> Result<(), String> {
    let abs = std::env::current_dir().map_err(|e| e.to_string())?.join(dir);
    let listen = std::env::var("OKAPI_DEV_LISTEN").unwrap_or_else(|_| "127.0.0.1:8236".into());
    // LMTP over TCP only when asked for: the unix socket is enough for okapi-dagent.
    let lmtp = std::env::var("OKAPI_DEV_LMTP_LISTEN").unwrap_or_default();
    let p = |name: &str| abs.join(name).display().to_string();
    for (k, v) in [
        ("server_listen", listen),
        ("server_listen_tls", String::new()),
        ("local_socket", p("server.sock")),
        ("lmtp_listen", lmtp),
        ("lmtp_socket", p("lmtp.sock")),
        ("database_url", format!("sqlite://{}", p("okapi.db"))),
        ("attachment_path", p("blobs")),
    ] {
        cfg.apply(k, &v)?;
    }
    // From a checkout the web app is served from the source tree, so an edit
    // shows on the next reload without installing anything.
    let checkout_webapp = Path::new(env!("CARGO_MANIFEST_DIR")).join("webapp");
    if checkout_webapp.join("index.html").is_file() {
        cfg.apply("webapp_dir", &checkout_webapp.display().to_string())?;
    }
    Ok(())
}

/// Options for opening the store from a configuration.
pub fn store_options(cfg: &Config) -> Result<StoreOptions, String> {
    let password = cfg.database_password().map_err(|e| e.to_string())?;
    Ok(StoreOptions {
        url: cfg.database_url.clone(),
        password,
        blobs: match cfg.attachment_storage {
            AttachmentStorage::Db => BlobLocation::Database,
            AttachmentStorage::Files => BlobLocation::Files(cfg.attachment_path.clone()),
        },
        inline_blob_max: cfg.attachment_inline_max,
        acquire_timeout: std::time::Duration::from_secs(10),
    })
}

/// Entry point of okapi-server.
pub fn server_main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&args) {
        Ok(Command::Run(a)) => a,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("okapi-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("okapi-server: {e}");
            return ExitCode::from(2);
        }
    };
    let path = args.config.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let loaded = if args.config.is_some() {
        Config::load(&path)
    } else {
        Config::load_or_default(&path)
    };
    let mut cfg = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("okapi-server: the configuration has errors, not starting:\n{e}");
            return ExitCode::from(78);
        }
    };
    if let Some(dir) = &args.dev
        && let Err(e) = apply_dev(&mut cfg, dir)
    {
        eprintln!("okapi-server: --dev: {e}");
        return ExitCode::from(78);
    }
    if let Err(e) = cfg.validate() {
        eprintln!("okapi-server: the configuration has errors, not starting:\n{e}");
        return ExitCode::from(78);
    }
    if args.print_config {
        print!("{}", cfg.print_effective());
        return ExitCode::SUCCESS;
    }
    crate::panics::install_hook();
    let log = crate::linux::logging::init(cfg.log_level.as_str());
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("okapi-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let source = ConfigSource {
        path,
        explicit: args.config.is_some(),
        dev: args.dev.clone(),
    };
    match rt.block_on(run_server(cfg, source, log)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("okapi-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where the configuration came from, to read it again at SIGHUP.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    /// The main file.
    pub path: PathBuf,
    /// True if `--config` named it (then it must exist).
    pub explicit: bool,
    /// `--dev` directory, if any.
    pub dev: Option<PathBuf>,
}

impl ConfigSource {
    /// Reads and checks the configuration as at start-up.
    pub fn load(&self) -> Result<Config, String> {
        let loaded = if self.explicit {
            Config::load(&self.path)
        } else {
            Config::load_or_default(&self.path)
        };
        let mut cfg = loaded.map_err(|e| e.to_string())?;
        if let Some(dir) = &self.dev {
            apply_dev(&mut cfg, dir)?;
        }
        cfg.validate().map_err(|e| e.to_string())?;
        Ok(cfg)
    }
}

async fn run_server(cfg: Config, source: ConfigSource, log: Option<LevelHandle>) -> Result<(), String> {
    use crate::linux::{activation, notify, privileges};
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "okapi-server starting");
    let activated = activation::from_environment().map_err(|e| format!("socket activation: {e}"))?;
    if !activated.is_empty() {
        tracing::info!("using the sockets systemd passed");
    }
    let listeners = crate::server::open_listeners(&cfg, activated)
        .await
        .map_err(|e| e.to_string())?;
    // The key may be readable by root only (as under /etc/ssl/private).
    let tls = crate::server::tls_config(&cfg).map_err(|e| e.to_string())?;
    // Everything that needs root is done: give it up before touching any other file.
    if source.dev.is_some() && nix::unistd::Uid::effective().is_root() {
        tracing::warn!("--dev runs as root: privileges are not dropped in development mode");
    } else {
        privileges::drop_privileges(&cfg.run_as_user, &cfg.run_as_group).map_err(|e| e.to_string())?;
    }
    let (http, https) = crate::server::local_addrs(&listeners);
    for a in &http {
        tracing::info!(address = %a, "listening for HTTP (SOAP /okapi, JSON /api/v1)");
    }
    for a in &https {
        tracing::info!(address = %a, "listening for HTTPS");
    }
    let Some(store) = open_store_waiting(&cfg).await? else {
        tracing::info!("stopped while waiting for the database");
        return Ok(());
    };
    tracing::info!(backend = ?store.backend(), "store open, schema current");
    if let Some(dir) = &source.dev {
        dev_banner(&store, dir, http.first()).await?;
    }
    let state = State::new(store.clone(), cfg);
    notify::ready(&notify::status_line(&state).await);
    if let Some(interval) = notify::watchdog_interval() {
        tracing::info!(?interval, "watchdog enabled");
        tokio::spawn(notify::watchdog(state.clone(), interval, state.stop.subscribe()));
    }
    tokio::spawn(reload_on_sighup(state.clone(), source, log));
    crate::server::run(state, listeners, tls, async {
        shutdown_signal().await;
        notify::stopping();
    })
    .await;
    store.close().await;
    tracing::info!("okapi-server stopped");
    Ok(())
}

/// Opens the store, waiting while the database does not answer (READY=1 is
/// only sent after this). Configuration problems and a too-new schema end
/// the start at once; a stop signal while waiting returns None.
async fn open_store_waiting(cfg: &Config) -> Result<Option<Store>, String> {
    use crate::error::StoreError;
    let opts = store_options(cfg)?;
    let mut stop = Box::pin(shutdown_signal());
    // Logged once per cause, so that a database that first is down and then refuses okapi shows
    // both, each with its next step.
    let mut logged_cause = None;
    crate::linux::notify::waiting(&format!("waiting for the database at {}", redact(&cfg.database_url)));
    loop {
        match Store::open(&opts).await {
            Ok(s) => return Ok(Some(s)),
            Err(e @ (StoreError::SchemaTooNew { .. } | StoreError::Invalid(_) | StoreError::BlobIo { .. })) => {
                return Err(format!("cannot open the store at {}: {e}", redact(&cfg.database_url)));
            }
            Err(e) => {
                use crate::linux::database_advice::{classify, next_step};
                let cause = classify(&e);
                let mut msg = format!("waiting for the database at {}: {e}", redact(&cfg.database_url));
                if let Some(step) = next_step(cause, &cfg.database_url) {
                    msg = format!("{msg}; {step}");
                }
                if logged_cause != Some(cause) {
                    tracing::warn!("{msg}; retrying every 2 seconds");
                    logged_cause = Some(cause);
                }
                crate::linux::notify::waiting(&msg);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
            _ = &mut stop => return Ok(None),
        }
    }
}

/// Reloads on every SIGHUP.
async fn reload_on_sighup(state: std::sync::Arc<State>, source: ConfigSource, log: Option<LevelHandle>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::error!("cannot install the SIGHUP handler; reload will not work");
        return;
    };
    while hup.recv().await.is_some() {
        tracing::info!("SIGHUP received: reloading the configuration");
        crate::linux::notify::reloading();
        crate::reload::reload(&state, &source, log.as_ref());
        crate::linux::notify::ready(&crate::linux::notify::status_line(&state).await);
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{}:****{}", &url[..s + 3], user, &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

async fn dev_banner(store: &Store, dir: &Path, http: Option<&std::net::SocketAddr>) -> Result<(), String> {
    let pw_file = dir.join("demo-password");
    let password = if store.list_users().await.map_err(|e| e.to_string())?.is_empty() {
        let pw = hex::encode(rand::random::<[u8; 6]>());
        let hash = crate::auth::hash_password(&pw)?;
        store
            .create_user(&NewUser {
                login: "demo".into(),
                display_name: "Demo User".into(),
                password_hash: hash,
                address: "demo@localhost".into(),
                aliases: vec![],
                is_admin: true,
            })
            .await
            .map_err(|e| e.to_string())?;
        std::fs::write(&pw_file, format!("{pw}\n")).map_err(|e| format!("{}: {e}", pw_file.display()))?;
        pw
    } else {
        std::fs::read_to_string(&pw_file)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "(see okapi-admin user set)".into())
    };
    let url = http
        .map(|a| format!("http://{a}"))
        .unwrap_or_else(|| "(no HTTP listener)".into());
    eprintln!(
        "\nokapi-server is running on its embedded SQLite store in {dir}\n  \
         API:   {url}/okapi (SOAP, WSDL at {url}/okapi?wsdl) and {url}/api/v1/<operation> (JSON)\n  \
         Login: demo / {password}\n  \
         Try:   curl -s {url}/api/v1/logon -d '{{\"user\":\"demo\",\"password\":\"{password}\"}}'\n  \
         Admin: cargo run --bin okapi-admin -- --socket {sock} user list\n  \
         Stop:  Ctrl-C\n",
        dir = dir.display(),
        sock = dir.join("server.sock").display(),
    );
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers; stop the server with SIGKILL");
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn arguments_parse() {
        assert_eq!(parse_args(&s(&["--help"])).unwrap(), Command::Help);
        let Command::Run(a) = parse_args(&s(&["--config", "/x.cfg", "--print-config"])).unwrap() else {
            panic!()
        };
        assert_eq!(a.config, Some(PathBuf::from("/x.cfg")));
        assert!(a.print_config);
        let Command::Run(a) = parse_args(&s(&["--dev"])).unwrap() else {
            panic!()
        };
        assert_eq!(a.dev, Some(PathBuf::from("okapi-dev")));
        let Command::Run(a) = parse_args(&s(&["--dev", "/tmp/d", "-c", "y"])).unwrap() else {
            panic!()
        };
        assert_eq!(a.dev, Some(PathBuf::from("/tmp/d")));
        assert!(parse_args(&s(&["--bogus"])).is_err());
        assert!(parse_args(&s(&["--config"])).is_err());
    }

    #[test]
    fn passwords_are_redacted_in_messages() {
        assert_eq!(redact("mysql://okapi:secret@db/okapi"), "mysql://okapi:****@db/okapi");
        assert_eq!(
            redact("sqlite:///var/lib/okapi/okapi.db"),
            "sqlite:///var/lib/okapi/okapi.db"
        );
    }
}
