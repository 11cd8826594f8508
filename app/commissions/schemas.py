"""API schemas of commissions and their body categories."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Timezone = Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CommissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code = Field(
        description="Short unique code, lower case letters, digits and '-'.", examples=["ki-dki"]
    )
    name: Name = Field(examples=["Komisi Informasi Provinsi DKI Jakarta"])
    timezone: Timezone = Field(
        default="Asia/Jakarta", description="Where the commission's deadlines are read: WIB, WITA or WIT."
    )


class CommissionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    timezone: Timezone | None = None


class CommissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    timezone: str
    created_at: datetime


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code = Field(description="Unique within the commission; templates name it.", examples=["kelurahan"])
    name: Name = Field(examples=["Kelurahan"])


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    commission_id: int
    code: str
    name: str
