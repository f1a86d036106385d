//! `rotate --wait`: start a rotation and watch the version stages until the
//! new version becomes AWSCURRENT, the rotation gives up, or time runs out.

use std::time::{Duration, Instant};

use crate::actions;
use crate::collect::Clients;
use crate::error::UserError;

pub enum Rotation {
    Succeeded { version_id: String },
    Failed(String),
    TimedOut { version_id: String },
}

/// How often the stages are read: rotations take seconds to minutes.
const POLL_EVERY: Duration = Duration::from_secs(2);

pub async fn rotate_and_wait(
    clients: &Clients,
    secret_id: &str,
    timeout: Duration,
    show_progress: bool,
) -> Result<Rotation, UserError> {
    // A rotation that fails to start has failed; the diagnosis says why.
    let version_id = match actions::rotate_secret::start(clients, secret_id).await {
        Ok(version_id) => version_id,
        Err(reason) => return Ok(Rotation::Failed(reason)),
    };
    let spinner = show_progress.then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!(
            "rotating {secret_id}: waiting for version {version_id}"
        ));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let deadline = Instant::now() + timeout;
    let outcome = loop {
        match actions::version_stages(clients, secret_id).await {
            Ok(stages) => {
                let labels = stages.get(&version_id).cloned().unwrap_or_default();
                if labels.iter().any(|l| l == "AWSCURRENT") {
                    break Rotation::Succeeded { version_id };
                }
                let pending_elsewhere = stages
                    .iter()
                    .any(|(v, l)| *v != version_id && l.iter().any(|l| l == "AWSPENDING"));
                if !labels.iter().any(|l| l == "AWSPENDING") && !pending_elsewhere {
                    break Rotation::Failed(format!(
                        "version {version_id} lost its AWSPENDING label without becoming AWSCURRENT: the rotation was abandoned"
                    ));
                }
            }
            Err(reason) => break Rotation::Failed(reason),
        }
        if Instant::now() >= deadline {
            break Rotation::TimedOut { version_id };
        }
        tokio::time::sleep(POLL_EVERY.min(deadline.saturating_duration_since(Instant::now())))
            .await;
    };
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    Ok(outcome)
}
