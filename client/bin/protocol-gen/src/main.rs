//! `protocol-gen`: writes (or checks) the Solidity and the test vectors that the
//! protocol core generates, under the repository root (`--root`, default: the current
//! directory).
//!
//! ```text
//! protocol-gen write            # regenerate contracts/src/generated and contracts/test/vectors
//! protocol-gen check            # exit 1 if a committed file differs from the core's output
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Generate the Solidity and test vectors that follow from the protocol core")]
struct Cli {
    /// Repository root: the directory holding `contracts/` (default: the current directory).
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write every generated file.
    Write,
    /// Compare every generated file with what is on disk; exit 1 on any difference.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.root.unwrap_or_else(|| PathBuf::from("."));
    if !root.join("contracts").is_dir() {
        eprintln!(
            "error: {} holds no contracts/: run from the repository root or pass --root",
            root.display()
        );
        return ExitCode::FAILURE;
    }
    let files = match protocol_gen::generated_files() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: generating: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stale = 0;
    for (rel, text) in files {
        let path = root.join(&rel);
        match cli.cmd {
            Cmd::Write => {
                let res = path
                    .parent()
                    .map(std::fs::create_dir_all)
                    .transpose()
                    .and_then(|_| std::fs::write(&path, &text));
                if let Err(e) = res {
                    eprintln!("error: writing {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("{}", rel.display());
            }
            Cmd::Check => {
                if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                    eprintln!(
                        "stale: {} (run `cargo run -p protocol-gen -- write`)",
                        rel.display()
                    );
                    stale += 1;
                }
            }
        }
    }
    if stale > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
