"""API schemas of commissions and their body categories."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Timezone = Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]
DataLicense = Literal["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "ODbL-1.0"]  # app/commissions/licenses.py
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=64)]
# The signature of the commission's e-mail: a few lines, not a letter.
MAX_SIGNATURE_LINES = 6
MAX_SIGNATURE_LENGTH = 500
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
    mail_reply_to: str | None = Field(
        default=None,
        max_length=320,
        description="Where replies to the commission's e-mail go (Reply-To); null or empty: none.",
        examples=["sekretariat@komisiinformasi.example.go.id"],
    )
    mail_signature: str | None = Field(
        default=None,
        max_length=MAX_SIGNATURE_LENGTH,
        description=f"The lines that sign the commission's e-mail (at most {MAX_SIGNATURE_LINES} lines, "
        f'{MAX_SIGNATURE_LENGTH} characters); null or empty: "Sekretariat <commission\'s name>".',
        examples=["Sekretariat Komisi Informasi Provinsi DKI Jakarta\nTelp. (021) 1234567"],
    )
    data_license: DataLicense | None = Field(
        default=None,
        description="The license of the commission's open data (SPDX identifier), shown on the public portal "
        "and written into every data package.",
        examples=["CC-BY-4.0"],
    )


class CommissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    timezone: str
    mail_reply_to: str | None = None
    mail_signature: str | None = None
    data_license: str = "CC-BY-4.0"
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
