//! What the operator's anvil tests share beyond the harness (`rollup-test-utils`): a
//! configuration with short timeouts, the operator's logs, and one prover per test binary whose
//! proofs are kept for the run ([`prover`]).

#![allow(dead_code, unreachable_pub, unused_imports)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use rollup_operator::config::Config;
use rollup_operator::node::Operator;
use rollup_protocol::field;
use rollup_prover::{Backend, ProofArtifact, ProofKind, ProofTask};
pub use rollup_test_utils::*;

/// A configuration for tests: short timeouts, keys cached across test runs.
pub fn config(l1_rpc: String, rollup: Address, chain_id: u64, data: &Path) -> Config {
    Config {
        l1_rpc,
        rollup,
        rpc_addr: "127.0.0.1:0".parse().unwrap_or(Config::default().rpc_addr),
        data_dir: data.to_path_buf(),
        key_cache: Some(key_cache()),
        dev_srs: true,
        chain_id,
        block_time_ms: 100,
        chunk_timeout_ms: 300,
        batch_chunks: 4,
        batch_timeout_ms: 1_000,
        poll_ms: 200,
        bump_after_ms: 10_000,
        rpc_max_request_bytes: 4_096,
        ..Config::default()
    }
}

/// The operator's logs in the test output (shown with `--nocapture` or on failure).
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("rollup_operator=info")),
        )
        .try_init();
}

/// The key cache every test of the run shares (one SRS, one batch key per chunk size).
pub fn key_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keys")
}

/// [`rollup_test_utils::deploy_rollup_for`] `slots`-slot chunks, with the shared key cache.
pub fn deploy_rollup_slots(
    anvil: &alloy::node_bindings::AnvilInstance,
    slots: usize,
) -> Result<Address> {
    deploy_rollup_for(anvil, &key_cache(), slots)
}

/// The real prover (`rollup_operator::prover::load_backend`: both stages, the development SRS) for
/// `slots`-slot chunks, one per batch, loaded once per test binary, behind a proof store for the
/// run ([`Kept`]).
pub fn prover_for(cfg: &Config, slots: usize) -> Result<Arc<dyn Backend>> {
    static PROVERS: Mutex<Vec<(usize, Arc<dyn Backend>)>> = Mutex::new(Vec::new());
    let mut provers = PROVERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, p)) = provers.iter().find(|(s, _)| *s == slots) {
        return Ok(p.clone());
    }
    let inner = rollup_operator::prover::load_backend(cfg, slots, 1, None)?;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("proofs");
    std::fs::create_dir_all(&dir)?;
    let keeper = Kept {
        dir,
        busy: Mutex::new(HashMap::new()),
    };
    let kept: Arc<dyn Backend> = Arc::new(Wrapped {
        inner,
        prove: move |task: &ProofTask, inner: &dyn Backend| keeper.prove(task, inner),
    });
    provers.push((slots, kept.clone()));
    Ok(kept)
}

/// [`prover_for`] one-slot chunks (the committed verifier's).
pub fn prover(cfg: &Config) -> Result<Arc<dyn Backend>> {
    prover_for(cfg, 1)
}

/// Starts the operator with [`prover`].
pub async fn start(cfg: Config, key: PrivateKeySigner) -> Result<Operator> {
    let backend = prover(&cfg)?;
    Ok(Operator::start_with(cfg, key, backend).await?)
}

/// The real prover, keeping each proof it makes for the rest of the run (under the tests' target
/// directory), by kind, key and public inputs: the fault tests replay the same history many times,
/// and a batch proof takes minutes on 2 cores. A kept proof is a real one: it is verified natively
/// again before it is handed out, and on L1 by the real verifier. Two tasks for the same proof wait
/// for one another instead of both proving it.
#[derive(Debug)]
pub struct Kept {
    dir: PathBuf,
    busy: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Kept {
    fn name_of(task: &ProofTask, inner: &dyn Backend) -> String {
        let kind = task.kind();
        let mut bytes = format!("{kind:?}").into_bytes();
        bytes.extend(inner.vk_digest(kind).unwrap_or_default());
        for x in task.public_inputs() {
            bytes.extend(field::to_be_bytes(&x));
        }
        alloy::hex::encode(alloy::primitives::keccak256(bytes))
    }

    fn read(&self, path: &Path, kind: ProofKind) -> Option<ProofArtifact> {
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let hex = |v: &serde_json::Value| alloy::hex::decode(v.as_str()?).ok();
        Some(ProofArtifact {
            kind,
            public_inputs: json["publicInputs"]
                .as_array()?
                .iter()
                .map(|x| field::from_hex(x.as_str()?).ok())
                .collect::<Option<_>>()?,
            proof: hex(&json["proof"])?,
            vk_digest: hex(&json["vkDigest"])?.try_into().ok()?,
        })
    }
}

impl Kept {
    /// The kept proof for `task`, or `inner`'s, kept.
    fn prove(&self, task: &ProofTask, inner: &dyn Backend) -> rollup_prover::Result<ProofArtifact> {
        let name = Self::name_of(task, inner);
        let lock = self
            .busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(name.clone())
            .or_default()
            .clone();
        let _mine = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let path = self.dir.join(format!("{name}.json"));
        if let Some(kept) = self.read(&path, task.kind())
            && task.accepts(&kept)
            && inner.verify(&kept)?
        {
            return Ok(kept);
        }
        let artifact = inner.prove(task)?;
        let json = serde_json::json!({
            "publicInputs": artifact.public_inputs.iter().map(field::to_hex).collect::<Vec<_>>(),
            "proof": alloy::hex::encode(&artifact.proof),
            "vkDigest": alloy::hex::encode(artifact.vk_digest),
        });
        let tmp = path.with_extension("tmp");
        let written =
            std::fs::write(&tmp, json.to_string()).and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            eprintln!("keeping a proof in {}: {e}", path.display());
        }
        Ok(artifact)
    }
}

/// `inner` with its `prove` replaced by `prove(task, inner)`, for tests that count, hold back or
/// fail proofs; everything else is `inner`'s.
pub struct Wrapped<F> {
    /// The backend that proves.
    pub inner: Arc<dyn Backend>,
    /// What proving a task does instead.
    pub prove: F,
}

impl<F> std::fmt::Debug for Wrapped<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wrapped")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<F> Backend for Wrapped<F>
where
    F: Fn(&ProofTask, &dyn Backend) -> rollup_prover::Result<ProofArtifact> + Send + Sync,
{
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn params_digest(&self) -> [u8; 32] {
        self.inner.params_digest()
    }
    fn vk_digest(&self, kind: ProofKind) -> Option<[u8; 32]> {
        self.inner.vk_digest(kind)
    }
    fn batch_key(&self) -> Option<rollup_prover::BatchKey> {
        self.inner.batch_key()
    }
    fn last_stage(&self) -> ProofKind {
        self.inner.last_stage()
    }
    fn prove(&self, task: &ProofTask) -> rollup_prover::Result<ProofArtifact> {
        (self.prove)(task, self.inner.as_ref())
    }
    fn verify(&self, artifact: &ProofArtifact) -> rollup_prover::Result<bool> {
        self.inner.verify(artifact)
    }
}
