//! The HNSW graph: neighbour ids only, over the store's own vector rows.
//!
//! Layout follows hnswlib: layer 0 is one flat block of `n × (1 + 2M)` slots (a count, then
//! up to `2M` neighbour ids per node); the few nodes above layer 0 have `M + 1` slots per upper
//! layer in a second block, found through a per-node offset. Node `i` is the store's row `i`,
//! so the graph keeps no copy of any vector.
//!
//! Inserts take `&self` so a build can run on several threads: every slot is an `AtomicU32`
//! (a plain load or store on x86), a writer changes a node's list only while holding that
//! node's lock, and a reader copies a list without locking. A reader racing a writer may see a
//! mix of the old and the new list, but every id it sees is a node of the graph, and the
//! insert that raced it links the node properly. Layers are drawn from a hash of the node id,
//! so they do not depend on insertion order or thread timing; the links do when the build is
//! parallel.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Mutex, RwLock};

/// Upper bound for a node's top layer.
pub(crate) const MAX_LEVEL: u8 = 15;

/// Seed of the level hash (any fixed value: only makes levels reproducible).
const LEVEL_SEED: u64 = 0x6c65_6961_6e5f_6873; // "leian_hs"

/// A node id with its distance to the current query; ordered by distance, then id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scored {
    pub(crate) dist: f32,
    pub(crate) id: u32,
}

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then(self.id.cmp(&other.id))
    }
}

/// Nearest-first wrapper for the candidate heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Nearest(std::cmp::Reverse<Scored>);

/// The vectors a graph links: row `i` of a row-major, unit-length `f32` matrix.
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) dim: usize,
}

impl Rows<'_> {
    #[inline]
    fn row(&self, id: u32) -> &[f32] {
        let start = id as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    #[inline]
    fn dist(&self, q: &[f32], id: u32) -> f32 {
        distance(q, self.row(id))
    }

    fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Distances from `q` to each of `ids`, appended to `out`. A graph walk touches rows all
    /// over memory: asking for every row first lets their cache misses overlap instead of
    /// queueing one behind the other.
    fn dists_into(&self, q: &[f32], ids: &[u32], out: &mut Vec<f32>) {
        for &id in ids {
            crate::memory::prefetch_row(self.row(id));
        }
        out.extend(ids.iter().map(|&id| self.dist(q, id)));
    }
}

/// Cosine distance `1 - a·b` for unit vectors, clamped to `[0, 2]` (f32 rounding can push
/// `a·a` a little above 1).
#[inline]
pub(crate) fn distance(a: &[f32], b: &[f32]) -> f32 {
    (1.0 - dot(a, b)).clamp(0.0, 2.0)
}

/// Dot product over 8-float blocks with one 8-lane accumulator: the shape LLVM turns into
/// packed multiply-adds (measured 32 ns for 384 floats in cache; a 16-lane version of the same
/// loop compiled to scalar shuffles and took 61 ns).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (ca, ta) = a.as_chunks::<8>();
    let (cb, tb) = b.as_chunks::<8>();
    let mut acc = [0.0f32; 8];
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ta.iter().zip(tb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// The graph's shape, saved with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GraphShape {
    /// Neighbours per node on layers above 0.
    pub(crate) m: usize,
    /// Neighbours per node on layer 0 (`2M`).
    pub(crate) m0: usize,
    /// Candidate list width while inserting.
    pub(crate) ef_construction: usize,
}

impl GraphShape {
    /// The shape a store's parameters give its graph.
    pub(crate) fn of(params: &crate::params::HnswParams) -> Self {
        GraphShape::new(params.max_nb_connection, params.ef_construction)
    }

    pub(crate) fn new(m: usize, ef_construction: usize) -> Self {
        GraphShape {
            m,
            m0: 2 * m,
            ef_construction,
        }
    }
}

/// The entry point: the node on the top layer.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u32,
    level: u8,
}

