//! Poseidon2 in-circuit, as custom gates: one row per full round, one row per four partial rounds.
//!
//! Columns (of the shared pool, [`crate::layout`]): three advice columns hold the
//! state, two more the inputs absorbed between permutations; four fixed columns
//! hold each row's round constants.
//! An absorb row constrains `next = M_E · (cur + (0, x, y))`: it adds the inputs
//! and applies the permutation's initial linear layer in one linear gate. A
//! full-round row constrains `next = M_E · (cur + c)^5`, with each square
//! `(cur_j + c_j)^2` in a cell of its own (three more advice columns) so that the
//! gate has degree 4. A partial-round row applies four partial rounds
//! `x ↦ M_I · ((x_0 + c_0)^5, x_1, x_2)` at once: the S-box input of each round
//! after the first (`v_j`, a linear function of the state and the earlier S-box
//! outputs) and each square `v_j^2` sit in cells of their own (seven advice
//! columns), so every constraint has degree at most 4 and the next row's state is
//! a linear combination of `cur_1`, `cur_2` and the four S-box outputs
//! `v_j^2 · v_j^2 · v_j`. Elements 1 and 2 are never stored between the four
//! rounds: they stay linear combinations whose coefficients the gate computes
//! once, at configuration, from `M_I`.
//! A permutation is an absorb row, 8 full-round rows and 14 partial-round rows; the
//! last permutation's output row ends the sponge (and any other output row is the
//! next absorb row), so a 2-to-1 hash is 24 rows (66 with one row per round).
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
use rollup_protocol::constants::{
    POSEIDON_FULL_ROUNDS, POSEIDON_PARTIAL_ROUNDS, POSEIDON_RATE, POSEIDON_WIDTH,
};
use rollup_protocol::poseidon::{
    self, EXTERNAL_MATRIX, INTERNAL_MATRIX, ROUNDS, capacity, is_full_round, matrix, params,
};

use crate::Fr;
use crate::layout::{Columns, FIXED, Word};

/// Partial rounds one row applies.
pub const PARTIAL_PER_ROW: usize = 4;

const _: () = assert!(POSEIDON_PARTIAL_ROUNDS.is_multiple_of(PARTIAL_PER_ROW));
const _: () = assert!(FIXED >= PARTIAL_PER_ROW && FIXED >= POSEIDON_WIDTH);

/// Rows one permutation occupies: its absorb row, one row per full round and one per
/// [`PARTIAL_PER_ROW`] partial rounds (the sponge's last output row comes on top, see
/// [`PoseidonConfig::rows`]).
pub const ROWS_PER_PERMUTATION: usize =
    1 + POSEIDON_FULL_ROUNDS + POSEIDON_PARTIAL_ROUNDS / PARTIAL_PER_ROW;

/// The cells of a partial-round row besides the state: the first round's square, then each later
/// round's S-box input and its square (`[sq_0, v_1, sq_1, v_2, sq_2, v_3, sq_3]`).
const PARTIAL_CELLS: usize = 2 * PARTIAL_PER_ROW - 1;

/// Where round `j`'s S-box input sits among a partial-round row's cells (`j ≥ 1`: round 0's is the
/// state itself).
const fn input_cell(j: usize) -> usize {
    2 * j - 1
}

/// Where round `j`'s square sits among a partial-round row's cells.
const fn square_cell(j: usize) -> usize {
    if j == 0 { 0 } else { 2 * j }
}

/// The pool columns of [`PARTIAL_CELLS`].
const PARTIAL_COLUMNS: [usize; PARTIAL_CELLS] = [2, 4, 5, 6, 7, 8, 9];

/// A linear combination of a partial-round row's inputs with constant coefficients: of `cur_1`,
/// `cur_2` and the row's [`PARTIAL_PER_ROW`] S-box outputs, in that order.
type Linear = [Fr; 2 + PARTIAL_PER_ROW];

