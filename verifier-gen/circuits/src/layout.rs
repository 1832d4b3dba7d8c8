//! The columns every chip shares, and placing free witness values in them.
//!
//! All chips lay out their rows in one pool of advice columns, one after the
//! other along a single row cursor, instead of each owning columns of its own.
//! Rows are plentiful (a Poseidon permutation is 23 of them) while every column
//! costs the verifier a commitment and an opening: with the pool, the chunk
//! circuit has [`WIDTH`] advice columns, not the sum of its chips' widths.
//! Every gate is guarded by its own selector, and a gate that looks at the next
//! row only does so inside the chip's own block of rows.

use halo2_base::halo2_proofs::circuit::{Cell, Region, Value};
use halo2_base::halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Fixed};

use crate::Fr;

/// Advice columns in the pool: the widest chip, the Baby Jubjub step, needs ten.
pub const WIDTH: usize = 10;

/// The advice columns with equality enabled: only these hold cells that copy constraints tie
/// together. Columns 2, 7 and 8 hold the Merkle index bits and the Baby Jubjub bits and sums, which
/// gates read in place; leaving them out of the permutation argument saves the verifier three
/// column openings.
pub const COPY: [usize; 7] = [0, 1, 3, 4, 5, 6, 9];

/// Fixed columns in the pool: the Poseidon round constants (three per full-round row, four per
/// partial-round row); the Merkle chip's powers of two reuse the first.
pub const FIXED: usize = 4;

/// An assigned field element: where it is and its value.
#[derive(Debug, Clone, Copy)]
pub struct Word {
    /// The cell (advice columns with equality enabled).
    pub cell: Cell,
    /// Its value, unknown during key generation.
    pub value: Value<Fr>,
}

/// The shared columns.
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    /// Advice columns; those in [`COPY`] have equality enabled.
    pub advice: [Column<Advice>; WIDTH],
    /// Fixed columns for per-row constants of the chips' gates.
    pub fixed: [Column<Fixed>; FIXED],
    /// The fixed column that holds constants copied into advice cells.
    pub constants: Column<Fixed>,
}

impl Columns {
    /// Allocates the pool.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let advice = [(); WIDTH].map(|_| meta.advice_column());
        for c in COPY {
            meta.enable_equality(advice[c]);
        }
        let fixed = [(); FIXED].map(|_| meta.fixed_column());
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        Columns {
            advice,
            fixed,
            constants,
        }
    }

    /// Assigns `v` to advice column `col` at `row`.
    pub fn put(&self, region: &mut Region<'_, Fr>, col: usize, row: usize, v: Value<Fr>) -> Word {
        Word {
            cell: region.assign_advice(self.advice[col], row, v).cell(),
            value: v,
        }
    }

    /// Places free witness values row by row across the [`COPY`] columns from row `*row` (advanced
    /// past the rows used). No gate reads these cells; they are tied to others by copy constraints
    /// only.
    pub fn witness(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        values: &[Value<Fr>],
    ) -> Vec<Word> {
        let words = values
            .iter()
            .enumerate()
            .map(|(i, v)| self.put(region, COPY[i % COPY.len()], *row + i / COPY.len(), *v))
            .collect();
        *row += values.len().div_ceil(COPY.len());
        words
    }

    /// One free witness value on a row of its own.
    pub fn word(&self, region: &mut Region<'_, Fr>, row: &mut usize, v: Value<Fr>) -> Word {
        let w = self.put(region, 0, *row, v);
        *row += 1;
        w
    }
}
