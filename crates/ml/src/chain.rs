//! The merge engines behind [`crate::hierarchical`]: nearest-neighbour chains (on a condensed
//! distance matrix, or for ward on cluster means) and Prim's minimum spanning tree. Each returns
//! raw merges `(leaf_a, leaf_b, height)` in the order found; `hierarchical::relabel` sorts and
//! names them.

use rayon::prelude::*;

use crate::hierarchical::Linkage;
use crate::kernels;
use crate::matrix::MatRef;

/// Index of `(i, j)`, `i < j`, in the condensed matrix.
#[inline]
fn cidx(n: usize, i: usize, j: usize) -> usize {
    n * i - i * (i + 1) / 2 + j - i - 1
}

/// Condensed Euclidean distances (ward: scaled by `sqrt(2 w_i w_j / (w_i + w_j))`).
fn condensed(x: MatRef<'_>, size: &[f64], ward: bool) -> Vec<f32> {
    let n = x.rows();
    let mut dist = vec![0.0f32; n * (n - 1) / 2];
    let mut rows: Vec<(usize, &mut [f32])> = Vec::with_capacity(n);
    let mut rest: &mut [f32] = &mut dist;
    for i in 0..n.saturating_sub(1) {
        let (head, tail) = rest.split_at_mut(n - i - 1);
        rows.push((i, head));
        rest = tail;
    }
    let data = x.as_slice();
    let d = x.cols();
    rows.into_par_iter().for_each(|(i, out)| {
        kernels::sq_dists(x.row(i), &data[(i + 1) * d..], out);
        for (t, v) in out.iter_mut().enumerate() {
            let j = i + 1 + t;
            let scale = if ward {
                2.0 * size[i] * size[j] / (size[i] + size[j])
            } else {
                1.0
            };
            *v = ((*v).max(0.0) as f64 * scale).sqrt() as f32;
        }
    });
    dist
}

/// Nearest-neighbour chain (Murtagh 1983; SciPy's `nn_chain`) for reducible linkages.
pub(crate) fn nn_chain(
    x: MatRef<'_>,
    mut size: Vec<f64>,
    method: Linkage,
) -> Vec<(usize, usize, f64)> {
    let n = x.rows();
    let mut dist = condensed(x, &size, method == Linkage::Ward);
    let at = |i: usize, j: usize| if i < j { cidx(n, i, j) } else { cidx(n, j, i) };
    let mut active = vec![true; n];
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    let mut first_active = 0;
    for _ in 0..n.saturating_sub(1) {
        if chain.is_empty() {
            while !active[first_active] {
                first_active += 1;
            }
            chain.push(first_active);
        }
        let (mut a, mut b, mut best);
        loop {
            a = chain[chain.len() - 1];
            let prev = (chain.len() >= 2).then(|| chain[chain.len() - 2]);
            (b, best) = match prev {
                Some(p) => (p, dist[at(a, p)]),
                None => (usize::MAX, f32::INFINITY),
            };
            for i in 0..a {
                if active[i] {
                    let v = dist[cidx(n, i, a)];
                    if v < best {
                        best = v;
                        b = i;
                    }
                }
            }
            if a + 1 < n {
                let row = &dist[cidx(n, a, a + 1)..cidx(n, a, a + 1) + n - a - 1];
                for (t, &v) in row.iter().enumerate() {
                    if v < best && active[a + 1 + t] {
                        best = v;
                        b = a + 1 + t;
                    }
                }
            }
            if prev == Some(b) {
                break;
            }
            chain.push(b);
        }
        chain.truncate(chain.len() - 2);
        let (x, y) = (a.min(b), a.max(b));
        merges.push((x, y, best as f64));
        let (nx, ny) = (size[x], size[y]);
        let dxy = best as f64;
        active[x] = false;
        size[y] = nx + ny;
        for i in 0..n {
            if !active[i] || i == y {
                continue;
            }
            let (dxi, dyi) = (dist[at(x, i)] as f64, dist[at(y, i)] as f64);
            let ni = size[i];
            let new = match method {
                Linkage::Ward => (((ni + nx) * dxi * dxi + (ni + ny) * dyi * dyi - ni * dxy * dxy)
                    / (ni + nx + ny))
                    .max(0.0)
                    .sqrt(),
                Linkage::Average => (nx * dxi + ny * dyi) / (nx + ny),
                Linkage::Complete => dxi.max(dyi),
                Linkage::Single => dxi.min(dyi),
            };
            dist[at(y, i)] = new as f32;
        }
    }
    merges
}

