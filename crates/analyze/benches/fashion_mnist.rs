//! Times a full analysis of Fashion-MNIST (70,000 images): the pass and the findings.
//! Run: `cargo bench -p dlscope-analyze --bench fashion_mnist` (needs
//! /usr/share/datasets/fashion-mnist). Target: under 10 s on a 2-core machine.

use std::path::Path;
use std::time::Instant;

use dlscope_analyze::{analyze_shard, finish, Settings, Shard};

fn main() {
    let dir = Path::new("/usr/share/datasets/fashion-mnist");
    let ds = match dlscope_data::idx::open_dir(dir) {
        Ok(ds) => ds,
        Err(e) => {
            eprintln!("Fashion-MNIST not available ({e}); nothing to time");
            return;
        }
    };
    let s = Settings::default();
    for round in 0..3 {
        let t = Instant::now();
        let pass = analyze_shard(&ds, &s, Shard::whole(), &|_| {}).expect("pass");
        let t_pass = t.elapsed().as_secs_f64();
        // The findings without the shifted-copy search of small images, for its share.
        let mut plain = s.clone();
        plain.thresholds.shift_distance = 0;
        let t = Instant::now();
        let _ = finish(pass.clone(), &ds, &plain, &|_| {}).expect("findings");
        let t_plain = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let a = finish(pass, &ds, &s, &|_| {}).expect("findings");
        let t_find = t.elapsed().as_secs_f64();
        println!("round {round}: findings without the shifted-copy search {t_plain:.2} s");
        println!(
            "round {round}: pass {t_pass:.2} s ({:.0} images/s), findings {t_find:.2} s, total {:.2} s, {} findings on {} threads",
            ds.len() as f64 / t_pass,
            t_pass + t_find,
            a.findings.len(),
            rayon::current_num_threads()
        );
    }
}
