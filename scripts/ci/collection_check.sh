#!/usr/bin/env bash
# The repository as the collection dockyard.platform: builds the artifact,
# installs it into a scratch collections path (as a user would, without
# Galaxy: the dependencies come with the ansible bundle), checks Ansible finds
# its roles, modules and filters there, and runs ansible-test sanity on the
# installed copy. tests/integration/test_collection.py runs its role on a host.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Not the repository's ansible.cfg: its collections path holds the repository
# itself (.collections), where ansible-galaxy would find it installed already.
printf '[defaults]\n' > "$work/ansible.cfg"
export ANSIBLE_CONFIG="$work/ansible.cfg"
cd "$work"

ansible-galaxy collection build --force --output-path "$work/build" "$root" >/dev/null
ansible-galaxy collection install --no-deps --offline -p "$work/collections" "$work"/build/dockyard-platform-*.tar.gz >/dev/null
installed="$work/collections/ansible_collections/dockyard/platform"
for role in docker_engine microservices postgresql_replication inventory_checks; do
  [ -f "$installed/roles/$role/tasks/main.yml" ] || { echo "the artifact lacks the role $role" >&2; exit 1; }
done
ANSIBLE_COLLECTIONS_PATH="$work/collections" ansible-doc -t module dockyard.platform.postgresql_replication_probe >/dev/null

# ansible-test builds a venv per sanity test and fetches pip's get-pip.py from
# ci-files.testing.ansible.com, which a machine that installs from a package
# mirror cannot reach: it gets an offline stand-in (scripts/ci/get_pip_offline.py).
pip_version="$(python3 -c 'import re, pathlib, ansible_test; p = pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py"; print(re.search(r"pip=.(\d+\.\d+)", p.read_text()).group(1))')"
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/scripts/ci/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
cd "$installed"
# shellcheck has no shell scripts to read in the artifact (and is no Python
# package ansible-test could install).
ansible-test sanity --python "$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')" \
  --skip-test shellcheck --color no
