"""The route table keeps the request path free of deadlocks (service/deps.py, docs/performance.md).

A request's session holds a database connection from the endpoint's first statement until the commit. A sync
endpoint that returned a model would have FastAPI validate and serialise it in another worker thread in
between: with every worker thread waiting for a connection and every connection held by a request waiting for
a thread, the service stops. So every sync endpoint that uses the request's session answers with a Response
(``json_response`` / ``respond``). Generated from the route table: a route added later is checked too.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.responses import Response

from service.config import Settings
from service.deps import get_session
from service.main import create_app


def _api_routes(routes) -> Iterator[APIRoute]:  # noqa: ANN001
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            yield from _api_routes(included.routes)


def _calls(dependant: Dependant) -> Iterator[object]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


ROUTES = list(_api_routes(create_app(Settings(database_url="sqlite://")).routes))
WITH_SESSION = [r for r in ROUTES if get_session in set(_calls(r.dependant))]


def test_the_route_table_is_seen():
    assert len(ROUTES) >= 60
    assert any(r.path == "/projects/{project_id}/transitions" for r in WITH_SESSION)


@pytest.mark.parametrize("route", WITH_SESSION, ids=lambda r: f"{sorted(r.methods)[0]} {r.path}")
def test_endpoints_holding_the_session_answer_with_a_response(route: APIRoute):
    if inspect.iscoroutinefunction(route.endpoint):
        return  # serialised on the event loop: no second thread hop
    returns = typing.get_type_hints(route.endpoint).get("return")
    assert isinstance(returns, type) and issubclass(returns, Response), (
        f"{route.endpoint.__name__} returns {returns}: serialise with json_response()/respond() instead"
    )
