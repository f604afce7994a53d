# shellcheck shell=bash
# Helpers shared by bootstrap.sh and test.sh: set up the control machine the same
# way for users and for CI. Source it; it defines functions only.

DOCKYARD_ROOT="${DOCKYARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
DOCKYARD_VENV="${DOCKYARD_VENV:-$DOCKYARD_ROOT/.venv}"
DOCKYARD_PYTHON="${DOCKYARD_PYTHON:-python3}"

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Install the Debian/Ubuntu packages named, skipping those already present, with
# one `apt-get update` at most.
ensure_apt_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || fail "missing packages (${missing[*]}) and no apt-get: install them by hand"
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A Docker Engine the lab and Molecule can use. Where none is installed, the
# distribution's docker.io is the fallback for CI and bare machines; bootstrap.sh
# prefers Dockyard's own docker_engine role once Ansible is available.
ensure_docker_engine_package() {
  command -v dockerd >/dev/null && return 0
  ensure_apt_packages docker.io
}

# Start dockerd when nothing answers on its socket: through systemd where it runs,
# by hand where there is no service manager (CI containers, chroots).
ensure_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    as_root systemctl start docker || true
  fi
  if ! docker info >/dev/null 2>&1; then
    command -v dockerd >/dev/null || fail "dockerd is not installed"
    log "starting dockerd in the background (log: /var/log/dockyard-dockerd.log)"
    as_root sh -c 'nohup dockerd >/var/log/dockyard-dockerd.log 2>&1 &'
  fi
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  fail "dockerd did not answer within 60 s; see /var/log/dockyard-dockerd.log"
}

# The project's virtualenv with Dockyard and its pinned Ansible; reinstalled only
# when pyproject.toml changed since the last install.
ensure_venv() {
  local extras="${1:-}" stamp want
  stamp="$DOCKYARD_VENV/.dockyard-installed"
  want="$(sha256sum "$DOCKYARD_ROOT/pyproject.toml" | cut -c1-16)${extras}"
  if [ ! -x "$DOCKYARD_VENV/bin/python" ]; then
    log "creating the virtualenv in $DOCKYARD_VENV"
    "$DOCKYARD_PYTHON" -m venv "$DOCKYARD_VENV" || fail "could not create a venv: apt-get install python3-venv"
  fi
  local have
  have="$(cat "$stamp" 2>/dev/null || true)"
  # A venv with extras (the tests') serves a run that asks for none.
  if [ "$have" != "$want" ] && { [ -n "$extras" ] || [ "${have:0:16}" != "$want" ]; }; then
    log "installing Dockyard${extras:+ [$extras]} and its pinned Ansible into the virtualenv"
    "$DOCKYARD_VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip >/dev/null
    "$DOCKYARD_VENV/bin/pip" install -q --disable-pip-version-check -e "$DOCKYARD_ROOT${extras:+[$extras]}"
    echo "$want" > "$stamp"
  fi
  export PATH="$DOCKYARD_VENV/bin:$PATH"
}

# ensure_lab_image [RELEASE]: this machine's release (dockyard-lab:latest), or
# another Debian release of the same mirror (dockyard-lab:RELEASE).
ensure_lab_image() {
  "$DOCKYARD_ROOT/scripts/build-lab-image.sh" ${1:+--release "$1"}
}

# The single-role Molecule scenarios run on the minimal host (python3, systemd,
# sudo, iproute2 and nothing else), so a role that relies on the lab image's
# extras fails in CI as it would on a bare server.
ensure_minimal_image() {
  "$DOCKYARD_ROOT/scripts/build-lab-image.sh" --minimal
}

# Tiny images for the tests (busybox, about 1 MB): no registry is needed.
# dockyard-test/busybox:latest serves /www on port 80 with its httpd;
# :broken runs but never serves, so its health check fails (rollback tests).
ensure_test_images() {
  if docker image inspect dockyard-test/busybox:latest dockyard-test/busybox:broken >/dev/null 2>&1; then
    return 0
  fi
  ensure_apt_packages busybox-static
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/www" "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  ln -s busybox "$root/bin/sh"
  echo "dockyard-ok" > "$root/www/index.html"
  tar -C "$root" -c . | docker import \
    -c 'CMD ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"]' - dockyard-test/busybox:latest >/dev/null
  tar -C "$root" -c . | docker import \
    -c 'CMD ["/bin/busybox", "sleep", "86400"]' - dockyard-test/busybox:broken >/dev/null
  rm -rf "$root"
}
