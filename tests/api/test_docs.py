"""The OpenAPI docs page works where the internet does not reach (a bank's network): no CDN assets."""

from __future__ import annotations

import re

from tests.support.api import Api


def test_docs_page_loads_swagger_ui_from_the_api_itself(api: Api):
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert not re.search(r"""(src|href)=["']https?://""", page.text), "the docs page reaches out to the internet"
    assets = re.findall(r"""(?:src|href)=["'](/docs-assets/[^"']+)["']""", page.text)
    assert sorted(assets) == ["/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"]
    for asset in assets:
        r = api.client.get(asset)
        assert r.status_code == 200 and len(r.content) > 10_000, asset
    assert "openapi.json" in page.text and api.client.get("/redoc").status_code == 404
