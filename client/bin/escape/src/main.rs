//! `escape`: the user's escape-hatch client. It needs only an L1 RPC URL and the rollup's address:
//! `sync` re-derives the L2 state from L1 data alone (checked against every finalized root,
//! resumable, reorg-aware), `status` shows whether escape is possible, `balance` and `proof` read
//! the derived state, and the other commands send the L1 transactions of an escape.
//! Results go to stdout (text, or one line of JSON with `--json`); progress and hints to stderr.
//! L1 keys come from `--private-key`/`ESCAPE_PRIVATE_KEY` or an encrypted `--keystore`.
//!
//! Exit status: 0 done; 1 refused or failed (the message says why and what to do); 2 bad usage;
//! 3 L1 could not be read within the time budget; 4 the L1 data cannot be trusted (an RPC on
//! another chain, RPCs that disagree, logs that contradict L1's state).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alloy::eips::BlockId;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, TxHash, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use clap::{Parser, Subcommand};
use eyre::{Result, WrapErr, eyre};
use indicatif::{ProgressBar, ProgressStyle};
use rollup_bindings::rollup::Rollup;
use rollup_escape::blobs::{Source, Unavailable};
use rollup_escape::derive::Derivation;
use rollup_escape::exit::l1_proof;
use rollup_escape::l1::{L1Error, L1Reader};
use rollup_escape::snapshot::Snapshot;
use rollup_escape::store::DataDir;
use rollup_escape::sync::{
    Event, Follow, SyncError, SyncOptions, Synced, check_chain, sync, sync_from,
};
use rollup_l1::RpcPolicy;
use rollup_l1::rpc::{self, GaveUp};
use rollup_protocol::constants::{REQUEST_DEADLINE_MAX_SECS, REQUEST_DEADLINE_SECS};
use rollup_protocol::eddsa::PubKey;
use rollup_protocol::{Tx, field};

