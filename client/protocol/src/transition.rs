//! The state transition: validity rules of every transaction type, the chunk
//! that packs them, and the per-transaction witness the chunk circuit consumes.
//!
//! Every slot performs exactly [`UPDATES_PER_SLOT`] balance updates, in order:
//!
//! | type | update 0 | update 1 | update 2 |
//! | --- | --- | --- | --- |
//! | Noop | no-op | no-op | no-op |
//! | Deposit | target: create if new, credit | no-op | no-op |
//! | Transfer | sender: nonce+1, debit amount+fee | receiver: credit amount | fee account: credit fee |
//! | Withdraw | sender: nonce+1, debit amount+fee | no-op | fee account: credit fee |
//! | ForcedExit | target: balance → 0 | no-op | no-op |
//! | ChangeKey | target (token 0): set key | no-op | no-op |
//!
//! A no-op update reads (account 0, token 0) and writes it back unchanged, so the
//! circuit sees one shape for every slot. Updates apply in order, so a transfer
//! to oneself or from the fee account is well defined.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

use crate::capacity::{ChunkCapacity, UPDATES_PER_SLOT, cost};
use crate::codec::{DataBinding, Record, encode_chunk};
use crate::constants::{FEE_ACCOUNT_ID, MAX_NONCE};
use crate::eddsa::{self, Point, PubKey, Signature};
use crate::error::{Error, Result};
use crate::field::{self, Fr};
use crate::float;
use crate::smt::MerkleProof;
use crate::state::{AccountId, AccountLeaf, State, TokenId, check_account_id};
use crate::tx::Tx;

/// One balance update, with everything the circuit needs to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceUpdate {
    /// Account touched.
    pub account_id: AccountId,
    /// Token touched.
    pub token: TokenId,
    /// Account leaf fields before.
    pub account_before: AccountLeaf,
    /// Account leaf fields after.
    pub account_after: AccountLeaf,
    /// Balance before.
    pub balance_before: u128,
    /// Balance after.
    pub balance_after: u128,
    /// Path of the balance in the account's balance tree (same before and after).
    pub balance_proof: MerkleProof,
    /// Path of the account in the account tree (same before and after).
    pub account_proof: MerkleProof,
    /// State root before the update.
    #[serde(with = "field::serde_hex")]
    pub root_before: Fr,
    /// State root after the update.
    #[serde(with = "field::serde_hex")]
    pub root_after: Fr,
}

impl BalanceUpdate {
    /// Whether the update is internally consistent: both proofs link the leaf
    /// values before and after to the roots before and after. The chunk circuit
    /// enforces exactly this for every update.
    pub fn verify(&self) -> bool {
        let bal = |b: u128| self.balance_proof.compute_root(field::from_u128(b));
        self.balance_proof.index == u64::from(self.token)
            && self.account_proof.index == u64::from(self.account_id)
            && self
                .balance_proof
                .check_depth(crate::constants::BALANCE_TREE_DEPTH)
                .is_ok()
            && self
                .account_proof
                .check_depth(crate::constants::ACCOUNT_TREE_DEPTH)
                .is_ok()
            && self.account_before.balance_root == bal(self.balance_before)
            && self.account_after.balance_root == bal(self.balance_after)
            && self.account_proof.compute_root(self.account_before.hash()) == self.root_before
            && self.account_proof.compute_root(self.account_after.hash()) == self.root_after
    }
}

impl TxWitness {
    /// Whether every update verifies and each starts from the root the previous one ended at.
    pub fn verify(&self) -> bool {
        self.updates.len() == UPDATES_PER_SLOT
            && self.updates.iter().all(BalanceUpdate::verify)
            && self
                .updates
                .windows(2)
                .all(|w| w[0].root_after == w[1].root_before)
    }
}

/// The witness of one executed slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxWitness {
    /// The transaction as submitted.
    pub tx: Tx,
    /// The record it posts.
    pub record: Record,
    /// Its [`UPDATES_PER_SLOT`] balance updates, chained root to root.
    pub updates: Vec<BalanceUpdate>,
}

/// A planned write to one (account, token).
#[derive(Debug, Clone, Copy)]
struct Change {
    account_id: AccountId,
    token: TokenId,
    /// New balance; `None` keeps the current one (read when the write happens).
    balance: Option<u128>,
    nonce: Option<u32>,
    pubkey: Option<PubKey>,
    owner: Option<Address>,
}

