#!/usr/bin/env bash
# One command from a fresh Debian/Ubuntu machine to a running Dockyard.
#
#   scripts/bootstrap.sh               # workstation: the lab, with the platform deployed in it
#   scripts/bootstrap.sh --replicas 3  # the same, with three PostgreSQL replicas
#   scripts/bootstrap.sh --local       # this server itself as a one-host platform
#
# Workstation (default): control-machine packages, the venv with Dockyard and its
# pinned Ansible, Docker Engine (installed by Dockyard's own docker_engine role
# when missing), the lab image, the lab hosts, `dockyard up`, `dockyard status`.
# --local: provisions this very server (Docker Engine, the sample services,
# PostgreSQL) through the same roles, from a generated inventory in
# inventory/local/ (secrets generated once, mode 0600).
# Environment: DOCKYARD_DOCKER_SOURCE=official|distro (Docker's apt repository,
# the default, or the distribution's docker.io); DOCKYARD_BASE_IMAGE (--local: the
# image the sample services are built FROM; default debian:bookworm-slim, pulled,
# so set it to a local image on air-gapped servers); DOCKYARD_BASE_IMAGE_ARCHIVE
# (--local: a `docker save` archive loaded when that image is missing).
# Safe to run again: every phase skips what is already done.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$DOCKYARD_ROOT"

mode=workstation
replicas=2
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) replicas="${2:?--replicas needs a number}"; shift 2 ;;
    --local) mode=local; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument: $1 (see --help)" ;;
  esac
done
docker_source="${DOCKYARD_DOCKER_SOURCE:-official}"
case "$docker_source" in official|distro) ;; *) fail "DOCKYARD_DOCKER_SOURCE must be official or distro, not '$docker_source'" ;; esac

started=$SECONDS
current_phase=setup
phase_start=0
phase() { current_phase="$1"; phase_start=$SECONDS; log "$1"; }
phase_done() { log "$current_phase: done in $((SECONDS - phase_start)) s"; }
on_error() {
  printf '\nerror: bootstrap stopped during "%s" after %s s.\n' "$current_phase" "$((SECONDS - phase_start))" >&2
  printf 'Fix what the output above names, then run %s%s again: finished phases are skipped.\n' \
    "$0" "$([ "$mode" = local ] && echo ' --local')" >&2
  [ -d .dockyard/artifacts ] && printf 'Ansible runs are kept in %s/.dockyard/artifacts/.\n' "$DOCKYARD_ROOT" >&2
}
trap on_error ERR

has_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

# The control machine's own engine through the docker_engine role, where
# systemd runs; elsewhere (CI containers, chroots) the distribution's package,
# started by hand.
control_machine_docker() {
  if command -v dockerd >/dev/null; then
    ensure_dockerd
    return 0
  fi
  if has_systemd; then
    log "installing Docker Engine on this machine with the docker_engine role (source: $docker_source)"
    local inventory
    inventory="$(write_inventory control-machine)"
    as_root env "PATH=$PATH" DOCKYARD_HOME="$DOCKYARD_ROOT" "$DOCKYARD_VENV/bin/dockyard" docker -i "$inventory"
    # That run was root's; its run records and facts stay this user's.
    [ "$(id -u)" = 0 ] || as_root chown -R "$(id -u):$(id -g)" "$DOCKYARD_ROOT/.dockyard" "$DOCKYARD_ROOT/.cache"
  else
    log "no service manager runs here: installing the distribution's docker.io and starting dockerd by hand"
    ensure_docker_engine_package
  fi
  ensure_dockerd
}

# The inventory of this machine (playbooks/local.yml writes it, as the lab's
# is written): KIND is server (--local) or control-machine. Prints its path.
write_inventory() {
  local kind="$1" dir
  case "$kind" in
    server) dir="$DOCKYARD_ROOT/inventory/local" ;;
    *) dir="$DOCKYARD_ROOT/.cache/bootstrap/control-machine" ;;
  esac
  "$DOCKYARD_VENV/bin/ansible-playbook" -i localhost, "$DOCKYARD_ROOT/playbooks/local.yml" \
    -e "local_inventory=$kind" -e "local_inventory_dir=$dir" -e "local_docker_source=$docker_source" \
    -e "{\"local_docker_users\": [\"${SUDO_USER:-root}\"]}" \
    -e "local_base_image=${DOCKYARD_BASE_IMAGE:-debian:bookworm-slim}" >&2
  echo "$dir"
}

phase "control machine packages"
if [ "$mode" = local ]; then
  ensure_apt_packages iptables ca-certificates python3-venv iproute2
else
  ensure_apt_packages debootstrap iptables git ca-certificates python3-venv
fi
phase_done

phase "virtualenv with Dockyard and Ansible"
ensure_venv
phase_done

if [ "$mode" = local ]; then
  has_systemd || fail "--local provisions this server through systemd, which does not run here"
  phase "inventory for this server"
  inventory="$(write_inventory server)"
  log "inventory: $inventory"
  phase_done

  # The engine first, on its own: a base image archive can then be loaded
  # before the services are built.
  phase "Docker Engine (dockyard docker -i $inventory)"
  as_root env "PATH=$PATH" DOCKYARD_HOME="$DOCKYARD_ROOT" "$DOCKYARD_VENV/bin/dockyard" docker -i "$inventory"
  phase_done

  if [ -n "${DOCKYARD_BASE_IMAGE_ARCHIVE:-}" ]; then
    phase "base image for the services"
    if as_root docker image inspect "${DOCKYARD_BASE_IMAGE:-debian:bookworm-slim}" >/dev/null 2>&1; then
      log "${DOCKYARD_BASE_IMAGE:-debian:bookworm-slim} is already loaded"
    else
      as_root docker load -q -i "$DOCKYARD_BASE_IMAGE_ARCHIVE"
    fi
    phase_done
  fi

  phase "platform deployment (dockyard up -i $inventory)"
  as_root env "PATH=$PATH" DOCKYARD_HOME="$DOCKYARD_ROOT" "$DOCKYARD_VENV/bin/dockyard" up -i "$inventory"
  phase_done

  phase "status"
  as_root env "PATH=$PATH" DOCKYARD_HOME="$DOCKYARD_ROOT" "$DOCKYARD_VENV/bin/dockyard" status -i "$inventory"
  phase_done

  log "this server runs the platform (in $((SECONDS - started)) s); its inventory: $inventory"
  log "change it, then apply it as root with: .venv/bin/dockyard up -i $inventory"
  exit 0
fi

phase "Docker Engine on this machine"
control_machine_docker
phase_done

phase "lab image"
ensure_lab_image
phase_done

phase "lab hosts"
dockyard lab up --replicas "$replicas"
phase_done

phase "platform deployment (dockyard up)"
dockyard up
phase_done

phase "status"
dockyard status
phase_done

log "the lab is up (in $((SECONDS - started)) s); inventory in inventory/lab/. Use .venv/bin/dockyard (or . .venv/bin/activate)."
log "tear it down with: dockyard lab down"
