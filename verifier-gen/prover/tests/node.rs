//! A tree of depth 1 for real: two chunk proofs (Poseidon transcript) aggregated by a level-1 node
//! at k = 20 (with their records, summarised), and the batch circuit over that node proving the
//! batch of both chunks and, over a node of the first alone (its second child padding), the batch
//! of the first; each batch proof
//! has exactly the core's batch inputs and the chunk key's digest, and verifies natively with the
//! pairing on its accumulator. A child proof for other public inputs is refused at each level, and
//! so is a node whose chunks are not one batch for the real count given.
//!
//! Ignored by default, too heavy for every CI run: node keygen (about 2.5 minutes) and proof
//! (about 3.5 minutes, 6.6 GB), batch keygen and two batch proofs (about 2.5 minutes each), on
//! 2 cores. Run it with `cargo test -p rollup-prover --test node -- --ignored`.

use halo2_base::halo2_proofs::halo2curves::ff::Field;
use rollup_circuits::Fr;
use rollup_circuits::batch::fold;
use rollup_circuits::sample;
use rollup_prover::batch::{ACCUMULATOR_INPUTS, BATCH_PUBLIC_INPUTS, BatchProver};
use rollup_prover::node::{self, NodeProver, NodeRecords};
use rollup_prover::{ChunkProver, ProverError, SrsSource, Transcript};

const CHAIN_ID: u64 = 31337;
const CHUNK_K: u32 = 13;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[test]
#[ignore = "heavy: two k = 20 aggregation circuits, about 13 minutes and 7 GB on 2 cores"]
fn a_batch_over_a_node_proves_its_chunks_and_padding_changes_nothing() -> Result<()> {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("keys");
    let chunks = ChunkProver::load(&cache, &SrsSource::Development, 1, CHAIN_ID, CHUNK_K)?;
    let mut batch_chunks = sample::history(1, CHAIN_ID)?[1..3].to_vec();
    sample::bind_batch(&mut batch_chunks)?;
    let proofs = batch_chunks
        .iter()
        .map(|c| {
            Ok((
                c.public_inputs().to_vec(),
                chunks.prove_with(c, Transcript::Poseidon)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let inputs: Vec<[Fr; 5]> = batch_chunks.iter().map(|c| c.public_inputs()).collect();
    let records: Vec<_> = batch_chunks.iter().map(|c| c.records.clone()).collect();

    let started = std::time::Instant::now();
    let nodes = NodeProver::over_chunks(&cache, &SrsSource::Development, &chunks, node::DEFAULT_K)?;
    eprintln!(
        "node keys: {:?}, {:?}",
        started.elapsed(),
        nodes.layout().config
    );
    assert_eq!((nodes.level(), nodes.chunks()), (1, 2));

    // A node passes its chunks' inputs through, after its accumulator, and the chunk key digest.
    let started = std::time::Instant::now();
    let both = NodeRecords::of_batch(&records, 1, 0)?;
    let (node_public, node_proof) = nodes.prove(&proofs, &both)?;
    eprintln!("node proof: {:?}", started.elapsed());
    assert_eq!(node_public.len(), node::node_inputs(1));
    assert_eq!(node::carried_chunks(&node_public, 1), Some(inputs.clone()));
    // Its summary: what the core computes of both chunks' records.
    assert_eq!(
        node::summary_of(&node_public, 1),
        both.summary(inputs[0][3]).as_ref().map(|s| &s[..])
    );
    assert_eq!(node_public.last(), Some(&nodes.key_digest()));
    assert!(rollup_prover::batch::decide(nodes.params(), &node_public));

    // A chunk proof for other public inputs is refused before proving.
    let mut forged = proofs.clone();
    forged[1].0[4] += Fr::ONE;
    assert!(matches!(
        nodes.prove(&forged, &both),
        Err(ProverError::InvalidChunkProof { index: 1 })
    ));
    // Records other than the chunks' are refused before proving.
    let swapped = NodeRecords {
        records: vec![records[1].clone(), records[0].clone()],
        ..both.clone()
    };
    assert!(matches!(
        nodes.prove(&proofs, &swapped),
        Err(ProverError::NotOneBatch)
    ));
    // The first chunk alone: a node over it and a copy (padding, not real).
    let first = NodeRecords::of_batch(&records[..1], 1, 0)?;
    let (first_public, first_proof) = nodes.prove(&proofs[..1], &first)?;

    let started = std::time::Instant::now();
    let batch = BatchProver::load_over_nodes(&cache, &SrsSource::Development, &nodes, 1, 20)?;
    eprintln!("batch keys over nodes: {:?}", started.elapsed());
    assert_eq!(batch.capacity(), 2);
    assert_eq!(batch.key_digest(), nodes.key_digest());
    let node = vec![(node_public.clone(), node_proof.clone())];
    let alone = vec![(first_public, first_proof)];

    // Both chunks, then the first alone (its node's second chunk is padding).
    for (real, node) in [(2, &node), (1, &alone)] {
        let started = std::time::Instant::now();
        let (public, proof) = batch.prove_nodes(node, &records[..real], Transcript::Evm)?;
        eprintln!(
            "batch proof of {real} over the node: {:?}",
            started.elapsed()
        );
        let expected = fold(&inputs[..real], &records[..real], 1).ok_or("not one batch")?;
        assert_eq!(public.len(), BATCH_PUBLIC_INPUTS);
        assert_eq!(
            public[ACCUMULATOR_INPUTS..BATCH_PUBLIC_INPUTS - 1],
            expected
        );
        assert_eq!(public[BATCH_PUBLIC_INPUTS - 1], nodes.key_digest());
        assert!(batch.verify(&public, &proof, Transcript::Evm)?);
        for i in [0, ACCUMULATOR_INPUTS + 1, BATCH_PUBLIC_INPUTS - 1] {
            let mut wrong = public.clone();
            wrong[i] += Fr::ONE;
            assert!(!batch.verify(&wrong, &proof, Transcript::Evm)?, "input {i}");
        }
    }

    // A node proof for other carried inputs, or a chunk proof where a node's belongs, is refused;
    // so is a real count past what the node carries (its chunks are then not one batch).
    let mut wrong = node_public.clone();
    wrong[ACCUMULATOR_INPUTS + 6] += Fr::ONE;
    assert!(matches!(
        batch.prove_nodes(&[(wrong, node_proof.clone())], &records, Transcript::Evm),
        Err(ProverError::InvalidChunkProof { index: 0 })
    ));
    assert!(matches!(
        batch.prove_nodes(&proofs[..1], &records[..1], Transcript::Evm),
        Err(ProverError::InvalidChunkProof { index: 0 })
    ));
    let three = [records.clone(), records[..1].to_vec()].concat();
    assert!(matches!(
        batch.prove_nodes(&node, &three, Transcript::Evm),
        Err(ProverError::NotOneBatch)
    ));
    // A node over two real chunks is not a batch of one: its summary counts both.
    assert!(matches!(
        batch.prove_nodes(&node, &records[..1], Transcript::Evm),
        Err(ProverError::NotOneBatch)
    ));
    assert!(batch.prove(&proofs, &records, Transcript::Evm).is_err());
    Ok(())
}
