//! okapi-dagent: the pipe MDA. Everything happens in [`okapi::delivery::dagent`].

fn main() -> std::process::ExitCode {
    okapi::delivery::dagent::dagent_main()
}
