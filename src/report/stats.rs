//! `--stats`: the AWS calls a run made, per service and operation, with
//! retries and wall time, for people (a table on stderr) and in the JSON.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::Serialize;

use crate::collect::stats::OperationCount;

#[derive(Debug, Serialize)]
pub struct RunStats {
    pub wall_seconds: f64,
    pub calls: u64,
    pub retries: u64,
    pub operations: Vec<OperationStats>,
    /// A multi-account scan's calls per account.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountStats>,
    /// The process's peak resident memory so far, where the system says
    /// (Linux's `VmHWM`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_kib: Option<u64>,
}

/// The process's peak resident set size in KiB, from /proc/self/status;
/// `None` where there is no such file.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// One account's counts (`None`: the credentials' own account), as
/// `CallStats::snapshot` gives them.
pub type AccountCounts = (Option<String>, Vec<(String, String, OperationCount)>);

#[derive(Debug, Serialize)]
pub struct AccountStats {
    pub account: String,
    pub calls: u64,
    pub retries: u64,
}

#[derive(Debug, Serialize)]
pub struct OperationStats {
    pub service: String,
    pub operation: String,
    pub calls: u64,
    pub retries: u64,
}

impl RunStats {
    /// Sums the counts of every region's session.
    pub fn new(wall: std::time::Duration, counts: &[(String, String, OperationCount)]) -> RunStats {
        let mut operations: Vec<OperationStats> = Vec::new();
        for (service, operation, count) in counts {
            let retries = count.attempts.saturating_sub(count.calls);
            match operations
                .iter_mut()
                .find(|o| &o.service == service && &o.operation == operation)
            {
                Some(known) => {
                    known.calls += count.calls;
                    known.retries += retries;
                }
                None => operations.push(OperationStats {
                    service: service.clone(),
                    operation: operation.clone(),
                    calls: count.calls,
                    retries,
                }),
            }
        }
        operations.sort_by(|a, b| (&a.service, &a.operation).cmp(&(&b.service, &b.operation)));
        RunStats {
            wall_seconds: wall.as_secs_f64(),
            calls: operations.iter().map(|o| o.calls).sum(),
            retries: operations.iter().map(|o| o.retries).sum(),
            operations,
            accounts: Vec::new(),
            peak_memory_kib: peak_memory_kib(),
        }
    }

    /// The run's totals, and each account's when the scan entered accounts.
    pub fn of_accounts(wall: std::time::Duration, per_account: &[AccountCounts]) -> RunStats {
        let all: Vec<_> = per_account.iter().flat_map(|(_, c)| c.clone()).collect();
        let mut stats = RunStats::new(wall, &all);
        stats.accounts = per_account
            .iter()
            .filter_map(|(account, counts)| {
                let account = account.clone()?;
                let of_account = RunStats::new(wall, counts);
                Some(AccountStats {
                    account,
                    calls: of_account.calls,
                    retries: of_account.retries,
                })
            })
            .collect();
        stats
    }

    pub fn render_table(&self) -> String {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
            "service",
            "operation",
            "calls",
            "retries",
        ]);
        for op in &self.operations {
            table.add_row(vec![
                op.service.clone(),
                op.operation.clone(),
                op.calls.to_string(),
                op.retries.to_string(),
            ]);
        }
        let accounts: String = self
            .accounts
            .iter()
            .map(|a| {
                format!(
                    "account {}: {} calls, {} retries\n",
                    a.account, a.calls, a.retries
                )
            })
            .collect();
        let memory = self
            .peak_memory_kib
            .map(|kib| format!(", peak memory {:.0} MB", kib as f64 / 1024.0))
            .unwrap_or_default();
        format!(
            "{table}\n{accounts}{} AWS calls, {} retries, {:.2} s{memory}\n",
            self.calls, self.retries, self.wall_seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_sum_per_operation_and_retries_are_extra_attempts() {
        let count = |calls, attempts| OperationCount { calls, attempts };
        let stats = RunStats::new(
            std::time::Duration::from_millis(1500),
            &[
                ("Lambda".into(), "GetPolicy".into(), count(2, 3)),
                ("EC2".into(), "DescribeVpcs".into(), count(1, 1)),
                ("Lambda".into(), "GetPolicy".into(), count(1, 1)),
            ],
        );
        assert_eq!(stats.calls, 4);
        assert_eq!(stats.retries, 1);
        assert_eq!(stats.operations.len(), 2);
        assert_eq!(stats.operations[0].operation, "DescribeVpcs");
        assert_eq!(stats.operations[1].calls, 3);
        assert!(stats
            .render_table()
            .contains("4 AWS calls, 1 retries, 1.50 s"));
    }
}
