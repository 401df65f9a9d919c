//! [`PushService`]: registers pending cases and subscriptions, finds what to push in
//! both directions, and records pushes in the outbox.

use crate::clock::now_iso;
use crate::error::{PushError, Result};
use crate::model::*;
use crate::reverse::{PendingIndex, ReverseMatch};
use crate::similarity::{best_passage, Features, ScoreParts, ScoreWeights};
use crate::store::{new_id, PushStore};
use leian_engine::{Engine, Filters, Query, SearchMode};
use leian_ingest::{AuthorityTier, Case, CaseId};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Longest facts text accepted for a pending case, in characters.
pub const MAX_FACTS_CHARS: usize = 200_000;
/// Characters of the matching passage kept in a push's reason.
const PASSAGE_CHARS: usize = 120;

/// How pushes are chosen and retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PushOptions {
    /// Pair score a decided case needs to be pushed (see [`crate::similarity`]). Chosen on
    /// the LeCaRD dev data with `leian eval push`.
    pub threshold: f32,
    /// Pair score a guiding or typical case needs (in both directions): lower, because a
    /// judge must consult (guiding: follow) them and a missed one costs more than an extra
    /// push; at 0.5 LeCaRD's forward precision is still ≈ .39.
    pub authority_threshold: f32,
    /// Guiding and typical cases pushed to one pending case at registration, at most.
    pub max_authority: usize,
    /// Other decided cases pushed to one pending case at registration, at most.
    pub max_similar: usize,
    /// How many of the engine's hybrid hits are scored at registration.
    pub candidate_depth: usize,
    pub weights: ScoreWeights,
    /// First webhook retry after this long; each later one waits twice as long.
    pub retry_base_ms: u64,
    /// Webhook attempts before a delivery is given up (`dead`).
    pub max_attempts: u32,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            threshold: 0.6,
            authority_threshold: 0.5,
            max_authority: 5,
            max_similar: 10,
            candidate_depth: 50,
            weights: ScoreWeights::default(),
            retry_base_ms: 2_000,
            max_attempts: 10,
        }
    }
}

impl PushOptions {
    /// When the next attempt after `attempts_made` failures is due, or `None` to give up.
    pub fn next_retry_ms(&self, now_ms: i64, attempts_made: u32) -> Option<i64> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let exp = attempts_made.saturating_sub(1).min(20);
        let wait = self
            .retry_base_ms
            .saturating_mul(1u64 << exp)
            .min(3_600_000);
        Some(now_ms + wait as i64)
    }
}

/// A decided case the forward search found for a pending case, with its pair score.
#[derive(Debug, Clone)]
pub struct ForwardMatch {
    pub case: Case,
    pub parts: ScoreParts,
}

/// Pending cases, subscriptions and pushes over one SQLite file, with the reverse index
/// of open pending cases in memory. `Send + Sync`.
pub struct PushService {
    store: PushStore,
    index: RwLock<PendingIndex>,
    options: PushOptions,
}

fn poisoned() -> PushError {
    PushError::Internal("an earlier panic left the pending-case index poisoned".into())
}

fn is_authority(tier: AuthorityTier) -> bool {
    matches!(tier, AuthorityTier::Guiding | AuthorityTier::Typical)
}

/// The features of a pending case with its (optional) query vector.
fn pending_features(p: &PendingCase, vector: Option<Vec<f32>>) -> Features {
    Features::new(
        &p.facts,
        &p.charges,
        &p.statutes,
        vector.into_iter().collect(),
    )
}

fn validate(input: &PendingCaseInput) -> Result<()> {
    if input.facts.trim().is_empty() {
        return Err(PushError::InvalidRequest(
            "field `facts`: a pending case needs its facts".into(),
        ));
    }
    let n = input.facts.chars().count();
    if n > MAX_FACTS_CHARS {
        return Err(PushError::InvalidRequest(format!(
            "field `facts` has {n} characters; at most {MAX_FACTS_CHARS}"
        )));
    }
    Ok(())
}