#[derive(Parser)]
#[command(about = "Re-derive the rollup's L2 state from L1 alone and escape with a Merkle proof")]
struct Cli {
    /// The L1 RPC URL (`ETH_RPC_URL`, as every tool of this project and Foundry's read it).
    /// Repeat it (or separate URLs by commas) to cross-check: the first serves the sync, every
    /// other must agree with it on the block hash, `stateRoot()` and `lastFinalizedBatch()`.
    #[arg(
        long,
        env = "ETH_RPC_URL",
        global = true,
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8545"
    )]
    rpc_url: Vec<String>,
    /// The L1 chain id to sign for and to expect from every RPC (1 for Ethereum). Without it, the
    /// one the data directory pinned at its first sync.
    #[arg(long, env = "ESCAPE_L1_CHAIN_ID", global = true)]
    l1_chain_id: Option<u64>,
    /// The rollup contract's address.
    #[arg(long, env = "ESCAPE_ROLLUP", global = true)]
    rollup: Option<Address>,
    /// The key that signs and pays for L1 transactions (hex); only needed to send them.
    #[arg(
        long,
        env = "ESCAPE_PRIVATE_KEY",
        global = true,
        hide_env_values = true
    )]
    private_key: Option<String>,
    /// An encrypted JSON keystore (as geth, cast and MetaMask write) instead of `--private-key`.
    #[arg(
        long,
        env = "ESCAPE_KEYSTORE",
        global = true,
        conflicts_with = "private_key"
    )]
    keystore: Option<PathBuf>,
    /// A file holding the keystore's password (else `ESCAPE_KEYSTORE_PASSWORD`, else a prompt).
    #[arg(long, global = true)]
    password_file: Option<PathBuf>,
    /// Prints the result as one line of JSON (for scripts) instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Where the synced state is kept (one command at a time).
    #[arg(
        long,
        env = "ESCAPE_DATA_DIR",
        global = true,
        default_value = "escape-data"
    )]
    data_dir: PathBuf,
    /// The block a first sync starts from; the rollup's deployment block without it.
    #[arg(long, global = true)]
    from_block: Option<u64>,
    /// Blocks per log query at most (a provider's cap also shrinks it by itself).
    #[arg(long, global = true, default_value_t = 2_000)]
    page: u64,
    /// Follow this many blocks below the latest instead of the `finalized` block.
    #[arg(long, global = true)]
    confirmations: Option<u64>,
    /// Seconds one command may spend waiting on L1 (retries included) before it gives up.
    #[arg(long, global = true, default_value_t = 900)]
    rpc_budget: u64,
    /// Seconds one RPC request may take before it counts as lost and is retried.
    #[arg(long, global = true, default_value_t = 30)]
    rpc_timeout: u64,
    /// The L2 chain id (recorded with the state; replay does not check signatures).
    #[arg(long, global = true, default_value_t = 31337)]
    chain_id: u64,
    /// A beacon API to read blobs from (`GET /eth/v1/beacon/blobs/…`), after the data directory's
    /// cache and the L1 node; repeat it (or separate URLs by commas) for more. Beacon nodes keep
    /// blobs for about 18 days.
    #[arg(long, env = "ESCAPE_BEACON_URL", global = true, value_delimiter = ',')]
    beacon_url: Vec<String>,
    /// A blob archive, tried after the beacon APIs: a directory or an `http(s)://` base URL of
    /// `<versioned hash>.blob` files (as the data directory's `blobs/` keeps them); repeat it for more.
    #[arg(
        long,
        env = "ESCAPE_BLOB_ARCHIVE",
        global = true,
        value_delimiter = ','
    )]
    blob_archive: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Re-derives the state from L1 up to the settled head (resumes where the last sync stopped).
    Sync {
        /// A first sync starts from this state snapshot (a file, or an http(s) URL) instead of
        /// genesis, once L1 confirms its root for its batch; then reads L1 from that batch on.
        #[arg(long)]
        snapshot: Option<String>,
    },
    /// State snapshots: the whole state at a finalized batch, checked by its root.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Escape mode, the oldest request's age against its deadline, the last finalized batch.
    Status,
    /// The L2 key of the signing L1 account (`--private-key` or `--keystore`): derived from its signature of the fixed key
    /// message, as wallets do (`docs/protocol.md`, section 4). Prints the public key.
    Key,
    /// The synced balance of an (account, token).
    Balance {
        /// Account id.
        #[arg(long)]
        account: u32,
        /// Token id (0 is ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
    },
    /// Deposits ETH (or, with `--token`, an ERC20 after approving it) to the sender's L2 account,
    /// binding the L2 key derived from the sender's L1 key on the first deposit.
    Deposit {
        /// The amount in wei (or the token's base units).
        #[arg(long)]
        amount: U256,
        /// An ERC20 registered with the rollup; ETH without it.
        #[arg(long)]
        token: Option<Address>,
    },
    /// Asks L1 to force the sender's whole balance of a token out: the operator must process it
    /// before its deadline, or escape mode becomes possible.
    ForceExit {
        /// Token id (0 is ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
    },
    /// Switches the rollup into escape mode (possible once the oldest request is past its deadline).
    ActivateEscape,
    /// Syncs, then withdraws the (account, token) balance of the last finalized state to the
    /// account's L1 owner with its Merkle proof (anyone may send it; the owner is paid).
    Escape {
        /// Account id.
        #[arg(long)]
        account: u32,
        /// Token id (0 is ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
    },
    /// Pays out the sender's pending balance of a token (what escapes, refunds and executed
    /// withdrawals credited to it) to `--to`, the sender by default.
    Withdraw {
        /// Token id (0 is ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
        /// The recipient; the sender without it.
        #[arg(long)]
        to: Option<Address>,
    },
    /// In escape mode, refunds the deposits no finalized batch processed (all of them, or one
    /// owner's); each is paid to its depositor's pending balance, once.
    Reclaim {
        /// Only this depositor's deposits.
        #[arg(long)]
        owner: Option<Address>,
    },
    /// The Merkle proof of an (account, token) against the last finalized root, as JSON.
    Proof {
        /// Account id.
        #[arg(long)]
        account: u32,
        /// Token id (0 is ETH).
        #[arg(long, default_value_t = 0)]
        token: u8,
    },
}

