"""The client's question before an upload, against answers a live server does not give: one
too old to have the question (its router's 404) is left to answer the upload itself."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from app.client.api import Api, ClientError

UPLOADS = "/api/v1/competitions/mico/tracks/cifar10/uploads"


def _api(handler: httpx.MockTransport) -> Api:
    api = Api("http://arena.test", "mia_token")
    api._http = httpx.Client(base_url="http://arena.test", transport=handler)
    return api


def test_a_server_without_the_question_is_not_taken_for_a_refusal() -> None:
    asked: list[str] = []

    def older(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(404, json={"detail": "Not Found"})

    with _api(httpx.MockTransport(older)) as api:
        api.require_open("mico", "cifar10")  # no error: the upload will be told
    assert asked == [UPLOADS]


def test_the_apis_own_404_is_a_refusal_with_its_reason() -> None:
    def missing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "there is no competition 'nope'"})

    with _api(httpx.MockTransport(missing)) as api, pytest.raises(ClientError) as refused:
        api.require_open("nope", "cifar10")
    assert refused.value.message == "there is no competition 'nope'"
