//! The workspace is layered: a crate depends only on crates of lower layers (no arrow upwards, so
//! no cycle), and the libraries that run in production link no compiler and no EVM. ARCHITECTURE.md
//! draws the same layers; a new crate must be given its layer here.

use std::collections::BTreeMap;
use std::process::Command;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Every workspace crate and its layer, lowest first.
const LAYERS: &[(&str, u8)] = &[
    // The one definition of the L2, and durable file writes.
    ("rollup-protocol", 0),
    ("rollup-durable", 0),
    // What follows from the core on each side: the circuits, and L1's ABI.
    ("rollup-circuits", 1),
    ("rollup-bindings", 1),
    ("rollup-rpc-api", 1),
    // The prover runtime, and L1 access (retries, paged logs, request events).
    ("rollup-prover", 2),
    ("rollup-l1", 2),
    ("rollup-prover-queue", 2),
    // The applications' libraries, and the Solidity side of the proofs (verifiers, EVM, fixtures).
    ("rollup-operator", 3),
    ("rollup-escape", 3),
    ("rollup-prover-worker", 3),
    ("verifier-gen", 3),
    // The harness of the tests on anvil.
    ("rollup-test-utils", 4),
    // Binaries: command lines, generators and the devnet.
    ("operator", 5),
    ("escape", 5),
    ("protocol-gen", 5),
    ("prover-worker", 5),
    ("rollup-devnet", 5),
];

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// A dependency between workspace crates: `(crate, dependency, kind)`, `kind` being `normal`,
/// `dev` or `build`.
type Edge = (String, String, String);

/// The workspace's crates, and every dependency between them.
fn workspace_edges() -> Result<(Vec<String>, Vec<Edge>)> {
    let out = cargo()
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()?;
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let packages = meta["packages"].as_array().ok_or("no packages")?;
    let names: Vec<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(String::from))
        .collect();
    let mut edges = Vec::new();
    for p in packages {
        let from = p["name"].as_str().ok_or("package without a name")?;
        for d in p["dependencies"].as_array().ok_or("no dependencies")? {
            let to = d["name"].as_str().ok_or("dependency without a name")?;
            if names.iter().any(|n| n == to) {
                let kind = d["kind"].as_str().unwrap_or("normal").to_string();
                edges.push((from.to_string(), to.to_string(), kind));
            }
        }
    }
    Ok((names, edges))
}

#[test]
fn every_dependency_points_to_a_lower_layer() -> Result {
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let (names, edges) = workspace_edges()?;
    for n in &names {
        assert!(
            layer.contains_key(n.as_str()),
            "{n} has no layer: add it to LAYERS in tests/harness/tests/layers.rs and ARCHITECTURE.md"
        );
    }
    assert!(edges.len() > 10, "too few edges read: {edges:?}");
    let mut wrong = Vec::new();
    for (from, to, kind) in &edges {
        let (a, b) = (layer[from.as_str()], layer[to.as_str()]);
        // Tests may use the harness from any layer, and a crate's tests may enable its own test
        // features; everything else points strictly downwards.
        let allowed = b < a || (kind == "dev" && (to == "rollup-test-utils" || from == to));
        if !allowed {
            wrong.push(format!("{from} (layer {a}) -> {to} (layer {b}) [{kind}]"));
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies that point up or sideways:\n{}",
        wrong.join("\n")
    );
    Ok(())
}

/// The crates a production library links, by name, with features resolved as a build of that
/// crate alone resolves them.
fn linked(package: &str) -> Result<Vec<String>> {
    let out = cargo()
        .args([
            "tree",
            "--offline",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()?;
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect())
}

#[test]
fn the_operator_and_the_escape_client_link_no_evm_and_no_compiler() -> Result {
    for package in ["rollup-operator", "operator", "rollup-escape", "escape"] {
        let crates = linked(package)?;
        assert!(
            crates.iter().any(|c| c == "rollup-protocol"),
            "{package}: the tree was not read: {crates:?}"
        );
        for banned in ["revm", "foundry-compilers", "svm-rs", "verifier-gen"] {
            assert!(
                !crates.iter().any(|c| c == banned),
                "{package} links {banned}: the EVM and solc belong to the verifier-gen CLI only"
            );
        }
    }
    Ok(())
}
