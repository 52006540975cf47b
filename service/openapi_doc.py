"""The committed OpenAPI document, generated from the app."""

from __future__ import annotations

import json

from service.config import Settings


def openapi_json() -> str:
    from service.main import create_app

    app = create_app(Settings(database_url="sqlite://"))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
