//! `aegis`: every function in one process, and the command line around it.

mod cli;
mod host;

fn main() -> std::process::ExitCode {
    cli::main()
}
