//! The proof coordinator without a circuit: sealed chunks wait for their batch, chunk tasks then the
//! batch task move from queued to proven, an artifact that proves other inputs or does not verify
//! is refused and retried, a backend that keeps failing stops the operator after `MAX_ATTEMPTS`,
//! and stored artifacts survive a restart at any stage (a stored proof of another batch, or under
//! a key since replaced, does not).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use alloy_primitives::Address;
use rollup_operator::batches::{Batch, BatchStatus};
use rollup_operator::coordinator::{Coordinator, MAX_ATTEMPTS, TaskState};
use rollup_operator::store::Store;
use rollup_protocol::codec::BatchBinding;
use rollup_protocol::constants::BATCH_INPUTS;
use rollup_protocol::eddsa::Point;
use rollup_protocol::tx::Deposit;
use rollup_protocol::{Chunk, Config, Fr, State, Tx};
use rollup_prover::{Backend, ProofArtifact, ProofKind, ProofTask};

use rollup_test_utils::FakeBackend as Fake;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Two sealed one-slot chunks, in order.
fn chunks() -> Result<[Chunk; 2]> {
    let [a, b, _] = three_chunks()?;
    Ok([a, b])
}

/// Three sealed one-slot chunks, in order.
fn three_chunks() -> Result<[Chunk; 3]> {
    let core = Config {
        chain_id: 5,
        chunk_slots: 1,
    };
    let mut state = State::new(core);
    let deposit = |id: u32| {
        Tx::Deposit(Deposit {
            account_id: id,
            owner: Address::repeat_byte(1),
            token: 0,
            amount: 0,
            pubkey: Point::NONE,
        })
    };
    Ok([
        state.apply_chunk(&[deposit(0)])?,
        state.apply_chunk(&[deposit(1)])?,
        state.apply_chunk(&[deposit(2)])?,
    ])
}

/// Batch `index` of `n` chunks from `first`, and its binding.
fn batch(index: u64, first: u64, chunks: &[Chunk]) -> Result<(Batch, BatchBinding)> {
    let records: Vec<&[_]> = chunks.iter().map(|c| c.records.as_slice()).collect();
    Ok((
        Batch {
            index,
            first_chunk: first,
            chunks: chunks.len() as u64,
            status: BatchStatus::Proposed,
            finalize_latency_ms: None,
            blob: None,
        },
        BatchBinding::of(&records)?,
    ))
}

fn store(name: &str) -> Result<Arc<Store>> {
    let dir = std::env::temp_dir().join(format!("coordinator-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Arc::new(Store::open(&dir.join("db.redb"))?))
}

/// What a misbehaving backend does wrong.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// `prove` fails.
    Fails,
    /// The artifact proves other public inputs.
    OtherInputs,
    /// The artifact does not verify.
    Unverifiable,
}

#[derive(Debug)]
struct Broken {
    fault: Fault,
    calls: AtomicU32,
}

impl Backend for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn params_digest(&self) -> [u8; 32] {
        [0; 32]
    }
    fn vk_digest(&self, _: ProofKind) -> Option<[u8; 32]> {
        Some([7; 32])
    }
    fn prove(&self, task: &ProofTask) -> rollup_prover::Result<ProofArtifact> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut inputs = task.public_inputs();
        match self.fault {
            Fault::Fails => {
                return Err(rollup_prover::ProverError::Halo2("out of memory".into()));
            }
            Fault::OtherInputs => inputs[1] += Fr::from(1u64),
            Fault::Unverifiable => {}
        }
        Ok(ProofArtifact {
            kind: task.kind(),
            public_inputs: inputs,
            proof: vec![1; 8],
            vk_digest: [7; 32],
        })
    }
    fn verify(&self, _: &ProofArtifact) -> rollup_prover::Result<bool> {
        Ok(false)
    }
}

