//! The push crate's records: pending cases, subscriptions, pushes and their reasons,
//! feedback rates and webhook deliveries.

use crate::similarity::{normalize_charge, ScoreParts};
use leian_ingest::{AuthorityTier, Case, CaseCategory, StatuteRef};
use serde::{Deserialize, Serialize};

/// Who registers or reads: a key's court and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub court: String,
    pub key_id: i64,
}

/// A pending case (在办案件) as a judge registers it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingCaseInput {
    #[serde(default)]
    pub title: String,
    /// The facts as known so far (required, non-blank).
    pub facts: String,
    /// Charges (罪名) or causes of action (案由).
    #[serde(default)]
    pub charges: Vec<String>,
    #[serde(default)]
    pub statutes: Vec<StatuteRef>,
    #[serde(default)]
    pub category: Option<CaseCategory>,
    /// The judge handling it (free text; the key identifies who registered it).
    #[serde(default)]
    pub judge: String,
}

/// A partial update; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingCaseUpdate {
    pub title: Option<String>,
    pub facts: Option<String>,
    pub charges: Option<Vec<String>>,
    pub statutes: Option<Vec<StatuteRef>>,
    pub category: Option<CaseCategory>,
    pub judge: Option<String>,
}

/// Open pending cases get pushes; closed ones no longer do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingStatus {
    Open,
    Closed,
}

impl PendingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PendingStatus::Open => "open",
            PendingStatus::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(PendingStatus::Open),
            "closed" => Some(PendingStatus::Closed),
            _ => None,
        }
    }
}

/// A stored pending case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingCase {
    pub id: String,
    pub court: String,
    pub key_id: i64,
    pub judge: String,
    pub title: String,
    pub facts: String,
    pub charges: Vec<String>,
    pub statutes: Vec<StatuteRef>,
    pub category: Option<CaseCategory>,
    pub status: PendingStatus,
    pub created_at: String,
    pub updated_at: String,
}

impl PendingCase {
    /// The text searched and embedded: facts, then charges and statutes.
    pub fn query_text(&self) -> String {
        let mut t = self.facts.trim().to_string();
        for c in &self.charges {
            t.push(' ');
            t.push_str(c.trim());
        }
        for s in &self.statutes {
            t.push(' ');
            t.push_str(&s.to_string());
        }
        t
    }
}

/// What a court subscribes to; a case matches when it meets every non-empty criterion
/// (values within one criterion are alternatives) and its tier is one of `tiers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionInput {
    #[serde(default)]
    pub categories: Vec<CaseCategory>,
    #[serde(default)]
    pub charges: Vec<String>,
    #[serde(default)]
    pub statutes: Vec<StatuteRef>,
    /// Words looked for in the case's title, facts and 裁判要点.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Default: guiding and typical.
    #[serde(default)]
    pub tiers: Vec<AuthorityTier>,
}

/// A stored subscription.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subscription {
    pub id: String,
    pub court: String,
    pub key_id: i64,
    #[serde(flatten)]
    pub criteria: SubscriptionInput,
    pub active: bool,
    pub created_at: String,
}

impl SubscriptionInput {
    pub(crate) fn is_empty(&self) -> bool {
        self.categories.is_empty()
            && self.charges.is_empty()
            && self.statutes.is_empty()
            && self.keywords.is_empty()
    }

    /// The criteria a case meets (as reason lines), or `None` when it misses one.
    pub fn matches(&self, case: &Case) -> Option<Vec<String>> {
        let tiers: &[AuthorityTier] = if self.tiers.is_empty() {
            &[AuthorityTier::Guiding, AuthorityTier::Typical]
        } else {
            &self.tiers
        };
        if self.is_empty() || !tiers.contains(&case.tier) {
            return None;
        }
        let mut why = Vec::new();
        if !self.categories.is_empty() {
            if !self.categories.contains(&case.category) {
                return None;
            }
            why.push(format!("案件类型：{}", case.category.label_zh()));
        }
        if !self.charges.is_empty() {
            let have: Vec<String> = case.charges.iter().map(|c| normalize_charge(c)).collect();
            let shared: Vec<&String> = self
                .charges
                .iter()
                .filter(|c| have.contains(&normalize_charge(c)))
                .collect();
            if shared.is_empty() {
                return None;
            }
            why.push(format!(
                "罪名/案由：{}",
                shared
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
        if !self.statutes.is_empty() {
            let shared: Vec<String> = self
                .statutes
                .iter()
                .filter(|s| case.statutes.contains(s))
                .map(|s| s.to_string())
                .collect();
            if shared.is_empty() {
                return None;
            }
            why.push(format!("法条：{}", shared.join("、")));
        }
        if !self.keywords.is_empty() {
            let gist = case.guiding.as_ref().map(|g| g.gist.as_str()).unwrap_or("");
            let found: Vec<&String> = self
                .keywords
                .iter()
                .filter(|k| {
                    let k = k.trim();
                    !k.is_empty()
                        && (case.title.contains(k)
                            || case.fact_text().contains(k)
                            || gist.contains(k))
                })
                .collect();
            if found.is_empty() {
                return None;
            }
            why.push(format!(
                "关键词：{}",
                found
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            ));
        }
        Some(why)
    }
}

/// Why a case was pushed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PushReason {
    /// The case's facts sentence that overlaps most with the pending case's facts.
    #[serde(default)]
    pub passage: String,
    #[serde(default)]
    pub shared_charges: Vec<String>,
    #[serde(default)]
    pub shared_statutes: Vec<String>,
    /// Score parts (pending-case pushes).
    #[serde(default)]
    pub dense: Option<f32>,
    #[serde(default)]
    pub lexical: Option<f32>,
    /// Criteria met (subscription pushes).
    #[serde(default)]
    pub criteria: Vec<String>,
}

/// What a push is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum PushTarget {
    PendingCase(String),
    Subscription(String),
}

impl PushTarget {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            PushTarget::PendingCase(_) => "pending_case",
            PushTarget::Subscription(_) => "subscription",
        }
    }
    pub(crate) fn id(&self) -> &str {
        match self {
            PushTarget::PendingCase(id) | PushTarget::Subscription(id) => id,
        }
    }
}

