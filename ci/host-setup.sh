#!/bin/sh
# Prepares a Debian 12 host to run hadrill labs: packages, and the libvirt daemons when the
# host has no systemd as PID 1 (containers, CI runners). Idempotent. Run as root.
set -eu

export DEBIAN_FRONTEND=noninteractive
# xorriso, dosfstools and mtools: the Proxmox VE ISO route (the installer's kernel read from the
# ISO, which the assistant needs too, and the answer disk).
packages="libvirt-daemon-system libvirt-dev qemu-system-x86 qemu-utils mmdebstrap debootstrap dnsmasq-base e2fsprogs pkg-config xorriso dosfstools mtools"
missing_packages() {
  m=""
  for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || m="$m $p"
  done
  echo "$m"
}
missing=$(missing_packages)
if [ -n "$missing" ]; then
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing
  # Installing one can remove another: a host image with a newer qemu-utils from backports
  # loses it to qemu-system-x86's dependencies, and the lab then has no qemu-img. Once more
  # for whatever went, then make sure.
  missing=$(missing_packages)
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing
  fi
  missing=$(missing_packages)
  if [ -n "$missing" ]; then
    echo "host-setup: still not installed:$missing" >&2
    exit 1
  fi
fi

# libvirt's networks need this directory before the first one starts.
mkdir -p /var/lib/libvirt/dnsmasq

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
  systemctl start virtlogd.socket libvirtd.socket libvirtd.service
else
  pgrep -x virtlogd >/dev/null || virtlogd -d
  pgrep -x libvirtd >/dev/null || libvirtd -d
fi

# Wait until libvirtd answers (at most 30 s).
i=0
until virsh -c qemu:///system version >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -le 30 ] || { echo "libvirtd does not answer on qemu:///system" >&2; exit 1; }
  sleep 1
done

if grep -qE '\b(vmx|svm)\b' /proc/cpuinfo && [ -w /dev/kvm ]; then
  echo "host-setup: KVM available"
else
  echo "host-setup: NO hardware virtualisation: guests run under TCG (emulated, several times slower)"
fi
