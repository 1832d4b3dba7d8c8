//! One balance update in-circuit: the structure every slot repeats three times
//! (`docs/protocol.md`, section 5, "Witness").
//!
//! From the witness of a `BalanceUpdate` of the core, the gadget recomputes the
//! balance root before and after from the balance and the balance path (same
//! siblings), the account leaf before and after (`Poseidon(TAG_ACCOUNT; owner +
//! nonce·2^160, key.x, key.y, balance_root)`), and the state root before and
//! after from the account path (same siblings), checks the paths' indices
//! against the account id and token, and chains the root before to the given
//! one. What may change between before and after is for the transaction rules
//! layered on top; this gadget guarantees that the roots are those of the leaves.

use halo2_base::halo2_proofs::circuit::{Region, Value};
use halo2_base::halo2_proofs::plonk::{ConstraintSystem, Error};
use rollup_protocol::constants::TAG_ACCOUNT;
use rollup_protocol::field;
use rollup_protocol::state::AccountLeaf;
use rollup_protocol::transition::BalanceUpdate;

use crate::Fr;
use crate::layout::Columns;
use crate::layout::Word;
use crate::merkle::MerkleConfig;
use crate::poseidon::PoseidonConfig;

/// The update gadget: the Merkle and Poseidon chips over the shared columns.
#[derive(Debug, Clone)]
pub struct UpdateConfig {
    pool: Columns,
    poseidon: PoseidonConfig,
    merkle: MerkleConfig,
}

/// The witness of one balance update as field elements: the core's [`BalanceUpdate`], or a
/// tampered copy of it in negative tests (a balance that wrapped around the field, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateWitness {
    /// Account id.
    pub account_id: u32,
    /// Token id.
    pub token: u8,
    /// Account leaf fields before: `owner + nonce·2^160`, key x, key y.
    pub before: [Fr; 3],
    /// The same fields after.
    pub after: [Fr; 3],
    /// Balance before and after.
    pub balance: [Fr; 2],
    /// Balance-tree siblings, leaf level first.
    pub balance_siblings: Vec<Fr>,
    /// Account-tree siblings, leaf level first.
    pub account_siblings: Vec<Fr>,
}

impl From<&BalanceUpdate> for UpdateWitness {
    fn from(u: &BalanceUpdate) -> UpdateWitness {
        let leaf = |l: &AccountLeaf| [l.owner_nonce(), l.pubkey.x, l.pubkey.y];
        UpdateWitness {
            account_id: u.account_id,
            token: u.token,
            before: leaf(&u.account_before),
            after: leaf(&u.account_after),
            balance: [
                field::from_u128(u.balance_before),
                field::from_u128(u.balance_after),
            ],
            balance_siblings: u.balance_proof.siblings.clone(),
            account_siblings: u.account_proof.siblings.clone(),
        }
    }
}

/// The assigned fields of one update that the transaction rules constrain.
#[derive(Debug, Clone)]
pub struct UpdateWords {
    /// Account id.
    pub account_id: Word,
    /// Token id.
    pub token: Word,
    /// `owner + nonce·2^160` before and after.
    pub owner_nonce: [Word; 2],
    /// Key x before and after.
    pub pubkey_x: [Word; 2],
    /// Key y before and after.
    pub pubkey_y: [Word; 2],
    /// Balance before and after.
    pub balance: [Word; 2],
    /// State root after (the root before is the one passed in).
    pub root_after: Word,
}

impl UpdateConfig {
    /// Uses existing chips over the shared columns.
    pub fn new(pool: Columns, poseidon: PoseidonConfig, merkle: MerkleConfig) -> Self {
        UpdateConfig {
            pool,
            poseidon,
            merkle,
        }
    }

    /// Creates the Poseidon and Merkle chips over `pool`.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, pool: &Columns) -> Self {
        let poseidon = PoseidonConfig::configure(meta, pool);
        let merkle = MerkleConfig::configure(meta, pool, poseidon.clone());
        UpdateConfig::new(*pool, poseidon, merkle)
    }

    /// Assigns and checks `update` (unknown during key generation), starting from the state root
    /// `root_before`; returns its fields and the root after.
    pub fn assign(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        update: Value<&UpdateWitness>,
        root_before: Word,
        balance_depth: usize,
        account_depth: usize,
    ) -> Result<UpdateWords, Error> {
        let mut values = vec![
            update.map(|u| Fr::from(u64::from(u.account_id))),
            update.map(|u| Fr::from(u64::from(u.token))),
        ];
        for i in 0..3 {
            values.push(update.map(|u| u.before[i]));
        }
        for i in 0..3 {
            values.push(update.map(|u| u.after[i]));
        }
        values.push(update.map(|u| u.balance[0]));
        values.push(update.map(|u| u.balance[1]));
        let sibling = |proof: fn(&UpdateWitness) -> &[Fr], l: usize| {
            update.map(move |u| proof(u).get(l).copied().unwrap_or(Fr::zero()))
        };
        values.extend((0..balance_depth).map(|l| sibling(|u| &u.balance_siblings, l)));
        values.extend((0..account_depth).map(|l| sibling(|u| &u.account_siblings, l)));
        let w = self.pool.witness(region, row, &values);
        let (account_id, token) = (w[0], w[1]);
        let before = [w[2], w[3], w[4]];
        let after = [w[5], w[6], w[7]];
        let balance = [w[8], w[9]];
        let balance_sibs = &w[10..10 + balance_depth];
        let account_sibs = &w[10 + balance_depth..];

        let token_bits: Vec<Value<bool>> = (0..balance_depth)
            .map(|l| update.map(|u| (u.token >> l) & 1 == 1))
            .collect();
        let account_bits: Vec<Value<bool>> = (0..account_depth)
            .map(|l| update.map(|u| (u.account_id >> l) & 1 == 1))
            .collect();

        let mut account_roots = Vec::with_capacity(2);
        for (fields, bal) in [(&before, balance[0]), (&after, balance[1])] {
            let b = self
                .merkle
                .root(region, row, bal, &token_bits, balance_sibs)?;
            region.constrain_equal(b.index.cell, token.cell);
            let leaf = self.poseidon.hash(
                region,
                row,
                TAG_ACCOUNT,
                &[fields[0], fields[1], fields[2], b.root],
            )?;
            let a = self
                .merkle
                .root(region, row, leaf, &account_bits, account_sibs)?;
            region.constrain_equal(a.index.cell, account_id.cell);
            account_roots.push(a.root);
        }
        region.constrain_equal(account_roots[0].cell, root_before.cell);
        Ok(UpdateWords {
            account_id,
            token,
            owner_nonce: [before[0], after[0]],
            pubkey_x: [before[1], after[1]],
            pubkey_y: [before[2], after[2]],
            balance,
            root_after: account_roots[1],
        })
    }
}
