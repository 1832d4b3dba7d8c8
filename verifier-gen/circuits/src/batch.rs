//! The batch rules: what makes a batch's chunk proofs one batch, as constraints on their public
//! inputs (`docs/protocol.md`, section 7, "Batches").
//!
//! The batch circuit (`rollup_prover::batch`) verifies up to a fixed number of chunk proofs with
//! snark-verifier and hands their public inputs, now witnesses of its own, to [`constrain`]: the
//! chunks chain their roots, share the batch's challenge, and their commitments and evaluations
//! fold into the batch's binding `(C_B, z, Y)`, which with the first old root and the last new root
//! are the batch proof's public inputs after the accumulator. A batch holds 1 to
//! `capacity` chunks: the chunks after the `m` real ones are padding (any valid chunk proof, in
//! practice the last real one again) and [`constrain`] ignores their public inputs entirely, so that
//! they change nothing; which chunks are real is a witness (a monotone run of ones), bound by the
//! binding (see the soundness argument in the spec).
//!
//! Written on halo2-base's gate, with the protocol's Poseidon2 ([`permute`]) laid out as plain
//! gate operations: a batch hashes at most `MAX_CHUNKS_PER_BATCH` pairs, a few thousand cells next
//! to the millions of the proof verification.

use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use rollup_protocol::constants::{POSEIDON_RATE, POSEIDON_WIDTH, RECORD_FIELDS, TAG_BATCH};
use rollup_protocol::poseidon;

use crate::Fr;

/// Public inputs of a chunk proof: `old_root, new_root, C, z, y`.
pub const CHUNK_INPUTS: usize = 5;

/// The batch's public inputs after the accumulator: `old_root, new_root, C_B, z, Y`.
pub const BATCH_INPUTS: usize = 5;

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

/// `x^e` for a constant `e` (square and multiply).
fn pow_constant(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    x: AssignedValue<Fr>,
    e: u64,
) -> AssignedValue<Fr> {
    let mut acc = ctx.load_constant(Fr::ONE);
    for bit in (0..u64::BITS - e.leading_zeros()).rev() {
        acc = gate.mul(ctx, acc, acc);
        if e >> bit & 1 == 1 {
            acc = gate.mul(ctx, acc, x);
        }
    }
    acc
}

/// Constrains `chunks` (each chunk proof's public inputs, in batch order; the first `real` are the
/// batch's chunks, the rest padding) to be one batch of chunks of `slots` slots, and returns the
/// batch's public inputs `[old_root, new_root, C_B, z, Y]`:
///
/// - chunk 0 is real, and a chunk after a padding chunk is padding (the flags are a witness);
/// - each real chunk after the first starts from the previous chunk's new root, and has the
///   batch's challenge `z` (chunk 0's);
/// - `C_B` is the chain `h₀ = 0`, `hᵢ = hash2(TAG_BATCH, hᵢ₋₁, Cᵢ)` over the real chunks;
/// - `Y = Σᵢ yᵢ · z^(n·i)` over the real chunks, `n = 3 · slots` elements per chunk: the evaluation
///   at `z` of the batch's elements, chunk after chunk, as one polynomial;
/// - `new_root` is the last real chunk's new root.
///
/// `real` is clamped to `1 ..= chunks.len()`: it only sets the witness, and the constraints, the
/// same for every `real`, are what key generation sees. Returns `None` for no chunks.
pub fn constrain(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    chunks: &[[AssignedValue<Fr>; CHUNK_INPUTS]],
    real: usize,
    slots: usize,
) -> Option<[AssignedValue<Fr>; BATCH_INPUTS]> {
    let real = real.clamp(1, chunks.len().max(1));
    let flags: Vec<bool> = (0..chunks.len()).map(|i| i < real).collect();
    constrain_flags(ctx, gate, chunks, &flags, slots)
}

/// [`constrain`] with the flags given one by one (`flags[i]`: chunk `i` is real), for tests that
/// try flags `constrain` never sets. Chunk 0's flag is the constant 1 whatever `flags[0]` says;
/// the others are witnesses, constrained as [`constrain`] says.
pub fn constrain_flags(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    chunks: &[[AssignedValue<Fr>; CHUNK_INPUTS]],
    flags: &[bool],
    slots: usize,
) -> Option<[AssignedValue<Fr>; BATCH_INPUTS]> {
    let (first, rest) = chunks.split_first()?;
    let [old_root, mut root, first_c, z, _] = *first;
    let one = ctx.load_constant(Fr::ONE);
    let zero = ctx.load_zero();

    // Flags: chunk 0 is real; real chunks come first.
    let witness = flags;
    let mut flags = vec![one];
    for i in 1..chunks.len() {
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

    // Roots and the shared challenge.
    for (chunk, flag) in rest.iter().zip(&flags[1..]) {
        let [old, new, _, challenge, _] = *chunk;
        for (a, b) in [(old, root), (challenge, z)] {
            let diff = gate.sub(ctx, a, b);
            let gated = gate.mul(ctx, diff, *flag);
            gate.assert_is_const(ctx, &gated, &Fr::ZERO);
        }
        root = gate.select(ctx, new, root, *flag);
    }

    // The commitment chain.
    let mut chain = hash2(ctx, gate, TAG_BATCH, zero, first_c);
    for (chunk, flag) in rest.iter().zip(&flags[1..]) {
        let next = hash2(ctx, gate, TAG_BATCH, chain, chunk[2]);
        chain = gate.select(ctx, next, chain, *flag);
    }

    // The evaluation, by Horner's rule over chunks from the last: acc ← flag · (y + zⁿ · acc).
    let n = (RECORD_FIELDS * slots) as u64;
    let z_n = pow_constant(ctx, gate, z, n);
    let mut evaluation = zero;
    for (chunk, flag) in chunks.iter().zip(&flags).rev() {
        let folded = gate.mul_add(ctx, z_n, evaluation, chunk[4]);
        evaluation = gate.mul(ctx, folded, *flag);
    }
    Some([old_root, root, chain, z, evaluation])
}

/// What [`constrain`] computes, natively: the batch public inputs `[old_root, new_root, C_B, z, Y]`
/// of chunks whose proofs have public inputs `chunks` (all real, in batch order), or `None` when
/// they are not one batch (no chunks, a root that does not chain, another challenge). Provers check
/// a batch with it before spending minutes on a proof the circuit would not accept.
pub fn fold(chunks: &[[Fr; CHUNK_INPUTS]], slots: usize) -> Option<[Fr; BATCH_INPUTS]> {
    let first = chunks.first()?;
    let last = chunks.last()?;
    let z = first[3];
    for pair in chunks.windows(2) {
        if pair[1][0] != pair[0][1] || pair[1][3] != z {
            return None;
        }
    }
    let commitments: Vec<Fr> = chunks.iter().map(|c| c[2]).collect();
    let z_n = z.pow_vartime([(RECORD_FIELDS * slots) as u64]);
    let evaluation = chunks
        .iter()
        .rev()
        .fold(Fr::ZERO, |acc, c| c[4] + z_n * acc);
    Some([
        first[0],
        last[1],
        rollup_protocol::codec::batch_commitment(&commitments),
        z,
        evaluation,
    ])
}
