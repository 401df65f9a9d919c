//! The server's SQLite database (`<index>/leian.sqlite`): API keys (hashed), case
//! the append-only audit log and saved reports (case visibility is leian-visibility's).

use crate::clock::now_iso;
use crate::error::{AppError, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

/// File name of the database inside the index dir (the engine names the dir's layout).
pub use leian_engine::DB_FILE;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    court TEXT NOT NULL,
    role TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    court TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    query TEXT NOT NULL,
    result_ids TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    court TEXT NOT NULL,
    body TEXT NOT NULL
);
";

/// What a key may do. Judges and court systems search and report; admins also read the
/// audit log, manage case visibility and see every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Judge,
    Court,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Judge => "judge",
            Role::Court => "court",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "judge" => Some(Role::Judge),
            "court" => Some(Role::Court),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Role, String> {
        Role::parse(s).ok_or_else(|| format!("unknown role {s:?}: want judge, court or admin"))
    }
}

/// Brings a database made by an older leian up to the current schema.
fn migrate(conn: &Connection) -> Result<()> {
    let has_revoked = conn
        .prepare("SELECT 1 FROM pragma_table_info('keys') WHERE name = 'revoked_at'")?
        .exists([])?;
    if !has_revoked {
        conn.execute_batch("ALTER TABLE keys ADD COLUMN revoked_at TEXT;")?;
    }
    Ok(())
}

/// A key as listed to its admin: no secret, no hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyListing {
    pub key: KeyInfo,
    pub created_at: String,
    /// When the key was revoked; a revoked key no longer authenticates.
    pub revoked_at: Option<String>,
}

/// A key as stored (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    pub court: String,
    pub role: Role,
}

/// Characters of a long text (a pasted draft) the audit row keeps.
const AUDIT_EXCERPT_CHARS: usize = 200;

