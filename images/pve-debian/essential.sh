#!/bin/sh
# Runs inside the root file system once the essential packages are in, before the recipe's
# packages are installed.
set -eu

# The Proxmox installer's own marker for installing into a chroot: while it exists, the
# maintainer scripts of pve-cluster, pve-manager and the others skip what needs a running
# cluster file system (certificates, reloading services). customize.sh removes it; each node
# makes its certificates at its first boot, under its own name.
touch /proxmox_install_mode

# postfix asks how to deliver mail unless debconf already knows; the guide picks "Local only".
echo 'postfix postfix/main_mailer_type select Local only' | debconf-set-selections
echo 'postfix postfix/mailname string lab.hadrill.lab' | debconf-set-selections
