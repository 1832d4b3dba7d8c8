//! The operator's durable state, in one embedded database file (redb: ACID transactions, crash
//! safe, pure Rust). Everything the operator must not lose or do twice is written here before it
//! acts on it: accepted transactions (the queue), sealed chunks, proofs, batches and their L1
//! progress, and every signed L1 transaction before it is broadcast (the outbox).
//!
//! Values are JSON; each write is one redb transaction, so a crash leaves either all of a step
//! or none of it.

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Counters and cursors, by name.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Accepted transactions not yet in a sealed chunk, by sequence number.
pub(crate) const QUEUE: TableDefinition<u64, &[u8]> = TableDefinition::new("queue");
/// Sealed chunks, by index (from 0).
pub(crate) const CHUNKS: TableDefinition<u64, &[u8]> = TableDefinition::new("chunks");
/// Chunk proofs (for aggregation), by chunk index.
pub(crate) const PROOFS: TableDefinition<u64, &[u8]> = TableDefinition::new("proofs");
/// Batch proofs (the ones L1 verifies without compression), by batch index.
pub(crate) const BATCH_PROOFS: TableDefinition<u64, &[u8]> = TableDefinition::new("batch_proofs");
/// Batch proofs made for the compression stage, by batch index.
pub(crate) const RECURSIVE_BATCH_PROOFS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("recursive_batch_proofs");
/// Compressed batch proofs (the ones L1 verifies with compression), by batch index.
pub(crate) const COMPRESSED_PROOFS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("compressed_proofs");
/// Aggregation node proofs of batches' trees, by `rollup_prover::task::node_key` (batch, level,
/// position): a batch's nodes are the keys from `batch · 2¹⁶` up to the next batch's.
pub(crate) const NODE_PROOFS: TableDefinition<u64, &[u8]> = TableDefinition::new("node_proofs");
/// Batches, by index (from 1, as on L1).
pub(crate) const BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");
/// Signed L1 transactions of the step in flight, by step name.
pub(crate) const OUTBOX: TableDefinition<&str, &[u8]> = TableDefinition::new("outbox");
/// The keccak hash of each L1 request's record the watcher took, by request index: what L1 must
/// still hold after a reorg.
pub(crate) const REQUESTS: TableDefinition<u64, &[u8]> = TableDefinition::new("requests");
/// The hash of each L1 block a watcher page ended at (the newest ones), by block number: the
/// points it can read again from after a reorg.
pub(crate) const L1_MARKS: TableDefinition<u64, &[u8]> = TableDefinition::new("l1_marks");

/// L2 transactions a revert dropped (`crate::revert`), by id: refused if submitted again.
const DROPPED: TableDefinition<&str, u64> = TableDefinition::new("dropped");

/// The database.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

fn store_err(e: impl Into<redb::Error>) -> Error {
    Error::Database(Box::new(e.into()))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(value)?)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    Ok(serde_json::from_slice(bytes)?)
}

/// The writes of one atomic step.
pub struct Writer<'a> {
    txn: &'a redb::WriteTransaction,
}

