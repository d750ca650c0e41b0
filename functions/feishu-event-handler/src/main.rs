fn main() -> std::process::ExitCode {
    aegis::runtime::run(feishu_event_handler::build)
}
