//! The operator: it turns users' L2 transactions and L1 requests into proven batches on L1.
//!
//! ```text
//! L2 users ──RPC──▶ sequencer ──blocks──▶ sealed chunks ──tasks──▶ coordinator ──▶ Backend
//! L1 queue ──watcher──┘ (pending state,          │               (queued, running,   (cpu)
//!                        capacity check)         ▼                proven, failed)
//!                                  batch book: chunks → batches,      │ artifacts
//!                                  each batch's L1 status             │
//!                                          ▲ records steps            ▼
//!                                   submitter: commit → finalize → execute
//!                                          │ transactions
//!                                   rollup_l1::TxManager (outbox, nonces, fee bumps, receipts)
//! ```
//!
//! - [`sequencer`]: accepts transactions against the core (signature, nonce, balance) and the
//!   circuit capacity checker, builds blocks under the block limit, seals chunks (full, or padded
//!   after a timeout);
//! - [`batches`]: the batch book: what L1 needs of each sealed chunk, chunks grouped into batches,
//!   each batch's L1 status;
//! - [`watcher`]: ingests L1 requests in queue order once they have enough confirmations;
//! - [`coordinator`]: the proving pipeline: proof tasks from sealed chunks, their states, the
//!   artifacts checked and stored, a batch's artifacts for the submitter;
//! - [`prover`]: which `rollup_prover::Backend` the coordinator proves and checks with
//!   (configured); [`queue`]: the PostgreSQL proof queue its tasks go to instead when `queue_url`
//!   is set, for prover workers on other machines;
//! - [`submitter`]: each batch's L1 steps, idempotent and crash-safe, sent through the L1
//!   transaction manager (`rollup_l1::TxManager`: outbox before broadcast, own nonces, fee bumps,
//!   receipts with confirmations);
//! - [`revert`]: batches that can never finalize reverted on L1 and in the store, their
//!   transactions queued again (`operator revert`);
//! - [`rpc`]: the L2 JSON-RPC API; [`store`]: the embedded database every step is written to;
//! - [`node`]: all of it running, with graceful shutdown; [`config`]: the settings.

pub mod batches;
pub mod config;
pub mod coordinator;
pub mod error;
pub mod node;
pub mod prover;
pub mod queue;
pub mod revert;
pub mod rpc;
pub mod sequencer;
pub mod store;
pub mod submitter;
pub mod watcher;

pub use error::{Error, Result};
