//! A batch's blob polynomial in a BN254 circuit: from the records a proof covers to `p(z)` over
//! BLS12-381's scalar field (`docs/protocol.md`, section 6, "Blob form"), so that a proof binds
//! the blob L1 holds only by its versioned hash.
//!
//! The blob's coefficients are the batch's records back to back, cut into 31-byte words. A
//! record's place in that stream depends on the lengths of every record before it, so the
//! coefficients are not a fixed function of the slots: [`Dense`] walks the slots in order with
//! the stream's state, the open word `w` (its bytes so far, left-aligned, zeros after) and its
//! fill `s < 31`. Appending a record of `L` bytes (`b₀ … b₉₂`, zero after `L`) at fill `s`
//! touches at most four words:
//!
//! - `X₀ = w + P(31 − s)`, where `P(a)` is the big-endian value of the record's first `a` bytes:
//!   the record's head fills the open word's last `31 − s` bytes;
//! - `X₁ = P(62 − s) − 256³¹·P(31 − s)`, `X₂ = P(93 − s) − 256³¹·P(62 − s)`,
//!   `X₃ = P(124 − s) − 256³¹·P(93 − s)`: the next 31-byte windows of the record;
//!
//! `s + L = 31·E + s'`: the first `E ≤ 3` of them are complete coefficients, and `X_E` is the new
//! open word with fill `s'`. Every value here is below `2²⁴⁸` and the identities hold modulo
//! BN254's `r`, so they hold over the integers. A circuit for a fixed number of slots emits three
//! gated coefficients per slot and one last ungated word (zero when the stream ends on a word
//! boundary: a trailing zero coefficient changes no polynomial), and [`evaluate`] runs Horner's
//! rule over them modulo BLS12-381's `r`, a coefficient whose gate is 0 leaving the sum as it was.
//!
//! The record's bytes are witnesses, range-checked and tied to its three field elements through
//! `P(31)`, `P(62)` and `P(93)`; its type byte must be one of the six and every byte after the
//! type's length zero, so the stream is exactly the records' encodings.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use halo2_ecc::bigint::ProperCrtUint;
use halo2_ecc::fields::FieldChip;
use halo2_ecc::fields::fp::FpChip;
use rollup_protocol::blob::BlsFr;
use rollup_protocol::codec::Record;
use rollup_protocol::constants::{RECORD_FIELD_BYTES, RECORD_FIELDS};
use rollup_protocol::tx::TxType;

use crate::Fr;
use crate::bls::BlsScalar;

/// Bits per limb of a BLS12-381 element in the circuit.
pub const LIMB_BITS: usize = 88;

/// Limbs per BLS12-381 element.
pub const NUM_LIMBS: usize = 3;

/// Bytes per coefficient.
const WORD: usize = RECORD_FIELD_BYTES;

/// Bytes of a record, zero-padded.
const RECORD: usize = RECORD_FIELD_BYTES * RECORD_FIELDS;

/// Bits of a challenge: `z < 2²⁵³`, canonical in both fields.
pub const CHALLENGE_BITS: usize = 253;

/// Bits of a coefficient: 31 bytes.
pub const COEFFICIENT_BITS: usize = 8 * WORD;

/// The chip doing arithmetic modulo BLS12-381's `r`: three 88-bit limbs.
pub fn chip(range: &RangeChip<Fr>) -> FpChip<'_, Fr, BlsScalar> {
    FpChip::new(range, LIMB_BITS, NUM_LIMBS)
}

/// One slot's record type as six flags (one of them 1), in type-byte order ([`TxType::ALL`]).
pub type Kind = [AssignedValue<Fr>; TxType::ALL.len()];

/// A coefficient the stream emits: its gate (1 if it is one) and its value.
pub type Coefficient = (AssignedValue<Fr>, AssignedValue<Fr>);

/// The stream of coefficients, slot by slot (see the module's documentation).
pub struct Dense {
    window: AssignedValue<Fr>,
    fill: AssignedValue<Fr>,
    coefficients: Vec<Coefficient>,
}

fn pow256(n: usize) -> Fr {
    Fr::from(256).pow_vartime([n as u64])
}

impl Dense {
    /// An empty stream.
    pub fn new(ctx: &mut Context<Fr>) -> Dense {
        Dense {
            window: ctx.load_zero(),
            fill: ctx.load_zero(),
            coefficients: Vec::new(),
        }
    }

