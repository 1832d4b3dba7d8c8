//! What the operator's anvil tests share beyond the harness (`rollup-test-utils`): a
//! configuration with short timeouts and the operator's logs.

#![allow(dead_code, unreachable_pub, unused_imports)]

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use rollup_operator::config::Config;
pub use rollup_test_utils::*;

/// A configuration for tests: short timeouts, keys cached across test runs.
pub fn config(l1_rpc: String, rollup: Address, chain_id: u64, data: &Path) -> Config {
    Config {
        l1_rpc,
        rollup,
        rpc_addr: "127.0.0.1:0".parse().unwrap_or(Config::default().rpc_addr),
        data_dir: data.to_path_buf(),
        key_cache: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keys")),
        dev_srs: true,
        chain_id,
        block_time_ms: 100,
        chunk_timeout_ms: 300,
        batch_chunks: 4,
        batch_timeout_ms: 1_000,
        poll_ms: 200,
        bump_after_ms: 10_000,
        rpc_max_request_bytes: 4_096,
        ..Config::default()
    }
}

/// The operator's logs in the test output (shown with `--nocapture` or on failure).
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("rollup_operator=info")),
        )
        .try_init();
}
