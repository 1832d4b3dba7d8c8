//! The batch rules: what makes a batch's chunk proofs one batch, as constraints on their public
//! inputs (`docs/protocol.md`, section 7, "Batches").
//!
//! The batch circuit (`rollup_prover::batch`) verifies up to a fixed number of chunk proofs with
//! snark-verifier and hands their public inputs, now witnesses of its own, to [`constrain`] with the
//! chunks' records: the chunks chain their roots and share the batch's challenge, the records hash
//! to the chunks' commitments, and the batch's binding `(C_B, z, Y_L1, y)` follows: the commitment
//! chain, the evaluation of the records L1 acts on, and the blob polynomial of all of them
//! ([`crate::blob`]). With the first old root and the last new root these are the batch proof's
//! public inputs after the accumulator. A batch holds 1 to `capacity` chunks: the chunks after the
//! `m` real ones are padding (any valid chunk proof, in practice the last real one again) and
//! [`constrain`] ignores their public inputs and records entirely, so that they change nothing;
//! which chunks are real is a witness (a monotone run of ones), bound by the binding (see the
//! soundness argument in the spec).
//!
//! Written on halo2-base's gate, with the protocol's Poseidon2 ([`permute`]) laid out as plain
//! gate operations: a batch hashes at most `MAX_CHUNKS_PER_BATCH` pairs, a few thousand cells next
//! to the millions of the proof verification.

