"""Model versions: the list (admin, reviewer) and activation with a hot swap (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path

from api.deps import ADMIN, REVIEW, RegistryDep, require
from api.model_versions.schemas import VERSION_PATTERN, ActivateRequest
from api.responses import JsonAnswer
from api.schemas import ErrorOut
from api.security import Principal

router = APIRouter(prefix="/v1/models", tags=["models"])
# The document declares these answers as objects (the return annotation); typed models would change it.
OBJECT = JsonAnswer(dict[str, Any])

ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut},
          422: {"model": ErrorOut}}
VersionPath = Annotated[str, Path(min_length=1, max_length=100, pattern=VERSION_PATTERN,
                                  description="the model version's directory name under TRIAGE_MODEL_DIR")]


@router.get("", responses=ERRORS, summary="Model versions, which is active and which this server serves")
def list_models(registry: RegistryDep, _p: Principal = Depends(require(*REVIEW))) -> dict[str, Any]:
    """Every version under TRIAGE_MODEL_DIR with its manifest summary (training data, spaCy
    pipeline, headline metrics per evaluation set), `active` (the ACTIVE pointer), `serving` (the
    model this server process predicts with) and the latest activations."""
    return OBJECT(registry.list())


@router.post("/{version}/activate", responses=ERRORS,
             summary="Activate a version behind the quality gate and swap it into the running server")
def activate_model(version: VersionPath, registry: RegistryDep,
                   body: Annotated[ActivateRequest | None, Body()] = None, principal: Principal = Depends(require(*ADMIN))) -> dict[str, Any]:
    """Loads the version fully (checksum verified), runs the quality gate against the active model
    on the held-out data and the reviewed gold records, makes it the active version (in the
    database) and swaps it into this server without dropping requests; every other server process
    and instance follows within a few seconds. Takes as long as the gate (tens of seconds).
    409 `quality_gate_failed` (with the failures) unless `force` with a `reason`; 422
    `model_load_failed` when it cannot be loaded (the old model keeps serving); 409
    `activation_conflict` when another server recorded an activation meanwhile."""
    body = body or ActivateRequest()
    return OBJECT(registry.activate(version, body.force, body.reason, f"api:{principal.label}"))
