//! The layering rule, checked on the real dependency graph (`cargo metadata`): the pure crates
//! (money, domain, render) and the core depend on no async runtime, database driver or HTTP crate.

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

const FORBIDDEN: [&str; 10] =
    ["tokio", "axum", "hyper", "reqwest", "sqlx", "rusqlite", "tokio-postgres", "deadpool-postgres", "tower", "mio"];

fn metadata() -> Value {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--manifest-path", concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml")])
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Every package reachable from `root` through normal (non-dev, non-build) dependencies.
fn normal_closure(meta: &Value, root: &str) -> BTreeSet<String> {
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> =
        meta["resolve"]["nodes"].as_array().unwrap().iter().map(|n| (n["id"].as_str().unwrap(), n)).collect();
    let start = names.iter().find(|(_, n)| **n == root).map(|(id, _)| *id).expect("package in workspace");
    let (mut seen, mut stack) = (BTreeSet::new(), vec![start]);
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    seen.into_iter().map(|id| names[id].to_owned()).collect()
}

#[test]
fn pure_layers_have_no_io_dependencies() {
    let meta = metadata();
    for krate in ["kassa-money", "kassa-domain", "kassa-render", "kassa-store", "kassa-core"] {
        let closure = normal_closure(&meta, krate);
        let bad: Vec<&str> = FORBIDDEN.iter().copied().filter(|f| closure.contains(*f)).collect();
        assert!(bad.is_empty(), "{krate} depends on {bad:?}");
    }
    // And the check can fail: the server does depend on them.
    assert!(normal_closure(&meta, "kassa").contains("tokio"));
}