    /// A stream resuming where another segment ended, at the open word `window` with `fill` bytes
    /// ([`Dense::state`]): the caller ties both to that segment's end (the aggregation tree's parent
    /// does, `crate::tree`). `fill` is constrained below 31 here, since the windows below select by
    /// it.
    pub fn resume(
        ctx: &mut Context<Fr>,
        range: &RangeChip<Fr>,
        window: AssignedValue<Fr>,
        fill: AssignedValue<Fr>,
    ) -> Dense {
        range.check_less_than_safe(ctx, fill, WORD as u64);
        Dense {
            window,
            fill,
            coefficients: Vec::new(),
        }
    }

    /// The stream's state: the open word and its fill.
    pub fn state(&self) -> [AssignedValue<Fr>; 2] {
        [self.window, self.fill]
    }

    /// The completed coefficients so far, without the open word: a [`segment`]'s words.
    pub fn completed(self) -> Vec<Coefficient> {
        self.coefficients
    }

    /// Appends the record whose three field elements are `record` when `real` (a bit the caller
    /// constrains) is 1, and nothing when it is 0; returns its type's flags (Noop's for a slot
    /// that is not real).
    pub fn push(
        &mut self,
        ctx: &mut Context<Fr>,
        range: &RangeChip<Fr>,
        record: [AssignedValue<Fr>; RECORD_FIELDS],
        real: AssignedValue<Fr>,
    ) -> Kind {
        let gate = range.gate();
        let fields = record.map(|f| gate.mul(ctx, f, real));

        // The bytes, and P(0..=93) by P(a + 1) = 256·P(a) + b_a, tied to the fields.
        let values: Vec<u64> = fields
            .iter()
            .flat_map(|f| {
                let repr = f.value().to_repr();
                // Little-endian repr: byte 30 down to 0 are the element's 31 bytes, big end first.
                (0..WORD).rev().map(move |i| u64::from(repr[i]))
            })
            .collect();
        let bytes = ctx.assign_witnesses(values.into_iter().map(Fr::from));
        let mut prefix = vec![ctx.load_zero()];
        for (i, byte) in bytes.iter().enumerate() {
            range.range_check(ctx, *byte, 8);
            let next = gate.mul_add(ctx, prefix[i], Constant(Fr::from(256)), *byte);
            prefix.push(next);
        }
        let shift = pow256(WORD);
        let mut previous = ctx.load_zero();
        for (k, field) in fields.iter().enumerate() {
            let p = prefix[WORD * (k + 1)];
            // P(31(k+1)) − 256³¹·P(31k) is the k-th element.
            let element = gate.mul_add(ctx, previous, Constant(-shift), p);
            ctx.constrain_equal(&element, field);
            previous = p;
        }
        let whole = prefix[RECORD];

        // The type byte, its flags and the record's length.
        let kind: Kind = {
            let flags = gate.idx_to_indicator(ctx, bytes[0], TxType::ALL.len());
            let mut out = [ctx.load_zero(); TxType::ALL.len()];
            out.copy_from_slice(&flags);
            out
        };
        let one_type = gate.sum(ctx, kind);
        gate.assert_is_const(ctx, &one_type, &Fr::ONE);
        let lengths = TxType::ALL.map(Record::encoded_len);
        let length = gate.inner_product(ctx, kind, lengths.map(|l| Constant(Fr::from(l as u64))));
        // Zero after the length: P(93) = P(L)·256^(93 − L).
        let head = gate.select_by_indicator(ctx, lengths.map(|l| prefix[l]), kind);
        let tail = gate.inner_product(ctx, kind, lengths.map(|l| Constant(pow256(RECORD - l))));
        let padded = gate.mul(ctx, head, tail);
        ctx.constrain_equal(&padded, &whole);
        let length = gate.mul(ctx, length, real);

        // The four windows at fill s.
        let at_fill = gate.idx_to_indicator(ctx, self.fill, WORD);
        let at = |ctx: &mut Context<Fr>, end: usize| {
            let cells: Vec<_> = (0..WORD).map(|s| prefix[end - s]).collect();
            gate.select_by_indicator(ctx, cells, at_fill.iter().copied())
        };
        let p1 = at(ctx, WORD);
        let p2 = at(ctx, 2 * WORD);
        let p3 = at(ctx, 3 * WORD);
        // Past byte 93 the record is zero: P(124 − s) = 256^(31 − s)·P(93).
        let factor = gate.inner_product(
            ctx,
            at_fill.iter().copied(),
            (0..WORD).map(|s| Constant(pow256(WORD - s))),
        );
        let p4 = gate.mul(ctx, whole, factor);
        let x0 = gate.add(ctx, self.window, p1);
        let x1 = gate.mul_add(ctx, p1, Constant(-shift), p2);
        let x2 = gate.mul_add(ctx, p2, Constant(-shift), p3);
        let x3 = gate.mul_add(ctx, p3, Constant(-shift), p4);

        // s + L = 31·E + s'.
        let total = gate.add(ctx, self.fill, length);
        let (complete, fill) = range.div_mod(ctx, total, WORD as u64, 7);
        let by_count = gate.idx_to_indicator(ctx, complete, 4);
        let gates = [
            gate.not(ctx, by_count[0]),
            gate.add(ctx, by_count[2], by_count[3]),
            by_count[3],
        ];
        for (g, x) in gates.into_iter().zip([x0, x1, x2]) {
            self.coefficients.push((g, x));
        }
        self.window = gate.select_by_indicator(ctx, [x0, x1, x2, x3], by_count);
        self.fill = fill;
        kind
    }