impl PushService {
    /// Opens the push tables in the SQLite file at `db_path` and loads every open pending
    /// case into the reverse index.
    pub fn open(db_path: &Path, options: PushOptions) -> Result<PushService> {
        let store = PushStore::open(db_path)?;
        let mut index = PendingIndex::default();
        for (p, v) in store.open_pending()? {
            index.upsert(&p.id, pending_features(&p, v));
        }
        Ok(PushService {
            store,
            index: RwLock::new(index),
            options,
        })
    }

    pub fn store(&self) -> &PushStore {
        &self.store
    }

    pub fn options(&self) -> &PushOptions {
        &self.options
    }

    fn index(&self) -> Result<RwLockReadGuard<'_, PendingIndex>> {
        self.index.read().map_err(|_| poisoned())
    }

    fn index_mut(&self) -> Result<RwLockWriteGuard<'_, PendingIndex>> {
        self.index.write().map_err(|_| poisoned())
    }

    /// Open pending cases in the reverse index.
    pub fn open_pending_count(&self) -> Result<usize> {
        Ok(self.index()?.len())
    }

    /// The query embedding of a pending case's text, when the engine has a model.
    fn query_vector(engine: &Engine, text: &str) -> Result<Option<Vec<f32>>> {
        if !engine.has_dense() {
            return Ok(None);
        }
        Ok(engine.query_vector(&Query {
            mode: SearchMode::Hybrid,
            ..Query::new(text, 1)
        })?)
    }

    /// What a pending case is matched with: its query embedding (of
    /// [`PendingCase::query_text`], when the engine has a model) and its features. The one
    /// place registration, update and `leian eval push` compute them.
    pub fn matching_features(
        engine: &Engine,
        p: &PendingCase,
    ) -> Result<(Features, Option<Vec<f32>>)> {
        let vector = Self::query_vector(engine, &p.query_text())?;
        Ok((pending_features(p, vector.clone()), vector))
    }

    /// Registers a pending case and pushes to it, at once, the guiding and typical cases
    /// and the most similar decided cases whose pair score reaches the threshold.
    pub fn register(
        &self,
        engine: &Engine,
        owner: &Owner,
        input: PendingCaseInput,
    ) -> Result<(PendingCase, Vec<Push>)> {
        validate(&input)?;
        let now = now_iso();
        let p = PendingCase {
            id: new_id()?,
            court: owner.court.clone(),
            key_id: owner.key_id,
            judge: input.judge.trim().to_string(),
            title: input.title.trim().to_string(),
            facts: input.facts.trim().to_string(),
            charges: input
                .charges
                .iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            statutes: input.statutes,
            category: input.category,
            status: PendingStatus::Open,
            created_at: now.clone(),
            updated_at: now,
        };
        let (features, vector) = Self::matching_features(engine, &p)?;
        self.store.insert_pending(&p, vector.as_deref())?;
        // in the index before searching: a guiding case committed meanwhile finds it
        self.index_mut()?.upsert(&p.id, features.clone());
        self.push_to_pending(engine, &p, &features, vector.as_deref())?;
        let pushes = self.pushes_of_pending(&p)?;
        Ok((p, pushes))
    }

    /// Updates a pending case; when it is open, its pushes are computed again (pairs
    /// pushed before are never pushed twice).
    pub fn update(
        &self,
        engine: &Engine,
        owner: &Owner,
        id: &str,
        update: PendingCaseUpdate,
    ) -> Result<(PendingCase, Vec<Push>)> {
        let (mut p, old_vector) = self.owned_pending(owner, id)?;
        let text_before = (p.facts.clone(), p.charges.clone(), p.statutes.clone());
        if let Some(t) = update.title {
            p.title = t.trim().to_string();
        }
        if let Some(f) = update.facts {
            p.facts = f.trim().to_string();
        }
        if let Some(c) = update.charges {
            p.charges = c
                .iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
        }
        if let Some(s) = update.statutes {
            p.statutes = s;
        }
        if let Some(c) = update.category {
            p.category = Some(c);
        }
        if let Some(j) = update.judge {
            p.judge = j.trim().to_string();
        }
        validate(&PendingCaseInput {
            facts: p.facts.clone(),
            ..PendingCaseInput::default()
        })?;
        p.updated_at = now_iso();
        let changed = text_before != (p.facts.clone(), p.charges.clone(), p.statutes.clone());
        let vector = if changed {
            Self::query_vector(engine, &p.query_text())?
        } else {
            old_vector
        };
        self.store.update_pending(&p, vector.as_deref())?;
        if p.status == PendingStatus::Open {
            let features = pending_features(&p, vector.clone());
            self.index_mut()?.upsert(&p.id, features.clone());
            self.push_to_pending(engine, &p, &features, vector.as_deref())?;
        }
        let pushes = self.pushes_of_pending(&p)?;
        Ok((p, pushes))
    }

    /// Closes a pending case: it gets no more pushes (the ones it has stay).
    pub fn close(&self, owner: &Owner, id: &str) -> Result<PendingCase> {
        let (mut p, _) = self.owned_pending(owner, id)?;
        p.status = PendingStatus::Closed;
        p.updated_at = now_iso();
        self.store.update_pending(&p, None)?;
        self.index_mut()?.remove(&p.id);
        Ok(p)
    }

    /// A pending case of the owner's court.
    pub fn pending(&self, owner: &Owner, id: &str) -> Result<PendingCase> {
        Ok(self.owned_pending(owner, id)?.0)
    }

    fn owned_pending(&self, owner: &Owner, id: &str) -> Result<(PendingCase, Option<Vec<f32>>)> {
        match self.store.pending(id)? {
            Some((p, v)) if p.court == owner.court => Ok((p, v)),
            _ => Err(PushError::NotFound(format!("no pending case {id}"))),
        }
    }

    fn pushes_of_pending(&self, p: &PendingCase) -> Result<Vec<Push>> {
        self.store.pushes(
            &p.court,
            &PushFilter {
                pending_case: Some(p.id.clone()),
                limit: Some(1000),
                ..PushFilter::default()
            },
        )
    }

    /// Forward search for one pending case: the engine's hybrid hits (all tiers) and its
    /// guiding/typical hits, each scored as a pair; those reaching the threshold, within
    /// the per-tier caps, best first.
    pub fn forward_matches(
        &self,
        engine: &Engine,
        features: &Features,
        query_text: &str,
        vector: Option<&[f32]>,
    ) -> Result<Vec<ForwardMatch>> {
        let o = &self.options;
        let mut q = Query::new(query_text, o.candidate_depth);
        q.snippets = false;
        q.depth = o.candidate_depth.max(Query::DEFAULT_DEPTH);
        // the default (legal) ranking, with the pending case's charges when it has them
        if !features.charges.is_empty() {
            q.legal.charges = Some(features.charges.clone());
        }
        let mut ids: Vec<CaseId> = engine
            .rank_with_vector(&q, vector)?
            .into_iter()
            .take(o.candidate_depth)
            .map(|(id, _, _)| id)
            .collect();
        let mut qa = q.clone();
        qa.filters = Filters {
            tiers: vec![AuthorityTier::Guiding, AuthorityTier::Typical],
            ..Filters::default()
        };
        ids.extend(
            engine
                .rank_with_vector(&qa, vector)?
                .into_iter()
                .take(o.max_authority * 2)
                .map(|(id, _, _)| id),
        );
        let mut seen = HashMap::new();
        for id in ids {
            if seen.contains_key(&id) {
                continue;
            }
            let Some(case) = engine.get(&id)? else {
                continue; // deleted meanwhile
            };
            let vectors = if features.vectors.is_empty() {
                Vec::new()
            } else {
                engine.passage_vectors(&case)?.unwrap_or_default()
            };
            let parts = o
                .weights
                .score(features, &Features::of_case(&case, vectors));
            seen.insert(id, ForwardMatch { case, parts });
        }
        let mut all: Vec<ForwardMatch> = seen
            .into_values()
            .filter(|m| {
                m.parts.score
                    >= if is_authority(m.case.tier) {
                        o.authority_threshold
                    } else {
                        o.threshold
                    }
            })
            .collect();
        // most authoritative first (指导性案例 first, per the SPC 2020 guidance), then score
        all.sort_by(|a, b| {
            a.case
                .tier
                .cmp(&b.case.tier)
                .then(b.parts.score.total_cmp(&a.parts.score))
                .then(a.case.id.cmp(&b.case.id))
        });
        let (mut authority, mut other) = (0, 0);
        all.retain(|m| {
            let (n, cap) = if is_authority(m.case.tier) {
                (&mut authority, o.max_authority)
            } else {
                (&mut other, o.max_similar)
            };
            *n += 1;
            *n <= cap
        });
        Ok(all)
    }

    fn push_to_pending(
        &self,
        engine: &Engine,
        p: &PendingCase,
        features: &Features,
        vector: Option<&[f32]>,
    ) -> Result<Vec<i64>> {
        let mut ids = Vec::new();
        for m in self.forward_matches(engine, features, &p.query_text(), vector)? {
            let passage = best_passage(m.case.fact_text(), &features.bigrams, PASSAGE_CHARS);
            if let Some(id) = self
                .store
                .insert_push(&NewPush::for_pending(p, &m.case, &m.parts, passage))?
            {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Registers a court's subscription. It receives pushes for guiding and typical cases
    /// ingested from now on.
    pub fn subscribe(&self, owner: &Owner, criteria: SubscriptionInput) -> Result<Subscription> {
        if criteria.is_empty() {
            return Err(PushError::InvalidRequest(
                "a subscription needs at least one of categories, charges, statutes, keywords"
                    .into(),
            ));
        }
        let s = Subscription {
            id: new_id()?,
            court: owner.court.clone(),
            key_id: owner.key_id,
            criteria,
            active: true,
            created_at: now_iso(),
        };
        self.store.insert_subscription(&s)?;
        Ok(s)
    }

    /// The open pending cases a new guiding or typical case reaches (the reverse search,
    /// at the authority threshold), best first.
    pub fn reverse_matches(&self, case_features: &Features) -> Result<Vec<ReverseMatch>> {
        Ok(self.index()?.matches(
            case_features,
            &self.options.weights,
            self.options.authority_threshold,
        ))
    }

    /// After `leian ingest` committed `cases` into the index at `engine.root()`: when the
    /// index has a database (and so maybe pending cases and subscriptions), its new guiding
    /// and typical cases are pushed; `None` when there was nothing to do, else the pushes
    /// created and the open pending cases they were matched against.
    pub fn after_load(engine: &Engine, cases: &[Case]) -> Result<Option<(Vec<i64>, usize)>> {
        let db = engine.root().join(leian_engine::DB_FILE);
        if cases.is_empty() || !db.exists() {
            return Ok(None);
        }
        let service = PushService::open(&db, PushOptions::default())?;
        let created = service.on_cases_added(engine, cases)?;
        Ok(Some((created, service.open_pending_count()?)))
    }

    /// After cases were committed to the engine: each guiding or typical one is matched
    /// against every open pending case and every active subscription, and pushed where it
    /// reaches them. Returns the ids of the new pushes.
    pub fn on_cases_added(&self, engine: &Engine, cases: &[Case]) -> Result<Vec<i64>> {
        let authority: Vec<&Case> = cases.iter().filter(|c| is_authority(c.tier)).collect();
        if authority.is_empty() {
            return Ok(Vec::new());
        }
        let subscriptions = self.store.active_subscriptions()?;
        let mut ids = Vec::new();
        for case in authority {
            if engine.get(&case.id)?.is_none() {
                continue; // deleted since
            }
            let vectors = engine.passage_vectors(case)?.unwrap_or_default();
            let features = Features::of_case(case, vectors);
            for m in self.reverse_matches(&features)? {
                let Some((p, _)) = self.store.pending(&m.pending_id)? else {
                    continue;
                };
                if p.status != PendingStatus::Open {
                    continue;
                }
                let pb = crate::similarity::bigrams(&p.facts);
                let passage = best_passage(case.fact_text(), &pb, PASSAGE_CHARS);
                if let Some(id) = self
                    .store
                    .insert_push(&NewPush::for_pending(&p, case, &m.parts, passage))?
                {
                    ids.push(id);
                }
            }
            for s in &subscriptions {
                if let Some(why) = s.criteria.matches(case) {
                    if let Some(id) = self
                        .store
                        .insert_push(&NewPush::for_subscription(s, case, why))?
                    {
                        ids.push(id);
                    }
                }
            }
        }
        Ok(ids)
    }

    /// After a case's visibility changed: its pushes to courts that may no longer see it
    /// are withdrawn and their undelivered webhooks cancelled.
    pub fn on_visibility_changed(&self, case_id: &str) -> Result<usize> {
        self.store.withdraw_hidden(case_id)
    }

    /// After a case was deleted from the engine: its pushes are withdrawn for good.
    pub fn on_case_deleted(&self, case_id: &str) -> Result<usize> {
        self.store.withdraw_case(case_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leian_engine::EngineOptions;
    use leian_ingest::CaseCategory;

    fn case(id: &str, tier: AuthorityTier, charges: &[&str], facts: &str) -> Case {
        let mut c = Case::new(CaseId::new(id));
        c.title = format!("{id} 案");
        c.tier = tier;
        c.category = CaseCategory::Criminal;
        c.charges = charges.iter().map(|s| s.to_string()).collect();
        c.sections.facts = facts.into();
        c
    }

    fn setup() -> (tempfile::TempDir, Engine, PushService) {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(&EngineOptions {
            index_dir: dir.path().to_path_buf(),
            ..EngineOptions::default()
        })
        .expect("engine");
        let mut w = engine.writer().expect("writer");
        w.upsert(case(
            "d:1",
            AuthorityTier::Other,
            &["危险驾驶罪"],
            "被告人醉酒后驾驶小型轿车在城市道路上行驶，被交警查获，经鉴定血液酒精含量为180毫克每百毫升。",
        ))
        .expect("upsert");
        w.upsert(case(
            "d:2",
            AuthorityTier::Other,
            &["民间借贷纠纷"],
            "原告向被告出借人民币五万元，约定一年后归还，被告到期未还。",
        ))
        .expect("upsert");
        w.commit(&mut |_, _| {}).expect("commit");
        let svc = PushService::open(&dir.path().join("push.sqlite"), PushOptions::default())
            .expect("service");
        (dir, engine, svc)
    }

    fn owner(court: &str) -> Owner {
        Owner {
            court: court.into(),
            key_id: 1,
        }
    }

    const DRUNK: &str =
        "被告人醉酒驾驶机动车在道路上行驶，被执勤交警查获，经鉴定其血液酒精含量为160毫克每百毫升。";

    #[test]
    fn registration_pushes_similar_decided_cases_and_a_new_guiding_case_once() {
        let (dir, engine, svc) = setup();
        let (p, pushes) = svc
            .register(
                &engine,
                &owner("甲法院"),
                PendingCaseInput {
                    facts: DRUNK.into(),
                    charges: vec!["危险驾驶罪".into()],
                    ..PendingCaseInput::default()
                },
            )
            .expect("register");
        let ids: Vec<&str> = pushes.iter().map(|x| x.case_id.as_str()).collect();
        assert_eq!(ids, vec!["d:1"], "{pushes:?}");
        assert!(pushes[0].reason.contains("危险驾驶"));
        // a guiding case arrives: reverse matching pushes it to the open pending case
        let g = case("g:1", AuthorityTier::Guiding, &["危险驾驶罪"], DRUNK);
        let mut w = engine.writer().expect("writer");
        w.upsert(g.clone()).expect("upsert");
        w.commit(&mut |_, _| {}).expect("commit");
        let new = svc
            .on_cases_added(&engine, std::slice::from_ref(&g))
            .expect("added");
        assert_eq!(new.len(), 1);
        // the same case again, and an update of the pending case: nothing twice
        assert!(svc.on_cases_added(&engine, &[g]).expect("again").is_empty());
        let (_, after) = svc
            .update(
                &engine,
                &owner("甲法院"),
                &p.id,
                PendingCaseUpdate {
                    title: Some("醉驾案".into()),
                    ..PendingCaseUpdate::default()
                },
            )
            .expect("update");
        assert_eq!(after.len(), 2);
        assert_eq!(after[1].tier, AuthorityTier::Guiding);
        assert!(after[1].must_follow);
        // another court cannot see or change it
        assert!(matches!(
            svc.close(&owner("乙法院"), &p.id),
            Err(PushError::NotFound(_))
        ));
        // closed: a further guiding case is not pushed; restart keeps state
        svc.close(&owner("甲法院"), &p.id).expect("close");
        drop(svc);
        let svc = PushService::open(&dir.path().join("push.sqlite"), PushOptions::default())
            .expect("reopen");
        assert_eq!(svc.open_pending_count().expect("count"), 0);
        let g2 = case("g:2", AuthorityTier::Guiding, &["危险驾驶罪"], DRUNK);
        let mut w = engine.writer().expect("writer");
        w.upsert(g2.clone()).expect("upsert");
        w.commit(&mut |_, _| {}).expect("commit");
        assert!(svc
            .on_cases_added(&engine, &[g2])
            .expect("added")
            .is_empty());
    }

    #[test]
    fn unrelated_pending_cases_get_nothing_and_subscriptions_match_by_criteria() {
        let (_dir, engine, svc) = setup();
        let (_, pushes) = svc
            .register(
                &engine,
                &owner("甲法院"),
                PendingCaseInput {
                    facts: "申请人请求撤销某市场监督管理局作出的行政处罚决定书。".into(),
                    charges: vec!["行政处罚".into()],
                    ..PendingCaseInput::default()
                },
            )
            .expect("register");
        assert!(pushes.is_empty(), "{pushes:?}");
        let sub = svc
            .subscribe(
                &owner("乙法院"),
                SubscriptionInput {
                    charges: vec!["危险驾驶".into()],
                    ..SubscriptionInput::default()
                },
            )
            .expect("subscribe");
        assert!(svc
            .subscribe(&owner("乙法院"), SubscriptionInput::default())
            .is_err());
        let typical = case(
            "t:1",
            AuthorityTier::Typical,
            &["危险驾驶罪"],
            "醉酒驾驶摩托车。",
        );
        let other = case(
            "o:1",
            AuthorityTier::Other,
            &["危险驾驶罪"],
            "醉酒驾驶摩托车。",
        );
        let mut w = engine.writer().expect("writer");
        w.upsert(typical.clone()).expect("upsert");
        w.upsert(other.clone()).expect("upsert");
        w.commit(&mut |_, _| {}).expect("commit");
        let ids = svc
            .on_cases_added(&engine, &[typical, other])
            .expect("added");
        assert_eq!(
            ids.len(),
            1,
            "only the typical case reaches the subscription"
        );
        let got = svc
            .store()
            .pushes("乙法院", &PushFilter::default())
            .expect("pushes");
        assert_eq!(got[0].subscription.as_deref(), Some(sub.id.as_str()));
        assert!(got[0].reason.contains("危险驾驶"));
        // withdrawn when the case is deleted
        assert_eq!(svc.on_case_deleted("t:1").expect("withdraw"), 1);
        assert!(svc
            .store()
            .pushes("乙法院", &PushFilter::default())
            .expect("pushes")
            .is_empty());
    }

    #[test]
    fn backoff_doubles_and_gives_up() {
        let o = PushOptions {
            retry_base_ms: 100,
            max_attempts: 4,
            ..PushOptions::default()
        };
        assert_eq!(o.next_retry_ms(0, 1), Some(100));
        assert_eq!(o.next_retry_ms(0, 2), Some(200));
        assert_eq!(o.next_retry_ms(0, 3), Some(400));
        assert_eq!(o.next_retry_ms(0, 4), None);
    }
}