impl Change {
    fn keep(account_id: AccountId, token: TokenId) -> Change {
        Change {
            account_id,
            token,
            balance: None,
            nonce: None,
            pubkey: None,
            owner: None,
        }
    }

    fn set_balance(account_id: AccountId, token: TokenId, balance: u128) -> Change {
        Change {
            balance: Some(balance),
            ..Change::keep(account_id, token)
        }
    }
}

/// The prior values a change overwrote, to undo it.
#[derive(Debug, Clone, Copy)]
struct Undo {
    account_id: AccountId,
    token: TokenId,
    balance: u128,
    nonce: u32,
    pubkey: PubKey,
    owner: Address,
}

/// Reads through the changes already planned for this transaction.
struct Plan<'a> {
    state: &'a State,
    changes: Vec<Change>,
}

impl Plan<'_> {
    fn balance(&self, id: AccountId, token: TokenId) -> u128 {
        self.changes
            .iter()
            .rev()
            .find_map(|c| {
                (c.account_id == id && c.token == token)
                    .then_some(c.balance)
                    .flatten()
            })
            .unwrap_or_else(|| self.state.balance(id, token))
    }

    fn credit(&mut self, id: AccountId, token: TokenId, amount: u128) -> Result<()> {
        let balance = self
            .balance(id, token)
            .checked_add(amount)
            .ok_or(Error::Overflow { account: id, token })?;
        self.changes.push(Change::set_balance(id, token, balance));
        Ok(())
    }

    /// Debits `amount + fee` from `from` and increments its nonce. With `auth` (nonce, signed
    /// message, signature) it first checks key, nonce and signature, as for a new L2 transaction;
    /// without, it replays a record whose validity a proof already established.
    fn debit(
        &mut self,
        from: AccountId,
        token: TokenId,
        amount: u128,
        fee: u128,
        auth: Option<(u32, Fr, &Signature)>,
    ) -> Result<()> {
        let acc = self
            .state
            .account(from)
            .ok_or(Error::UnknownAccount { account: from })?;
        if let Some((nonce, _, _)) = auth {
            if acc.pubkey == Point::NONE {
                return Err(Error::NoKey { account: from });
            }
            if nonce != acc.nonce {
                return Err(Error::BadNonce {
                    account: from,
                    expected: acc.nonce,
                    got: nonce,
                });
            }
        }
        if acc.nonce == MAX_NONCE {
            return Err(Error::NonceExhausted { account: from });
        }
        if let Some((_, msg, sig)) = auth
            && !eddsa::verify(&acc.pubkey, msg, sig)
        {
            return Err(Error::BadSignature { account: from });
        }
        let need = amount.checked_add(fee).ok_or(Error::Overflow {
            account: from,
            token,
        })?;
        let have = acc.balance(token);
        if have < need {
            return Err(Error::InsufficientBalance {
                account: from,
                token,
                have,
                need,
            });
        }
        self.changes.push(Change {
            nonce: Some(acc.nonce + 1),
            ..Change::set_balance(from, token, have - need)
        });
        Ok(())
    }

    /// Transfer rules (see the module docs), signed or replayed.
    fn transfer(
        &mut self,
        from: AccountId,
        to: AccountId,
        token: TokenId,
        amount: u128,
        fee: u128,
        auth: Option<(u32, Fr, &Signature)>,
    ) -> Result<()> {
        self.require_exists(from)?;
        self.require_exists(to)?;
        self.require_exists(FEE_ACCOUNT_ID)?;
        self.debit(from, token, amount, fee, auth)?;
        self.credit(to, token, amount)?;
        self.credit(FEE_ACCOUNT_ID, token, fee)
    }

    /// Withdrawal rules, signed or replayed.
    fn withdraw(
        &mut self,
        from: AccountId,
        token: TokenId,
        amount: u128,
        fee: u128,
        auth: Option<(u32, Fr, &Signature)>,
    ) -> Result<()> {
        self.require_exists(from)?;
        self.require_exists(FEE_ACCOUNT_ID)?;
        self.debit(from, token, amount, fee, auth)?;
        self.changes.push(Change::keep(FEE_ACCOUNT_ID, 0));
        self.credit(FEE_ACCOUNT_ID, token, fee)
    }

    fn require_exists(&self, id: AccountId) -> Result<()> {
        check_account_id(id)?;
        self.state
            .account(id)
            .map(|_| ())
            .ok_or(Error::UnknownAccount { account: id })
    }
}

