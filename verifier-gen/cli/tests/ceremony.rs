//! Ceremony parameters end to end: a `.ptau` file in snarkjs's layout, made here from a secret the
//! test chooses, is converted to halo2's parameters with every check passing; a chunk proven with
//! them verifies natively and in the Solidity verifier generated from them, whose embedded `−[τ]G2`
//! hashes to the parameters' digest (what `Halo2BatchVerifier.PARAMS_DIGEST` reads on L1). Files
//! that are not the powers of one secret, or not this curve's, are refused. The development SRS's
//! digest is the constant `VerifierParams.sol` holds and `Deploy.s.sol` refuses outside devnets.

use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G2Affine};
use halo2_base::halo2_proofs::halo2curves::group::Curve;
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use rollup_circuits::chunk::{ChunkCircuit, instances};
use rollup_circuits::sample;
use rollup_prover::ptau::{PtauError, params_digest, read_ptau, write_ptau_with_known_secret};
use rollup_prover::{self as prover, SrsSource};
use verifier_gen::{REFERENCE_CHAIN_ID, REFERENCE_K, REFERENCE_SLOTS};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()))
}

fn tau() -> Fr {
    Fr::from(0x5eed_0f7a_u64) * Fr::from(1_000_003u64)
}

#[test]
fn a_ptau_file_converts_to_the_powers_of_its_secret() -> Result {
    let path = tmp("small.ptau");
    write_ptau_with_known_secret(tau(), 4, &path)?;
    let params = read_ptau(&path, 3)?;
    assert_eq!(params.k(), 3);
    assert_eq!(params.s_g2(), (G2Affine::generator() * tau()).to_affine());
    let mut power = Fr::from(1u64);
    for g in params.get_g() {
        assert_eq!(*g, (G1Affine::generator() * power).to_affine());
        power *= tau();
    }
    assert_ne!(params_digest(&params), prover::development_params_digest());
    // Too few powers for the circuit is a clear error.
    assert!(matches!(
        read_ptau(&path, 5),
        Err(PtauError::TooSmall { have: 4, need: 5 })
    ));
    std::fs::remove_file(&path)?;
    Ok(())
}

/// Byte offset of G1 point `i` of section 2 in a file written by `write_ptau_with_known_secret`
/// (magic, version, count: 12 bytes; the header section: 12 + 44 bytes; section 2's own 12 bytes).
fn g1_offset(i: usize) -> usize {
    12 + (12 + 4 + 32 + 8) + 12 + 64 * i
}

#[test]
fn a_tampered_or_foreign_file_is_refused() -> Result {
    let path = tmp("tampered.ptau");
    write_ptau_with_known_secret(tau(), 4, &path)?;
    let good = std::fs::read(&path)?;

    // A G1 power swapped for the power of another secret: still a curve point, but the pairing
    // check finds it is not `τ^i`.
    let other = tmp("other.ptau");
    write_ptau_with_known_secret(tau() + Fr::from(1u64), 4, &other)?;
    let foreign = std::fs::read(&other)?;
    let mut bad = good.clone();
    let at = g1_offset(5);
    bad[at..at + 64].copy_from_slice(&foreign[at..at + 64]);
    std::fs::write(&path, &bad)?;
    let err = read_ptau(&path, 3)
        .err()
        .ok_or("a swapped power was accepted")?;
    assert!(format!("{err}").contains("not the powers"), "{err}");

    // A coordinate off the curve.
    let mut bad = good.clone();
    bad[g1_offset(2)] ^= 1;
    std::fs::write(&path, &bad)?;
    assert!(matches!(read_ptau(&path, 3), Err(PtauError::Check(_))));

    // A coordinate that is not canonical (all ones: above the modulus).
    let mut bad = good.clone();
    let at = g1_offset(1);
    bad[at..at + 32].fill(0xff);
    std::fs::write(&path, &bad)?;
    assert!(matches!(read_ptau(&path, 3), Err(PtauError::Check(_))));

    // Not a ptau file, and another curve's modulus.
    std::fs::write(&path, b"zkey....")?;
    assert!(matches!(read_ptau(&path, 3), Err(PtauError::Format(_))));
    let mut bad = good.clone();
    bad[12 + 12 + 4] ^= 1;
    std::fs::write(&path, &bad)?;
    assert!(matches!(read_ptau(&path, 3), Err(PtauError::Format(_))));

    std::fs::remove_file(&path)?;
    std::fs::remove_file(&other)?;
    Ok(())
}

