//! RotateSecret: start a rotation now, for `rotate` and
//! `diagnose --fix --rotate`. Not journaled: a rotation has no undo.

use crate::collect::errors::unavailable;
use crate::collect::Clients;

/// Starts a rotation; the new version's id, or why it did not start ("a
/// previous rotation isn't complete", a missing Lambda, a denied invoke).
pub async fn start(clients: &Clients, secret_id: &str) -> Result<String, String> {
    let started = clients
        .secrets
        .rotate_secret()
        .secret_id(secret_id)
        .rotate_immediately(true)
        .send()
        .await
        .map_err(|e| unavailable("secretsmanager:RotateSecret", &e).to_string())?;
    Ok(started.version_id().unwrap_or_default().to_string())
}
