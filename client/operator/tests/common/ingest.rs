//! Requests handed to `Sequencer::ingest` as the watcher hands them on, for the tests and benches
//! that drive the sequencer without a watcher.

use alloy_primitives::B256;
use rollup_operator::sequencer::L1Page;
use rollup_protocol::Tx;

/// Requests with their record hashes (which only the watcher's reorg check reads: zero here).
pub(crate) fn hashed(requests: Vec<(u64, Tx)>) -> Vec<(u64, Tx, B256)> {
    requests
        .into_iter()
        .map(|(i, tx)| (i, tx, B256::ZERO))
        .collect()
}

/// A watcher page that ends just before block `next`.
pub(crate) fn page(next: u64) -> L1Page {
    L1Page {
        end: next - 1,
        hash: B256::ZERO,
        prune: Vec::new(),
    }
}
