//! Checks: expectations evaluated against a timeline, each giving a verdict.

mod eval;
mod fence;
mod model;
mod result;
mod verdict;

pub use eval::{Bindings, Evaluation, Holds, Watched, evaluate, holds};
pub use fence::{FenceAudit, Finding, audit as audit_fences, from_hypervisor};
pub use model::{ClusterModel, NodeView, ServiceView};
pub use result::{CheckKind, CheckResult, Subject};
pub use verdict::{EXIT_INVALID_INPUT, Verdict};
