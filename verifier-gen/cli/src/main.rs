//! `verifier-gen`: SRS, keys, proofs, the Solidity verifier and the Foundry fixtures of the
//! chunk circuit. Machine-readable results go to stdout, progress and timings to stderr.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use eyre::{Result, WrapErr, bail};
use halo2_base::halo2_proofs::dev::{AdviceCellValue, MockProver};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::ProvingKey;
use halo2_base::halo2_proofs::plonk::{Circuit, ConstraintSystem};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rollup_circuits::chunk::{ChunkCircuit, instances};
use rollup_circuits::sample;
use rollup_protocol::Chunk;
use rollup_protocol::field;
use rollup_prover as prover;
use rollup_prover::SrsSource;
use rollup_prover::ptau::params_digest;

#[derive(Parser)]
#[command(about = "Keys, proofs and the Solidity verifier of the rollup's chunk circuit")]
struct Cli {
    /// Transaction slots per chunk (the deployment's CHUNK_SLOTS).
    #[arg(long, default_value_t = verifier_gen::REFERENCE_SLOTS, global = true)]
    slots: usize,
    /// Chain id signed into L2 transactions.
    #[arg(long, default_value_t = verifier_gen::REFERENCE_CHAIN_ID, global = true)]
    chain_id: u64,
    /// log2 of the circuit's rows: 13 holds 1 slot, 14 holds 2, 15 holds 5, 16 holds 10, 17 holds 20.
    #[arg(long, default_value_t = verifier_gen::REFERENCE_K, global = true)]
    k: u32,
    /// A ceremony's SRS: a snarkjs `.ptau` file (Perpetual Powers of Tau; converted and checked by
    /// pairings) or halo2's ParamsKZG format. One of --srs and --dev-srs is required.
    #[arg(long, global = true, conflicts_with = "dev_srs")]
    srs: Option<PathBuf>,
    /// Use the development SRS from a public seed, cached under --cache. UNSAFE: anyone can forge
    /// proofs for a verifier generated from it; devnets and tests only.
    #[arg(long, global = true)]
    dev_srs: bool,
    /// Where the development SRS and the keys are cached (outside git).
    #[arg(long, default_value = "target/verifier-gen", global = true)]
    cache: PathBuf,
    /// The proving stage `keygen`, `solidity` and `fixtures` work on: chunk proofs, or batch proofs
    /// (the batch circuit over --capacity chunk proofs of the chunk circuit the other flags name).
    #[arg(long, value_enum, default_value_t = Stage::Chunk, global = true)]
    stage: Stage,
    /// Chunk proofs per batch proof (`--stage batch`).
    #[arg(long, default_value_t = verifier_gen::REFERENCE_CAPACITY, global = true)]
    capacity: usize,
    /// log2 of the batch circuit's rows (`--stage batch`).
    #[arg(long, default_value_t = verifier_gen::REFERENCE_BATCH_K, global = true)]
    batch_k: u32,
    /// Levels of aggregation nodes (two proofs each, `rollup_prover::node`) below the batch circuit,
    /// which then verifies --capacity / 2^depth node proofs (`--stage batch|compress`,
    /// `batch-bench`): 0, the batch circuit verifies the chunk proofs itself.
    #[arg(long, default_value_t = 0, global = true)]
    depth: u32,
    /// log2 of the node circuits' rows (`--depth` above 0).
    #[arg(long, default_value_t = prover::node::DEFAULT_K, global = true)]
    node_k: u32,
    /// log2 of the compression circuit's rows (`--stage compress`, `batch-bench --compress`).
    #[arg(long, default_value_t = prover::compress::DEFAULT_K, global = true)]
    compress_k: u32,
    #[command(subcommand)]
    command: Command,
}

/// A stage of the proving pipeline.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Stage {
    /// The chunk circuit.
    Chunk,
    /// The batch circuit.
    Batch,
    /// The compression circuit over the batch circuit the other flags name: the thin last stage,
    /// whose verifier L1 runs when the operator compresses (`compress = true`).
    Compress,
}