#[tokio::test]
async fn chunks_wait_for_their_batch_then_the_batch_is_proven_once_across_restarts() -> Result {
    let db = store("ok")?;
    let [c0, c1] = chunks()?;
    let (b, binding) = batch(1, 0, &[c0.clone(), c1.clone()])?;
    let roots = (c0.old_root, c1.new_root);
    let c = Coordinator::new(db.clone(), Arc::new(Fake));
    c.submit_chunk(0, c0.clone())?;
    c.submit_chunk(1, c1.clone())?;
    assert_eq!(
        c.counts().queued,
        0,
        "a chunk waits for its batch's challenge"
    );
    assert!(!c.run_next().await?);
    c.schedule(&b, &binding)?;
    assert_eq!(c.counts().queued, 2, "both chunks, for aggregation");
    assert!(c.run_next().await?);
    assert!(c.run_next().await?);
    let a = c
        .artifact(ProofKind::RecursiveChunk, 1)?
        .ok_or("no chunk artifact")?;
    assert_eq!(a.kind, ProofKind::RecursiveChunk);
    assert_eq!(
        a.public_inputs[3], binding.challenge,
        "the batch's challenge"
    );
    assert!(
        c.batch_proof(&b, &binding, roots)?.is_none(),
        "no batch proof yet"
    );

    // Killed after the chunk proofs, before the batch proof: only the batch task is left.
    let restarted = Coordinator::new(db.clone(), Arc::new(Fake));
    restarted.submit_chunk(0, c0.clone())?;
    restarted.submit_chunk(1, c1.clone())?;
    restarted.schedule(&b, &binding)?;
    assert_eq!(
        restarted.counts().queued,
        0,
        "stored chunk proofs are not made again"
    );
    assert!(restarted.run_next().await?, "the batch task");
    assert!(!restarted.run_next().await?, "nothing left");
    assert_eq!(
        restarted.state((ProofKind::Batch, 1)),
        Some(TaskState::Proven)
    );
    assert!(restarted.ready_at(1).is_some());
    let proof = restarted
        .batch_proof(&b, &binding, roots)?
        .ok_or("no batch proof")?;
    assert_eq!(
        proof.public_inputs[rollup_prover::batch::ACCUMULATOR_INPUTS..][..BATCH_INPUTS],
        binding.public_inputs(roots.0, roots.1)
    );
    assert!(
        restarted
            .batch_proof(&b, &binding, (roots.1, roots.0))?
            .is_none(),
        "a stored proof is given only for the roots it proves"
    );

    // After the batch proof: nothing at all.
    let again = Coordinator::new(db.clone(), Arc::new(Fake));
    again.submit_chunk(0, c0.clone())?;
    again.submit_chunk(1, c1.clone())?;
    again.schedule(&b, &binding)?;
    assert!(
        !again.run_next().await?,
        "a stored batch proof is not made again"
    );

    // Governance replaced the keys (with the verifier behind them): proofs stored under the old keys
    // verify against nothing on L1, so every one is made again under the new ones.
    let rekeyed_backend = Arc::new(Rekeyed);
    let rekeyed = Coordinator::new(db, rekeyed_backend.clone());
    assert!(
        rekeyed.batch_proof(&b, &binding, roots)?.is_none(),
        "a batch proof under the old key is not handed to the submitter"
    );
    rekeyed.submit_chunk(0, c0)?;
    rekeyed.submit_chunk(1, c1)?;
    rekeyed.schedule(&b, &binding)?;
    assert_eq!(rekeyed.counts().queued, 2, "both chunk proofs again");
    for _ in 0..3 {
        assert!(rekeyed.run_next().await?);
    }
    assert!(!rekeyed.run_next().await?);
    let proof = rekeyed
        .batch_proof(&b, &binding, roots)?
        .ok_or("no batch proof under the new key")?;
    assert_eq!(proof.vk_digest, REKEYED);
    Ok(())
}

