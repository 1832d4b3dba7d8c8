//! The harness of the tests that run on a real L1 (anvil): the repository's pinned anvil, a
//! deployment through the production `Deploy.s.sol` with the committed verifier, users with
//! their derived L2 keys, deposits, polling, an L1 link that can be cut, and a JSON-RPC proxy that
//! misbehaves as a script says ([`proxy`]).
//!
//! For tests only: it finds anvil, the contracts and the verifier in this checkout.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rollup_bindings::deploy;
use rollup_bindings::rollup::Rollup;
use rollup_protocol::eddsa::SecretKey;
use rollup_protocol::field::to_u256;
use rollup_prover::{Backend, ProofArtifact, ProofKind, ProofTask};

pub mod proxy;

/// The tests' result: any error, reported by the test harness.
pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The repository root (this crate is `tests/harness`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's pinned anvil on a free port (killed when the instance drops).
pub fn anvil() -> Result<AnvilInstance> {
    Ok(Anvil::at(root().join("tools/bin/anvil")).try_spawn()?)
}

/// A key as `0x`-prefixed hex, as `Deploy.s.sol` and the binaries read it.
pub fn hex_key(k: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::hex::encode(k.to_bytes()))
}

/// The L2 key a wallet derives from an L1 key.
pub fn l2_key(k: &PrivateKeySigner) -> Result<SecretKey> {
    Ok(rollup_bindings::keys::l2_key(k)?)
}

/// anvil's keys as signers.
pub fn keys(anvil: &AnvilInstance) -> Vec<PrivateKeySigner> {
    anvil.keys().iter().cloned().map(Into::into).collect()
}

/// Deploys the system through `Deploy.s.sol` with the committed verifier (one-slot chunks) from
/// anvil's first key; returns the rollup.
pub fn deploy_rollup(anvil: &AnvilInstance) -> Result<Address> {
    deploy_rollup_with(anvil, &[])
}

/// Deploys the system for `slots`-slot chunks, one per batch, behind the development SRS's batch
/// verifier for them (generated once with its keys in the key cache `cache`, or read from it:
/// [`verifier_gen::dev_batch_verifier`]); returns the rollup.
pub fn deploy_rollup_for(anvil: &AnvilInstance, cache: &Path, slots: usize) -> Result<Address> {
    let path = verifier_gen::dev_batch_verifier(cache, slots, 1, anvil.chain_id())?;
    let verifier = deploy::BatchVerifier::beside(path)?;
    deploy_rollup_with(anvil, &verifier.params())
}

/// [`deploy_rollup`] with more script parameters (`FEE_RECIPIENT`, …; `VERIFIER_BYTECODE` and
/// `VERIFIER_PARAMS` default to the committed verifier's).
pub fn deploy_rollup_with(anvil: &AnvilInstance, params: &[(&str, String)]) -> Result<Address> {
    let operator = keys(anvil).first().ok_or("no anvil key")?.clone();
    let mut all = deploy::committed_verifier(&root())?.params();
    for (k, v) in params {
        all.retain(|(name, _)| name != k);
        all.push((k, v.clone()));
    }
    let deployed = deploy::deploy(
        &root(),
        &anvil.endpoint(),
        &hex_key(&operator),
        anvil.chain_id(),
        &all,
    )?;
    Ok(deployed.address("Rollup").ok_or("no Rollup")?)
}

/// Deploys the devnets' mintable ERC20 from `provider`'s wallet and registers it with `rollup`
/// (whose owner the wallet must be); its address.
pub async fn deploy_token<P: Provider>(provider: &P, rollup: Address) -> Result<Address> {
    let token = deploy::deploy_dev_token(&root(), provider).await?;
    let registered = Rollup::new(rollup, provider)
        .registerToken(token)
        .send()
        .await?
        .get_receipt()
        .await?;
    if !registered.status() {
        return Err("registerToken reverted".into());
    }
    Ok(token)
}

