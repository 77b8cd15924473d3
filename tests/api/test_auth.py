from sqlalchemy import text

from predelinquency.api.deps import MISSING_KEY
from predelinquency.operations.apikeys import INVALID_KEY, revoke_api_key
from predelinquency.operations.users import deactivate_user
from tests.support.api import Api
from tests.support.users import SYSTEM

PROTECTED = [("get", "/stats"), ("get", "/high-risk-customers"), ("get", "/retraining/status"),
             ("post", "/retraining/trigger"), ("get", "/customers/1/history"), ("post", "/predict"),
             ("post", "/batch-predict"), ("post", "/interventions"), ("post", "/assignments"),
             ("post", "/interventions/1/outcome")]
BAD_HEADERS = [b"Bearer pde_thisisnotakeyatall", b"Bearer not-even-the-shape", "Bearer pde_\u00e9\u00e9\u00e9".encode(),
               b"Bearer pde_abc\x7fdef", b"Basic dXNlcjpwYXNz", b"Bearer", b"Bearer " + b"pde_" + b"x" * 500]


def test_every_route_but_health_needs_a_key(api: Api):
    for method, path in PROTECTED:
        r = api.client.request(method, path, json={})
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["detail"] == MISSING_KEY and r.headers["www-authenticate"] == "Bearer"
    assert api.client.get("/health").status_code == 200
    assert api.client.get("/openapi.json").status_code == 200 and api.client.get("/docs").status_code == 200


def test_a_bad_key_is_401_whatever_its_shape(api: Api):
    for header in BAD_HEADERS:
        r = api.client.get("/stats", headers={"Authorization": header})
        assert r.status_code == 401 and r.json()["detail"] in (INVALID_KEY, MISSING_KEY), (header, r.text)


def test_revoked_key_and_deactivated_user_are_401(api: Api):
    assert api.client.get("/stats", headers=api.auth("officer")).status_code == 200
    api.write(lambda c: revoke_api_key(c, api.keys["officer"], SYSTEM))
    assert api.client.get("/stats", headers=api.auth("officer")).status_code == 401
    assert api.client.get("/stats", headers=api.auth("manager")).status_code == 200
    api.write(lambda c: deactivate_user(c, "manager1", SYSTEM))
    r = api.client.get("/stats", headers=api.auth("manager"))
    assert r.status_code == 401 and r.json() == {"detail": INVALID_KEY}


def test_the_role_is_reread_on_every_request(api: Api):
    api.write(lambda c: c.execute(text("UPDATE users SET role = 'officer' WHERE username = 'manager1'")))
    r = api.client.post("/retraining/trigger", headers=api.auth("manager"))
    assert r.status_code == 403 and "has role officer" in r.json()["detail"]