/// A revert re-forms a batch: a chunk proof stored for the old batch (made at its challenge) is not
/// the new batch's. It is proven again, and the batch task waits for it: it is never queued with the
/// stale proof, even when the batch's other chunk proofs are stored first.
#[tokio::test]
async fn a_chunk_proof_of_another_batch_is_made_again_before_the_batch_proof() -> Result {
    let db = store("revert")?;
    let [c0, c1] = chunks()?;
    // Chunk 1 was batched alone (batch 1, its challenge), then reverted.
    let (alone, alone_binding) = batch(1, 1, std::slice::from_ref(&c1))?;
    let before = Coordinator::new(db.clone(), Arc::new(Fake));
    before.submit_chunk(1, c1.clone())?;
    before.schedule(&alone, &alone_binding)?;
    assert!(before.run_next().await?, "chunk 1 at the old challenge");
    let stale = before
        .artifact(ProofKind::RecursiveChunk, 1)?
        .ok_or("no chunk artifact")?;
    assert_eq!(stale.public_inputs[3], alone_binding.challenge);

    // Batch 1 is now chunks 0 and 1.
    let (b, binding) = batch(1, 0, &[c0.clone(), c1.clone()])?;
    assert_ne!(binding.challenge, alone_binding.challenge);
    let after = Coordinator::new(db, Arc::new(Fake));
    after.submit_chunk(0, c0)?;
    after.submit_chunk(1, c1)?;
    after.schedule(&b, &binding)?;
    assert_eq!(after.counts().queued, 2, "chunk 0, and chunk 1 again");
    assert!(after.run_next().await?);
    assert_eq!(
        after.state((ProofKind::RecursiveChunk, 0)),
        Some(TaskState::Proven)
    );
    // Chunk 0 is stored and chunk 1's stale proof is still stored: the batch must wait.
    assert!(after.run_next().await?);
    assert_eq!(
        after.state((ProofKind::RecursiveChunk, 1)),
        Some(TaskState::Proven),
        "chunk 1 is proven again before any batch task"
    );
    assert_eq!(after.state((ProofKind::Batch, 1)), None);
    let fresh = after
        .artifact(ProofKind::RecursiveChunk, 1)?
        .ok_or("no chunk artifact")?;
    assert_eq!(fresh.public_inputs[3], binding.challenge);
    assert!(after.run_next().await?, "the batch task");
    assert_eq!(after.state((ProofKind::Batch, 1)), Some(TaskState::Proven));
    Ok(())
}

/// With compression, the batch task makes the recursive batch proof and the compression task the
/// proof L1 verifies; a restart after the recursive batch proof makes only the compression.
#[tokio::test]
async fn with_compression_the_last_stage_is_the_compressed_proof() -> Result {
    let db = store("compress")?;
    let [c0, c1] = chunks()?;
    let (b, binding) = batch(1, 0, &[c0.clone(), c1.clone()])?;
    let roots = (c0.old_root, c1.new_root);
    let c = Coordinator::new(db.clone(), Arc::new(Compressing));
    c.submit_chunk(0, c0.clone())?;
    c.submit_chunk(1, c1.clone())?;
    c.schedule(&b, &binding)?;
    for _ in 0..3 {
        assert!(c.run_next().await?);
    }
    assert_eq!(
        c.state((ProofKind::RecursiveBatch, 1)),
        Some(TaskState::Proven)
    );
    assert_eq!(
        c.state((ProofKind::Batch, 1)),
        None,
        "no batch proof for L1"
    );
    assert!(
        c.batch_proof(&b, &binding, roots)?.is_none(),
        "the recursive batch proof is not L1's"
    );
    assert!(c.ready_at(1).is_none());

    // Killed before the compression: only the compression is left.
    let restarted = Coordinator::new(db.clone(), Arc::new(Compressing));
    restarted.submit_chunk(0, c0.clone())?;
    restarted.submit_chunk(1, c1.clone())?;
    restarted.schedule(&b, &binding)?;
    assert_eq!(restarted.counts().queued, 0, "no chunk proof again");
    assert!(restarted.run_next().await?);
    assert_eq!(
        restarted.state((ProofKind::Compressed, 1)),
        Some(TaskState::Proven)
    );
    assert_eq!(restarted.state((ProofKind::RecursiveBatch, 1)), None);
    assert!(!restarted.run_next().await?, "nothing left");
    assert!(restarted.ready_at(1).is_some());
    let proof = restarted
        .batch_proof(&b, &binding, roots)?
        .ok_or("no compressed proof")?;
    assert_eq!(proof.kind, ProofKind::Compressed);

    // After it: nothing at all; and an operator without compression does not take it for its own.
    let again = Coordinator::new(db.clone(), Arc::new(Compressing));
    again.submit_chunk(0, c0)?;
    again.submit_chunk(1, c1)?;
    again.schedule(&b, &binding)?;
    assert!(!again.run_next().await?);
    assert!(
        Coordinator::new(db, Arc::new(Fake))
            .batch_proof(&b, &binding, roots)?
            .is_none()
    );
    Ok(())
}

