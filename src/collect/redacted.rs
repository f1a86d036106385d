//! A secret string that cannot be printed by accident: `Debug` and
//! `Display` show a mask, and the memory is wiped when it is dropped.

use std::fmt;

use zeroize::Zeroizing;

pub struct Redacted(Zeroizing<String>);

impl Redacted {
    pub fn new(value: Zeroizing<String>) -> Redacted {
        Redacted(value)
    }

    /// The value itself, for the one use that needs it (masking it in log
    /// lines). Never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redacted(********)")
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neither_debug_nor_display_shows_the_value() {
        let secret = Redacted::new(Zeroizing::new("CANARY-hunter2".to_string()));
        assert!(!format!("{secret:?} {secret} {secret:#?}").contains("hunter2"));
        assert_eq!(secret.expose(), "CANARY-hunter2");
    }
}