#[derive(Subcommand)]
enum SnapshotCommand {
    /// Writes the state of the last synced batch as a snapshot (to `--out`, else to stdout), for
    /// anyone to start a sync from (`escape sync --snapshot`).
    Export {
        /// The file to write.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// How long a sent transaction's receipt is waited for before L1's state is read instead.
const RECEIPT_WAIT: Duration = Duration::from_secs(180);

/// How long L1's state is watched for a sent transaction's effect when its receipt could not be
/// read (the transaction may not be mined yet).
const STATE_WAIT: Duration = Duration::from_secs(60);

/// Whether L1's state shows the effect `check` reads, watched for [`STATE_WAIT`].
async fn l1_shows<F, Fut>(mut check: F) -> Result<bool>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = std::time::Instant::now();
    loop {
        if check().await? {
            return Ok(true);
        }
        if start.elapsed() >= STATE_WAIT {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

impl Cli {
    fn rollup(&self) -> Result<Address> {
        self.rollup
            .ok_or_else(|| eyre!("no rollup address: pass --rollup <address> or set ESCAPE_ROLLUP"))
    }

    /// Prints a command's result on stdout: one line of JSON with `--json`, else one
    /// `name  value` line per field.
    fn emit(&self, value: &serde_json::Value) {
        if self.json {
            println!("{value}");
            return;
        }
        match value.as_object() {
            Some(fields) => {
                for (name, v) in fields {
                    match v {
                        serde_json::Value::String(s) => println!("{name:<26}{s}"),
                        serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                            let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
                            println!("{name:<26}{}", pretty.replace('\n', "\n  "));
                        }
                        other => println!("{name:<26}{other}"),
                    }
                }
            }
            None => println!("{value}"),
        }
    }

    /// The RPC policy of this command: one deadline, `--rpc-budget` from its first use, shared
    /// by every provider the command makes.
    fn policy(&self) -> RpcPolicy {
        static POLICY: std::sync::OnceLock<RpcPolicy> = std::sync::OnceLock::new();
        *POLICY.get_or_init(|| {
            RpcPolicy::command(Duration::from_secs(self.rpc_budget))
                .timeout(Duration::from_secs(self.rpc_timeout.max(1)))
        })
    }

    fn primary_url(&self) -> Result<&str> {
        self.rpc_url
            .first()
            .map(String::as_str)
            .ok_or_else(|| eyre!("no L1 RPC: pass --rpc-url or set ETH_RPC_URL"))
    }

    /// A read-only provider of the first `--rpc-url`.
    fn provider(&self) -> Result<impl Provider + Clone + use<>> {
        Ok(rpc::provider(self.primary_url()?, self.policy())?)
    }

    fn data_dir(&self) -> Result<DataDir> {
        Ok(DataDir::open(&self.data_dir)?)
    }

    /// Syncs to the settled head (resuming from the data directory), then cross-checks the
    /// result against every other `--rpc-url`.
    async fn sync(&self, dir: &DataDir) -> Result<Synced> {
        self.sync_from(dir, None).await
    }

    /// [`Cli::sync`], a first sync starting from `snapshot` (a file or URL) when one is given.
    async fn sync_from(&self, dir: &DataDir, snapshot: Option<&str>) -> Result<Synced> {
        let snapshot = match snapshot {
            Some(from) => Some(Snapshot::fetch(from).await?),
            None => None,
        };
        let from_snapshot = snapshot.is_some();
        let rollup = self.rollup()?;
        let provider = self.provider()?;
        // Drawn on stderr when it is a terminal, hidden otherwise.
        let bar = ProgressBar::new(0).with_style(ProgressStyle::with_template(
            "syncing {bar:40} block {pos}/{len} ({per_sec}, {eta} left)",
        )?);
        let options = SyncOptions {
            page: self.page,
            follow: self
                .confirmations
                .map_or(Follow::Finalized, Follow::Confirmations),
            from_block: self.from_block,
            l1_chain_id: self.l1_chain_id,
            chain_id: self.chain_id,
            blob_sources: self
                .beacon_url
                .iter()
                .cloned()
                .map(Source::Beacon)
                .chain(self.blob_archive.iter().cloned().map(Source::Archive))
                .collect(),
        };
        let report = |event| {
            match event {
            Event::Page { reached, head } => {
                bar.set_length(head);
                bar.set_position(reached);
            }
            Event::RolledBack { at, to, batches } => bar.suspend(|| {
                eprintln!(
                    "L1 reorganised: block {at} is no longer the one read; went back to {} ({batches} batches) and read again from there",
                    to.map_or("the start".to_string(), |b| format!("block {b}"))
                )
            }),
            Event::PageReread { from } => bar.suspend(|| {
                eprintln!("L1 changed while blocks from {from} were read: reading them again")
            }),
            Event::Pinned(pin) => bar.suspend(|| {
                eprintln!(
                    "pinned L1 chain {} and rollup {} (deployed in block {}) to {}",
                    pin.l1_chain_id,
                    pin.rollup,
                    pin.deployment_block,
                    dir.path().display()
                )
            }),
            Event::FromSnapshot { batch, block } => bar.suspend(|| {
                eprintln!(
                    "L1 confirmed the snapshot's root for batch {batch}: starting from it, reading L1 from block {block}"
                )
            }),
        }
        };
        let synced = match snapshot {
            Some(s) => sync_from(&provider, dir, rollup, options, s, report).await,
            None => sync(&provider, dir, rollup, options, report).await,
        };
        bar.finish_and_clear();
        let synced = synced?;
        for url in self.rpc_url.iter().skip(1) {
            let checked = cross_check(url, self.policy(), &synced)
                .await
                .wrap_err_with(|| format!("cross-checking {} against {url}", self.rpc_url[0]));
            if let Err(e) = checked {
                if from_snapshot {
                    // A base no later sync can roll back past must not stay on one RPC's word.
                    dir.reset()?;
                    return Err(e.wrap_err(
                        "the data directory started from the snapshot was emptied again",
                    ));
                }
                return Err(e);
            }
        }
        Ok(synced)
    }

    /// The L1 key of `--private-key` or `--keystore`.
    fn signer(&self) -> Result<PrivateKeySigner> {
        Ok(rollup_bindings::keys::KeySource {
            private_key: self.private_key.as_deref(),
            keystore: self.keystore.as_deref(),
            password_file: self.password_file.as_deref(),
            env_prefix: "ESCAPE",
        }
        .signer()?)
    }

    /// The L1 key and the L2 public key a wallet derives from it (its signature of the fixed
    /// key message, `docs/protocol.md` section 4).
    fn l2_key(&self) -> Result<(PrivateKeySigner, PubKey)> {
        let signer = self.signer()?;
        let key = rollup_bindings::keys::l2_key(&signer)?.public();
        Ok((signer, key))
    }

    /// The chain to sign for: `--l1-chain-id`, else the one the data directory pinned (and
    /// whether it is the pinned one).
    fn signing_chain(&self) -> Result<(u64, bool)> {
        let pinned = if self.data_dir.join("progress.json").exists() {
            self.data_dir()?.load()?.map(|(p, _)| p.pin.l1_chain_id)
        } else {
            None
        };
        match (self.l1_chain_id, pinned) {
            (Some(given), Some(p)) if given != p => Err(SyncError::WrongChain {
                rpc: given,
                expected: p,
                why: "--l1-chain-id differs from the data directory's: it was synced on",
                hint: ", or another --data-dir",
            }
            .into()),
            (Some(id), pinned) => Ok((id, pinned.is_some())),
            (None, Some(id)) => Ok((id, true)),
            (None, None) => Err(eyre!(
                "signing needs the L1 chain id: pass --l1-chain-id (1 for Ethereum), or run `escape sync` first so that the data directory pins it"
            )),
        }
    }

    /// A provider that signs with `--private-key` for the pinned chain, once the RPC has shown it
    /// serves that chain: a transaction is never signed for a chain the user did not name.
    async fn wallet(&self) -> Result<impl Provider + Clone + use<>> {
        let (chain, pinned) = self.signing_chain()?;
        let signer = self.signer()?;
        let client = rpc::client(self.primary_url()?, self.policy())?;
        let provider = ProviderBuilder::new()
            .with_chain_id(chain)
            .wallet(EthereumWallet::from(signer))
            .connect_client(client);
        if pinned {
            check_chain(&provider, None, Some(chain)).await?;
        } else {
            check_chain(&provider, Some(chain), None).await?;
        }
        // A transaction of this account still in the pool may be one this tool sent before its
        // answer was lost: sending again would sign a second one (a second deposit and fee).
        let from = self.signer()?.address();
        let mined = provider.get_transaction_count(from).latest().await?;
        let pooled = provider.get_transaction_count(from).pending().await?;
        if pooled > mined {
            return Err(eyre!(
                "{from} has {} transaction(s) waiting in the pool (nonces {mined}..{pooled}): wait until they are mined, or check them (`cast nonce --block pending {from}`), before sending again",
                pooled - mined
            ));
        }
        Ok(provider)
    }

    /// The derivation of the last sync.
    fn synced(&self) -> Result<(Derivation, Vec<Address>)> {
        let dir = self.data_dir()?;
        let Some((progress, batches)) = dir.load()? else {
            return Err(eyre!(
                "no synced state in {}: run `escape sync` first",
                self.data_dir.display()
            ));
        };
        Ok((dir.derivation(batches)?, progress.tokens))
    }
}

/// `url` must agree with the sync's result at its last block.
async fn cross_check(url: &str, policy: RpcPolicy, synced: &Synced) -> Result<()> {
    let other = rpc::provider(url, policy)?;
    check_chain(&other, Some(synced.pin.l1_chain_id), None).await?;
    let tip = synced.tip;
    let block = other
        .get_block_by_number(tip.number.into())
        .await?
        .ok_or_else(|| {
            SyncError::Inconsistent(format!(
                "{url} has no block {} yet: it is behind; try again later",
                tip.number
            ))
        })?;
    if block.header.hash != tip.hash {
        return Err(SyncError::Inconsistent(format!(
            "block {} is {} there but {} through the first RPC: one of them is on another fork or lying; trust neither until they agree",
            tip.number, block.header.hash, tip.hash
        ))
        .into());
    }
    let r = Rollup::new(synced.pin.rollup, &other);
    let at = BlockId::hash(tip.hash);
    let root = r.stateRoot().block(at).call().await?;
    let last = r.lastFinalizedBatch().block(at).call().await?;
    let derived = field::to_u256(&synced.derivation.state().root());
    if root != derived || last != U256::from(synced.derivation.last_batch()) {
        return Err(SyncError::Inconsistent(format!(
            "at block {} it reports batch {last} with root {root:#066x}, but the sync derived batch {} with root {derived:#066x}: one RPC is lying; trust neither until they agree",
            tip.number,
            synced.derivation.last_batch()
        ))
        .into());
    }
    Ok(())
}

alloy::sol! {
    /// The one ERC20 function a deposit needs.
    #[sol(rpc)]
    interface Erc20 {
        function approve(address spender, uint256 amount) external returns (bool);
    }
}

/// A simulated call's revert, decoded into the rollup's custom error, with the step that failed.
fn explain(err: &alloy::contract::Error, what: &str) -> eyre::Report {
    match rollup_bindings::rollup_error(err) {
        Some(e) => eyre!("{what}: the rollup refuses: {e:?}"),
        None => eyre!("{what}: {err}"),
    }
}

/// What became of a sent transaction.
enum Sent {
    /// Mined; its receipt.
    Mined(Box<TransactionReceipt>),
    /// Sent, but no receipt could be read in time.
    Unknown(TxHash),
}

/// Simulates `call` (a revert is explained before anything is signed), sends it and waits for
/// its receipt; a transaction mined but reverted is an error.
async fn send<P: Provider, D: alloy::contract::CallDecoder>(
    call: &alloy::contract::CallBuilder<P, D>,
    what: &str,
) -> Result<Sent> {
    call.call().await.map_err(|e| explain(&e, what))?;
    let pending = call.send().await.map_err(|e| explain(&e, what))?;
    let hash = *pending.tx_hash();
    eprintln!("{what}: sent as {hash}");
    match pending.with_timeout(Some(RECEIPT_WAIT)).get_receipt().await {
        Ok(receipt) if receipt.status() => Ok(Sent::Mined(Box::new(receipt))),
        Ok(receipt) => Err(eyre!(
            "{what}: transaction {} was mined but reverted",
            receipt.transaction_hash
        )),
        Err(e) => {
            eprintln!("{what}: sent as {hash}, but its receipt could not be read ({e})");
            Ok(Sent::Unknown(hash))
        }
    }
}

/// What is reported as the transaction of an effect L1 shows, when the receipt of the one sent
/// could not be read: nothing, since another sender's transaction may have had that effect.
fn done_by_someone(hash: TxHash, what: &str) -> Option<TxHash> {
    eprintln!(
        "{what}: L1 shows it done; the receipt of {hash} could not be read, so it may have been another sender's transaction"
    );
    None
}

/// The receipt of a transaction whose outcome only L1's state could tell otherwise.
fn mined(sent: Sent, what: &str) -> Result<TransactionReceipt> {
    match sent {
        Sent::Mined(r) => Ok(*r),
        Sent::Unknown(hash) => Err(eyre!(
            "{what}: sent as {hash}, but whether it was mined is unknown: look it up (`cast receipt {hash}`) before sending again"
        )),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The causes on one line, without a backtrace or a source location.
            eprintln!("error: {e:#}");
            ExitCode::from(exit_status(&e))
        }
    }
}

/// The exit status for an error (see the crate's documentation).
fn exit_status(e: &eyre::Report) -> u8 {
    for cause in e.chain() {
        // L1, or a batch's blob, could not be read: another try, RPC or blob source may do.
        if cause.downcast_ref::<GaveUp>().is_some() || cause.downcast_ref::<Unavailable>().is_some()
        {
            return 3;
        }
        match cause.downcast_ref::<SyncError>() {
            Some(
                SyncError::Inconsistent(_)
                | SyncError::Snapshot(_)
                | SyncError::WrongChain { .. }
                | SyncError::NotTheRollup { .. }
                | SyncError::OtherRollup { .. },
            ) => return 4,
            Some(SyncError::L1(L1Error::Malformed { .. }) | SyncError::Derive(_)) => return 4,
            _ => {}
        }
    }
    1
}

async fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Snapshot(SnapshotCommand::Export { out }) => {
            let dir = cli.data_dir()?;
            let Some((progress, batches)) = dir.load()? else {
                return Err(eyre!(
                    "no synced state in {}: run `escape sync` first",
                    cli.data_dir.display()
                ));
            };
            let snapshot = Snapshot::of(&dir.derivation(batches)?, &progress.pin)?;
            match out {
                Some(path) => {
                    snapshot.write(path)?;
                    cli.emit(&serde_json::json!({
                        "file": path,
                        "batch": snapshot.batch,
                        "stateRoot": field::to_hex(&snapshot.state_root),
                        "accounts": snapshot.accounts.len(),
                    }));
                }
                None => println!("{}", serde_json::to_string(&snapshot)?),
            }
        }
        Command::Sync { snapshot } => {
            let dir = cli.data_dir()?;
            let s = cli.sync_from(&dir, snapshot.as_deref()).await?;
            cli.emit(&serde_json::json!({
                "l1ChainId": s.pin.l1_chain_id,
                "block": s.tip.number,
                "blockHash": s.tip.hash,
                "lastFinalizedBatch": s.derivation.last_batch(),
                "stateRoot": field::to_hex(&s.derivation.state().root()),
                "accounts": s.derivation.state().account_ids().count(),
            }));
        }
        Command::Status => status(cli).await?,
        Command::Balance { account, token } => {
            let (d, tokens) = cli.synced()?;
            known(&d, &tokens, *account, *token)?;
            let balance = d.state().balance(*account, *token);
            cli.emit(&serde_json::json!({ "account": account, "token": token, "balance": balance.to_string() }));
        }
        Command::Key => {
            let (signer, key) = cli.l2_key()?;
            cli.emit(&serde_json::json!({
                "l1Address": signer.address(),
                "pubkeyX": field::to_hex(&key.x),
                "pubkeyY": field::to_hex(&key.y),
                "compressed": format!("0x{}", alloy::hex::encode(key.compress())),
            }));
        }
        Command::Deposit { amount, token } => deposit(cli, *amount, *token).await?,
        Command::ForceExit { token } => {
            let from = cli.signer()?.address();
            let rollup = Rollup::new(cli.rollup()?, cli.wallet().await?);
            let fee = rollup.requestFee(from).call().await?;
            eprintln!("request fee {fee} wei (paid to the operator, not refunded)");
            let call = rollup.requestForcedExit(*token).value(fee);
            let receipt = mined(
                send(&call, "requesting a forced exit").await?,
                "the request",
            )?;
            eprintln!(
                "the operator must process it within the request deadline, or escape mode opens"
            );
            cli.emit(&serde_json::json!({ "transaction": receipt.transaction_hash, "fee": fee.to_string() }));
        }
        Command::ActivateEscape => {
            let rollup = Rollup::new(cli.rollup()?, cli.wallet().await?);
            let call = rollup.activateEscapeMode();
            let sent = send(&call, "activating escape mode").await?;
            let active = match &sent {
                Sent::Mined(_) => rollup.escapeMode().call().await?,
                Sent::Unknown(_) => {
                    l1_shows(|| async { Ok(rollup.escapeMode().call().await?) }).await?
                }
            };
            let transaction = match sent {
                Sent::Mined(r) => Some(r.transaction_hash),
                Sent::Unknown(h) if active => done_by_someone(h, "activating escape mode"),
                Sent::Unknown(h) => {
                    return Err(eyre!(
                        "activating escape mode: sent as {h}, but L1 is not in escape mode yet: run the command again later"
                    ));
                }
            };
            cli.emit(&serde_json::json!({ "transaction": transaction, "escapeMode": active }));
        }
        Command::Escape { account, token } => escape(cli, *account, *token).await?,
        Command::Withdraw { token, to } => withdraw(cli, *token, *to).await?,
        Command::Reclaim { owner } => reclaim(cli, *owner).await?,
        Command::Proof { account, token } => {
            let (d, tokens) = cli.synced()?;
            known(&d, &tokens, *account, *token)?;
            let proof = d.state().balance_proof(*account, *token)?;
            let mut json = serde_json::to_value(&proof)?;
            // A balance may exceed 2^53: as a decimal string, like every amount this tool prints.
            json["balance"] = proof.balance.to_string().into();
            cli.emit(&json);
        }
    }
    Ok(())
}

