//! EdDSA verification in-circuit (`docs/protocol.md`, section 4): Baby Jubjub
//! arithmetic as custom gates over BN254's scalar field, its base field.
//!
//! A scalar multiplication is two rows per scalar bit, most significant first:
//! they double the accumulator, add the point, and keep the sum when the bit is
//! 1; a running sum rebuilds the scalar from the bits. Point addition uses
//! the complete twisted Edwards formulas, whose denominators never vanish on the
//! curve; the product `t = d·x₁x₂y₁y₂` has a cell of its own, so each
//! coordinate is one degree-3 constraint and `t` one of degree 5. Verification computes
//! `h = Poseidon(TAG_EDDSA; R, A, M)` with the Poseidon chip, then checks
//! `[s]B8 = R + [8]([h]A)` and that `R` is on the curve.
//!
//! Bit decompositions are not forced canonical: `s` is bounded by 2^251 (not by
//! the subgroup order) and `h` may be decomposed as `h + k·r` below 2^254. Each
//! alternative is a fixed function of the hash, so a forger gains nothing from
//! the choice; the native verifier's `s < l` rule only removes malleability of a
//! signature that is never posted.

use halo2_base::halo2_proofs::circuit::{Region, Value};
use halo2_base::halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, Expression, Selector, VirtualCells,
};
use halo2_base::halo2_proofs::poly::Rotation;
use rollup_protocol::constants::TAG_EDDSA;
use rollup_protocol::eddsa::{A as CURVE_A, D as CURVE_D, Point};
use rollup_protocol::field;

use crate::Fr;
use crate::layout::Columns;
use crate::layout::Word;
use crate::poseidon::PoseidonConfig;

/// Bits of `s` (below 2^251).
pub const S_BITS: usize = 251;
/// Bits of `h` (below 2^254).
pub const H_BITS: usize = 254;

/// An assigned curve point.
#[derive(Debug, Clone, Copy)]
pub struct PointWord {
    /// x coordinate.
    pub x: Word,
    /// y coordinate.
    pub y: Word,
}

/// Columns and gates of the Baby Jubjub chip.
#[derive(Debug, Clone)]
pub struct EddsaConfig {
    poseidon: PoseidonConfig,
    /// `[acc.x, acc.y, bit, p.x, p.y, dbl.x, dbl.y, sum.x, sum.y, k]`.
    cols: [Column<Advice>; 10],
    step: Selector,
    add: Selector,
    on_curve: Selector,
}

fn c(v: u64) -> Expression<Fr> {
    Expression::Constant(Fr::from(v))
}

/// Constraints that `(x3, y3) = (x1, y1) + (x2, y2)`, with `t = d·x1·x2·y1·y2` in a cell of its
/// own so that no constraint exceeds degree 4 (5 with its selector).
fn add_constraints(
    p1: (Expression<Fr>, Expression<Fr>),
    p2: (Expression<Fr>, Expression<Fr>),
    p3: (Expression<Fr>, Expression<Fr>),
    t: Expression<Fr>,
) -> [Expression<Fr>; 3] {
    let (x1, y1) = p1;
    let (x2, y2) = p2;
    let (x3, y3) = p3;
    [
        t.clone() - c(CURVE_D) * x1.clone() * x2.clone() * y1.clone() * y2.clone(),
        x3 * (c(1) + t.clone()) - (x1.clone() * y2.clone() + y1.clone() * x2.clone()),
        y3 * (c(1) - t) - (y1 * y2 - c(CURVE_A) * x1 * x2),
    ]
}

/// `d·x1·x2·y1·y2` for the witness of [`add_constraints`].
fn t_value(p1: Point, p2: Point) -> Fr {
    Fr::from(CURVE_D) * p1.x * p2.x * p1.y * p2.y
}

