//! Time to write each output of a Fashion-MNIST analysis (the analysis itself is not timed).
//! Run on a quiet machine: `cargo bench -p dlscope-report --bench write_report`.
//! Target: all outputs together well under two seconds.

use std::time::Instant;

use dlscope_analyze::{analyze, Settings};
use dlscope_report::{html, tables, Report};

fn main() {
    let ds = match dlscope_data::open("fashion-mnist") {
        Ok(ds) => ds,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let a = match analyze(&ds, &Settings::default(), &|_| {}) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("analysis failed: {e}");
            return;
        }
    };
    println!(
        "fashion-mnist: {} samples, {} findings",
        a.features.len(),
        a.findings.len()
    );
    let time = |what: &str, f: &mut dyn FnMut() -> usize| {
        let start = Instant::now();
        let bytes = f();
        println!(
            "{what:<14} {:>8.1} ms  {:>10} bytes",
            start.elapsed().as_secs_f64() * 1e3,
            bytes
        );
    };
    time("findings.csv", &mut || {
        let mut buf = Vec::new();
        tables::write_findings_csv(&mut buf, &a.findings).map_or(0, |_| buf.len())
    });
    time("features.csv", &mut || {
        let mut buf = Vec::new();
        let id_of = |s: u16, i: u64| dlscope_report::sample_id(&ds, s, i);
        tables::write_features_csv(&mut buf, &a.dataset, &a.features, &id_of)
            .map_or(0, |_| buf.len())
    });
    time("report.json", &mut || {
        let mut buf = Vec::new();
        Report::from_analysis(&a)
            .write(&mut buf)
            .map_or(0, |_| buf.len())
    });
    time("report.html", &mut || {
        html::render(&a, Some(&ds), &Default::default()).len()
    });
}