/// `account` and `token` must exist in the synced state.
fn known(d: &Derivation, tokens: &[Address], account: u32, token: u8) -> Result<()> {
    if usize::from(token) >= tokens.len() {
        return Err(eyre!(
            "token {token} is not registered with the rollup ({} tokens, 0 is ETH)",
            tokens.len()
        ));
    }
    if d.state().account(account).is_none() {
        return Err(eyre!(
            "account {account} does not exist in the state finalized at batch {} ({} accounts): check the id (`escape key` shows yours), or sync again",
            d.last_batch(),
            d.state().account_ids().count()
        ));
    }
    Ok(())
}

async fn status(cli: &Cli) -> Result<()> {
    let rollup = cli.rollup()?;
    let provider = cli.provider()?;
    let pinned = if cli.data_dir.join("progress.json").exists() {
        cli.data_dir()?.load()?.map(|(p, _)| p.pin.l1_chain_id)
    } else {
        None
    };
    check_chain(&provider, cli.l1_chain_id, pinned).await?;
    // Every value at one block, by its hash, so that they agree with each other.
    let head = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .ok_or_else(|| eyre!("the RPC has no latest block"))?;
    let at = BlockId::hash(head.header.hash);
    let r = Rollup::new(rollup, &provider);
    let escape_mode = r.escapeMode().block(at).call().await?;
    let age = r.oldestRequestAge().block(at).call().await?;
    // Deadlines account for the queue (docs/protocol.md, section 9): read the oldest
    // unprocessed request's own deadline and compare it with the head's clock, as L1 will.
    let finalized = r.finalizedRequests().block(at).call().await?;
    let total = r.totalRequests().block(at).call().await?;
    let deadline = if finalized < total {
        Some(r.request(finalized).block(at).call().await?.deadline)
    } else {
        None
    };
    let now = head.header.timestamp;
    let overdue = !escape_mode && deadline.is_some_and(|d| now > d);
    let json = serde_json::json!({
        "block": head.header.number,
        "escapeMode": escape_mode,
        "lastFinalizedBatch": r.lastFinalizedBatch().block(at).call().await?.to_string(),
        "stateRoot": format!("{:#066x}", r.stateRoot().block(at).call().await?),
        "oldestRequestAgeSeconds": age.to_string(),
        "oldestRequestDeadline": deadline,
        "minRequestDeadlineSeconds": REQUEST_DEADLINE_SECS,
        "maxRequestDeadlineSeconds": REQUEST_DEADLINE_MAX_SECS,
        "escapeCanBeActivated": overdue,
    });
    if overdue {
        eprintln!("the oldest request is past its deadline: anyone can activate escape mode");
    }
    cli.emit(&json);
    Ok(())
}

