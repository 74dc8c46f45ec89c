//! Integration tests of the dlscope workflows, one module per workflow.

// Modules live in tests/flows/ so cargo does not build each as a test binary of its own.
#[path = "flows/clean.rs"]
mod clean;
#[path = "flows/diet.rs"]
mod diet;
#[path = "flows/fill.rs"]
mod fill;
#[path = "flows/labels.rs"]
mod labels;
#[path = "flows/reduce.rs"]
mod reduce;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file below `dir` with its bytes, to show that a run left its input untouched.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                let b = std::fs::read(&p).unwrap();
                out.insert(p, b);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}
