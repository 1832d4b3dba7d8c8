//! Merkle paths in-circuit: the root a leaf and its siblings imply, with the
//! left/right order of each level chosen by a boolean index bit, and the bits
//! composed into the leaf index. Node hashes use the Poseidon chip, so a level
//! costs one swap row plus one permutation (24 rows).
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
use rollup_protocol::poseidon::hash2;

use crate::Fr;
use crate::layout::Columns;
use crate::layout::Word;
use crate::poseidon::PoseidonConfig;

/// Columns and gates of the Merkle path chip.
#[derive(Debug, Clone)]
pub struct MerkleConfig {
    poseidon: PoseidonConfig,
    cols: [Column<Advice>; 6],
    power: Column<Fixed>,
    swap: Selector,
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
    /// Creates the swap gate over the shared columns (advice 0 to 5, fixed 0), next to an existing
    /// Poseidon chip.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        pool: &Columns,
        poseidon: PoseidonConfig,
    ) -> Self {
        let cols = [0, 1, 2, 3, 4, 5].map(|i| pool.advice[i]);
        let power = pool.fixed[0];
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
    /// from the leaf level up. `bits` and `siblings` have the tree's depth. Rows go from `*row`
    /// (advanced past what is used): first one swap row per level and the final index row, then
    /// the node hashes, each tied by copy constraints to the swap rows around it.
    pub fn root(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        leaf: Word,
        bits: &[Value<bool>],
        siblings: &[Word],
    ) -> Result<PathOutput, Error> {
        if bits.len() != siblings.len() || bits.is_empty() {
            return Err(Error::Synthesis);
        }
        let start = *row;
        let depth = bits.len();
        let mut cur = leaf.value;
        let mut acc = Value::known(Fr::zero());
        let mut cur_cells = Vec::with_capacity(depth);
        let mut pairs = Vec::with_capacity(depth);
        region.assign_advice_from_constant(
            || "index starts at 0",
            self.cols[5],
            start,
            Fr::zero(),
        )?;
        for (level, (bit, sib)) in bits.iter().zip(siblings).enumerate() {
            let r = start + level;
            let bitv = bit.map(|b| if b { Fr::one() } else { Fr::zero() });
            let left_v = cur
                .zip(sib.value)
                .zip(*bit)
                .map(|((c, s), b)| if b { s } else { c });
            let right_v = cur
                .zip(sib.value)
                .zip(*bit)
                .map(|((c, s), b)| if b { c } else { s });
            let pow = Fr::from(2u64).pow_vartime([level as u64]);
            acc = acc + bitv * Value::known(pow);
            self.swap.enable(region, r)?;
            cur_cells.push(region.assign_advice(self.cols[0], r, cur).cell());
            let s = region.assign_advice(self.cols[1], r, sib.value).cell();
            region.constrain_equal(s, sib.cell);
            region.assign_advice(self.cols[2], r, bitv);
            let l = region.assign_advice(self.cols[3], r, left_v).cell();
            let rt = region.assign_advice(self.cols[4], r, right_v).cell();
            region.assign_fixed(self.power, r, pow);
            // The accumulator after this level sits on the next row: the next level's swap row, or
            // the final index row.
            if level + 1 < depth {
                region.assign_advice(self.cols[5], r + 1, acc);
            }
            pairs.push((
                Word {
                    cell: l,
                    value: left_v,
                },
                Word {
                    cell: rt,
                    value: right_v,
                },
            ));
            cur = left_v.zip(right_v).map(|(l, r)| hash2(TAG_NODE, l, r));
        }
        let index = Word {
            cell: region
                .assign_advice(self.cols[5], start + depth, acc)
                .cell(),
            value: acc,
        };
        region.constrain_equal(cur_cells[0], leaf.cell);
        *row = start + depth + 1;
        let mut node = leaf;
        for (level, (left, right)) in pairs.into_iter().enumerate() {
            node = self.poseidon.hash(region, row, TAG_NODE, &[left, right])?;
            if let Some(next) = cur_cells.get(level + 1) {
                region.constrain_equal(node.cell, *next);
            }
        }
        Ok(PathOutput { root: node, index })
    }
}