impl EddsaConfig {
    /// Creates the gates over the shared advice columns, next to an existing Poseidon chip.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        pool: &Columns,
        poseidon: PoseidonConfig,
    ) -> Self {
        let cols = pool.advice;
        let step = meta.complex_selector();
        let add = meta.complex_selector();
        let on_curve = meta.selector();
        let q = |m: &mut VirtualCells<'_, Fr>, i: usize, r: Rotation| m.query_advice(cols[i], r);
        meta.create_gate("baby jubjub double-and-add step", |m| {
            // Two rows per scalar bit: [ax, ay, b, px, py, dx, dy, td, ta, k] then [sx, sy, ..];
            // the next bit's accumulator, point and running scalar sit two rows down.
            let s = m.query_selector(step);
            let cur = Rotation::cur();
            let (ax, ay, b, px, py) = (
                q(m, 0, cur),
                q(m, 1, cur),
                q(m, 2, cur),
                q(m, 3, cur),
                q(m, 4, cur),
            );
            let (dx, dy, td, ta, k) = (
                q(m, 5, cur),
                q(m, 6, cur),
                q(m, 7, cur),
                q(m, 8, cur),
                q(m, 9, cur),
            );
            let (sx, sy) = (q(m, 0, Rotation::next()), q(m, 1, Rotation::next()));
            let two = Rotation(2);
            let (nax, nay, npx, npy, nk) = (
                q(m, 0, two),
                q(m, 1, two),
                q(m, 3, two),
                q(m, 4, two),
                q(m, 9, two),
            );
            let double = add_constraints(
                (ax.clone(), ay.clone()),
                (ax, ay),
                (dx.clone(), dy.clone()),
                td,
            );
            let add = add_constraints(
                (dx.clone(), dy.clone()),
                (px.clone(), py.clone()),
                (sx.clone(), sy.clone()),
                ta,
            );
            let mut out = vec![s.clone() * b.clone() * (b.clone() - c(1))];
            out.extend(double.into_iter().chain(add).map(|e| s.clone() * e));
            out.extend([
                s.clone() * (dx.clone() + b.clone() * (sx - dx) - nax),
                s.clone() * (dy.clone() + b.clone() * (sy - dy) - nay),
                s.clone() * (npx - px),
                s.clone() * (npy - py),
                s * (k * c(2) + b - nk),
            ]);
            out
        });
        meta.create_gate("baby jubjub add", |m| {
            let s = m.query_selector(add);
            let cur = Rotation::cur();
            let p1 = (q(m, 0, cur), q(m, 1, cur));
            let p2 = (q(m, 3, cur), q(m, 4, cur));
            let p3 = (q(m, 5, cur), q(m, 6, cur));
            add_constraints(p1, p2, p3, q(m, 7, cur))
                .into_iter()
                .map(|e| s.clone() * e)
                .collect::<Vec<_>>()
        });
        meta.create_gate("baby jubjub on curve", |m| {
            let s = m.query_selector(on_curve);
            let (x, y) = (q(m, 0, Rotation::cur()), q(m, 1, Rotation::cur()));
            let (x2, y2) = (x.clone() * x, y.clone() * y);
            vec![s * (c(CURVE_A) * x2.clone() + y2.clone() - c(1) - c(CURVE_D) * x2 * y2)]
        });
        EddsaConfig {
            poseidon,
            cols,
            step,
            add,
            on_curve,
        }
    }

    fn cell(&self, region: &mut Region<'_, Fr>, col: usize, row: usize, v: Value<Fr>) -> Word {
        Word {
            cell: region.assign_advice(self.cols[col], row, v).cell(),
            value: v,
        }
    }

    fn copy(&self, region: &mut Region<'_, Fr>, col: usize, row: usize, w: Word) -> Word {
        let out = self.cell(region, col, row, w.value);
        region.constrain_equal(out.cell, w.cell);
        out
    }

    /// `p1 + p2` on one row.
    pub fn add(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        p1: PointWord,
        p2: PointWord,
    ) -> Result<PointWord, Error> {
        let r = *row;
        self.add.enable(region, r)?;
        self.copy(region, 0, r, p1.x);
        self.copy(region, 1, r, p1.y);
        self.copy(region, 3, r, p2.x);
        self.copy(region, 4, r, p2.y);
        let sum = point_value(p1).zip(point_value(p2)).map(|(a, b)| a.add(&b));
        let t = point_value(p1)
            .zip(point_value(p2))
            .map(|(a, b)| t_value(a, b));
        self.cell(region, 7, r, t);
        let x = self.cell(region, 5, r, sum.map(|p| p.x));
        let y = self.cell(region, 6, r, sum.map(|p| p.y));
        *row += 1;
        Ok(PointWord { x, y })
    }

    /// Constrains `p` to the curve.
    pub fn assert_on_curve(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        p: PointWord,
    ) -> Result<(), Error> {
        self.on_curve.enable(region, *row)?;
        self.copy(region, 0, *row, p.x);
        self.copy(region, 1, *row, p.y);
        *row += 1;
        Ok(())
    }

    /// `[k]p` for the `n`-bit scalar `k` (its value, as a field element); returns the point and
    /// the scalar rebuilt from the bits (to be constrained by the caller).
    pub fn mul(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        p: PointWord,
        k: Value<Fr>,
        n: usize,
    ) -> Result<(PointWord, Word), Error> {
        let start = *row;
        let bits: Vec<Value<bool>> = (0..n).rev().map(|i| k.map(|k| field::bit(&k, i))).collect();
        let pv = point_value(p);
        region.assign_advice_from_constant(|| "identity x", self.cols[0], start, Fr::zero())?;
        region.assign_advice_from_constant(|| "identity y", self.cols[1], start, Fr::one())?;
        region.assign_advice_from_constant(
            || "scalar starts at 0",
            self.cols[9],
            start,
            Fr::zero(),
        )?;
        self.copy(region, 3, start, p.x);
        self.copy(region, 4, start, p.y);
        let mut acc = Value::known(Point::identity());
        let mut kk = Value::known(Fr::zero());
        let mut last: Option<(Word, Word, Word)> = None;
        for (i, bit) in bits.iter().enumerate() {
            let r = start + 2 * i;
            self.step.enable(region, r)?;
            let bv = bit.map(|b| if b { Fr::one() } else { Fr::zero() });
            self.cell(region, 2, r, bv);
            let dbl = acc.map(|a| a.add(&a));
            let sum = dbl.zip(pv).map(|(d, p)| d.add(&p));
            self.cell(region, 5, r, dbl.map(|d| d.x));
            self.cell(region, 6, r, dbl.map(|d| d.y));
            self.cell(region, 7, r, acc.map(|a| t_value(a, a)));
            self.cell(region, 8, r, dbl.zip(pv).map(|(d, p)| t_value(d, p)));
            self.cell(region, 0, r + 1, sum.map(|s| s.x));
            self.cell(region, 1, r + 1, sum.map(|s| s.y));
            acc = dbl
                .zip(sum)
                .zip(*bit)
                .map(|((d, s), b)| if b { s } else { d });
            kk = kk.zip(bv).map(|(k, b)| k.double() + b);
            // Two rows down: accumulator, the point carried along, the running scalar.
            let x = self.cell(region, 0, r + 2, acc.map(|a| a.x));
            let y = self.cell(region, 1, r + 2, acc.map(|a| a.y));
            self.cell(region, 3, r + 2, pv.map(|p| p.x));
            self.cell(region, 4, r + 2, pv.map(|p| p.y));
            let k = self.cell(region, 9, r + 2, kk);
            last = Some((x, y, k));
        }
        let (x, y, scalar) = last.ok_or(Error::Synthesis)?;
        *row = start + 2 * n + 1;
        Ok((PointWord { x, y }, scalar))
    }

    /// Constrains `sig = (r, s)` to be a valid signature of `msg` under `key`, from row `*row`
    /// (advanced past the rows used).
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        key: PointWord,
        r: PointWord,
        s: Word,
        msg: Word,
    ) -> Result<(), Error> {
        self.assert_on_curve(region, row, r)?;
        let h = self
            .poseidon
            .hash(region, row, TAG_EDDSA, &[r.x, r.y, key.x, key.y, msg])?;
        let b8 = Point::base();
        let base = PointWord {
            x: self.constant(region, row, 0, b8.x)?,
            y: self.constant(region, row, 1, b8.y)?,
        };
        let (sb, s_rebuilt) = self.mul(region, row, base, s.value, S_BITS)?;
        region.constrain_equal(s_rebuilt.cell, s.cell);
        let (ha, h_rebuilt) = self.mul(region, row, key, h.value, H_BITS)?;
        region.constrain_equal(h_rebuilt.cell, h.cell);
        let mut acc = ha;
        for _ in 0..3 {
            acc = self.add(region, row, acc, acc)?;
        }
        let rhs = self.add(region, row, r, acc)?;
        region.constrain_equal(rhs.x.cell, sb.x.cell);
        region.constrain_equal(rhs.y.cell, sb.y.cell);
        Ok(())
    }

    fn constant(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        col: usize,
        v: Fr,
    ) -> Result<Word, Error> {
        let cell = region
            .assign_advice_from_constant(|| "constant", self.cols[col], *row, v)?
            .cell();
        if col == 1 {
            *row += 1;
        }
        Ok(Word {
            cell,
            value: Value::known(v),
        })
    }
}

fn point_value(p: PointWord) -> Value<Point> {
    p.x.value.zip(p.y.value).map(|(x, y)| Point { x, y })
}
