#!/usr/bin/env bash
# Dockyard's whole test suite, from a bare Debian/Ubuntu machine:
# installs what it needs (apt packages, the venv, dockerd, the lab image), then
# runs ruff, yamllint, ansible-lint, pytest and every Molecule scenario.
#
#   scripts/test.sh                     # everything
#   scripts/test.sh lint                # ruff, yamllint, ansible-lint
#   scripts/test.sh pytest [ARGS...]    # the pytest suite (ARGS go to pytest)
#   scripts/test.sh molecule [NAME...]  # Molecule scenarios (default: all)
#
# It ends with one line `N passed, N failed` counting lint tools, pytest tests and
# Molecule scenarios, and exits non-zero when anything failed.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$DOCKYARD_ROOT" || exit 1

what="${1:-all}"
[ $# -gt 0 ] && shift

setup() {
  set -e
  ensure_apt_packages debootstrap iptables git ca-certificates
  ensure_docker_engine_package
  ensure_dockerd
  ensure_venv test
  ensure_lab_image
  ensure_test_images
  set +e
}

passed=0
failed=0
failures=()
reports="$DOCKYARD_ROOT/.cache/test-reports"
mkdir -p "$reports"

step() {  # step NAME COMMAND...: one check, counted once
  local name="$1"; shift
  log "$name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); log "$name passed ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); log "$name FAILED ($((SECONDS - t0)) s)"
  fi
}

run_lint() {
  step "ruff" ruff check src tests scripts molecule roles playbooks
  step "ruff format" ruff format --check src tests scripts molecule roles playbooks
  step "yamllint" yamllint -s .
  step "ansible-lint" ansible-lint --profile production --offline
}

run_pytest() {
  log "pytest"
  local xml="$reports/pytest.xml" t0=$SECONDS
  pytest -p no:cacheprovider --junitxml="$xml" "$@"
  local rc=$?
  if [ -f "$xml" ]; then
    local counts
    counts=$(python3 - "$xml" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
total = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(total - bad - skipped, bad)
PY
)
    passed=$((passed + ${counts% *})); failed=$((failed + ${counts#* }))
    [ "${counts#* }" != 0 ] && failures+=("pytest (${counts#* } tests)")
  fi
  # rc 5 is "no tests collected": a suite that ran nothing must not pass.
  if [ $rc -ne 0 ] && { [ ! -f "$xml" ] || [ "${counts#* }" = 0 ]; }; then
    failed=$((failed + 1)); failures+=("pytest (exit $rc)")
  fi
  log "pytest finished ($((SECONDS - t0)) s)"
  rm -f "$xml"
}

run_molecule() {
  local scenarios=("$@")
  if [ ${#scenarios[@]} -eq 0 ]; then
    local f
    for f in molecule/*/molecule.yml; do scenarios+=("$(basename "$(dirname "$f")")"); done
  fi
  local s
  for s in "${scenarios[@]}"; do
    step "molecule test -s $s" molecule test -s "$s"
  done
}

start=$SECONDS
setup || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
case "$what" in
  all) run_lint; run_pytest; run_molecule ;;
  lint) run_lint ;;
  pytest) run_pytest "$@" ;;
  molecule) run_molecule "$@" ;;
  *) fail "unknown step '$what' (all, lint, pytest, molecule)" ;;
esac

echo
log "suite finished in $((SECONDS - start)) s"
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
