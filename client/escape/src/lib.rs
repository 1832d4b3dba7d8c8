//! The user's escape-hatch client: it needs nothing but L1. It re-derives the L2
//! state from the records every committed batch posted in its calldata, checks
//! the root it derives after every finalized batch against the one L1 stored,
//! and builds the Merkle proofs users escape with (the `escape` binary).
//!
//! - [`blobs`]: blobs from a chain of sources (cache, L1 node, beacon APIs, archives), each checked
//!   against its versioned hash;
//! - [`derive`]: replaying finalized batches into the core's `State`, atomically
//!   per batch, with a checkpoint on disk to resume from;
//! - [`exit`]: the derived balance proof in the shape the L1 escape takes;
//! - [`l1`]: reading finalized batches from the rollup's events and calldata
//!   through any RPC, paged and retried, each chunk checked against its data
//!   commitment;
//! - [`snapshot`]: the state at one finalized batch as a list of accounts, checked by its root, to
//!   start from instead of genesis and to keep the data alive;
//! - [`store`]: the data directory (locked): the pinned L1 chain and rollup, the progress, the
//!   rollback points and the batches applied;
//! - [`sync`]: both together, page by page, up to a settled head, with reorgs detected and rolled
//!   back and progress saved after every page, so that an interrupted sync resumes without
//!   applying a batch twice or skipping one;
//! - [`synthetic`]: a synthetic L1 history for the re-derivation benchmarks.

pub mod blobs;
pub mod derive;
pub mod exit;
pub mod l1;
pub mod snapshot;
pub mod store;
pub mod sync;
pub mod synthetic;
