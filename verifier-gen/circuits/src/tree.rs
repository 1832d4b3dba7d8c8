//! The batch rules split across the aggregation tree, so that the circuit at the top costs the same
//! whatever the slots of a batch (`docs/protocol.md`, section 7, "Where the evaluation lives").
//!
//! The flat batch circuit ([`crate::batch::constrain`]) takes every slot's record as a witness: it
//! hashes each chunk's records to the chunk's commitment and streams them into the blob polynomial,
//! about 7k cells per slot, all in one circuit. Here the per-slot work moves down to the level-1
//! nodes, each over a few chunks, which the tree proves in parallel: a **leaf**
//! ([`leaf`]) takes its chunks' records, ties them to their commitments, streams them from the
//! stream state the records before them left (a witness, tied by the parent), and evaluates the
//! L1 list at `z` from its first slot. What it exposes, its [`Summary`], is a fixed number of values:
//! how many of its chunks are real, the stream's state before and after, its [`Segment`] of the
//! blob polynomial and its partial `Y_L1`. A node above ([`join`]) joins its children's summaries
//! (the real ones, each starting where the previous ended, the ones before a real one full), and
//! the batch circuit over nodes ([`constrain_over`]) joins the top nodes' summaries, starts the
//! stream empty, closes it with the open word left, and applies the rules between chunks (roots,
//! challenge, commitment chain) on the flat list of chunk inputs, with the real chunks the first
//! `real` of them. Its public inputs are exactly the flat batch circuit's.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use halo2_ecc::fields::fp::FpChip;
use rollup_protocol::blob::{BlsFr, StreamState, embed};
use rollup_protocol::codec::{CHALLENGE_BITS, Record, encode_chunk, l1_evaluation};
use rollup_protocol::constants::RECORD_FIELDS;

use crate::Fr;
use crate::batch::{BATCH_INPUTS, CHUNK_INPUTS, absorb, chain, monotone_flags};
use crate::blob::{self, NUM_LIMBS, Segment};
use crate::bls::BlsScalar;

/// Values of a [`Summary`] as public inputs: `real`, the stream's window and fill before and after,
/// the segment's value and shift (three limbs each), the partial `Y_L1`.
pub const SUMMARY_INPUTS: usize = 1 + 2 + 2 + 2 * NUM_LIMBS + 1;

/// The one order of a summary's values, in the circuit and natively.
fn layout<T: Copy>(
    real: T,
    start: [T; 2],
    end: [T; 2],
    value: [T; NUM_LIMBS],
    shift: [T; NUM_LIMBS],
    l1: T,
) -> [T; SUMMARY_INPUTS] {
    let [v0, v1, v2] = value;
    let [s0, s1, s2] = shift;
    [
        real, start[0], start[1], end[0], end[1], v0, v1, v2, s0, s1, s2, l1,
    ]
}

/// What a node of the tree says about the chunks below it, beyond their five inputs each.
#[derive(Clone, Debug)]
pub struct Summary {
    /// How many of its chunks are real (the first ones), at least 1.
    pub real: AssignedValue<Fr>,
    /// The stream's open word and fill before its first chunk's records.
    pub start: [AssignedValue<Fr>; 2],
    /// The stream's open word and fill after its last real chunk's records.
    pub end: [AssignedValue<Fr>; 2],
    /// The blob polynomial's words its real chunks' records complete.
    pub segment: Segment,
    /// `Σ (f₀ + f₁z + f₂z²)·z^(3t)` over its real slots that L1 acts on, `t` counted from its
    /// first slot.
    pub l1: AssignedValue<Fr>,
}

impl Summary {
    /// The summary as public inputs, in [`SUMMARY_INPUTS`]' order.
    pub fn inputs(&self) -> [AssignedValue<Fr>; SUMMARY_INPUTS] {
        layout(
            self.real,
            self.start,
            self.end,
            blob::limbs(&self.segment.value),
            blob::limbs(&self.segment.shift),
            self.l1,
        )
    }

    /// A summary another proof exposed as its [`Summary::inputs`] (cells of this circuit holding
    /// that proof's public inputs); the segment's limbs are reloaded as elements
    /// ([`blob::load_limbs`]).
    pub fn load(
        ctx: &mut Context<Fr>,
        fp: &FpChip<'_, Fr, BlsScalar>,
        inputs: &[AssignedValue<Fr>; SUMMARY_INPUTS],
    ) -> Summary {
        let i = inputs;
        Summary {
            real: i[0],
            start: [i[1], i[2]],
            end: [i[3], i[4]],
            segment: Segment {
                value: blob::load_limbs(ctx, fp, [i[5], i[6], i[7]]),
                shift: blob::load_limbs(ctx, fp, [i[8], i[9], i[10]]),
            },
            l1: i[11],
        }
    }
}

