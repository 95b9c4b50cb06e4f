"""Pipeline routes: the tenant's stages (ordered) and statuses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from lad_domain.leads.model import MAX_LABEL, Stage, Status
from lad_domain.leads.services.pipeline import PipelineService
from lad_entrypoints.http.dependencies import CurrentPrincipal, provided
from lad_entrypoints.http.locations import created_at
from lad_entrypoints.http.schemas import KEY, NOT_BLANK, KeyPath, Strict

router = APIRouter(prefix="/v1/pipeline", tags=["pipeline"])


Pipeline = Annotated[PipelineService, Depends(provided(lambda c: c.pipeline()))]
MoveTo = Annotated[str | None, Query(max_length=64, description="Where the leads go")]


class StageIn(Strict):
    key: str = Field(max_length=64, description="a-z, 0-9, '_', '.', '-'; never changes",
                     json_schema_extra=KEY)
    label: str = Field(max_length=MAX_LABEL, json_schema_extra=NOT_BLANK)


class LabelIn(Strict):
    label: str = Field(max_length=MAX_LABEL, json_schema_extra=NOT_BLANK)


class OrderIn(Strict):
    keys: list[Annotated[str, Field(json_schema_extra=KEY)]] = Field(
        max_length=200, description="Every stage key, in the new order")


class StageOut(BaseModel):
    key: str
    label: str
    display_order: int
    updated_at: datetime

    @classmethod
    def of(cls, s: Stage | Status) -> Self:
        return cls(key=s.key, label=s.label, display_order=s.display_order,
                   updated_at=s.updated_at)


class StatusOut(StageOut):
    pass


class MovedOut(BaseModel):
    moved: int = Field(description="Leads moved to move_to")


@router.get("/stages")
def list_stages(principal: CurrentPrincipal, pipeline: Pipeline) -> list[StageOut]:
    return [StageOut.of(s) for s in pipeline.pipeline(principal).stages]


@router.post("/stages", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/pipeline/stages/{key}"))
def add_stage(body: StageIn, principal: CurrentPrincipal, pipeline: Pipeline) -> StageOut:
    """A new stage at the end (admins)."""
    return StageOut.of(pipeline.add_stage(principal, key=body.key, label=body.label))


@router.put("/stages/order")
def reorder_stages(body: OrderIn, principal: CurrentPrincipal, pipeline: Pipeline
                   ) -> list[StageOut]:
    return [StageOut.of(s) for s in pipeline.reorder_stages(principal, body.keys)]


@router.patch("/stages/{key}")
def rename_stage(key: KeyPath, body: LabelIn, principal: CurrentPrincipal, pipeline: Pipeline
                 ) -> StageOut:
    return StageOut.of(pipeline.rename_stage(principal, key, body.label))


@router.delete("/stages/{key}")
def delete_stage(key: KeyPath, principal: CurrentPrincipal, pipeline: Pipeline,
                 move_to: MoveTo = None) -> MovedOut:
    """Refused while leads are in the stage, unless move_to names another stage."""
    return MovedOut(moved=pipeline.delete_stage(principal, key, move_to=move_to))


@router.get("/statuses")
def list_statuses(principal: CurrentPrincipal, pipeline: Pipeline) -> list[StatusOut]:
    return [StatusOut.of(s) for s in pipeline.pipeline(principal).statuses]


@router.post("/statuses", status_code=status.HTTP_201_CREATED,
             openapi_extra=created_at("/v1/pipeline/statuses/{key}"))
def add_status(body: StageIn, principal: CurrentPrincipal, pipeline: Pipeline) -> StatusOut:
    return StatusOut.of(pipeline.add_status(principal, key=body.key, label=body.label))


@router.patch("/statuses/{key}")
def rename_status(key: KeyPath, body: LabelIn, principal: CurrentPrincipal, pipeline: Pipeline
                  ) -> StatusOut:
    return StatusOut.of(pipeline.rename_status(principal, key, body.label))


@router.delete("/statuses/{key}")
def delete_status(key: KeyPath, principal: CurrentPrincipal, pipeline: Pipeline,
                  move_to: MoveTo = None) -> MovedOut:
    return MovedOut(moved=pipeline.delete_status(principal, key, move_to=move_to))
