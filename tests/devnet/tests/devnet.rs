//! The main job, run as the README's main command runs it, with the real proving pipeline (every
//! batch finalized with one aggregated proof): every user must be made whole and the rollup emptied.
//! Eight-slot chunks, so that its few L2 phases fit in few batches (a batch proof takes minutes on 2
//! cores); the batch verifier and the keys are those the other tests of the run made for them.

use std::path::Path;

#[test]
fn the_main_job_ends_with_every_user_made_whole() -> Result<(), Box<dyn std::error::Error>> {
    let devnet = Path::new(env!("CARGO_BIN_EXE_devnet"));
    let escape = devnet.with_file_name("escape");
    if !escape.exists() {
        // `cargo test --workspace` builds it; `cargo test -p rollup-devnet` alone does not.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = std::process::Command::new(cargo)
            .args(["build", "-p", "escape"])
            .status()?;
        assert!(built.success(), "building the escape client");
    }
    let out = std::process::Command::new(devnet)
        .args(["--slots", "8", "--json", "--escape-bin"])
        .arg(&escape)
        .arg("--root")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        // The key cache every test of the run shares (one SRS, one batch key).
        .arg("--key-cache")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("keys"))
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(summary["everyoneMadeWhole"], true, "{summary:#}");
    assert_eq!(
        summary["rollupHoldsAfter"]["eth"], summary["rollupHoldsAfter"]["lockedFees"],
        "the rollup keeps only the locked fee surcharges"
    );
    assert_ne!(
        summary["rollupHoldsAfter"]["lockedFees"], "0",
        "accounts paid surcharges"
    );
    assert_eq!(summary["rollupHoldsAfter"]["token"], "0");
    let users = summary["users"].as_array().ok_or("users")?;
    assert_eq!(users.len(), 5, "four users and the fee account");
    for u in users {
        assert_eq!(u["madeWhole"], true, "{u}");
        assert_eq!(u["escaped"], u["l2Finalized"], "{u}");
    }
    let batches = summary["batches"].as_array().ok_or("batches")?;
    assert!(!batches.is_empty() && batches.iter().all(|b| b["status"] == "executed"));
    let chunks = summary["chunks"].as_array().ok_or("chunks")?;
    assert!(
        chunks
            .iter()
            .all(|c| c["fillRatio"].as_f64().is_some_and(|f| f > 0.0))
    );
    assert!(
        chunks
            .iter()
            .all(|c| c["proveSeconds"].as_f64().is_some_and(|s| s > 0.0)),
        "every chunk's proving time is reported: {chunks:?}"
    );
    let steps: Vec<&str> = summary["gas"]
        .as_array()
        .ok_or("gas")?
        .iter()
        .filter_map(|g| g["step"].as_str())
        .collect();
    for step in [
        "depositEth",
        "depositErc20",
        "requestForcedExit",
        "activateEscapeMode",
        "refundDeposit",
    ] {
        assert!(steps.contains(&step), "no gas figure for {step}: {steps:?}");
    }
    assert!(steps.iter().any(|s| s.starts_with("finalizeBatch")));
    // The main job posts every batch in a blob, and the escape client re-derived the state from
    // those blobs (anvil serves them) before everyone escaped.
    assert_eq!(summary["data"], "blob");
    assert!(
        batches.iter().all(|b| b["blob"].is_string()),
        "every batch is posted in a blob: {batches:?}"
    );
    assert!(
        steps
            .iter()
            .filter(|s| s.starts_with("commitBatch"))
            .all(|s| s.starts_with("commitBatchBlob")),
        "{steps:?}"
    );
    for g in summary["gas"].as_array().ok_or("gas")? {
        if g["step"]
            .as_str()
            .is_some_and(|s| s.starts_with("commitBatchBlob"))
        {
            assert_eq!(g["blobGas"], 131_072, "one blob per commit: {g}");
        }
    }
    assert!(steps.iter().any(|s| s.starts_with("escape (token 1)")));
    // Issue 15's goal, on receipts of real transactions: every escape costs at most 400k gas.
    for g in summary["gas"].as_array().ok_or("gas")? {
        if g["step"]
            .as_str()
            .is_some_and(|s| s.starts_with("escape ("))
        {
            let gas = g["gas"].as_u64().ok_or("escape gas")?;
            assert!(gas <= 400_000, "an escape cost {gas} gas: {g}");
        }
    }
    Ok(())
}
