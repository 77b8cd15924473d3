import json

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from predelinquency.cli import app
from predelinquency.errors import PdeError
from predelinquency.operations.apikeys import user_for_api_key
from tests.support.users import PASSWORD


def test_users_add_reads_password_from_stdin_and_lists(cli: CliRunner, fresh_db: str):
    result = cli.invoke(app, ["users", "add", "alice", "--role", "admin", "--full-name", "Alice A", "--json"],
                        input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["role"] == "admin"
    eng = create_engine(fresh_db)
    with eng.connect() as c:
        row = c.execute(text("SELECT password_hash FROM users WHERE username = 'alice'")).one()
        actor = c.execute(text("SELECT actor FROM action_audit_log WHERE action = 'create_user'")).scalar_one()
    eng.dispose()
    assert row.password_hash.startswith("$argon2id$") and actor.startswith("cli:")
    listed = cli.invoke(app, ["users", "list"])
    assert listed.exit_code == 0 and "alice" in listed.stdout and "admin" in listed.stdout


def test_users_add_refuses_weak_password(cli: CliRunner):
    result = cli.invoke(app, ["users", "add", "bob", "--role", "officer"], input="short\n")
    assert isinstance(result.exception, PdeError) and "at least 12 characters" in str(result.exception)


def test_apikey_create_prints_key_once(cli: CliRunner, fresh_db: str):
    assert cli.invoke(app, ["users", "add", "carol", "--role", "officer"], input=PASSWORD + "\n").exit_code == 0
    result = cli.invoke(app, ["apikey", "create", "--user", "carol", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    eng = create_engine(fresh_db)
    with eng.connect() as c:
        assert out["user"] == "carol" and user_for_api_key(c, out["key"]).username == "carol"
    eng.dispose()
    revoked = cli.invoke(app, ["apikey", "revoke", out["key"][:12]])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
