"""/docs (Swagger UI), /redoc and the web sign-in page load nothing from another origin: every page and every asset
it references (scripts, styles, icons, the OpenAPI document, images in the styles) is fetched from the service
itself, and none of them names an absolute external URL to load. (The bundles' JavaScript holds URLs as plain
strings — JSON Schema identifiers, help links — which load nothing; what the pages and styles load is checked.)"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

PAGES = ["/docs", "/redoc", "/docs/oauth2-redirect", "/signin", "/signin?lang=en"]
# XML namespace names are identifiers, never fetched.
NAMESPACES = re.compile(r"http://www\.w3\.org/[0-9]{4}/[a-z]+")
ABSOLUTE = re.compile(r"""(?:[a-z][a-z0-9+.-]*:)?//[^\s"'<>)]+""", re.I)
REFERENCES = [
    re.compile(r"""\b(?:src|href|spec-url|action|poster|data)\s*=\s*["']([^"']*)["']""", re.I),
    re.compile(r"""\burl\s*:\s*["']([^"']+)["']"""),  # SwaggerUIBundle({url: '/openapi.json'})
]
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")


def _external(text: str) -> list[str]:
    found = []
    for m in ABSOLUTE.finditer(NAMESPACES.sub("", text)):
        url = m.group(0)
        if url.startswith("data:"):
            continue
        found.append(url)
    return found


def _local(base: str, ref: str) -> str | None:
    """The path to fetch for a reference found on ``base``, or None when it loads nothing (fragment, data:)."""
    if not ref or ref.startswith(("#", "data:", "javascript:", "mailto:")):
        return None
    parts = urlsplit(urljoin("http://testserver" + base, ref))
    assert parts.netloc == "testserver", f"{base} references {ref!r} on another origin"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_every_page_and_asset_is_served_locally(client):
    seen: set[str] = set()
    pending = list(PAGES)
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        r = client.get(path)
        assert r.status_code == 200, f"{path}: {r.status_code}"
        kind = r.headers["content-type"]
        if "html" in kind:
            assert not _external(r.text), f"{path} names external URLs: {_external(r.text)}"
            for pattern in REFERENCES:
                pending += [p for ref in pattern.findall(r.text) if (p := _local(path, ref))]
        elif "css" in kind:
            for ref in CSS_URL.findall(r.text):
                assert not _external(ref.replace('\\"', '"')) or ref.startswith(("data:", '"data:')), \
                    f"{path} loads {ref[:80]}"
                if (p := _local(path, ref)) is not None:
                    pending.append(p)
    fetched = " ".join(sorted(seen))
    for asset in ("/openapi.json", "swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png",
                  "/static/app.css", "/static/htmx-"):
        assert asset in fetched, f"{asset} was not among the fetched: {fetched}"


def test_swagger_ui_draws_no_validator_badge(client):
    # Swagger UI's default validatorUrl loads a badge from validator.swagger.io.
    assert '"validatorUrl": null' in client.get("/docs").text


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_stay_out_of_the_api_schema(client, path):
    assert path not in client.get("/openapi.json").json()["paths"]


def test_the_checker_catches_a_cdn():
    assert _external('<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js">')
    assert _external('<link href="//fonts.googleapis.com/css?family=Roboto">')
    assert not _external('<svg xmlns="http://www.w3.org/2000/svg"></svg><img src="/static/x.png">')
