//! Builds the contracts with the project's pinned Foundry before the `sol!`
//! macros read their artifacts, so the bindings always match `contracts/src`.

use std::path::PathBuf;
use std::process::Command;

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!(
            "{what} failed ({s}): run scripts/setup and tools/bin/forge build to see why"
        )),
        Err(e) => Err(format!(
            "{what} could not start: {e} (is Node.js/npm installed? run scripts/setup)"
        )),
    }
}

fn main() -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for p in [
        "contracts/src",
        "script",
        "foundry.toml",
        "tools/package-lock.json",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    run(
        &mut Command::new(root.join("scripts/setup")),
        "scripts/setup",
    )?;
    run(
        Command::new(root.join("tools/bin/forge"))
            .arg("build")
            .arg("--root")
            .arg(&root)
            .current_dir(&root),
        "forge build",
    )
}