/// A text as the audit log keeps it: whole when short; else its first
/// [`AUDIT_EXCERPT_CHARS`] characters, its length and its SHA-256, which identify the
/// exact text without storing 200,000 characters per row.
pub(crate) fn audit_text(text: &str) -> String {
    let n = text.chars().count();
    if n <= AUDIT_EXCERPT_CHARS * 2 {
        return text.to_string();
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let excerpt: String = text.chars().take(AUDIT_EXCERPT_CHARS).collect();
    format!("{excerpt}…[{n} chars, sha256 {hex}]")
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub ts: String,
    pub key_id: i64,
    pub court: String,
    pub role: String,
    /// search, view_case, similar, statute or report.
    pub action: String,
    pub query: String,
    pub result_ids: Vec<String>,
}

/// Which audit rows to list; `None` means any.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Key id.
    pub key: Option<i64>,
    pub court: Option<String>,
    /// Earliest time, inclusive (ISO-8601 UTC, a prefix such as `2025-03-01` works).
    pub since: Option<String>,
    /// Latest time, exclusive.
    pub until: Option<String>,
    pub action: Option<String>,
    /// At most this many rows (default 100, 1..=1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The database; one connection behind a mutex (every call is short).
pub struct Store {
    conn: Mutex<Connection>,
    path: std::path::PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// Lower-case hex of bytes.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// sha256 of a key secret, hex.
fn hash_secret(secret: &str) -> String {
    hex(Sha256::digest(secret.trim().as_bytes()).as_slice())
}

/// A new key secret: 32 random bytes from the OS, hex.
fn new_secret() -> Result<String> {
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|source| AppError::Io {
            context: "reading /dev/urandom".into(),
            source,
        })?;
    Ok(hex(&buf))
}

impl Store {
    /// Opens (or creates) `<index_dir>/leian.sqlite`.
    pub fn open_in(index_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(index_dir).map_err(|source| AppError::Io {
            context: format!("creating {}", index_dir.display()),
            source,
        })?;
        Store::open(&index_dir.join(DB_FILE))
    }

    /// The store of an existing index dir (one holding `CURRENT`): refuses a dir with no
    /// index, so a mistyped path makes no empty index with a key nobody serves.
    pub fn open_existing(index_dir: &Path) -> Result<Store> {
        if !leian_engine::holds_index(index_dir) {
            return Err(AppError::NotFound(format!(
                "{} holds no leian index (no CURRENT file): pass the index dir `leian serve` \
                 uses, or ingest cases into it first",
                index_dir.display()
            )));
        }
        Store::open_in(index_dir)
    }

    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch("PRAGMA journal_mode = WAL;")?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// The database file (the push tables of leian-push live in it too).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| AppError::Internal("database lock poisoned".into()))
    }

    /// Creates a key; returns it and its secret (shown once, stored only as a hash).
    pub fn create_key(&self, role: Role, court: &str, name: &str) -> Result<(KeyInfo, String)> {
        let court = court.trim();
        if court.is_empty() {
            return Err(AppError::InvalidRequest("a key needs a court".into()));
        }
        let secret = new_secret()?;
        let name = if name.trim().is_empty() {
            format!("{}@{court}", role.as_str())
        } else {
            name.trim().to_string()
        };
        let conn = self.conn()?;
        conn.execute(
            "INSERT INTO keys (name, court, role, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, court, role.as_str(), hash_secret(&secret), now_iso()],
        )?;
        let id = conn.last_insert_rowid();
        Ok((
            KeyInfo {
                id,
                name,
                court: court.to_string(),
                role,
            },
            secret,
        ))
    }

    /// Writes a consistent copy of the whole database to `path` (`VACUUM INTO`), while
    /// other connections keep reading and writing.
    pub fn snapshot_to(&self, path: &Path) -> Result<()> {
        let conn = self.conn()?;
        let target = path.to_str().ok_or_else(|| {
            AppError::InvalidRequest(format!("{} is not a UTF-8 path", path.display()))
        })?;
        conn.execute("VACUUM INTO ?1", params![target])?;
        Ok(())
    }

    /// Every key, oldest first, revoked ones included.
    pub fn list_keys(&self) -> Result<Vec<KeyListing>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT id, name, court, role, created_at, revoked_at FROM keys ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, court, role, created_at, revoked_at) = row?;
            let role = Role::parse(&role).ok_or_else(|| {
                AppError::Internal(format!("key {id} has an unknown role {role:?}"))
            })?;
            out.push(KeyListing {
                key: KeyInfo {
                    id,
                    name,
                    court,
                    role,
                },
                created_at,
                revoked_at,
            });
        }
        Ok(out)
    }

    /// Revokes key `id` at once (the next request with it gets 401). Returns false when
    /// there is no such key or it was already revoked.
    pub fn revoke_key(&self, id: i64) -> Result<bool> {
        let conn = self.conn()?;
        let n = conn.execute(
            "UPDATE keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now_iso()],
        )?;
        Ok(n == 1)
    }

    /// The key with this secret, if any.
    pub fn key_by_secret(&self, secret: &str) -> Result<Option<KeyInfo>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT id, name, court, role FROM keys WHERE hash = ?1 AND revoked_at IS NULL",
                params![hash_secret(secret)],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.and_then(|(id, name, court, role)| {
            Role::parse(&role).map(|role| KeyInfo {
                id,
                name,
                court,
                role,
            })
        }))
    }

    /// Appends one audit row.
    pub fn append_audit(
        &self,
        key: &KeyInfo,
        action: &str,
        query: &str,
        result_ids: &[String],
    ) -> Result<()> {
        self.append_audit_row(
            key.id,
            &key.court,
            key.role.as_str(),
            action,
            query,
            result_ids,
        )
    }

    /// A denied request (401: no valid key, so no key id — 0 — and role `none`; 403: the
    /// key that was refused).
    pub fn append_denied(&self, key: Option<&KeyInfo>, status: u16, what: &str) -> Result<()> {
        let (id, court, role) = key.map_or((0, "", "none"), |k| {
            (k.id, k.court.as_str(), k.role.as_str())
        });
        self.append_audit_row(id, court, role, &format!("denied_{status}"), what, &[])
    }

    fn append_audit_row(
        &self,
        key_id: i64,
        court: &str,
        role: &str,
        action: &str,
        query: &str,
        result_ids: &[String],
    ) -> Result<()> {
        let ids = serde_json::to_string(result_ids)
            .map_err(|e| AppError::Internal(format!("audit ids: {e}")))?;
        self.conn()?.execute(
            "INSERT INTO audit (ts, key_id, court, role, action, query, result_ids)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                now_iso(),
                key_id,
                court,
                role,
                action,
                audit_text(query),
                ids
            ],
        )?;
        Ok(())
    }

    /// Audit rows matching the filter, newest first.
    pub fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditRow>> {
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT id, ts, key_id, court, role, action, query, result_ids FROM audit
             WHERE (?1 IS NULL OR key_id = ?1) AND (?2 IS NULL OR court = ?2)
               AND (?3 IS NULL OR ts >= ?3) AND (?4 IS NULL OR ts < ?4)
               AND (?5 IS NULL OR action = ?5)
             ORDER BY id DESC LIMIT ?6",
        )?;
        let rows = stmt.query_map(
            params![f.key, f.court, f.since, f.until, f.action, limit],
            |r| {
                let ids: String = r.get(7)?;
                Ok(AuditRow {
                    id: r.get(0)?,
                    ts: r.get(1)?,
                    key_id: r.get(2)?,
                    court: r.get(3)?,
                    role: r.get(4)?,
                    action: r.get(5)?,
                    query: r.get(6)?,
                    result_ids: serde_json::from_str(&ids).unwrap_or_default(),
                })
            },
        )?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Saves a report's JSON under a new id, which it returns.
    pub fn save_report(&self, key: &KeyInfo, id: &str, body: &str) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO reports (id, created_at, key_id, court, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, now_iso(), key.id, key.court, body],
        )?;
        Ok(())
    }

    /// A saved report: (court of the key that made it, JSON body).
    pub fn report(&self, id: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT court, body FROM reports WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// A fresh random id for a report (16 hex chars).
    pub fn new_report_id() -> Result<String> {
        Ok(new_secret()?[..16].to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open_in(dir.path()).expect("store");
        (dir, s)
    }

    #[test]
    fn keys_are_stored_hashed_and_found_by_secret() {
        let (dir, s) = store();
        let (info, secret) = s.create_key(Role::Judge, "某法院", "").expect("key");
        assert_eq!(secret.len(), 64);
        assert_eq!(
            s.key_by_secret(&secret).expect("lookup"),
            Some(info.clone())
        );
        assert_eq!(s.key_by_secret("nope").expect("lookup"), None);
        let raw = std::fs::read(dir.path().join(DB_FILE)).expect("db file");
        let raw = String::from_utf8_lossy(&raw);
        assert!(!raw.contains(&secret), "the secret itself is never stored");
    }

    #[test]
    fn audit_is_append_only_and_newest_first() {
        let (_d, s) = store();
        let (k, _) = s.create_key(Role::Admin, "甲法院", "a").expect("key");
        s.append_audit(&k, "search", "盗窃", &["x".into()])
            .expect("a1");
        s.append_audit(&k, "view_case", "y", &["y".into()])
            .expect("a2");
        let rows = s.audit(&AuditFilter::default()).expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].action, "view_case");
        let only = s
            .audit(&AuditFilter {
                action: Some("search".into()),
                ..Default::default()
            })
            .expect("rows");
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].result_ids, vec!["x".to_string()]);
        let conn = s.conn().expect("conn");
        assert!(conn.execute("DELETE FROM audit", []).is_err());
        assert!(conn.execute("UPDATE audit SET query = ''", []).is_err());
    }
}
