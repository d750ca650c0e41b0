fn main() -> std::process::ExitCode {
    aegis::runtime::run(analyze::build)
}
