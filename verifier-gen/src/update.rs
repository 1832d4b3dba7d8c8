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
use halo2_base::halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error};
use rollup_protocol::constants::TAG_ACCOUNT;
use rollup_protocol::field;
use rollup_protocol::state::AccountLeaf;
use rollup_protocol::transition::BalanceUpdate;

use crate::Fr;
use crate::merkle::{MerkleConfig, Rows};
use crate::poseidon::{PoseidonConfig, Word};

/// Columns of the update gadget: the Merkle and Poseidon chips, and a witness column.
#[derive(Debug, Clone)]
pub struct UpdateConfig {
    poseidon: PoseidonConfig,
    merkle: MerkleConfig,
    witness: Column<Advice>,
}

/// Row cursors of every column group the gadget uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpdateRows {
    /// Merkle swap and Poseidon rows.
    pub paths: Rows,
    /// Witness column rows.
    pub witness: usize,
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
    /// Creates the chips and the witness column.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let poseidon = PoseidonConfig::configure(meta);
        let merkle = MerkleConfig::configure(meta, poseidon.clone());
        let witness = meta.advice_column();
        meta.enable_equality(witness);
        UpdateConfig {
            poseidon,
            merkle,
            witness,
        }
    }

    fn put(&self, region: &mut Region<'_, Fr>, rows: &mut UpdateRows, v: Value<Fr>) -> Word {
        let cell = region.assign_advice(self.witness, rows.witness, v).cell();
        rows.witness += 1;
        Word { cell, value: v }
    }

    fn leaf_words(
        &self,
        region: &mut Region<'_, Fr>,
        rows: &mut UpdateRows,
        leaf: Value<AccountLeaf>,
    ) -> [Word; 3] {
        [
            self.put(region, rows, leaf.map(|l| l.owner_nonce())),
            self.put(region, rows, leaf.map(|l| l.pubkey.x)),
            self.put(region, rows, leaf.map(|l| l.pubkey.y)),
        ]
    }

    /// Assigns and checks `update` (unknown during key generation), starting from the state root
    /// `root_before`; returns its fields and the root after.
    pub fn assign(
        &self,
        region: &mut Region<'_, Fr>,
        rows: &mut UpdateRows,
        update: Value<&BalanceUpdate>,
        root_before: Word,
        balance_depth: usize,
        account_depth: usize,
    ) -> Result<UpdateWords, Error> {
        let account_id = self.put(
            region,
            rows,
            update.map(|u| Fr::from(u64::from(u.account_id))),
        );
        let token = self.put(region, rows, update.map(|u| Fr::from(u64::from(u.token))));
        let before = self.leaf_words(region, rows, update.map(|u| u.account_before));
        let after = self.leaf_words(region, rows, update.map(|u| u.account_after));
        let balance = [
            self.put(
                region,
                rows,
                update.map(|u| field::from_u128(u.balance_before)),
            ),
            self.put(
                region,
                rows,
                update.map(|u| field::from_u128(u.balance_after)),
            ),
        ];
        let balance_sibs: Vec<Word> = (0..balance_depth)
            .map(|l| {
                self.put(
                    region,
                    rows,
                    update.map(|u| {
                        u.balance_proof
                            .siblings
                            .get(l)
                            .copied()
                            .unwrap_or(Fr::zero())
                    }),
                )
            })
            .collect();
        let account_sibs: Vec<Word> = (0..account_depth)
            .map(|l| {
                self.put(
                    region,
                    rows,
                    update.map(|u| {
                        u.account_proof
                            .siblings
                            .get(l)
                            .copied()
                            .unwrap_or(Fr::zero())
                    }),
                )
            })
            .collect();
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
                .root(region, &mut rows.paths, bal, &token_bits, &balance_sibs)?;
            region.constrain_equal(b.index.cell, token.cell);
            let leaf = self.poseidon.hash(
                region,
                &mut rows.paths.hash,
                TAG_ACCOUNT,
                &[fields[0], fields[1], fields[2], b.root],
            )?;
            let a =
                self.merkle
                    .root(region, &mut rows.paths, leaf, &account_bits, &account_sibs)?;
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