fn check_pubkey(k: &PubKey) -> Result<()> {
    if k.is_valid_key() {
        Ok(())
    } else {
        Err(Error::InvalidPublicKey)
    }
}

impl State {
    /// Checks `tx` against the state without changing it; returns its planned writes and its record.
    fn plan(&self, tx: &Tx) -> Result<(Vec<Change>, Record)> {
        let mut p = Plan {
            state: self,
            changes: Vec::with_capacity(UPDATES_PER_SLOT),
        };
        let chain_id = self.config().chain_id;
        let record = match *tx {
            Tx::Noop => Record::Noop,
            Tx::Deposit(d) => {
                check_account_id(d.account_id)?;
                check_pubkey(&d.pubkey)?;
                let mismatch = |expected| Error::OwnerMismatch {
                    account: d.account_id,
                    expected,
                    got: d.owner,
                };
                if d.owner == Address::ZERO {
                    return Err(mismatch(Address::ZERO));
                }
                let created = match self.account(d.account_id) {
                    Some(acc) if acc.owner != d.owner => return Err(mismatch(acc.owner)),
                    Some(_) => false,
                    None => true,
                };
                p.credit(d.account_id, d.token, d.amount)?;
                if let Some(c) = p.changes.last_mut().filter(|_| created) {
                    c.owner = Some(d.owner);
                    c.pubkey = Some(d.pubkey);
                }
                Record::Deposit(d)
            }
            Tx::Transfer { tx: t, sig } => {
                // The record packs both: an amount it cannot hold is refused, never rounded.
                float::AMOUNT.check("amount", t.amount)?;
                float::FEE.check("fee", t.fee)?;
                let auth = Some((t.nonce, t.message(chain_id), &sig));
                p.transfer(t.from, t.to, t.token, t.amount, t.fee, auth)?;
                Record::Transfer {
                    from: t.from,
                    to: t.to,
                    token: t.token,
                    amount: t.amount,
                    fee: t.fee,
                }
            }
            Tx::Withdraw { tx: w, sig } => {
                // The amount is exact in the record (a withdrawal may empty a balance); the fee packed.
                float::FEE.check("fee", w.fee)?;
                let auth = Some((w.nonce, w.message(chain_id), &sig));
                p.withdraw(w.from, w.token, w.amount, w.fee, auth)?;
                Record::Withdraw {
                    from: w.from,
                    token: w.token,
                    amount: w.amount,
                    fee: w.fee,
                }
            }
            Tx::ForcedExit(f) => {
                p.require_exists(f.account_id)?;
                let amount = self.balance(f.account_id, f.token);
                p.changes
                    .push(Change::set_balance(f.account_id, f.token, 0));
                Record::ForcedExit {
                    account_id: f.account_id,
                    token: f.token,
                    amount,
                }
            }
            Tx::ChangeKey(c) => {
                p.require_exists(c.account_id)?;
                check_pubkey(&c.pubkey)?;
                p.changes.push(Change {
                    pubkey: Some(c.pubkey),
                    ..Change::keep(c.account_id, 0)
                });
                Record::ChangeKey(c)
            }
        };
        Ok((p.changes, record))
    }

    /// Plans a record read back from L1 (the escape client's replay). Signatures are not posted:
    /// the chunk proof vouched for them, so transfers and withdrawals only increment the nonce. A
    /// record that cannot follow from this state (a forced exit of another amount than the balance,
    /// an overdraft, an unknown account) is corrupt data and is rejected.
    fn plan_record(&self, record: &Record) -> Result<Vec<Change>> {
        match *record {
            Record::Noop => Ok(vec![]),
            Record::Deposit(d) => self.plan(&Tx::Deposit(d)).map(|(c, _)| c),
            Record::ChangeKey(c) => self.plan(&Tx::ChangeKey(c)).map(|(c, _)| c),
            Record::ForcedExit {
                account_id,
                token,
                amount,
            } => {
                let (changes, planned) =
                    self.plan(&Tx::ForcedExit(crate::tx::ForcedExit { account_id, token }))?;
                if planned != *record {
                    return Err(Error::RecordMismatch {
                        reason: format!(
                            "forced exit of account {account_id} token {token} records {amount}, the balance is {}",
                            self.balance(account_id, token)
                        ),
                    });
                }
                Ok(changes)
            }
            Record::Transfer {
                from,
                to,
                token,
                amount,
                fee,
            } => {
                let mut p = Plan {
                    state: self,
                    changes: Vec::with_capacity(UPDATES_PER_SLOT),
                };
                p.transfer(from, to, token, amount, fee, None)?;
                Ok(p.changes)
            }
            Record::Withdraw {
                from,
                token,
                amount,
                fee,
            } => {
                let mut p = Plan {
                    state: self,
                    changes: Vec::with_capacity(UPDATES_PER_SLOT),
                };
                p.withdraw(from, token, amount, fee, None)?;
                Ok(p.changes)
            }
        }
    }