use halo2_base::gates::{GateChip, GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use rollup_protocol::codec::{
    BatchBinding, CHALLENGE_BITS, Record, batch_commitment, data_commitment,
};
use rollup_protocol::constants::{
    POSEIDON_RATE, POSEIDON_WIDTH, RECORD_FIELDS, TAG_BATCH, TAG_DATA,
};
use rollup_protocol::poseidon;
use rollup_protocol::tx::TxType;

use crate::Fr;
use crate::blob::{self, Dense};

/// Public inputs of a chunk proof: `old_root, new_root, C, z, y`.
pub const CHUNK_INPUTS: usize = 5;

/// The batch's public inputs after the accumulator: `old_root, new_root, C_B, z, Y_L1, y_lo,
/// y_hi`.
pub use rollup_protocol::constants::BATCH_INPUTS;

type State = [AssignedValue<Fr>; POSEIDON_WIDTH];

/// The protocol's Poseidon2 permutation ([`rollup_protocol::poseidon::permute`]) in gate
/// operations.
pub fn permute(ctx: &mut Context<Fr>, gate: &GateChip<Fr>, state: State) -> State {
    let mut state = external_layer(ctx, gate, state);
    for (r, c) in poseidon::params().round_constants.iter().enumerate() {
        if poseidon::is_full_round(r) {
            let [a, b, d] = state;
            let sboxed = [(a, c[0]), (b, c[1]), (d, c[2])].map(|(s, c)| sbox(ctx, gate, s, c));
            state = external_layer(ctx, gate, sboxed);
        } else {
            let [a, b, d] = state;
            let a = sbox(ctx, gate, a, c[0]);
            // M_I = J + diag(1, 1, 2): every element plus the sum, element 2 doubled first.
            let sum = gate.sum(ctx, [a, b, d]);
            state = [
                gate.add(ctx, a, sum),
                gate.add(ctx, b, sum),
                gate.mul_add(ctx, d, Constant(Fr::from(2)), sum),
            ];
        }
    }
    state
}

/// `(x + c)^5`.
fn sbox(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    x: AssignedValue<Fr>,
    c: Fr,
) -> AssignedValue<Fr> {
    let t = gate.add(ctx, x, Constant(c));
    let t2 = gate.mul(ctx, t, t);
    let t4 = gate.mul(ctx, t2, t2);
    gate.mul(ctx, t4, t)
}

/// `M_E = circ(2, 1, 1)`: every element plus the sum of all three.
fn external_layer(ctx: &mut Context<Fr>, gate: &GateChip<Fr>, state: State) -> State {
    let sum = gate.sum(ctx, state);
    state.map(|s| gate.add(ctx, s, sum))
}

/// The protocol's 2-to-1 hash under `tag` ([`rollup_protocol::poseidon::hash2`]).
pub fn hash2(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    tag: u64,
    a: AssignedValue<Fr>,
    b: AssignedValue<Fr>,
) -> AssignedValue<Fr> {
    let capacity = ctx.load_constant(poseidon::capacity(tag, 2));
    let [_, out, _] = permute(ctx, gate, [capacity, a, b]);
    out
}

/// The protocol's sponge under `tag` ([`rollup_protocol::poseidon::hash`]) over a fixed number of
/// inputs.
pub fn hash(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    tag: u64,
    inputs: &[AssignedValue<Fr>],
) -> AssignedValue<Fr> {
    let capacity = ctx.load_constant(poseidon::capacity(tag, inputs.len()));
    let zero = ctx.load_zero();
    let mut state = [capacity, zero, zero];
    if inputs.is_empty() {
        state = permute(ctx, gate, state);
    }
    for pair in inputs.chunks(POSEIDON_RATE) {
        state[1] = gate.add(ctx, state[1], pair[0]);
        if let Some(b) = pair.get(1) {
            state[2] = gate.add(ctx, state[2], *b);
        }
        state = permute(ctx, gate, state);
    }
    state[1]
}

/// Constrains `chunks` (each chunk proof's public inputs, in batch order; the first `real` are the
/// batch's chunks, the rest padding) and `records` (each chunk's records as their three elements,
/// `slots` per chunk; a padding chunk's are ignored) to be one batch of chunks of `slots` slots,
/// and returns the batch's public inputs `[old_root, new_root, C_B, z, Y_L1, y_lo, y_hi]`:
///
/// - chunk 0 is real, and a chunk after a padding chunk is padding (the flags are a witness);
/// - each real chunk after the first starts from the previous chunk's new root, and has the
///   batch's challenge `z` (chunk 0's);
/// - each real chunk's records hash to its data commitment `Cᵢ = H(TAG_DATA; elements)`, so they
///   are the records its proof executed;
/// - `C_B` is the chain `h₀ = 0`, `hᵢ = hash2(TAG_BATCH, hᵢ₋₁, Cᵢ)` over the real chunks;
/// - `Y_L1 = Σ_t (f₀ + f₁z + f₂z²)·z^(3t)` over the slots `t` of the real chunks whose records
///   L1 acts on (deposits, withdrawals, forced exits, key changes);
/// - `y = y_lo + y_hi·2¹⁷⁶` is the blob polynomial of the real chunks' records back to back at
///   `z` modulo BLS12-381's `r` ([`crate::blob`]), reduced, and `z < 2²⁵³`;
/// - `new_root` is the last real chunk's new root.
///
/// `real` is clamped to `1 ..= chunks.len()`: it only sets the witness, and the constraints, the
/// same for every `real`, are what key generation sees. Returns `None` for no chunks, or records
/// not `slots` per chunk for every chunk.
pub fn constrain(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    chunks: &[[AssignedValue<Fr>; CHUNK_INPUTS]],
    records: &[Vec<[Fr; RECORD_FIELDS]>],
    real: usize,
    slots: usize,
) -> Option<[AssignedValue<Fr>; BATCH_INPUTS]> {
    let real = real.clamp(1, chunks.len().max(1));
    let flags: Vec<bool> = (0..chunks.len()).map(|i| i < real).collect();
    constrain_flags(ctx, range, chunks, records, &flags, slots)
}

/// [`constrain`] with the flags given one by one (`flags[i]`: chunk `i` is real), for tests that
/// try flags `constrain` never sets. Chunk 0's flag is the constant 1 whatever `flags[0]` says;
/// the others are witnesses, constrained as [`constrain`] says.
pub fn constrain_flags(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    chunks: &[[AssignedValue<Fr>; CHUNK_INPUTS]],
    records: &[Vec<[Fr; RECORD_FIELDS]>],
    flags: &[bool],
    slots: usize,
) -> Option<[AssignedValue<Fr>; BATCH_INPUTS]> {
    let gate = range.gate();
    if records.len() != chunks.len() || records.iter().any(|r| r.len() != slots) {
        return None;
    }
    let (first, _) = chunks.split_first()?;
    let [old_root, _, _, z, _] = *first;
    let one = ctx.load_constant(Fr::ONE);
    let zero = ctx.load_zero();
    let flags = monotone_flags(ctx, gate, one, flags, chunks.len());
    let (root, chain) = chain(ctx, gate, chunks, &flags, zero)?;
    let (l1, dense) = absorb(ctx, range, chunks, &flags, records, z, one, zero, None);
    let fp = blob::chip(range);
    let z_blob = blob::load_integer(ctx, &fp, z, CHALLENGE_BITS);
    let coefficients = dense.finish(ctx);
    let y = blob::evaluate(ctx, &fp, &z_blob, &coefficients);
    let [lo, hi] = blob::halves(ctx, &fp, &y);
    Some([old_root, root, chain, z, l1, lo, hi])
}

/// `n` flags saying which chunks (or nodes) are real: the first the constant `one`, each other a
/// witness bit (`witness[i]`, false if absent) at most the one before, so that the real ones come
/// first.
pub(crate) fn monotone_flags(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    one: AssignedValue<Fr>,
    witness: &[bool],
    n: usize,
) -> Vec<AssignedValue<Fr>> {
    let mut flags = vec![one];
    for i in 1..n {
        let flag = ctx.load_witness(Fr::from(u64::from(
            witness.get(i).copied().unwrap_or(false),
        )));
        gate.assert_bit(ctx, flag);
        // flag ≤ previous flag: flag · (1 − previous) = 0.
        let previous = flags[i - 1];
        let broken = gate.mul_not(ctx, previous, flag);
        gate.assert_is_const(ctx, &broken, &Fr::ZERO);
        flags.push(flag);
    }
    flags
}

/// The rules between chunks, over the real ones (`flags`; chunk 0 is real): each starts from the
/// previous one's new root and has chunk 0's challenge. Returns the last real chunk's new root and
/// the commitment chain `C_B`.
pub(crate) fn chain(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    chunks: &[[AssignedValue<Fr>; CHUNK_INPUTS]],
    flags: &[AssignedValue<Fr>],
    zero: AssignedValue<Fr>,
) -> Option<(AssignedValue<Fr>, AssignedValue<Fr>)> {
    let (first, rest) = chunks.split_first()?;
    let [_, mut root, commitment, z, _] = *first;
    for (chunk, flag) in rest.iter().zip(flags.get(1..)?) {
        let [old, new, _, challenge, _] = *chunk;
        for (a, b) in [(old, root), (challenge, z)] {
            let diff = gate.sub(ctx, a, b);
            let gated = gate.mul(ctx, diff, *flag);
            gate.assert_is_const(ctx, &gated, &Fr::ZERO);
        }
        root = gate.select(ctx, new, root, *flag);
    }
    let mut chain = hash2(ctx, gate, TAG_BATCH, zero, commitment);
    for (chunk, flag) in rest.iter().zip(flags.get(1..)?) {
        let next = hash2(ctx, gate, TAG_BATCH, chain, chunk[2]);
        chain = gate.select(ctx, next, chain, *flag);
    }
    Some((root, chain))
}

/// Each real chunk's records (`flags`): hashed to its commitment, streamed into the blob from
/// `start` (the stream's state before them; empty if `None`), and those L1 acts on evaluated at
/// `z`, the first chunk's first slot counted as slot 0. Returns that evaluation and the stream.
#[allow(clippy::too_many_arguments)]
pub(crate) fn absorb(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    chunks: &[[AssignedValue<Fr>; CHUNK_INPUTS]],
    flags: &[AssignedValue<Fr>],
    records: &[Vec<[Fr; RECORD_FIELDS]>],
    z: AssignedValue<Fr>,
    one: AssignedValue<Fr>,
    zero: AssignedValue<Fr>,
    start: Option<[AssignedValue<Fr>; 2]>,
) -> (AssignedValue<Fr>, Dense) {
    let gate = range.gate();
    let z2 = gate.mul(ctx, z, z);
    let z3 = gate.mul(ctx, z2, z);
    let mut power = one;
    let mut l1 = zero;
    let mut dense = match start {
        None => Dense::new(ctx),
        Some([window, fill]) => Dense::resume(ctx, range, window, fill),
    };
    for ((chunk, flag), values) in chunks.iter().zip(flags).zip(records) {
        let loaded: Vec<[AssignedValue<Fr>; RECORD_FIELDS]> = values
            .iter()
            .map(|r| r.map(|e| ctx.load_witness(e)))
            .collect();
        let elements: Vec<AssignedValue<Fr>> = loaded.iter().flatten().copied().collect();
        let commitment = hash(ctx, gate, TAG_DATA, &elements);
        let diff = gate.sub(ctx, commitment, chunk[2]);
        let gated = gate.mul(ctx, diff, *flag);
        gate.assert_is_const(ctx, &gated, &Fr::ZERO);
        for record in loaded {
            let kind = dense.push(ctx, range, record, *flag);
            let acts: Vec<_> = TxType::ALL
                .iter()
                .zip(kind)
                .filter(|(t, _)| t.acts_on_l1())
                .map(|(_, k)| k)
                .collect();
            // A padding chunk's slots are Noops to the stream: `acts` is 0 there.
            let acts = gate.sum(ctx, acts);
            let [f0, f1, f2] = record;
            let at_z = gate.mul_add(ctx, f2, z, f1);
            let at_z = gate.mul_add(ctx, at_z, z, f0);
            let term = gate.mul(ctx, at_z, power);
            l1 = gate.mul_add(ctx, term, acts, l1);
            power = gate.mul(ctx, power, z3);
        }
    }
    (l1, dense)
}

/// What [`constrain`] computes, natively: the batch public inputs
/// `[old_root, new_root, C_B, z, Y_L1, y_lo, y_hi]` of chunks whose proofs have public inputs
/// `chunks` and whose records are `records` (all real, in batch order), or `None` when they are
/// not one batch (no chunks, a root that does not chain, another challenge, records that are not
/// `slots` per chunk or not the ones a chunk's commitment names). Provers check a batch with it
/// before spending minutes on a proof the circuit would not accept.
pub fn fold(
    chunks: &[[Fr; CHUNK_INPUTS]],
    records: &[impl AsRef<[Record]>],
    slots: usize,
) -> Option<[Fr; BATCH_INPUTS]> {
    let first = chunks.first()?;
    let last = chunks.last()?;
    let z = first[3];
    for pair in chunks.windows(2) {
        if pair[1][0] != pair[0][1] || pair[1][3] != z {
            return None;
        }
    }
    if records.len() != chunks.len() {
        return None;
    }
    let records: Vec<&[Record]> = records.iter().map(AsRef::as_ref).collect();
    for (chunk, records) in chunks.iter().zip(&records) {
        if records.len() != slots || data_commitment(records).ok()? != chunk[2] {
            return None;
        }
    }
    let commitments: Vec<Fr> = chunks.iter().map(|c| c[2]).collect();
    let binding = BatchBinding::at(&records, batch_commitment(&commitments), z).ok()?;
    Some(binding.public_inputs(first[0], last[1]))
}
