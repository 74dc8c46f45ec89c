//! Multi-index hashing: all pairs of 64-bit hashes within Hamming distance `t`, without
//! comparing all pairs.
//!
//! The 64 bits are cut into `m` chunks. If two hashes differ in at most `t` bits, some chunk
//! differs in at most `r = floor(t / m)` bits (pigeonhole). Each chunk indexes the hashes in a
//! direct table (chunks are at most 22 bits); every hash probes, in every chunk, all keys within
//! `r` bits of its own, and only the hashes found there are compared in full. `m` is chosen per
//! call to minimise probes plus expected candidate comparisons.

use rayon::prelude::*;

/// A pair of hash indices `(a, b)` with `a < b`, and their Hamming distance.
pub type Pair = (u32, u32, u8);

/// Hashes per parallel batch (and per call of the sink).
const BATCH: usize = 8192;

/// Chunking of the 64 bits.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    widths: Vec<u32>,
    shifts: Vec<u32>,
    radius: u32,
}

fn binom_sum(b: u32, r: u32) -> f64 {
    let mut total = 0.0;
    let mut c = 1.0f64;
    for k in 0..=r.min(b) {
        total += c;
        c = c * (b - k) as f64 / (k + 1) as f64;
    }
    total
}

fn plan(n: usize, t: u32) -> Plan {
    let mut best: Option<(f64, Plan)> = None;
    for m in 3..=(t + 1).max(3) {
        let p = chunking(m, t);
        let (mut probes, mut frac) = (0.0, 0.0);
        for &b in &p.widths {
            let v = binom_sum(b, p.radius);
            probes += v;
            frac += v / 2f64.powi(b as i32);
        }
        let n = n as f64;
        let cost = n * probes + 0.5 * n * n * frac;
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, p));
        }
    }
    best.map(|(_, p)| p).unwrap_or_else(|| chunking(3, 0))
}

#[inline]
fn chunk(v: u64, shift: u32, width: u32) -> u32 {
    ((v >> shift) & ((1u64 << width) - 1)) as u32
}

/// One chunk's direct table: `items[offsets[k]..offsets[k + 1]]` are the hashes whose chunk
/// is `k`, in ascending order.
struct Table {
    offsets: Vec<u32>,
    items: Vec<u32>,
    /// Keys within the radius of 0 (xor masks).
    masks: Vec<u32>,
}

fn table(values: &[u64], shift: u32, width: u32, radius: u32) -> Table {
    let size = 1usize << width;
    let mut offsets = vec![0u32; size + 1];
    for &v in values {
        offsets[chunk(v, shift, width) as usize + 1] += 1;
    }
    for k in 0..size {
        offsets[k + 1] += offsets[k];
    }
    let mut fill = offsets.clone();
    let mut items = vec![0u32; values.len()];
    for (i, &v) in values.iter().enumerate() {
        let k = chunk(v, shift, width) as usize;
        items[fill[k] as usize] = i as u32;
        fill[k] += 1;
    }
    let masks = (0..size as u32)
        .filter(|m| m.count_ones() <= radius)
        .collect();
    Table {
        offsets,
        items,
        masks,
    }
}

/// Finds every pair `(a, b, d)` with `a < b` indexing `values`, `d = hamming(values[a],
/// values[b]) <= t` and `accept(a, b)` (a further check, run in parallel), each pair once.
/// Pairs are handed to `sink` in batches, in ascending `a` order (deterministic). `values`
/// should be distinct (collapse equal hashes first).
pub fn near_pairs(
    values: &[u64],
    t: u32,
    accept: &(dyn Fn(u32, u32) -> bool + Sync),
    sink: &mut dyn FnMut(&[Pair]),
) {
    if values.len() < 2 || t == 0 {
        return;
    }
    let p = plan(values.len(), t);
    let tables: Vec<Table> = p
        .widths
        .iter()
        .zip(&p.shifts)
        .map(|(&w, &s)| table(values, s, w, p.radius))
        .collect();
    let probe = |a: usize, out: &mut Vec<Pair>| {
        let va = values[a];
        for (j, tab) in tables.iter().enumerate() {
            let key = chunk(va, p.shifts[j], p.widths[j]);
            for &mask in &tab.masks {
                let k = (key ^ mask) as usize;
                let bucket = &tab.items[tab.offsets[k] as usize..tab.offsets[k + 1] as usize];
                let from = bucket.partition_point(|&b| b as usize <= a);
                for &b in &bucket[from..] {
                    let x = va ^ values[b as usize];
                    let d = x.count_ones();
                    if d > t {
                        continue;
                    }
                    // Found through an earlier chunk already?
                    let earlier =
                        (0..j).any(|e| chunk(x, p.shifts[e], p.widths[e]).count_ones() <= p.radius);
                    if !earlier && accept(a as u32, b) {
                        out.push((a as u32, b, d as u8));
                    }
                }
            }
        }
    };
    for start in (0..values.len()).step_by(BATCH) {
        let end = (start + BATCH).min(values.len());
        let pairs: Vec<Pair> = (start..end)
            .into_par_iter()
            .fold(Vec::new, |mut out, a| {
                probe(a, &mut out);
                out
            })
            .reduce(Vec::new, |mut x, y| {
                x.extend(y);
                x
            });
        if !pairs.is_empty() {
            sink(&pairs);
        }
    }
}

