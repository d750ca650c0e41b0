fn main() -> std::process::ExitCode {
    aegis::runtime::run(feishu_bridge::build)
}
