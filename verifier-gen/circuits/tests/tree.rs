//! The batch rules split across the aggregation tree ([`rollup_circuits::tree`]) under MockProver.
//! Every proof of the tree is laid out in one circuit here: a child's summary reaches its parent as
//! cells constrained equal to the child's (what verifying the child's proof gives the parent).
//! An honest tree gives the flat batch circuit's public inputs for the same batch, at every shape
//! (chunks split inside a word, padding chunks, padding nodes, two levels); and each way of
//! breaking it is refused: a stream that does not resume where the previous part ended, a first
//! part that does not start empty, a padding chunk counted as real, a real part after a part that
//! is not full, records other than a chunk's, a wrong binding.

use halo2_base::AssignedValue;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use rollup_circuits::Fr;
use rollup_circuits::batch::{BATCH_INPUTS, CHUNK_INPUTS};
use rollup_circuits::blob::chip;
use rollup_circuits::sample;
use rollup_circuits::tree::{NativeSummary, SUMMARY_INPUTS, Summary, constrain_over, join, leaf};
use rollup_protocol::Chunk;
use rollup_protocol::blob::StreamState;
use rollup_protocol::codec::{BatchBinding, Record};
use rollup_protocol::constants::RECORD_FIELDS;

const K: usize = 15;
/// Two slots: a deposit and a Noop per chunk of the sample history, 74 bytes, so that chunk
/// boundaries fall inside words.
const SLOTS: usize = 2;
const CHAIN_ID: u64 = 31337;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A level-1 node: its chunks (public inputs and records), which are real, where the stream
/// starts.
#[derive(Clone)]
struct Leaf {
    chunks: Vec<[Fr; CHUNK_INPUTS]>,
    records: Vec<Vec<[Fr; RECORD_FIELDS]>>,
    flags: Vec<bool>,
    start: [Fr; 2],
    /// The real chunks' records and the start, for the native summary.
    real: Vec<Vec<Record>>,
    state: StreamState,
}

/// A node above level 1: its children and which are real.
#[derive(Clone)]
enum Node {
    Leaf(Leaf),
    Join(Vec<Node>, Vec<bool>),
}

impl Node {
    fn chunks(&self) -> Vec<[Fr; CHUNK_INPUTS]> {
        match self {
            Node::Leaf(l) => l.chunks.clone(),
            Node::Join(parts, _) => parts.iter().flat_map(Node::chunks).collect(),
        }
    }

    /// Its summary as the core computes it (`NativeSummary`), if honest.
    fn native(&self) -> Option<NativeSummary> {
        let z = self.chunks()[0][3];
        match self {
            Node::Leaf(l) => NativeSummary::of_leaf(&l.real, l.state, z),
            Node::Join(parts, flags) => {
                let real: Vec<NativeSummary> = parts
                    .iter()
                    .zip(flags)
                    .filter(|(_, f)| **f)
                    .map(|(p, _)| p.native())
                    .collect::<Option<_>>()?;
                NativeSummary::join(&real, parts[0].chunks().len(), SLOTS, z)
            }
        }
    }
}

/// Lays out `node` and its children, each child's summary passed to its parent as a proof's
/// public inputs would be; returns the node's summary as its parent reloads it.
fn lay_out(
    ctx: &mut halo2_base::Context<Fr>,
    range: &halo2_base::gates::RangeChip<Fr>,
    node: &Node,
) -> Result<Summary> {
    let summary = match node {
        Node::Leaf(l) => {
            let chunks: Vec<_> = l
                .chunks
                .iter()
                .map(|c| c.map(|v| ctx.load_witness(v)))
                .collect();
            leaf(ctx, range, &chunks, &l.records, &l.flags, l.start, SLOTS).ok_or("leaf")?
        }
        Node::Join(parts, flags) => {
            let summaries = parts
                .iter()
                .map(|p| lay_out(ctx, range, p))
                .collect::<Result<Vec<_>>>()?;
            let z = ctx.load_witness(node.chunks()[0][3]);
            let each = parts[0].chunks().len();
            join(ctx, range, &summaries, flags, each, SLOTS, z).ok_or("join")?
        }
    };
    // The parent's copy of the child's public inputs.
    let exposed = summary.inputs();
    let copied: Vec<AssignedValue<Fr>> = exposed
        .iter()
        .map(|cell| {
            let copy = ctx.load_witness(*cell.value());
            ctx.constrain_equal(cell, &copy);
            copy
        })
        .collect();
    let copied: [AssignedValue<Fr>; SUMMARY_INPUTS] =
        copied.try_into().map_err(|_| "summary size")?;
    let fp = chip(range);
    Ok(Summary::load(ctx, &fp, &copied))
}

