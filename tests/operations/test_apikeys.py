import hashlib

import pytest
from sqlalchemy import Connection, text

from predelinquency.errors import Conflict, Forbidden
from predelinquency.operations.apikeys import create_api_key, list_api_keys, revoke_api_key, user_for_api_key
from predelinquency.operations.audit import recent_audit
from predelinquency.operations.users import AuthError, deactivate_user
from tests.support.operations import People
from tests.support.users import SYSTEM


def test_key_shown_once_only_hash_stored_and_lookup_works(conn: Connection, people: People):
    key = create_api_key(conn, "olivia", SYSTEM)
    assert key.startswith("pde_") and len(key) > 40
    row = conn.execute(text("SELECT prefix, key_hash FROM api_keys")).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest() and row.prefix == key[:12]
    assert key not in str(list_api_keys(conn)) and key not in str(recent_audit(conn, entity="api_key"))
    assert user_for_api_key(conn, key) == people.officer
    assert create_api_key(conn, "olivia", SYSTEM) != key  # every call makes a new key


@pytest.mark.parametrize("bad", ["", "pde_", "not-a-key", "pde_" + "x" * 43, "pde_abcdefg\x00hijklmnop",
                                 "pde_abcdefgh\udc80ijklmnop", "pde_" + "x" * 1_000_000, None, 42])
def test_unknown_keys_are_refused_with_one_message(conn: Connection, people: People, bad: str):
    create_api_key(conn, "olivia", SYSTEM)
    with pytest.raises(AuthError, match=r"^invalid or revoked API key$"):
        user_for_api_key(conn, bad)


def test_tampered_key_with_right_prefix_is_refused(conn: Connection, people: People):
    key = create_api_key(conn, "olivia", SYSTEM)
    with pytest.raises(AuthError):
        user_for_api_key(conn, key[:-1] + ("A" if key[-1] != "A" else "B"))


def test_revoked_key_and_inactive_user_fail(conn: Connection, people: People):
    key = create_api_key(conn, "olivia", people.officer)  # an officer may make their own key
    revoked = revoke_api_key(conn, key[:12], people.officer)
    assert revoked["revoked_at"] is not None and revoked["username"] == "olivia"
    with pytest.raises(AuthError):
        user_for_api_key(conn, key)
    with pytest.raises(Conflict, match="already revoked"):
        revoke_api_key(conn, key, people.admin)
    other = create_api_key(conn, "oscar", people.admin)
    deactivate_user(conn, "oscar", people.admin)
    with pytest.raises(AuthError):
        user_for_api_key(conn, other)
    assert [a["action"] for a in recent_audit(conn, entity="api_key")][:2] == ["create_api_key", "revoke_api_key"]


def test_officers_cannot_manage_others_keys(conn: Connection, people: People):
    with pytest.raises(Forbidden, match="manage other users' API keys"):
        create_api_key(conn, "oscar", people.officer)
    key = create_api_key(conn, "oscar", people.admin)
    with pytest.raises(Forbidden):
        revoke_api_key(conn, key, people.officer)