/// Columns, selectors and gates of the Poseidon chip.
#[derive(Debug, Clone)]
pub struct PoseidonConfig {
    state: [Column<Advice>; POSEIDON_WIDTH],
    absorb: [Column<Advice>; POSEIDON_RATE],
    square: [Column<Advice>; POSEIDON_WIDTH],
    partial_cells: [Column<Advice>; PARTIAL_CELLS],
    round_constants: [Column<Fixed>; FIXED],
    full: Selector,
    partial: Selector,
    absorb_sel: Selector,
}

impl PoseidonConfig {
    /// Creates the gates over the shared columns: the state in advice columns 0, 1 and 3, the
    /// absorbed inputs in 4 and 5 (all copy-enabled), the full rounds' squares in 2, 7 and 8, the
    /// partial rounds' cells in 2 and 4 to 9, the round constants in the fixed columns.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let state = [cols.advice[0], cols.advice[1], cols.advice[3]];
        let absorb = [cols.advice[4], cols.advice[5]];
        let square = [cols.advice[2], cols.advice[7], cols.advice[8]];
        let partial_cells = PARTIAL_COLUMNS.map(|i| cols.advice[i]);
        let round_constants = cols.fixed;
        // Complex selectors: the round gates must not be compressed with others.
        let full = meta.complex_selector();
        let partial = meta.complex_selector();
        let absorb_sel = meta.selector();
        let external = matrix(&EXTERNAL_MATRIX);
        let internal = matrix(&INTERNAL_MATRIX);
        let times = |m: &[[Fr; POSEIDON_WIDTH]; POSEIDON_WIDTH], x: &[Expression<Fr>], i: usize| {
            combination(x.iter().zip(&m[i]))
        };

        meta.create_gate("poseidon2 full round", |meta| {
            let s = meta.query_selector(full);
            let mut constraints = Vec::new();
            let x: Vec<Expression<Fr>> = (0..POSEIDON_WIDTH)
                .map(|j| {
                    let v = meta.query_advice(state[j], Rotation::cur())
                        + meta.query_fixed(round_constants[j], Rotation::cur());
                    // v^5 = sq^2 · v with sq = v^2 in a cell of its own: degree 3, not 5.
                    let sq = meta.query_advice(square[j], Rotation::cur());
                    constraints.push(s.clone() * (sq.clone() - v.clone() * v.clone()));
                    sq.clone() * sq * v
                })
                .collect();
            for (i, col) in state.iter().enumerate() {
                let next = meta.query_advice(*col, Rotation::next());
                constraints.push(s.clone() * (times(&external, &x, i) - next));
            }
            constraints
        });

