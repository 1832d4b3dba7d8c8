//! Builds the contracts with the project's pinned Foundry before the `sol!`
//! macros read their artifacts, so the bindings always match `contracts/src`.
//!
//! Runs `scripts/setup` (installs the toolchain into `tools/`; a no-op once
//! done) and then `tools/bin/forge build --root <repo> <repo>/contracts/src`:
//! only the sources and what they import, so a test contract being edited
//! cannot break the bindings, and a cold compile takes seconds. The artifacts
//! land in `<repo>/out/` beside the rest of forge's output (forge keeps the
//! artifacts of files it was not asked to build).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The artifacts `src/lib.rs` reads, relative to the repository root.
const ARTIFACTS: [&str; 6] = [
    "out/Rollup.sol/Rollup.json",
    "out/IRollup.sol/IRollup.json",
    "out/Timelock.sol/Timelock.json",
    "out/ProtocolHasher.sol/ProtocolHasher.json",
    "out/Halo2ChunkVerifier.sol/Halo2ChunkVerifier.json",
    "out/SafeTransfer.sol/SafeTransfer.json",
];

/// Runs `cmd` with its output on this script's stderr (cargo shows it when
/// the build fails; the script's stdout is reserved for `cargo:` lines).
fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    match cmd.stdin(Stdio::null()).stdout(std::io::stderr()).status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!(
            "{what} failed ({s}); its output is above. Run it by hand from the repository root to see it again."
        )),
        Err(e) => Err(format!(
            "{what} could not start: {e} (the toolchain needs bash, Node.js and npm; see README.md)"
        )),
    }
}

fn main() -> Result<(), String> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .map(Path::to_path_buf)
        .ok_or("the crate has no parent directory")?;
    for p in [
        "contracts/src",
        "script",
        "foundry.toml",
        "tools/package-lock.json",
    ]
    .iter()
    .chain(&ARTIFACTS)
    {
        // The artifacts too: a `forge clean` must rebuild them before `sol!` reads them.
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }

    run(
        Command::new(root.join("scripts/setup")).current_dir(&root),
        "scripts/setup",
    )?;
    run(
        Command::new(root.join("tools/bin/forge"))
            .arg("build")
            .arg("--root")
            .arg(&root)
            .arg(root.join("contracts/src"))
            .current_dir(&root),
        "tools/bin/forge build contracts/src",
    )?;
    for a in ARTIFACTS {
        if !root.join(a).is_file() {
            return Err(format!(
                "forge build succeeded but left no {a}: was the contract renamed? (bindings/src/lib.rs names it)"
            ));
        }
    }
    Ok(())
}
