"""/docs: the API's interactive documentation (Swagger UI), served from the app's own files.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script: blank
on an offline machine, and refused by a strict Content-Security-Policy. Here the assets come
from the `swagger-ui-bundle-v2` package (Swagger UI with its licence), the page is a template,
and Swagger UI is started by a static script (`static/docs.js`) that reads the schema's URL
from the page.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from search.app.web.templating import render

ASSETS = "/docs/assets"


def install(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs_page(request: Request) -> HTMLResponse:
        return render(request, "docs.html", assets=ASSETS, openapi_url=app.openapi_url)