    /// Applies a record read back from L1 data (see [`State::apply_records`]). On error the
    /// state is unchanged.
    pub fn apply_record(&mut self, record: &Record) -> Result<()> {
        self.apply_records(std::slice::from_ref(record))
    }

    /// Replays records read back from L1 (a chunk's pubdata), as the escape client re-derives the
    /// state: the same rules as [`State::apply_tx`] but for signatures, which are not posted. On
    /// error (corrupt data) the state is unchanged and the error names the record.
    pub fn apply_records(&mut self, records: &[Record]) -> Result<()> {
        // No witnesses are needed: the writes change balances and fields only, and the trees are
        // rehashed once at the end, each dirty node once (`State::rehash`).
        let mut journal = Vec::new();
        let mut dirty: BTreeMap<AccountId, BTreeSet<TokenId>> = BTreeMap::new();
        for (index, record) in records.iter().enumerate() {
            let changes = match self.plan_record(record) {
                Ok(changes) => changes,
                Err(e) => {
                    self.restore_fields(journal);
                    return Err(Error::Rejected {
                        index,
                        reason: Box::new(e),
                    });
                }
            };
            for c in &changes {
                if let Some(undo) = self.write_fields(c) {
                    dirty.entry(c.account_id).or_default().insert(c.token);
                    journal.push(undo);
                }
            }
        }
        self.rehash(dirty)
    }

    /// A planned write to the balance and fields only, the trees left stale; `None` when it
    /// changes nothing.
    fn write_fields(&mut self, c: &Change) -> Option<Undo> {
        // The leaf's fields; its balance root may be stale here and is not read.
        let before = self.account_leaf(c.account_id);
        let balance_before = self.balance(c.account_id, c.token);
        let balance_after = c.balance.unwrap_or(balance_before);
        let unchanged = balance_after == balance_before
            && c.owner.is_none_or(|o| o == before.owner)
            && c.nonce.is_none_or(|n| n == before.nonce)
            && c.pubkey.is_none_or(|k| k == before.pubkey);
        if unchanged {
            return None;
        }
        let acc = self.account_mut(c.account_id);
        acc.owner = c.owner.unwrap_or(acc.owner);
        acc.nonce = c.nonce.unwrap_or(acc.nonce);
        acc.pubkey = c.pubkey.unwrap_or(acc.pubkey);
        acc.set_balance_deferred(c.token, balance_after);
        Some(Undo {
            account_id: c.account_id,
            token: c.token,
            balance: balance_before,
            owner: before.owner,
            nonce: before.nonce,
            pubkey: before.pubkey,
        })
    }

    /// Undoes [`State::write_fields`] writes, last first (the trees were not touched).
    fn restore_fields(&mut self, journal: Vec<Undo>) {
        for u in journal.iter().rev() {
            let acc = self.account_mut(u.account_id);
            acc.owner = u.owner;
            acc.nonce = u.nonce;
            acc.pubkey = u.pubkey;
            acc.set_balance_deferred(u.token, u.balance);
        }
    }

