//! Node images for the Proxmox VE stack, by either documented route (`iso`; the Debian route
//! in `access` for now), and the access settings that decide between them (`access`).

pub mod access;
pub mod iso;
