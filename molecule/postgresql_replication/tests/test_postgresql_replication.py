"""Testinfra checks of the postgresql_replication scenario: a real primary and
real streaming replicas in systemd hosts. The later tests change the cluster
(restart a replica, add one, try to clone over data) and re-run the converge
playbook for real with Molecule's inventory; they run in file order."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from support import psql, sh, wait_for

PRIMARY = "dockyard-molecule-db1"
REPLICAS = ["dockyard-molecule-db2", "dockyard-molecule-db3"]
SPARE = "dockyard-molecule-db4"
CLUSTER = [PRIMARY, *REPLICAS]
REPLICATION_PASSWORD = "molecule-replication-secret-4c1f9a77"
APP_PASSWORD = "molecule-app-secret-91d3e0b2"
REPORTER_PASSWORD = "molecule-reporter-secret-5e0a7c13"
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])


def data_directory(container: str) -> str:
    return psql(container, "SHOW data_directory")


def converge(*options: str, extra_inventory: dict | None = None) -> tuple[int, str]:
    """Run the scenario's converge playbook again, as Molecule would."""
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"]]
    if extra_inventory is not None:
        extra = EPHEMERAL / f"extra-{uuid.uuid4().hex[:6]}.json"
        extra.write_text(json.dumps(extra_inventory))
        argv += ["-i", str(extra)]
    argv += [*options, str(SCENARIO / "converge.yml")]
    env = dict(os.environ, ANSIBLE_CONFIG=str(EPHEMERAL / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_LOG_PATH", None)
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr


def changed_total(output: str) -> int:
    return sum(int(n) for n in re.findall(r" changed=(\d+)", output))


def streaming(application_name: str) -> bool:
    return (
        psql(PRIMARY, f"SELECT state FROM pg_stat_replication WHERE application_name = '{application_name}'")
        == "streaming"
    )


# --- The converged cluster ------------------------------------------------------


def test_replicas_stream_with_the_configured_quorum():
    rows = psql(PRIMARY, "SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY 1")
    assert rows.splitlines() == [f"{name}|streaming|quorum" for name in REPLICAS]
    assert psql(PRIMARY, "SHOW synchronous_standby_names") == 'ANY 1 ("dockyard-molecule-db2", "dockyard-molecule-db3")'


def test_each_replica_uses_its_own_active_slot():
    rows = psql(PRIMARY, "SELECT slot_name, active FROM pg_replication_slots ORDER BY 1")
    assert rows.splitlines() == ["dockyard_dockyard_molecule_db2|t", "dockyard_dockyard_molecule_db3|t"]
    assert psql(PRIMARY, "SHOW max_slot_wal_keep_size") == "2GB"


def test_a_row_written_on_the_primary_is_read_on_every_replica():
    token = uuid.uuid4().hex
    psql(PRIMARY, "CREATE TABLE IF NOT EXISTS verify_rows (token text PRIMARY KEY)")
    psql(PRIMARY, f"INSERT INTO verify_rows VALUES ('{token}')")
    for replica in REPLICAS:
        assert wait_for(lambda r=replica: psql(r, f"SELECT count(*) FROM verify_rows WHERE token = '{token}'") == "1")


def test_replicas_refuse_writes():
    for replica in REPLICAS:
        assert psql(replica, "SELECT pg_is_in_recovery()") == "t"
        result = sh(replica, 'psql -X -d postgres -c "CREATE TABLE refused (id int)"', user="postgres")
        assert result.returncode != 0
        assert "read-only transaction" in result.stderr


def test_replication_role_can_replicate_but_is_not_a_superuser():
    row = psql(PRIMARY, "SELECT rolsuper, rolreplication, rolcanlogin FROM pg_roles WHERE rolname = 'replicator'")
    assert row == "f|t|t"


def test_passwords_are_stored_as_scram():
    rows = psql(
        PRIMARY,
        "SELECT rolname, rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid"
        " WHERE rolname IN ('app', 'replicator') ORDER BY 1",
    )
    assert rows.splitlines() == ["app|t", "replicator|t"]


def test_the_application_user_logs_in_with_its_password_only():
    ok = sh(PRIMARY, f"PGPASSWORD={APP_PASSWORD} psql -X -h 127.0.0.1 -U app -d app -Atc 'SELECT current_user'")
    assert ok.returncode == 0 and ok.stdout.strip() == "app", ok.stderr
    wrong = sh(PRIMARY, "PGPASSWORD=wrong psql -X -h 127.0.0.1 -U app -d app -Atc 'SELECT 1'")
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr


def test_declared_users_get_their_attributes_databases_and_grants():
    assert (
        psql(PRIMARY, "SELECT rolcanlogin, rolcreatedb, rolsuper FROM pg_roles WHERE rolname = 'reporter'") == "t|t|f"
    )
    assert psql(PRIMARY, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'reports'") == "reporter"
    # CREATE is granted explicitly (PUBLIC has only CONNECT and TEMPORARY).
    acl = psql(PRIMARY, "SELECT datacl::text FROM pg_database WHERE datname = 'app'")
    assert "reporter=C/" in acl, acl
    logged_in = sh(
        PRIMARY, f"PGPASSWORD={REPORTER_PASSWORD} psql -X -h 127.0.0.1 -U reporter -d reports -Atc 'SELECT 1'"
    )
    assert logged_in.returncode == 0, logged_in.stderr


def test_no_network_line_trusts_anyone_and_every_address_is_an_address():
    for host in CLUSTER:
        rows = psql(
            host, "SELECT type, auth_method, coalesce(netmask, '') FROM pg_hba_file_rules WHERE type LIKE 'host%'"
        )
        for line in rows.splitlines():
            kind, method, netmask = line.split("|")
            # TLS (postgresql_tls): every network line but loopback is hostssl,
            # and a connection without TLS meets a reject.
            if kind == "hostnossl":
                assert method == "reject", f"{host}: {line}"
            else:
                assert method == "scram-sha-256", f"{host}: {line}"
                assert kind == "hostssl" or netmask in ("255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), (
                    f"{host}: {line}"
                )
            # A host name in the address field has no netmask.
            assert netmask, f"{host}: {line}"
        assert (
            psql(
                host,
                "SELECT count(*) FROM pg_hba_file_rules"
                " WHERE error IS NOT NULL OR (auth_method = 'trust' AND type <> 'local')",
            )
            == "0"
        )


def test_every_host_has_data_checksums():
    for host in CLUSTER:
        assert psql(host, "SHOW data_checksums") == "on"


def test_no_password_in_configuration_or_output():
    for host in CLUSTER:
        auto_conf = sh(host, f"cat {data_directory(host)}/postgresql.auto.conf").stdout
        assert REPLICATION_PASSWORD not in auto_conf
        assert "primary_conninfo" not in auto_conf
    for replica in REPLICAS:
        conninfo = psql(replica, "SHOW primary_conninfo")
        assert "passfile=" in conninfo and "password" not in conninfo
        stat = sh(replica, "stat -c '%U %a' /var/lib/postgresql/.dockyard-pgpass").stdout.strip()
        assert stat == "postgres 600"
    log = (EPHEMERAL / "ansible.log").read_text()
    assert "Write the server configuration" in log  # the converge output is there
    assert REPLICATION_PASSWORD not in log
    assert APP_PASSWORD not in log
    assert REPORTER_PASSWORD not in log


# --- Changes to the cluster, each followed by a real re-run --------------------


def test_a_restarted_replica_streams_again_and_is_not_cloned_again():
    replica = REPLICAS[0]
    marker = f"{data_directory(replica)}/dockyard-verify-marker"
    identifier = sh(
        replica, f"/usr/lib/postgresql/*/bin/pg_controldata {data_directory(replica)} | grep identifier"
    ).stdout
    assert sh(replica, f"echo kept > {marker}").returncode == 0
    subprocess.run(["docker", "stop", replica], check=True, capture_output=True, timeout=120)
    subprocess.run(["docker", "start", replica], check=True, capture_output=True, timeout=120)
    assert wait_for(lambda: sh(replica, "pg_isready -q").returncode == 0, timeout=60)

    rc, output = converge()
    assert rc == 0, output
    assert changed_total(output) == 0, output
    assert sh(replica, f"cat {marker}").stdout.strip() == "kept"
    data_dir = data_directory(replica)
    assert sh(replica, f"/usr/lib/postgresql/*/bin/pg_controldata {data_dir} | grep identifier").stdout == identifier
    assert wait_for(lambda: streaming(replica))


def test_a_new_replica_joins_a_cluster_that_holds_data():
    psql(
        PRIMARY,
        "CREATE TABLE IF NOT EXISTS bulk AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 50000) g",
    )
    before = {r: psql(r, "SELECT pg_postmaster_start_time()") for r in REPLICAS}
    for replica in REPLICAS:
        sh(replica, f"echo kept > {data_directory(replica)}/dockyard-verify-marker")

    rc, output = converge(extra_inventory={"all": {"children": {"postgresql_replicas": {"hosts": {SPARE: {}}}}}})
    assert rc == 0, output
    assert wait_for(lambda: streaming(SPARE))
    assert psql(SPARE, "SELECT count(*) FROM bulk") == "50000"
    assert psql(SPARE, "SHOW data_checksums") == "on"
    assert "dockyard-molecule-db4" in psql(PRIMARY, "SHOW synchronous_standby_names")
    # The replicas already there were neither cloned again nor restarted.
    for replica in REPLICAS:
        assert sh(replica, f"cat {data_directory(replica)}/dockyard-verify-marker").stdout.strip() == "kept"
        assert psql(replica, "SELECT pg_postmaster_start_time()") == before[replica]
        assert streaming(replica)


def test_a_replica_that_holds_other_data_is_never_wiped():
    # db4 stops being a standby: as far as the role can tell, it may hold
    # writes nobody else has.
    data_dir = data_directory(SPARE)
    assert sh(SPARE, f"echo kept > {data_dir}/dockyard-verify-marker").returncode == 0
    assert sh(SPARE, f"systemctl stop 'postgresql@*' && rm {data_dir}/standby.signal").returncode == 0

    with_spare = {"all": {"children": {"postgresql_replicas": {"hosts": {SPARE: {}}}}}}
    rc, output = converge(extra_inventory=with_spare)
    assert rc != 0
    assert "dockyard-molecule-db4: will not clone into" in output
    assert "it is a primary of this cluster" in output
    assert "postgresql_replica_force_reclone" in output
    assert sh(SPARE, f"cat {data_dir}/dockyard-verify-marker").stdout.strip() == "kept"

    # Forced, it is cloned again: the marker goes with the old data.
    rc, output = converge(
        "-e", "postgresql_replica_force_reclone=true", "--limit", f"{PRIMARY},{SPARE}", extra_inventory=with_spare
    )
    assert rc == 0, output
    assert sh(SPARE, f"test -e {data_dir}/dockyard-verify-marker").returncode != 0
    assert wait_for(lambda: streaming(SPARE))


WITH_SPARE = {"all": {"children": {"postgresql_replicas": {"hosts": {SPARE: {}}}}}}


def test_a_replica_without_psycopg2_keeps_its_data():
    # Without psycopg2 the role once skipped pg_controldata, took the unknown
    # identity for "nothing here" and re-cloned the replica.
    data_dir = data_directory(SPARE)
    assert sh(SPARE, f"echo kept > {data_dir}/dockyard-verify-marker").returncode == 0
    assert sh(SPARE, "apt-get remove -y -qq python3-psycopg2").returncode == 0

    rc, output = converge(extra_inventory=WITH_SPARE)
    assert rc == 0, output
    assert sh(SPARE, f"cat {data_dir}/dockyard-verify-marker").stdout.strip() == "kept"
    assert sh(SPARE, "dpkg-query -W -f='${Status}' python3-psycopg2").stdout == "install ok installed"
    assert wait_for(lambda: streaming(SPARE))


def test_a_data_directory_whose_identity_cannot_be_read_is_never_wiped():
    data_dir = data_directory(SPARE)
    assert sh(SPARE, f"echo kept > {data_dir}/dockyard-verify-marker").returncode == 0
    stop = f"systemctl stop 'postgresql@*' && mv {data_dir}/global/pg_control {data_dir}/global/pg_control.aside"
    assert sh(SPARE, stop).returncode == 0

    rc, output = converge(extra_inventory=WITH_SPARE)
    assert rc != 0
    assert "dockyard-molecule-db4: will not clone into" in output
    assert "its cluster identity cannot be read" in output
    assert sh(SPARE, f"cat {data_dir}/dockyard-verify-marker").stdout.strip() == "kept"

    # Put back, the same run keeps it and it streams again.
    assert sh(SPARE, f"mv {data_dir}/global/pg_control.aside {data_dir}/global/pg_control").returncode == 0
    rc, output = converge(extra_inventory=WITH_SPARE)
    assert rc == 0, output
    assert sh(SPARE, f"cat {data_dir}/dockyard-verify-marker").stdout.strip() == "kept"
    assert wait_for(lambda: streaming(SPARE))


def test_configuration_written_by_a_cut_short_run_is_applied_by_the_next():
    # What a run stopped right after "Write the server configuration" leaves:
    # the files as the role renders them, servers that never reloaded. The
    # next run finds nothing to write and must still apply them.
    work_mem = {host: psql(host, "SHOW work_mem") for host in CLUSTER}
    assert set(work_mem.values()) == {"4MB"}
    version = sh(PRIMARY, "ls /etc/postgresql").stdout.split()[0]
    conf = f"/etc/postgresql/{version}/main/conf.d/50-dockyard.conf"
    written = {}
    for host in CLUSTER:
        assert sh(host, f"printf \"\\n# postgresql_settings\\nwork_mem = '16MB'\\n\" >> {conf}").returncode == 0
        written[host] = sh(host, f"stat -c %Y:%s {conf}").stdout
    assert {psql(host, "SHOW work_mem") for host in CLUSTER} == {"4MB"}

    rc, output = converge("-e", '{"postgresql_settings": {"work_mem": "16MB"}}')
    assert rc == 0, output
    for host in CLUSTER:
        assert sh(host, f"stat -c %Y:%s {conf}").stdout == written[host], "the role rewrote the file"
        assert psql(host, "SHOW work_mem") == "16MB"
    rc, output = converge("-e", '{"postgresql_settings": {"work_mem": "16MB"}}')
    assert rc == 0, output
    assert changed_total(output) == 0, output

    rc, output = converge()
    assert rc == 0, output
    assert {psql(host, "SHOW work_mem") for host in CLUSTER} == {"4MB"}


def replication_over_tls() -> list[str]:
    """Whether each replica's stream from the primary is TLS ('t' or 'f')."""
    rows = psql(PRIMARY, "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) ORDER BY 1")
    return rows.splitlines()


def tls_everywhere() -> bool:
    # db4, added by the tests above, may still stream too.
    found = replication_over_tls()
    return len(found) >= len(REPLICAS) and set(found) == {"t"}


def test_every_replica_streams_over_verified_tls():
    assert tls_everywhere(), replication_over_tls()
    for replica in REPLICAS:
        conninfo = psql(replica, "SHOW primary_conninfo")
        assert "sslmode=verify-full" in conninfo and "channel_binding=require" in conninfo, conninfo
        assert REPLICATION_PASSWORD not in conninfo


def test_a_cluster_without_tls_switches_to_it_without_a_clone_or_a_restart():
    # What the previous version left (sslmode=prefer, host lines), then the
    # next run with TLS: reloads only, the data directories kept.
    rc, output = converge("-e", '{"postgresql_tls": false}')
    assert rc == 0, output
    assert all(psql(host, "SELECT count(*) FROM pg_hba_file_rules WHERE type = 'hostssl'") == "0" for host in CLUSTER)
    assert wait_for(lambda: all(streaming(r) for r in REPLICAS))
    started = {host: psql(host, "SELECT pg_postmaster_start_time()") for host in CLUSTER}
    for replica in REPLICAS:
        assert sh(replica, f"echo before-tls > {data_directory(replica)}/dockyard-verify-marker").returncode == 0

    rc, output = converge()
    assert rc == 0, output
    assert wait_for(tls_everywhere, timeout=30), replication_over_tls()
    for host in CLUSTER:
        assert psql(host, "SELECT pg_postmaster_start_time()") == started[host], f"{host} restarted"
    for replica in REPLICAS:
        kept = sh(replica, f"cat {data_directory(replica)}/dockyard-verify-marker").stdout.strip()
        assert kept == "before-tls", f"{replica} was cloned again"
    rc, output = converge()
    assert rc == 0, output
    assert changed_total(output) == 0, output


def server_certificate(host: str) -> str:
    return sh(host, "cat /etc/dockyard/postgresql-tls/server.crt").stdout


def test_a_certificate_near_its_end_is_renewed_by_a_reload():
    # Renewing 398 days ahead sees every (397-day) certificate as expiring:
    # all are issued again, for 400 days, and loaded without a restart.
    renew = '{"postgresql_tls_renew_days": 398, "postgresql_tls_certificate_days": 400}'
    before = {host: server_certificate(host) for host in CLUSTER}
    started = {host: psql(host, "SELECT pg_postmaster_start_time()") for host in CLUSTER}
    rc, output = converge("-e", renew)
    assert rc == 0, output
    for host in CLUSTER:
        assert server_certificate(host) != before[host], f"{host} kept its certificate"
        assert psql(host, "SELECT pg_postmaster_start_time()") == started[host], f"{host} restarted"
    assert wait_for(tls_everywhere, timeout=30), replication_over_tls()
    # Renewed, they are far from their end: the next run leaves them alone.
    rc, output = converge("-e", renew)
    assert rc == 0, output
    assert changed_total(output) == 0, output


def own_ca() -> tuple[str, str]:
    """A CA of the user's own (PEM certificate and key), made here."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Molecule's own CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key_pem


def test_a_ca_of_your_own_signs_every_host_and_replication_goes_on():
    pem, key_pem = own_ca()
    variables = EPHEMERAL / "own-ca.json"
    variables.write_text(json.dumps({"postgresql_tls_ca_cert": pem, "postgresql_tls_ca_key": key_pem}))
    rc, output = converge("-e", f"@{variables}")
    assert rc == 0, output
    assert key_pem.splitlines()[1] not in output  # the key is never shown
    for host in CLUSTER:
        assert sh(host, "cat /etc/dockyard/postgresql-tls/ca.crt").stdout.strip() == pem.strip()
    # Each replica connects again (the primary ends its WAL senders; a WAL
    # receiver cannot be ended from SQL) and verifies the primary against the
    # new CA: the primary's certificate was issued again by it.
    senders = "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_replication"
    before = psql(PRIMARY, senders)
    psql(PRIMARY, "SELECT pg_terminate_backend(pid) FROM pg_stat_replication")

    def reconnected() -> bool:
        now = psql(PRIMARY, senders)
        return bool(now) and not set(now.split(",")) & set(before.split(",")) and all(streaming(r) for r in REPLICAS)

    assert wait_for(reconnected, timeout=60), "the replicas did not stream again with the new CA"
    assert wait_for(tls_everywhere, timeout=60), replication_over_tls()
    assert all(streaming(r) for r in REPLICAS)
    rc, output = converge("-e", f"@{variables}")
    assert rc == 0, output
    assert changed_total(output) == 0, output
    # Back to Dockyard's own CA for the tests after this one.
    rc, output = converge()
    assert rc == 0, output
    assert wait_for(tls_everywhere, timeout=60), replication_over_tls()


@pytest.mark.parametrize("replica", REPLICAS)
def test_the_first_replicas_still_stream(replica):
    assert streaming(replica)
