//! `aegis`: every function in one process, and the command line around it.

fn main() -> std::process::ExitCode {
    aegis_cli::cli::main()
}
