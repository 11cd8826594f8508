"""API schemas of commissions and their body categories."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.bodies.validation import OPTIONAL_EMAIL_PATTERN
from app.inputs import NOT_BLANK
from app.letters.numbers import PADDING, PLACEHOLDERS

Timezone = Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]
DataLicense = Literal["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "ODbL-1.0"]  # app/commissions/licenses.py
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=64)]
# The signature of the commission's e-mail: a few lines, not a letter.
MAX_SIGNATURE_LINES = 6
MAX_SIGNATURE_LENGTH = 500
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=NOT_BLANK, max_length=200)
]
# Where replies go: an address, or blank for none (checked in app/commissions/service.py, said here).
ReplyTo = Annotated[str, Field(max_length=320, json_schema_extra={"pattern": OPTIONAL_EMAIL_PATTERN})]
# The letterhead of the commission's letters (app/letters/): a few short lines each.
MAX_LETTER_LINES = 4
MAX_LETTER_BLOCK = 400

# The rules app/commissions/service.py checks, said as patterns in the document: text is trimmed first, lines
# are what str.splitlines() reads, and none holds NUL.
_BREAK = "\\n\\r\\x0b\\x0c\\x1c-\\x1e\\x85\\u2028\\u2029"
ONE_LINE = "^\\s*[^\\n\\r\\u0000]*\\s*$"
# At most this many lines, blank ones included (the e-mail signature).
_IN_LINE = f"[^{_BREAK}\\u0000]*"
SIGNATURE_LINES = f"^\\s*(?:{_IN_LINE}(?:\\r\\n|[{_BREAK}])){{0,{MAX_SIGNATURE_LINES - 1}}}{_IN_LINE}\\s*$"
# At most this many lines that are not blank (the letterhead drops blank ones).
LETTER_LINES = f"^\\s*(?:[^\\s\\u0000][^{_BREAK}\\u0000]*(?:$|[{_BREAK}]\\s*)){{0,{MAX_LETTER_LINES}}}$"
# One line of text and placeholders (app/letters/numbers.py pattern_problem); {{ and }} write a brace.
_PADDED = "|".join(p for p in sorted(PADDING) if p)
_OTHERS = "|".join(p for p in PLACEHOLDERS if p != "urut")
_PLACEHOLDER = f"\\{{(?:urut(?::(?:{_PADDED})?)?|(?:{_OTHERS}):?)\\}}"
NUMBER_FORMAT = f"^\\s*(?:[^{{}}\\n\\r\\u0000]|\\{{\\{{|\\}}\\}}|{_PLACEHOLDER})*\\s*$"


Signature = Annotated[
    str, Field(max_length=MAX_SIGNATURE_LENGTH, json_schema_extra={"pattern": SIGNATURE_LINES})
]
LetterBlock = Annotated[str, Field(max_length=MAX_LETTER_BLOCK, json_schema_extra={"pattern": LETTER_LINES})]
CityLine = Annotated[str, Field(max_length=100, json_schema_extra={"pattern": ONE_LINE})]
PersonLine = Annotated[str, Field(max_length=200, json_schema_extra={"pattern": ONE_LINE})]
NumberFormat = Annotated[str, Field(max_length=200, json_schema_extra={"pattern": NUMBER_FORMAT})]


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
    mail_reply_to: ReplyTo | None = Field(
        default=None,
        description="Where replies to the commission's e-mail go (Reply-To): an e-mail address; null or "
        "empty: none.",
        examples=["sekretariat@komisiinformasi.example.go.id"],
    )
    mail_signature: Signature | None = Field(
        default=None,
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
    letter_heading: LetterBlock | None = Field(
        default=None,
        description=f"The letterhead's heading lines (at most {MAX_LETTER_LINES}); null or empty: the "
        "commission's name.",
        examples=["Komisi Informasi\nProvinsi DKI Jakarta"],
    )
    letter_address: LetterBlock | None = Field(
        default=None,
        description=f"The letterhead's address lines under the heading (at most {MAX_LETTER_LINES}).",
        examples=["Jl. Abdul Muis No. 8, Jakarta Pusat 10160\nTelp. (021) 1234567"],
    )
    letter_city: CityLine | None = Field(
        default=None,
        description="Where letters are dated: the city before the date.",
        examples=["Jakarta"],
    )
    letter_chair_name: PersonLine | None = Field(
        default=None, description="The chair who signs the letters.", examples=["Nama Ketua"]
    )
    letter_chair_title: PersonLine | None = Field(
        default=None,
        description="The signer's title before the commission's name; null or empty: \"Ketua\".",
        examples=["Ketua"],
    )
    letter_number_format: NumberFormat | None = Field(
        default=None,
        description="The letter number's pattern, with placeholders {urut} (the body's sequence number in "
        "the round; {urut:03} pads it), {tahun}, {bulan}, {romawi}, {kode}, {kategori}, "
        '{revisi}; null or empty: "{urut}/KI/{romawi}/{tahun}".',
        examples=["{urut:03}/KI-DKI/{romawi}/{tahun}"],
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
    letter_heading: str | None = None
    letter_address: str | None = None
    letter_city: str | None = None
    letter_chair_name: str | None = None
    letter_chair_title: str | None = None
    letter_number_format: str | None = None
    letter_logo_type: str | None = Field(
        default=None, description="The letterhead logo's media type (image/png or image/jpeg); null: no logo."
    )
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