/// A level-1 node's share of the batch rules over its `chunks` (their proofs' public inputs, in
/// batch order) and `records` (each chunk's, `slots` of them): chunk 0 is real and the others real
/// as `flags` says (a monotone run; a padding chunk, the last real one again, counts for nothing);
/// each real chunk's records hash to its commitment; they are streamed into the blob from `start`
/// (the open word and fill the records before them left, which the parent ties) and evaluated for
/// L1 at chunk 0's challenge. Checks nothing between chunks (roots, challenges): the batch circuit
/// does that on the flat list. Returns `None` for no chunks, or records not `slots` per chunk.
pub fn leaf(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    chunks: &[[AssignedValue<Fr>; CHUNK_INPUTS]],
    records: &[Vec<[Fr; RECORD_FIELDS]>],
    flags: &[bool],
    start: [Fr; 2],
    slots: usize,
) -> Option<Summary> {
    let gate = range.gate();
    if chunks.is_empty()
        || records.len() != chunks.len()
        || records.iter().any(|r| r.len() != slots)
    {
        return None;
    }
    let z = chunks[0][3];
    let one = ctx.load_constant(Fr::ONE);
    let zero = ctx.load_zero();
    let start = start.map(|v| ctx.load_witness(v));
    let flags = monotone_flags(ctx, gate, one, flags, chunks.len());
    let (l1, dense) = absorb(
        ctx,
        range,
        chunks,
        &flags,
        records,
        z,
        one,
        zero,
        Some(start),
    );
    let end = dense.state();
    let fp = blob::chip(range);
    let z_blob = blob::load_integer(ctx, &fp, z, CHALLENGE_BITS);
    let segment = blob::segment(ctx, &fp, &z_blob, &dense.completed());
    let real = gate.sum(ctx, flags);
    Some(Summary {
        real,
        start,
        end,
        segment,
        l1,
    })
}

/// Joins `parts` (the summaries of a node's children, in batch order, each over `chunks_each`
/// chunks of `slots` slots) into the node's: part 0 is real and the others as `flags` says (a
/// monotone run); a real part after another starts where it ended, and the one before it is full
/// (`real = chunks_each`), so that the real chunks below are a prefix; the segments of the real
/// parts follow one another, and their L1 evaluations too (part `j`'s slots start at
/// `j · chunks_each · slots`, hence its factor `z^(3 · slots · chunks_each · j)`). `z` is the
/// batch's challenge (the first chunk's).
#[allow(clippy::too_many_arguments)]
pub fn join(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    parts: &[Summary],
    flags: &[bool],
    chunks_each: usize,
    slots: usize,
    z: AssignedValue<Fr>,
) -> Option<Summary> {
    let gate = range.gate();
    let fp = blob::chip(range);
    let (first, rest) = parts.split_first()?;
    let one = ctx.load_constant(Fr::ONE);
    let flags = monotone_flags(ctx, gate, one, flags, parts.len());
    // z^(3 · slots · chunks_each): one part's slots.
    let exponent = 3 * slots * chunks_each;
    let exponent_bits = (usize::BITS - exponent.leading_zeros()) as usize;
    let exponent = ctx.load_constant(Fr::from(exponent as u64));
    let step = gate.pow_var(ctx, z, exponent, exponent_bits);
    let full = Fr::from(chunks_each as u64);

    let mut joined = first.clone();
    let mut power = one;
    for ((part, before), flag) in rest.iter().zip(parts).zip(flags.get(1..)?) {
        let previous = joined.clone();
        // Real after real: the part before is full, and this one starts where the real parts so
        // far ended (where the part before ended).
        let missing = gate.sub(ctx, Constant(full), before.real);
        let gated = gate.mul(ctx, missing, *flag);
        gate.assert_is_const(ctx, &gated, &Fr::ZERO);
        for (a, b) in part.start.iter().zip(&previous.end) {
            let diff = gate.sub(ctx, *a, *b);
            let gated = gate.mul(ctx, diff, *flag);
            gate.assert_is_const(ctx, &gated, &Fr::ZERO);
        }
        power = gate.mul(ctx, power, step);
        let moved = gate.mul(ctx, part.l1, power);
        joined = Summary {
            real: gate.mul_add(ctx, part.real, *flag, previous.real),
            start: previous.start,
            end: [
                gate.select(ctx, part.end[0], previous.end[0], *flag),
                gate.select(ctx, part.end[1], previous.end[1], *flag),
            ],
            segment: blob::concat(ctx, &fp, &previous.segment, &part.segment, *flag),
            l1: gate.mul_add(ctx, moved, *flag, previous.l1),
        };
    }
    Some(joined)
}

