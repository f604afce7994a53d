"""The decisions postgresql_replication_objects makes before it runs a
statement: whether a stored password verifier is the declared password's (a
wrong answer either logs nobody in or sets the password on every run), and
which role attributes and database privileges a declaration names. The
verifiers below were made by PostgreSQL 15 itself (CREATE ROLE ... PASSWORD
'correct horse' with password_encryption md5, then scram-sha-256); the
module's statements run against real clusters in the postgresql_replication
and default Molecule scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.dockyard.platform.plugins.modules import postgresql_replication_objects as objects

ROOT = Path(__file__).resolve().parents[2]


MD5_CORRECT_HORSE = "md580c17198c897f8ff1ed87e03740680ec"  # role unit_md5
SCRAM_CORRECT_HORSE = (
    "SCRAM-SHA-256$4096:8kJyS0LB9i80xN0ZEr53tg==$KJd4ld7jHgTUjKM0f1kHLVzUpj0+eCTcTIM3bVeiQJ0="
    ":6qQgwcxxWTqV9lX6VAAPsQWQvUM09v26TfFfehVhES4="
)
# 'Ⅸ-secret': the server stores the SASLprep (NFKC) form, 'IX-secret'.
SCRAM_ROMAN_NINE = (
    "SCRAM-SHA-256$4096:ZU8ffGm9K2aJfXmLM/og3A==$OqauWaS15UHjIbXTsadqzoNreEdM/HD+dVYpwCNm/9A="
    ":XYZ7UlWpc8FhERxugM52tAZ+2BuRQrC/q8uI4iN3Erw="
)


def test_scram_verifier_of_the_declared_password_is_current() -> None:
    assert objects.password_current(SCRAM_CORRECT_HORSE, "correct horse", "unit_scram", "scram-sha-256")


def test_scram_verifier_of_another_password_is_not() -> None:
    assert not objects.password_current(SCRAM_CORRECT_HORSE, "correct horse!", "unit_scram", "scram-sha-256")


def test_non_ascii_password_matches_after_normalisation() -> None:
    assert objects.password_current(SCRAM_ROMAN_NINE, "Ⅸ-secret", "unit_nfkc", "scram-sha-256")


def test_md5_verifier_is_salted_with_the_role_name() -> None:
    assert objects.password_current(MD5_CORRECT_HORSE, "correct horse", "unit_md5", "md5")
    assert not objects.password_current(MD5_CORRECT_HORSE, "correct horse", "someone_else", "md5")


def test_a_verifier_in_another_method_than_the_servers_is_replaced() -> None:
    # md5 stored while the server asks for scram: set again, so it is upgraded.
    assert not objects.password_current(MD5_CORRECT_HORSE, "correct horse", "unit_md5", "scram-sha-256")
    assert not objects.password_current(SCRAM_CORRECT_HORSE, "correct horse", "unit_scram", "md5")


@pytest.mark.parametrize("stored", [None, "", "SCRAM-SHA-256$garbage", "plain"])
def test_missing_or_unreadable_verifiers_are_not_current(stored: str | None) -> None:
    assert not objects.password_current(stored, "correct horse", "unit_scram", "scram-sha-256")


def test_role_flags_parse_to_attributes_on_and_off() -> None:
    assert objects.parse_flags("LOGIN, nocreatedb,REPLICATION", "app") == {
        "LOGIN": True,
        "CREATEDB": False,
        "REPLICATION": True,
    }


def test_unknown_role_flag_names_the_role_and_the_choices() -> None:
    with pytest.raises(objects.Impossible, match=r"role app: unknown role_attr_flags entry 'SUPERMAN'.*CREATEDB"):
        objects.parse_flags("LOGIN,SUPERMAN", "app")


def test_database_privileges_expand_all_and_temp() -> None:
    assert objects.parse_privileges("ALL", "x") == {"CONNECT", "CREATE", "TEMPORARY"}
    assert objects.parse_privileges("connect, temp", "x") == {"CONNECT", "TEMPORARY"}
    with pytest.raises(objects.Impossible, match="unknown database privilege 'SELECT'"):
        objects.parse_privileges("SELECT", "postgresql_users app, grant on app")