async fn deposit(cli: &Cli, amount: U256, token: Option<Address>) -> Result<()> {
    let (signer, key) = cli.l2_key()?;
    let (x, y) = (field::to_u256(&key.x), field::to_u256(&key.y));
    let provider = cli.wallet().await?;
    let rollup = Rollup::new(cli.rollup()?, &provider);
    // The request fee is read at the head; it only changes when the backlog crosses a doubling step.
    let fee = rollup.requestFee(signer.address()).call().await?;
    eprintln!("request fee {fee} wei (paid to the operator, not refunded)");
    let receipt = match token {
        None => {
            let call = rollup.depositEth(x, y).value(amount + fee);
            mined(send(&call, "depositing").await?, "the deposit")?
        }
        Some(t) => {
            let erc20 = Erc20::new(t, &provider);
            let approve = erc20.approve(*rollup.address(), amount);
            mined(send(&approve, "approving the token").await?, "the approval")?;
            let call = rollup.depositErc20(t, amount, x, y).value(fee);
            mined(send(&call, "depositing").await?, "the deposit")?
        }
    };
    let account = rollup.accountOf(signer.address()).call().await?;
    cli.emit(&serde_json::json!({
        "transaction": receipt.transaction_hash,
        "account": account.accountId,
        "fee": fee.to_string(),
    }));
    Ok(())
}