fn builder() -> BaseCircuitBuilder<Fr> {
    BaseCircuitBuilder::<Fr>::new(false)
        .use_k(K)
        .use_lookup_bits(K - 1)
        .use_instance_columns(1)
}

/// Whether MockProver accepts the batch circuit over `parts` (with `flags`) for `expected`; also
/// returns the advice cells of the batch circuit's own rules (the parts' excluded).
fn accepts(parts: &[Node], flags: &[bool], expected: [Fr; BATCH_INPUTS]) -> Result<(bool, usize)> {
    Ok(run(parts, flags, expected)?.0)
}

/// [`accepts`], and the summaries the parts expose.
#[allow(clippy::type_complexity)]
fn run(
    parts: &[Node],
    flags: &[bool],
    expected: [Fr; BATCH_INPUTS],
) -> Result<((bool, usize), Vec<Vec<Fr>>)> {
    let mut builder = builder();
    let range = builder.range_chip();
    let ctx = builder.main(0);
    let summaries = parts
        .iter()
        .map(|p| lay_out(ctx, &range, p))
        .collect::<Result<Vec<_>>>()?;
    let before = ctx.advice.len();
    let chunks: Vec<_> = parts
        .iter()
        .flat_map(Node::chunks)
        .map(|c| c.map(|v| ctx.load_witness(v)))
        .collect();
    let out = constrain_over(ctx, &range, &chunks, &summaries, flags, SLOTS).ok_or("no batch")?;
    let own = ctx.advice.len() - before;
    let exposed = summaries
        .iter()
        .map(|s| s.inputs().iter().map(|c| *c.value()).collect())
        .collect();
    builder.assigned_instances[0].extend(out);
    builder.calculate_params(Some(9));
    let prover = MockProver::run(K as u32, &builder, vec![expected.to_vec()])?;
    Ok(((prover.verify().is_ok(), own), exposed))
}

fn elements(records: &[Record]) -> Result<Vec<[Fr; RECORD_FIELDS]>> {
    Ok(records
        .iter()
        .map(Record::fields)
        .collect::<std::result::Result<_, _>>()?)
}

/// `n` chunks of the sample history bound as one batch, and the batch's public inputs.
fn batch(n: usize) -> Result<(Vec<Chunk>, [Fr; BATCH_INPUTS])> {
    let mut chunks = sample::history(SLOTS, CHAIN_ID)?[..n].to_vec();
    let b: BatchBinding = sample::bind_batch(&mut chunks)?;
    let first = chunks.first().ok_or("empty")?;
    let last = chunks.last().ok_or("empty")?;
    let expected = b.public_inputs(first.old_root, last.new_root);
    Ok((chunks, expected))
}

/// The pubdata of `chunks`.
fn bytes(chunks: &[Chunk]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for c in chunks {
        for r in &c.records {
            out.extend(r.encode()?);
        }
    }
    Ok(out)
}

/// The stream state before `chunks[at..]`, as a circuit takes it.
fn start(chunks: &[Chunk], at: usize) -> Result<[Fr; 2]> {
    let state = StreamState::after(&bytes(&chunks[..at])?);
    Ok([state.window_native(), Fr::from(state.fill as u64)])
}

/// A leaf over `chunks[of]` (those after the first real if `flags` says), its stream starting
/// after `chunks[..at]`.
fn leaf_over(chunks: &[Chunk], of: &[usize], flags: &[bool], at: usize) -> Result<Node> {
    let picked: Vec<&Chunk> = of.iter().map(|i| &chunks[*i]).collect();
    Ok(Node::Leaf(Leaf {
        chunks: picked.iter().map(|c| c.public_inputs()).collect(),
        records: picked
            .iter()
            .map(|c| elements(&c.records))
            .collect::<Result<_>>()?,
        flags: flags.to_vec(),
        start: start(chunks, at)?,
        real: picked
            .iter()
            .zip(flags)
            .filter(|(_, f)| **f)
            .map(|(c, _)| c.records.clone())
            .collect(),
        state: StreamState::after(&bytes(&chunks[..at])?),
    }))
}