#[derive(Subcommand)]
enum Command {
    /// Creates (or loads, or converts from a `.ptau` file) the SRS; prints its path, its parameters
    /// digest (what `Halo2BatchVerifier.PARAMS_DIGEST` reads on L1) and whether it is the
    /// development SRS, as JSON.
    Setup,
    /// Generates the proving key (cached); prints its path.
    Keygen,
    /// Proves a chunk the core executed (its JSON, as `rollup_protocol::Chunk` serializes); prints
    /// the public inputs and the proof as JSON.
    Prove {
        /// The chunk's JSON file.
        #[arg(long)]
        chunk: PathBuf,
    },
    /// Writes the stage's Solidity verifier and its creation bytecode (`.bin`, compiled by the `solc`
    /// on PATH); for the batch stage, prints the chunk key digest the verifier's adapter pins.
    Solidity {
        /// Output file [default: target/verifier-gen/Halo2ChunkVerifier.sol (chunk proofs are not
        /// verified on L1), or contracts/verifier/Halo2BatchVerifier.sol, with its deployment
        /// parameters in Halo2BatchVerifier.json].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Measures one full chunk of signed transfers: keygen and proving time, peak memory, proof
    /// size and verification gas on revm; prints them as JSON. Build with `--release`.
    Bench,
    /// Measures the batch stage over the sample history's first `--chunks` chunks (chunk proofs with
    /// the Poseidon transcript at --k, then one batch proof at --batch-k for --capacity chunk
    /// proofs): each stage's keygen and proving time, the process's peak memory after each, the batch
    /// proof's size, its verifier's size and its verification gas on revm; prints them as JSON. Keys
    /// and SRS are cached under --cache. Build with `--release`.
    BatchBench {
        /// Chunks in the batch (1 to 4: the sample history has four; at most --capacity).
        #[arg(long, default_value_t = 1)]
        chunks: usize,
        /// Compress the batch proof (made with the Poseidon transcript) at --compress-k and measure
        /// that stage too; the verifier measured is then the compression circuit's.
        #[arg(long)]
        compress: bool,
    },
    /// Times the two proving stages a GPU changes most with the prover this binary was built with
    /// (the `cuda` feature: the GPU prover; else the CPU's): a full chunk of signed transfers
    /// proven --runs times, then a level-1 aggregation node at --node-k over two chunk proofs of
    /// the sample history, proven --runs times. Prints the keygen and proving times (each run and
    /// the median), the peak memory and the keys' digests as JSON, so that a CPU build's run and a
    /// GPU build's compare line by line (scripts/gpu-bench). Build with `--release`.
    StageBench {
        /// Proofs of each stage to time.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Lays out full chunks of 1 and 2 slots (MockProver, no SRS) and prints their rows and the rows
    /// one more slot costs as JSON: the circuit's size per slot, measured.
    Rows,
    /// Proves a sample history from genesis (the fee account, two deposits, a transfer; one chunk
    /// each) as L1 would see it, and writes the Foundry fixture: `--stage batch`, each chunk as a
    /// batch of its own with a batch proof over its recursive chunk proof; `--stage compress`,
    /// batches of --capacity chunks, each batch proof compressed, with the compression verifier.
    Fixtures {
        /// Output file [default: contracts/test/vectors/batch_proofs.json, or
        /// compressed_proofs.json beside it for `--stage compress`].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Chunks per batch, in order (e.g. `1,3`: a padded batch, then a fuller one), summing to
        /// the sample history's chunks, each at most --capacity [default: --capacity each].
        #[arg(long, value_delimiter = ',')]
        batch_sizes: Vec<usize>,
    },
}

/// Reports a node proven ([`prover::node::BatchTree::prove`]) on stderr.
fn node_progress(level: u32, position: usize, seconds: f64) {
    eprintln!("level-{level} node {position}: {seconds:.1} s");
}

fn step<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("{what} ...");
    let t = Instant::now();
    let out = f()?;
    eprintln!("{what}: {:.1} s", t.elapsed().as_secs_f64());
    Ok(out)
}

impl Cli {
    /// The SRS the flags name; neither flag is an error, never a silent development SRS.
    fn source(&self) -> Result<SrsSource> {
        match (&self.srs, self.dev_srs) {
            (Some(path), _) => Ok(SrsSource::File(path.clone())),
            (None, true) => {
                eprintln!(
                    "warning: development SRS from a public seed: anyone can forge proofs for its verifier (devnets and tests only)"
                );
                Ok(SrsSource::Development)
            }
            (None, false) => bail!(
                "no SRS given: pass --srs <ceremony .ptau or ParamsKZG file> (see docs/srs.md), or --dev-srs for a devnet (UNSAFE: anyone can forge proofs)"
            ),
        }
    }

    fn srs(&self) -> Result<ParamsKZG<Bn256>> {
        let source = self.source()?;
        step(&format!("SRS 2^{}", self.k), || {
            Ok(source.load(&self.cache, self.k)?)
        })
    }

    fn pk_path(&self, params: &ParamsKZG<Bn256>) -> PathBuf {
        prover::ArtifactCache::new(&self.cache).chunk_pk(
            &prover::ChunkShape {
                slots: self.slots,
                chain_id: self.chain_id,
                k: self.k,
            },
            &params_digest(params),
        )
    }

