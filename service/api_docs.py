"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), served entirely from the service's own
static files: the bundles ship in the ``fastapi-offline`` package (its ``static/`` folder), so the pages work on a
closed network. FastAPI's defaults load them from a public CDN (and ReDoc its fonts from Google), a blank page
where that is out of reach. Nothing here is in the OpenAPI schema."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC_URL = "/static-docs"
STATIC_DIR = str(files("fastapi_offline") / "static")
# Swagger UI's default validatorUrl draws a badge fetched from validator.swagger.io: off.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def mount(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Mount the bundles and the two pages on ``app`` (created with ``docs_url=None, redoc_url=None``)."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static-docs")
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or f"{docs_url}/oauth2-redirect"
    parameters = {**SWAGGER_UI_PARAMETERS, **(app.swagger_ui_parameters or {})}

    def base(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{STATIC_URL}"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - API",
            oauth2_redirect_url=f"{root}{oauth2_redirect_url}",
            swagger_js_url=f"{base(request)}/swagger-ui-bundle.js", swagger_css_url=f"{base(request)}/swagger-ui.css",
            swagger_favicon_url=f"{base(request)}/favicon.png", swagger_ui_parameters=parameters,
        )

    @app.get(oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{base(request)}/redoc.standalone.js", redoc_favicon_url=f"{base(request)}/favicon.png",
            with_google_fonts=False,
        )
