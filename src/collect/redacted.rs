//! A secret string that cannot be printed by accident: `Debug` and
//! `Display` show a mask, and the memory is wiped when it is dropped. It
//! lives in the checks crate beside the secret value's parser, which returns
//! it; its tests are there too.

pub use rotation_doctor_checks::secret_value::Redacted;
