#!/bin/sh
# Runs inside the image's root file system (chroot) after the packages are installed.
set -eu

# Root file system and a tmpfs /tmp; the kernel command line mounts / read-write.
printf '/dev/vda / ext4 rw,noatime,errors=remount-ro 0 1\n' > /etc/fstab
echo lab > /etc/hostname
: > /etc/machine-id

# Identity comes from the kernel command line at every boot (lab-net.service).
chmod 0755 /usr/local/sbin/lab-net
systemctl enable lab-net.service systemd-networkd.service ssh.service mnt-shared.automount
mkdir -p /mnt/shared

# Host keys are made per VM at first boot, not baked into the shared base.
rm -f /etc/ssh/ssh_host_*

# The HA stack is started by hadrill after every node has booted, not by systemd.
systemctl disable corosync.service pacemaker.service sbd.service nfs-server.service 2>/dev/null || true

# Nothing that wakes up on a timer and steals CPU from an emulated guest.
systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
  fstrim.timer systemd-tmpfiles-clean.timer dpkg-db-backup.timer 2>/dev/null || true

# NFS export for the storage role, with short grace and lease times (see notes/tcg-lab.md).
mkdir -p /srv/nfs
chmod 0777 /srv/nfs
printf '/srv/nfs *(rw,sync,no_root_squash,no_subtree_check,fsid=0)\n' > /etc/exports
cat >> /etc/nfs.conf <<'CONF'

[nfsd]
grace-time=10
lease-time=10
CONF

# Keep the image small.
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /var/cache/debconf/*-old
