//! okapi-admin: the administrator's command line. Everything happens in [`okapi::admin`].

fn main() -> std::process::ExitCode {
    okapi::admin::admin_main()
}