/// An index over fixed hashes that answers, for any query hash, which of them lie within `t`
/// bits: the multi-index tables of [`near_pairs`] keyed for outside queries, with each bucket's
/// hashes stored beside their positions so a probe scans contiguous memory. The chunking is
/// chosen on the indexed hashes' real bucket sizes (skewed hashes fill some buckets far beyond
/// the uniform average), and a plain scan is used when that is cheaper.
pub(crate) struct QueryIndex {
    t: u32,
    plan: Plan,
    /// Empty: answer by scanning `all`.
    tables: Vec<QueryTable>,
    all: Vec<u64>,
}

/// One chunk's table: the hashes whose chunk is `k` are `vals[offsets[k]..offsets[k + 1]]`,
/// at positions `ids[..]` of the indexed slice.
struct QueryTable {
    offsets: Vec<u32>,
    vals: Vec<u64>,
    ids: Vec<u32>,
    masks: Vec<u32>,
}

/// Relative costs of the query planner: probing one bucket (a random access into the offsets,
/// more when the table outgrows the caches), comparing one candidate, building per entry.
const PROBE_COST: f64 = 2.0;
const BIG_PROBE_COST: f64 = 6.0;
const CANDIDATE_COST: f64 = 1.0;
const BUILD_COST: f64 = 1.0;

/// Queries whose bucket sizes the planner samples.
const PLAN_SAMPLE: usize = 512;

fn masks(width: u32, radius: u32) -> Vec<u32> {
    (0..1u32 << width)
        .filter(|m| m.count_ones() <= radius)
        .collect()
}

fn chunking(m: u32, t: u32) -> Plan {
    let widths: Vec<u32> = (0..m).map(|j| 64 / m + u32::from(j < 64 % m)).collect();
    let shifts = widths
        .iter()
        .scan(0, |s, &w| {
            let at = *s;
            *s += w;
            Some(at)
        })
        .collect();
    Plan {
        widths,
        shifts,
        radius: t / m,
    }
}

/// The cheapest chunking for answering `queries` queries (of which `sample` is a sample)
/// within `t` bits of `values`, or `None` when a plain scan is cheapest.
fn query_plan(values: &[u64], t: u32, sample: &[u64], queries: usize) -> Option<Plan> {
    let (n, q) = (values.len() as f64, queries as f64);
    let mut best: (f64, Option<Plan>) = (q * n * CANDIDATE_COST, None);
    if sample.is_empty() {
        return None;
    }
    let mut counts: Vec<u32> = Vec::new();
    for m in 3..=(t + 1).clamp(3, 64) {
        let p = chunking(m, t);
        let mut probes = 0.0;
        let mut build = 0.0;
        for &w in &p.widths {
            let per = if w > 16 { BIG_PROBE_COST } else { PROBE_COST };
            probes += per * binom_sum(w, p.radius);
            build += BUILD_COST * ((1u64 << w) as f64 + n);
        }
        let fixed = build + q * probes;
        if fixed >= best.0 {
            continue;
        }
        // Expected candidates per query from the real bucket sizes.
        let mut found = 0f64;
        for (&w, &s) in p.widths.iter().zip(&p.shifts) {
            counts.clear();
            counts.resize(1 << w, 0);
            for &v in values {
                counts[chunk(v, s, w) as usize] += 1;
            }
            let near = masks(w, p.radius);
            for &x in sample {
                let key = chunk(x, s, w);
                found += near
                    .iter()
                    .map(|&mask| f64::from(counts[(key ^ mask) as usize]))
                    .sum::<f64>();
            }
        }
        let cost = fixed + q * CANDIDATE_COST * found / sample.len() as f64;
        if cost < best.0 {
            best = (cost, Some(p));
        }
    }
    best.1
}

impl QueryIndex {
    /// Indexes `values` for `queries` queries within `t` bits, planned on `sample` (a few
    /// hundred queries like the real ones).
    pub(crate) fn new(values: &[u64], t: u32, sample: &[u64], queries: usize) -> Self {
        let Some(plan) = query_plan(values, t, sample, queries) else {
            return QueryIndex {
                t,
                plan: chunking(3, t),
                tables: Vec::new(),
                all: values.to_vec(),
            };
        };
        let tables = plan
            .widths
            .iter()
            .zip(&plan.shifts)
            .map(|(&w, &s)| {
                let Table { offsets, items, .. } = table(values, s, w, 0);
                QueryTable {
                    vals: items.iter().map(|&i| values[i as usize]).collect(),
                    ids: items,
                    offsets,
                    masks: masks(w, plan.radius),
                }
            })
            .collect();
        QueryIndex {
            t,
            plan,
            tables,
            all: Vec::new(),
        }
    }

