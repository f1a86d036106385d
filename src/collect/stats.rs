//! `--stats`: every AWS call the run made, counted by an SDK interceptor on
//! each client (operations and attempts per service and operation), so the
//! count covers retries and pages without touching any call site. Counted
//! just before each send: the operation's `Metadata` is in the config bag
//! only once the operation's own layer is applied, after `before_execution`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

/// Calls and attempts of one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OperationCount {
    pub calls: u64,
    /// Sends, including retries: `attempts - calls` is the retries.
    pub attempts: u64,
}

/// The counts, shared by every client of a run (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct CallStats {
    counts: Arc<Mutex<BTreeMap<(String, String), OperationCount>>>,
}

impl CallStats {
    fn bump(&self, cfg: &ConfigBag) {
        let (service, operation) = match cfg.load::<Metadata>() {
            Some(meta) => (meta.service().to_string(), meta.name().to_string()),
            None => ("unknown".to_string(), "unknown".to_string()),
        };
        // A poisoned lock only means another thread panicked mid-count; the
        // map itself is still consistent.
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let entry = counts.entry((service, operation)).or_default();
        entry.attempts += 1;
        // The orchestrator numbers the attempts of one call from 1.
        if cfg
            .load::<RequestAttempts>()
            .is_none_or(|a| a.attempts() <= 1)
        {
            entry.calls += 1;
        }
    }

    /// (service, operation, counts), sorted by service then operation.
    pub fn snapshot(&self) -> Vec<(String, String, OperationCount)> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .iter()
            .map(|((service, operation), count)| (service.clone(), operation.clone(), *count))
            .collect()
    }

    pub fn interceptor(&self) -> Counter {
        Counter {
            stats: self.clone(),
        }
    }
}

/// The interceptor itself, one per client.
#[derive(Debug)]
pub struct Counter {
    stats: CallStats,
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "rotation-doctor call counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.stats.bump(cfg);
        Ok(())
    }
}