        meta.create_gate("poseidon2 four partial rounds", |meta| {
            let s = meta.query_selector(partial);
            let cur: Vec<Expression<Fr>> = state
                .iter()
                .map(|c| meta.query_advice(*c, Rotation::cur()))
                .collect();
            let cells: Vec<Expression<Fr>> = partial_cells
                .iter()
                .map(|c| meta.query_advice(*c, Rotation::cur()))
                .collect();
            // The basis of `Linear`: cur_1, cur_2, then the S-box outputs p_j = sq_j^2 · v_j.
            let mut basis = vec![cur[1].clone(), cur[2].clone()];
            let unit = |i: usize| {
                let mut l = [Fr::zero(); 2 + PARTIAL_PER_ROW];
                l[i] = Fr::one();
                l
            };
            let eval = |l: &Linear, basis: &[Expression<Fr>]| {
                // Only outputs already computed may appear (`zip` would drop the others silently).
                debug_assert!(l[basis.len()..].iter().all(|k| *k == Fr::zero()));
                combination(basis.iter().zip(l))
            };
            let mut constraints = Vec::new();
            // The state before round j as linear combinations (element 0 of the first round is
            // `cur_0` itself, read directly).
            let (mut x0, mut x1, mut x2) = (unit(0), unit(0), unit(1));
            for j in 0..PARTIAL_PER_ROW {
                let c = meta.query_fixed(round_constants[j], Rotation::cur());
                let sq = cells[square_cell(j)].clone();
                let v = if j == 0 {
                    cur[0].clone() + c
                } else {
                    let v = cells[input_cell(j)].clone();
                    constraints.push((
                        format!("v_{j} = x_0 + c_{j}"),
                        s.clone() * (eval(&x0, &basis) + c - v.clone()),
                    ));
                    v
                };
                constraints.push((
                    format!("sq_{j} = v_{j}^2"),
                    s.clone() * (sq.clone() - v.clone() * v.clone()),
                ));
                basis.push(sq.clone() * sq * v);
                // (p_j, x1, x2) ↦ M_I · (p_j, x1, x2), on coefficient vectors.
                let y = [unit(2 + j), x1, x2];
                let next: Vec<Linear> = (0..POSEIDON_WIDTH)
                    .map(|i| {
                        std::array::from_fn(|t| {
                            (0..POSEIDON_WIDTH)
                                .map(|k| internal[i][k] * y[k][t])
                                .fold(Fr::zero(), |a, b| a + b)
                        })
                    })
                    .collect();
                x0 = next[0];
                x1 = next[1];
                x2 = next[2];
            }
            let out = [x0, x1, x2];
            for (i, col) in state.iter().enumerate() {
                let next = meta.query_advice(*col, Rotation::next());
                constraints.push((
                    format!("next_{i}"),
                    s.clone() * (eval(&out[i], &basis) - next),
                ));
            }
            constraints
        });

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
            partial_cells,
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
    /// sponge's first row; columns 0 to 2 name the state, 3 to 5 the S-box squares of elements 0 to
    /// 2 (in a partial-round row 3 is the first round's square), 6 and 7 the absorbed inputs, 8 to
    /// 13 a partial-round row's later cells `v_1, sq_1, v_2, sq_2, v_3, sq_3`) increased by one: for
    /// negative tests, which must see the circuit unsatisfied.
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
            let mut r = 0;
            while r < ROUNDS {
                let rounds = if is_full_round(r) {
                    self.full.enable(region, start + offset)?;
                    for (j, c) in params().round_constants[r].iter().enumerate() {
                        region.assign_fixed(self.round_constants[j], start + offset, *c);
                        let v = state[j].map(|x| x + c);
                        let sq = if fault == Some((offset, POSEIDON_WIDTH + j)) {
                            (v * v).map(|x| x + Fr::one())
                        } else {
                            v * v
                        };
                        region.assign_advice(self.square[j], start + offset, sq);
                    }
                    state = round_values(state, r);
                    1
                } else {
                    self.partial.enable(region, start + offset)?;
                    for j in 0..PARTIAL_PER_ROW {
                        let c = params().round_constants[r + j][0];
                        region.assign_fixed(self.round_constants[j], start + offset, c);
                        let v = state[0].map(|x| x + c);
                        // Cell m of the row, faulted under the name the doc comment gives it.
                        let mut cell = |m: usize, v: Value<Fr>| {
                            let name = if m == 0 { POSEIDON_WIDTH } else { 7 + m };
                            let v = if fault == Some((offset, name)) {
                                v.map(|x| x + Fr::one())
                            } else {
                                v
                            };
                            region.assign_advice(self.partial_cells[m], start + offset, v);
                        };
                        if j > 0 {
                            cell(input_cell(j), v);
                        }
                        cell(square_cell(j), v * v);
                        state = round_values(state, r + j);
                    }
                    PARTIAL_PER_ROW
                };
                r += rounds;
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

/// `Σ k · e` over the pairs with `k ≠ 0`, without a multiplication where `k = 1`: every operation
/// of a gate's expression is code in the generated verifier and work in the quotient.
fn combination<'a>(terms: impl Iterator<Item = (&'a Expression<Fr>, &'a Fr)>) -> Expression<Fr> {
    terms
        .filter(|(_, k)| **k != Fr::zero())
        .map(|(e, k)| {
            if *k == Fr::one() {
                e.clone()
            } else {
                Expression::Constant(*k) * e.clone()
            }
        })
        .reduce(|a, b| a + b)
        .unwrap_or(Expression::Constant(Fr::zero()))
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
