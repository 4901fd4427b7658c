//! okapi-server: the daemon. Everything happens in [`okapi::startup`].

fn main() -> std::process::ExitCode {
    okapi::startup::server_main()
}
