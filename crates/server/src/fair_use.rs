//! Fair use per API key: at most [`KeyLimits::concurrent`] requests of one key in flight,
//! and a token bucket of [`KeyLimits::per_minute`] requests (up to [`KeyLimits::burst`] at
//! once), and of those at most [`KeyLimits::heavy_concurrent`] heavy ones (long pastes).
//! Past any of them a request is answered 429 with `Retry-After` before any work, so one
//! key flooding the server leaves the engine's workers to everyone else.

use crate::error::AppError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits every key gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyLimits {
    /// Requests of one key in flight at once (its engine work included).
    pub concurrent: usize,
    /// Sustained requests per minute.
    pub per_minute: u32,
    /// Requests a key may make at once after a quiet spell.
    pub burst: u32,
    /// Heavy requests (query text over [`HEAVY_QUERY_CHARS`]: a pasted draft) of one key
    /// in flight at once: a key flooding with long pastes keeps at most this many
    /// workers busy, and short queries of everyone else find a core free.
    pub heavy_concurrent: usize,
}

/// Requests of one key in flight at once, at the least (when there are more engine
/// workers): what the judge's page sends together (opening a pushed case: the case and its
/// ack; a 429 there shows as an error, and the web page test met it with 2).
pub const MIN_CONCURRENT_PER_KEY: usize = 3;

/// Query text longer than this, in characters, makes a request heavy.
pub const HEAVY_QUERY_CHARS: usize = 1_000;

impl KeyLimits {
    /// Half the engine workers per key, but at least [`MIN_CONCURRENT_PER_KEY`] (the
    /// page of one judge has a search, the inbox and a case open at once) and never all of
    /// them (one worker stays free for other keys; BENCHMARKS.md "Fair use under a flood":
    /// BM25 keyword p99 under a paste flood 47 ms with 3 per key), 600 requests a
    /// minute, bursts of 120, long pastes one at a time: far above what a judge at the
    /// page or a court system polling its inbox needs, and a flood of pastes still takes
    /// one worker.
    pub fn for_workers(max_concurrent: usize) -> KeyLimits {
        KeyLimits {
            concurrent: (max_concurrent / 2)
                .max(MIN_CONCURRENT_PER_KEY.min(max_concurrent.saturating_sub(1)))
                .max(1),
            per_minute: 600,
            burst: 120,
            heavy_concurrent: 1,
        }
    }
}

struct KeyState {
    in_flight: Arc<Semaphore>,
    heavy: Arc<Semaphore>,
    tokens: f64,
    at: Instant,
}

impl KeyState {
    fn new(l: KeyLimits) -> KeyState {
        KeyState {
            in_flight: Arc::new(Semaphore::new(l.concurrent.max(1))),
            heavy: Arc::new(Semaphore::new(l.heavy_concurrent.max(1))),
            tokens: f64::from(l.burst.max(1)),
            at: Instant::now(),
        }
    }
}

/// The state of every key seen (bounded by the keys table: only valid keys get here).
pub(crate) struct FairUse {
    limits: KeyLimits,
    keys: Mutex<HashMap<i64, KeyState>>,
}

/// A request's place among its key's in-flight ones; released when dropped (when the
/// request and all the work it started are done).
#[derive(Debug)]
pub(crate) struct Lease {
    _permit: OwnedSemaphorePermit,
}