/// A leaf over chunks `a` and `b` (`b` real if `second`), its stream starting after `chunks[..at]`.
fn pair(chunks: &[Chunk], a: usize, b: usize, second: bool, at: usize) -> Result<Node> {
    leaf_over(chunks, &[a, b], &[true, second], at)
}

/// Leaves of two chunks over `chunks` (the last padded with a copy of its chunk), honest.
fn leaves(chunks: &[Chunk]) -> Result<Vec<Node>> {
    (0..chunks.len())
        .step_by(2)
        .map(|at| {
            let second = at + 1 < chunks.len();
            pair(chunks, at, if second { at + 1 } else { at }, second, at)
        })
        .collect()
}

/// `nodes` padded to `n` with copies of the last, and the flags saying so.
fn padded(mut nodes: Vec<Node>, n: usize) -> Result<(Vec<Node>, Vec<bool>)> {
    let real = nodes.len();
    let last = nodes.last().ok_or("no nodes")?.clone();
    nodes.resize(n, last);
    Ok((nodes, (0..n).map(|i| i < real).collect()))
}

/// `parts` with leaf `i` changed by `change`.
fn with_leaf(parts: &[Node], i: usize, change: impl FnOnce(&mut Leaf)) -> Result<Vec<Node>> {
    let mut out = parts.to_vec();
    let Node::Leaf(mut leaf) = out[i].clone() else {
        return Err("not a leaf".into());
    };
    change(&mut leaf);
    out[i] = Node::Leaf(leaf);
    Ok(out)
}

#[test]
fn an_honest_tree_gives_the_flat_batch_circuits_inputs() -> Result<()> {
    for n in 1..=4 {
        let (chunks, expected) = batch(n)?;
        // Depth 1: a batch circuit of two leaves (capacity 4).
        let (parts, flags) = padded(leaves(&chunks)?, 2)?;
        let ((ok, own), exposed) = run(&parts, &flags, expected)?;
        assert!(ok, "{n} chunks under two leaves");
        // Each leaf exposes what the core computes of its chunks.
        for (part, values) in parts.iter().zip(&exposed) {
            let native = part.native().ok_or("an honest leaf")?;
            assert_eq!(&native.inputs().to_vec(), values, "{n} chunks");
        }
        // Leaves of one chunk, four of them at the top: every join checks the part just before.
        let singles: Vec<Node> = (0..n)
            .map(|i| leaf_over(&chunks, &[i], &[true], i))
            .collect::<Result<_>>()?;
        let (parts, flags) = padded(singles, 4)?;
        assert!(
            accepts(&parts, &flags, expected)?.0,
            "{n} chunks in single leaves"
        );
        eprintln!(
            "batch circuit over 2 leaves of 2 x {SLOTS}-slot chunks: {own} advice cells of its own"
        );
        // Depth 2: one level-2 node over the leaves, and a padding copy of it (capacity 8).
        let (inner, inner_flags) = padded(leaves(&chunks)?, 2)?;
        let top = Node::Join(inner, inner_flags);
        let native = top.native().ok_or("an honest node")?;
        let (parts, flags) = padded(vec![top], 2)?;
        let ((ok, _), exposed) = run(&parts, &flags, expected)?;
        assert!(ok, "{n} chunks at depth 2");
        assert_eq!(
            native.inputs().to_vec(),
            exposed[0],
            "{n} chunks at depth 2"
        );
    }
    Ok(())
}

