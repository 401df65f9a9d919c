//! The inbox as a judge reads it: pushes grouped by what they were pushed for (a pending
//! case or a subscription), each group ordered by authority (指导性案例 first, as they must
//! be followed), then by score; one item per (target, decided case).

use crate::model::Push;
use leian_ingest::AuthorityTier;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// The pushes made for one pending case or one subscription.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxGroup {
    /// Set when the pushes are for a pending case.
    pub pending_case: Option<String>,
    /// Set when the pushes are for a subscription.
    pub subscription: Option<String>,
    /// What the group is for, as a judge names it: the pending case's title (or the
    /// start of its facts), or `订阅 <id>`.
    pub title: String,
    /// Pushes not yet read.
    pub unread: usize,
    /// Guiding cases first, then typical, higher-court, same-court, other; within a tier
    /// the higher score first.
    pub pushes: Vec<Push>,
}

fn tier_rank(t: AuthorityTier) -> usize {
    AuthorityTier::ALL
        .iter()
        .position(|x| *x == t)
        .unwrap_or(AuthorityTier::ALL.len())
}

/// Groups `pushes`; `title_of_pending` names a pending case by id (None: unknown, the id is
/// shown). Groups come newest activity first (the group whose latest push is newest).
pub fn group_inbox(
    pushes: Vec<Push>,
    title_of_pending: impl Fn(&str) -> Option<String>,
) -> Vec<InboxGroup> {
    let mut groups: Vec<InboxGroup> = Vec::new();
    let mut at: HashMap<(Option<String>, Option<String>), usize> = HashMap::new();
    let mut newest: Vec<i64> = Vec::new();
    for p in pushes {
        let key = (p.pending_case.clone(), p.subscription.clone());
        let i = *at.entry(key).or_insert_with(|| {
            let title = match (&p.pending_case, &p.subscription) {
                (Some(id), _) => title_of_pending(id).unwrap_or_else(|| format!("待决案件 {id}")),
                (None, Some(id)) => format!("订阅 {id}"),
                (None, None) => "其他推送".to_string(),
            };
            groups.push(InboxGroup {
                pending_case: p.pending_case.clone(),
                subscription: p.subscription.clone(),
                title,
                unread: 0,
                pushes: Vec::new(),
            });
            newest.push(i64::MIN);
            groups.len() - 1
        });
        newest[i] = newest[i].max(p.id);
        groups[i].pushes.push(p);
    }
    for g in &mut groups {
        g.pushes.sort_by(|a, b| {
            tier_rank(a.tier)
                .cmp(&tier_rank(b.tier))
                .then(b.score.total_cmp(&a.score))
                .then(b.id.cmp(&a.id))
        });
        // the store keeps one row per (target, case); should a list hold two, the first
        // (the best ranked) stands for both
        let mut seen = HashSet::new();
        g.pushes.retain(|p| seen.insert(p.case_id.clone()));
        g.unread = g.pushes.iter().filter(|p| p.acked_at.is_none()).count();
    }
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(newest[i]));
    let mut slots: Vec<Option<InboxGroup>> = groups.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PushReason;

    fn push(
        id: i64,
        pending: Option<&str>,
        sub: Option<&str>,
        case: &str,
        tier: AuthorityTier,
        score: f32,
    ) -> Push {
        Push {
            id,
            court: "甲法院".into(),
            pending_case: pending.map(String::from),
            subscription: sub.map(String::from),
            case_id: case.into(),
            case_title: case.into(),
            tier,
            tier_label: tier.label_zh().into(),
            must_follow: tier.must_follow(),
            charges: Vec::new(),
            score,
            reason: String::new(),
            reason_detail: PushReason::default(),
            created_at: String::new(),
            acked_at: None,
            useful: None,
        }
    }

    #[test]
    fn groups_by_target_and_orders_by_authority_then_score() {
        use AuthorityTier::*;
        let mut read = push(5, Some("p1"), None, "c", Other, 0.9);
        read.acked_at = Some("2026-01-01T00:00:00Z".into());
        let pushes = vec![
            push(1, Some("p1"), None, "weak", Other, 0.67),
            push(2, Some("p1"), None, "g1", Guiding, 0.71),
            push(3, Some("p2"), None, "g1", Guiding, 0.8),
            push(4, None, Some("s1"), "t1", Typical, 1.0),
            read,
            push(6, Some("p1"), None, "t2", Typical, 0.75),
            push(7, Some("p2"), None, "g1", Guiding, 0.5),
        ];
        let groups = group_inbox(pushes, |id| (id == "p1").then(|| "张某盗窃案".to_string()));
        let titles: Vec<&str> = groups.iter().map(|g| g.title.as_str()).collect();
        // newest activity first: p2 (push 7), p1 (push 6), the subscription (push 4)
        assert_eq!(titles, ["待决案件 p2", "张某盗窃案", "订阅 s1"]);
        let p1: Vec<&str> = groups[1]
            .pushes
            .iter()
            .map(|p| p.case_id.as_str())
            .collect();
        assert_eq!(
            p1,
            ["g1", "t2", "c", "weak"],
            "guiding first, then typical, then by score"
        );
        assert_eq!(groups[1].unread, 3);
        // the same decided case pushed twice to one pending case shows once, the better one
        assert_eq!(groups[0].pushes.len(), 1);
        assert_eq!(groups[0].pushes[0].id, 3);
        // the same guiding case for two pending cases is in both groups
        assert!(groups[1].pushes.iter().any(|p| p.case_id == "g1"));
    }
}
