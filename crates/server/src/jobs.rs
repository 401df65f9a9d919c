//! Background jobs of this server process (a rebuild today): one of a kind at a time,
//! their status as `GET /v1/admin/jobs/{id}` shows it. They do not survive a restart; the
//! index does.

use crate::clock::now_iso;
use crate::error::{AppError, Result};
use leian_engine::{RebuildProgress, RebuildReport};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// State of a background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Succeeded,
    Failed,
}

/// A background job as `GET /v1/admin/jobs/{id}` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobStatus {
    pub id: String,
    pub kind: String,
    pub state: JobState,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The latest progress report (phase, done/total, percent, cases/s, ETA).
    #[schema(value_type = Option<Object>)]
    pub progress: Option<RebuildProgress>,
    #[schema(value_type = Option<Object>)]
    pub report: Option<RebuildReport>,
    pub error: Option<String>,
}

/// Jobs of this server process (they do not survive a restart; the index does).
#[derive(Default)]
pub(crate) struct Jobs {
    jobs: Mutex<HashMap<String, JobStatus>>,
    next: Mutex<u64>,
}

impl Jobs {
    /// Starts a job of `kind` (`rebuild`); a conflict while one of that kind still runs.
    pub(crate) fn start(&self, kind: &str) -> Result<JobStatus> {
        let mut map = self.jobs.lock().map_err(|_| poisoned())?;
        if let Some(running) = map
            .values()
            .find(|j| j.kind == kind && j.state == JobState::Running)
        {
            return Err(AppError::Conflict(format!(
                "{kind} {} is still running",
                running.id
            )));
        }
        let mut next = self.next.lock().map_err(|_| poisoned())?;
        *next += 1;
        let status = JobStatus {
            id: format!("{kind}-{}", *next),
            kind: kind.into(),
            state: JobState::Running,
            started_at: now_iso(),
            finished_at: None,
            progress: None,
            report: None,
            error: None,
        };
        map.insert(status.id.clone(), status.clone());
        Ok(status)
    }

    /// Changes a job's status (nothing when there is no such job).
    pub(crate) fn update(&self, id: &str, f: impl FnOnce(&mut JobStatus)) {
        if let Ok(mut jobs) = self.jobs.lock() {
            if let Some(j) = jobs.get_mut(id) {
                f(j);
            }
        }
    }

    /// A job's status as it is now.
    pub(crate) fn get(&self, id: &str) -> Result<Option<JobStatus>> {
        Ok(self.jobs.lock().map_err(|_| poisoned())?.get(id).cloned())
    }
}

fn poisoned() -> AppError {
    AppError::Internal("jobs lock poisoned".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_job_of_a_kind_at_a_time_and_its_status_follows_updates() {
        let jobs = Jobs::default();
        let first = jobs.start("rebuild").expect("start");
        assert_eq!(first.id, "rebuild-1");
        assert!(matches!(jobs.start("rebuild"), Err(AppError::Conflict(_))));
        jobs.update(&first.id, |j| j.state = JobState::Succeeded);
        assert_eq!(
            jobs.get(&first.id).expect("get").map(|j| j.state),
            Some(JobState::Succeeded)
        );
        assert_eq!(jobs.start("rebuild").expect("again").id, "rebuild-2");
        assert!(jobs.get("rebuild-9").expect("get").is_none());
    }
}