/// A batch of three chunks under a tree of depth 2: the chunk proofs, then two level-1 nodes (the
/// second over chunk 2 alone, padded with itself), one level-2 node over both, and the batch task
/// over that node; a restart after the first node proves only what is not stored, and a node whose
/// stored proof carries other chunks (another batch's, after a revert) is made again.
#[tokio::test]
async fn a_tree_proves_each_node_once_level_by_level_across_restarts() -> Result {
    use rollup_prover::task::{node_key, node_key_parts};
    assert_eq!(node_key_parts(node_key(7, 2, 3)), (7, 2, 3));
    let db = store("tree")?;
    let [c0, c1, c2] = three_chunks()?;
    let all = [c0.clone(), c1.clone(), c2.clone()];
    let (b, binding) = batch(1, 0, &all)?;
    let roots = (c0.old_root, c2.new_root);
    let backend = Arc::new(Tree::default());
    let c = Coordinator::new(db.clone(), backend.clone());
    for (i, chunk) in all.iter().enumerate() {
        c.submit_chunk(i as u64, chunk.clone())?;
    }
    c.schedule(&b, &binding)?;
    for _ in 0..3 {
        assert!(c.run_next().await?, "a chunk proof");
    }
    assert!(c.run_next().await?, "the first level-1 node");
    assert_eq!(
        c.state((ProofKind::Node, node_key(1, 1, 0))),
        Some(TaskState::Proven)
    );
    assert_eq!(
        c.state((ProofKind::Node, node_key(1, 2, 0))),
        None,
        "not before its children"
    );
    assert_eq!(backend.proven(), 4);

    // Killed after the first node: the second, the level-2 node and the batch are left.
    let backend = Arc::new(Tree::default());
    let restarted = Coordinator::new(db.clone(), backend.clone());
    for (i, chunk) in all.iter().enumerate() {
        restarted.submit_chunk(i as u64, chunk.clone())?;
    }
    restarted.schedule(&b, &binding)?;
    while restarted.run_next().await? {}
    assert_eq!(
        backend.kinds(),
        vec![
            (ProofKind::Node, node_key(1, 1, 1)),
            (ProofKind::Node, node_key(1, 2, 0)),
            (ProofKind::Batch, 1)
        ]
    );
    let padded = restarted
        .artifact(ProofKind::Node, node_key(1, 1, 1))?
        .ok_or("no node")?;
    assert_eq!(
        rollup_prover::node::carried_chunks(&padded.public_inputs, 1),
        Some(vec![at(&c2, &binding)?; 2]),
        "chunk 2 and its padding copy"
    );
    let top = restarted
        .artifact(ProofKind::Node, node_key(1, 2, 0))?
        .ok_or("no node")?;
    assert_eq!(
        rollup_prover::node::carried_chunks(&top.public_inputs, 2).map(|c| c.len()),
        Some(4)
    );
    assert!(restarted.batch_proof(&b, &binding, roots)?.is_some());

    // Batch 1 re-formed of chunks 0 and 1 (after a revert): another challenge, so no stored proof
    // is this batch's; one level-1 node, and a level-2 node over it alone.
    let (two, two_binding) = batch(1, 0, &all[..2])?;
    let backend = Arc::new(Tree::default());
    let again = Coordinator::new(db, backend.clone());
    again.submit_chunk(0, c0)?;
    again.submit_chunk(1, c1)?;
    again.schedule(&two, &two_binding)?;
    while again.run_next().await? {}
    assert_eq!(
        backend.kinds(),
        vec![
            (ProofKind::RecursiveChunk, 0),
            (ProofKind::RecursiveChunk, 1),
            (ProofKind::Node, node_key(1, 1, 0)),
            (ProofKind::Node, node_key(1, 2, 0)),
            (ProofKind::Batch, 1)
        ]
    );
    Ok(())
}

/// `chunk`'s public inputs at `binding`'s challenge.
fn at(chunk: &Chunk, binding: &BatchBinding) -> Result<[Fr; 5]> {
    let mut chunk = chunk.clone();
    chunk.binding = binding.chunk(&chunk.records)?;
    Ok(chunk.public_inputs())
}

