"""The by-hand floor: what an admin would type to get the same platform on
bare lab hosts, with no checks, no idempotence and no proof, all hosts at once.
It is the cold converge's other yardstick beside the apt floor, which stops at
the packages.

    app1  apt-get install (the role's packages); docker save on the control
          machine piped into app1's docker load; each sample service's context
          piped into `docker build -`; a network; the two containers with the
          lab's health checks; wait until both are healthy.
    db1   apt-get install (Debian creates and starts the cluster); listen on
          all addresses, pg_hba lines for the replicas and the api, restart;
          the replication and app roles, the app database, the synchronous
          replica setting.
    db2/3 apt-get install; once db1 is ready: stop, remove the new cluster's
          data, pg_basebackup -R with a slot, start; wait until db1 sees both
          streaming.

Every command runs through `docker exec` from this machine, one host per
thread; the only waits are the ones the work itself needs."""

from __future__ import annotations

import secrets
import subprocess
import threading
import time
from pathlib import Path

from benchlab import LAB, REPO, psql

DATA = "/var/lib/postgresql/15/main"
CONF = "/etc/postgresql/15/main"


def sh(host: str, command: str, stdin: bytes | None = None, user: str = "root") -> None:
    interactive = ["-i"] if stdin is not None else []
    argv = ["docker", "exec", *interactive, "-u", user, f"{LAB}-{host}", "sh", "-c", command]
    result = subprocess.run(argv, input=stdin, capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"{host}: {command[:80]}: {result.stderr.decode(errors='replace')[-800:]}")


def address(host: str) -> str:
    argv = ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", f"{LAB}-{host}"]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def install(host: str, packages: list[str]) -> None:
    sh(host, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq " + " ".join(packages))


def wait(predicate, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {what}")


def app_host(packages: list[str], image: str, db: dict[str, str], password: str) -> None:
    install("app1", packages)
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    assert save.stdout is not None
    load = subprocess.run(["docker", "exec", "-i", f"{LAB}-app1", "docker", "load", "-q"], stdin=save.stdout)
    if save.wait() != 0 or load.returncode != 0:
        raise RuntimeError("app1: docker save | docker load failed")
    for name in ("api", "gateway"):
        context = subprocess.run(["tar", "-C", str(REPO / "services" / name), "-c", "."], capture_output=True).stdout
        sh("app1", f"docker build -q -t dockyard/{name}:latest --build-arg BASE_IMAGE={image} -", stdin=context)
    health = "--health-interval 3s --health-timeout 3s --health-retries 5 --health-cmd"
    sh(
        "app1",
        "docker network create dockyard-apps >/dev/null"
        f" && docker run -d --name api --network dockyard-apps -e DB_PRIMARY_HOST={db['db1']}"
        f" -e DB_REPLICA_HOSTS={db['db2']},{db['db3']} -e DB_NAME=app -e DB_USER=app -e DB_PASSWORD={password}"
        f" {health} 'curl -fsS http://127.0.0.1:8000/health' dockyard/api:latest"
        " && docker run -d --name gateway --network dockyard-apps -p 8080:8080"
        f" {health} 'curl -fsS http://127.0.0.1:8080/health' dockyard/gateway:latest",
    )

    def healthy() -> bool:
        argv = [
            "docker",
            "exec",
            f"{LAB}-app1",
            "docker",
            "inspect",
            "-f",
            "{{.State.Health.Status}}",
            "api",
            "gateway",
        ]
        states = subprocess.run(argv, capture_output=True, text=True).stdout.split()
        return states == ["healthy", "healthy"]

    wait(healthy, "app1's containers to be healthy")


def primary(packages: list[str], db: dict[str, str], app: str, password: str, ready: threading.Event) -> None:
    install("db1", packages)
    hba = "\n".join(
        [f"host replication replicator {db[name]}/32 scram-sha-256" for name in ("db2", "db3")]
        + [f"host app app {app}/32 scram-sha-256"]
    )
    sh(
        "db1",
        f"pg_conftool 15 main set listen_addresses '*' && printf '%s\\n' '{hba}' >> {CONF}/pg_hba.conf"
        " && systemctl restart postgresql@15-main",
    )
    statements = [
        f"CREATE ROLE replicator REPLICATION LOGIN PASSWORD '{password}'",
        f"CREATE ROLE app LOGIN PASSWORD '{password}'",
        "CREATE DATABASE app OWNER app",
        "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (db2, db3)'",
        "SELECT pg_reload_conf()",
    ]
    sh("db1", "psql -X -q " + " ".join(f'-c "{statement}"' for statement in statements), user="postgres")
    ready.set()


def replica(host: str, packages: list[str], db: dict[str, str], password: str, ready: threading.Event) -> None:
    install(host, packages)
    if not ready.wait(300):
        raise RuntimeError(f"{host}: the primary never got ready")
    conninfo = f"host={db['db1']} user=replicator password={password} application_name={host}"
    sh(
        host,
        f"systemctl stop postgresql@15-main && rm -rf {DATA}"
        f" && su postgres -c \"pg_basebackup -d '{conninfo}' -D {DATA} -R -X stream -c fast -C -S {host}\""
        " && systemctl start postgresql@15-main",
    )


def streaming() -> list[str]:
    return psql(f"{LAB}-db1", "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'").split()


def by_hand_floor(packages: dict[str, list[str]], image: str) -> tuple[float, dict[str, float]]:
    """Wall time of the whole by-hand setup and each host's own time."""
    db = {name: address(name) for name in ("db1", "db2", "db3")}
    app = address("app1")
    password = secrets.token_hex(16)
    ready = threading.Event()
    times: dict[str, float] = {}
    errors: list[str] = []
    work = {
        "app1": lambda: app_host(packages["app1"], image, db, password),
        "db1": lambda: primary(packages["db1"], db, app, password, ready),
        "db2": lambda: replica("db2", packages["db2"], db, password, ready),
        "db3": lambda: replica("db3", packages["db3"], db, password, ready),
    }

    def timed(host: str) -> None:
        started = time.monotonic()
        try:
            work[host]()
            if host in ("db2", "db3"):
                wait(lambda: host in streaming(), f"{host} to stream")
        except Exception as error:  # reported below, each naming its host
            errors.append(str(error))
            ready.set()
        times[host] = round(time.monotonic() - started, 1)

    started = time.monotonic()
    threads = [threading.Thread(target=timed, args=(host,)) for host in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit("the by-hand floor failed: " + "; ".join(errors))
    return round(time.monotonic() - started, 1), times


if __name__ == "__main__":
    # On a bench lab left up with `stack.py --keep` after `dockyard lab down/up`.
    import json
    import sys

    print(json.dumps(by_hand_floor(json.loads(Path(sys.argv[1]).read_text()), sys.argv[2])))
