//! The operator: it turns users' L2 transactions and L1 requests into proven batches on L1.
//!
//! ```text
//! L2 users ──RPC──▶ sequencer ──blocks──▶ sealed chunks ──tasks──▶ coordinator ──▶ Backend
//! L1 queue ──watcher──┘ (pending state,    (fill ratio)          (queued, running,   (cpu)
//!                        capacity check)                          proven, failed)
//!                                                                     │ artifacts
//!                                          submitter: commit → finalize → execute ◀┘
//! ```
//!
//! - [`sequencer`]: accepts transactions against the core (signature, nonce, balance) and the
//!   circuit capacity checker, builds blocks under the block limit, seals chunks (full, or padded
//!   after a timeout) and proposes batches;
//! - [`watcher`]: ingests L1 requests in queue order once they have enough confirmations;
//! - [`coordinator`]: the proving pipeline: proof tasks from sealed chunks, their states, the
//!   artifacts checked and stored, a batch's artifacts for the submitter;
//! - [`prover`]: which `rollup_prover::Backend` the coordinator proves with (configured);
//! - [`submitter`]: the crash-safe L1 transaction pipeline (outbox before broadcast, own nonces,
//!   fee bumps, receipts with confirmations, idempotent steps);
//! - [`rpc`]: the L2 JSON-RPC API; [`store`]: the embedded database every step is written to;
//! - [`node`]: all of it running, with graceful shutdown; [`config`]: the settings.

pub mod config;
pub mod coordinator;
pub mod error;
pub mod node;
pub mod prover;
pub mod rpc;
pub mod sequencer;
pub mod store;
pub mod submitter;
pub mod watcher;

pub use error::{Error, Result};
