"""The committed OpenAPI document, generated from the app."""

from __future__ import annotations

import json

from service.config import Settings


def openapi_json() -> str:
    from service.main import create_app

    # A fixed secret: the document does not depend on it, and nothing is logged to stdout.
    app = create_app(Settings(database_url="sqlite://", session_secret="openapi-document"))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