    /// The coefficients, the open word last (ungated).
    pub fn finish(self, ctx: &mut Context<Fr>) -> Vec<Coefficient> {
        let mut out = self.coefficients;
        let one = ctx.load_constant(Fr::ONE);
        out.push((one, self.window));
        out
    }
}

/// An integer `x < 2^bits` (`bits ≤ 253`) as a BLS12-381 element: loaded in limbs, the limbs'
/// native combination constrained equal to `x`, and the top limb to the bits left. Without the
/// last check the limbs could hold `x + r_BN`, another element of BLS12-381's field.
pub fn load_integer(
    ctx: &mut Context<Fr>,
    fp: &FpChip<'_, Fr, BlsScalar>,
    x: AssignedValue<Fr>,
    bits: usize,
) -> ProperCrtUint<Fr> {
    let value = BlsFr::from_repr(x.value().to_repr())
        .into_option()
        .unwrap_or(BlsFr::ZERO);
    let loaded = fp.load_private(ctx, BlsScalar(value));
    ctx.constrain_equal(loaded.native(), &x);
    let top = LIMB_BITS * (NUM_LIMBS - 1);
    if let Some(limb) = loaded.limbs().last() {
        fp.range().range_check(ctx, *limb, bits.saturating_sub(top));
    }
    loaded
}

/// `p(z) = Σ cₖ zᵏ` modulo BLS12-381's `r` over the gated coefficients (Horner's rule from the
/// last; a coefficient whose gate is 0 is skipped), reduced below `r`.
pub fn evaluate(
    ctx: &mut Context<Fr>,
    fp: &FpChip<'_, Fr, BlsScalar>,
    z: &ProperCrtUint<Fr>,
    coefficients: &[Coefficient],
) -> ProperCrtUint<Fr> {
    let mut acc = fp.load_constant(ctx, BlsScalar(BlsFr::ZERO));
    for (gate, value) in coefficients.iter().rev() {
        let c = load_integer(ctx, fp, *value, COEFFICIENT_BITS);
        let product = fp.mul_no_carry(ctx, acc.clone(), z.clone());
        let sum = fp.add_no_carry(ctx, product, c);
        let next = fp.carry_mod(ctx, sum);
        acc = halo2_ecc::fields::Selectable::select(fp, ctx, next, acc, *gate);
    }
    fp.enforce_less_than_p(ctx, acc.clone());
    acc
}

/// A reduced element as two public values: `lo = l₀ + l₁·2⁸⁸` (176 bits) and `hi = l₂`, as
/// `rollup_protocol::blob::halves` computes them natively.
pub fn halves(
    ctx: &mut Context<Fr>,
    fp: &FpChip<'_, Fr, BlsScalar>,
    y: &ProperCrtUint<Fr>,
) -> [AssignedValue<Fr>; 2] {
    let limbs = y.limbs();
    let base = Fr::from(2).pow_vartime([LIMB_BITS as u64]);
    let lo = fp.gate().mul_add(ctx, limbs[1], Constant(base), limbs[0]);
    [lo, limbs[2]]
}

/// A piece of the blob polynomial in the circuit ([`rollup_protocol::blob::Segment`]): over the
/// gated coefficients `c₀ … c_{n−1}` of a run of slots, `value = Σ cₖ zᵏ` and `shift = zⁿ`, both
/// reduced below `r`, so that another proof can take them as public values.
#[derive(Clone, Debug)]
pub struct Segment {
    /// `Σ cₖ zᵏ`.
    pub value: ProperCrtUint<Fr>,
    /// `zⁿ`.
    pub shift: ProperCrtUint<Fr>,
}

