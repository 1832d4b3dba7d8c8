//! Ceremony parameters: reading a powers-of-tau file in snarkjs's `.ptau` format (the format the
//! Perpetual Powers of Tau outputs are published in, e.g. the Hermez `powersOfTau28_hez_final_NN`
//! files) and converting it to halo2's `ParamsKZG`, checked by pairings; and the digest that names
//! a parameter set wherever it is used.
//!
//! The `.ptau` layout (all integers little-endian): the magic `ptau`, a `u32` version and a `u32`
//! section count, then sections of `u32` type, `u64` byte length and data. Section 1 (header): `u32`
//! field size `n8` (32), the base field modulus (`n8` bytes), `u32` power, `u32` ceremony power.
//! Section 2: `2·2^power − 1` points `[τ^i]G1`; section 3: `2^power` points `[τ^i]G2`; sections 4 to
//! 7 (`α`, `β`, contributions) are not read. A G1 point is `x ‖ y`, a G2 point `x.c0 ‖ x.c1 ‖ y.c0 ‖
//! y.c1`, every coordinate in Montgomery form (`x·2²⁵⁶ mod q`), `n8` bytes little-endian.
//!
//! The conversion keeps `[τ^i]G1` for `i < 2^k`, `G2` and `[τ]G2`, and checks before returning:
//! the first points are the generators, every coordinate is canonical and on the curve, and, with
//! random `ρ_i`, `e(Σ ρ_i·[τ^(i+1)]G1, G2) = e(Σ ρ_i·[τ^i]G1, [τ]G2)`: every point is the power of the
//! same `τ` that `[τ]G2` holds, so the KZG scheme's secret is the ceremony's.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use alloy_primitives::keccak256;
use halo2_base::halo2_proofs::arithmetic::best_multiexp;
use halo2_base::halo2_proofs::halo2curves::CurveAffine;
use halo2_base::halo2_proofs::halo2curves::bn256::{
    Bn256, Fq, Fq2, Fr, G1, G1Affine, G2, G2Affine, G2Prepared, Gt, multi_miller_loop,
};
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_base::halo2_proofs::halo2curves::group::cofactor::CofactorGroup;
use halo2_base::halo2_proofs::halo2curves::group::{Curve, prime::PrimeCurveAffine};
use halo2_base::halo2_proofs::halo2curves::pairing::MillerLoopResult;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{OsRng, RngCore, SeedableRng};

/// Why a ceremony file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PtauError {
    /// Reading or writing the file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is not a `.ptau` file of BN254, or is truncated.
    #[error("not a BN254 .ptau file: {0}")]
    Format(String),
    /// The file holds fewer powers than the circuit needs.
    #[error("the ceremony file has 2^{have} powers, the circuit needs 2^{need}")]
    TooSmall {
        /// log2 of the powers in the file.
        have: u32,
        /// log2 of the powers needed.
        need: u32,
    },
    /// A point is not canonical, not on the curve, or the powers are not of one secret.
    #[error("the ceremony's points do not check: {0}")]
    Check(String),
}

/// `Result` with a [`PtauError`].
pub type Result<T> = std::result::Result<T, PtauError>;

const N8: usize = 32;
const G1_BYTES: usize = 2 * N8;
const G2_BYTES: usize = 4 * N8;

/// The digest that names a parameter set: keccak256 of `−[τ]G2` as the generated Solidity verifier
/// embeds it (`x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0`, 32-byte big-endian words), the one point of the verifier
/// that depends on the ceremony's secret. `Halo2BatchVerifier` reads the same four words out of the
/// deployed verifier's code, so the digest on L1 and the prover's can be compared.
pub fn params_digest(params: &ParamsKZG<Bn256>) -> [u8; 32] {
    let neg = -params.s_g2();
    let mut words = Vec::with_capacity(4 * 32);
    for c in [neg.x.c1, neg.x.c0, neg.y.c1, neg.y.c0] {
        let mut be = c.to_repr();
        be.as_mut().reverse();
        words.extend_from_slice(be.as_ref());
    }
    keccak256(&words).0
}

/// `2²⁵⁶ mod q` inverted: turns a Montgomery-form integer into the element it stands for.
fn r_inv() -> Fq {
    let r = Fq::from(2u64).pow_vartime([256u64]);
    Option::<Fq>::from(r.invert()).unwrap_or(Fq::ZERO)
}

fn fq_from_montgomery(bytes: &[u8]) -> Result<Fq> {
    let mut repr = <Fq as PrimeField>::Repr::default();
    repr.as_mut().copy_from_slice(bytes);
    let m = Option::<Fq>::from(Fq::from_repr(repr))
        .ok_or_else(|| PtauError::Check("a coordinate is not below the field modulus".into()))?;
    Ok(m * r_inv())
}

fn fq_to_montgomery(x: &Fq) -> Vec<u8> {
    let r = Fq::from(2u64).pow_vartime([256u64]);
    (x * r).to_repr().as_ref().to_vec()
}

