//! The operator proves only for a verifier generated from the parameters it holds: started with a
//! ceremony's SRS against a rollup whose verifier came from the development SRS, it refuses to
//! start (every proof would be rejected on L1, and the mismatch means a deployment mistake). It
//! never falls back to the development SRS silently.

mod support;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use rollup_operator::Error;
use rollup_operator::node::Operator;
use support::{Result, config, deploy_rollup, keys};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_from_other_parameters_is_refused() -> Result {
    let anvil = support::anvil()?;
    let ks = keys(&anvil);
    let rollup = deploy_rollup(&anvil)?;
    let dir = std::env::temp_dir().join(format!("operator-params-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    // Neither a ceremony file nor an explicit development SRS: refused before anything starts.
    let mut cfg = config(anvil.endpoint(), rollup, anvil.chain_id(), &dir.join("a"));
    cfg.dev_srs = false;
    let err = Operator::start(cfg, ks[0].clone())
        .await
        .err()
        .ok_or("started without an SRS")?;
    assert!(
        matches!(&err, Error::Config(m) if m.contains("no SRS")),
        "{err}"
    );

    // A ceremony file (made here, secret known to the test) against the development verifier.
    let ptau = dir.join("ceremony.ptau");
    rollup_prover::ptau::write_ptau_with_known_secret(Fr::from(123_456_789u64), 14, &ptau)?;
    let mut cfg = config(anvil.endpoint(), rollup, anvil.chain_id(), &dir.join("b"));
    cfg.dev_srs = false;
    cfg.srs = Some(ptau);
    cfg.key_cache = Some(dir.join("keys"));
    let err = Operator::start(cfg, ks[0].clone())
        .await
        .err()
        .ok_or("started with the wrong SRS")?;
    let dev = alloy::primitives::B256::from(rollup_prover::development_params_digest());
    assert!(
        matches!(&err, Error::Config(m) if m.contains("L1 would reject every proof") && m.contains(&dev.to_string())),
        "{err}"
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
