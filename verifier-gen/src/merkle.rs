//! Merkle paths in-circuit: the root a leaf and its siblings imply, with the
//! left/right order of each level chosen by a boolean index bit, and the bits
//! composed into the leaf index. Node hashes use the Poseidon chip, so a level
//! costs one swap row plus one permutation (66 rows).
//!
//! Gates, on one row of five advice columns `[cur, sib, bit, left, right]` plus
//! an index accumulator in a sixth:
//! - `bit · (bit − 1) = 0`;
//! - `left = cur + bit · (sib − cur)` and `left + right = cur + sib`;
//! - `acc_next = acc + bit · 2^level` (the level's power of two in a fixed column),
//!   so the last accumulator is the index.

use halo2_base::halo2_proofs::circuit::{Region, Value};
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector,
};
use halo2_base::halo2_proofs::poly::Rotation;
use rollup_protocol::constants::TAG_NODE;

use crate::Fr;
use crate::poseidon::{PoseidonConfig, Word};

/// Columns and gates of the Merkle path chip.
#[derive(Debug, Clone)]
pub struct MerkleConfig {
    poseidon: PoseidonConfig,
    cols: [Column<Advice>; 6],
    power: Column<Fixed>,
    swap: Selector,
}

/// Row cursors of the two column groups a path uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rows {
    /// Next free row of the swap columns.
    pub swap: usize,
    /// Next free row of the Poseidon columns.
    pub hash: usize,
}

/// What a verified path yields.
#[derive(Debug, Clone)]
pub struct PathOutput {
    /// The root the path implies.
    pub root: Word,
    /// The index its bits compose.
    pub index: Word,
}

impl MerkleConfig {
    /// Creates the swap gate next to an existing Poseidon chip.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, poseidon: PoseidonConfig) -> Self {
        let cols = [
            meta.advice_column(),
            meta.advice_column(),
            meta.advice_column(),
            meta.advice_column(),
            meta.advice_column(),
            meta.advice_column(),
        ];
        for c in cols {
            meta.enable_equality(c);
        }
        let power = meta.fixed_column();
        let swap = meta.selector();
        meta.create_gate("merkle swap", |meta| {
            let s = meta.query_selector(swap);
            let q = |meta: &mut halo2_base::halo2_proofs::plonk::VirtualCells<'_, Fr>, i: usize| {
                meta.query_advice(cols[i], Rotation::cur())
            };
            let (cur, sib, bit, left, right, acc) = (
                q(meta, 0),
                q(meta, 1),
                q(meta, 2),
                q(meta, 3),
                q(meta, 4),
                q(meta, 5),
            );
            let acc_next = meta.query_advice(cols[5], Rotation::next());
            let pow = meta.query_fixed(power, Rotation::cur());
            vec![
                s.clone() * bit.clone() * (bit.clone() - Expression::Constant(Fr::one())),
                s.clone()
                    * (cur.clone() + bit.clone() * (sib.clone() - cur.clone()) - left.clone()),
                s.clone() * (left + right - cur - sib),
                s * (acc + bit * pow - acc_next),
            ]
        });
        MerkleConfig {
            poseidon,
            cols,
            power,
            swap,
        }
    }

    /// The root implied by `leaf` at the index whose little-endian bits are `bits`, with `siblings`
    /// from the leaf level up. `bits` and `siblings` have the tree's depth. Swap rows go from
    /// `rows.swap`, Poseidon rows from `rows.hash`, both advanced past what is used.
    pub fn root(
        &self,
        region: &mut Region<'_, Fr>,
        rows: &mut Rows,
        leaf: Word,
        bits: &[Value<bool>],
        siblings: &[Word],
    ) -> Result<PathOutput, Error> {
        if bits.len() != siblings.len() {
            return Err(Error::Synthesis);
        }
        let mut cur = leaf;
        let mut acc = Value::known(Fr::zero());
        let mut acc_word: Option<Word> = None;
        for (level, (bit, sib)) in bits.iter().zip(siblings).enumerate() {
            let bitv = bit.map(|b| if b { Fr::one() } else { Fr::zero() });
            let left_v = cur
                .value
                .zip(sib.value)
                .zip(*bit)
                .map(|((c, s), b)| if b { s } else { c });
            let right_v = cur
                .value
                .zip(sib.value)
                .zip(*bit)
                .map(|((c, s), b)| if b { c } else { s });
            let pow = Fr::from(2u64).pow_vartime([level as u64]);
            let next_acc = acc + bitv * Value::known(pow);
            // One swap row per level; the accumulator's next value sits on the next row, which is the
            // next level's swap row (or a final row of its own after the last level).
            let r0 = rows.swap;
            self.swap.enable(region, r0)?;
            let c = region.assign_advice(self.cols[0], r0, cur.value).cell();
            region.constrain_equal(c, cur.cell);
            let s = region.assign_advice(self.cols[1], r0, sib.value).cell();
            region.constrain_equal(s, sib.cell);
            region.assign_advice(self.cols[2], r0, bitv);
            let l = region.assign_advice(self.cols[3], r0, left_v).cell();
            let r = region.assign_advice(self.cols[4], r0, right_v).cell();
            if acc_word.is_none() {
                region.assign_advice_from_constant(
                    || "index starts at 0",
                    self.cols[5],
                    r0,
                    Fr::zero(),
                )?;
            }
            region.assign_fixed(self.power, r0, pow);
            let a = region.assign_advice(self.cols[5], r0 + 1, next_acc).cell();
            rows.swap = r0 + 1;
            acc = next_acc;
            acc_word = Some(Word {
                cell: a,
                value: next_acc,
            });
            let (left, right) = (
                Word {
                    cell: l,
                    value: left_v,
                },
                Word {
                    cell: r,
                    value: right_v,
                },
            );
            cur = self
                .poseidon
                .hash(region, &mut rows.hash, TAG_NODE, &[left, right])?;
        }
        let index = acc_word.ok_or(Error::Synthesis)?;
        // The last accumulator row is not a swap row; the next path starts on a fresh one.
        rows.swap += 1;
        Ok(PathOutput { root: cur, index })
    }
}