/// An HNSW graph over rows `0..len()` of some vector matrix; see the module docs.
pub(crate) struct HnswGraph {
    shape: GraphShape,
    /// Top layer of each node.
    levels: Vec<u8>,
    /// `len × (1 + m0)` slots: count, then ids.
    layer0: Vec<AtomicU32>,
    /// Start of each node's upper-layer slots in `upper` (`usize::MAX` for level-0 nodes).
    upper_start: Vec<usize>,
    /// For a node of level `l`, `l × (1 + m)` slots: layer 1 first.
    upper: Vec<AtomicU32>,
    locks: Vec<Mutex<()>>,
    entry: RwLock<Option<Entry>>,
}

impl std::fmt::Debug for HnswGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswGraph")
            .field("shape", &self.shape)
            .field("nodes", &self.levels.len())
            .finish()
    }
}

/// The level of node `id`: geometric with ratio `1/m`, from a hash of the id.
pub(crate) fn level_of(id: u32, m: usize) -> u8 {
    let mut z = LEVEL_SEED ^ u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // uniform in (0, 1]
    let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let ml = 1.0 / (m.max(2) as f64).ln();
    let level = (-u.ln() * ml).floor();
    if level >= f64::from(MAX_LEVEL) {
        MAX_LEVEL
    } else {
        level as u8
    }
}