/// [`Fake`] with a tree of depth 2: a key per node level, node proofs shaped like a node's public
/// inputs; it records what it proved, in order.
#[derive(Debug, Default)]
struct Tree {
    proven: std::sync::Mutex<Vec<(ProofKind, u64)>>,
}

impl Tree {
    fn kinds(&self) -> Vec<(ProofKind, u64)> {
        self.proven.lock().map(|p| p.clone()).unwrap_or_default()
    }
    fn proven(&self) -> usize {
        self.kinds().len()
    }
}

impl Backend for Tree {
    fn name(&self) -> &str {
        "tree"
    }
    fn params_digest(&self) -> [u8; 32] {
        Fake.params_digest()
    }
    fn vk_digest(&self, kind: ProofKind) -> Option<[u8; 32]> {
        Fake.vk_digest(kind)
    }
    fn tree_depth(&self) -> u32 {
        2
    }
    fn node_vk_digest(&self, level: u32) -> Option<[u8; 32]> {
        (1..=2).contains(&level).then_some([20 + level as u8; 32])
    }
    fn prove(&self, task: &ProofTask) -> rollup_prover::Result<ProofArtifact> {
        if let Ok(mut p) = self.proven.lock() {
            p.push((task.kind(), task.index()));
        }
        match task {
            ProofTask::Node {
                level, children, ..
            } => {
                let below = if *level == 1 {
                    ProofKind::RecursiveChunk
                } else {
                    ProofKind::Node
                };
                assert!(children.iter().all(|a| a.kind == below));
                let mut public_inputs =
                    vec![Fr::from(0u64); rollup_prover::batch::ACCUMULATOR_INPUTS];
                public_inputs.extend(task.public_inputs());
                public_inputs.push(Fr::from(0u64));
                Ok(ProofArtifact {
                    kind: ProofKind::Node,
                    public_inputs,
                    proof: vec![7; 8],
                    vk_digest: [20 + *level as u8; 32],
                })
            }
            ProofTask::Batch { chunks, .. } => {
                assert!(chunks.iter().all(|a| a.kind == ProofKind::Node));
                Fake.prove(task)
            }
            _ => Fake.prove(task),
        }
    }
    fn verify(&self, a: &ProofArtifact) -> rollup_prover::Result<bool> {
        Ok(a.proof == [7; 8])
    }
}

/// A stored recursive batch proof that does not verify (a damaged file) is removed at restart and
/// made again from the stored chunk proofs, instead of failing the compression until the operator
/// stops.
#[tokio::test]
async fn a_stored_proof_that_does_not_verify_is_made_again() -> Result {
    let db = store("damaged")?;
    let [c0, c1] = chunks()?;
    let (b, binding) = batch(1, 0, &[c0.clone(), c1.clone()])?;
    let first = Coordinator::new(db.clone(), Arc::new(Damaging));
    first.submit_chunk(0, c0.clone())?;
    first.submit_chunk(1, c1.clone())?;
    first.schedule(&b, &binding)?;
    for _ in 0..3 {
        assert!(first.run_next().await?);
    }
    assert_eq!(
        first.state((ProofKind::RecursiveBatch, 1)),
        Some(TaskState::Proven)
    );

    let restarted = Coordinator::new(db, Arc::new(Compressing));
    restarted.submit_chunk(0, c0.clone())?;
    restarted.submit_chunk(1, c1.clone())?;
    restarted.schedule(&b, &binding)?;
    assert!(
        restarted.artifact(ProofKind::RecursiveBatch, 1)?.is_none(),
        "removed"
    );
    assert_eq!(restarted.counts().queued, 0, "the chunk proofs verify");
    assert!(restarted.run_next().await?);
    assert_eq!(
        restarted.state((ProofKind::RecursiveBatch, 1)),
        Some(TaskState::Proven),
        "made again"
    );
    assert!(restarted.run_next().await?);
    assert!(!restarted.run_next().await?);
    let proof = restarted
        .batch_proof(&b, &binding, (c0.old_root, c1.new_root))?
        .ok_or("no compressed proof")?;
    assert_eq!(proof.kind, ProofKind::Compressed);
    Ok(())
}

/// [`Compressing`] whose recursive batch proofs only it verifies: to another process they are a
/// damaged file.
#[derive(Debug)]
struct Damaging;