/// One push: a case brought to a pending case or a subscription. Its `id` grows with
/// every push and is the SSE event id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Push {
    pub id: i64,
    pub court: String,
    /// Set for pushes to a pending case.
    pub pending_case: Option<String>,
    /// Set for pushes to a subscription.
    pub subscription: Option<String>,
    pub case_id: String,
    pub case_title: String,
    /// guiding, typical, higher_court, same_court, other.
    pub tier: AuthorityTier,
    pub tier_label: String,
    /// Guiding cases must be followed (应当参照).
    pub must_follow: bool,
    /// The pushed case's charges / causes of action.
    pub charges: Vec<String>,
    pub score: f32,
    /// One line a judge reads: shared charges and statutes, the matching passage, score.
    pub reason: String,
    pub reason_detail: PushReason,
    pub created_at: String,
    /// When a key of the court acknowledged (read) it.
    pub acked_at: Option<String>,
    /// Feedback: useful (true) or not (false).
    pub useful: Option<bool>,
}

/// A push about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPush {
    pub court: String,
    pub target: PushTarget,
    pub case_id: String,
    pub case_title: String,
    pub tier: AuthorityTier,
    pub charges: Vec<String>,
    pub score: f32,
    pub reason: String,
    pub reason_detail: PushReason,
}

impl NewPush {
    /// A pending-case push with its reason line.
    pub(crate) fn for_pending(
        pending: &PendingCase,
        case: &Case,
        parts: &ScoreParts,
        passage: String,
    ) -> NewPush {
        let pending_charges: Vec<String> = pending
            .charges
            .iter()
            .map(|c| normalize_charge(c))
            .collect();
        let shared_charges: Vec<String> = case
            .charges
            .iter()
            .filter(|c| pending_charges.contains(&normalize_charge(c)))
            .cloned()
            .collect();
        let shared_statutes: Vec<String> = case
            .statutes
            .iter()
            .filter(|s| pending.statutes.contains(s))
            .map(|s| s.to_string())
            .collect();
        let mut reason = Vec::new();
        if case.tier.must_follow() {
            reason.push("指导性案例（应当参照）".to_string());
        }
        if !shared_charges.is_empty() {
            reason.push(format!("相同罪名/案由：{}", shared_charges.join("、")));
        }
        if !shared_statutes.is_empty() {
            reason.push(format!("相同法条：{}", shared_statutes.join("、")));
        }
        if !passage.is_empty() {
            reason.push(format!("相似事实：「{passage}」"));
        }
        reason.push(format!("相关度 {:.2}", parts.score));
        NewPush {
            court: pending.court.clone(),
            target: PushTarget::PendingCase(pending.id.clone()),
            case_id: case.id.to_string(),
            case_title: case.display_title(),
            tier: case.tier,
            charges: case.charges.clone(),
            score: parts.score,
            reason: reason.join("；"),
            reason_detail: PushReason {
                passage,
                shared_charges,
                shared_statutes,
                dense: parts.dense,
                lexical: Some(parts.lexical),
                criteria: Vec::new(),
            },
        }
    }

    pub(crate) fn for_subscription(
        sub: &Subscription,
        case: &Case,
        criteria: Vec<String>,
    ) -> NewPush {
        let mut reason = vec![format!("订阅 {} 命中", sub.id)];
        reason.extend(criteria.iter().cloned());
        NewPush {
            court: sub.court.clone(),
            target: PushTarget::Subscription(sub.id.clone()),
            case_id: case.id.to_string(),
            case_title: case.display_title(),
            tier: case.tier,
            charges: case.charges.clone(),
            score: 1.0,
            reason: reason.join("；"),
            reason_detail: PushReason {
                criteria,
                ..PushReason::default()
            },
        }
    }
}

/// Which pushes to list; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PushFilter {
    pub pending_case: Option<String>,
    pub subscription: Option<String>,
    /// Only pushes not yet acknowledged.
    #[serde(default)]
    pub unacked: bool,
    /// Only pushes with a larger id.
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// Feedback counts for one group of pushes.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FeedbackRate {
    /// The tier or charge (or `all`).
    pub group: String,
    pub pushes: u64,
    pub rated: u64,
    pub useful: u64,
    /// useful / rated; `None` before any feedback.
    pub useful_rate: Option<f64>,
}

/// The admin view of feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FeedbackReport {
    pub overall: FeedbackRate,
    pub by_tier: Vec<FeedbackRate>,
    pub by_charge: Vec<FeedbackRate>,
}

/// A court's webhook as shown (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookInfo {
    pub court: String,
    pub url: String,
    pub updated_at: String,
}

/// A webhook delivery that is due: what to POST where.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub push_id: i64,
    pub url: String,
    pub secret: String,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// Delivery state of a push's webhook, for admins and tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryState {
    pub push_id: i64,
    /// pending, delivered or dead (gave up after the last attempt).
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}
