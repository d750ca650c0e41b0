fn main() -> std::process::ExitCode {
    aegis_runtime::run(webhook_receiver::build)
}
