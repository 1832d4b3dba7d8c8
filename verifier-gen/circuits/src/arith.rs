//! Field arithmetic and range checks for the transaction rules, on the shared
//! columns.
//!
//! - One arithmetic gate per row over advice columns 0, 1, 3 and 4: `a · b + c = d`.
//!   Every other operation (sums, differences, selections, zero tests) is one or
//!   two such rows, with copy constraints tying its cells to the words it uses.
//! - Range checks by a running sum over bytes in advice column 0: rows
//!   `z₀ = v, z₁, …, z_m = 0` with each `z_i − 256·z_{i+1}` looked up in a table
//!   of the 256 byte values, so `v` is an integer below `2^(8m)`. A width `n`
//!   that is not a multiple of 8 is checked twice: `v < 2^(8m)` and
//!   `v + 2^(8m) − 2^n < 2^(8m)`, which together mean `v < 2^n`.

use halo2_base::halo2_proofs::circuit::{Layouter, Region, Value};
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_base::halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector, TableColumn};
use halo2_base::halo2_proofs::poly::Rotation;

use crate::Fr;
use crate::layout::Columns;
use crate::layout::Word;

/// An operand: a word already assigned, or a constant.
#[derive(Debug, Clone, Copy)]
pub enum Term {
    /// A word assigned elsewhere (copied in).
    Word(Word),
    /// A constant (pinned through the constants column).
    Const(Fr),
}

impl From<Word> for Term {
    fn from(w: Word) -> Term {
        Term::Word(w)
    }
}

impl Term {
    fn value(&self) -> Value<Fr> {
        match self {
            Term::Word(w) => w.value,
            Term::Const(c) => Value::known(*c),
        }
    }
}

/// A cell of an arithmetic row: an operand, or a fresh witness.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Term(Term),
    Free(Value<Fr>),
}

/// The pool columns of the arithmetic row's `a`, `b`, `c`, `d` (copy-enabled ones).
const ARITH: [usize; 4] = [0, 1, 3, 4];

/// `2^n` as a field element.
pub fn pow2(n: usize) -> Fr {
    Fr::from(2u64).pow_vartime([n as u64])
}

/// The arithmetic gate, the byte table and the range-check lookup.
#[derive(Debug, Clone)]
pub struct ArithConfig {
    pool: Columns,
    arith: Selector,
    byte: Selector,
    table: TableColumn,
}