async fn escape(cli: &Cli, account: u32, token: u8) -> Result<()> {
    let synced = {
        let dir = cli.data_dir()?;
        cli.sync(&dir).await?
    };
    known(&synced.derivation, &synced.tokens, account, token)?;
    let proof = synced.derivation.state().balance_proof(account, token)?;
    let rollup = Rollup::new(cli.rollup()?, cli.wallet().await?);
    let key = (U256::from(account) << 8) | U256::from(token);
    let owner = proof.account.owner;
    let done = |transaction: Option<TxHash>, note: &str| {
        eprintln!(
            "{} of token {token} {note} {owner}: that address withdraws it with `escape withdraw --token {token}`",
            proof.balance
        );
        cli.emit(&serde_json::json!({
            "transaction": transaction,
            "owner": owner,
            "token": token,
            "amount": proof.balance.to_string(),
        }));
    };
    if rollup.escaped(key).call().await? {
        done(None, "was already escaped: it was credited to");
        return Ok(());
    }
    if proof.balance == 0 {
        return Err(eyre!(
            "account {account} holds nothing of token {token} in the state finalized at batch {}: there is nothing to escape",
            synced.derivation.last_batch()
        ));
    }
    let on_l1 = rollup.stateRoot().call().await?;
    if on_l1 != field::to_u256(&synced.derivation.state().root()) {
        return Err(eyre!(
            "L1's latest stateRoot() {on_l1:#066x} is not the root synced at block {} (batch {}): the batch that set it is not settled yet; wait for it to be finalized on L1 (or pass --confirmations N) and run the command again",
            synced.tip.number,
            synced.derivation.last_batch()
        ));
    }
    let call = rollup.escape(l1_proof(&proof)?);
    match send(&call, "escaping").await? {
        Sent::Mined(r) => done(Some(r.transaction_hash), "credited to"),
        Sent::Unknown(hash)
            if l1_shows(|| async { Ok(rollup.escaped(key).call().await?) }).await? =>
        {
            done(done_by_someone(hash, "escaping"), "credited to")
        }
        Sent::Unknown(hash) => {
            return Err(eyre!(
                "escaping: sent as {hash}, but L1 does not show the escape yet: run the same command again later (it never pays twice)"
            ));
        }
    }
    Ok(())
}