#[test]
fn development_digest_is_the_constant_l1_refuses() -> Result {
    let dev = prover::development_params_digest();
    // The same for every size: the secret is the seeded generator's first draw.
    let cached = prover::cached_dev_srs(Path::new(env!("CARGO_TARGET_TMPDIR")), REFERENCE_K)?;
    assert_eq!(params_digest(&cached), dev);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let source = std::fs::read_to_string(root.join("contracts/src/rollup/VerifierParams.sol"))?;
    let constant = format!("0x{}", alloy_primitives::hex::encode(dev));
    assert!(
        source.contains(&constant),
        "VerifierParams.DEVELOPMENT_PARAMS_DIGEST is not the development SRS's digest {constant}"
    );
    Ok(())
}

/// The four words of `−[τ]G2` as the generated Solidity stores them, found after the G2
/// generator's four (the same walk `VerifierParams.digestOf` does on the bytecode).
fn embedded_digest(source: &str) -> Option<[u8; 32]> {
    let consts: Vec<&str> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("mstore("))
        .filter_map(|l| l.split(", 0x").nth(1))
        .map(|l| l.trim_end_matches(')'))
        .collect();
    let g = consts
        .iter()
        .position(|c| c.starts_with("198e9393920d483a7260bfb731fb5d25"))?;
    let words = consts.get(g + 4..g + 8)?;
    let bytes: Vec<u8> = words
        .iter()
        .flat_map(|w| alloy_primitives::hex::decode(w).unwrap_or_default())
        .collect();
    (bytes.len() == 128).then(|| alloy_primitives::keccak256(&bytes).0)
}

#[test]
fn a_chunk_proven_with_ceremony_parameters_verifies_on_the_evm() -> Result {
    let path = tmp("chunk.ptau");
    write_ptau_with_known_secret(tau(), REFERENCE_K, &path)?;
    let cache = tmp("ceremony-cache");
    let prover = prover::ChunkProver::load(
        &cache,
        &SrsSource::File(path.clone()),
        REFERENCE_SLOTS,
        REFERENCE_CHAIN_ID,
        REFERENCE_K,
    )?;
    let digest = prover.params_digest();
    assert_ne!(digest, prover::development_params_digest());
    let (source, bytecode) = verifier_gen::chunk_verifier(&prover)?;
    assert_eq!(
        embedded_digest(&source),
        Some(digest),
        "the verifier embeds the ceremony's −[τ]G2"
    );
    let chunk = sample::history(REFERENCE_SLOTS, REFERENCE_CHAIN_ID)?
        .into_iter()
        .next()
        .ok_or("no sample chunk")?;
    let proof = prover.prove(&chunk)?;
    let gas = verifier_gen::evm_call_any_size(
        bytecode.clone(),
        verifier_gen::calldata(&instances(&chunk), &proof),
    )?;
    assert!(gas > 21_000);
    // The development SRS's verifier rejects the ceremony's proof: the parameters are part of what
    // a verifier checks.
    let dev = prover::cached_dev_srs(Path::new(env!("CARGO_TARGET_TMPDIR")), REFERENCE_K)?;
    let dev_pk = prover::keygen(
        &dev,
        &ChunkCircuit::keygen(REFERENCE_SLOTS, REFERENCE_CHAIN_ID),
    )?;
    let dev_code = verifier_gen::compile(&verifier_gen::chunk_solidity(&dev, dev_pk.get_vk()))?;
    // It deploys and the call itself fails (not the deployment).
    let rejected = verifier_gen::evm_call_any_size(
        dev_code,
        verifier_gen::calldata(&instances(&chunk), &proof),
    );
    assert!(
        matches!(&rejected, Err(e) if e.to_string().contains("the call failed")),
        "{rejected:?}"
    );
    std::fs::remove_file(&path)?;
    std::fs::remove_dir_all(&cache)?;
    Ok(())
}

/// The development SRS written out in halo2's format and named as a ceremony file is refused: the
/// backdoor cannot hide behind `SrsSource::File`. A converted ceremony file is checked like a `.ptau`.
#[test]
fn the_development_srs_is_refused_as_a_ceremony_file() -> Result {
    let dev = tmp("dev.params");
    prover::write_srs(&prover::dev_srs(4), &dev)?;
    let err = SrsSource::File(dev.clone())
        .load(Path::new(env!("CARGO_TARGET_TMPDIR")), 4)
        .err()
        .ok_or("the development SRS passed as a ceremony file")?;
    assert!(format!("{err}").contains("development SRS"), "{err}");

    let ptau = tmp("convert.ptau");
    write_ptau_with_known_secret(tau(), 4, &ptau)?;
    let converted = tmp("converted.params");
    prover::write_srs(&read_ptau(&ptau, 4)?, &converted)?;
    let params =
        SrsSource::File(converted.clone()).load(Path::new(env!("CARGO_TARGET_TMPDIR")), 3)?;
    assert_eq!(params.k(), 3);
    for f in [dev, ptau, converted] {
        std::fs::remove_file(f)?;
    }
    Ok(())
}
