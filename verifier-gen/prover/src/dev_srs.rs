//! The development SRS, computed fast.
//!
//! halo2's `ParamsKZG::setup` computes each of the `2 · 2^k` points (the powers `[s^i]G` and the
//! Lagrange basis `[L_i(s)]G`) as a variable-base scalar multiplication (about 256 doublings and
//! 128 additions each): 193 s at `k = 20` on two cores, 13 minutes at `k = 22`. Every point here
//! is a multiple of the same generator, so a table of `d · 2^(8w) · G` for each byte position `w`
//! and byte value `d` (32 × 256 affine points, computed once) turns each multiplication into 32
//! mixed additions, about eight times less work, and the Lagrange basis's inversions are done in
//! one batch. The secret is drawn from the same seeded generator in the same way, so the
//! parameters are exactly `ParamsKZG::setup`'s (checked by the tests), and so is their digest.

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1, G1Affine, G2Affine};
use halo2_base::halo2_proofs::halo2curves::ff::{BatchInvert, Field, PrimeField};
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// Multiples of one base point by any scalar, from a table of byte-sized windows.
struct FixedBase {
    /// `table[w][d] = d · 2^(8w) · G`.
    table: Vec<[G1Affine; 256]>,
}

impl FixedBase {
    fn new(base: G1) -> FixedBase {
        let windows = (Fr::NUM_BITS as usize).div_ceil(8);
        let mut table = Vec::with_capacity(windows);
        let mut window_base = base;
        for _ in 0..windows {
            let mut row = [G1::identity(); 256];
            for d in 1..256 {
                row[d] = row[d - 1] + window_base;
            }
            let mut affine = [G1Affine::identity(); 256];
            G1::batch_normalize(&row, &mut affine);
            table.push(affine);
            for _ in 0..8 {
                window_base = window_base.double();
            }
        }
        FixedBase { table }
    }

    fn mul(&self, scalar: &Fr) -> G1 {
        let repr = scalar.to_repr();
        let mut acc = G1::identity();
        for (row, byte) in self.table.iter().zip(repr.as_ref()) {
            acc += row[*byte as usize];
        }
        acc
    }

    /// `[scalars[i]]G` for every `i`, in affine form.
    fn mul_all(&self, scalars: &[Fr]) -> Vec<G1Affine> {
        let mut out = vec![G1Affine::identity(); scalars.len()];
        parallelize(&mut out, |out, start| {
            let projective: Vec<G1> = scalars[start..start + out.len()]
                .iter()
                .map(|s| self.mul(s))
                .collect();
            G1::batch_normalize(&projective, out);
        });
        out
    }
}

/// Calls `f` on `v` split in one run per core, each with its run and the run's first index (what
/// halo2's `parallelize` does; the GPU build's halo2 does not export it).
fn parallelize<T: Send>(v: &mut [T], f: impl Fn(&mut [T], usize) + Sync) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let run = v.len().div_ceil(cores).max(1);
    std::thread::scope(|scope| {
        for (i, part) in v.chunks_mut(run).enumerate() {
            let f = &f;
            scope.spawn(move || f(part, i * run));
        }
    });
}

/// The development SRS of `2^k` points from `seed`: what `ParamsKZG::setup(k, ChaCha20Rng::from_seed(seed))` returns.
pub(crate) fn setup(k: u32, seed: [u8; 32]) -> ParamsKZG<Bn256> {
    let n = 1usize << k;
    let s = Fr::random(ChaCha20Rng::from_seed(seed));
    let base = FixedBase::new(G1::generator());

    // s^i, computed in parallel runs from s^start.
    let mut powers = vec![Fr::ZERO; n];
    parallelize(&mut powers, |chunk, start| {
        let mut current = s.pow_vartime([start as u64]);
        for p in chunk.iter_mut() {
            *p = current;
            current *= s;
        }
    });
    let g = base.mul_all(&powers);

    // L_i(s) = (s^n − 1) / n · ω^i / (s − ω^i), ω the 2^k-th root of unity halo2 uses.
    let mut omega = Fr::ROOT_OF_UNITY;
    for _ in k..Fr::S {
        omega = omega.square();
    }
    let n_inv = Fr::from(n as u64).invert().unwrap_or(Fr::ZERO);
    let multiplier = (s.pow_vartime([n as u64]) - Fr::ONE) * n_inv;
    let mut roots = vec![Fr::ZERO; n];
    parallelize(&mut roots, |chunk, start| {
        let mut current = omega.pow_vartime([start as u64]);
        for r in chunk.iter_mut() {
            *r = current;
            current *= omega;
        }
    });
    let mut lagrange: Vec<Fr> = roots.iter().map(|r| s - r).collect();
    lagrange.iter_mut().batch_invert();
    for (l, r) in lagrange.iter_mut().zip(&roots) {
        *l *= multiplier * r;
    }
    let g_lagrange = base.mul_all(&lagrange);

    let g2 = G2Affine::generator();
    let s_g2 = (g2 * s).to_affine();
    // `from_parts` ignores its receiver; a one-point SRS stands in for it.
    ParamsKZG::<Bn256>::setup(0, ChaCha20Rng::from_seed(seed)).from_parts(
        k,
        g,
        Some(g_lagrange),
        g2,
        s_g2,
    )
}

#[cfg(test)]
mod tests {
    use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};

    use super::*;

    /// The fast setup is halo2's, point for point: powers, Lagrange basis and the G2 pair.
    #[test]
    fn equals_halo2s_setup() {
        let seed = *b"a test seed, not the dev srs one";
        for k in [1, 4, 7] {
            let ours = setup(k, seed);
            let theirs = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::from_seed(seed));
            assert_eq!(ours.k(), theirs.k());
            assert_eq!(ours.get_g(), theirs.get_g(), "k = {k}: powers");
            assert_eq!(ours.g2(), theirs.g2());
            assert_eq!(ours.s_g2(), theirs.s_g2(), "k = {k}: [s]G2");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            ours.write(&mut a).unwrap_or_default();
            theirs.write(&mut b).unwrap_or_default();
            assert!(
                !a.is_empty() && a == b,
                "k = {k}: serialized (Lagrange basis included)"
            );
        }
    }
}