impl ArithConfig {
    /// Creates the gate and the lookup over the shared columns, and the byte table column.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, pool: &Columns) -> Self {
        let arith = meta.selector();
        let byte = meta.complex_selector();
        let table = meta.lookup_table_column();
        let [a, b, c, d] = ARITH.map(|i| pool.advice[i]);
        meta.create_gate("a·b + c = d", |m| {
            let s = m.query_selector(arith);
            let q = |m: &mut halo2_base::halo2_proofs::plonk::VirtualCells<'_, Fr>, col| {
                m.query_advice(col, Rotation::cur())
            };
            let (a, b, c, d) = (q(m, a), q(m, b), q(m, c), q(m, d));
            vec![s * (a * b + c - d)]
        });
        meta.lookup("running-sum byte", |m| {
            let s = m.query_selector(byte);
            let z = m.query_advice(a, Rotation::cur());
            let z_next = m.query_advice(a, Rotation::next());
            vec![(
                s * (z - Expression::Constant(Fr::from(256u64)) * z_next),
                table,
            )]
        });
        ArithConfig {
            pool: *pool,
            arith,
            byte,
            table,
        }
    }

    /// Loads the byte table (once per circuit).
    pub fn load_table(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_table(
            || "bytes",
            |mut t| {
                for i in 0..256u64 {
                    t.assign_cell(
                        || "byte",
                        self.table,
                        i as usize,
                        || Value::known(Fr::from(i)),
                    )?;
                }
                Ok(())
            },
        )
    }

    fn place(
        &self,
        region: &mut Region<'_, Fr>,
        col: usize,
        row: usize,
        s: Slot,
    ) -> Result<Word, Error> {
        match s {
            Slot::Term(Term::Word(w)) => {
                let out = self.pool.put(region, col, row, w.value);
                region.constrain_equal(out.cell, w.cell);
                Ok(out)
            }
            Slot::Term(Term::Const(c)) => {
                let cell = region
                    .assign_advice_from_constant(|| "constant", self.pool.advice[col], row, c)?
                    .cell();
                Ok(Word {
                    cell,
                    value: Value::known(c),
                })
            }
            Slot::Free(v) => Ok(self.pool.put(region, col, row, v)),
        }
    }

    fn row(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        cells: [Slot; 4],
    ) -> Result<[Word; 4], Error> {
        let r = *row;
        self.arith.enable(region, r)?;
        let mut out = Vec::with_capacity(4);
        for (i, s) in cells.into_iter().enumerate() {
            out.push(self.place(region, ARITH[i], r, s)?);
        }
        *row += 1;
        Ok([out[0], out[1], out[2], out[3]])
    }

    /// `a · b + c`.
    pub fn mul_add(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        a: impl Into<Term>,
        b: impl Into<Term>,
        c: impl Into<Term>,
    ) -> Result<Word, Error> {
        let (a, b, c) = (a.into(), b.into(), c.into());
        let d = a.value() * b.value() + c.value();
        let [.., out] = self.row(
            region,
            row,
            [Slot::Term(a), Slot::Term(b), Slot::Term(c), Slot::Free(d)],
        )?;
        Ok(out)
    }

    /// `a + b`.
    pub fn add(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        a: impl Into<Term>,
        b: impl Into<Term>,
    ) -> Result<Word, Error> {
        self.mul_add(region, row, a, Term::Const(Fr::ONE), b)
    }

    /// `a · b`.
    pub fn mul(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        a: impl Into<Term>,
        b: impl Into<Term>,
    ) -> Result<Word, Error> {
        self.mul_add(region, row, a, b, Term::Const(Fr::ZERO))
    }

    /// `a − b` (the row `1 · (a − b) + b = a`).
    pub fn sub(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        a: impl Into<Term>,
        b: impl Into<Term>,
    ) -> Result<Word, Error> {
        let (a, b) = (a.into(), b.into());
        let [_, out, ..] = self.row(
            region,
            row,
            [
                Slot::Term(Term::Const(Fr::ONE)),
                Slot::Free(a.value() - b.value()),
                Slot::Term(b),
                Slot::Term(a),
            ],
        )?;
        Ok(out)
    }

    /// `Σ kᵢ · xᵢ` (one row per term).
    pub fn sum(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        terms: &[(Fr, Term)],
    ) -> Result<Word, Error> {
        let mut acc = Term::Const(Fr::ZERO);
        for (k, x) in terms {
            acc = Term::Word(self.mul_add(region, row, Term::Const(*k), *x, acc)?);
        }
        match acc {
            Term::Word(w) => Ok(w),
            Term::Const(_) => self.constant(region, row, Fr::ZERO),
        }
    }

    /// A constant as a word.
    pub fn constant(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        c: Fr,
    ) -> Result<Word, Error> {
        self.add(region, row, Term::Const(c), Term::Const(Fr::ZERO))
    }

    /// `c ? a : b` for a boolean `c` (`c · (a − b) + b`).
    pub fn select(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        c: impl Into<Term>,
        a: impl Into<Term>,
        b: impl Into<Term>,
    ) -> Result<Word, Error> {
        let b = b.into();
        let diff = self.sub(region, row, a, b)?;
        self.mul_add(region, row, c, diff, b)
    }

    /// Constrains `a · b + c = d`.
    pub fn assert_mul_add(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        a: impl Into<Term>,
        b: impl Into<Term>,
        c: impl Into<Term>,
        d: impl Into<Term>,
    ) -> Result<(), Error> {
        self.row(
            region,
            row,
            [
                Slot::Term(a.into()),
                Slot::Term(b.into()),
                Slot::Term(c.into()),
                Slot::Term(d.into()),
            ],
        )?;
        Ok(())
    }

    /// Constrains `a · b = 0`: `a = 0` whenever `b ≠ 0`, the form of a rule that holds under a flag.
    pub fn assert_zero_product(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        a: impl Into<Term>,
        b: impl Into<Term>,
    ) -> Result<(), Error> {
        self.assert_mul_add(
            region,
            row,
            a,
            b,
            Term::Const(Fr::ZERO),
            Term::Const(Fr::ZERO),
        )
    }

    /// Constrains `b ∈ {0, 1}`.
    pub fn assert_bool(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        b: Word,
    ) -> Result<(), Error> {
        self.assert_mul_add(region, row, b, b, Term::Const(Fr::ZERO), b)
    }

    /// `1` when `a = 0`, else `0` (witness `inv`: `a · inv + out = 1` and `a · out = 0`).
    pub fn is_zero(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        a: Word,
    ) -> Result<Word, Error> {
        let inv = a.value.map(|v| v.invert().unwrap_or(Fr::ZERO));
        let out = a.value.map(|v| {
            if v.is_zero_vartime() {
                Fr::ONE
            } else {
                Fr::ZERO
            }
        });
        let [_, _, out, _] = self.row(
            region,
            row,
            [
                Slot::Term(Term::Word(a)),
                Slot::Free(inv),
                Slot::Free(out),
                Slot::Term(Term::Const(Fr::ONE)),
            ],
        )?;
        self.assert_zero_product(region, row, a, out)?;
        Ok(out)
    }

    /// Constrains `a ≠ 0` whenever the boolean `flag` is 1 (`a · inv = flag`).
    pub fn assert_nonzero_if(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        a: Word,
        flag: impl Into<Term>,
    ) -> Result<(), Error> {
        let flag = flag.into();
        let inv = a.value.map(|v| v.invert().unwrap_or(Fr::ZERO)) * flag.value();
        self.row(
            region,
            row,
            [
                Slot::Term(Term::Word(a)),
                Slot::Free(inv),
                Slot::Term(Term::Const(Fr::ZERO)),
                Slot::Term(flag),
            ],
        )?;
        Ok(())
    }

    /// Constrains `v < 2^bits` (`bits ≤ 248`).
    pub fn range(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        v: Word,
        bits: usize,
    ) -> Result<(), Error> {
        if bits == 0 || bits > 248 {
            return Err(Error::Synthesis);
        }
        let bytes = bits.div_ceil(8);
        self.bytes(region, row, v, bytes)?;
        if !bits.is_multiple_of(8) {
            let shifted = self.add(region, row, v, Term::Const(pow2(8 * bytes) - pow2(bits)))?;
            self.bytes(region, row, shifted, bytes)?;
        }
        Ok(())
    }

    /// Constrains `v < 2^(8·bytes)` with a running sum of `bytes` looked-up rows.
    fn bytes(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        v: Word,
        bytes: usize,
    ) -> Result<(), Error> {
        let start = *row;
        let inv256 = Fr::from(256u64).invert().unwrap_or(Fr::ZERO);
        let mut z = v.value;
        let first = self.pool.put(region, 0, start, z);
        region.constrain_equal(first.cell, v.cell);
        for i in 0..bytes {
            self.byte.enable(region, start + i)?;
            let low = z.map(|x| Fr::from(u64::from(x.to_repr()[0])));
            z = (z - low) * Value::known(inv256);
            if i + 1 < bytes {
                self.pool.put(region, 0, start + i + 1, z);
            }
        }
        region.assign_advice_from_constant(
            || "running sum ends at 0",
            self.pool.advice[0],
            start + bytes,
            Fr::ZERO,
        )?;
        *row = start + bytes + 1;
        Ok(())
    }
}
