//! The live Proxmox observer against fake nodes that speak SSH and play back a regression
//! case at accelerated time; its timeline and verdict must match `hadrill analyze`'s. The
//! Proxmox VE driver's bootstrap, readiness gate and observer against the same fake nodes.

mod case;
mod clock;
mod compare;
mod driver;
mod fake_node;
mod replay;
mod trials;

pub use trials::trials;