fn g1_from(bytes: &[u8]) -> Result<G1Affine> {
    let x = fq_from_montgomery(&bytes[..N8])?;
    let y = fq_from_montgomery(&bytes[N8..2 * N8])?;
    Option::<G1Affine>::from(G1Affine::from_xy(x, y))
        .ok_or_else(|| PtauError::Check("a G1 point is not on the curve".into()))
}

fn g2_from(bytes: &[u8]) -> Result<G2Affine> {
    let c = |i: usize| fq_from_montgomery(&bytes[i * N8..(i + 1) * N8]);
    let x = Fq2 {
        c0: c(0)?,
        c1: c(1)?,
    };
    let y = Fq2 {
        c0: c(2)?,
        c1: c(3)?,
    };
    let p = Option::<G2Affine>::from(G2Affine::from_xy(x, y))
        .ok_or_else(|| PtauError::Check("a G2 point is not on the curve".into()))?;
    // G2 has a cofactor: a point on the twist outside the prime-order subgroup would break pairings.
    if !bool::from(p.to_curve().is_torsion_free()) {
        return Err(PtauError::Check(
            "a G2 point is not in the prime-order subgroup".into(),
        ));
    }
    Ok(p)
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| PtauError::Format("truncated header".into()))
}

/// Where each section's data starts, and its length.
fn sections(f: &mut (impl Read + Seek)) -> Result<Vec<(u32, u64, u64)>> {
    let mut head = [0u8; 12];
    f.read_exact(&mut head)
        .map_err(|_| PtauError::Format("shorter than a header".into()))?;
    if &head[..4] != b"ptau" {
        return Err(PtauError::Format("no `ptau` magic".into()));
    }
    let count = u32_at(&head, 8)?;
    let mut out = Vec::new();
    let mut pos = 12u64;
    for _ in 0..count {
        let mut s = [0u8; 12];
        f.seek(SeekFrom::Start(pos))?;
        f.read_exact(&mut s)
            .map_err(|_| PtauError::Format("truncated section list".into()))?;
        let ty = u32_at(&s, 0)?;
        let len = u64::from_le_bytes(
            s[4..12]
                .try_into()
                .map_err(|_| PtauError::Format("section".into()))?,
        );
        out.push((ty, pos + 12, len));
        pos = pos + 12 + len;
    }
    Ok(out)
}

fn section(
    f: &mut (impl Read + Seek),
    secs: &[(u32, u64, u64)],
    ty: u32,
    len: usize,
) -> Result<Vec<u8>> {
    let &(_, at, have) = secs
        .iter()
        .find(|s| s.0 == ty)
        .ok_or_else(|| PtauError::Format(format!("no section {ty}")))?;
    if (have as usize) < len {
        return Err(PtauError::Format(format!(
            "section {ty} is {have} bytes, {len} expected"
        )));
    }
    f.seek(SeekFrom::Start(at))?;
    let mut buf = vec![0u8; len];
    f.read_exact(&mut buf)
        .map_err(|_| PtauError::Format(format!("section {ty} is truncated")))?;
    Ok(buf)
}

/// Reads the `.ptau` file at `path` and converts its first `2^k` powers to halo2's `ParamsKZG`,
/// after the checks of the module docs.
pub fn read_ptau(path: &Path, k: u32) -> Result<ParamsKZG<Bn256>> {
    let mut f = BufReader::new(File::open(path)?);
    let secs = sections(&mut f)?;
    let header = section(&mut f, &secs, 1, 4 + N8 + 8)?;
    if u32_at(&header, 0)? as usize != N8 {
        return Err(PtauError::Format("field size is not 32 bytes".into()));
    }
    let q = {
        let mut repr = <Fq as PrimeField>::Repr::default();
        repr.as_mut().copy_from_slice(&header[4..4 + N8]);
        repr
    };
    // The modulus itself does not fit Fq: compare with −1 + 1 written out.
    let mut minus_one = (-Fq::ONE).to_repr();
    minus_one.as_mut()[0] = minus_one.as_ref()[0].wrapping_add(1);
    if q.as_ref() != minus_one.as_ref() {
        return Err(PtauError::Format("the base field is not BN254's".into()));
    }
    let power = u32_at(&header, 4 + N8)?;
    if power < k {
        return Err(PtauError::TooSmall {
            have: power,
            need: k,
        });
    }
    let n = 1usize << k;
    let tau_g1 = section(&mut f, &secs, 2, n * G1_BYTES)?;
    let tau_g2 = section(&mut f, &secs, 3, 2 * G2_BYTES)?;
    let g: Vec<G1Affine> = tau_g1
        .chunks_exact(G1_BYTES)
        .map(g1_from)
        .collect::<Result<_>>()?;
    let g2 = g2_from(&tau_g2[..G2_BYTES])?;
    let s_g2 = g2_from(&tau_g2[G2_BYTES..])?;
    check_powers(&g, g2, s_g2)?;
    // `from_parts` ignores its receiver; a one-point development SRS stands in for it.
    let params = crate::dev_srs(1).from_parts(k, g, None, g2, s_g2);
    Ok(params)
}

