//! Poseidon2 in-circuit, as a custom gate: one row per round.
//!
//! Columns (of the shared pool, [`crate::layout`]): three advice columns hold the
//! state, two more the inputs absorbed between permutations; three fixed columns
//! hold each row's round constants.
//! An absorb row constrains `next = M_E · (cur + (0, x, y))`: it adds the inputs
//! and applies the permutation's initial linear layer in one linear gate. A
//! full-round row constrains `next = M_E · (cur + c)^5`, with each square
//! `(cur_j + c_j)^2` in a cell of its own (three more advice columns) so that the
//! gate has degree 4; a partial-round row `next = M_I · ((cur_0 + c_0)^5, cur_1, cur_2)`.
//! A permutation is an absorb row and 64 round rows; the last permutation's
//! output row ends the sponge (and any other output row is the next absorb row),
//! so a 2-to-1 hash is 66 rows.
//!
//! The sponge follows `docs/protocol.md` exactly: the capacity element starts at
//! `tag · 2^64 + n` (constrained to that constant), inputs are added into the two
//! rate elements, and the output is the first rate element after the last
//! permutation. The witness comes from the core's `poseidon::round`.

use halo2_base::halo2_proofs::circuit::{Region, Value};
use halo2_base::halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector,
};
use halo2_base::halo2_proofs::poly::Rotation;
use rollup_protocol::constants::{POSEIDON_RATE, POSEIDON_WIDTH};
use rollup_protocol::poseidon::{
    self, EXTERNAL_MATRIX, INTERNAL_MATRIX, ROUNDS, capacity, is_full_round, matrix, params,
};

use crate::Fr;
use crate::layout::{Columns, Word};

/// Rows one permutation occupies: its absorb row and its rounds (the sponge's last output row comes
/// on top, see [`PoseidonConfig::rows`]).
pub const ROWS_PER_PERMUTATION: usize = ROUNDS + 1;

/// Columns, selectors and gates of the Poseidon chip.
#[derive(Debug, Clone)]
pub struct PoseidonConfig {
    state: [Column<Advice>; POSEIDON_WIDTH],
    absorb: [Column<Advice>; POSEIDON_RATE],
    square: [Column<Advice>; POSEIDON_WIDTH],
    round_constants: [Column<Fixed>; POSEIDON_WIDTH],
    full: Selector,
    partial: Selector,
    absorb_sel: Selector,
}

impl PoseidonConfig {
    /// Creates the gates over the shared columns: the state in advice columns 0, 1 and 3, the
    /// absorbed inputs in 4 and 5 (all copy-enabled), the round constants in the fixed columns.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let state = [cols.advice[0], cols.advice[1], cols.advice[3]];
        let absorb = [cols.advice[4], cols.advice[5]];
        let square = [cols.advice[2], cols.advice[7], cols.advice[8]];
        let round_constants = cols.fixed;
        // Complex selectors: the round gates must not be compressed with others.
        let full = meta.complex_selector();
        let partial = meta.complex_selector();
        let absorb_sel = meta.selector();
        let external = matrix(&EXTERNAL_MATRIX);
        let internal = matrix(&INTERNAL_MATRIX);
        let times = |m: &[[Fr; POSEIDON_WIDTH]; POSEIDON_WIDTH], x: &[Expression<Fr>], i: usize| {
            (0..POSEIDON_WIDTH)
                .map(|j| Expression::Constant(m[i][j]) * x[j].clone())
                .fold(Expression::Constant(Fr::zero()), |a, b| a + b)
        };

