from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from predelinquency.api.app import create_app
from predelinquency.settings import Settings
from tests.support.api import Api, insert_customer, insert_model, insert_score, release_engines
from tests.support.jobs import killed_run


def test_health_needs_no_key_and_reports_state(api: Api):
    body = api.client.get("/health").json()
    assert body == {"status": "degraded", "database": "reachable", "champion_present": False,
                    "last_batch_run": None, "detail": "no champion model: run pde train first"}

    def seed(c):
        insert_model(c, "v1")
        insert_score(c, insert_customer(c))
        c.execute(text("INSERT INTO batch_runs (kind, status, triggered_by, started_at, finished_at) "
                       "VALUES ('nightly', 'succeeded', 'system:test', now(), now())"))
    api.write(seed)
    r = api.client.get("/health", headers=api.auth())
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ok" and body["champion_model"] == "v1"
    assert body["champion_present"] is True and body["latest_scores_as_of"] == "2026-11-01"
    assert body["last_batch_run"]["kind"] == "nightly" and body["last_batch_run"]["status"] == "succeeded"
    # nothing about where the database is or how to log in to it
    url = api.settings.database_url
    assert url not in r.text and "postgresql" not in r.text and "host=" not in r.text


def test_without_a_key_health_keeps_run_details_and_versions_to_itself(api: Api):
    def seed(c):
        insert_model(c, "v1")
        c.execute(text("INSERT INTO batch_runs (kind, status, triggered_by, started_at, finished_at, error) "
                       "VALUES ('nightly', 'failed', 'cli:root', now(), now(), :e)"),
                  {"e": 'ProgrammingError: relation "risk_scores_2026_11" does not exist\n'
                        "[SQL: INSERT INTO risk_scores ...]\nHINT: check the partition"})
    api.write(seed)
    r = api.client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["champion_present"] is True
    assert set(body["last_batch_run"]) == {"kind", "status", "created_at", "started_at", "finished_at"}
    assert body["last_batch_run"]["kind"] == "nightly" and body["last_batch_run"]["status"] == "failed"
    for secret in ("cli:root", "relation", "SQL", "HINT", "v1", "run_id"):
        assert secret not in r.text, secret
    detailed = api.client.get("/health", headers=api.auth()).json()["last_batch_run"]
    assert detailed["triggered_by"] == "cli:root" and "relation" in detailed["error"]
    assert api.client.get("/health", headers=api.auth()).json()["champion_model"] == "v1"
    bad = api.client.get("/health", headers={"Authorization": "Bearer pde_" + "b" * 43})
    assert bad.status_code == 401 and "cli:root" not in bad.text


def test_a_killed_nightly_shows_as_failed_not_running(api: Api):
    killed_run(api.settings.database_url, "nightly", actor="cli:root")
    assert api.sql("SELECT status FROM batch_runs")[0][0] == "running"
    run = api.client.get("/health").json()["last_batch_run"]
    assert run["kind"] == "nightly" and run["status"] == "failed" and run["finished_at"] is None
    detailed = api.client.get("/health", headers=api.auth()).json()["last_batch_run"]
    assert detailed["status"] == "failed" and "stopped without finishing" in detailed["error"]


@pytest.fixture
def down_client() -> Iterator[TestClient]:
    url = "postgresql://pde:s3cret-pw@127.0.0.1:9/pde"  # port 9 (discard): nothing listens
    with TestClient(create_app(Settings(database_url=url))) as client:  # warm-up must survive it too
        yield client
    release_engines(url)


def test_health_is_503_with_a_clear_body_when_the_database_is_down(down_client: TestClient):
    r = down_client.get("/health")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and body["database"] == "unreachable"
    assert "database is not reachable" in body["detail"]
    assert "s3cret" not in r.text and "127.0.0.1" not in r.text and "pde:" not in r.text


def test_other_routes_are_503_without_details_when_the_database_is_down(down_client: TestClient):
    r = down_client.get("/stats", headers={"Authorization": "Bearer pde_" + "a" * 43})
    assert r.status_code == 503 and r.json() == {"detail": "the database is not reachable; try again shortly"}
    assert r.headers["retry-after"] == "5"
    # a request without a key is refused before the database is needed
    assert down_client.get("/stats").status_code == 401
