//! The committed ABIs (`bindings/abi/`) are the ones the contracts compile to: the bindings are
//! built from the committed files, so that building them needs Rust alone, and this test fails
//! when `contracts/src` changed an interface without them. `UPDATE_ABI=1` rewrites them. The
//! contracts are compiled through foundry-compilers ([`verifier_gen::abis`]) with the pinned solc.

use std::path::Path;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

#[test]
fn committed_abis_match_the_contracts() -> Result {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built = verifier_gen::abis(&root.join("contracts/src"))?;
    let update = std::env::var_os("UPDATE_ABI").is_some();
    let mut stale = Vec::new();
    for name in rollup_bindings::ABIS {
        let abi = built
            .get(name)
            .ok_or_else(|| format!("contracts/src defines no {name}"))?;
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
        "bindings/abi/ differs from contracts/src for {stale:?}: run `UPDATE_ABI=1 cargo test -p verifier-gen --test abi`"
    );
    Ok(())
}
