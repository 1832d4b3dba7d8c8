//! Circuit capacity: what each transaction type costs the chunk circuit.
//!
//! The chunk circuit has a fixed number of identical slots, each able to hold
//! any transaction type (three balance updates, one signature check, one 93-byte
//! record), so a transaction costs exactly one slot and the chunk is full when
//! its slots are. The other columns say how much of a slot a type really uses:
//! the operator reports them to show what padding and unused updates cost.

use serde::{Deserialize, Serialize};

use crate::codec::Record;
use crate::constants::{ACCOUNT_TREE_DEPTH, BALANCE_TREE_DEPTH, RECORD_FIELDS};
use crate::tx::TxType;

/// Balance updates every slot performs (sender or target, receiver, fee account).
pub const UPDATES_PER_SLOT: usize = 3;

/// Poseidon permutations of one balance update: old and new balance path, account leaf and account path.
pub const PERMUTATIONS_PER_UPDATE: usize = 2 * (BALANCE_TREE_DEPTH + 2 + ACCOUNT_TREE_DEPTH);

/// Poseidon permutations of one signature check: the message (2) and the challenge (3).
pub const PERMUTATIONS_PER_SIGNATURE: usize = 5;

/// What one transaction costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCost {
    /// Chunk slots taken.
    pub slots: usize,
    /// Balance updates that change state (the rest of the slot's updates are no-ops).
    pub balance_updates: usize,
    /// Signature checks.
    pub signatures: usize,
    /// Bytes of pubdata posted to L1.
    pub pubdata_bytes: usize,
    /// Poseidon permutations the slot does useful work with (record absorption included).
    pub permutations: usize,
}

/// The cost of a transaction of type `ty`.
pub fn cost(ty: TxType) -> TxCost {
    let (updates, signatures) = match ty {
        TxType::Noop => (0, 0),
        TxType::Deposit | TxType::ForcedExit | TxType::ChangeKey => (1, 0),
        TxType::Withdraw => (2, 1),
        TxType::Transfer => (3, 1),
    };
    TxCost {
        slots: 1,
        balance_updates: updates,
        signatures,
        pubdata_bytes: Record::encoded_len(ty),
        permutations: updates * PERMUTATIONS_PER_UPDATE
            + signatures * PERMUTATIONS_PER_SIGNATURE
            + RECORD_FIELDS.div_ceil(2),
    }
}

/// Permutations a slot is built for, whatever it holds.
pub fn permutations_per_slot() -> usize {
    UPDATES_PER_SLOT * PERMUTATIONS_PER_UPDATE
        + PERMUTATIONS_PER_SIGNATURE
        + RECORD_FIELDS.div_ceil(2)
}

/// A chunk's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkCapacity {
    /// Slots in the chunk circuit.
    pub slots: usize,
}

impl ChunkCapacity {
    /// Whether a transaction costing `c` fits after `used` slots.
    pub fn fits(&self, used: usize, c: &TxCost) -> bool {
        used + c.slots <= self.slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_fits_one_slot_and_transfer_is_the_heaviest() {
        for ty in TxType::ALL {
            let c = cost(ty);
            assert_eq!(c.slots, 1);
            assert!(c.permutations <= permutations_per_slot());
            assert!(c.pubdata_bytes <= crate::constants::RECORD_PADDED_BYTES);
        }
        assert_eq!(cost(TxType::Transfer).permutations, permutations_per_slot());
        let cap = ChunkCapacity { slots: 2 };
        assert!(cap.fits(1, &cost(TxType::Transfer)));
        assert!(!cap.fits(2, &cost(TxType::Noop)));
    }
}
