fn main() -> std::process::ExitCode {
    aegis_runtime::run(dead_letter::build)
}
