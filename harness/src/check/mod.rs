//! Checks: expectations evaluated against a timeline, each giving a verdict.

mod eval;
mod model;
mod result;
mod verdict;

pub use eval::{Bindings, Evaluation, Holds, evaluate, holds};
pub use model::{ClusterModel, NodeView, ServiceView};
pub use result::{CheckKind, CheckResult, Subject};
pub use verdict::{EXIT_INVALID_INPUT, Verdict};
