"""The one result model every edge (CLI, server, vendor adapters) maps from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from pydantic import Field as PField

FieldName = Literal[
    "name", "sex", "nation", "birth", "address", "number", "authority", "valid_from", "valid_to"
]
FIELD_NAMES: tuple[str, ...] = (
    "name", "sex", "nation", "birth", "address", "number", "authority", "valid_from", "valid_to"
)
FRONT_FIELDS: tuple[str, ...] = ("name", "sex", "nation", "birth", "address", "number")
BACK_FIELDS: tuple[str, ...] = ("authority", "valid_from", "valid_to")

Side = Literal["front", "back", "both", "none"]
CardSide = Literal["front", "back"]
Rotation = Literal[0, 90, 180, 270]

# Four (x, y) corners, clockwise from the top-left of the upright text/card, in ORIGINAL image pixels.
Quad = list[tuple[float, float]]


class Field(BaseModel):
    """One field as read: normalized value, confidence in [0, 1] and where it is."""

    value: str
    confidence: float = PField(ge=0.0, le=1.0)
    box: Quad = PField(description="Corners in original image pixels, clockwise from upright top-left")


class Area(BaseModel):
    """The GB/T 2260 area an ID number's first six digits name."""

    code: str
    province: str | None = None
    city: str | None = None
    district: str | None = None
    historical: bool = PField(False, description="Code of an area since abolished (still valid on old cards)")


class Checks(BaseModel):
    """Cross-checks on what was read. None means the check could not be made (fields missing)."""

    checksum: bool | None = None
    area_known: bool | None = None
    area: Area | None = None
    birth_matches: bool | None = PField(None, description="Printed birth date equals the number's")
    sex_matches: bool | None = PField(None, description="Printed sex agrees with the sequence parity")
    validity_term_ok: bool | None = PField(None, description="valid_to fits the age rule of 居民身份证法 §5")
    number_repaired: bool = PField(False, description="Confusable characters in the number were repaired")


class Card(BaseModel):
    """One card side found in the image."""

    side: CardSide
    rotation: Rotation = PField(description="Clockwise rotation of the card as found in the image")
    quad: Quad = PField(description="Card corners in original image pixels, clockwise from upright top-left")
    fields: dict[str, Field] = PField(default_factory=dict)


class Reading(BaseModel):
    """Everything read from one image."""

    side: Side
    rotation: Rotation = 0
    fields: dict[str, Field] = PField(
        default_factory=dict, description="Keys among FIELD_NAMES; absent when not on the image"
    )
    checks: Checks = PField(default_factory=Checks)
    cards: list[Card] = PField(default_factory=list)
    image_size: tuple[int, int] = PField(description="(width, height) of the decoded, EXIF-upright image")
    timings_ms: dict[str, float] = PField(default_factory=dict)
    time_ms: float = 0.0

    def value(self, name: str) -> str | None:
        f = self.fields.get(name)
        return f.value if f else None
