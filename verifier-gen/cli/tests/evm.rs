//! A real chunk proof (one slot, k = 13) verified by the generated Solidity verifier on an EVM
//! (revm, mainnet rules but EIP-170's code size limit: L1 never deploys the chunk verifier), and
//! rejected when an instance or the proof is changed.

use halo2_base::halo2_proofs::halo2curves::ff::Field;
use rollup_circuits::Fr;
use rollup_circuits::chunk::{ChunkCircuit, instances};
use rollup_circuits::sample;
use rollup_prover as prover;

const CHAIN_ID: u64 = 31337;
const K: u32 = 13;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[test]
fn generated_verifier_accepts_a_real_proof_and_rejects_tampering() -> Result<()> {
    let params = prover::cached_dev_srs(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), K)?;
    let pk = prover::keygen(&params, &ChunkCircuit::keygen(1, CHAIN_ID))?;
    // The last chunk of the sample history: a signed transfer.
    let chunk = sample::history(1, CHAIN_ID)?.pop().ok_or("empty history")?;
    let public = instances(&chunk);
    let proof = prover::prove(
        &params,
        &pk,
        ChunkCircuit::new(&chunk, 1, CHAIN_ID)?,
        &public,
    )?;
    let source = verifier_gen::chunk_solidity(&params, pk.get_vk());
    let bytecode = verifier_gen::compile(&source)?;

    let gas =
        verifier_gen::evm_call_any_size(bytecode.clone(), verifier_gen::calldata(&public, &proof))?;
    eprintln!(
        "verifier: {} bytes of creation code, {gas} gas per call (with the 21,000 of the transaction)",
        bytecode.len()
    );

    for i in 0..3 {
        let mut wrong = public.clone();
        wrong[0][i] += Fr::ONE;
        assert!(
            verifier_gen::evm_call_any_size(
                bytecode.clone(),
                verifier_gen::calldata(&wrong, &proof)
            )
            .is_err(),
            "instance {i} changed, proof accepted"
        );
    }
    for at in [0, proof.len() / 2, proof.len() - 1] {
        let mut bad = proof.clone();
        bad[at] ^= 1;
        assert!(
            verifier_gen::evm_call_any_size(
                bytecode.clone(),
                verifier_gen::calldata(&public, &bad)
            )
            .is_err(),
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

/// Compilation goes through solc's standard JSON (foundry-compilers): an error comes back with its
/// source location, and a source without the verifier contract is refused.
#[test]
fn compile_reports_solc_errors_with_their_location() {
    let broken = "pragma solidity 0.8.30;\ncontract Halo2Verifier {\n  function f() public { undefined_name; }\n}\n";
    let err = verifier_gen::compile(broken).err().map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(err.contains("Undeclared identifier"), "{err}");
    assert!(err.contains("<stdin>:3:"), "no source location: {err}");

    let other = "pragma solidity 0.8.30;\ncontract Other {}\n";
    let err = verifier_gen::compile(other).err().map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("no contract Halo2Verifier")),
        "{err:?}"
    );
}
