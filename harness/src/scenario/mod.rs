//! The scenario language: YAML files that say what cluster to build, what to do to it and
//! what must happen; parsed, then validated into a typed `Plan` before anything runs.

pub mod chaos;
mod duration;
mod error;
mod model;
mod plan;
mod schema;
mod validate;

pub use duration::{format_duration, parse_duration};
pub use error::{LoadError, ScenarioError};
pub use model::{NetworkKind, ScenarioDoc, StackKind, StorageKind};
pub use plan::*;
pub use schema::schema_json;
pub use validate::{UNCONFIRMED_FENCE, describe_never, describe_pattern, load, parse};