/// Prim's minimum spanning tree with distances computed on the fly (`O(n^2 d)` time, `O(n d)`
/// memory): Euclidean, or with `core_sq` (squared core distances) the mutual reachability
/// distance `max(core_a, core_b, |a - b|)` of HDBSCAN. Returns the `n - 1` edges
/// `(tree point, new point, distance)` in the order they were added.
pub(crate) fn prim_mst(x: MatRef<'_>, core_sq: Option<&[f32]>) -> Vec<(usize, usize, f64)> {
    let (n, d) = (x.rows(), x.cols());
    if n < 2 {
        return Vec::new();
    }
    // Points not yet in the tree, kept compact: original index, a copy of the row, its core
    // distance, the best squared distance to the tree so far and the tree point giving it.
    let mut idx: Vec<usize> = (1..n).collect();
    let mut rows: Vec<f32> = x.as_slice()[d..].to_vec();
    let mut core: Vec<f32> = core_sq.map_or_else(|| vec![0.0; n - 1], |c| c[1..].to_vec());
    let mut best = vec![f32::INFINITY; n - 1];
    let mut from = vec![0usize; n - 1];
    let mut current = 0usize;
    let mut edges = Vec::with_capacity(n - 1);
    const CHUNK: usize = 1024;
    while !idx.is_empty() {
        let cur_row = x.row(current);
        let cur_core = core_sq.map_or(0.0, |c| c[current]);
        let m = idx.len();
        // Next point: smallest distance, ties to the lowest original index (as SciPy and
        // scikit-learn, which scan in index order). Entries: (distance, original, position).
        let mins: Vec<(f32, usize, usize)> = rows[..m * d]
            .par_chunks(CHUNK * d.max(1))
            .zip(best[..m].par_chunks_mut(CHUNK))
            .zip(from[..m].par_chunks_mut(CHUNK))
            .zip(core[..m].par_chunks(CHUNK))
            .zip(idx.par_chunks(CHUNK))
            .enumerate()
            .map(|(c, ((((r, b), f), co), ix))| {
                let mut tmp = vec![0.0f32; b.len()];
                kernels::sq_dists(cur_row, r, &mut tmp);
                let mut m = (f32::INFINITY, usize::MAX, usize::MAX);
                for (t, (&v, (bt, ft))) in
                    tmp.iter().zip(b.iter_mut().zip(f.iter_mut())).enumerate()
                {
                    let v = v.max(cur_core).max(co[t]);
                    if v < *bt {
                        *bt = v;
                        *ft = current;
                    }
                    if *bt < m.0 || (*bt == m.0 && ix[t] < m.1) {
                        m = (*bt, ix[t], c * CHUNK + t);
                    }
                }
                m
            })
            .collect();
        let mut pick = (f32::INFINITY, usize::MAX, usize::MAX);
        for &(v, o, t) in &mins {
            if t != usize::MAX
                && (pick.2 == usize::MAX || v < pick.0 || (v == pick.0 && o < pick.1))
            {
                pick = (v, o, t);
            }
        }
        // Only an overflow to infinity leaves nothing picked; any remaining point will do.
        let t = if pick.2 == usize::MAX { 0 } else { pick.2 };
        let next = idx[t];
        edges.push((from[t], next, (best[t].max(0.0) as f64).sqrt()));
        // Remove position t (swap with the last).
        let last = m - 1;
        idx.swap_remove(t);
        best.swap(t, last);
        from.swap(t, last);
        core.swap(t, last);
        if t != last {
            rows.copy_within(last * d..(last + 1) * d, t * d);
        }
        rows.truncate(last * d);
        current = next;
    }
    edges
}

