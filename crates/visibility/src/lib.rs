//! leian-visibility owns case visibility: which courts may see a case. A case with no
//! restriction is public; a restricted case is seen only by keys of the listed courts (and
//! by admins, a rule of the server's). The rows live in the `case_permissions` table of the
//! index's SQLite file (`<index>/leian.sqlite`); no other crate reads or writes that table:
//! the server (search, cases, reports, consistency, statutes), push (creating pushes and
//! delivering them) and `leian ingest --visible-to` all go through [`CaseVisibility`].
//!
//! It knows nothing of HTTP, the index or pushes.

use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS case_permissions (
    case_id TEXT NOT NULL,
    court TEXT NOT NULL,
    PRIMARY KEY (case_id, court)
);
";

/// What can go wrong reading or writing visibility.
#[derive(Debug, thiserror::Error)]
pub enum VisibilityError {
    #[error("visibility database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("visibility database lock poisoned")]
    Poisoned,
}

pub type Result<T> = std::result::Result<T, VisibilityError>;

/// The courts a case may be seen by; one connection behind a mutex (every call is short).
pub struct CaseVisibility {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for CaseVisibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseVisibility").finish_non_exhaustive()
    }
}

/// Court names as stored: trimmed, empty ones dropped, each once, sorted.
pub fn normalise_courts<S: AsRef<str>>(courts: &[S]) -> Vec<String> {
    let mut out: Vec<String> = courts
        .iter()
        .map(|c| c.as_ref().trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

impl CaseVisibility {
    /// Opens (or creates) the visibility table in the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<CaseVisibility> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch("PRAGMA journal_mode = WAL;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(CaseVisibility {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| VisibilityError::Poisoned)
    }

    /// Restricts a case to these courts (replacing what it had); an empty list makes it
    /// public. Returns the courts now stored.
    pub fn restrict<S: AsRef<str>>(&self, case_id: &str, courts: &[S]) -> Result<Vec<String>> {
        self.restrict_many(&[(case_id, courts)])?;
        self.courts(case_id)
    }

    /// [`restrict`](Self::restrict) for many cases in one transaction.
    pub fn restrict_many<C: AsRef<str>, S: AsRef<str>>(&self, cases: &[(C, &[S])]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        for (case_id, courts) in cases {
            let case_id = case_id.as_ref();
            tx.execute(
                "DELETE FROM case_permissions WHERE case_id = ?1",
                params![case_id],
            )?;
            for court in normalise_courts(courts) {
                tx.execute(
                    "INSERT OR IGNORE INTO case_permissions (case_id, court) VALUES (?1, ?2)",
                    params![case_id, court],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The courts a case is restricted to (empty: public).
    pub fn courts(&self, case_id: &str) -> Result<Vec<String>> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT court FROM case_permissions WHERE case_id = ?1 ORDER BY court")?;
        let rows = stmt.query_map(params![case_id], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Whether keys of `court` may see the case: it is public, or restricted to `court`
    /// among others.
    pub fn may_see(&self, case_id: &str, court: &str) -> Result<bool> {
        let conn = self.conn()?;
        let hidden: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM case_permissions WHERE case_id = ?1 GROUP BY case_id
                 HAVING SUM(court = ?2) = 0",
                params![case_id, court],
                |r| r.get(0),
            )
            .optional()?;
        Ok(hidden.is_none())
    }

    /// Cases restricted to courts other than `court`: hidden from its keys.
    pub fn hidden_from(&self, court: &str) -> Result<HashSet<String>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT case_id FROM case_permissions GROUP BY case_id HAVING SUM(court = ?1) = 0",
        )?;
        let rows = stmt.query_map(params![court], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, CaseVisibility) {
        let dir = tempfile::tempdir().unwrap();
        let v = CaseVisibility::open(&dir.path().join("v.sqlite")).unwrap();
        (dir, v)
    }

    #[test]
    fn a_case_is_public_until_restricted_and_public_again_when_cleared() {
        let (_d, v) = open();
        assert!(v.may_see("c1", "甲法院").unwrap());
        assert!(v.hidden_from("甲法院").unwrap().is_empty());
        let courts = v
            .restrict("c1", &[" 乙法院 ", "甲法院", "乙法院", ""])
            .unwrap();
        assert_eq!(courts, vec!["乙法院".to_string(), "甲法院".to_string()]);
        assert!(v.may_see("c1", "甲法院").unwrap());
        assert!(!v.may_see("c1", "丙法院").unwrap());
        assert_eq!(
            v.hidden_from("丙法院").unwrap(),
            HashSet::from(["c1".to_string()])
        );
        assert!(v.hidden_from("乙法院").unwrap().is_empty());
        assert!(v.restrict::<&str>("c1", &[]).unwrap().is_empty());
        assert!(v.may_see("c1", "丙法院").unwrap());
    }

    #[test]
    fn restrict_replaces_and_many_is_one_transaction() {
        let (_d, v) = open();
        v.restrict("c1", &["甲法院"]).unwrap();
        v.restrict_many(&[("c1", &["乙法院"][..]), ("c2", &["甲法院"][..])])
            .unwrap();
        assert_eq!(v.courts("c1").unwrap(), vec!["乙法院".to_string()]);
        assert!(!v.may_see("c1", "甲法院").unwrap());
        assert!(v.may_see("c2", "甲法院").unwrap());
        assert!(!v.may_see("c2", "乙法院").unwrap());
    }

    #[test]
    fn two_handles_on_one_file_see_each_others_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite");
        let a = CaseVisibility::open(&path).unwrap();
        let b = CaseVisibility::open(&path).unwrap();
        a.restrict("secret", &["甲法院"]).unwrap();
        assert!(!b.may_see("secret", "乙法院").unwrap());
    }
}
