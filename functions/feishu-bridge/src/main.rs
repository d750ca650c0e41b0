fn main() -> std::process::ExitCode {
    aegis_runtime::run(feishu_bridge::build)
}