impl Backend for Damaging {
    fn name(&self) -> &str {
        "damaging"
    }
    fn params_digest(&self) -> [u8; 32] {
        Fake.params_digest()
    }
    fn vk_digest(&self, kind: ProofKind) -> Option<[u8; 32]> {
        Fake.vk_digest(kind)
    }
    fn prove(&self, task: &ProofTask) -> rollup_prover::Result<ProofArtifact> {
        let mut a = Fake.prove(task)?;
        if a.kind == ProofKind::RecursiveBatch {
            a.proof = vec![9; 8];
        }
        Ok(a)
    }
    fn verify(&self, a: &ProofArtifact) -> rollup_prover::Result<bool> {
        Ok(a.proof == [9; 8] || Fake.verify(a)?)
    }
    fn last_stage(&self) -> ProofKind {
        ProofKind::Compressed
    }
}

/// [`Fake`] with a compression stage.
#[derive(Debug)]
struct Compressing;

impl Backend for Compressing {
    fn name(&self) -> &str {
        "compressing"
    }
    fn params_digest(&self) -> [u8; 32] {
        Fake.params_digest()
    }
    fn vk_digest(&self, kind: ProofKind) -> Option<[u8; 32]> {
        Fake.vk_digest(kind)
    }
    fn prove(&self, task: &ProofTask) -> rollup_prover::Result<ProofArtifact> {
        if let ProofTask::Compress { batch, .. } = task {
            assert_eq!(batch.kind, ProofKind::RecursiveBatch);
        }
        Fake.prove(task)
    }
    fn verify(&self, a: &ProofArtifact) -> rollup_prover::Result<bool> {
        Fake.verify(a)
    }
    fn last_stage(&self) -> ProofKind {
        ProofKind::Compressed
    }
}

/// The key digest of [`Rekeyed`]'s proofs.
const REKEYED: [u8; 32] = [8; 32];

/// [`Fake`] after a key change: the same proofs under another key digest.
#[derive(Debug)]
struct Rekeyed;

impl Backend for Rekeyed {
    fn name(&self) -> &str {
        "rekeyed"
    }
    fn params_digest(&self) -> [u8; 32] {
        Fake.params_digest()
    }
    fn vk_digest(&self, _: ProofKind) -> Option<[u8; 32]> {
        Some(REKEYED)
    }
    fn prove(&self, task: &ProofTask) -> rollup_prover::Result<ProofArtifact> {
        let mut artifact = Fake.prove(task)?;
        artifact.vk_digest = REKEYED;
        Ok(artifact)
    }
    fn verify(&self, a: &ProofArtifact) -> rollup_prover::Result<bool> {
        Ok(a.vk_digest == REKEYED && Fake.verify(a)?)
    }
}

#[tokio::test]
async fn bad_artifacts_are_refused_and_a_failing_backend_stops_after_max_attempts() -> Result {
    for fault in [Fault::Fails, Fault::OtherInputs, Fault::Unverifiable] {
        let backend = Arc::new(Broken {
            fault,
            calls: AtomicU32::new(0),
        });
        let c = Coordinator::new(store(&format!("{fault:?}"))?, backend.clone());
        let [c0, _] = chunks()?;
        let (b, binding) = batch(1, 0, std::slice::from_ref(&c0))?;
        c.submit_chunk(0, c0)?;
        c.schedule(&b, &binding)?;
        for attempt in 1..MAX_ATTEMPTS {
            assert!(!c.run_next().await?, "{fault:?}: nothing proven");
            match c.state((ProofKind::RecursiveChunk, 0)) {
                Some(TaskState::Failed { attempts, .. }) => assert_eq!(attempts, attempt),
                other => return Err(format!("{fault:?}: {other:?}").into()),
            }
        }
        let err = c
            .run_next()
            .await
            .err()
            .ok_or("no error after the last attempt")?;
        assert!(err.to_string().contains("attempts failed"), "{err}");
        assert_eq!(backend.calls.load(Ordering::SeqCst), MAX_ATTEMPTS);
        assert!(
            c.artifact(ProofKind::RecursiveChunk, 0)?.is_none(),
            "{fault:?}: nothing stored"
        );
    }
    Ok(())
}