    /// Performs one planned write and returns its witness and how to undo it.
    fn write(&mut self, c: &Change) -> Result<(BalanceUpdate, Undo)> {
        let account_before = self.account_leaf(c.account_id);
        let balance_before = self.balance(c.account_id, c.token);
        let root_before = self.root();
        let undo = Undo {
            account_id: c.account_id,
            token: c.token,
            balance: balance_before,
            nonce: account_before.nonce,
            pubkey: account_before.pubkey,
            owner: account_before.owner,
        };
        let balance_after = c.balance.unwrap_or(balance_before);
        let unchanged = balance_after == balance_before
            && c.owner.is_none_or(|o| o == account_before.owner)
            && c.nonce.is_none_or(|n| n == account_before.nonce)
            && c.pubkey.is_none_or(|k| k == account_before.pubkey);
        if unchanged {
            // Padding and no-op updates: the same proofs, nothing to rehash.
            let balance_proof = match self.account(c.account_id) {
                Some(acc) => acc.balance_proof(c.token)?,
                None => crate::state::Account::default().balance_proof(c.token)?,
            };
            let update = BalanceUpdate {
                account_id: c.account_id,
                token: c.token,
                account_before,
                account_after: account_before,
                balance_before,
                balance_after,
                balance_proof,
                account_proof: self.account_proof(c.account_id)?,
                root_before,
                root_after: root_before,
            };
            return Ok((update, undo));
        }
        let acc = self.account_mut(c.account_id);
        if let Some(o) = c.owner {
            acc.owner = o;
        }
        if let Some(n) = c.nonce {
            acc.nonce = n;
        }
        if let Some(k) = c.pubkey {
            acc.pubkey = k;
        }
        let balance_proof = acc.set_balance(c.token, balance_after)?;
        let account_after = acc.leaf();
        let account_proof = self.commit_account(c.account_id)?;
        Ok((
            BalanceUpdate {
                account_id: c.account_id,
                token: c.token,
                account_before,
                account_after,
                balance_before,
                balance_after,
                balance_proof,
                account_proof,
                root_before,
                root_after: self.root(),
            },
            undo,
        ))
    }

    fn undo(&mut self, u: &Undo) -> Result<()> {
        let c = Change {
            account_id: u.account_id,
            token: u.token,
            balance: Some(u.balance),
            nonce: Some(u.nonce),
            pubkey: Some(u.pubkey),
            owner: Some(u.owner),
        };
        self.write(&c).map(|_| ())
    }

    fn execute(&mut self, tx: &Tx, journal: &mut Vec<Undo>) -> Result<TxWitness> {
        let (mut changes, record) = self.plan(tx)?;
        while changes.len() < UPDATES_PER_SLOT {
            changes.push(Change::keep(FEE_ACCOUNT_ID, 0));
        }
        let mut updates = Vec::with_capacity(UPDATES_PER_SLOT);
        for c in &changes {
            let (w, u) = self.write(c)?;
            journal.push(u);
            updates.push(w);
        }
        Ok(TxWitness {
            tx: *tx,
            record,
            updates,
        })
    }

    fn rollback(&mut self, journal: Vec<Undo>) {
        for u in journal.iter().rev() {
            // Writes to a path that was written before cannot fail.
            let _ = self.undo(u);
        }
    }

    /// Applies one transaction. On error the state is unchanged.
    pub fn apply_tx(&mut self, tx: &Tx) -> Result<TxWitness> {
        let mut journal = Vec::new();
        match self.execute(tx, &mut journal) {
            Ok(w) => Ok(w),
            Err(e) => {
                self.rollback(journal);
                Err(e)
            }
        }
    }

    /// Applies a whole chunk: `txs` then padding up to the chunk's slots. On error
    /// (an invalid transaction or too many) the state is unchanged.
    pub fn apply_chunk(&mut self, txs: &[Tx]) -> Result<Chunk> {
        let mut b = ChunkBuilder::new(self);
        for (index, tx) in txs.iter().enumerate() {
            if let Err(e) = b.push(tx) {
                b.abort();
                return Err(Error::Rejected {
                    index,
                    reason: Box::new(e),
                });
            }
        }
        b.finish()
    }
}

/// A proven unit of work: `slots` executed transactions and what they commit to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// State root before the chunk.
    #[serde(with = "field::serde_hex")]
    pub old_root: Fr,
    /// State root after the chunk.
    #[serde(with = "field::serde_hex")]
    pub new_root: Fr,
    /// One record per slot, padding included.
    pub records: Vec<Record>,
    /// The records' encodings back to back: the chunk's pubdata.
    #[serde(with = "alloy_primitives::hex::serde")]
    pub pubdata: Vec<u8>,
    /// What binds the proof to the pubdata (three public inputs of the chunk proof).
    pub binding: DataBinding,
    /// One witness per slot.
    pub witnesses: Vec<TxWitness>,
}

/// How many public inputs a chunk proof has ([`Chunk::public_inputs`]).
pub const CHUNK_PUBLIC_INPUTS: usize = 5;

