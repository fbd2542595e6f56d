//! The live Proxmox observer against fake nodes that speak SSH and play back a regression
//! case at accelerated time; its timeline and verdict must match `hadrill analyze`'s.

mod case;
mod clock;
mod compare;
mod fake_node;
mod replay;
mod trials;

pub use trials::trials;
