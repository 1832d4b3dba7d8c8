//! The committed generated Solidity and vectors are exactly what the core produces.

use std::path::Path;

#[test]
fn committed_generated_files_are_current() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let files = protocol_gen::generated_files()?;
    assert!(files.len() >= 7);
    for (rel, text) in files {
        let on_disk = std::fs::read_to_string(root.join(&rel)).unwrap_or_default();
        assert!(
            on_disk == text,
            "{} is stale: run `cargo run -p protocol-gen -- write`",
            rel.display()
        );
    }
    Ok(())
}
