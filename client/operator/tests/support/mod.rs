//! What the operator's anvil tests share: a deployment with the real verifier, users with derived
//! L2 keys, a configuration with short timeouts, polling, and an L1 link that can be cut.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, U256};
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use rollup_bindings::deploy::deploy;
use rollup_bindings::rollup::Rollup;
use rollup_operator::config::Config;

use rollup_protocol::eddsa::SecretKey;

pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn hex_key(k: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::hex::encode(k.to_bytes()))
}

/// The L2 key a wallet derives from an L1 key.
pub fn l2_key(k: &PrivateKeySigner) -> Result<SecretKey> {
    Ok(rollup_bindings::keys::l2_key(k)?)
}

pub fn word(x: rollup_protocol::Fr) -> U256 {
    U256::from_be_bytes(rollup_protocol::field::to_be_bytes(&x))
}

/// anvil's keys as signers.
pub fn keys(anvil: &AnvilInstance) -> Vec<PrivateKeySigner> {
    anvil.keys().iter().cloned().map(Into::into).collect()
}

/// Deploys the system through `Deploy.s.sol` with the committed verifier (one-slot chunks) from
/// anvil's first key; returns the rollup.
pub fn deploy_rollup(anvil: &AnvilInstance) -> Result<Address> {
    let operator = keys(anvil).first().ok_or("no anvil key")?.clone();
    let deployed = deploy(
        &root(),
        &anvil.endpoint(),
        &hex_key(&operator),
        anvil.chain_id(),
        &[
            ("CHUNK_SLOTS", "1".into()),
            (
                "VERIFIER_BYTECODE",
                root()
                    .join("contracts/verifier/Halo2Verifier.bin")
                    .display()
                    .to_string(),
            ),
        ],
    )?;
    Ok(deployed.address("Rollup").ok_or("no Rollup")?)
}

/// A configuration for tests: short timeouts, keys cached across test runs.
pub fn config(l1_rpc: String, rollup: Address, chain_id: u64, data: &Path) -> Config {
    Config {
        l1_rpc,
        rollup,
        rpc_addr: "127.0.0.1:0".parse().unwrap_or(Config::default().rpc_addr),
        data_dir: data.to_path_buf(),
        key_cache: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keys")),
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
        .depositEth(word(key.x), word(key.y))
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
