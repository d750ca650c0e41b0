fn main() -> std::process::ExitCode {
    aegis::runtime::run(webhook_receiver::build)
}
