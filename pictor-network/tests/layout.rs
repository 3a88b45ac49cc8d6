//! The coordinator's and the agents' layout rules (docs/ARCHITECTURE.md, "Workspace layout"),
//! checked on the source: service modules import one another without a circle, service and agent
//! modules stay small, and only the escrow module moves money.
// Tests, benches and examples report failures by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The most lines a service module may have (the redesign's "~400").
const MAX_LINES: usize = 420;

fn service_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/service")
}

/// Each service module's source, by module name.
fn service_modules() -> BTreeMap<String, String> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(service_dir()).expect("read src/service") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name")
            .to_string();
        modules.insert(name, std::fs::read_to_string(&path).expect("read module"));
    }
    modules
}

/// The sibling modules `source` imports with `use super::NAME…`.
fn imports(source: &str, siblings: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in source.lines() {
        let Some(rest) = line.trim().strip_prefix("use super::") else {
            continue;
        };
        let names: Vec<&str> = match rest.strip_prefix('{') {
            // `use super::{a::X, b, Coordinator};`: each item's first path segment.
            Some(list) => list.split(',').map(str::trim).collect(),
            None => vec![rest],
        };
        for name in names {
            let first = name
                .split("::")
                .next()
                .unwrap_or("")
                .trim_matches(|c: char| !c.is_alphanumeric() && c != '_');
            if siblings.contains(first) {
                found.insert(first.to_string());
            }
        }
    }
    found
}

#[test]
fn service_modules_import_each_other_without_a_circle() {
    let modules = service_modules();
    let names: BTreeSet<String> = modules.keys().filter(|n| *n != "mod").cloned().collect();
    let graph: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .filter(|(name, _)| *name != "mod")
        .map(|(name, source)| (name.as_str(), imports(source, &names)))
        .collect();
    assert!(
        graph.get("checks").is_some_and(|i| i.contains("events")),
        "the parser must see `use super::events::emit` in checks.rs: {graph:?}"
    );
    // Depth-first search for a back edge.
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<&'a str, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(start) = path.iter().position(|n| *n == node) {
            panic!(
                "import circle between service modules: {} -> {node}",
                path[start..].join(" -> ")
            );
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some((key, _)) = graph.get_key_value(next.as_str()) {
                visit(key, graph, path, done);
            }
        }
        path.pop();
        done.insert(node);
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_import_parser_reads_both_forms_of_use() {
    let names: BTreeSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
    assert_eq!(
        imports("use super::{b::X, Coordinator};\nuse super::a;", &names),
        names
    );
}

#[test]
fn service_modules_stay_small() {
    for (name, source) in service_modules() {
        let lines = source.lines().count();
        assert!(
            lines <= MAX_LINES,
            "src/service/{name}.rs has {lines} lines, more than {MAX_LINES}: split it by concern"
        );
    }
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn agent_modules_stay_small() {
    let agent = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pictor-agent/src");
    let files = rust_files(&agent);
    assert!(files.len() > 5, "the agent crate is at {}", agent.display());
    for path in files {
        let lines = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .count();
        assert!(
            lines <= MAX_LINES,
            "{} has {lines} lines, more than {MAX_LINES}: split it by concern",
            path.display()
        );
    }
}

#[test]
fn only_the_escrow_module_moves_money() {
    let calls = [
        "create_pending(",
        "post_pending(",
        "void_pending(",
        ".deposit(transfer",
        ".transfer(",
    ];
    for (name, source) in service_modules() {
        // The escrow module is `escrow.rs` and its child `escrow_bonds.rs`.
        if name == "escrow" || name == "escrow_bonds" {
            continue;
        }
        for call in calls {
            if call == ".deposit(transfer" && name == "accounts" {
                // `write.escrow().deposit(transfer, …)` is the escrow's own method.
                assert!(
                    source.contains("escrow().deposit(transfer"),
                    "accounts.rs must deposit through the escrow"
                );
                continue;
            }
            assert!(
                !source.contains(call),
                "src/service/{name}.rs calls {call}…: every hold, post and void of the ledger belongs in escrow.rs"
            );
        }
    }
}