thread_local! {
    /// Per-thread visited marks: `marks[id] == epoch` means visited in the current search.
    static VISITED: RefCell<(Vec<u32>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

/// Runs `f` with a fresh visited set for `n` nodes (reused across searches on this thread).
fn with_visited<R>(n: usize, f: impl FnOnce(&mut Visited<'_>) -> R) -> R {
    VISITED.with(|cell| match cell.try_borrow_mut() {
        Ok(mut guard) => {
            let (marks, epoch) = &mut *guard;
            if marks.len() < n {
                marks.resize(n, 0);
            }
            *epoch = epoch.wrapping_add(1);
            if *epoch == 0 {
                marks.iter_mut().for_each(|m| *m = 0);
                *epoch = 1;
            }
            f(&mut Visited {
                marks,
                epoch: *epoch,
            })
        }
        // Only reachable if `f` itself searched (it does not); stay correct anyway.
        Err(_) => {
            let mut marks = vec![0u32; n];
            f(&mut Visited {
                marks: &mut marks,
                epoch: 1,
            })
        }
    })
}

struct Visited<'a> {
    marks: &'a mut Vec<u32>,
    epoch: u32,
}

impl Visited<'_> {
    /// Marks `id`; `true` if it was not marked yet.
    #[inline]
    fn insert(&mut self, id: u32) -> bool {
        let slot = &mut self.marks[id as usize];
        if *slot == self.epoch {
            false
        } else {
            *slot = self.epoch;
            true
        }
    }
}

impl HnswGraph {
    /// An empty graph.
    pub(crate) fn new(shape: GraphShape) -> Self {
        HnswGraph {
            shape,
            levels: Vec::new(),
            layer0: Vec::new(),
            upper_start: Vec::new(),
            upper: Vec::new(),
            locks: Vec::new(),
            entry: RwLock::new(None),
        }
    }

    /// Number of nodes with slots (inserted or reserved).
    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Builds a graph over every row of `rows`, on `threads` threads (1 gives the same graph
    /// every time).
    pub(crate) fn build(shape: GraphShape, rows: Rows<'_>, threads: usize) -> Self {
        let mut graph = HnswGraph::new(shape);
        let n = rows.len();
        graph.reserve(n);
        if n == 0 {
            return graph;
        }
        graph.insert(rows, 0);
        graph.insert_all(rows, 1..n as u32, threads);
        graph
    }

    /// Links nodes `ids` (reserved slots whose rows exist) into the graph on `threads`
    /// threads; fewer than 1,000 nodes, or one thread, link in order on this one (the
    /// same graph every time).
    pub(crate) fn insert_all(&self, rows: Rows<'_>, ids: std::ops::Range<u32>, threads: usize) {
        let next = AtomicUsize::new(ids.start as usize);
        let end = ids.end as usize;
        let work = |graph: &HnswGraph| loop {
            let id = next.fetch_add(1, AtomicOrdering::Relaxed);
            if id >= end {
                break;
            }
            graph.insert(rows, id as u32);
        };
        let threads = threads.clamp(1, 64);
        if threads == 1 || ids.len() < 1_000 {
            work(self);
        } else {
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| work(self));
                }
            });
        }
    }

    /// Adds slots for nodes up to `n` (exclusive); they join the graph with [`Self::insert`].
    pub(crate) fn reserve(&mut self, n: usize) {
        let (m, m0) = (self.shape.m, self.shape.m0);
        let new_nodes = n.saturating_sub(self.levels.len());
        crate::memory::reserve_huge(&mut self.layer0, new_nodes * (m0 + 1));
        for id in self.levels.len()..n {
            let level = level_of(id as u32, m);
            self.levels.push(level);
            self.layer0.extend((0..=m0).map(|_| AtomicU32::new(0)));
            if level > 0 {
                self.upper_start.push(self.upper.len());
                self.upper
                    .extend((0..usize::from(level) * (m + 1)).map(|_| AtomicU32::new(0)));
            } else {
                self.upper_start.push(usize::MAX);
            }
            self.locks.push(Mutex::new(()));
        }
    }

    /// Slots of `node` on `layer`: count first, then capacity ids.
    #[inline]
    fn slots(&self, node: u32, layer: u8) -> &[AtomicU32] {
        if layer == 0 {
            let width = self.shape.m0 + 1;
            let start = node as usize * width;
            &self.layer0[start..start + width]
        } else {
            let width = self.shape.m + 1;
            let start = self.upper_start[node as usize] + (usize::from(layer) - 1) * width;
            &self.upper[start..start + width]
        }
    }

    /// Copies the neighbours of `node` on `layer` into `out`.
    #[inline]
    fn neighbours_into(&self, node: u32, layer: u8, out: &mut Vec<u32>) {
        out.clear();
        let slots = self.slots(node, layer);
        let count = (slots[0].load(AtomicOrdering::Acquire) as usize).min(slots.len() - 1);
        out.extend(
            slots[1..=count]
                .iter()
                .map(|s| s.load(AtomicOrdering::Relaxed)),
        );
    }

    /// Replaces the neighbours of `node` on `layer`; the caller holds the node's lock.
    fn set_neighbours(&self, node: u32, layer: u8, ids: &[u32]) {
        let slots = self.slots(node, layer);
        let count = ids.len().min(slots.len() - 1);
        for (slot, &id) in slots[1..].iter().zip(&ids[..count]) {
            slot.store(id, AtomicOrdering::Relaxed);
        }
        slots[0].store(count as u32, AtomicOrdering::Release);
    }

    fn lock(&self, node: u32) -> std::sync::MutexGuard<'_, ()> {
        // A poisoned lock only means another insert panicked; the slots are still valid ids.
        self.locks[node as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn entry(&self) -> Option<Entry> {
        *self.entry.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Links node `id` (a reserved slot whose row exists in `rows`) into the graph.
    pub(crate) fn insert(&self, rows: Rows<'_>, id: u32) {
        let level = self.levels[id as usize];
        let Some(entry) = self.entry_or_become(id, level) else {
            return;
        };
        let q = rows.row(id);
        let mut ep = Scored {
            dist: rows.dist(q, entry.id),
            id: entry.id,
        };
        let mut buf = Vec::with_capacity(self.shape.m0);
        for layer in (level + 1..=entry.level).rev() {
            ep = self.greedy(rows, q, ep, layer, &mut buf);
        }
        let mut eps = vec![ep];
        for layer in (0..=level.min(entry.level)).rev() {
            let found = with_visited(self.len(), |visited| {
                self.search_layer(
                    rows,
                    q,
                    &eps,
                    self.shape.ef_construction,
                    layer,
                    None,
                    visited,
                )
            });
            let cap = if layer == 0 {
                self.shape.m0
            } else {
                self.shape.m
            };
            let chosen = select_neighbours(rows, &found, self.shape.m);
            self.set_own_neighbours(rows, id, layer, &chosen, cap);
            for n in &chosen {
                self.link_back(rows, n.id, id, n.dist, layer, cap);
            }
            eps = found;
        }
        if level > entry.level {
            let mut guard = self.entry.write().unwrap_or_else(|e| e.into_inner());
            if guard.is_none_or(|e| level > e.level) {
                *guard = Some(Entry { id, level });
            }
        }
    }

    /// The current entry point, or `None` after making `id` the entry of an empty graph.
    fn entry_or_become(&self, id: u32, level: u8) -> Option<Entry> {
        if let Some(e) = self.entry() {
            return Some(e);
        }
        let mut guard = self.entry.write().unwrap_or_else(|e| e.into_inner());
        match *guard {
            Some(e) => Some(e),
            None => {
                *guard = Some(Entry { id, level });
                None
            }
        }
    }

    /// Sets the links of `id` (being inserted) on `layer` to `chosen`, keeping any link a
    /// concurrent insert already added back to it (which overwriting would lose, leaving that
    /// node without this in-link); prunes with the heuristic when over `cap`.
    fn set_own_neighbours(
        &self,
        rows: Rows<'_>,
        id: u32,
        layer: u8,
        chosen: &[Scored],
        cap: usize,
    ) {
        let _guard = self.lock(id);
        let mut existing = Vec::new();
        self.neighbours_into(id, layer, &mut existing);
        let mut ids: Vec<u32> = chosen.iter().map(|s| s.id).collect();
        existing.retain(|e| !ids.contains(e));
        if existing.is_empty() {
            self.set_neighbours(id, layer, &ids);
            return;
        }
        if ids.len() + existing.len() <= cap {
            ids.extend(existing);
            self.set_neighbours(id, layer, &ids);
            return;
        }
        let base = rows.row(id);
        let mut all: Vec<Scored> = chosen.to_vec();
        all.extend(existing.iter().map(|&e| Scored {
            dist: rows.dist(base, e),
            id: e,
        }));
        all.sort_unstable();
        let kept: Vec<u32> = select_neighbours(rows, &all, cap)
            .iter()
            .map(|s| s.id)
            .collect();
        self.set_neighbours(id, layer, &kept);
    }

    /// Adds `new` to `node`'s neighbours on `layer`, pruning with the heuristic when full.
    fn link_back(&self, rows: Rows<'_>, node: u32, new: u32, dist: f32, layer: u8, cap: usize) {
        let _guard = self.lock(node);
        let mut current = Vec::with_capacity(cap + 1);
        self.neighbours_into(node, layer, &mut current);
        if current.contains(&new) {
            return;
        }
        if current.len() < cap {
            current.push(new);
            self.set_neighbours(node, layer, &current);
            return;
        }
        let mut dists = Vec::with_capacity(current.len());
        rows.dists_into(rows.row(node), &current, &mut dists);
        let mut scored: Vec<Scored> = current
            .iter()
            .zip(&dists)
            .map(|(&id, &dist)| Scored { dist, id })
            .collect();
        scored.push(Scored { dist, id: new });
        scored.sort_unstable();
        let kept: Vec<u32> = select_neighbours(rows, &scored, cap)
            .iter()
            .map(|s| s.id)
            .collect();
        self.set_neighbours(node, layer, &kept);
    }

    /// Greedy walk on `layer` from `ep` to the nearest node it can reach.
    fn greedy(
        &self,
        rows: Rows<'_>,
        q: &[f32],
        mut ep: Scored,
        layer: u8,
        buf: &mut Vec<u32>,
    ) -> Scored {
        let mut dists = Vec::with_capacity(self.shape.m);
        loop {
            let mut moved = false;
            self.neighbours_into(ep.id, layer, buf);
            dists.clear();
            rows.dists_into(q, buf, &mut dists);
            for (&n, &d) in buf.iter().zip(&dists) {
                if d < ep.dist {
                    ep = Scored { dist: d, id: n };
                    moved = true;
                }
            }
            if !moved {
                return ep;
            }
        }
    }

    /// The `ef` nearest nodes to `q` on `layer` reachable from `eps`, nearest first; with
    /// `admit`, only admitted nodes are returned (the walk still passes through the others).
    #[allow(clippy::too_many_arguments)]
    fn search_layer(
        &self,
        rows: Rows<'_>,
        q: &[f32],
        eps: &[Scored],
        ef: usize,
        layer: u8,
        admit: Option<&dyn Fn(u32) -> bool>,
        visited: &mut Visited<'_>,
    ) -> Vec<Scored> {
        let mut candidates: BinaryHeap<Nearest> = BinaryHeap::with_capacity(ef * 2);
        let mut results: BinaryHeap<Scored> = BinaryHeap::with_capacity(ef + 1);
        let mut bound = f32::INFINITY;
        for &ep in eps {
            if !visited.insert(ep.id) {
                continue;
            }
            candidates.push(Nearest(std::cmp::Reverse(ep)));
            if admit.is_none_or(|f| f(ep.id)) {
                results.push(ep);
                if results.len() > ef {
                    results.pop();
                }
            }
        }
        if results.len() >= ef {
            bound = results.peek().map_or(f32::INFINITY, |s| s.dist);
        }
        let mut buf = Vec::with_capacity(self.shape.m0);
        let mut fresh = Vec::with_capacity(self.shape.m0);
        let mut dists = Vec::with_capacity(self.shape.m0);
        while let Some(Nearest(std::cmp::Reverse(c))) = candidates.pop() {
            if c.dist > bound {
                break;
            }
            if let Some(Nearest(std::cmp::Reverse(next))) = candidates.peek() {
                // its links live apart from its row: ask for them while this node is expanded
                crate::memory::prefetch(self.slots(next.id, layer), 2);
            }
            self.neighbours_into(c.id, layer, &mut buf);
            fresh.clear();
            fresh.extend(buf.iter().copied().filter(|&n| visited.insert(n)));
            dists.clear();
            rows.dists_into(q, &fresh, &mut dists);
            for (&n, &d) in fresh.iter().zip(&dists) {
                if results.len() < ef || d < bound {
                    let s = Scored { dist: d, id: n };
                    candidates.push(Nearest(std::cmp::Reverse(s)));
                    if admit.is_none_or(|f| f(n)) {
                        results.push(s);
                        if results.len() > ef {
                            results.pop();
                        }
                        if results.len() >= ef {
                            bound = results.peek().map_or(f32::INFINITY, |s| s.dist);
                        }
                    }
                }
            }
        }
        results.into_sorted_vec()
    }

    /// Up to `ef` (at least `k`) nearest admitted nodes to the unit vector `q`, nearest first.
    pub(crate) fn search(
        &self,
        rows: Rows<'_>,
        q: &[f32],
        ef: usize,
        admit: Option<&dyn Fn(u32) -> bool>,
    ) -> Vec<Scored> {
        let Some(entry) = self.entry() else {
            return Vec::new();
        };
        let mut ep = Scored {
            dist: rows.dist(q, entry.id),
            id: entry.id,
        };
        let mut buf = Vec::with_capacity(self.shape.m0);
        for layer in (1..=entry.level).rev() {
            ep = self.greedy(rows, q, ep, layer, &mut buf);
        }
        with_visited(self.len(), |visited| {
            self.search_layer(rows, q, &[ep], ef.max(1), 0, admit, visited)
        })
    }

    /// Serialises the graph: levels, the two slot blocks and the entry point (see `persist`).
    pub(crate) fn to_parts(&self) -> GraphParts {
        let load = |v: &[AtomicU32]| -> Vec<u32> {
            v.iter().map(|a| a.load(AtomicOrdering::Relaxed)).collect()
        };
        GraphParts {
            shape: self.shape,
            levels: self.levels.clone(),
            layer0: load(&self.layer0),
            upper: load(&self.upper),
            entry: self.entry().map(|e| e.id),
        }
    }

    /// Rebuilds a graph from saved parts, checking every count and id; `Err(reason)` if the
    /// parts do not describe a graph over `rows` rows.
    pub(crate) fn from_parts(parts: GraphParts, rows: usize) -> Result<Self, String> {
        let GraphParts {
            shape,
            levels,
            layer0,
            upper,
            entry,
        } = parts;
        let n = levels.len();
        if n != rows {
            return Err(format!("graph has {n} nodes, the store {rows} rows"));
        }
        let (m, m0) = (shape.m, shape.m0);
        if layer0.len() != n * (m0 + 1) {
            return Err(format!(
                "layer 0 has {} slots, expected {}",
                layer0.len(),
                n * (m0 + 1)
            ));
        }
        let mut upper_start = Vec::with_capacity(n);
        let mut upper_len = 0usize;
        for (id, &level) in levels.iter().enumerate() {
            if level != level_of(id as u32, m) {
                return Err(format!(
                    "node {id} has level {level}, expected {}",
                    level_of(id as u32, m)
                ));
            }
            if level > 0 {
                upper_start.push(upper_len);
                upper_len += usize::from(level) * (m + 1);
            } else {
                upper_start.push(usize::MAX);
            }
        }
        if upper.len() != upper_len {
            return Err(format!(
                "upper layers have {} slots, expected {upper_len}",
                upper.len()
            ));
        }
        let check_block = |block: &[u32], width: usize, what: &str| -> Result<(), String> {
            for (i, list) in block.chunks_exact(width).enumerate() {
                let count = list[0] as usize;
                if count > width - 1 {
                    return Err(format!("{what} list {i} claims {count} neighbours"));
                }
                if let Some(bad) = list[1..].iter().find(|&&id| id as usize >= n) {
                    return Err(format!("{what} list {i} links to node {bad} of {n}"));
                }
            }
            Ok(())
        };
        check_block(&layer0, m0 + 1, "layer-0")?;
        check_block(&upper, m + 1, "upper-layer")?;
        let entry = match entry {
            None if n == 0 => None,
            None => return Err("graph has nodes but no entry point".into()),
            Some(id) if (id as usize) < n => {
                let level = levels[id as usize];
                if levels.iter().any(|&l| l > level) {
                    return Err(format!("entry point {id} is not on the top layer"));
                }
                Some(Entry { id, level })
            }
            Some(id) => return Err(format!("entry point {id} is not a node")),
        };
        let atomics = |v: Vec<u32>| -> Vec<AtomicU32> {
            let mut out = Vec::new();
            crate::memory::reserve_huge(&mut out, v.len());
            out.extend(v.into_iter().map(AtomicU32::new));
            out
        };
        Ok(HnswGraph {
            shape,
            locks: (0..n).map(|_| Mutex::new(())).collect(),
            levels,
            layer0: atomics(layer0),
            upper_start,
            upper: atomics(upper),
            entry: RwLock::new(entry),
        })
    }

    /// Bytes the graph itself holds (not counting the vectors it links).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.levels.len()
            + 4 * (self.layer0.len() + self.upper.len())
            + std::mem::size_of::<usize>() * self.upper_start.len()
            + std::mem::size_of::<Mutex<()>>() * self.locks.len()
    }
}

