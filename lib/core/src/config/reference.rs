//! The configuration reference, generated from [`VARIABLES`]: `docs/configuration.md` is
//! this text, and a test fails when the two differ.

use super::VARIABLES;

/// The Markdown reference of every variable, in table order.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         Aegis reads only environment variables (a ConfigMap and a Secret in a cluster), once,\n\
         at start-up; a missing or malformed value stops the process with one line naming the\n\
         variable. Empty values count as unset. Secrets are masked in every output\n\
         (`aegis config check` prints the effective configuration).\n\n\
         This page is generated from `lib/core/src/config/vars.rs` by `aegis config reference`;\n\
         a test keeps it in step with the code.\n\n\
         | variable | default | secret | meaning |\n\
         | --- | --- | --- | --- |\n",
    );
    for var in VARIABLES {
        let default = if var.default.is_empty() {
            String::new()
        } else {
            format!("`{}`", var.default)
        };
        let secret = if var.secret { "yes" } else { "" };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            var.name,
            default,
            secret,
            var.doc.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    /// Set `AEGIS_BLESS=1` to rewrite the file from the code instead of comparing.
    #[test]
    fn docs_configuration_md_is_in_step_with_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
        let expected = super::markdown();
        if std::env::var_os("AEGIS_BLESS").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == expected,
            "docs/configuration.md is out of date: regenerate it with `aegis config reference > docs/configuration.md` \
             or `AEGIS_BLESS=1 cargo test -p aegis-core --lib config::reference`"
        );
    }
}
