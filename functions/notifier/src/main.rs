fn main() -> std::process::ExitCode {
    aegis::runtime::run(notifier::build)
}