    /// The proving key, from the cache when there.
    fn pk(&self, params: &ParamsKZG<Bn256>) -> Result<ProvingKey<G1Affine>> {
        let path = self.pk_path(params);
        let what = if path.exists() {
            "load proving key"
        } else {
            "keygen"
        };
        step(what, || {
            Ok(prover::cached_pk(params, &path, self.slots, self.chain_id)?)
        })
    }

    fn prove(
        &self,
        params: &ParamsKZG<Bn256>,
        pk: &ProvingKey<G1Affine>,
        chunk: &Chunk,
    ) -> Result<Vec<u8>> {
        let circuit = ChunkCircuit::new(chunk, self.slots, self.chain_id)?;
        step("prove", || {
            Ok(prover::prove(params, pk, circuit, &instances(chunk))?)
        })
    }
}

impl Cli {
    /// The chunk prover the flags name (SRS and cached key).
    fn chunk_prover(&self) -> Result<prover::ChunkProver> {
        let source = self.source()?;
        step("chunk SRS and keys", || {
            Ok(prover::ChunkProver::load(
                &self.cache,
                &source,
                self.slots,
                self.chain_id,
                self.k,
            )?)
        })
    }

    /// The batch prover the flags name, over [`Cli::chunk_prover`]'s chunk circuit (keys generated
    /// and cached on first use), with its tree of nodes at --depth.
    fn batch_prover(&self) -> Result<prover::node::BatchTree> {
        let chunk = self.chunk_prover()?;
        self.batch_prover_of(&chunk)
    }

    /// The compression prover the flags name, over `batch` (keys generated and cached on first
    /// use).
    fn compress_prover(
        &self,
        batch: &prover::batch::BatchProver,
    ) -> Result<prover::compress::CompressProver> {
        let source = self.source()?;
        step(
            &format!("compression SRS 2^{} and keys", self.compress_k),
            || {
                Ok(prover::compress::CompressProver::load(
                    &self.cache,
                    &source,
                    batch,
                    self.compress_k,
                )?)
            },
        )
    }