        // `sboxed`: how many elements (from 0) pass the S-box; `mat`: the matrix after it.
        let round_gate = |meta: &mut ConstraintSystem<Fr>,
                          name: &'static str,
                          sel: Selector,
                          sboxed: usize,
                          mat: &[[Fr; POSEIDON_WIDTH]; POSEIDON_WIDTH]| {
            meta.create_gate(name, |meta| {
                let s = meta.query_selector(sel);
                let mut constraints = Vec::new();
                let x: Vec<Expression<Fr>> = (0..POSEIDON_WIDTH)
                    .map(|j| {
                        let v = meta.query_advice(state[j], Rotation::cur())
                            + meta.query_fixed(round_constants[j], Rotation::cur());
                        if j < sboxed {
                            // v^5 = sq^2 · v with sq = v^2 in a cell of its own: degree 3, not 5.
                            let sq = meta.query_advice(square[j], Rotation::cur());
                            constraints.push(s.clone() * (sq.clone() - v.clone() * v.clone()));
                            sq.clone() * sq * v
                        } else {
                            v
                        }
                    })
                    .collect();
                for (i, col) in state.iter().enumerate() {
                    let next = meta.query_advice(*col, Rotation::next());
                    constraints.push(s.clone() * (times(mat, &x, i) - next));
                }
                constraints
            });
        };
        round_gate(
            meta,
            "poseidon2 full round",
            full,
            POSEIDON_WIDTH,
            &external,
        );
        round_gate(meta, "poseidon2 partial round", partial, 1, &internal);

        meta.create_gate("poseidon2 absorb and initial linear layer", |meta| {
            let s = meta.query_selector(absorb_sel);
            let x = meta.query_advice(absorb[0], Rotation::cur());
            let y = meta.query_advice(absorb[1], Rotation::cur());
            let sum: Vec<Expression<Fr>> = vec![
                meta.query_advice(state[0], Rotation::cur()),
                meta.query_advice(state[1], Rotation::cur()) + x,
                meta.query_advice(state[2], Rotation::cur()) + y,
            ];
            (0..POSEIDON_WIDTH)
                .map(|i| {
                    let next = meta.query_advice(state[i], Rotation::next());
                    s.clone() * (times(&external, &sum, i) - next)
                })
                .collect::<Vec<_>>()
        });