/// The checks of the module docs on the powers `g` and `(g2, s_g2)` (also run on halo2-format files).
pub fn check_powers(g: &[G1Affine], g2: G2Affine, s_g2: G2Affine) -> Result<()> {
    if g.first() != Some(&G1Affine::generator()) || g2 != G2Affine::generator() {
        return Err(PtauError::Check(
            "the first powers are not the generators".into(),
        ));
    }
    if bool::from(s_g2.is_identity()) || s_g2 == g2 {
        return Err(PtauError::Check("[τ]G2 is trivial".into()));
    }
    let mut rng = ChaCha20Rng::from_seed({
        let mut seed = [0u8; 32];
        OsRng.fill_bytes(&mut seed);
        seed
    });
    let rho: Vec<Fr> = (0..g.len() - 1).map(|_| Fr::random(&mut rng)).collect();
    let lhs = best_multiexp(&rho, &g[1..]).to_affine();
    let rhs = best_multiexp(&rho, &g[..g.len() - 1]).to_affine();
    // e(lhs, G2) · e(−rhs, [τ]G2) = 1
    let neg_rhs = (-rhs.to_curve()).to_affine();
    let gt: Gt = multi_miller_loop(&[
        (&lhs, &G2Prepared::from(g2)),
        (&neg_rhs, &G2Prepared::from(s_g2)),
    ])
    .final_exponentiation();
    if gt != Gt::identity() {
        return Err(PtauError::Check(
            "the G1 powers are not the powers of the secret in [τ]G2".into(),
        ));
    }
    Ok(())
}

/// Writes a `.ptau` file of `2^power` powers of `tau`, laid out as snarkjs writes them (header,
/// `[τ^i]G1`, `[τ^i]G2`, `[ατ^i]G1`, `[βτ^i]G1`, `[β]G2`, no contributions). Whoever calls it knows
/// the secret: it exists so that tests can make a ceremony-format file of their own.
pub fn write_ptau_with_known_secret(tau: Fr, power: u32, path: &Path) -> Result<()> {
    let n = 1usize << power;
    let powers = |count: usize, scale: Fr| {
        let mut out = Vec::with_capacity(count);
        let mut cur = scale;
        for _ in 0..count {
            out.push(cur);
            cur *= tau;
        }
        out
    };
    let g1_points = |scalars: &[Fr]| -> Vec<u8> {
        let proj: Vec<G1> = scalars.iter().map(|s| G1::generator() * s).collect();
        let mut affine = vec![G1Affine::identity(); proj.len()];
        G1::batch_normalize(&proj, &mut affine);
        affine
            .iter()
            .flat_map(|p| [fq_to_montgomery(&p.x), fq_to_montgomery(&p.y)].concat())
            .collect()
    };
    let g2_points = |scalars: &[Fr]| -> Vec<u8> {
        scalars
            .iter()
            .flat_map(|s| {
                let p = (G2::generator() * s).to_affine();
                [
                    fq_to_montgomery(&p.x.c0),
                    fq_to_montgomery(&p.x.c1),
                    fq_to_montgomery(&p.y.c0),
                    fq_to_montgomery(&p.y.c1),
                ]
                .concat()
            })
            .collect()
    };
    let (alpha, beta) = (Fr::from(7u64), Fr::from(11u64));
    let mut header = Vec::new();
    header.extend_from_slice(&(N8 as u32).to_le_bytes());
    let mut q = (-Fq::ONE).to_repr();
    q.as_mut()[0] = q.as_ref()[0].wrapping_add(1);
    header.extend_from_slice(q.as_ref());
    header.extend_from_slice(&power.to_le_bytes());
    header.extend_from_slice(&power.to_le_bytes());
    let secs: Vec<(u32, Vec<u8>)> = vec![
        (1, header),
        (2, g1_points(&powers(2 * n - 1, Fr::ONE))),
        (3, g2_points(&powers(n, Fr::ONE))),
        (4, g1_points(&powers(n, alpha))),
        (5, g1_points(&powers(n, beta))),
        (6, g2_points(&[beta])),
        (7, 0u32.to_le_bytes().to_vec()),
    ];
    let mut w = BufWriter::new(File::create(path)?);
    w.write_all(b"ptau")?;
    w.write_all(&1u32.to_le_bytes())?;
    w.write_all(&(secs.len() as u32).to_le_bytes())?;
    for (ty, data) in secs {
        w.write_all(&ty.to_le_bytes())?;
        w.write_all(&(data.len() as u64).to_le_bytes())?;
        w.write_all(&data)?;
    }
    w.flush()?;
    Ok(())
}
