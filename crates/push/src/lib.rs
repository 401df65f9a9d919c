//! leian-push owns precise push (精准推送): bringing guiding, typical and similar decided
//! cases to the judges whose pending cases (在办案件) need them, without their searching.
//!
//! - [`PushService`]: pending cases (register, update, close) and court subscriptions;
//!   **forward** matching when a pending case is registered or updated (the engine's
//!   hybrid search, then each hit scored as a pair) and **reverse** matching when a
//!   guiding or typical case is ingested ([`reverse::PendingIndex`]: every open pending
//!   case in memory with bigram and charge postings, so 10,000 pending cases cost
//!   milliseconds per new case; `leian bench --push` measures it).
//! - [`similarity`]: the pair score both directions share, so one threshold means one
//!   thing.
//! - [`PushStore`]: the durable outbox. Its tables (`push_*`, `pushes`) live in the
//!   server's database file `<index>/leian.sqlite`, beside keys and the audit log, so that
//!   one file is backed up and one transaction can read case visibility
//!   (`case_permissions`): a case restricted to other courts is never pushed to a court.
//!   A push is one row unique per (pending case or subscription, case), so no pair is ever
//!   pushed twice; a court with a webhook gets a delivery row in the same transaction
//!   (state, attempts, next attempt), so deliveries survive restarts. Deleted cases'
//!   pushes are withdrawn and never listed again. Feedback (useful / not useful) is
//!   counted per tier and per charge.
//! - [`signature`]: HMAC-SHA256 of webhook bodies.
//!
//! It knows nothing of HTTP: the server sends the webhooks and streams the pushes; the
//! CLI calls [`PushService::on_cases_added`] after `leian ingest`.

mod clock;
mod error;
pub mod inbox;
mod model;
pub mod reverse;
mod service;
pub mod signature;
pub mod similarity;
mod store;

pub use clock::{iso_utc, now_ms};
pub use error::{PushError, Result};
pub use model::{
    DeliveryState, DueDelivery, FeedbackRate, FeedbackReport, NewPush, Owner, PendingCase,
    PendingCaseInput, PendingCaseUpdate, PendingStatus, Push, PushFilter, PushReason, PushTarget,
    Subscription, SubscriptionInput, WebhookInfo,
};
pub use service::{ForwardMatch, PushOptions, PushService, MAX_FACTS_CHARS};
pub use similarity::{Features, ScoreParts, ScoreWeights};
pub use store::PushStore;
