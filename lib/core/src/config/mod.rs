//! Configuration primitives: every variable Aegis reads is declared in
//! [`vars::VARIABLES`]; [`Env`] refuses to read a name that is not declared there, so
//! the table (and the reference generated from it) cannot drift from the code. Each
//! domain's `Config` is read through [`Env`]; the function host gathers them.

mod env;
pub mod reference;
mod secret;
mod vars;

pub use env::{Env, Error};
pub use secret::Secret;
pub use vars::{VARIABLES, Variable};