/// A graph's contents as plain numbers, for saving.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphParts {
    pub(crate) shape: GraphShape,
    pub(crate) levels: Vec<u8>,
    pub(crate) layer0: Vec<u32>,
    pub(crate) upper: Vec<u32>,
    pub(crate) entry: Option<u32>,
}

/// hnswlib's neighbour heuristic: walking `candidates` nearest first, keep one only if it is
/// nearer to the base node than to every neighbour kept so far (spreads links across
/// directions); at most `m`.
fn select_neighbours(rows: Rows<'_>, candidates: &[Scored], m: usize) -> Vec<Scored> {
    if candidates.len() <= m {
        return candidates.to_vec();
    }
    let mut kept: Vec<Scored> = Vec::with_capacity(m);
    for &c in candidates {
        if kept.len() >= m {
            break;
        }
        let row = rows.row(c.id);
        if kept.iter().all(|k| rows.dist(row, k.id) >= c.dist) {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recall_tests::TestRng;

    fn unit_rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = TestRng::new(seed);
        let mut out = Vec::with_capacity(n * dim);
        for _ in 0..n {
            let v = rng.gaussian_vec(dim);
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            out.extend(v.iter().map(|x| x / norm));
        }
        out
    }

    fn exact(rows: Rows<'_>, q: &[f32], k: usize) -> Vec<u32> {
        let mut all: Vec<Scored> = (0..rows.len() as u32)
            .map(|id| Scored {
                dist: rows.dist(q, id),
                id,
            })
            .collect();
        all.sort_unstable();
        all.iter().take(k).map(|s| s.id).collect()
    }

    fn recall(graph: &HnswGraph, rows: Rows<'_>, queries: &[f32], ef: usize) -> f64 {
        let mut found = 0;
        let mut total = 0;
        for q in queries.chunks_exact(rows.dim) {
            let truth = exact(rows, q, 10);
            let got: Vec<u32> = graph
                .search(rows, q, ef, None)
                .iter()
                .take(10)
                .map(|s| s.id)
                .collect();
            found += got.iter().filter(|id| truth.contains(id)).count();
            total += 10;
        }
        found as f64 / total as f64
    }

    #[test]
    fn dot_matches_a_plain_sum_for_every_tail_length() {
        let mut rng = TestRng::new(1);
        for len in [0usize, 1, 7, 15, 16, 17, 33, 384] {
            let a = rng.gaussian_vec(len);
            let b = rng.gaussian_vec(len);
            let plain: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            assert!((f64::from(dot(&a, &b)) - plain).abs() < 1e-4, "len {len}");
        }
    }

    #[test]
    fn batched_distances_equal_one_at_a_time_distances() {
        for dim in [3usize, 8, 20, 384] {
            let data = unit_rows(11, dim, 2);
            let rows = Rows { data: &data, dim };
            let q = &unit_rows(1, dim, 3)[..];
            let ids: Vec<u32> = vec![4, 0, 10, 7, 7, 1, 9, 2, 3];
            let mut got = Vec::new();
            rows.dists_into(q, &ids, &mut got);
            assert_eq!(got.len(), ids.len());
            for (&id, &d) in ids.iter().zip(&got) {
                assert_eq!(d, rows.dist(q, id), "dim {dim} id {id}");
            }
        }
    }

    #[test]
    fn levels_are_geometric_with_ratio_one_over_m() {
        let n = 200_000u32;
        let above0 = (0..n).filter(|&id| level_of(id, 16) > 0).count() as f64 / f64::from(n);
        let above1 = (0..n).filter(|&id| level_of(id, 16) > 1).count() as f64 / f64::from(n);
        assert!((above0 - 1.0 / 16.0).abs() < 0.005, "{above0}");
        assert!((above1 - 1.0 / 256.0).abs() < 0.001, "{above1}");
    }

    #[test]
    fn single_threaded_build_is_deterministic_and_finds_what_exact_search_finds() {
        let dim = 32;
        let data = unit_rows(3_000, dim, 4);
        let rows = Rows { data: &data, dim };
        let queries = unit_rows(100, dim, 5);
        let a = HnswGraph::build(GraphShape::new(12, 100), rows, 1);
        let b = HnswGraph::build(GraphShape::new(12, 100), rows, 1);
        assert_eq!(a.to_parts(), b.to_parts());
        let r = recall(&a, rows, &queries, 64);
        assert!(r >= 0.95, "recall {r}");
        // A wider search never finds less.
        assert!(recall(&a, rows, &queries, 200) >= r);
    }

    #[test]
    fn parallel_build_reaches_the_same_recall() {
        let dim = 32;
        let data = unit_rows(4_000, dim, 6);
        let rows = Rows { data: &data, dim };
        let queries = unit_rows(100, dim, 7);
        let g = HnswGraph::build(GraphShape::new(12, 100), rows, 4);
        // Every node was inserted: each has links of its own on layer 0.
        let mut buf = Vec::new();
        for id in 0..4_000u32 {
            g.neighbours_into(id, 0, &mut buf);
            assert!(!buf.is_empty(), "node {id} has no links");
        }
        let r = recall(&g, rows, &queries, 64);
        assert!(r >= 0.95, "recall {r}");
        // Almost every node has an in-link on layer 0. Pruning can drop a node's last in-link
        // (hnswlib's graphs have such nodes too); racing inserts make that a little likelier.
        let mut linked = vec![false; 4_000];
        linked[g.entry().expect("entry").id as usize] = true;
        let mut buf = Vec::new();
        for id in 0..4_000u32 {
            g.neighbours_into(id, 0, &mut buf);
            for &n in &buf {
                linked[n as usize] = true;
            }
        }
        let unlinked = linked.iter().filter(|&&l| !l).count();
        assert!(unlinked <= 4, "{unlinked} of 4,000 nodes unlinked");
    }

    #[test]
    fn filtered_search_returns_only_admitted_nodes() {
        let dim = 16;
        let data = unit_rows(2_000, dim, 8);
        let rows = Rows { data: &data, dim };
        let g = HnswGraph::build(GraphShape::new(8, 64), rows, 1);
        let q = &unit_rows(1, dim, 9)[..];
        let odd = |id: u32| id % 2 == 1;
        let hits = g.search(rows, q, 50, Some(&odd));
        assert_eq!(hits.len(), 50);
        assert!(hits.iter().all(|s| odd(s.id)));
        assert!(hits.windows(2).all(|w| w[0].dist <= w[1].dist));
        let best_odd = exact(rows, q, 40).into_iter().find(|id| odd(*id));
        assert_eq!(Some(hits[0].id), best_odd);
    }

    #[test]
    fn incremental_inserts_extend_a_built_graph() {
        let dim = 16;
        let data = unit_rows(1_500, dim, 10);
        let first = Rows {
            data: &data[..1_000 * dim],
            dim,
        };
        let mut g = HnswGraph::build(GraphShape::new(8, 64), first, 1);
        let all = Rows { data: &data, dim };
        g.reserve(1_500);
        for id in 1_000..1_500u32 {
            g.insert(all, id);
        }
        // Each new row finds itself.
        for id in (1_000..1_500u32).step_by(25) {
            let hits = g.search(all, all.row(id), 10, None);
            assert_eq!(hits[0].id, id);
        }
    }

    #[test]
    fn parts_round_trip_and_damage_is_caught() {
        let dim = 8;
        let data = unit_rows(500, dim, 11);
        let rows = Rows { data: &data, dim };
        let g = HnswGraph::build(GraphShape::new(6, 40), rows, 1);
        let parts = g.to_parts();
        let back = HnswGraph::from_parts(parts.clone(), 500).expect("valid parts");
        assert_eq!(back.to_parts(), parts);
        let q = &unit_rows(1, dim, 12)[..];
        assert_eq!(g.search(rows, q, 20, None), back.search(rows, q, 20, None));

        assert!(HnswGraph::from_parts(parts.clone(), 499).is_err());
        let mut bad = parts.clone();
        bad.layer0[1] = 500; // first neighbour of node 0 out of range
        bad.layer0[0] = bad.layer0[0].max(1);
        assert!(HnswGraph::from_parts(bad, 500)
            .unwrap_err()
            .contains("links to node 500"));
        let mut bad = parts.clone();
        bad.layer0[0] = 99;
        assert!(HnswGraph::from_parts(bad, 500).is_err());
        let mut bad = parts;
        bad.upper.pop();
        assert!(HnswGraph::from_parts(bad, 500).is_err());
    }
}