/// Nearest-neighbour chain for ward linkage on cluster means: the ward distance of clusters
/// `A`, `B` is `sqrt(2 |A||B| / (|A| + |B|)) |mean_A - mean_B|`, so each nearest-neighbour
/// query is one pass of the distance kernel over the active means (kept compact), and no
/// distance matrix is needed. Ties go to the previous chain element, then to the lowest index,
/// as SciPy's `nn_chain`.
pub(crate) fn ward_chain(x: MatRef<'_>, size: Vec<f64>) -> Vec<(usize, usize, f64)> {
    let (n, d) = (x.rows(), x.cols());
    // Compact storage of active clusters: id (its lowest... representative leaf), mean, size.
    let mut ids: Vec<usize> = (0..n).collect();
    let mut means: Vec<f32> = x.as_slice().to_vec();
    let mut sizes = size;
    let mut pos: Vec<usize> = (0..n).collect();
    let mut dist = vec![0.0f32; n];
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    const CHUNK: usize = 2048;
    for _ in 0..n.saturating_sub(1) {
        if chain.is_empty() {
            chain.push(ids[0]);
        }
        let (mut a, mut b, mut best);
        loop {
            a = chain[chain.len() - 1];
            let pa = pos[a];
            let m = ids.len();
            let na = sizes[pa];
            let centre = means[pa * d..(pa + 1) * d].to_vec();
            // Squared ward distance to every active cluster, and the smallest (lowest id on ties).
            let mins: Vec<(f64, usize)> = means[..m * d]
                .par_chunks(CHUNK * d.max(1))
                .zip(dist[..m].par_chunks_mut(CHUNK))
                .enumerate()
                .map(|(c, (rows, out))| {
                    kernels::sq_dists(&centre, rows, out);
                    let mut best = (f64::INFINITY, usize::MAX);
                    for (t, v) in out.iter_mut().enumerate() {
                        let p = c * CHUNK + t;
                        let ni = sizes[p];
                        let w = 2.0 * na * ni / (na + ni) * v.max(0.0) as f64;
                        *v = w as f32;
                        let id = ids[p];
                        if id != a && (w < best.0 || (w == best.0 && id < best.1)) {
                            best = (w, id);
                        }
                    }
                    best
                })
                .collect();
            (best, b) = mins.into_iter().fold((f64::INFINITY, usize::MAX), |m, c| {
                if c.0 < m.0 || (c.0 == m.0 && c.1 < m.1) {
                    c
                } else {
                    m
                }
            });
            if chain.len() >= 2 {
                let prev = chain[chain.len() - 2];
                let pp = pos[prev];
                let np = sizes[pp];
                let v = kernels::sq_dist(&centre, &means[pp * d..(pp + 1) * d]);
                let w = 2.0 * na * np / (na + np) * v.max(0.0) as f64;
                if w <= best {
                    b = prev;
                    best = w;
                    break;
                }
            }
            chain.push(b);
        }
        chain.truncate(chain.len() - 2);
        let (lo, hi) = (a.min(b), a.max(b));
        merges.push((lo, hi, best.max(0.0).sqrt()));
        // The merged cluster lives on as `hi` (SciPy's convention); `lo` leaves.
        let (pl, ph) = (pos[lo], pos[hi]);
        let (nl, nh) = (sizes[pl], sizes[ph]);
        let total = nl + nh;
        for t in 0..d {
            let v = (nl * means[pl * d + t] as f64 + nh * means[ph * d + t] as f64) / total;
            means[ph * d + t] = v as f32;
        }
        sizes[ph] = total;
        // Remove `lo` by moving the last active cluster into its slot.
        let last = ids.len() - 1;
        if pl != last {
            let moved = ids[last];
            ids[pl] = moved;
            sizes[pl] = sizes[last];
            means.copy_within(last * d..(last + 1) * d, pl * d);
            pos[moved] = pl;
        }
        ids.truncate(last);
        sizes.truncate(last);
        means.truncate(last * d);
    }
    merges
}
