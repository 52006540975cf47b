"""Health, readiness, metrics (site root, no token) and /me."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.responses import Response

from service.deps import ActorDep, db_of
from service.errors import problem, responses

root = APIRouter(tags=["operations"])
api = APIRouter(tags=["me"])


class Health(BaseModel):
    status: str


class Me(BaseModel):
    name: str
    role: str
    chains: list[str]


@root.get("/healthz", response_model=Health, operation_id="healthz")
async def healthz() -> Health:
    return Health(status="ok")


@root.get("/readyz", response_model=Health, operation_id="readyz", responses=responses(503))
def readyz(request: Request) -> Response:
    try:
        db_of(request).ping()
    except Exception as exc:  # noqa: BLE001 - any database failure means not ready
        return problem(503, "not-ready", "Database unavailable", f"The database did not answer: {type(exc).__name__}.")
    return Response(Health(status="ready").model_dump_json(), media_type="application/json")


@root.get("/metrics", operation_id="metrics", response_class=Response,
          responses={200: {"content": {"text/plain": {}}, "description": "Prometheus exposition"}})
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@api.get("/me", response_model=Me, operation_id="get_me", responses=responses(401))
async def get_me(actor: ActorDep) -> Me:
    return Me(name=actor.name, role=actor.role.value, chains=sorted(actor.chains))
