//! One module per resource.

pub(crate) mod admin;
pub(crate) mod cases;
pub(crate) mod consistency;
pub(crate) mod lifecycle;
pub(crate) mod push;
pub(crate) mod reports;
pub(crate) mod search;
pub(crate) mod statutes;
pub(crate) mod system;
