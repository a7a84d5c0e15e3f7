"""/docs (Swagger UI) served from local files, so the API documentation works on a machine
without internet access. The files come from the fastapi-offline package; without it, FastAPI's
default page (which loads them from a CDN) is used. (No /redoc: its bundle fetches a logo
from a CDN whatever it is told.)"""

from __future__ import annotations

from importlib import resources
from importlib.util import find_spec

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS_URL = "/static/docs"


def install_docs(app: FastAPI) -> None:
    """Add /docs to an app created with `docs_url=None, redoc_url=None`."""
    local = find_spec("fastapi_offline") is not None
    if local:
        assets = resources.files("fastapi_offline") / "static"
        app.mount(DOCS_ASSETS_URL, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        files = {}
        if local:
            files = {
                "swagger_js_url": f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
                "swagger_css_url": f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
                "swagger_favicon_url": f"{root}{DOCS_ASSETS_URL}/favicon.png",
            }
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} API", **files
        )
