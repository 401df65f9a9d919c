//! Recall of the graph search against exact search, on seeded synthetic data.
//!
//! Random Gaussian vectors in 384 dimensions are the hardest case for a graph index (no
//! structure, all distances alike); clustered vectors look more like real embeddings.

use std::time::Instant;

use crate::params::HnswParams;
use crate::store::{SearchPlan, VectorStore};

/// SplitMix64: a tiny seeded generator, enough for test data.
pub(crate) struct TestRng(u64);

impl TestRng {
    pub(crate) fn new(seed: u64) -> Self {
        TestRng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub(crate) fn gaussian(&mut self) -> f32 {
        let (u1, u2) = (self.uniform(), self.uniform());
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }

    pub(crate) fn gaussian_vec(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.gaussian()).collect()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[derive(Debug, Clone, Copy)]
enum Shape {
    Gaussian,
    /// `clusters` Gaussian centres; points are centre + noise of standard deviation `spread`.
    Clustered {
        clusters: usize,
        spread: f32,
    },
}

fn sample(rng: &mut TestRng, shape: Shape, dim: usize, n: usize) -> Vec<Vec<f32>> {
    match shape {
        Shape::Gaussian => (0..n).map(|_| rng.gaussian_vec(dim)).collect(),
        Shape::Clustered { clusters, spread } => {
            let centres: Vec<Vec<f32>> = (0..clusters).map(|_| rng.gaussian_vec(dim)).collect();
            (0..n)
                .map(|_| {
                    let c = &centres[rng.below(clusters)];
                    c.iter().map(|x| x + spread * rng.gaussian()).collect()
                })
                .collect()
        }
    }
}

struct Measured {
    recall: f64,
    recall_filtered: f64,
}

/// Builds a store of `n` one-chunk docs, searches 100 queries with the graph and exactly,
/// and returns mean Recall@10 without filter and with a filter admitting docs `% 10 == 3`.
fn measure(shape: Shape, n: usize, dim: usize, params: HnswParams, seed: u64) -> Measured {
    let mut rng = TestRng::new(seed);
    let data = sample(&mut rng, shape, dim, n + 100);
    let (docs, queries) = data.split_at(n);
    let mut store = VectorStore::create(dim, params).expect("valid params");
    for (doc, v) in docs.iter().enumerate() {
        store
            .insert_case(doc as u64, std::slice::from_ref(v))
            .expect("valid vector");
    }
    let t = Instant::now();
    store.build_graph();
    let build = t.elapsed();
    let k = 10;
    let tenth = |doc: u64| doc % 10 == 3;
    let filters: [Option<&dyn Fn(u64) -> bool>; 2] = [None, Some(&tenth)];
    let mut recalls = [0.0f64; 2];
    let mut graph_time = [std::time::Duration::ZERO; 2];
    for (fi, filter) in filters.iter().enumerate() {
        let mut found = 0usize;
        for q in queries {
            let exact = store
                .search_with_plan(q, k, *filter, SearchPlan::Exact)
                .expect("valid query");
            let t = Instant::now();
            let approx = store
                .search_with_plan(q, k, *filter, SearchPlan::Graph)
                .expect("valid query");
            graph_time[fi] += t.elapsed();
            assert_eq!(exact.len(), k);
            assert_eq!(approx.len(), k);
            if let Some(f) = filter {
                assert!(approx.iter().all(|(d, _)| f(*d)), "filter not honoured");
            }
            found += approx
                .iter()
                .filter(|(d, _)| exact.iter().any(|(e, _)| e == d))
                .count();
        }
        recalls[fi] = found as f64 / (k * queries.len()) as f64;
    }
    println!(
        "{shape:?} n={n} dim={dim} {params:?}: recall@10 {:.3}, filtered(10%) {:.3}; \
         build {:.1}s, graph search {:.2} ms/query, filtered {:.2} ms/query",
        recalls[0],
        recalls[1],
        build.as_secs_f64(),
        graph_time[0].as_secs_f64() * 1e3 / queries.len() as f64,
        graph_time[1].as_secs_f64() * 1e3 / queries.len() as f64,
    );
    Measured {
        recall: recalls[0],
        recall_filtered: recalls[1],
    }
}

const DIM: usize = 384;

/// Size of the default (debug-build) recall tests; the 20,000-vector versions are `#[ignore]`d.
/// (This crate's distance runs unoptimised in debug builds; at 5,000 vectors each test took
/// ~200 s in debug, 6 s in release.)
const N_DEFAULT: usize = 1_500;

#[test]
fn default_params_recall_at_10_gaussian() {
    let m = measure(Shape::Gaussian, N_DEFAULT, DIM, HnswParams::default(), 7);
    assert!(m.recall >= 0.95, "recall {}", m.recall);
    assert!(
        m.recall_filtered >= 0.95,
        "filtered recall {}",
        m.recall_filtered
    );
}

#[test]
fn default_params_recall_at_10_clustered() {
    let shape = Shape::Clustered {
        clusters: 200,
        spread: 0.5,
    };
    let m = measure(shape, N_DEFAULT, DIM, HnswParams::default(), 11);
    assert!(m.recall >= 0.95, "recall {}", m.recall);
    assert!(
        m.recall_filtered >= 0.95,
        "filtered recall {}",
        m.recall_filtered
    );
}

/// A commit's rows linked into an existing graph in one batch, on all cores, are found as
/// well as those the graph was built with; a batch with a bad case adds nothing.
#[test]
fn a_batch_linked_on_all_cores_keeps_recall_and_a_bad_batch_adds_nothing() {
    let shape = Shape::Clustered {
        clusters: 200,
        spread: 0.5,
    };
    let mut rng = TestRng::new(23);
    let data = sample(&mut rng, shape, DIM, 2 * N_DEFAULT + 100);
    let (docs, queries) = data.split_at(2 * N_DEFAULT);
    let (built, added) = docs.split_at(N_DEFAULT);
    let mut store = VectorStore::create(DIM, HnswParams::default()).expect("valid params");
    for (doc, v) in built.iter().enumerate() {
        store
            .insert_case(doc as u64, std::slice::from_ref(v))
            .expect("valid vector");
    }
    store.build_graph();
    let batch: Vec<(u64, &[Vec<f32>])> = added
        .iter()
        .enumerate()
        .map(|(i, v)| ((N_DEFAULT + i) as u64, std::slice::from_ref(v)))
        .collect();
    store.insert_cases(&batch).expect("valid batch");
    assert_eq!(store.len(), 2 * N_DEFAULT);
    let k = 10;
    let mut found = 0;
    for q in queries {
        let exact = store
            .search_with_plan(q, k, None, SearchPlan::Exact)
            .expect("valid query");
        let approx = store
            .search_with_plan(q, k, None, SearchPlan::Graph)
            .expect("valid query");
        found += approx
            .iter()
            .filter(|(d, _)| exact.iter().any(|(e, _)| e == d))
            .count();
    }
    let recall = found as f64 / (k * queries.len()) as f64;
    assert!(recall >= 0.95, "recall {recall}");
    // every added doc is reachable: it finds itself
    for (i, v) in added.iter().enumerate().step_by(97) {
        let hit = store
            .search_with_plan(v, 1, None, SearchPlan::Graph)
            .expect("valid query");
        assert_eq!(hit.first().map(|h| h.0), Some((N_DEFAULT + i) as u64));
    }
    let empty: &[Vec<f32>] = &[];
    let bad = [(9_999_998u64, &added[..1]), (9_999_999u64, empty)];
    assert!(store.insert_cases(&bad).is_err());
    assert_eq!(
        store.len(),
        2 * N_DEFAULT,
        "nothing of a bad batch is added"
    );
    assert!(!store.contains(9_999_998));
}

/// 20,000 Gaussian vectors: the measurement behind the default `ef_search` (0.980 / 1.000).
#[test]
#[ignore = "slow (minutes in a debug build); run with --release --ignored"]
fn default_params_recall_at_10_gaussian_20k() {
    let m = measure(Shape::Gaussian, 20_000, DIM, HnswParams::default(), 7);
    assert!(m.recall >= 0.95, "recall {}", m.recall);
    assert!(
        m.recall_filtered >= 0.95,
        "filtered recall {}",
        m.recall_filtered
    );
}

/// 20,000 clustered vectors (closer to real embeddings than Gaussian noise).
#[test]
#[ignore = "slow (minutes in a debug build); run with --release --ignored"]
fn default_params_recall_at_10_clustered_20k() {
    let shape = Shape::Clustered {
        clusters: 200,
        spread: 0.5,
    };
    let m = measure(shape, 20_000, DIM, HnswParams::default(), 11);
    assert!(m.recall >= 0.95, "recall {}", m.recall);
    assert!(
        m.recall_filtered >= 0.95,
        "filtered recall {}",
        m.recall_filtered
    );
}

/// Parameter sweep used to pick the defaults: `cargo test -p leian-vector --release -- --ignored --nocapture sweep`.
#[test]
#[ignore = "slow parameter sweep; run by hand"]
fn sweep_params() {
    for (m, efc, efs) in sweep_grid() {
        let params = HnswParams {
            max_nb_connection: m,
            ef_construction: efc,
            ef_search: efs,
        };
        measure(Shape::Gaussian, sweep_n(), DIM, params, 7);
    }
}

fn sweep_n() -> usize {
    std::env::var("SWEEP_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

fn sweep_grid() -> Vec<(usize, usize, usize)> {
    // "M,efc,efs;M,efc,efs"
    std::env::var("SWEEP_GRID")
        .ok()
        .map(|s| {
            s.split(';')
                .filter_map(|t| {
                    let v: Vec<usize> = t.split(',').filter_map(|x| x.parse().ok()).collect();
                    (v.len() == 3).then(|| (v[0], v[1], v[2]))
                })
                .collect()
        })
        .unwrap_or_else(|| vec![(16, 200, 128), (24, 200, 256), (32, 200, 256)])
}
