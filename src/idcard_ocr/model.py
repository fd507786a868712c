"""The one result model every edge (CLI, server, vendor adapters) maps from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField

FieldName = Literal[
    "name", "sex", "nation", "birth", "address", "number", "authority", "valid_from", "valid_to"
]
FIELD_NAMES: tuple[str, ...] = (
    "name", "sex", "nation", "birth", "address", "number", "authority", "valid_from", "valid_to"
)
FRONT_FIELDS: tuple[str, ...] = ("name", "sex", "nation", "birth", "address", "number")
BACK_FIELDS: tuple[str, ...] = ("authority", "valid_from", "valid_to")
# Fields only other card types print (othertypes.py): the permit's back, the foreigners' card.
OTHER_FIELDS: tuple[str, ...] = ("pass_number", "issue_count", "name_en", "nationality")

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
        default_factory=dict,
        description="Keys among FIELD_NAMES (other card types also OTHER_FIELDS); absent when not on the image",
    )
    checks: Checks = PField(default_factory=Checks)
    cards: list[Card] = PField(default_factory=list)
    image_size: tuple[int, int] = PField(description="(width, height) of the decoded, EXIF-upright image")
    timings_ms: dict[str, float] = PField(default_factory=dict)
    time_ms: float = 0.0
    # Card checks (idcard_ocr.checks.assess); None until assessed.
    card_type: CardType | None = None
    portrait: Portrait | None = PField(None, description="The photo of the first front card")
    quality: Quality | None = None
    risk: Risk | None = PField(None, description="None when no card was found (nothing to judge)")
    warnings: Warnings | None = None
    portrait_image: str | None = PField(None, description="On request: the photo, upright, as base64 JPEG")
    card_image: str | None = PField(
        None, description="On request: the straightened card (the front where both sides show), base64 JPEG")

    def value(self, name: str) -> str | None:
        f = self.fields.get(name)
        return f.value if f else None


# ---------------------------------------------------------------- card checks (issue 4): appended, all optional

CardType = Literal["resident", "temporary", "permit", "foreign", "unknown"]
RiskClass = Literal["original", "temporary", "photocopy", "screen", "edited"]
ImageStatus = Literal[
    "normal", "reversed_side", "non_idcard", "blurred", "other_type_card", "over_exposure", "over_dark", "unknown"
]
# Face++ `legality` class names, in their order; RISK_CLASSES[i] is our name for FACEPP_CLASSES[i].
FACEPP_CLASSES: tuple[str, ...] = ("ID Photo", "Temporary ID Photo", "Photocopy", "Screen", "Edited")
RISK_CLASSES: tuple[str, ...] = ("original", "temporary", "photocopy", "screen", "edited")


class Point(BaseModel):
    """A point normalized to the image: x / width, y / height (may leave [0, 1] when the card does)."""

    x: float
    y: float


class Portrait(BaseModel):
    """The photo on a card, in original image pixels."""

    card: int = PField(description="Index of the card in Reading.cards")
    quad: Quad = PField(description="Photo corners in original px, clockwise from the upright top-left")
    box: tuple[int, int, int, int] = PField(description="Axis-aligned bounds in original px: left, top, width, height")
    head_rect: dict[str, Point] = PField(description="Face++ head_rect: lt, rt, rb, lb normalized to the image size")
    refined: bool = PField(False, description="Edges found on the card; False: placed from the layout alone")


class Quality(BaseModel):
    """How usable the photo is. A flag is None when it could not be measured (no card found)."""

    score: int | None = PField(None, ge=0, le=100, description="0-100, higher is better; None without a card")
    blur: bool | None = None
    over_exposure: bool | None = None
    under_exposure: bool | None = None
    glare: bool | None = PField(None, description="A highlight washes out part of a field")
    cut_off: bool | None = PField(None, description="The card runs over the image border")
    covered: bool | None = PField(None, description="Something (a thumb, a paper) covers part of the card")
    too_small: bool | None = PField(None, description="Too few pixels per millimetre to read reliably")
    image_status: ImageStatus = "unknown"
    measures: dict[str, float] = PField(default_factory=dict, description="The raw measurements behind the flags")
    reasons: list[str] = PField(default_factory=list)


class Risk(BaseModel):
    """What was photographed. scores are keyed by the Face++ names and sum to 1."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    kind: RiskClass = PField(alias="class", serialization_alias="class")
    scores: dict[str, float] = PField(description="Face++ class name -> probability (sum 1)")
    reasons: list[str] = PField(default_factory=list)
    edit_tool: str | None = PField(None, description="Editing software named in the file's metadata")


class Warnings(BaseModel):
    """Card-level warnings. None: could not be checked (the fields it needs were not read)."""

    expired: bool | None = None
    validity_term_mismatch: bool | None = None
    number_mismatch: bool | None = PField(None, description="Number disagrees with the printed birth date or sex")
    multiple_cards: bool = False
    incomplete: bool | None = PField(None, description="Key fields missing or the card cut off")
    reasons: list[str] = PField(default_factory=list)


class CardChecks(BaseModel):
    """Everything checks.assess() adds to a Reading."""

    card_type: CardType = "unknown"
    card_type_reasons: list[str] = PField(default_factory=list)
    portraits: list[Portrait] = PField(default_factory=list)
    quality: Quality = PField(default_factory=Quality)
    risk: Risk | None = None
    warnings: Warnings = PField(default_factory=Warnings)
    timings_ms: dict[str, float] = PField(default_factory=dict)


Reading.model_rebuild()  # its check fields name classes defined above after it
