//! Placeholder.
pub struct ClusterModel;
pub struct ServiceView;
