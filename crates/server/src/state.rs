//! Shared server state: the engine, the database, the concurrency bound and metrics.

use crate::error::{AppError, Result};
use crate::fair_use::{FairUse, KeyLimits};
use crate::metrics::Metrics;
use crate::store::Store;
use leian_engine::Engine;
use leian_push::{PushOptions, PushService};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Limits and demo settings of a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Engine calls (search, embedding, similar, report) running at once; more wait.
    pub max_concurrent: usize,
    /// Whole-request time limit.
    pub request_timeout: Duration,
    /// Largest request body, bytes.
    pub body_limit: usize,
    /// In demo mode, the judge key the web page gets injected.
    pub demo_key: Option<String>,
    /// Push threshold, caps and webhook retry policy.
    pub push: PushOptions,
    /// Fair use per key (in-flight requests, requests a minute).
    pub per_key: KeyLimits,
}

impl Default for ServerOptions {
    fn default() -> Self {
        let max_concurrent = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
        ServerOptions {
            max_concurrent,
            per_key: KeyLimits::for_workers(max_concurrent),
            request_timeout: Duration::from_secs(30),
            body_limit: 1024 * 1024,
            demo_key: None,
            push: PushOptions::default(),
        }
    }
}

pub(crate) struct Shared {
    pub(crate) engine: Engine,
    pub(crate) store: Store,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) metrics: Metrics,
    pub(crate) options: ServerOptions,
    pub(crate) jobs: crate::jobs::Jobs,
    /// Pending cases, subscriptions and the push outbox (tables in the same database).
    pub(crate) pushes: PushService,
    /// Bumped whenever pushes are created, waking SSE streams and the webhook sender.
    pub(crate) push_tick: tokio::sync::watch::Sender<u64>,
    /// One engine writer at a time (admin ingest and delete).
    pub(crate) writing: std::sync::Mutex<()>,
    pub(crate) fair_use: FairUse,
}

impl Shared {
    /// Who may see which case (leian-visibility, one handle shared with push).
    pub(crate) fn visibility(&self) -> &leian_visibility::CaseVisibility {
        self.pushes.store().visibility()
    }
}

/// Marks work abandoned when dropped (after the work is done, a no-op).
struct Abandon(Arc<std::sync::atomic::AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Cheap to clone; every handler gets one.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Shared>,
}

impl AppState {
    /// The state of a server over `engine`; opens the push tables in `store`'s file.
    pub fn new(engine: Engine, store: Store, options: ServerOptions) -> Result<AppState> {
        let pushes = PushService::open(store.path(), options.push)?;
        Ok(AppState {
            inner: Arc::new(Shared {
                engine,
                store,
                permits: Arc::new(Semaphore::new(options.max_concurrent.max(1))),
                fair_use: FairUse::new(options.per_key),
                metrics: Metrics::default(),
                options,
                jobs: Default::default(),
                pushes,
                push_tick: tokio::sync::watch::Sender::new(0),
                writing: std::sync::Mutex::new(()),
            }),
        })
    }

    pub fn pushes(&self) -> &PushService {
        &self.inner.pushes
    }

    /// Wakes SSE streams and the webhook sender after pushes were created.
    pub(crate) fn pushes_created(&self) {
        self.inner.push_tick.send_modify(|t| *t = t.wrapping_add(1));
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn options(&self) -> &ServerOptions {
        &self.inner.options
    }

    /// Runs CPU-bound or blocking work off the async runtime, at most
    /// `max_concurrent` at a time.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> Result<T> + Send + 'static,
    {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal("the worker semaphore is closed".into()))?;
        let inner = self.inner.clone();
        // set when this future is dropped (the request timed out or its client left):
        // work still queued for a thread then never starts
        let abandoned = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let _guard = Abandon(abandoned.clone());
        let out = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            if abandoned.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(AppError::Timeout);
            }
            f(&inner)
        })
        .await
        .map_err(|e| AppError::Internal(format!("worker failed: {e}")))?;
        out
    }

    /// Short database work (no permit needed) off the runtime.
    pub(crate) async fn db<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner.store))
            .await
            .map_err(|e| AppError::Internal(format!("worker failed: {e}")))?
    }
}
