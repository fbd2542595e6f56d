//! Proxmox VE HA.