        PoseidonConfig {
            state,
            absorb,
            square,
            round_constants,
            full,
            partial,
            absorb_sel,
        }
    }

    /// Rows a sponge over `n` inputs occupies.
    pub fn rows(n: usize) -> usize {
        n.div_ceil(POSEIDON_RATE).max(1) * ROWS_PER_PERMUTATION + 1
    }

    /// Assigns the sponge of `inputs` under `tag` from row `*row` of `region` (advancing it past the
    /// rows used); returns the output.
    ///
    /// halo2-axiom's floor planner starts every region at row 0, so a circuit lays out its chips inside
    /// regions it owns and passes each chip its own row cursor.
    pub fn hash(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        tag: u64,
        inputs: &[Word],
    ) -> Result<Word, Error> {
        self.hash_with_fault(region, row, tag, inputs, None)
    }

    /// [`PoseidonConfig::hash`], with the witness of state cell `(row, column)` (relative to the
    /// sponge's first row; columns 3 to 5 name the S-box squares of elements 0 to 2, columns 6 and 7
    /// the absorbed inputs) increased by one: for negative tests, which must see the circuit
    /// unsatisfied.
    #[doc(hidden)]
    pub fn hash_with_fault(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        tag: u64,
        inputs: &[Word],
        fault: Option<(usize, usize)>,
    ) -> Result<Word, Error> {
        let start = *row;
        let (out, used) = self.assign_sponge(region, start, tag, inputs, fault)?;
        *row = start + used;
        Ok(out)
    }

    /// Returns the output and the number of rows used.
    fn assign_sponge(
        &self,
        region: &mut Region<'_, Fr>,
        start: usize,
        tag: u64,
        inputs: &[Word],
        fault: Option<(usize, usize)>,
    ) -> Result<(Word, usize), Error> {
        let cap = capacity(tag, inputs.len());
        let chunks: Vec<&[Word]> = if inputs.is_empty() {
            vec![&[]]
        } else {
            inputs.chunks(POSEIDON_RATE).collect()
        };
        let zero = Value::known(Fr::zero());
        let mut state = [Value::known(cap), zero, zero];
        let mut offset = 0;
        let mut out = None;
        let put = |region: &mut Region<'_, Fr>,
                   col: Column<Advice>,
                   j: usize,
                   row: usize,
                   v: Value<Fr>| {
            let v = if fault == Some((row, j)) {
                v.map(|x| x + Fr::one())
            } else {
                v
            };
            region.assign_advice(col, start + row, v).cell()
        };
        for (p, chunk) in chunks.iter().enumerate() {
            if p == 0 {
                // Row 0: [capacity, 0, 0], pinned to constants.
                region.assign_advice_from_constant(|| "capacity", self.state[0], start, cap)?;
                for j in 1..POSEIDON_WIDTH {
                    region.assign_advice_from_constant(
                        || "zero",
                        self.state[j],
                        start,
                        Fr::zero(),
                    )?;
                }
            }
            // Absorb row (row 0, or the previous permutation's output row): the next row is
            // M_E · (it + (0, x, y)), the inputs copied into the absorb columns.
            self.absorb_sel.enable(region, start + offset)?;
            for j in 0..POSEIDON_RATE {
                match chunk.get(j) {
                    Some(w) => {
                        let v = if fault == Some((offset, 2 * POSEIDON_WIDTH + j)) {
                            w.value.map(|x| x + Fr::one())
                        } else {
                            w.value
                        };
                        let cell = region
                            .assign_advice(self.absorb[j], start + offset, v)
                            .cell();
                        region.constrain_equal(cell, w.cell);
                        state[j + 1] = state[j + 1] + w.value;
                    }
                    None => {
                        region.assign_advice_from_constant(
                            || "zero",
                            self.absorb[j],
                            start + offset,
                            Fr::zero(),
                        )?;
                    }
                }
            }
            state = linear_values(state);
            offset += 1;
            for (j, v) in state.iter().enumerate() {
                put(region, self.state[j], j, offset, *v);
            }
            for r in 0..ROUNDS {
                if is_full_round(r) {
                    self.full.enable(region, start + offset)?;
                } else {
                    self.partial.enable(region, start + offset)?;
                }
                let sboxed = if is_full_round(r) { POSEIDON_WIDTH } else { 1 };
                for (j, c) in params().round_constants[r].iter().enumerate() {
                    region.assign_fixed(self.round_constants[j], start + offset, *c);
                    if j < sboxed {
                        let v = state[j].map(|x| x + c);
                        let sq = if fault == Some((offset, POSEIDON_WIDTH + j)) {
                            (v * v).map(|x| x + Fr::one())
                        } else {
                            v * v
                        };
                        region.assign_advice(self.square[j], start + offset, sq);
                    }
                }
                state = round_values(state, r);
                offset += 1;
                for (j, v) in state.iter().enumerate() {
                    let cell = put(region, self.state[j], j, offset, *v);
                    if j == 1 {
                        out = Some(Word { cell, value: *v });
                    }
                }
            }
        }
        out.map(|w| (w, offset + 1)).ok_or(Error::Synthesis)
    }
}

/// The initial linear layer applied to witness values, by the core's definition.
fn linear_values(state: [Value<Fr>; POSEIDON_WIDTH]) -> [Value<Fr>; POSEIDON_WIDTH] {
    map_state(state, poseidon::external_layer)
}

/// One round applied to witness values, by the core's definition.
fn round_values(state: [Value<Fr>; POSEIDON_WIDTH], r: usize) -> [Value<Fr>; POSEIDON_WIDTH] {
    map_state(state, |s| poseidon::round(s, r))
}

fn map_state(
    state: [Value<Fr>; POSEIDON_WIDTH],
    f: impl Fn(&mut poseidon::State),
) -> [Value<Fr>; POSEIDON_WIDTH] {
    let joined = state[0].zip(state[1]).zip(state[2]).map(|((a, b), c)| {
        let mut s = [a, b, c];
        f(&mut s);
        s
    });
    [
        joined.map(|s| s[0]),
        joined.map(|s| s[1]),
        joined.map(|s| s[2]),
    ]
}
