//! The `cargo-migrate` binary, run by cargo as `cargo migrate <command>`.

fn main() -> std::process::ExitCode {
    cargo_migrate::main()
}
