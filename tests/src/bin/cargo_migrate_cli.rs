//! `cargo migrate` itself, built beside [`app_cli`](../app_cli/index.html) so that the tests can
//! run both.

fn main() -> std::process::ExitCode {
    cargo_migrate::main()
}