async fn withdraw(cli: &Cli, token: u8, to: Option<Address>) -> Result<()> {
    let signer = cli.signer()?;
    let to = to.unwrap_or(signer.address());
    let rollup = Rollup::new(cli.rollup()?, cli.wallet().await?);
    let amount = rollup.pending(signer.address(), token).call().await?;
    if amount.is_zero() {
        return Err(eyre!(
            "{} has nothing pending of token {token}: escape, reclaim or an executed withdrawal credits it first",
            signer.address()
        ));
    }
    let call = rollup.withdrawPending(token, to);
    let transaction = match send(&call, "withdrawing").await? {
        Sent::Mined(r) => r.transaction_hash,
        Sent::Unknown(hash)
            if l1_shows(|| async {
                Ok(rollup
                    .pending(signer.address(), token)
                    .call()
                    .await?
                    .is_zero())
            })
            .await? =>
        {
            hash
        }
        Sent::Unknown(hash) => {
            return Err(eyre!(
                "withdrawing: sent as {hash}, but the pending balance is still there: run the command again later"
            ));
        }
    };
    cli.emit(&serde_json::json!({
        "transaction": transaction,
        "token": token,
        "to": to,
        "amount": amount.to_string(),
    }));
    Ok(())
}

async fn reclaim(cli: &Cli, owner: Option<Address>) -> Result<()> {
    let address = cli.rollup()?;
    let provider = cli.wallet().await?;
    let rollup = Rollup::new(address, &provider);
    let head = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .ok_or_else(|| eyre!("the RPC has no latest block"))?;
    let at = BlockId::hash(head.header.hash);
    let first = u64::try_from(rollup.finalizedRequests().block(at).call().await?)?;
    let total = u64::try_from(rollup.totalRequests().block(at).call().await?)?;
    let from = match cli.from_block {
        Some(b) => b,
        None => u64::try_from(rollup.DEPLOYMENT_BLOCK().call().await?)?,
    };
    let reader = L1Reader::new(&provider, address, 1, cli.page);
    let requests = reader.requests(from, head.header.number, first).await?;
    let seen: std::collections::BTreeSet<u64> = requests.iter().map(|r| r.index).collect();
    let unseen: Vec<u64> = (first..total).filter(|i| !seen.contains(i)).collect();
    let mut refunded = Vec::new();
    let mut already = Vec::new();
    for request in requests {
        let index = request.index;
        let Ok(Tx::Deposit(deposit)) = Tx::decode(&request.record) else {
            continue;
        };
        if owner.is_some_and(|o| o != deposit.owner) {
            continue;
        }
        if rollup.refunded(U256::from(index)).call().await? {
            already.push(index);
            continue;
        }
        let call = rollup.refundDeposit(U256::from(index), request.record.into());
        let transaction = match send(&call, &format!("refunding request {index}")).await? {
            Sent::Mined(r) => Some(r.transaction_hash),
            Sent::Unknown(hash)
                if l1_shows(|| async { Ok(rollup.refunded(U256::from(index)).call().await?) })
                    .await? =>
            {
                done_by_someone(hash, &format!("refunding request {index}"))
            }
            Sent::Unknown(hash) => {
                return Err(eyre!(
                    "refunding request {index}: sent as {hash}, but L1 does not show the refund yet: run the command again later (it never refunds twice)"
                ));
            }
        };
        refunded.push(serde_json::json!({ "request": index, "depositor": deposit.owner, "transaction": transaction }));
    }
    cli.emit(&serde_json::json!({
        "refunded": refunded,
        "alreadyRefunded": already,
        "unfinalizedRequests": format!("{first}..{total}"),
        "unseenRequests": unseen,
    }));
    if !unseen.is_empty() {
        return Err(SyncError::Inconsistent(format!(
            "requests {unseen:?} of the {} unfinalized ones ({first}..{total}) are not in the RPC's logs from block {from}: any deposit among them was not refunded; run the command again through another --rpc-url",
            total - first
        ))
        .into());
    }
    Ok(())
}
