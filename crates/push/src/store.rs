//! The push tables in SQLite: pending cases, subscriptions, pushes (the outbox: one row
//! per (target, case) pair, enforced by a unique key), webhook deliveries, webhooks and
//! feedback. Every change is one transaction; a push and its delivery row are written
//! together, so a crash never leaves a push that will not be delivered.

use crate::clock::{now_iso, now_ms};
use crate::error::{PushError, Result};
use crate::model::*;
use leian_ingest::{AuthorityTier, CaseCategory, StatuteRef};
use leian_visibility::CaseVisibility;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS push_pending_cases (
    id TEXT PRIMARY KEY,
    court TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    judge TEXT NOT NULL,
    title TEXT NOT NULL,
    facts TEXT NOT NULL,
    charges TEXT NOT NULL,
    statutes TEXT NOT NULL,
    category TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    vector BLOB
);
CREATE INDEX IF NOT EXISTS push_pending_court ON push_pending_cases (court, status);
CREATE TABLE IF NOT EXISTS push_subscriptions (
    id TEXT PRIMARY KEY,
    court TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    criteria TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    court TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    case_title TEXT NOT NULL,
    tier TEXT NOT NULL,
    charges TEXT NOT NULL,
    score REAL NOT NULL,
    reason TEXT NOT NULL,
    reason_detail TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acked_at TEXT,
    withdrawn_at TEXT,
    UNIQUE (target_kind, target_id, case_id)
);
CREATE INDEX IF NOT EXISTS pushes_court ON pushes (court, id);
CREATE INDEX IF NOT EXISTS pushes_case ON pushes (case_id);
CREATE TABLE IF NOT EXISTS push_feedback (
    push_id INTEGER PRIMARY KEY,
    key_id INTEGER NOT NULL,
    useful INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS push_webhooks (
    court TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS push_deliveries (
    push_id INTEGER PRIMARY KEY,
    court TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS push_deliveries_due ON push_deliveries (state, next_at);
";

const PUSH_COLUMNS: &str =
    "p.id, p.court, p.target_kind, p.target_id, p.case_id, p.case_title, p.tier, \
     p.charges, p.score, p.reason, p.reason_detail, p.created_at, p.acked_at, f.useful";

/// The push tables; one connection behind a mutex (every call is short). Visibility is
/// asked of [`CaseVisibility`] (same file) whenever a push is created or delivered.
pub struct PushStore {
    conn: Mutex<Connection>,
    visibility: CaseVisibility,
}

impl std::fmt::Debug for PushStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushStore").finish_non_exhaustive()
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| PushError::Internal(format!("json: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_default()
}

fn vector_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn blob_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A fresh random id: 16 hex chars from /dev/urandom.
pub(crate) fn new_id() -> Result<String> {
    let mut buf = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|source| PushError::Io {
            context: "reading /dev/urandom".into(),
            source,
        })?;
    Ok(crate::signature::hex(&buf))
}

fn pending_from_row(r: &Row<'_>) -> rusqlite::Result<(PendingCase, Option<Vec<f32>>)> {
    let charges: String = r.get(6)?;
    let statutes: String = r.get(7)?;
    let category: Option<String> = r.get(8)?;
    let status: String = r.get(9)?;
    let vector: Option<Vec<u8>> = r.get(12)?;
    Ok((
        PendingCase {
            id: r.get(0)?,
            court: r.get(1)?,
            key_id: r.get(2)?,
            judge: r.get(3)?,
            title: r.get(4)?,
            facts: r.get(5)?,
            charges: from_json(&charges),
            statutes: from_json::<Vec<StatuteRef>>(&statutes),
            category: category.as_deref().and_then(CaseCategory::parse),
            status: PendingStatus::parse(&status).unwrap_or(PendingStatus::Closed),
            created_at: r.get(10)?,
            updated_at: r.get(11)?,
        },
        vector.map(|b| blob_vector(&b)),
    ))
}

const PENDING_COLUMNS: &str =
    "id, court, key_id, judge, title, facts, charges, statutes, category, \
     status, created_at, updated_at, vector";

fn push_from_row(r: &Row<'_>) -> rusqlite::Result<Push> {
    let kind: String = r.get(2)?;
    let target: String = r.get(3)?;
    let tier: String = r.get(6)?;
    let tier = AuthorityTier::parse(&tier).unwrap_or(AuthorityTier::Other);
    let charges: String = r.get(7)?;
    let detail: String = r.get(10)?;
    let useful: Option<i64> = r.get(13)?;
    Ok(Push {
        id: r.get(0)?,
        court: r.get(1)?,
        pending_case: (kind == "pending_case").then(|| target.clone()),
        subscription: (kind == "subscription").then_some(target),
        case_id: r.get(4)?,
        case_title: r.get(5)?,
        tier,
        tier_label: tier.label_zh().to_string(),
        must_follow: tier.must_follow(),
        charges: from_json(&charges),
        score: r.get::<_, f64>(8)? as f32,
        reason: r.get(9)?,
        reason_detail: from_json(&detail),
        created_at: r.get(11)?,
        acked_at: r.get(12)?,
        useful: useful.map(|u| u != 0),
    })
}

impl PushStore {
    /// Opens (or creates) the push tables in the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<PushStore> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch("PRAGMA journal_mode = WAL;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(PushStore {
            conn: Mutex::new(conn),
            visibility: CaseVisibility::open(path)?,
        })
    }

    /// Who may see which case (the same database file).
    pub fn visibility(&self) -> &CaseVisibility {
        &self.visibility
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| PushError::Internal("push database lock poisoned".into()))
    }

    pub fn insert_pending(&self, p: &PendingCase, vector: Option<&[f32]>) -> Result<()> {
        self.conn()?.execute(
            &format!("INSERT INTO push_pending_cases ({PENDING_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
            params![
                p.id,
                p.court,
                p.key_id,
                p.judge,
                p.title,
                p.facts,
                json(&p.charges)?,
                json(&p.statutes)?,
                p.category.map(|c| c.as_str()),
                p.status.as_str(),
                p.created_at,
                p.updated_at,
                vector.map(vector_blob),
            ],
        )?;
        Ok(())
    }

    /// Rewrites a pending case's fields (and vector, when given).
    pub fn update_pending(&self, p: &PendingCase, vector: Option<&[f32]>) -> Result<()> {
        self.conn()?.execute(
            "UPDATE push_pending_cases SET judge = ?2, title = ?3, facts = ?4, charges = ?5,
             statutes = ?6, category = ?7, status = ?8, updated_at = ?9,
             vector = COALESCE(?10, vector) WHERE id = ?1",
            params![
                p.id,
                p.judge,
                p.title,
                p.facts,
                json(&p.charges)?,
                json(&p.statutes)?,
                p.category.map(|c| c.as_str()),
                p.status.as_str(),
                p.updated_at,
                vector.map(vector_blob),
            ],
        )?;
        Ok(())
    }

    pub fn pending(&self, id: &str) -> Result<Option<(PendingCase, Option<Vec<f32>>)>> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {PENDING_COLUMNS} FROM push_pending_cases WHERE id = ?1"),
                params![id],
                pending_from_row,
            )
            .optional()?)
    }

    /// A court's pending cases, newest first.
    pub fn pending_of_court(&self, court: &str) -> Result<Vec<PendingCase>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {PENDING_COLUMNS} FROM push_pending_cases WHERE court = ?1 ORDER BY created_at DESC, id"
        ))?;
        let rows = stmt.query_map(params![court], pending_from_row)?;
        Ok(rows
            .map(|r| r.map(|(p, _)| p))
            .collect::<std::result::Result<_, _>>()?)
    }

    /// Every open pending case with its vector (to build the reverse index).
    pub fn open_pending(&self) -> Result<Vec<(PendingCase, Option<Vec<f32>>)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {PENDING_COLUMNS} FROM push_pending_cases WHERE status = 'open'"
        ))?;
        let rows = stmt.query_map([], pending_from_row)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn insert_subscription(&self, s: &Subscription) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO push_subscriptions (id, court, key_id, criteria, active, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                s.id,
                s.court,
                s.key_id,
                json(&s.criteria)?,
                s.active,
                s.created_at
            ],
        )?;
        Ok(())
    }

    fn subscriptions_where(
        &self,
        clause: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Subscription>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT id, court, key_id, criteria, active, created_at FROM push_subscriptions
             WHERE {clause} ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map(p, |r| {
            let criteria: String = r.get(3)?;
            Ok(Subscription {
                id: r.get(0)?,
                court: r.get(1)?,
                key_id: r.get(2)?,
                criteria: from_json(&criteria),
                active: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn subscriptions_of_court(&self, court: &str) -> Result<Vec<Subscription>> {
        self.subscriptions_where("court = ?1", &[&court])
    }

    pub fn active_subscriptions(&self) -> Result<Vec<Subscription>> {
        self.subscriptions_where("active = 1", &[])
    }

    /// Deactivates a court's subscription; false when there is none.
    pub fn cancel_subscription(&self, court: &str, id: &str) -> Result<bool> {
        Ok(self.conn()?.execute(
            "UPDATE push_subscriptions SET active = 0 WHERE id = ?1 AND court = ?2",
            params![id, court],
        )? > 0)
    }

    /// Stores a push unless its (target, case) pair was pushed before, or the court may
    /// not see the case, and queues its webhook delivery when the court has a webhook.
    /// Returns the new push's id.
    pub fn insert_push(&self, p: &NewPush) -> Result<Option<i64>> {
        if !self.visibility.may_see(&p.case_id, &p.court)? {
            return Ok(None);
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let created_at = now_iso();
        let n = tx.execute(
            "INSERT OR IGNORE INTO pushes (court, target_kind, target_id, case_id, case_title, tier,
             charges, score, reason, reason_detail, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                p.court,
                p.target.kind(),
                p.target.id(),
                p.case_id,
                p.case_title,
                p.tier.as_str(),
                json(&p.charges)?,
                f64::from(p.score),
                p.reason,
                json(&p.reason_detail)?,
                created_at,
            ],
        )?;
        if n == 0 {
            return Ok(None);
        }
        let id = tx.last_insert_rowid();
        let has_webhook: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM push_webhooks WHERE court = ?1",
                params![p.court],
                |r| r.get(0),
            )
            .optional()?;
        if has_webhook.is_some() {
            let push = tx.query_row(
                &format!(
                    "SELECT {PUSH_COLUMNS} FROM pushes p LEFT JOIN push_feedback f ON f.push_id = p.id
                     WHERE p.id = ?1"
                ),
                params![id],
                push_from_row,
            )?;
            let body = json(&serde_json::json!({"event": "push", "push": push}))?;
            tx.execute(
                "INSERT INTO push_deliveries (push_id, court, body, state, attempts, next_at)
                 VALUES (?1, ?2, ?3, 'pending', 0, ?4)",
                params![id, p.court, body, now_ms()],
            )?;
        }
        tx.commit()?;
        Ok(Some(id))
    }

    /// A court's pushes matching the filter, oldest first; never withdrawn ones nor ones
    /// of a case the court may no longer see (checked now, at delivery).
    pub fn pushes(&self, court: &str, f: &PushFilter) -> Result<Vec<Push>> {
        let hidden = self.visibility.hidden_from(court)?;
        let mut list = self.pushes_unchecked(court, f)?;
        list.retain(|p| !hidden.contains(&p.case_id));
        Ok(list)
    }

    fn pushes_unchecked(&self, court: &str, f: &PushFilter) -> Result<Vec<Push>> {
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {PUSH_COLUMNS} FROM pushes p LEFT JOIN push_feedback f ON f.push_id = p.id
             WHERE p.court = ?1 AND p.withdrawn_at IS NULL
               AND (?2 IS NULL OR (p.target_kind = 'pending_case' AND p.target_id = ?2))
               AND (?3 IS NULL OR (p.target_kind = 'subscription' AND p.target_id = ?3))
               AND (?4 = 0 OR p.acked_at IS NULL)
               AND p.id > ?5
             ORDER BY p.id LIMIT ?6"
        ))?;
        let rows = stmt.query_map(
            params![
                court,
                f.pending_case,
                f.subscription,
                f.unacked,
                f.after.unwrap_or(0),
                limit
            ],
            push_from_row,
        )?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// One push of the court (withdrawn ones, and ones of a case the court may no longer
    /// see, are gone).
    pub fn push(&self, court: &str, id: i64) -> Result<Option<Push>> {
        let push = self.push_unchecked(court, id)?;
        match push {
            Some(p) if self.visibility.may_see(&p.case_id, court)? => Ok(Some(p)),
            _ => Ok(None),
        }
    }

    fn push_unchecked(&self, court: &str, id: i64) -> Result<Option<Push>> {
        Ok(self
            .conn()?
            .query_row(
                &format!(
                    "SELECT {PUSH_COLUMNS} FROM pushes p LEFT JOIN push_feedback f ON f.push_id = p.id
                     WHERE p.id = ?1 AND p.court = ?2 AND p.withdrawn_at IS NULL"
                ),
                params![id, court],
                push_from_row,
            )
            .optional()?)
    }

    /// Marks a push acknowledged (read); the first time counts. False when not the court's.
    pub fn ack(&self, court: &str, id: i64) -> Result<bool> {
        if self.push(court, id)?.is_none() {
            return Ok(false);
        }
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE pushes SET acked_at = COALESCE(acked_at, ?3)
             WHERE id = ?1 AND court = ?2 AND withdrawn_at IS NULL",
            params![id, court, now_iso()],
        )?;
        Ok(n > 0)
    }

    /// Records (or replaces) a key's verdict on a push. False when not the court's.
    pub fn feedback(&self, court: &str, id: i64, key_id: i64, useful: bool) -> Result<bool> {
        if self.push(court, id)?.is_none() {
            return Ok(false);
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let exists: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM pushes WHERE id = ?1 AND court = ?2 AND withdrawn_at IS NULL",
                params![id, court],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(false);
        }
        tx.execute(
            "INSERT OR REPLACE INTO push_feedback (push_id, key_id, useful, at) VALUES (?1, ?2, ?3, ?4)",
            params![id, key_id, useful, now_iso()],
        )?;
        tx.execute(
            "UPDATE pushes SET acked_at = COALESCE(acked_at, ?2) WHERE id = ?1",
            params![id, now_iso()],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Withdraws every push of a deleted case: gone from inboxes and streams, and its
    /// undelivered webhooks cancelled. Returns how many pushes it withdrew.
    pub fn withdraw_case(&self, case_id: &str) -> Result<usize> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE pushes SET withdrawn_at = ?2 WHERE case_id = ?1 AND withdrawn_at IS NULL",
            params![case_id, now_iso()],
        )?;
        tx.execute(
            "UPDATE push_deliveries SET state = 'cancelled'
             WHERE state = 'pending' AND push_id IN (SELECT id FROM pushes WHERE case_id = ?1)",
            params![case_id],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// After a case's visibility changed: every push of it to a court that may no longer
    /// see it is withdrawn (gone from inbox and stream) and its undelivered webhook
    /// cancelled. Returns how many pushes it withdrew.
    pub fn withdraw_hidden(&self, case_id: &str) -> Result<usize> {
        let allowed = self.visibility.courts(case_id)?;
        if allowed.is_empty() {
            return Ok(0); // public: everyone may see it
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let courts: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT DISTINCT court FROM pushes WHERE case_id = ?1 AND withdrawn_at IS NULL",
            )?;
            let rows = stmt.query_map(params![case_id], |r| r.get::<_, String>(0))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        let mut n = 0;
        for court in courts.iter().filter(|c| !allowed.contains(c)) {
            tx.execute(
                "UPDATE push_deliveries SET state = 'cancelled'
                 WHERE state = 'pending' AND push_id IN
                   (SELECT id FROM pushes WHERE case_id = ?1 AND court = ?2)",
                params![case_id, court],
            )?;
            n += tx.execute(
                "UPDATE pushes SET withdrawn_at = ?3
                 WHERE case_id = ?1 AND court = ?2 AND withdrawn_at IS NULL",
                params![case_id, court, now_iso()],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Feedback rates overall, per tier and per charge of the pushed case.
    pub fn feedback_report(&self) -> Result<FeedbackReport> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT p.tier, p.charges, f.useful FROM pushes p
             LEFT JOIN push_feedback f ON f.push_id = p.id WHERE p.withdrawn_at IS NULL",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })?;
        let mut overall = FeedbackRate {
            group: "all".into(),
            ..FeedbackRate::default()
        };
        let mut tiers: BTreeMap<String, FeedbackRate> = BTreeMap::new();
        let mut charges: BTreeMap<String, FeedbackRate> = BTreeMap::new();
        let add = |r: &mut FeedbackRate, useful: Option<i64>| {
            r.pushes += 1;
            if let Some(u) = useful {
                r.rated += 1;
                r.useful += u64::from(u != 0);
            }
        };
        for row in rows {
            let (tier, cs, useful) = row?;
            add(&mut overall, useful);
            let t = tiers.entry(tier.clone()).or_insert_with(|| FeedbackRate {
                group: tier,
                ..FeedbackRate::default()
            });
            add(t, useful);
            for c in from_json::<Vec<String>>(&cs) {
                let e = charges.entry(c.clone()).or_insert_with(|| FeedbackRate {
                    group: c,
                    ..FeedbackRate::default()
                });
                add(e, useful);
            }
        }
        let rate = |mut r: FeedbackRate| {
            r.useful_rate = (r.rated > 0).then(|| r.useful as f64 / r.rated as f64);
            r
        };
        let mut by_tier: Vec<FeedbackRate> = tiers.into_values().map(rate).collect();
        by_tier.sort_by_key(|r| AuthorityTier::parse(&r.group).unwrap_or(AuthorityTier::Other));
        let mut by_charge: Vec<FeedbackRate> = charges.into_values().map(rate).collect();
        by_charge.sort_by(|a, b| b.pushes.cmp(&a.pushes).then(a.group.cmp(&b.group)));
        Ok(FeedbackReport {
            overall: rate(overall),
            by_tier,
            by_charge,
        })
    }

    pub fn set_webhook(&self, court: &str, url: &str, secret: &str) -> Result<WebhookInfo> {
        let at = now_iso();
        self.conn()?.execute(
            "INSERT OR REPLACE INTO push_webhooks (court, url, secret, updated_at) VALUES (?1, ?2, ?3, ?4)",
            params![court, url, secret, at],
        )?;
        Ok(WebhookInfo {
            court: court.into(),
            url: url.into(),
            updated_at: at,
        })
    }

    pub fn webhook(&self, court: &str) -> Result<Option<WebhookInfo>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT court, url, updated_at FROM push_webhooks WHERE court = ?1",
                params![court],
                |r| {
                    Ok(WebhookInfo {
                        court: r.get(0)?,
                        url: r.get(1)?,
                        updated_at: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Deliveries whose time has come (at most `limit`), oldest first, with the court's
    /// current webhook URL and secret. Visibility is checked now: a delivery of a case the
    /// court may no longer see is cancelled, not returned.
    pub fn due_deliveries(&self, now: i64, limit: usize) -> Result<Vec<DueDelivery>> {
        let due: Vec<(DueDelivery, String, String)> = {
            let conn = self.conn()?;
            let mut stmt = conn.prepare(
                "SELECT d.push_id, w.url, w.secret, d.body, d.attempts, p.case_id, d.court
                 FROM push_deliveries d
                 JOIN push_webhooks w ON w.court = d.court
                 JOIN pushes p ON p.id = d.push_id
                 WHERE d.state = 'pending' AND d.next_at <= ?1
                 ORDER BY d.next_at, d.push_id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now, limit as i64], |r| {
                Ok((
                    DueDelivery {
                        push_id: r.get(0)?,
                        url: r.get(1)?,
                        secret: r.get(2)?,
                        body: r.get(3)?,
                        attempts: r.get(4)?,
                    },
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(due.len());
        for (d, case_id, court) in due {
            if self.visibility.may_see(&case_id, &court)? {
                out.push(d);
            } else {
                self.conn()?.execute(
                    "UPDATE push_deliveries SET state = 'cancelled', last_error = ?2
                     WHERE push_id = ?1 AND state = 'pending'",
                    params![d.push_id, "the case is no longer visible to this court"],
                )?;
            }
        }
        Ok(out)
    }

    /// When the next pending delivery is due (Unix ms), if any.
    pub fn next_delivery_at(&self) -> Result<Option<i64>> {
        Ok(self.conn()?.query_row(
            "SELECT MIN(next_at) FROM push_deliveries WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    pub fn mark_delivered(&self, push_id: i64) -> Result<()> {
        self.conn()?.execute(
            "UPDATE push_deliveries SET state = 'delivered', attempts = attempts + 1,
             delivered_at = ?2, last_error = NULL WHERE push_id = ?1",
            params![push_id, now_iso()],
        )?;
        Ok(())
    }

    /// Records a failed attempt: retried at `next_at`, or given up (`dead`) when `None`.
    pub fn mark_failed(&self, push_id: i64, error: &str, next_at: Option<i64>) -> Result<()> {
        self.conn()?.execute(
            "UPDATE push_deliveries SET attempts = attempts + 1, last_error = ?2,
             state = CASE WHEN ?3 IS NULL THEN 'dead' ELSE 'pending' END,
             next_at = COALESCE(?3, next_at) WHERE push_id = ?1",
            params![push_id, error, next_at],
        )?;
        Ok(())
    }

    pub fn delivery(&self, push_id: i64) -> Result<Option<DeliveryState>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT push_id, state, attempts, last_error, delivered_at FROM push_deliveries
                 WHERE push_id = ?1",
                params![push_id],
                |r| {
                    Ok(DeliveryState {
                        push_id: r.get(0)?,
                        state: r.get(1)?,
                        attempts: r.get(2)?,
                        last_error: r.get(3)?,
                        delivered_at: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// The largest push id so far (0 when none).
    pub fn last_push_id(&self) -> Result<i64> {
        Ok(self
            .conn()?
            .query_row("SELECT COALESCE(MAX(id), 0) FROM pushes", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(court: &str, target: PushTarget, case: &str) -> NewPush {
        NewPush {
            court: court.into(),
            target,
            case_id: case.into(),
            case_title: format!("{case} 案"),
            tier: AuthorityTier::Guiding,
            charges: vec!["盗窃罪".into()],
            score: 0.7,
            reason: "r".into(),
            reason_detail: PushReason::default(),
        }
    }

    fn store() -> (tempfile::TempDir, PushStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = PushStore::open(&dir.path().join("t.sqlite")).expect("open");
        (dir, s)
    }

    #[test]
    fn a_pair_is_stored_once_and_queued_for_the_webhook_in_the_same_transaction() {
        let (_d, s) = store();
        let p = PushTarget::PendingCase("p1".into());
        let first = s.insert_push(&push("甲", p.clone(), "c1")).expect("insert");
        assert!(first.is_some());
        assert_eq!(
            s.insert_push(&push("甲", p.clone(), "c1")).expect("again"),
            None
        );
        // the same case for another target is another push
        let sub = PushTarget::Subscription("s1".into());
        assert!(s
            .insert_push(&push("甲", sub, "c1"))
            .expect("sub")
            .is_some());
        // no webhook yet: no delivery; with one, the next push is queued at once
        assert_eq!(s.delivery(first.expect("id")).expect("d"), None);
        s.set_webhook("甲", "http://127.0.0.1:1/h", "secret-secret-123")
            .expect("hook");
        let id = s
            .insert_push(&push("甲", p, "c2"))
            .expect("insert")
            .expect("new");
        let due = s.due_deliveries(now_ms(), 10).expect("due");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].push_id, id);
        let body: serde_json::Value = serde_json::from_str(&due[0].body).expect("body");
        assert_eq!(body["push"]["case_id"], "c2");
    }

    #[test]
    fn failed_deliveries_wait_then_die_and_delivered_ones_are_not_due() {
        let (_d, s) = store();
        s.set_webhook("甲", "http://127.0.0.1:1/h", "secret-secret-123")
            .expect("hook");
        let a = s
            .insert_push(&push("甲", PushTarget::PendingCase("p".into()), "a"))
            .expect("a")
            .expect("new");
        let b = s
            .insert_push(&push("甲", PushTarget::PendingCase("p".into()), "b"))
            .expect("b")
            .expect("new");
        let now = now_ms();
        s.mark_failed(a, "HTTP 500", Some(now + 60_000))
            .expect("fail");
        s.mark_delivered(b).expect("ok");
        assert!(s.due_deliveries(now, 10).expect("due").is_empty());
        assert_eq!(s.due_deliveries(now + 60_000, 10).expect("due").len(), 1);
        s.mark_failed(a, "HTTP 500", None).expect("give up");
        let d = s.delivery(a).expect("d").expect("row");
        assert_eq!((d.state.as_str(), d.attempts), ("dead", 2));
        assert_eq!(d.last_error.as_deref(), Some("HTTP 500"));
        assert!(s.due_deliveries(i64::MAX, 10).expect("due").is_empty());
        assert_eq!(s.delivery(b).expect("d").expect("row").state, "delivered");
    }

    #[test]
    fn restricted_and_withdrawn_cases_are_not_pushed_or_listed() {
        let (_d, s) = store();
        s.visibility()
            .restrict("secret", &["乙"])
            .expect("restrict");
        let t = PushTarget::PendingCase("p".into());
        assert_eq!(
            s.insert_push(&push("甲", t.clone(), "secret"))
                .expect("hidden"),
            None
        );
        assert!(s
            .insert_push(&push("乙", t.clone(), "secret"))
            .expect("own")
            .is_some());
        let id = s
            .insert_push(&push("甲", t.clone(), "gone"))
            .expect("insert")
            .expect("new");
        assert!(s.feedback("甲", id, 1, true).expect("fb"));
        assert!(!s.feedback("乙", id, 1, true).expect("other court"));
        assert_eq!(s.withdraw_case("gone").expect("withdraw"), 1);
        assert!(s
            .pushes("甲", &PushFilter::default())
            .expect("list")
            .is_empty());
        assert!(!s.ack("甲", id).expect("ack"));
        // withdrawn for good: the pair stays taken
        assert_eq!(s.insert_push(&push("甲", t, "gone")).expect("again"), None);
        assert_eq!(s.feedback_report().expect("report").overall.pushes, 1);
    }

    #[test]
    fn visibility_is_checked_at_delivery_even_before_a_withdrawal() {
        let (_d, s) = store();
        s.set_webhook("甲", "http://127.0.0.1:1/h", "secret-secret-123")
            .expect("webhook");
        let t = PushTarget::PendingCase("p".into());
        let id = s
            .insert_push(&push("甲", t, "later-sealed"))
            .expect("insert")
            .expect("new");
        assert_eq!(s.due_deliveries(i64::MAX, 10).expect("due").len(), 1);
        // restricted behind the push store's back: nothing is withdrawn yet, but nothing
        // of it is delivered either
        s.visibility()
            .restrict("later-sealed", &["乙"])
            .expect("restrict");
        assert!(s.push("甲", id).expect("push").is_none());
        assert!(s
            .pushes("甲", &PushFilter::default())
            .expect("list")
            .is_empty());
        assert!(!s.ack("甲", id).expect("ack"));
        assert!(!s.feedback("甲", id, 1, true).expect("feedback"));
        assert!(s.due_deliveries(i64::MAX, 10).expect("due").is_empty());
        let d = s.delivery(id).expect("d").expect("row");
        assert_eq!(d.state, "cancelled");
        // the withdrawal after it takes the push back for good; public again does not
        // bring a withdrawn push back
        assert_eq!(s.withdraw_hidden("later-sealed").expect("withdraw"), 1);
        s.visibility()
            .restrict::<&str>("later-sealed", &[])
            .expect("public");
        assert!(s.push("甲", id).expect("push").is_none());
        assert_eq!(s.withdraw_hidden("later-sealed").expect("public"), 0);
    }
}
