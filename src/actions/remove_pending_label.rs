//! `RemovePendingLabel`: take AWSPENDING off a version that is not
//! AWSCURRENT, ending a stuck rotation. Undone by putting the label back.

use super::{already, done, failed, reversed, stopped, version_stages, ActionResult};
use crate::collect::Clients;
use crate::fix::journal::Undo;

pub(super) async fn apply(clients: &Clients, secret_id: &str, version_id: &str) -> ActionResult {
    let stages = match version_stages(clients, secret_id).await {
        Ok(stages) => stages,
        Err(reason) => return failed(reason),
    };
    let labels = stages.get(version_id).cloned().unwrap_or_default();
    let has = |label: &str| labels.iter().any(|l| l == label);
    if !has("AWSPENDING") {
        return already(format!("version {version_id} no longer carries AWSPENDING"));
    }
    if has("AWSCURRENT") {
        return stopped(format!(
            "version {version_id} is now AWSCURRENT: its AWSPENDING label is normal, left alone"
        ));
    }
    send!(
        clients
            .secrets
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage("AWSPENDING")
            .remove_from_version_id(version_id),
        "secretsmanager:UpdateSecretVersionStage"
    );
    done(
        format!("removed AWSPENDING from version {version_id}"),
        Undo::RestorePendingLabel {
            secret_id: secret_id.to_string(),
            version_id: version_id.to_string(),
        },
    )
}

pub(super) async fn undo(clients: &Clients, secret_id: &str, version_id: &str) -> ActionResult {
    send!(
        clients
            .secrets
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage("AWSPENDING")
            .move_to_version_id(version_id),
        "secretsmanager:UpdateSecretVersionStage"
    );
    reversed(format!("put AWSPENDING back on version {version_id}"))
}