    fn batch_prover_of(&self, chunk: &prover::ChunkProver) -> Result<prover::node::BatchTree> {
        let source = self.source()?;
        let per_node = prover::node::ARITY.pow(self.depth);
        if self.capacity == 0 || !self.capacity.is_multiple_of(per_node) {
            bail!(
                "--capacity {} is not a whole number of nodes of depth {} ({per_node} chunks each)",
                self.capacity,
                self.depth
            );
        }
        let mut nodes: Vec<prover::node::NodeProver> = Vec::new();
        for level in 1..=self.depth {
            let node = step(
                &format!("level-{level} node SRS 2^{} and keys", self.node_k),
                || {
                    Ok(match nodes.last() {
                        None => prover::node::NodeProver::over_chunks(
                            &self.cache,
                            &source,
                            chunk,
                            self.node_k,
                        )?,
                        Some(below) => prover::node::NodeProver::over_nodes(
                            &self.cache,
                            &source,
                            below,
                            self.node_k,
                        )?,
                    })
                },
            )?;
            nodes.push(node);
        }
        let batch = step(&format!("batch SRS 2^{} and keys", self.batch_k), || {
            Ok(match nodes.last() {
                None => prover::batch::BatchProver::load(
                    &self.cache,
                    &source,
                    chunk,
                    self.capacity,
                    self.batch_k,
                )?,
                Some(top) => prover::batch::BatchProver::load_over_nodes(
                    &self.cache,
                    &source,
                    top,
                    self.capacity / per_node,
                    self.batch_k,
                )?,
            })
        })?;
        Ok(prover::node::BatchTree { nodes, batch })
    }
}

/// The L1 fixture of the stage L1 verifies: the sample history cut into batches of `sizes` chunks
/// (default: --capacity each; each batch bound to its own batch challenge), each batch's recursive chunk proofs and its batch proof,
/// compressed when `compress` (the compression stage's verifier is then the one L1 runs), and that
/// verifier's bytecode, parameters file and key digest. Stage times go to stderr.
///
/// The batch fixture (one one-slot chunk per batch) is the committed verifier's, checked by a cargo
/// test; the compressed fixture carries its verifier (about 10 minutes and 14 GB per batch on 2
/// cores, so it is made by hand, not in CI).
fn batch_fixtures(cli: &Cli, out: &Path, compress: bool, sizes: &[usize]) -> Result<()> {
    if !compress && (cli.slots != 1 || cli.capacity != 1) {
        bail!(
            "the batch fixture is built for one-slot chunks, one per batch (the Foundry tests deploy CHUNK_SLOTS = 1)"
        );
    }
    // Before any key is made (minutes): batch sizes that cannot cut the history fail at once.
    let history = sample::history(cli.slots, cli.chain_id)?;
    let sizes = if sizes.is_empty() {
        if cli.capacity == 0 || history.len() % cli.capacity != 0 {
            bail!(
                "the sample history's {} chunks do not fill batches of {}",
                history.len(),
                cli.capacity
            );
        }
        vec![cli.capacity; history.len() / cli.capacity]
    } else {
        sizes.to_vec()
    };
    if sizes.iter().any(|n| *n == 0 || *n > cli.capacity)
        || sizes.iter().sum::<usize>() != history.len()
    {
        bail!(
            "--batch-sizes {sizes:?} do not cut the sample history's {} chunks into batches of 1 to {}",
            history.len(),
            cli.capacity
        );
    }
    let chunk_prover = cli.chunk_prover()?;
    let tree = cli.batch_prover_of(&chunk_prover)?;
    // Every batch's chunk proofs and batch proof first (for recursion when compressing), then the
    // compressions with the tree's keys dropped: both at once would need about 20 GB.
    let mut proven = Vec::new();
    let mut rest = history.as_slice();
    for size in &sizes {
        let (group, later) = rest.split_at(*size);
        rest = later;
        let mut chunks = group.to_vec();
        let binding = sample::bind_batch(&mut chunks)?;
        let mut inputs = Vec::new();
        for chunk in &chunks {
            let recursive = step("recursive chunk proof", || {
                Ok(chunk_prover.prove_with(chunk, prover::Transcript::Poseidon)?)
            })?;
            inputs.push((chunk.public_inputs().to_vec(), recursive));
        }
        let (what, transcript) = if compress {
            ("batch proof (for recursion)", prover::Transcript::Poseidon)
        } else {
            ("batch proof", prover::Transcript::Evm)
        };
        let records: Vec<_> = chunks.iter().map(|c| c.records.clone()).collect();
        let (public, proof) = step(what, || {
            Ok(tree.prove(&inputs, &records, transcript, node_progress)?)
        })?;
        proven.push((chunks, binding, public, proof));
    }
    drop(chunk_prover);
    let key_digest = tree.batch.key_digest();
    let (bytecode, params, compressor) = if compress {
        let c = cli.compress_prover(&tree.batch)?;
        let code = verifier_gen::compress_solidity(c.params(), c.vk());
        let bytecode = step("solc", || Ok(verifier_gen::compile(&code)?))?;
        let params = verifier_gen::compress_params_json(&tree.batch, &c, cli.chain_id, &bytecode);
        (bytecode, Some(params), Some(c))
    } else {
        let code = verifier_gen::batch_solidity(tree.batch.params(), tree.batch.vk());
        let bytecode = step("solc", || Ok(verifier_gen::compile(&code)?))?;
        (bytecode, None, None)
    };
    drop(tree);
    let mut batches = Vec::new();
    for (chunks, binding, public, proof) in proven {
        let (public, proof) = match &compressor {
            Some(c) => step("compression proof", || {
                Ok(c.prove(&public, &proof, prover::Transcript::Evm)?)
            })?,
            None => (public, proof),
        };
        let gas = verifier_gen::evm_call(
            bytecode.clone(),
            verifier_gen::calldata(std::slice::from_ref(&public), &proof),
        )?;
        eprintln!("verified on revm: {gas} gas (with the 21,000 of the transaction)");
        let rest = &public[prover::batch::ACCUMULATOR_INPUTS..];
        let l1_proof = prover::batch::l1_proof(&public, &proof)
            .ok_or_else(|| eyre::eyre!("a batch proof with {} public inputs", public.len()))?;
        let blob_evaluation = binding.blob_evaluation;
        let mut binding: Vec<String> =
            [binding.commitment, binding.challenge, binding.l1_evaluation]
                .iter()
                .map(field::to_hex)
                .collect();
        binding.push(hex(&rollup_protocol::blob::bls_to_be(&blob_evaluation)));
        let pubdata: Vec<String> = chunks.iter().map(|c| hex(&c.pubdata)).collect();
        let mut entry = serde_json::json!({
            "binding": binding,
            "oldStateRoot": field::to_hex(&rest[0]),
            "newStateRoot": field::to_hex(&rest[1]),
            "publicInputs": public.iter().map(field::to_hex).collect::<Vec<_>>(),
            "proof": hex(&l1_proof),
        });
        // The batch's pubdata: its chunks back to back, as `commitBatch` takes it.
        entry["pubdata"] = format!(
            "0x{}",
            pubdata
                .iter()
                .map(|p| p.trim_start_matches("0x"))
                .collect::<String>()
        )
        .into();
        batches.push(entry);
    }
    let accounts: Vec<_> = sample::accounts()
        .iter()
        .map(|a| {
            serde_json::json!({
                "owner": a.owner.to_string(),
                "amount": a.amount,
                "pubkeyX": field::to_hex(&a.pubkey.x),
                "pubkeyY": field::to_hex(&a.pubkey.y),
            })
        })
        .collect();
    let mut json = serde_json::json!({
        "slots": cli.slots,
        "chainId": cli.chain_id,
        "capacity": cli.capacity,
        "accounts": accounts,
        "keyDigest": field::to_hex(&key_digest),
        "batches": batches,
        "verifierBytecode": hex(&bytecode),
    });
    if let Some(params) = params {
        // As text: what `Deploy.s.sol` reads from VERIFIER_PARAMS.
        json["verifierParams"] = serde_json::to_string(&params)?.into();
        // What it was made from, for the staleness check that cannot afford to remake it
        // (`tests/generated.rs`): every circuit's version and size.
        json["madeFrom"] = serde_json::json!({
            "chunkVersion": rollup_circuits::chunk::VERSION,
            "batchVersion": prover::batch::VERSION,
            "nodeVersion": prover::node::VERSION,
            "compressVersion": prover::compress::VERSION,
            "chunkK": cli.k,
            "batchK": cli.batch_k,
            "depth": cli.depth,
            "nodeK": cli.node_k,
            "batchSizes": sizes,
            "compressK": cli.compress_k,
        });
    }
    write(out, &(serde_json::to_string_pretty(&json)? + "\n"))
}

/// Advice cells the circuit assigned in a MockProver run. MockProver fills every usable cell with one
/// shared zero before synthesis and gives each assignment a value of its own, so an assigned cell is
/// one that no longer shares the column's last usable (never assigned) cell's value.
fn assigned_advice_cells(mock: &MockProver<Fr>, columns: usize) -> usize {
    // Column handles with indices 0, 1, …: a fresh constraint system hands them out in order.
    let mut fresh = ConstraintSystem::<Fr>::default();
    (0..columns)
        .map(|_| {
            let column = mock.advice_values(fresh.advice_column());
            let unassigned = column.iter().rev().find_map(|c| match c {
                AdviceCellValue::Assigned(v) => Some(v),
                AdviceCellValue::Poison(_) => None,
            });
            column
                .iter()
                .filter(|c| match (c, unassigned) {
                    (AdviceCellValue::Assigned(v), Some(u)) => !Arc::ptr_eq(v, u),
                    _ => false,
                })
                .count()
        })
        .sum()
}

/// Starts a new measure of [`peak_rss_mib`] (Linux: writing 5 to `clear_refs` resets `VmHWM`), so
/// that a stage's peak is its own, not an earlier stage's.
fn reset_peak_rss() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        eprintln!("warning: peak memory not reset ({e}): the next figure includes earlier stages");
    }
}

