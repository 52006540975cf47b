from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from service.schemas.common import Code, Input, Name, ShortText


class DistrictKind(StrEnum):
    DISTRICT = "district"
    DEVELOPMENT_ZONE = "development_zone"


class DepartmentCreate(Input):
    code: Code
    name: Name


class DepartmentRead(BaseModel):
    code: str
    name: str
    version: int
    created_at: datetime
    updated_at: datetime


class DistrictCreate(Input):
    code: Code
    name: Name
    kind: DistrictKind


class DistrictRead(BaseModel):
    code: str
    name: str
    kind: DistrictKind
    version: int
    created_at: datetime
    updated_at: datetime


class ChainCreate(Input):
    code: Code
    name: Name
    leader: Name
    lead_department: Code
    benchmark_city: ShortText | None = None


class ChainUpdate(Input):
    name: Name | None = None
    leader: Name | None = None
    lead_department: Code | None = None
    benchmark_city: ShortText | None = None


class ChainRead(BaseModel):
    code: str
    name: str
    leader: str
    lead_department: str
    benchmark_city: str | None
    version: int
    created_at: datetime
    updated_at: datetime