/// Moves `provider`'s chain past every request deadline (`REQUEST_DEADLINE_MAX_SECS` and a
/// second) and mines a block there: escape mode can then be activated.
pub async fn past_every_deadline<P: Provider>(provider: &P) -> Result {
    provider
        .raw_request::<_, serde_json::Value>(
            "evm_increaseTime".into(),
            (rollup_protocol::constants::REQUEST_DEADLINE_MAX_SECS + 1,),
        )
        .await?;
    provider
        .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
        .await?;
    Ok(())
}

/// `user` deposits `amount` wei on L1, binding its derived L2 key.
pub async fn deposit_eth(
    anvil: &AnvilInstance,
    rollup: Address,
    user: &PrivateKeySigner,
    amount: u64,
) -> Result {
    let l1 = ProviderBuilder::new()
        .wallet(EthereumWallet::from(user.clone()))
        .connect_http(anvil.endpoint_url());
    let key = l2_key(user)?.public();
    let r = Rollup::new(rollup, &l1);
    let fee = r.requestFee(user.address()).call().await?;
    let call = r
        .depositEth(to_u256(&key.x), to_u256(&key.y))
        .value(U256::from(amount) + fee);
    assert!(call.send().await?.get_receipt().await?.status());
    Ok(())
}

/// Polls `check` every 200 ms until it returns `Some`, for at most `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if start.elapsed() > limit {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A TCP link to `upstream` that can be cut: while down, connections are refused and open ones
/// dropped. Returns its URL and the switch (`true`: up).
pub async fn cuttable_link(upstream: std::net::SocketAddr) -> Result<(String, Arc<AtomicBool>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let up = Arc::new(AtomicBool::new(true));
    let switch = up.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if !up.load(Ordering::SeqCst) {
                continue;
            }
            let up = up.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let pipe = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                let cut = async {
                    while up.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                };
                tokio::select! {
                    _ = pipe => {}
                    _ = cut => {}
                }
            });
        }
    });
    Ok((url, switch))
}

/// A static HTTP server for tests of clients that read files over HTTP (snapshots, blob archives,
/// beacon APIs): `GET` of a path in `files` (the query string ignored) answers 200 with its bytes,
/// any other 404. Returns its base URL; it serves until the runtime ends.
pub async fn static_http(files: std::collections::HashMap<String, Vec<u8>>) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let files = Arc::new(files);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let files = files.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request);
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .split('?')
                    .next()
                    .unwrap_or("/")
                    .to_string();
                let (status, body) = match files.get(&path) {
                    Some(b) => ("200 OK", b.clone()),
                    None => ("404 Not Found", Vec::new()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    Ok(url)
}

/// A stand-in prover for tests of the bookkeeping around proving (the coordinator, the sequencer,
/// the RPC), never of proofs: no circuit, every proof is eight 7s for the public inputs the task
/// asks for, and it verifies exactly those.
#[derive(Debug)]
pub struct FakeBackend;

impl Backend for FakeBackend {
    fn name(&self) -> &str {
        "fake"
    }
    fn params_digest(&self) -> [u8; 32] {
        [0; 32]
    }
    fn vk_digest(&self, _: ProofKind) -> Option<[u8; 32]> {
        Some([7; 32])
    }
    fn prove(&self, task: &ProofTask) -> rollup_prover::Result<ProofArtifact> {
        let mut public_inputs = task.public_inputs();
        if task.kind().is_batch() {
            // A batch proof's shape: the accumulator's limbs, the batch's inputs, the key digest.
            public_inputs.splice(
                0..0,
                std::iter::repeat_n(
                    rollup_protocol::Fr::from(0u64),
                    rollup_prover::batch::ACCUMULATOR_INPUTS,
                ),
            );
            public_inputs.push(rollup_protocol::Fr::from(0u64));
        }
        Ok(ProofArtifact {
            kind: task.kind(),
            public_inputs,
            proof: vec![7; 8],
            vk_digest: [7; 32],
        })
    }
    fn verify(&self, a: &ProofArtifact) -> rollup_prover::Result<bool> {
        Ok(a.proof == [7; 8])
    }
}