#[test]
fn a_leaf_costs_per_slot_and_the_batch_circuit_does_not() -> Result<()> {
    let (chunks, expected) = batch(4)?;
    let (parts, flags) = padded(leaves(&chunks)?, 2)?;
    let mut builder = builder();
    let range = builder.range_chip();
    let ctx = builder.main(0);
    lay_out(ctx, &range, &parts[0])?;
    let per_leaf = ctx.advice.len();
    eprintln!(
        "a leaf of 2 x {SLOTS} slots: {per_leaf} advice cells, {} per slot",
        per_leaf / (2 * SLOTS)
    );
    let (ok, own) = accepts(&parts, &flags, expected)?;
    assert!(ok);
    // The batch circuit's own rules: joins, chains, the close; no record, so far fewer cells than
    // the leaves' (which grow with the slots).
    assert!(
        own < per_leaf,
        "{own} cells at the top, {per_leaf} per leaf"
    );
    Ok(())
}

#[test]
fn a_stream_that_does_not_resume_where_the_last_part_ended_is_refused() -> Result<()> {
    let (chunks, expected) = batch(4)?;
    let (parts, flags) = padded(leaves(&chunks)?, 2)?;
    assert_ne!(
        start(&chunks, 2)?,
        [Fr::ZERO; 2],
        "chunk 2 starts inside a word"
    );
    // The second leaf starts from an empty word, as if it were the batch's first.
    let restarted = with_leaf(&parts, 1, |l| l.start = [Fr::ZERO; 2])?;
    assert!(
        !accepts(&restarted, &flags, expected)?.0,
        "restarted stream"
    );
    // The right fill with another window.
    let other = with_leaf(&parts, 1, |l| l.start[0] += Fr::ONE)?;
    assert!(!accepts(&other, &flags, expected)?.0, "another open word");
    Ok(())
}

#[test]
fn a_first_part_that_does_not_start_empty_is_refused() -> Result<()> {
    let (chunks, expected) = batch(2)?;
    let (parts, flags) = padded(leaves(&chunks)?, 2)?;
    let parts = with_leaf(&parts, 0, |l| {
        l.start = [Fr::from(0xabu64) * Fr::from(256).pow_vartime([30]), Fr::ONE];
    })?;
    assert!(!accepts(&parts, &flags, expected)?.0);
    Ok(())
}

#[test]
fn a_padding_chunk_counted_as_real_is_refused() -> Result<()> {
    let (chunks, expected) = batch(3)?;
    let (parts, flags) = padded(leaves(&chunks)?, 2)?;
    // Leaf 1 is chunk 2 and a copy of it; flagging the copy real streams chunk 2 twice and makes
    // it a fourth chunk of the batch, which does not start from its own new root.
    let parts = with_leaf(&parts, 1, |l| l.flags = vec![true, true])?;
    assert!(!accepts(&parts, &flags, expected)?.0);
    Ok(())
}

#[test]
fn a_real_part_after_one_that_is_not_full_is_refused() -> Result<()> {
    // Chunks 0, 1, 2 as leaves [0, copy] and [1, 2]: every stream and root chains, but the real
    // chunks are not the first three of the flat list, so the batch circuit's rules would skip
    // a gap.
    let (chunks, expected) = batch(3)?;
    let parts = vec![
        pair(&chunks, 0, 0, false, 0)?,
        pair(&chunks, 1, 2, true, 1)?,
    ];
    assert!(!accepts(&parts, &[true, true], expected)?.0);
    Ok(())
}

#[test]
fn records_other_than_a_chunks_are_refused() -> Result<()> {
    let (chunks, expected) = batch(4)?;
    let (parts, flags) = padded(leaves(&chunks)?, 2)?;
    let parts = with_leaf(&parts, 1, |l| l.records[1][0][1] += Fr::ONE)?;
    assert!(!accepts(&parts, &flags, expected)?.0);
    Ok(())
}

#[test]
fn a_wrong_binding_is_refused() -> Result<()> {
    let (chunks, expected) = batch(3)?;
    let (parts, flags) = padded(leaves(&chunks)?, 2)?;
    for i in 0..BATCH_INPUTS {
        let mut wrong = expected;
        wrong[i] += Fr::ONE;
        assert!(!accepts(&parts, &flags, wrong)?.0, "batch input {i}");
    }
    // The batch of the first two chunks only.
    let (_, shorter) = batch(2)?;
    assert!(!accepts(&parts, &flags, shorter)?.0);
    Ok(())
}
