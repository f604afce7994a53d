#!/usr/bin/python
"""The primary's objects in one round trip: the replication role, its pg_rewind
grants, one slot per replica, the applications' users, databases and grants.
Five modules did this before, each a connection and a Python start on the
host, on every run; an unchanged primary now costs one."""

from __future__ import annotations

DOCUMENTATION = r"""
module: postgresql_replication_objects
short_description: Keep a PostgreSQL primary's roles, slots, databases and grants as declared
description:
  - Reads what exists first and works out every change; a declaration that
    cannot be met (a database whose encoding differs, a grant on a database
    that does not exist) fails before any statement runs.
  - Roles get the listed attributes (unlisted ones are left as they are) and
    their password when the stored verifier does not match it (scram-sha-256
    or md5, whichever the server stores) or uses another method than the
    server's password_encryption. The replication role always gets
    LOGIN, REPLICATION, NOSUPERUSER, NOCREATEDB and NOCREATEROLE.
  - Every name in I(slots) exists as a physical slot; inactive physical slots
    whose name starts with I(slot_prefix) and is not listed are dropped.
  - Databases are created from template0; an existing one gets its owner
    changed when it differs. Grants only add privileges.
  - Connects as the user it runs as (become postgres) over the local socket.
  - Needs psycopg2 on the host.
author: Dockyard developers (!UNKNOWN)
options:
  port:
    description: Port of the cluster.
    type: int
    default: 5432
  replication_user:
    description: Name of the replication role.
    type: str
    required: true
  replication_password:
    description: Its password.
    type: str
    required: true
  rewind_functions:
    description: Functions (with argument types) the replication role may execute, for pg_rewind.
    type: list
    elements: str
    default: []
  slots:
    description: Physical slots to keep.
    type: list
    elements: str
    default: []
  slot_prefix:
    description: Prefix of the slots this role manages; empty to drop none.
    type: str
    default: ""
  users:
    description: Login roles for the applications.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the role.
        type: str
        required: true
      password:
        description: Its password.
        type: str
        required: true
      role_attr_flags:
        description:
          - Comma-separated role attributes, each of SUPERUSER, CREATEROLE,
            CREATEDB, INHERIT, LOGIN, REPLICATION, BYPASSRLS or one of them
            with NO before it.
        type: str
        default: LOGIN
      grants:
        description:
          - Database privileges to grant the role, each a mapping with
            C(database) (a database that exists or is in I(databases)) and
            C(privileges) (comma-separated ALL, CONNECT, CREATE, TEMPORARY or
            TEMP; ALL when left out).
        type: list
        elements: dict
        default: []
  databases:
    description: Databases to create.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the database.
        type: str
        required: true
      owner:
        description: Its owner; left as it is when not given.
        type: str
      encoding:
        description: Its encoding (an existing database's encoding cannot change).
        type: str
        default: UTF8
"""

EXAMPLES = r"""
- name: Keep the primary's roles, slots, databases and grants
  dockyard.platform.postgresql_replication_objects:
    port: 5432
    replication_user: replicator
    replication_password: "{{ vault_replication_password }}"
    rewind_functions:
      - pg_catalog.pg_ls_dir(text, boolean, boolean)
      - pg_catalog.pg_stat_file(text, boolean)
    slots: [dockyard_db2, dockyard_db3]
    slot_prefix: dockyard_
    users:
      - name: app
        password: "{{ vault_app_db_password }}"
        grants:
          - database: reports
            privileges: CONNECT
    databases:
      - name: reports
        owner: app
  become: true
  become_user: postgres
"""

RETURN = r"""
changes:
  description: What was done (or would be, in check mode).
  type: list
  elements: str
  returned: always
  sample: [created role app, created database reports]
"""

import base64
import hashlib
import hmac
import unicodedata

from ansible.module_utils.basic import AnsibleModule

ROLE_FLAGS = {
    "SUPERUSER": "rolsuper",
    "CREATEROLE": "rolcreaterole",
    "CREATEDB": "rolcreatedb",
    "INHERIT": "rolinherit",
    "LOGIN": "rolcanlogin",
    "REPLICATION": "rolreplication",
    "BYPASSRLS": "rolbypassrls",
}
DATABASE_PRIVILEGES = {"CONNECT", "CREATE", "TEMPORARY"}
REPLICATION_FLAGS = "LOGIN,REPLICATION,NOSUPERUSER,NOCREATEDB,NOCREATEROLE"


class Impossible(Exception):
    """A declaration the cluster cannot be brought to; nothing was changed."""


def parse_flags(text: str, role: str) -> dict[str, bool]:
    wanted: dict[str, bool] = {}
    for raw in (part.strip().upper() for part in text.split(",")):
        if not raw:
            continue
        name = raw[2:] if raw.startswith("NO") and raw[2:] in ROLE_FLAGS else raw
        if name not in ROLE_FLAGS:
            raise Impossible(
                f"role {role}: unknown role_attr_flags entry {raw!r}; use {', '.join(ROLE_FLAGS)} or NO before one."
            )
        wanted[name] = name == raw
    return wanted


