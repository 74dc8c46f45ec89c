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
