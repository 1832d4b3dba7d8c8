//! The committed ABIs (`bindings/abi/`) are the ones the contracts compile to: the bindings are
//! built from the committed files, so that building them needs Rust alone, and this test fails
//! when `contracts/src` changed an interface without them. `UPDATE_ABI=1` rewrites them.

use std::path::{Path, PathBuf};
use std::process::Command;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn committed_abis_match_the_contracts() -> Result {
    let root = root();
    // Its own output and cache directories: other tests run forge on the repository's at once.
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("abi-drift");
    let out = Command::new(root.join("tools/bin/forge"))
        .arg("build")
        .arg("--root")
        .arg(&root)
        .arg(root.join("contracts/src"))
        .arg("--out")
        .arg(work.join("out"))
        .arg("--cache-path")
        .arg(work.join("cache"))
        .output()
        .map_err(|e| format!("tools/bin/forge: {e} (run scripts/setup)"))?;
    assert!(
        out.status.success(),
        "forge build contracts/src failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let update = std::env::var_os("UPDATE_ABI").is_some();
    let mut stale = Vec::new();
    for name in rollup_bindings::ABIS {
        let artifact = work.join("out").join(format!("{name}.sol/{name}.json"));
        let built: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&artifact)?)?;
        let abi = built.get("abi").ok_or_else(|| format!("{name}: no abi"))?;
        let path = root.join("bindings/abi").join(format!("{name}.json"));
        let committed: Option<serde_json::Value> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
        if committed.as_ref() != Some(abi) {
            if update {
                std::fs::write(&path, serde_json::to_string_pretty(abi)? + "\n")?;
            } else {
                stale.push(name);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "bindings/abi/ differs from contracts/src for {stale:?}: run `UPDATE_ABI=1 cargo test -p rollup-bindings --test abi`"
    );
    Ok(())
}
