//! Errors that stop a command. Each renders as one sentence for the user;
//! `main` prints it on stderr and exits 2. Never put a secret value in one.

use std::fmt;

#[derive(Debug)]
pub struct UserError(pub String);

impl UserError {
    pub fn new(message: impl Into<String>) -> UserError {
        UserError(message.into())
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}