/// The [`Segment`] of `coefficients` (gated, as [`Dense::completed`] gives them) at `z`: the value
/// by Horner's rule ([`evaluate`]) and the shift as `z` to the number of gates that are 1, by the
/// bits of that number (a few multiplications per segment, not one per coefficient).
pub fn segment(
    ctx: &mut Context<Fr>,
    fp: &FpChip<'_, Fr, BlsScalar>,
    z: &ProperCrtUint<Fr>,
    coefficients: &[Coefficient],
) -> Segment {
    let value = evaluate(ctx, fp, z, coefficients);
    let count = fp
        .gate()
        .sum(ctx, coefficients.iter().map(|(gate, _)| *gate));
    let bits = (usize::BITS - coefficients.len().leading_zeros()).max(1) as usize;
    let shift = power(ctx, fp, z, count, bits);
    fp.enforce_less_than_p(ctx, shift.clone());
    Segment { value, shift }
}

/// `base^exponent` for an `exponent` below `2^bits` (constrained so), by square and multiply.
pub fn power(
    ctx: &mut Context<Fr>,
    fp: &FpChip<'_, Fr, BlsScalar>,
    base: &ProperCrtUint<Fr>,
    exponent: AssignedValue<Fr>,
    bits: usize,
) -> ProperCrtUint<Fr> {
    let bits = fp.gate().num_to_bits(ctx, exponent, bits);
    let mut acc = fp.load_constant(ctx, BlsScalar(BlsFr::ONE));
    for bit in bits.iter().rev() {
        let squared = fp.mul(ctx, acc.clone(), acc);
        let times = fp.mul(ctx, squared.clone(), base.clone());
        acc = halo2_ecc::fields::Selectable::select(fp, ctx, times, squared, *bit);
    }
    acc
}

/// `a` followed by `b` when `take` (a bit the caller constrains) is 1: `(a.value + a.shift·b.value,
/// a.shift·b.shift)`, reduced; `a` when it is 0.
pub fn concat(
    ctx: &mut Context<Fr>,
    fp: &FpChip<'_, Fr, BlsScalar>,
    a: &Segment,
    b: &Segment,
    take: AssignedValue<Fr>,
) -> Segment {
    let moved = fp.mul_no_carry(ctx, a.shift.clone(), b.value.clone());
    let sum = fp.add_no_carry(ctx, moved, a.value.clone());
    let value = fp.carry_mod(ctx, sum);
    let shift = fp.mul(ctx, a.shift.clone(), b.shift.clone());
    let value = halo2_ecc::fields::Selectable::select(fp, ctx, value, a.value.clone(), take);
    let shift = halo2_ecc::fields::Selectable::select(fp, ctx, shift, a.shift.clone(), take);
    fp.enforce_less_than_p(ctx, value.clone());
    fp.enforce_less_than_p(ctx, shift.clone());
    Segment { value, shift }
}

/// The evaluation of a whole stream: its joined `segment`, then the open word `window` left at its
/// end as a last coefficient (below `2²⁴⁸`, zero when the stream ends on a word boundary), reduced.
pub fn close(
    ctx: &mut Context<Fr>,
    fp: &FpChip<'_, Fr, BlsScalar>,
    segment: &Segment,
    window: AssignedValue<Fr>,
) -> ProperCrtUint<Fr> {
    let last = load_integer(ctx, fp, window, COEFFICIENT_BITS);
    let moved = fp.mul_no_carry(ctx, segment.shift.clone(), last);
    let sum = fp.add_no_carry(ctx, moved, segment.value.clone());
    let y = fp.carry_mod(ctx, sum);
    fp.enforce_less_than_p(ctx, y.clone());
    y
}

/// A reduced element's limbs, little end first: how a proof exposes it.
pub fn limbs(x: &ProperCrtUint<Fr>) -> [AssignedValue<Fr>; NUM_LIMBS] {
    let l = x.limbs();
    [l[0], l[1], l[2]]
}

/// An element another proof exposed as its [`limbs`]: loaded (limbs range-checked), each limb
/// constrained equal to the given cell. A proof exposes reduced elements only, so the value
/// loaded is the limbs' integer.
pub fn load_limbs(
    ctx: &mut Context<Fr>,
    fp: &FpChip<'_, Fr, BlsScalar>,
    cells: [AssignedValue<Fr>; NUM_LIMBS],
) -> ProperCrtUint<Fr> {
    let base = Field::pow_vartime(&BlsFr::from(2), [LIMB_BITS as u64]);
    let value = cells.iter().rev().fold(BlsFr::ZERO, |acc, cell| {
        let repr = cell.value().to_repr();
        let mut low = [0u8; 16];
        low.copy_from_slice(&repr[..16]);
        acc * base + BlsFr::from_u128(u128::from_le_bytes(low))
    });
    let loaded = fp.load_private(ctx, BlsScalar(value));
    for (limb, cell) in loaded.limbs().iter().zip(cells) {
        ctx.constrain_equal(limb, &cell);
    }
    loaded
}
