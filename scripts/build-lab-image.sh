#!/usr/bin/env bash
# Build the image that the lab hosts and the Molecule scenarios run: a systemd
# host with python3, close to a freshly installed server.
#
# Where a registry answers it starts from an Ubuntu base image; where none does
# (CI, air-gapped sites) it bootstraps the image from this machine's own apt
# mirror with debootstrap, so no registry is ever needed.
#
#   scripts/build-lab-image.sh            # build unless the image exists
#   scripts/build-lab-image.sh --force    # rebuild
#   scripts/build-lab-image.sh --minimal  # the minimal test host instead (see below)
#   scripts/build-lab-image.sh --release trixie   # another Debian release of the
#                                         # same mirror (debootstrap; image dockyard-lab:trixie)
#   DOCKYARD_LAB_IMAGE=name:tag           # image name (default dockyard-lab:latest)
#   DOCKYARD_MINIMAL_IMAGE=name:tag       # with --minimal (default dockyard-minimal:latest)
#   DOCKYARD_LAB_BASE=debootstrap|pull    # skip the registry attempt, or require it
set -euo pipefail

UBUNTU_BASE="${DOCKYARD_LAB_UBUNTU_BASE:-ubuntu:24.04}"
BASE_MODE="${DOCKYARD_LAB_BASE:-auto}"
# What every lab host carries beyond a minimal install: an init, python3 for
# Ansible, python3-apt so the apt module needs no bootstrap, sudo for become,
# and sshd for `dockyard lab up --connection ssh` (off unless that mode asks).
PACKAGES="python3,python3-apt,systemd,systemd-sysv,dbus,sudo,iproute2,procps,ca-certificates,gnupg,curl,iptables,openssh-server"
# The minimal test host is a debootstrap minbase with only what Ansible and
# systemd need: no procps, curl, gnupg, ca-certificates or python3-apt, as on
# the barest real server. The roles must install whatever else they use.
MINIMAL_PACKAGES="python3,systemd,systemd-sysv,sudo,iproute2"
MINIMAL=0
FORCE=0

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
say() { printf '[build-lab-image] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The release to bootstrap: this machine's own unless --release names another.
RELEASE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --minimal) MINIMAL=1 ;;
    --release)
      [ $# -ge 2 ] || die "--release needs a Debian codename, e.g. --release trixie"
      RELEASE="$2"; shift ;;
    --release=*) RELEASE="${1#--release=}" ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
case "$RELEASE" in
  ""|[a-z]*) ;;
  *) die "--release takes a Debian codename such as trixie (got '$RELEASE')" ;;
esac
# This machine's own release is the default image.
# shellcheck disable=SC1091
[ "$RELEASE" = "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" ] && RELEASE=""

if [ "$MINIMAL" = 1 ]; then
  IMAGE="${DOCKYARD_MINIMAL_IMAGE:-dockyard-minimal:${RELEASE:-latest}}"
  PACKAGES="$MINIMAL_PACKAGES"
  # A registry's base image carries its own extras: the minimal host always
  # comes from debootstrap.
  BASE_MODE=debootstrap
else
  IMAGE="${DOCKYARD_LAB_IMAGE:-dockyard-lab:${RELEASE:-latest}}"
fi
# Another release than Ubuntu's base image: only debootstrap can make it.
[ -n "$RELEASE" ] && [ "$BASE_MODE" = auto ] && BASE_MODE=debootstrap

command -v docker >/dev/null || die "docker CLI not found: install Docker Engine first"
docker info >/dev/null 2>&1 || die "cannot reach the Docker daemon (is dockerd running? are you in the docker group?)"

