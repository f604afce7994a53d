#!/usr/bin/env bash
# One command from a fresh Debian/Ubuntu machine to a running Dockyard lab:
# control-machine packages, the venv with Dockyard and its pinned Ansible, a
# Docker Engine, the lab image, the lab hosts, and the platform deployed into
# them. Safe to run again: every phase skips what is already done.
#
#   scripts/bootstrap.sh               # everything above
#   scripts/bootstrap.sh --replicas 3  # a lab with three PostgreSQL replicas
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$DOCKYARD_ROOT"

replicas=2
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) replicas="${2:?--replicas needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument: $1 (see --help)" ;;
  esac
done

phase_start=0
phase() { phase_start=$SECONDS; log "$1"; }
phase_done() { log "done in $((SECONDS - phase_start)) s"; }
on_error() {
  printf '\nerror: bootstrap stopped during: %s\n' "${current_phase:-setup}" >&2
  printf 'Fix what the output above names, then run %s again: finished phases are skipped.\n' "$0" >&2
}
trap on_error ERR

current_phase="control machine packages"
phase "$current_phase"
ensure_apt_packages debootstrap iptables git ca-certificates python3-venv
phase_done

current_phase="Docker Engine on this machine"
phase "$current_phase"
ensure_docker_engine_package
ensure_dockerd
phase_done

current_phase="virtualenv with Dockyard and Ansible"
phase "$current_phase"
ensure_venv
phase_done

current_phase="lab image"
phase "$current_phase"
ensure_lab_image
phase_done

current_phase="lab hosts"
phase "$current_phase"
dockyard lab up --replicas "$replicas"
phase_done

current_phase="platform deployment (dockyard up)"
phase "$current_phase"
dockyard up
phase_done

current_phase="status"
phase "$current_phase"
dockyard status
phase_done

log "the lab is up; inventory in inventory/lab/. Use .venv/bin/dockyard (or . .venv/bin/activate)."
log "tear it down with: dockyard lab down"
