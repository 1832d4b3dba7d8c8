//! `verifier-gen`: SRS, keys, proofs, the Solidity verifier and the Foundry fixtures of the
//! chunk circuit. Machine-readable results go to stdout, progress and timings to stderr.

use std::path::{Path, PathBuf};
use std::time::Instant;

use alloy_primitives::Address;
use clap::{Parser, Subcommand};
use eyre::{Result, WrapErr};
use rollup_protocol::eddsa::SecretKey;
use rollup_protocol::field;
use rollup_protocol::tx::{Deposit, Transfer};
use rollup_protocol::{Chunk, Config, State, Tx};
use verifier_gen::chunk::{ChunkCircuit, instances};
use verifier_gen::prover;

#[derive(Parser)]
#[command(about = "Keys, proofs and the Solidity verifier of the rollup's chunk circuit")]
struct Cli {
    /// Transaction slots per chunk (the deployment's CHUNK_SLOTS).
    #[arg(long, default_value_t = 1, global = true)]
    slots: usize,
    /// Chain id signed into L2 transactions.
    #[arg(long, default_value_t = 31337, global = true)]
    chain_id: u64,
    /// log2 of the circuit's rows (14 holds one slot).
    #[arg(long, default_value_t = 14, global = true)]
    k: u32,
    /// SRS in halo2's ParamsKZG format (a ceremony file); without it, the development SRS from a
    /// public seed, UNSAFE FOR PRODUCTION, cached under --cache.
    #[arg(long, global = true)]
    srs: Option<PathBuf>,
    /// Where the development SRS is cached (outside git).
    #[arg(long, default_value = "target/verifier-gen", global = true)]
    cache: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates (or loads) the SRS and prints its path.
    Setup,
    /// Writes the Solidity verifier.
    Solidity {
        /// Output file.
        #[arg(long, default_value = "contracts/verifier/Halo2Verifier.sol")]
        out: PathBuf,
    },
    /// Proves a sample chunk (a transfer after three deposits) and writes the Foundry fixture.
    Fixtures {
        /// Output file.
        #[arg(long, default_value = "contracts/test/vectors/chunk_proof.json")]
        out: PathBuf,
    },
}

fn step<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("{what} ...");
    let t = Instant::now();
    let out = f()?;
    eprintln!("{what}: {:.1} s", t.elapsed().as_secs_f64());
    Ok(out)
}

fn srs(
    cli: &Cli,
) -> Result<
    halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG<
        halo2_base::halo2_proofs::halo2curves::bn256::Bn256,
    >,
> {
    step(&format!("SRS 2^{}", cli.k), || match &cli.srs {
        Some(path) => Ok(prover::read_srs(path, cli.k)?),
        None => {
            eprintln!("warning: development SRS from a public seed: UNSAFE FOR PRODUCTION");
            Ok(prover::cached_dev_srs(&cli.cache, cli.k)?)
        }
    })
}

/// The sample chunk of the fixtures: three deposits, then a signed transfer in the last chunk.
fn sample(cli: &Cli) -> Result<Chunk> {
    let mut s = State::new(Config {
        chain_id: cli.chain_id,
        chunk_slots: cli.slots,
    });
    let alice = SecretKey::from_seed(b"alice");
    let deposits: Vec<Tx> = [(0u32, 0xfe, 0u128), (1, 0xa1, 1_000), (2, 0xb0, 0)]
        .into_iter()
        .map(|(id, owner, amount)| {
            Tx::Deposit(Deposit {
                account_id: id,
                owner: Address::repeat_byte(owner),
                token: 0,
                amount,
                pubkey: alice.public(),
            })
        })
        .collect();
    for d in deposits.chunks(cli.slots) {
        s.apply_chunk(d)?;
    }
    let tx = Transfer {
        from: 1,
        to: 2,
        token: 0,
        amount: 250,
        fee: 5,
        nonce: 0,
    }
    .sign(&alice, cli.chain_id);
    Ok(s.apply_chunk(&[tx])?)
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).wrap_err_with(|| format!("writing {}", path.display()))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Setup => {
            srs(&cli)?;
            println!(
                "{}",
                cli.cache
                    .join(format!("dev-srs-k{}.params", cli.k))
                    .display()
            );
        }
        Command::Solidity { out } => {
            let params = srs(&cli)?;
            let pk = step("keygen", || {
                Ok(prover::keygen(
                    &params,
                    &ChunkCircuit::keygen(cli.slots, cli.chain_id),
                )?)
            })?;
            let code = prover::solidity::<ChunkCircuit>(&params, pk.get_vk(), vec![3]);
            write(out, &code)?;
            println!("{}", out.display());
        }
        Command::Fixtures { out } => {
            let params = srs(&cli)?;
            let pk = step("keygen", || {
                Ok(prover::keygen(
                    &params,
                    &ChunkCircuit::keygen(cli.slots, cli.chain_id),
                )?)
            })?;
            let chunk = sample(&cli)?;
            let public = instances(&chunk);
            let proof = step("prove", || {
                Ok(prover::prove(
                    &params,
                    &pk,
                    ChunkCircuit::new(&chunk, cli.slots, cli.chain_id)?,
                    &public,
                )?)
            })?;
            let code = prover::solidity::<ChunkCircuit>(&params, pk.get_vk(), vec![3]);
            let bytecode = step("solc", || Ok(prover::compile(&code)?))?;
            let gas = prover::evm_call(bytecode.clone(), prover::calldata(&public, &proof))?;
            eprintln!("verified on revm: {gas} gas (with the 21,000 of the transaction)");
            let hex = |b: &[u8]| format!("0x{}", alloy_primitives::hex::encode(b));
            let json = serde_json::json!({
                "slots": cli.slots,
                "chainId": cli.chain_id,
                "publicInputs": chunk.public_inputs().iter().map(field::to_hex).collect::<Vec<_>>(),
                "pubdata": hex(&chunk.pubdata),
                "proof": hex(&proof),
                "verifierBytecode": hex(&bytecode),
            });
            write(out, &(serde_json::to_string_pretty(&json)? + "\n"))?;
            println!("{}", out.display());
        }
    }
    Ok(())
}