if [ "$FORCE" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE already exists (use --force to rebuild)"
  exit 0
fi

workdir=$(mktemp -d)
cleanup() { rm -rf "$workdir"; }
trap cleanup EXIT

# Steps that turn any Debian-family root into a lab host, shared by both paths.
write_finish_script() {
  cat > "$1" <<'FINISH'
#!/bin/sh
set -e
# Units that make no sense in a container only slow boot down or fail.
for unit in getty.target systemd-udevd.service systemd-udev-trigger.service \
            systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount \
            systemd-logind.service console-getty.service; do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done
echo 'APT::Install-Recommends "false";' > /etc/apt/apt.conf.d/90dockyard-no-recommends
# Ubuntu's base image drops man pages and docs; the debootstrap path gets the same.
mkdir -p /etc/dpkg/dpkg.cfg.d
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
  > /etc/dpkg/dpkg.cfg.d/90dockyard-excludes
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/* /usr/share/man/*
# Empty package lists must look stale, or apt caches (Ansible's cache_valid_time)
# would trust them and find no packages.
mkdir -p /var/lib/apt/lists/partial
touch -d @0 /var/lib/apt/lists
# sshd: no host keys in the image (each lab host makes its own when the SSH
# mode starts it; shared keys would defeat host key checking), off at boot.
if [ -e /lib/systemd/system/ssh.service ]; then
  rm -f /etc/ssh/ssh_host_*
  rm -f /etc/systemd/system/multi-user.target.wants/ssh.service /etc/systemd/system/sshd.service \
        /etc/systemd/system/sockets.target.wants/ssh.socket /etc/systemd/system/ssh.service.wants/*
fi
: > /etc/machine-id
FINISH
  chmod +x "$1"
}

build_from_registry() {
  say "trying $UBUNTU_BASE from a registry"
  docker pull -q "$UBUNTU_BASE" >/dev/null 2>&1 || return 1
  write_finish_script "$workdir/finish.sh"
  cat > "$workdir/Dockerfile" <<DOCKERFILE
FROM $UBUNTU_BASE
ENV DEBIAN_FRONTEND=noninteractive container=docker
RUN apt-get update \\
 && apt-get install -y --no-install-recommends $(echo "$PACKAGES" | tr , ' ') \\
 && apt-get clean
COPY finish.sh /tmp/finish.sh
RUN /tmp/finish.sh && rm /tmp/finish.sh
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
DOCKERFILE
  docker build -q -t "$IMAGE" --label org.dockyard.lab.base="$UBUNTU_BASE" "$workdir" >/dev/null
}

# The first deb URI of this machine's apt sources for the given archive
# (deb822 .sources files first, then one-line .list files).
host_mirror() {
  local uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    uri=$(awk '/^URIs:/ {print $2; exit}' "$f")
    [ -n "$uri" ] && grep -qE "^Suites:.*\\b${1}\\b" "$f" && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    uri=$(awk -v s="$1" '$1=="deb" && $0 ~ s {for(i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}

build_from_debootstrap() {
  command -v debootstrap >/dev/null || die "no registry answered and debootstrap is missing: apt-get install debootstrap"
  # shellcheck disable=SC1091
  . /etc/os-release
  local own="${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"
  local suite="${RELEASE:-$own}"
  local mirror
  # Another release comes from the mirror this machine uses for its own.
  mirror=$(host_mirror "$own")
  [ -n "$mirror" ] || die "found no apt mirror for $own in /etc/apt/sources.list*"
  say "bootstrapping $ID $suite from $mirror (debootstrap, about a minute)"
  local root="$workdir/rootfs"
  mkdir -p "$workdir/empty"
  debootstrap --variant=minbase --include="$PACKAGES" "$suite" "$root" "$mirror" >"$workdir/debootstrap.log" 2>&1 \
    || { tail -20 "$workdir/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  # The lab hosts use the same mirror, suites and keys as this machine, so they
  # install from wherever it does (a local mirror on an air-gapped site).
  rm -f "$root/etc/apt/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    grep -qE "(^Suites:|^deb ).*\\b${own}\\b" "$f" || continue
    # Another release: the same files with its codename (bookworm-updates
    # becomes trixie-updates, bookworm-security trixie-security).
    sed -E "s/\\b${own}\\b/${suite}/g" "$f" > "$root/etc/apt/sources.list.d/$(basename "$f")"
  done
  write_finish_script "$root/tmp/finish.sh"
  chroot "$root" /tmp/finish.sh
  rm -f "$root/tmp/finish.sh"
  # docker import cannot set STOPSIGNAL, so a one-line build finishes the image.
  local rootfs_image="$IMAGE-rootfs"
  tar -C "$root" -c . | docker import - "$rootfs_image" >/dev/null
  printf 'FROM %s\nENV container=docker\nSTOPSIGNAL SIGRTMIN+3\nCMD ["/sbin/init"]\n' "$rootfs_image" \
    > "$workdir/Dockerfile"
  docker build -q -t "$IMAGE" --label org.dockyard.lab.base="debootstrap:$ID-$suite" \
    -f "$workdir/Dockerfile" "$workdir/empty" >/dev/null
  docker rmi "$rootfs_image" >/dev/null
}

start=$(date +%s)
# A rebuild leaves the old image untagged: remove it afterwards unless in use.
old_image_id=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
case "$BASE_MODE" in
  pull) build_from_registry || die "could not pull $UBUNTU_BASE" ;;
  debootstrap) build_from_debootstrap ;;
  auto) build_from_registry || { say "no registry answered; falling back to debootstrap"; build_from_debootstrap; } ;;
  *) die "DOCKYARD_LAB_BASE must be auto, pull or debootstrap (got '$BASE_MODE')" ;;
esac
new_image_id=$(docker image inspect -f '{{.Id}}' "$IMAGE")
if [ -n "$old_image_id" ] && [ "$old_image_id" != "$new_image_id" ]; then
  docker rmi "$old_image_id" >/dev/null 2>&1 || say "the previous image is still in use; left in place"
fi
say "built $IMAGE in $(( $(date +%s) - start )) s"