    /// A sample of at most [`PLAN_SAMPLE`] items of `n`, evenly spread (deterministic).
    pub(crate) fn sample_positions(n: usize) -> impl Iterator<Item = usize> {
        let step = n.div_ceil(PLAN_SAMPLE).max(1);
        (0..n).step_by(step)
    }

    /// Calls `hit(position, distance)` once for every indexed hash within `t` bits of `q`.
    #[inline]
    pub(crate) fn query(&self, q: u64, mut hit: impl FnMut(u32, u32)) {
        let t = self.t;
        if self.tables.is_empty() {
            for (i, &v) in self.all.iter().enumerate() {
                let d = (q ^ v).count_ones();
                if d <= t {
                    hit(i as u32, d);
                }
            }
            return;
        }
        let p = &self.plan;
        for (j, tab) in self.tables.iter().enumerate() {
            let key = chunk(q, p.shifts[j], p.widths[j]);
            for &mask in &tab.masks {
                let k = (key ^ mask) as usize;
                let (lo, hi) = (tab.offsets[k] as usize, tab.offsets[k + 1] as usize);
                for (&v, &id) in tab.vals[lo..hi].iter().zip(&tab.ids[lo..hi]) {
                    let x = q ^ v;
                    let d = x.count_ones();
                    if d > t {
                        continue;
                    }
                    // Found through an earlier chunk already?
                    let earlier =
                        (0..j).any(|e| chunk(x, p.shifts[e], p.widths[e]).count_ones() <= p.radius);
                    if !earlier {
                        hit(id, d);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    fn brute(values: &[u64], t: u32) -> Vec<(u32, u32, u8)> {
        let mut out = Vec::new();
        for a in 0..values.len() {
            for b in a + 1..values.len() {
                let d = (values[a] ^ values[b]).count_ones();
                if d <= t {
                    out.push((a as u32, b as u32, d as u8));
                }
            }
        }
        out
    }

    #[test]
    fn finds_exactly_the_brute_force_pairs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // Clusters of hashes with a few flipped bits, plus random ones.
        let mut values: Vec<u64> = Vec::new();
        for _ in 0..300 {
            let base: u64 = rng.random();
            values.push(base);
            for _ in 0..rng.random_range(0..4) {
                let mut v = base;
                for _ in 0..rng.random_range(1..14) {
                    v ^= 1 << rng.random_range(0..64);
                }
                values.push(v);
            }
        }
        values.sort_unstable();
        values.dedup();
        for t in [1, 3, 6, 10, 12, 16] {
            let mut got = Vec::new();
            near_pairs(&values, t, &|_, _| true, &mut |p| got.extend_from_slice(p));
            got.sort_unstable();
            let want = brute(&values, t);
            assert!(!want.is_empty());
            assert_eq!(got, want, "t = {t}");
        }
    }

    #[test]
    fn query_index_finds_exactly_the_hashes_within_t() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        // Skewed hashes: a third share their low 24 bits, like the hashes of similar images.
        let mut values: Vec<u64> = (0..3000)
            .map(|i| {
                let v: u64 = rng.random();
                if i % 3 == 0 {
                    (v & !0xFF_FFFF) | 0x5A_5A5A
                } else {
                    v
                }
            })
            .collect();
        values.extend_from_within(..40);
        let mut queries: Vec<u64> = values
            .iter()
            .step_by(7)
            .map(|&v| {
                let mut q = v;
                for _ in 0..rng.random_range(0..9) {
                    q ^= 1 << rng.random_range(0..64);
                }
                q
            })
            .collect();
        queries.extend((0..50).map(|_| rng.random::<u64>()));
        for t in [1, 2, 4, 6, 10, 16] {
            // A planned index (many queries) and a plain scan (one query) answer alike.
            for planned in [true, false] {
                let n_queries = if planned { 1 << 30 } else { 1 };
                let idx = QueryIndex::new(&values, t, &queries[..100], n_queries);
                if !planned || t <= 6 {
                    assert_eq!(idx.tables.is_empty(), !planned, "t = {t}");
                }
                for &q in &queries {
                    let mut got = Vec::new();
                    idx.query(q, |i, d| got.push((i, d)));
                    got.sort_unstable();
                    let want: Vec<(u32, u32)> = values
                        .iter()
                        .enumerate()
                        .map(|(i, &v)| (i as u32, (q ^ v).count_ones()))
                        .filter(|&(_, d)| d <= t)
                        .collect();
                    assert_eq!(got, want, "t = {t}, planned {planned}");
                }
            }
        }
    }

    #[test]
    fn plan_covers_all_bits() {
        for n in [10, 70_000, 1_300_000] {
            for t in 0..=32 {
                let p = plan(n, t);
                assert_eq!(p.widths.iter().sum::<u32>(), 64);
                assert!(p.widths.iter().all(|&w| w <= 22));
                assert_eq!(p.radius, t / p.widths.len() as u32);
            }
        }
    }
}