impl Chunk {
    /// The chunk proof's public inputs, in order: old root, new root, and the data binding's
    /// commitment, challenge and evaluation.
    pub fn public_inputs(&self) -> [Fr; CHUNK_PUBLIC_INPUTS] {
        [
            self.old_root,
            self.new_root,
            self.binding.commitment,
            self.binding.challenge,
            self.binding.evaluation,
        ]
    }

    /// Slots holding a real transaction, over all slots.
    pub fn fill_ratio(&self) -> f64 {
        let used = self
            .records
            .iter()
            .filter(|r| !matches!(r, Record::Noop))
            .count();
        used as f64 / self.records.len().max(1) as f64
    }
}

/// Builds a chunk one transaction at a time; each push is atomic.
#[derive(Debug)]
pub struct ChunkBuilder<'a> {
    state: &'a mut State,
    capacity: ChunkCapacity,
    old_root: Fr,
    witnesses: Vec<TxWitness>,
    journal: Vec<Undo>,
}

impl<'a> ChunkBuilder<'a> {
    /// Starts a chunk on `state`.
    pub fn new(state: &'a mut State) -> Self {
        let capacity = ChunkCapacity {
            slots: state.config().chunk_slots,
        };
        let old_root = state.root();
        ChunkBuilder {
            state,
            capacity,
            old_root,
            witnesses: Vec::new(),
            journal: Vec::new(),
        }
    }

    /// Slots used so far.
    pub fn used(&self) -> usize {
        self.witnesses.len()
    }

    /// Whether no slot is left.
    pub fn is_full(&self) -> bool {
        self.used() >= self.capacity.slots
    }

    /// The state as of the last accepted transaction.
    pub fn state(&self) -> &State {
        self.state
    }

    /// Applies `tx` into the next slot; on error neither state nor chunk changes.
    pub fn push(&mut self, tx: &Tx) -> Result<&TxWitness> {
        if !self.capacity.fits(self.used(), &cost(tx.tx_type())) {
            return Err(Error::OverCapacity {
                capacity: self.capacity.slots,
                used: self.used(),
            });
        }
        let mut journal = Vec::new();
        match self.state.execute(tx, &mut journal) {
            Ok(w) => {
                self.journal.extend(journal);
                self.witnesses.push(w);
                Ok(&self.witnesses[self.witnesses.len() - 1])
            }
            Err(e) => {
                self.state.rollback(journal);
                Err(e)
            }
        }
    }

    /// Undoes every transaction of the chunk.
    pub fn abort(self) {
        self.state.rollback(self.journal);
    }

    /// Pads the free slots and seals the chunk. Every record was checked when its transaction was
    /// pushed, so encoding them does not fail; if it did, the chunk is undone and the error returned.
    pub fn finish(mut self) -> Result<Chunk> {
        while !self.is_full() {
            // Padding touches only the no-op update and cannot fail.
            if self.push(&Tx::Noop).is_err() {
                break;
            }
        }
        let records: Vec<Record> = self.witnesses.iter().map(|w| w.record).collect();
        let encoded = encode_chunk(&records).and_then(|p| Ok((p, DataBinding::of(&records)?)));
        let (pubdata, binding) = match encoded {
            Ok(e) => e,
            Err(e) => {
                self.abort();
                return Err(e);
            }
        };
        Ok(Chunk {
            old_root: self.old_root,
            new_root: self.state.root(),
            pubdata,
            binding,
            records,
            witnesses: self.witnesses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eddsa::SecretKey;
    use crate::state::Config;
    use crate::tx::{Deposit, Transfer};

    #[test]
    fn exhausted_nonce_is_rejected() -> Result<()> {
        let k = SecretKey::from_seed(b"old");
        let mut s = State::new(Config {
            chain_id: 1,
            chunk_slots: 1,
        });
        for id in 0..2 {
            let owner = Address::repeat_byte(id as u8 + 1);
            s.apply_tx(&Tx::Deposit(Deposit {
                account_id: id,
                owner,
                token: 0,
                amount: 10,
                pubkey: k.public(),
            }))?;
        }
        s.account_mut(1).nonce = MAX_NONCE;
        s.commit_account(1)?;
        let root = s.root();
        let t = Transfer {
            from: 1,
            to: 0,
            token: 0,
            amount: 1,
            fee: 0,
            nonce: MAX_NONCE,
        }
        .sign(&k, 1);
        assert_eq!(s.apply_tx(&t), Err(Error::NonceExhausted { account: 1 }));
        assert_eq!(s.root(), root);
        Ok(())
    }
}
