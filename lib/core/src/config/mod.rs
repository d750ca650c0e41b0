//! Configuration primitives: every variable Aegis reads is declared in
//! [`vars::VARIABLES`]; [`Env`] refuses to read a name that is not declared there, so
//! the table (and the reference generated from it) cannot drift from the code. Each
//! domain's `Config` is read through [`Env`]; each function reads the parts it uses.

mod env;
pub mod reference;
mod secret;
mod vars;

pub use env::{Env, Error};
pub use secret::Secret;
pub use vars::{VARIABLES, Variable};

/// Where a process's variables come from: the environment, or a map in tests. Shared,
/// so each function of a process reads its own part when it is built.
pub type Lookup = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment as a [`Lookup`].
pub fn process_env() -> Lookup {
    std::sync::Arc::new(|name| std::env::var(name).ok())
}