/// The batch circuit's rules over nodes: `chunks` is the flat list of the chunk inputs its children
/// carry (in batch order), `parts` the children's summaries and `flags` which children are real (as
/// [`join`]). The children's summaries are joined, the stream starts empty (the first part's start
/// is the zero word at fill 0), the real chunks are the first `real` of `chunks`, over which the
/// rules between chunks apply ([`crate::batch`]: roots, challenge, commitment chain), and the blob
/// evaluation is the joined segment closed with the open word left. Returns the batch's public
/// inputs `[old_root, new_root, C_B, z, Y_L1, y_lo, y_hi]`, as [`crate::batch::constrain`] does for
/// the same batch, or `None` for no chunks or a flat list that is not `parts.len()` equal shares.
pub fn constrain_over(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    chunks: &[[AssignedValue<Fr>; CHUNK_INPUTS]],
    parts: &[Summary],
    flags: &[bool],
    slots: usize,
) -> Option<[AssignedValue<Fr>; BATCH_INPUTS]> {
    if parts.is_empty() || chunks.is_empty() || !chunks.len().is_multiple_of(parts.len()) {
        return None;
    }
    let gate = range.gate();
    let chunks_each = chunks.len() / parts.len();
    let [old_root, _, _, z, _] = chunks[0];
    let joined = join(ctx, range, parts, flags, chunks_each, slots, z)?;
    for cell in joined.start {
        gate.assert_is_const(ctx, &cell, &Fr::ZERO);
    }
    // Chunk c is real if c < real (real ≤ chunks.len(), a sum of counts each at most chunks_each).
    let bits = (usize::BITS - chunks.len().leading_zeros()) as usize;
    range.range_check(ctx, joined.real, bits);
    let real: Vec<AssignedValue<Fr>> = (0..chunks.len())
        .map(|c| range.is_less_than(ctx, Constant(Fr::from(c as u64)), joined.real, bits))
        .collect();
    let zero = ctx.load_zero();
    let (root, commitment) = chain(ctx, gate, chunks, &real, zero)?;
    let fp = blob::chip(range);
    let y = blob::close(ctx, &fp, &joined.segment, joined.end[0]);
    let [lo, hi] = blob::halves(ctx, &fp, &y);
    Some([old_root, root, commitment, z, joined.l1, lo, hi])
}

/// A reduced BLS12-381 element as the circuit's three 88-bit limbs, little end first.
fn bls_limbs(x: &BlsFr) -> [Fr; NUM_LIMBS] {
    let bytes = x.to_repr();
    let limb = |i: usize| {
        let mut repr = [0u8; 32];
        let bytes_per_limb = blob::LIMB_BITS / 8;
        let end = ((i + 1) * bytes_per_limb).min(32);
        repr[..end - i * bytes_per_limb].copy_from_slice(&bytes[i * bytes_per_limb..end]);
        Fr::from_repr(repr).into_option().unwrap_or_default()
    };
    [limb(0), limb(1), limb(2)]
}

/// A [`Summary`] natively: what a node's public inputs say after its chunks' five each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeSummary {
    /// Real chunks.
    pub real: usize,
    /// The stream's state before them.
    pub start: StreamState,
    /// The stream's state after them.
    pub end: StreamState,
    /// Their words of the blob polynomial.
    pub segment: rollup_protocol::blob::Segment,
    /// Their partial `Y_L1`.
    pub l1: Fr,
}

impl NativeSummary {
    /// What [`leaf`] exposes for the real chunks whose records are `records`, the stream starting at
    /// `start`, at the challenge `z`.
    pub fn of_leaf(records: &[Vec<Record>], start: StreamState, z: Fr) -> Option<NativeSummary> {
        let flat: Vec<Record> = records.iter().flatten().copied().collect();
        let bytes = encode_chunk(&flat).ok()?;
        let (segment, end) = rollup_protocol::blob::Segment::of(&start, &bytes, &embed(&z));
        Some(NativeSummary {
            real: records.len(),
            start,
            end,
            segment,
            l1: l1_evaluation(&flat, &z).ok()?,
        })
    }

    /// What [`join`] exposes for `parts` (the real children's summaries, in order, each but the
    /// last full: `chunks_each` chunks of `slots` slots), or `None` when they do not follow one
    /// another.
    pub fn join(
        parts: &[NativeSummary],
        chunks_each: usize,
        slots: usize,
        z: Fr,
    ) -> Option<NativeSummary> {
        let (first, rest) = parts.split_first()?;
        let step = z.pow_vartime([(3 * slots * chunks_each) as u64]);
        let mut joined = *first;
        let mut power = Fr::ONE;
        for (part, before) in rest.iter().zip(parts) {
            if before.real != chunks_each || part.start != joined.end {
                return None;
            }
            power *= step;
            joined = NativeSummary {
                real: joined.real + part.real,
                start: joined.start,
                end: part.end,
                segment: joined.segment.then(&part.segment),
                l1: joined.l1 + part.l1 * power,
            };
        }
        Some(joined)
    }

    /// The summary as a node's public inputs ([`Summary::inputs`]' order).
    pub fn inputs(&self) -> [Fr; SUMMARY_INPUTS] {
        let state = |s: &StreamState| [s.window_native(), Fr::from(s.fill as u64)];
        layout(
            Fr::from(self.real as u64),
            state(&self.start),
            state(&self.end),
            bls_limbs(&self.segment.value),
            bls_limbs(&self.segment.shift),
            self.l1,
        )
    }
}
