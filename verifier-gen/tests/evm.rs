//! A real chunk proof (one slot, k = 14) verified by the generated Solidity verifier on an EVM
//! (revm, mainnet rules), and rejected when an instance or the proof is changed.

use alloy_primitives::Address;
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use rollup_protocol::eddsa::SecretKey;
use rollup_protocol::tx::{Deposit, Transfer};
use rollup_protocol::{Chunk, Config, State, Tx};
use verifier_gen::Fr;
use verifier_gen::chunk::{ChunkCircuit, instances};
use verifier_gen::prover;

const CHAIN_ID: u64 = 31337;
const K: u32 = 14;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A transfer in a one-slot chunk, after the deposits that fund it.
fn transfer_chunk() -> Result<Chunk> {
    let mut s = State::new(Config {
        chain_id: CHAIN_ID,
        chunk_slots: 1,
    });
    let alice = SecretKey::from_seed(b"alice");
    for (id, owner, amount) in [(0u32, 0xfe, 0u128), (1, 0xa1, 1_000), (2, 0xb0, 0)] {
        s.apply_chunk(&[Tx::Deposit(Deposit {
            account_id: id,
            owner: Address::repeat_byte(owner),
            token: 0,
            amount,
            pubkey: alice.public(),
        })])?;
    }
    let tx = Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 250,
        fee: 5,
        nonce: 0,
    }
    .sign(&alice, CHAIN_ID);
    Ok(s.apply_chunk(&[tx])?)
}

#[test]
fn generated_verifier_accepts_a_real_proof_and_rejects_tampering() -> Result<()> {
    let params = prover::cached_dev_srs(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), K)?;
    let pk = prover::keygen(&params, &ChunkCircuit::keygen(1, CHAIN_ID))?;
    let chunk = transfer_chunk()?;
    let public = instances(&chunk);
    let proof = prover::prove(
        &params,
        &pk,
        ChunkCircuit::new(&chunk, 1, CHAIN_ID)?,
        &public,
    )?;
    let source = prover::solidity::<ChunkCircuit>(&params, pk.get_vk(), vec![3]);
    let bytecode = prover::compile(&source)?;

    let gas = prover::evm_call(bytecode.clone(), prover::calldata(&public, &proof))?;
    eprintln!(
        "verifier: {} bytes of creation code, {gas} gas per call (with the 21,000 of the transaction)",
        bytecode.len()
    );

    for i in 0..3 {
        let mut wrong = public.clone();
        wrong[0][i] += Fr::ONE;
        assert!(
            prover::evm_call(bytecode.clone(), prover::calldata(&wrong, &proof)).is_err(),
            "instance {i} changed, proof accepted"
        );
    }
    for at in [0, proof.len() / 2, proof.len() - 1] {
        let mut bad = proof.clone();
        bad[at] ^= 1;
        assert!(
            prover::evm_call(bytecode.clone(), prover::calldata(&public, &bad)).is_err(),
            "proof byte {at} flipped, proof accepted"
        );
    }
    // The wrong proof also fails natively, and a proof for a broken witness is never produced.
    assert!(!prover::verify(
        &params,
        pk.get_vk(),
        &[vec![Fr::ONE; 3]],
        &proof
    )?);
    Ok(())
}