def parse_privileges(text: str, where: str) -> set[str]:
    names: set[str] = set()
    for raw in (part.strip().upper() for part in str(text).split(",")):
        if raw in ("ALL", "ALL PRIVILEGES"):
            names |= DATABASE_PRIVILEGES
        elif raw == "TEMP":
            names.add("TEMPORARY")
        elif raw in DATABASE_PRIVILEGES:
            names.add(raw)
        elif raw:
            raise Impossible(f"{where}: unknown database privilege {raw!r}; use ALL, CONNECT, CREATE or TEMPORARY.")
    return names


def _scram_matches(stored: str, password: str) -> bool:
    try:
        method, rest = stored.split("$", 1)
        iterations_salt, keys = rest.split("$", 1)
        iterations, salt = iterations_salt.split(":", 1)
        stored_key, server_key = keys.split(":", 1)
        salt_bytes = base64.b64decode(salt)
    except ValueError:
        return False
    if method != "SCRAM-SHA-256":
        return False
    # The server normalises with SASLprep; NFKC is that for any password an
    # inventory holds in practice, and a miss only means setting it again.
    for candidate in dict.fromkeys([password, unicodedata.normalize("NFKC", password)]):
        salted = hashlib.pbkdf2_hmac("sha256", candidate.encode(), salt_bytes, int(iterations))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        computed_stored = base64.b64encode(hashlib.sha256(client_key).digest()).decode()
        computed_server = base64.b64encode(hmac.new(salted, b"Server Key", hashlib.sha256).digest()).decode()
        if hmac.compare_digest(computed_stored, stored_key) and hmac.compare_digest(computed_server, server_key):
            return True
    return False


def password_current(stored: str | None, password: str, role: str, encryption: str) -> bool:
    """Whether the stored verifier is the password's, in the server's method."""
    if not stored:
        return False
    if stored.startswith("SCRAM-SHA-256$"):
        return encryption == "scram-sha-256" and _scram_matches(stored, password)
    if stored.startswith("md5"):
        expected = "md5" + hashlib.md5((password + role).encode()).hexdigest()  # PostgreSQL's md5 verifier
        return encryption == "md5" and hmac.compare_digest(stored, expected)
    return False


