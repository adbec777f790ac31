"""The OpenAPI schema (/openapi.json, shown at /docs) documents the JSON API and only it: every
operation says what it does, every error it may answer, and the main ones show examples."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from tests.fixtures.browser import Sent


def _no_database() -> Any:
    raise AssertionError("no request here reaches the database")


@pytest.fixture(scope="module")
def bare() -> TestClient:
    """The app on no database: routing, the schema and the docs only."""
    return TestClient(create_app(Settings(), session_factory=_no_database, dispatcher=Sent()))


@pytest.fixture(scope="module")
def openapi(bare: TestClient) -> dict[str, Any]:
    schema: dict[str, Any] = bare.get("/openapi.json").json()
    return schema


def _operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
    ]


def test_the_schema_holds_the_api_and_not_the_browser_pages(openapi: dict[str, Any]) -> None:
    paths = set(openapi["paths"])
    assert "/api/v1/competitions/{slug}/tracks/{track}/submissions" in paths
    others = {p for p in paths if not p.startswith("/api/")}
    assert others <= {"/healthz", "/readyz"}, "pages are not the API"
    assert "Authorization: Bearer" in openapi["info"]["description"]


def test_every_operation_says_what_it_does_and_documents_its_errors(
    openapi: dict[str, Any],
) -> None:
    for method, path, operation in _operations(openapi):
        assert operation.get("summary") and operation.get("description"), (method, path)
        if not path.startswith("/api/"):
            continue  # /healthz and /readyz answer their own bodies
        assert "401" in operation["responses"], (method, path)  # every one reads a token
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")) and "content" in response:
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Problem"}, (method, path, status)


def test_the_main_operations_show_examples(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    for name in ("SubmissionOut", "LeaderboardOut", "RevealOut"):
        (example,) = schemas[name]["examples"]
        fields = schemas[name]["properties"]
        nullable = {k for k, v in fields.items() if {"type": "null"} in v.get("anyOf", [])}
        # Every field shown (the schema leaves out those whose example is null).
        assert set(fields) - nullable <= set(example) <= set(fields), name
    upload = openapi["paths"]["/api/v1/competitions/{slug}/tracks/{track}/submissions"]["post"]
    assert {"413", "422", "429"} <= set(upload["responses"])
    truth = openapi["paths"]["/api/v1/admin/competitions/{slug}/tracks/{track}/truth"]["put"]
    assert truth["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == ["file"]


def _references(html: str) -> list[str]:
    """Every address a page loads: src, href and Swagger UI's `url:`."""
    return re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']|url: *'([^']+)'""", html)


@pytest.mark.parametrize(
    ("page", "kinds"),
    [
        ("/docs", {"text/javascript", "text/css", "image/png", "application/json"}),
        ("/redoc", {"text/javascript", "image/png", "application/json"}),
    ],
)
def test_the_docs_load_nothing_from_elsewhere(bare: TestClient, page: str, kinds: set[str]) -> None:
    answer = bare.get(page)
    assert answer.status_code == 200
    found = [a or b for a, b in _references(answer.text)]
    assert "/openapi.json" in found
    served = set()
    for url in found:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url}"
        asset = bare.get(url)
        assert asset.status_code == 200, url
        served.add(asset.headers["content-type"].split(";")[0])
        if url.endswith(".js"):
            assert len(asset.content) > 100_000  # the bundle itself, not a stub
    assert served == kinds
    assert "googleapis" not in answer.text and "cdn." not in answer.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/submissions/1/pin", "DELETE, POST"),
        ("DELETE", "/api/v1/admin/competitions/mico/tracks/cifar10/truth", "GET, POST, PUT"),
        ("OPTIONS", "/api/v1/admin/competitions/mico/settings", "GET, PATCH"),
    ],
)
def test_a_method_not_allowed_names_every_method_the_path_takes(
    bare: TestClient, method: str, path: str, allowed: str
) -> None:
    answer = bare.request(method, path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