impl Writer<'_> {
    /// Sets a counter.
    pub fn set_meta(&self, key: &str, value: u64) -> Result<()> {
        let mut t = self.txn.open_table(META).map_err(store_err)?;
        t.insert(key, value).map_err(store_err)?;
        Ok(())
    }

    /// Writes `value` at `key`.
    pub fn put<T: Serialize>(
        &self,
        table: TableDefinition<u64, &[u8]>,
        key: u64,
        value: &T,
    ) -> Result<()> {
        let bytes = encode(value)?;
        let mut t = self.txn.open_table(table).map_err(store_err)?;
        t.insert(key, bytes.as_slice()).map_err(store_err)?;
        Ok(())
    }

    /// Removes `key`.
    pub fn remove(&self, table: TableDefinition<u64, &[u8]>, key: u64) -> Result<()> {
        let mut t = self.txn.open_table(table).map_err(store_err)?;
        t.remove(key).map_err(store_err)?;
        Ok(())
    }

    /// Removes every key in `range`.
    pub fn remove_range(
        &self,
        table: TableDefinition<u64, &[u8]>,
        range: std::ops::Range<u64>,
    ) -> Result<()> {
        let mut t = self.txn.open_table(table).map_err(store_err)?;
        t.retain_in(range, |_, _| false).map_err(store_err)?;
        Ok(())
    }

    /// Writes the outbox entry of a step.
    pub fn put_outbox<T: Serialize>(&self, step: &str, value: &T) -> Result<()> {
        let bytes = encode(value)?;
        let mut t = self.txn.open_table(OUTBOX).map_err(store_err)?;
        t.insert(step, bytes.as_slice()).map_err(store_err)?;
        Ok(())
    }

    /// Removes the outbox entry of a step.
    pub fn remove_outbox(&self, step: &str) -> Result<()> {
        let mut t = self.txn.open_table(OUTBOX).map_err(store_err)?;
        t.remove(step).map_err(store_err)?;
        Ok(())
    }

    /// Records that a revert dropped transaction `id` (`batch`: the batch the revert kept).
    pub fn put_dropped(&self, id: &str, batch: u64) -> Result<()> {
        let mut t = self.txn.open_table(DROPPED).map_err(store_err)?;
        t.insert(id, batch).map_err(store_err)?;
        Ok(())
    }
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| store_err(redb::StorageError::Io(e)))?;
        }
        let db = Database::create(path).map_err(store_err)?;
        // Create every table, so that readers never meet a missing one.
        let s = Store { db };
        s.write(|w| {
            w.txn.open_table(META).map_err(store_err)?;
            for t in [
                QUEUE,
                CHUNKS,
                PROOFS,
                BATCH_PROOFS,
                RECURSIVE_BATCH_PROOFS,
                COMPRESSED_PROOFS,
                NODE_PROOFS,
                BATCHES,
                REQUESTS,
                L1_MARKS,
            ] {
                w.txn.open_table(t).map_err(store_err)?;
            }
            w.txn.open_table(OUTBOX).map_err(store_err)?;
            w.txn.open_table(DROPPED).map_err(store_err)?;
            Ok(())
        })?;
        Ok(s)
    }

    /// Runs `f`'s writes as one transaction: all of them land, or none.
    pub fn write<T>(&self, f: impl FnOnce(&Writer<'_>) -> Result<T>) -> Result<T> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let out = f(&Writer { txn: &txn })?;
        txn.commit().map_err(store_err)?;
        Ok(out)
    }

    /// A counter (0 if never set).
    pub fn meta(&self, key: &str) -> Result<u64> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let t = txn.open_table(META).map_err(store_err)?;
        Ok(t.get(key).map_err(store_err)?.map_or(0, |v| v.value()))
    }

    /// The value at `key`.
    pub fn get<T: DeserializeOwned>(
        &self,
        table: TableDefinition<u64, &[u8]>,
        key: u64,
    ) -> Result<Option<T>> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let t = txn.open_table(table).map_err(store_err)?;
        t.get(key)
            .map_err(store_err)?
            .map(|v| decode(v.value()))
            .transpose()
    }

    /// Every entry of a table, in key order.
    pub fn all<T: DeserializeOwned>(
        &self,
        table: TableDefinition<u64, &[u8]>,
    ) -> Result<Vec<(u64, T)>> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let t = txn.open_table(table).map_err(store_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(store_err)? {
            let (k, v) = item.map_err(store_err)?;
            out.push((k.value(), decode(v.value())?));
        }
        Ok(out)
    }

    /// The keys of a table, in order.
    pub fn keys(&self, table: TableDefinition<u64, &[u8]>) -> Result<Vec<u64>> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let t = txn.open_table(table).map_err(store_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(store_err)? {
            let (k, _) = item.map_err(store_err)?;
            out.push(k.value());
        }
        Ok(out)
    }

    /// Whether a revert dropped transaction `id`.
    pub fn is_dropped(&self, id: &str) -> Result<bool> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let t = txn.open_table(DROPPED).map_err(store_err)?;
        Ok(t.get(id).map_err(store_err)?.is_some())
    }

    /// The steps with an outbox entry, in key order.
    pub fn outbox_keys(&self) -> Result<Vec<String>> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let t = txn.open_table(OUTBOX).map_err(store_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(store_err)? {
            let (k, _) = item.map_err(store_err)?;
            out.push(k.value().to_string());
        }
        Ok(out)
    }

    /// The outbox entry of a step.
    pub fn outbox<T: DeserializeOwned>(&self, step: &str) -> Result<Option<T>> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let t = txn.open_table(OUTBOX).map_err(store_err)?;
        t.get(step)
            .map_err(store_err)?
            .map(|v| decode(v.value()))
            .transpose()
    }
}

/// The L1 transaction manager's outbox is the store's `outbox` table; entries are removed with the
/// step they achieved ([`crate::batches::Batches::set_status`]).
impl rollup_l1::Outbox for Store {
    fn load(
        &self,
        key: &str,
    ) -> std::result::Result<Option<rollup_l1::Pending>, Box<dyn std::error::Error + Send + Sync>>
    {
        Ok(self.outbox(key)?)
    }

    fn save(
        &self,
        key: &str,
        tx: &rollup_l1::Pending,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.write(|w| w.put_outbox(key, tx))?)
    }

    fn nonces(&self) -> std::result::Result<Vec<u64>, Box<dyn std::error::Error + Send + Sync>> {
        let mut out = Vec::new();
        for key in self.outbox_keys()? {
            if let Some(tx) = self.outbox::<rollup_l1::Pending>(&key)? {
                out.push(tx.nonce);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_writes_nothing_and_a_reopened_store_keeps_what_landed() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("operator-store-{}", std::process::id()));
        let path = dir.join("db.redb");
        {
            let s = Store::open(&path)?;
            s.write(|w| {
                w.set_meta("next", 3)?;
                w.put(QUEUE, 1, &"one")
            })?;
            let failed: Result<()> = s.write(|w| {
                w.set_meta("next", 4)?;
                w.put(QUEUE, 2, &"two")?;
                Err(Error::Store("stop".into()))
            });
            assert!(failed.is_err());
        }
        let s = Store::open(&path)?;
        assert_eq!(s.meta("next")?, 3);
        assert_eq!(s.all::<String>(QUEUE)?, vec![(1, "one".to_string())]);
        assert_eq!(s.meta("never")?, 0);
        std::fs::remove_dir_all(&dir).map_err(store_err)?;
        Ok(())
    }
}
