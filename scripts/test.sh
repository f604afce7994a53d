#!/usr/bin/env bash
# Dockyard's whole test suite, from a bare Debian/Ubuntu machine:
# installs what it needs (apt packages, the venv, dockerd, the lab image), then
# runs ruff, yamllint, ansible-lint, pytest and every Molecule scenario.
#
#   scripts/test.sh                     # everything
#   scripts/test.sh lint                # ruff, yamllint, ansible-lint
#   scripts/test.sh unit [ARGS...]      # tests/unit alone: no Docker, seconds
#   scripts/test.sh pytest [ARGS...]    # the pytest suite (ARGS go to pytest)
#   scripts/test.sh collection          # build, install and ansible-test sanity
#   scripts/test.sh molecule [NAME...]  # Molecule scenarios (default: all); NAME@trixie
#                                       # runs a lab-image scenario on Debian 13
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
  # python3-venv: ensurepip, which ansible-test's sanity venvs bootstrap pip from
  # (scripts/ci/get_pip_offline.py).
  ensure_apt_packages debootstrap iptables git ca-certificates openssh-client python3-venv
  ensure_docker_engine_package
  ensure_dockerd
  ensure_venv test
  ensure_lab_image
  ensure_minimal_image
  ensure_test_images
  set +e
}

passed=0
failed=0
failures=()
reports="$DOCKYARD_ROOT/.cache/test-reports"
mkdir -p "$reports"

# Each check's output is kept in $reports/<check>.log; the lines that say why a
# check failed are repeated at the very end, where a CI log's tail shows them
# (a failed Molecule scenario otherwise ends with its destroy playbook).
failure_logs=()

log_file_for() {  # log_file_for NAME: where a check's output is kept
  local slug
  slug=$(printf '%s' "$1" | tr -cs 'A-Za-z0-9_.' '-')
  printf '%s/%s.log\n' "$reports" "${slug%-}"
}

step() {  # step NAME COMMAND...: one check, counted once
  local name="$1"; shift
  local output rc t0=$SECONDS
  output=$(log_file_for "$name")
  log "$name"
  "$@" 2>&1 | tee "$output"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); log "$name passed ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); failure_logs+=("$output")
    log "$name FAILED ($((SECONDS - t0)) s)"
  fi
}

why_it_failed() {  # why_it_failed LOG: the telling lines of a failed check's output
  # Ansible's errors with the lines after them (Molecule wraps long lines),
  # then the assertions, pytest's one-line summary and Molecule's verdict;
  # colours stripped, long lines cut, each kind capped so the digest stays short.
  local plain
  plain=$(sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -v 'RETRYING')
  grep -E -A4 --no-group-separator '\[ERROR\]|fatal: \[|ERROR!' <<<"$plain" | cut -c1-300 | tail -n 30
  grep -E '^[[:space:]│]*E +(assert|AssertionError|[A-Za-z]+Error)' <<<"$plain" | cut -c1-300 | tail -n 10
  grep -E -A2 --no-group-separator '^[[:space:]│]*(FAILED|ERROR)( |$)' <<<"$plain" | cut -c1-300 | tail -n 12
  # Molecule's verdict (an idempotence failure lists the tasks as "* [host] => ...").
  grep -E 'CRITICAL|^[[:space:]]*\* \[' <<<"$plain" | cut -c1-300 | tail -n 8
}

run_lint() {
  step "ruff" ruff check src tests scripts molecule plugins playbooks services
  step "ruff format" ruff format --check src tests scripts molecule plugins playbooks services
  step "yamllint" yamllint -s .
  step "ansible-lint" ansible-lint --profile production --offline
}

run_pytest() {
  log "pytest"
  local xml="$reports/pytest.xml" t0=$SECONDS
  local output
  output=$(log_file_for pytest)
  pytest -p no:cacheprovider --junitxml="$xml" "$@" 2>&1 | tee "$output"
  local rc=${PIPESTATUS[0]}
  if [ -f "$xml" ]; then
    local counts
    counts=$(python3 "$DOCKYARD_ROOT/scripts/ci/junit_counts.py" "$xml")
    passed=$((passed + ${counts% *})); failed=$((failed + ${counts#* }))
    [ "${counts#* }" != 0 ] && failures+=("pytest (${counts#* } tests)") && failure_logs+=("$output")
  fi
  # rc 5 is "no tests collected": a suite that ran nothing must not pass.
  if [ $rc -ne 0 ] && { [ ! -f "$xml" ] || [ "${counts#* }" = 0 ]; }; then
    failed=$((failed + 1)); failures+=("pytest (exit $rc)"); failure_logs+=("$output")
  fi
  log "pytest finished ($((SECONDS - t0)) s)"
  rm -f "$xml"
}

run_molecule() {
  local scenarios=("$@")
  if [ ${#scenarios[@]} -eq 0 ]; then
    local f
    for f in molecule/*/molecule.yml; do scenarios+=("$(basename "$(dirname "$f")")"); done
    # The whole stack again on Debian 13; the single-role scenarios run on one
    # release only (their version-dependent parts are the whole stack's too).
    scenarios+=(default@trixie)
  fi
  local s
  for s in "${scenarios[@]}"; do
    case "$s" in
      *@*) run_molecule_on_release "${s%@*}" "${s#*@}" ;;
      *) step "molecule test -s $s" molecule test -s "$s" ;;
    esac
  done
}

# A scenario on another Debian release: its lab and minimal images (built
# unless they exist), and the docker.io version the docker_engine scenario pins.
run_molecule_on_release() {
  local scenario="$1" release="$2" docker_version
  case "$release" in
    trixie) docker_version=26.1.5 ;;
    *) fail "no Molecule settings for release '$release' (trixie)" ;;
  esac
  ensure_lab_image "$release"
  # Scenarios without platforms of their own run on the minimal host.
  if ! grep -q '^platforms:' "molecule/$scenario/molecule.yml" \
     || grep -q DOCKYARD_MINIMAL_IMAGE "molecule/$scenario/molecule.yml"; then
    "$DOCKYARD_ROOT/scripts/build-lab-image.sh" --minimal --release "$release"
  fi
  step "molecule test -s $scenario on $release" \
    env DOCKYARD_LAB_IMAGE="dockyard-lab:$release" DOCKYARD_MINIMAL_IMAGE="dockyard-minimal:$release" \
    DOCKYARD_TEST_DOCKER_VERSION="$docker_version" molecule test -s "$scenario"
}

run_collection() {
  step "collection build and ansible-test sanity" "$DOCKYARD_ROOT/scripts/ci/collection_check.sh"
}

start=$SECONDS
# The unit tests need the venv only: no Docker, no images.
if [ "$what" = unit ]; then
  ensure_venv test || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
else
  setup || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
fi
case "$what" in
  all) run_lint; run_collection; run_pytest; run_molecule ;;
  lint) run_lint ;;
  unit) run_pytest tests/unit "$@" ;;
  pytest) run_pytest "$@" ;;
  collection) run_collection ;;
  molecule) run_molecule "$@" ;;
  *) fail "unknown step '$what' (all, lint, unit, pytest, collection, molecule)" ;;
esac

echo
log "suite finished in $((SECONDS - start)) s"
for f in "${failure_logs[@]}"; do
  echo
  echo "--- why it failed, from $f ---"
  why_it_failed "$f"
done
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
