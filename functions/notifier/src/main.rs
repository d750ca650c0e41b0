fn main() -> std::process::ExitCode {
    aegis_runtime::run(notifier::build)
}