impl FairUse {
    pub(crate) fn new(limits: KeyLimits) -> FairUse {
        FairUse {
            limits,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one request of `key_id`, or says when to come back.
    pub(crate) fn admit(&self, key_id: i64) -> Result<Lease, AppError> {
        let l = self.limits;
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| AppError::Internal("fair-use lock poisoned".into()))?;
        let now = Instant::now();
        let st = keys.entry(key_id).or_insert_with(|| KeyState::new(l));
        let rate = f64::from(l.per_minute.max(1)) / 60.0; // tokens per second
        st.tokens = (st.tokens + now.duration_since(st.at).as_secs_f64() * rate)
            .min(f64::from(l.burst.max(1)));
        st.at = now;
        if st.tokens < 1.0 {
            let wait = ((1.0 - st.tokens) / rate).ceil().max(1.0) as u64;
            return Err(AppError::TooManyRequests {
                retry_after_secs: wait,
                message: format!(
                    "this key made more than {} requests a minute; retry in {wait} s",
                    l.per_minute
                ),
            });
        }
        let permit =
            st.in_flight
                .clone()
                .try_acquire_owned()
                .map_err(|_| AppError::TooManyRequests {
                    retry_after_secs: 1,
                    message: format!(
                        "this key already has {} requests in flight; retry when one is answered",
                        l.concurrent
                    ),
                })?;
        st.tokens -= 1.0;
        Ok(Lease { _permit: permit })
    }
}

impl FairUse {
    /// A heavy request's extra place (when `chars` is over [`HEAVY_QUERY_CHARS`]; `None`
    /// for a light one), or a 429 while the key has its heavy requests in flight.
    pub(crate) fn admit_heavy(&self, key_id: i64, chars: usize) -> Result<Option<Lease>, AppError> {
        if chars <= HEAVY_QUERY_CHARS {
            return Ok(None);
        }
        let l = self.limits;
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| AppError::Internal("fair-use lock poisoned".into()))?;
        let heavy = keys
            .entry(key_id)
            .or_insert_with(|| KeyState::new(l))
            .heavy
            .clone();
        let permit = heavy.try_acquire_owned().map_err(|_| AppError::TooManyRequests {
            retry_after_secs: 1,
            message: format!(
                "this key already has {} long queries (over {HEAVY_QUERY_CHARS} characters) in flight; retry when one is answered",
                l.heavy_concurrent
            ),
        })?;
        Ok(Some(Lease { _permit: permit }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_room_for_the_page_but_never_every_worker() {
        let per_key = |workers| KeyLimits::for_workers(workers).concurrent;
        assert_eq!(
            per_key(4),
            3,
            "2 cores: the page's few requests, one worker left"
        );
        assert_eq!(per_key(16), 8, "half of many");
        assert_eq!(per_key(2), 1);
        assert_eq!(per_key(1), 1);
    }

    fn retry_after(e: AppError) -> u64 {
        match e {
            AppError::TooManyRequests {
                retry_after_secs, ..
            } => retry_after_secs,
            other => panic!("expected 429, got {other}"),
        }
    }

    #[test]
    fn in_flight_requests_of_one_key_are_bounded_and_others_unaffected() {
        let f = FairUse::new(KeyLimits {
            concurrent: 2,
            per_minute: 6000,
            burst: 100,
            heavy_concurrent: 1,
        });
        let long = f
            .admit_heavy(1, HEAVY_QUERY_CHARS + 1)
            .expect("heavy")
            .expect("lease");
        assert_eq!(
            retry_after(
                f.admit_heavy(1, HEAVY_QUERY_CHARS + 1)
                    .expect_err("second heavy")
            ),
            1
        );
        assert!(
            f.admit_heavy(1, 10).expect("light").is_none(),
            "light needs none"
        );
        f.admit_heavy(2, HEAVY_QUERY_CHARS + 1)
            .expect("another key")
            .expect("lease");
        drop(long);
        let a = f.admit(1).expect("first");
        let _b = f.admit(1).expect("second");
        assert_eq!(retry_after(f.admit(1).expect_err("third")), 1);
        let _other = f.admit(2).expect("another key is not held back");
        drop(a);
        f.admit(1).expect("a slot came free");
    }

    #[test]
    fn the_rate_is_a_token_bucket_with_a_retry_after() {
        let f = FairUse::new(KeyLimits {
            concurrent: 10,
            per_minute: 60,
            burst: 3,
            heavy_concurrent: 1,
        });
        for _ in 0..3 {
            drop(f.admit(7).expect("burst"));
        }
        let wait = retry_after(f.admit(7).expect_err("over the burst"));
        assert!((1..=2).contains(&wait), "{wait}");
        // a refused request costs nothing: the bucket refills at one a second
        std::thread::sleep(std::time::Duration::from_millis(1100));
        drop(f.admit(7).expect("refilled"));
    }
}