class Primary:
    def __init__(self, module: AnsibleModule, connection) -> None:
        self.module = module
        self.connection = connection
        self.statements: list[tuple[str, object, tuple]] = []
        self.changes: list[str] = []

    def query(self, text, args=()):
        with self.connection.cursor() as cursor:
            cursor.execute(text, args)
            return cursor.fetchall()

    def plan(self, change: str, statement, args: tuple = ()) -> None:
        self.changes.append(change)
        self.statements.append((change, statement, args))

    def plan_role(self, sql, name: str, password: str, flags: str, encryption: str) -> None:
        wanted = parse_flags(flags, name)
        rows = self.query(
            "SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolinherit, r.rolcanlogin, r.rolreplication,"
            " r.rolbypassrls, a.rolpassword FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid WHERE r.rolname = %s",
            (name,),
        )
        role = sql.Identifier(name)
        if not rows:
            words = " ".join(flag if on else "NO" + flag for flag, on in wanted.items())
            self.plan(
                f"created role {name}", sql.SQL(f"CREATE ROLE {{}} WITH {words} PASSWORD %s").format(role), (password,)
            )
            return
        current = {flag: rows[0][index] for index, flag in enumerate(ROLE_FLAGS)}
        differing = {flag: on for flag, on in wanted.items() if current[flag] != on}
        if differing:
            words = " ".join(flag if on else "NO" + flag for flag, on in differing.items())
            self.plan(f"set {words} on role {name}", sql.SQL(f"ALTER ROLE {{}} WITH {words}").format(role))
        if not password_current(rows[0][7], password, name, encryption):
            self.plan(
                f"set the password of role {name}", sql.SQL("ALTER ROLE {} WITH PASSWORD %s").format(role), (password,)
            )

    def plan_rewind_grants(self, sql, role: str, functions: list[str], role_exists: bool) -> None:
        for function in functions:
            granted = (
                role_exists and self.query("SELECT has_function_privilege(%s, %s, 'EXECUTE')", (role, function))[0][0]
            )
            if not granted:
                self.plan(
                    f"granted EXECUTE on {function} to {role}",
                    sql.SQL(f"GRANT EXECUTE ON FUNCTION {function} TO {{}}").format(sql.Identifier(role)),
                )

    def plan_slots(self, wanted: list[str], prefix: str) -> None:
        existing = dict(self.query("SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'physical'"))
        for name in wanted:
            if name not in existing:
                self.plan(f"created slot {name}", "SELECT pg_create_physical_replication_slot(%s)", (name,))
        for name, active in sorted(existing.items()):
            if prefix and name.startswith(prefix) and name not in wanted and not active:
                self.plan(f"dropped slot {name}", "SELECT pg_drop_replication_slot(%s)", (name,))

    def plan_databases(self, sql, databases: list[dict]) -> set[str]:
        rows = self.query(
            "SELECT d.datname, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding) FROM pg_database d"
        )
        existing = {name: (owner, encoding) for name, owner, encoding in rows}
        for database in databases:
            name = database["name"]
            owner = database.get("owner")
            encoding = str(database.get("encoding") or "UTF8")
            if name not in existing:
                statement = sql.SQL("CREATE DATABASE {} ENCODING %s TEMPLATE template0").format(sql.Identifier(name))
                if owner:
                    statement = sql.SQL("{} OWNER {}").format(statement, sql.Identifier(owner))
                self.plan(f"created database {name}", statement, (encoding,))
                continue
            have_owner, have_encoding = existing[name]
            if have_encoding.replace("-", "").upper() != encoding.replace("-", "").upper():
                raise Impossible(
                    f"database {name} exists with encoding {have_encoding}, postgresql_databases asks for"
                    f" {encoding}: an encoding cannot change. Set encoding: {have_encoding} for it, or move the"
                    " data to a new database."
                )
            if owner and have_owner != owner:
                self.plan(
                    f"made {owner} the owner of database {name}",
                    sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(name), sql.Identifier(owner)),
                )
        return set(existing)

    def plan_grants(self, sql, users: list[dict], existing: set[str], planned: set[str], new_roles: set[str]) -> None:
        """existing: databases there now; planned: those this run creates."""
        for user in users:
            for grant in user.get("grants") or []:
                database = grant.get("database")
                where = f"postgresql_users {user['name']}, grant on {database}"
                if database not in existing | planned:
                    raise Impossible(f"{where}: there is no database {database}; add it to postgresql_databases.")
                wanted = parse_privileges(grant.get("privileges") or "ALL", where)
                fresh = user["name"] in new_roles or database not in existing
                missing = sorted(
                    privilege
                    for privilege in wanted
                    if fresh
                    or not self.query("SELECT has_database_privilege(%s, %s, %s)", (user["name"], database, privilege))[
                        0
                    ][0]
                )
                if missing:
                    self.plan(
                        f"granted {', '.join(missing)} on database {database} to {user['name']}",
                        sql.SQL(f"GRANT {', '.join(missing)} ON DATABASE {{}} TO {{}}").format(
                            sql.Identifier(database), sql.Identifier(user["name"])
                        ),
                    )

    def apply(self) -> None:
        for change, statement, args in self.statements:
            try:
                with self.connection.cursor() as cursor:
                    cursor.execute(statement, args)
            except Exception as error:  # psycopg2.Error; the message names the statement
                done = self.changes[: self.changes.index(change)]
                self.module.fail_json(
                    msg=f"could not apply: {change}: {str(error).strip()}", changes=done, changed=bool(done)
                )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "port": {"type": "int", "default": 5432},
            "replication_user": {"type": "str", "required": True},
            "replication_password": {"type": "str", "required": True, "no_log": True},
            "rewind_functions": {"type": "list", "elements": "str", "default": []},
            "slots": {"type": "list", "elements": "str", "default": []},
            "slot_prefix": {"type": "str", "default": ""},
            "users": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "password": {"type": "str", "required": True, "no_log": True},
                    "role_attr_flags": {"type": "str", "default": "LOGIN"},
                    "grants": {"type": "list", "elements": "dict", "default": []},
                },
            },
            "databases": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "owner": {"type": "str"},
                    "encoding": {"type": "str", "default": "UTF8"},
                },
            },
        },
        supports_check_mode=True,
    )
    try:
        import psycopg2
        from psycopg2 import sql
    except ImportError:
        module.fail_json(msg="psycopg2 is missing on the host (the role installs python3-psycopg2).")
    params = module.params
    try:
        connection = psycopg2.connect(dbname="postgres", port=params["port"])
    except psycopg2.Error as error:
        module.fail_json(msg=f"cannot connect to PostgreSQL on port {params['port']}: {str(error).strip()}")
    # CREATE DATABASE cannot run inside a transaction.
    connection.autocommit = True
    primary = Primary(module, connection)
    try:
        encryption = primary.query("SHOW password_encryption")[0][0]
        replication_user = params["replication_user"]
        existing_roles = {row[0] for row in primary.query("SELECT rolname FROM pg_roles")}
        primary.plan_role(sql, replication_user, params["replication_password"], REPLICATION_FLAGS, encryption)
        primary.plan_rewind_grants(
            sql, replication_user, params["rewind_functions"], replication_user in existing_roles
        )
        primary.plan_slots(params["slots"], params["slot_prefix"])
        for user in params["users"]:
            primary.plan_role(sql, user["name"], user["password"], user["role_attr_flags"], encryption)
        declared = {database["name"] for database in params["databases"]}
        existing_databases = primary.plan_databases(sql, params["databases"])
        new_roles = {user["name"] for user in params["users"]} - existing_roles
        primary.plan_grants(sql, params["users"], existing_databases, declared, new_roles)
    except Impossible as error:
        module.fail_json(msg=f"{error} Nothing was changed.")
    if not module.check_mode:
        primary.apply()
    connection.close()
    module.exit_json(changed=bool(primary.changes), changes=primary.changes)


if __name__ == "__main__":
    main()
