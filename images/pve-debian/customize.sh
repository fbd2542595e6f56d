#!/bin/sh
# Runs inside the image's root file system (chroot) after the packages are installed.
set -eu

# Root file system; the kernel command line mounts / read-write.
printf '/dev/vda / ext4 rw,noatime,errors=remount-ro 0 1\n' > /etc/fstab

# Identity comes from the kernel command line at every boot (lab-net.service, from debian-ha,
# with lab-pve around it for what Proxmox VE needs); lab-pve says what the image must be for it.
sh /usr/local/sbin/lab-pve image

# The guide removes the Debian kernel once the Proxmox kernel runs, and os-prober (it would
# add every guest's disk to the boot menu).
debian_kernels=$(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 'linux-image-*' 2>/dev/null \
  | awk '$1 ~ /^ii/ && $2 !~ /pve/ { print $2 }')
if [ -n "$debian_kernels" ]; then
  # shellcheck disable=SC2086
  apt-get -y purge $debian_kernels
fi
if dpkg-query -W -f '${db:Status-Abbrev}' os-prober 2>/dev/null | grep -q '^ii'; then
  apt-get -y purge os-prober
fi
ls /boot/vmlinuz-*-pve > /dev/null

# proxmox-ve adds the enterprise repositories; without a subscription they break apt-get update.
rm -f /etc/apt/sources.list.d/pve-enterprise.list /etc/apt/sources.list.d/pve-enterprise.sources \
  /etc/apt/sources.list.d/ceph.list /etc/apt/sources.list.d/ceph.sources

# Nothing that wakes up on a timer and steals CPU from an emulated guest.
systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
  fstrim.timer systemd-tmpfiles-clean.timer dpkg-db-backup.timer pve-daily-update.timer 2>/dev/null || true

rm -f /proxmox_install_mode

# Keep the image small.
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /var/cache/debconf/*-old
