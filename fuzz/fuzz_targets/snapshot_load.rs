//! The snapshot loader `--snapshot` uses (its size bound, UTF-8, JSON and
//! schema version checks, then the shape) and every check on what it loads:
//! any bytes it accepts (odd but valid: missing, unavailable or empty
//! facts, dangling ids, extreme numbers and dates) go through every check,
//! the reachability engine and the placement suggestion without a panic, and
//! what comes out serializes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rotation_doctor_checks::{diagnose, net, snapshot};

fuzz_target!(|data: &[u8]| {
    let Ok(facts) = snapshot::parse(data, "input.json") else {
        return;
    };
    let diagnosis = diagnose(&facts);
    serde_json::to_string(&diagnosis).expect("a diagnosis serializes");
    // The engine on its own too: `diagnose` runs it only for a secret a
    // Lambda rotates, and these facts may say anything.
    for paths in [
        net::database_paths(&facts),
        net::secretsmanager_paths(&facts),
    ]
    .into_iter()
    .flatten()
    {
        for path in &paths {
            let _ = net::render_path(path);
            serde_json::to_string(path).expect("a path serializes");
        }
    }
    let _ = net::suggest_placement(&facts);

    // A snapshot written back reads back the same.
    let text = serde_json::to_string(&facts).expect("facts serialize");
    let again = snapshot::parse(text.as_bytes(), "saved.json").expect("saved facts load");
    assert_eq!(facts, again);
});