/// Peak resident memory of this process so far (`VmHWM`), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).wrap_err_with(|| format!("writing {}", path.display()))
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn hex(b: &[u8]) -> String {
    format!("0x{}", alloy_primitives::hex::encode(b))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Setup => {
            let params = cli.srs()?;
            let digest = params_digest(&params);
            let path = match cli.source()? {
                SrsSource::Development => cli.cache.join(format!("dev-srs-k{}.params", cli.k)),
                SrsSource::File(_) => {
                    // A converted ceremony file is kept in halo2's format, named by its digest.
                    let path = cli.cache.join(format!(
                        "ceremony-{}-k{}.params",
                        alloy_primitives::hex::encode(&digest[..8]),
                        cli.k
                    ));
                    prover::write_srs(&params, &path)?;
                    path
                }
            };
            let json = serde_json::json!({
                "path": path.display().to_string(),
                "k": cli.k,
                "paramsDigest": hex(&digest),
                "development": digest == prover::development_params_digest(),
            });
            println!("{json}");
        }
        Command::Keygen if cli.stage == Stage::Batch => {
            let batch = cli.batch_prover()?;
            println!("{batch:?}");
        }
        Command::Keygen if cli.stage == Stage::Compress => {
            let tree = cli.batch_prover()?;
            let compress = cli.compress_prover(&tree.batch)?;
            println!("{compress:?}");
        }
        Command::Keygen => {
            let params = cli.srs()?;
            cli.pk(&params)?;
            println!("{}", cli.pk_path(&params).display());
        }
        Command::Prove { chunk } => {
            let text = std::fs::read_to_string(chunk)
                .wrap_err_with(|| format!("reading {}", chunk.display()))?;
            let chunk: Chunk = serde_json::from_str(&text)
                .wrap_err("the chunk is not a rollup_protocol::Chunk")?;
            let params = cli.srs()?;
            let pk = cli.pk(&params)?;
            let proof = cli.prove(&params, &pk, &chunk)?;
            let json = serde_json::json!({
                "publicInputs": chunk.public_inputs().iter().map(field::to_hex).collect::<Vec<_>>(),
                "proof": hex(&proof),
            });
            println!("{json}");
        }
        Command::Solidity { out } if matches!(cli.stage, Stage::Batch | Stage::Compress) => {
            let tree = cli.batch_prover()?;
            let batch = &tree.batch;
            let compressor = if cli.stage == Stage::Compress {
                Some(cli.compress_prover(batch)?)
            } else {
                None
            };
            let (code, out) = match &compressor {
                Some(c) => (
                    verifier_gen::compress_solidity(c.params(), c.vk()),
                    out.clone().unwrap_or_else(|| {
                        PathBuf::from("target/verifier-gen/Halo2CompressedVerifier.sol")
                    }),
                ),
                None => (
                    verifier_gen::batch_solidity(batch.params(), batch.vk()),
                    out.clone()
                        .unwrap_or_else(|| PathBuf::from(verifier_gen::BATCH_VERIFIER_PATH)),
                ),
            };
            let bytecode = step("solc", || Ok(verifier_gen::compile(&code)?))?;
            write(&out, &code)?;
            write(&out.with_extension("bin"), &format!("{}\n", hex(&bytecode)))?;
            let params = match &compressor {
                Some(c) => verifier_gen::compress_params_json(batch, c, cli.chain_id, &bytecode),
                None => verifier_gen::batch_params_json(batch, cli.chain_id, &bytecode),
            };
            write(
                &out.with_extension("json"),
                &(serde_json::to_string_pretty(&params)? + "\n"),
            )?;
            eprintln!("{} bytes of creation code", bytecode.len());
            let json = serde_json::json!({
                "verifier": out.display().to_string(),
                "keyDigest": field::to_hex(&batch.key_digest()),
            });
            println!("{json}");
        }
        Command::Solidity { out } => {
            let out = &out
                .clone()
                .unwrap_or_else(|| PathBuf::from("target/verifier-gen/Halo2ChunkVerifier.sol"));
            let params = cli.srs()?;
            let pk = cli.pk(&params)?;
            let code = verifier_gen::chunk_solidity(&params, pk.get_vk());
            let bytecode = step("solc", || Ok(verifier_gen::compile(&code)?))?;
            write(out, &code)?;
            let bin = out.with_extension("bin");
            write(&bin, &format!("{}\n", hex(&bytecode)))?;
            eprintln!("{} bytes of creation code", bytecode.len());
            println!("{}", out.display());
        }
        Command::Bench => {
            let params = cli.srs()?;
            let t = Instant::now();
            let pk = prover::keygen(&params, &ChunkCircuit::keygen(cli.slots, cli.chain_id))?;
            let keygen_s = t.elapsed().as_secs_f64();
            eprintln!("keygen: {keygen_s:.1} s");
            let chunk = sample::full_chunk(cli.slots, cli.chain_id)?;
            let circuit = ChunkCircuit::new(&chunk, cli.slots, cli.chain_id)?;
            let t = Instant::now();
            let proof = prover::prove(&params, &pk, circuit, &instances(&chunk))?;
            let prove_s = t.elapsed().as_secs_f64();
            eprintln!("prove: {prove_s:.1} s");
            let code = verifier_gen::chunk_solidity(&params, pk.get_vk());
            let bytecode = verifier_gen::compile(&code)?;
            let gas = verifier_gen::evm_call_any_size(
                bytecode.clone(),
                verifier_gen::calldata(&instances(&chunk), &proof),
            )?;
            let json = serde_json::json!({
                "slots": cli.slots,
                "k": cli.k,
                "keygenSeconds": keygen_s,
                "proveSeconds": prove_s,
                "peakRssMiB": peak_rss_mib(),
                "proofBytes": proof.len(),
                "verifierCreationBytes": bytecode.len(),
                "verifyGasWithTx": gas,
            });
            println!("{json}");
        }
        Command::BatchBench {
            chunks: count,
            compress,
        } => {
            let (capacity, batch_k) = (&cli.capacity, &cli.batch_k);
            let chunk_prover = cli.chunk_prover()?;
            let mut batch = sample::history(cli.slots, cli.chain_id)?;
            if *count == 0 || *count > batch.len() {
                bail!("--chunks must be 1 to {}", batch.len());
            }
            batch.truncate(*count);
            sample::bind_batch(&mut batch)?;
            let mut chunk_seconds = Vec::new();
            let mut inputs = Vec::new();
            reset_peak_rss();
            for chunk in &batch {
                let t = Instant::now();
                let proof = chunk_prover.prove_with(chunk, prover::Transcript::Poseidon)?;
                chunk_seconds.push(t.elapsed().as_secs_f64());
                inputs.push((chunk.public_inputs().to_vec(), proof));
            }
            eprintln!("chunk proofs: {chunk_seconds:.1?} s");
            let chunk_rss = peak_rss_mib();
            reset_peak_rss();
            let t = Instant::now();
            let tree = cli.batch_prover_of(&chunk_prover)?;
            let keygen_s = t.elapsed().as_secs_f64();
            drop(chunk_prover);
            let batch_transcript = if *compress {
                prover::Transcript::Poseidon
            } else {
                prover::Transcript::Evm
            };
            let t = Instant::now();
            let mut node_seconds = Vec::new();
            let (public, proof) = step("nodes and batch proof", || {
                let records: Vec<_> = batch.iter().map(|c| c.records.clone()).collect();
                Ok(tree.prove(
                    &inputs,
                    &records,
                    batch_transcript,
                    |level, position, seconds| {
                        node_progress(level, position, seconds);
                        node_seconds.push(serde_json::json!([level, position, seconds]));
                    },
                )?)
            })?;
            let prove_s = t.elapsed().as_secs_f64();
            let node_total: f64 = node_seconds
                .iter()
                .filter_map(|n| n.get(2).and_then(serde_json::Value::as_f64))
                .sum();
            let prover::node::BatchTree {
                nodes,
                batch: batch_prover,
            } = tree;
            let node_layout = nodes.first().map(|n| n.layout().config);
            drop(nodes);
            let batch_rss = peak_rss_mib();
            let mut json = serde_json::json!({
                "slots": cli.slots,
                "chunkK": cli.k,
                "chunks": count,
                "capacity": capacity,
                "batchK": batch_k,
                "layout": batch_prover.layout().config,
                "depth": cli.depth,
                "nodeLayout": node_layout,
                "nodeProveSeconds": node_seconds,
                "chunkProveSeconds": chunk_seconds,
                "peakRssMiBChunks": chunk_rss,
                "batchKeysSeconds": keygen_s,
                "batchProveSeconds": prove_s - node_total,
                "peakRssMiBBatch": batch_rss,
                "batchProofBytes": proof.len(),
            });
            let (code, public, proof) = if *compress {
                reset_peak_rss();
                let t = Instant::now();
                let compressor = cli.compress_prover(&batch_prover)?;
                json["compressKeysSeconds"] = t.elapsed().as_secs_f64().into();
                json["compressLayout"] = serde_json::to_value(compressor.layout().config)?;
                drop(batch_prover);
                let t = Instant::now();
                let (public, proof) = step("compression proof", || {
                    Ok(compressor.prove(&public, &proof, prover::Transcript::Evm)?)
                })?;
                json["compressProveSeconds"] = t.elapsed().as_secs_f64().into();
                json["peakRssMiBCompress"] = peak_rss_mib().into();
                json["compressProofBytes"] = proof.len().into();
                let code = verifier_gen::compress_solidity(compressor.params(), compressor.vk());
                (code, public, proof)
            } else {
                let code = verifier_gen::batch_solidity(batch_prover.params(), batch_prover.vk());
                (code, public, proof)
            };
            let bytecode = step("solc", || Ok(verifier_gen::compile(&code)?))?;
            json["verifierCreationBytes"] = bytecode.len().into();
            // A verifier past the 24 KiB code limit does not deploy on L1: reported, not measured
            // (the stage's other figures stand).
            match verifier_gen::evm_call(bytecode, verifier_gen::calldata(&[public], &proof)) {
                Ok(gas) => json["verifyGasWithTx"] = gas.into(),
                Err(e) => {
                    eprintln!("the verifier was not measured: {e}");
                    json["verifyGasWithTx"] = serde_json::Value::Null;
                    json["verifierError"] = e.to_string().into();
                }
            }
            println!("{json}");
        }
        Command::StageBench { runs } => {
            if *runs == 0 {
                bail!("--runs must be at least 1");
            }
            let source = cli.source()?;
            let t = Instant::now();
            step(&format!("SRS 2^{}", cli.node_k.max(cli.k)), || {
                Ok(source.load(&cli.cache, cli.node_k.max(cli.k))?)
            })?;
            let srs_s = t.elapsed().as_secs_f64();
            reset_peak_rss();
            let t = Instant::now();
            let chunk_prover = cli.chunk_prover()?;
            let chunk_keys_s = t.elapsed().as_secs_f64();
            let full = sample::full_chunk(cli.slots, cli.chain_id)?;
            let mut chunk_seconds = Vec::new();
            for run in 0..*runs {
                let t = Instant::now();
                chunk_prover.prove_with(&full, prover::Transcript::Poseidon)?;
                chunk_seconds.push(t.elapsed().as_secs_f64());
                eprintln!("chunk proof {run}: {:.2} s", chunk_seconds[run]);
            }
            let chunk_rss = peak_rss_mib();
            let mut pair = sample::history(cli.slots, cli.chain_id)?;
            pair.truncate(prover::node::ARITY);
            sample::bind_batch(&mut pair)?;
            let batch_records: Vec<_> = pair.iter().map(|c| c.records.clone()).collect();
            let records = prover::node::NodeRecords::of_batch(&batch_records, 1, 0)?;
            let mut children = Vec::new();
            for chunk in &pair {
                let proof = chunk_prover.prove_with(chunk, prover::Transcript::Poseidon)?;
                children.push((chunk.public_inputs().to_vec(), proof));
            }
            reset_peak_rss();
            let t = Instant::now();
            let node = step(
                &format!("level-1 node SRS 2^{} and keys", cli.node_k),
                || {
                    Ok(prover::node::NodeProver::over_chunks(
                        &cli.cache,
                        &source,
                        &chunk_prover,
                        cli.node_k,
                    )?)
                },
            )?;
            let node_keys_s = t.elapsed().as_secs_f64();
            let mut node_seconds = Vec::new();
            for run in 0..*runs {
                let t = Instant::now();
                node.prove(&children, &records)?;
                node_seconds.push(t.elapsed().as_secs_f64());
                eprintln!("node proof {run}: {:.2} s", node_seconds[run]);
            }
            let json = serde_json::json!({
                "backend": prover::BACKEND,
                "asm": cfg!(feature = "asm"),
                "threads": std::thread::available_parallelism().map(usize::from).ok(),
                "slots": cli.slots,
                "chunkK": cli.k,
                "nodeK": cli.node_k,
                "srsSeconds": srs_s,
                "chunkKeysSeconds": chunk_keys_s,
                "chunkProveSeconds": chunk_seconds,
                "chunkProveMedian": median(&chunk_seconds),
                "chunkProveMedianPerSlot": median(&chunk_seconds) / cli.slots as f64,
                "peakRssMiBChunk": chunk_rss,
                "nodeKeysSeconds": node_keys_s,
                "nodeProveSeconds": node_seconds,
                "nodeProveMedian": median(&node_seconds),
                "peakRssMiBNode": peak_rss_mib(),
                "chunkVkDigest": hex(&prover::vk_digest(chunk_prover.vk())),
                "nodeKeyDigest": field::to_hex(&node.key_digest()),
                "nodeVkDigest": hex(&prover::vk_digest(node.vk())),
            });
            println!("{json}");
        }
        Command::Rows => {
            let mut cs = ConstraintSystem::<Fr>::default();
            ChunkCircuit::configure(&mut cs);
            let (mut rows, mut cells) = (Vec::new(), Vec::new());
            for slots in [1, 2] {
                let chunk = sample::full_chunk(slots, cli.chain_id)?;
                let circuit = ChunkCircuit::new(&chunk, slots, cli.chain_id)?;
                let mock = MockProver::run(prover::min_k(slots), &circuit, instances(&chunk))?;
                if let Err(failures) = mock.verify() {
                    bail!(
                        "the sample chunk is not accepted: {:?}",
                        &failures[..failures.len().min(3)]
                    );
                }
                rows.push(circuit.rows_used());
                cells.push(assigned_advice_cells(&mock, cs.num_advice_columns()));
            }
            let json = serde_json::json!({
                "rows1Slot": rows[0],
                "rows2Slots": rows[1],
                "rowsPerSlot": rows[1] - rows[0],
                "adviceCells1Slot": cells[0],
                "adviceCells2Slots": cells[1],
                "adviceCellsPerSlot": cells[1] - cells[0],
            });
            println!("{json}");
        }
        Command::Fixtures { out, batch_sizes }
            if matches!(cli.stage, Stage::Batch | Stage::Compress) =>
        {
            let compress = cli.stage == Stage::Compress;
            let out = out.clone().unwrap_or_else(|| {
                PathBuf::from(if compress {
                    "contracts/test/vectors/compressed_proofs.json"
                } else {
                    "contracts/test/vectors/batch_proofs.json"
                })
            });
            batch_fixtures(&cli, &out, compress, batch_sizes)?;
            println!("{}", out.display());
        }
        Command::Fixtures { .. } => {
            bail!(
                "chunk proofs are not verified on L1 (a batch proof is): make the L1 fixtures with --stage batch"
            );
        }
    }
    Ok(())
}
