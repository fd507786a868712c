"""The one list of things that can go wrong with a request; each API maps them to its own error answer.

Messages name the problem, never the data (no field values, no image bytes, no URLs).
"""

from __future__ import annotations

from enum import Enum

from idcard_ocr.errors import DecompressionBomb, ImageError, ImageTooLarge, ImageTooSmall, UndecodableImage


class Kind(str, Enum):
    BAD_BODY = "bad_body"  # body is not valid JSON / form
    BAD_TYPE = "bad_type"  # a parameter has the wrong JSON type
    MISSING_PARAM = "missing_param"
    INVALID_PARAM = "invalid_param"
    EMPTY_IMAGE = "empty_image"
    BASE64_PADDING = "base64_padding"
    BASE64_CHARS = "base64_chars"
    DATA_URI_HEADER = "data_uri_header"  # a data: prefix where the API wants bare base64
    UNDECODABLE = "undecodable"  # not an image we can decode
    IMAGE_TOO_SMALL = "image_too_small"
    IMAGE_TOO_LARGE = "image_too_large"  # pixel dimensions / decompression bomb
    BODY_TOO_LARGE = "body_too_large"
    URL_REFUSED = "url_refused"  # scheme or address not allowed
    URL_FETCH_FAILED = "url_fetch_failed"
    AUTH_MISSING = "auth_missing"
    AUTH_REFUSED = "auth_refused"
    AUTH_EXPIRED = "auth_expired"  # a signed request's date is outside the accepted window
    AUTH_REPLAYED = "auth_replayed"  # a signed request seen before (same signature or nonce)
    BUSY = "busy"
    NO_CARD = "no_card"
    WRONG_SIDE = "wrong_side"  # the side asked for is not on the image, the other one is
    NOT_FOUND = "not_found"  # no such route (under an API's own paths: that API's error shape)
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL = "internal"


class ApiError(Exception):
    """A request-level failure. ``param`` names the parameter concerned, when there is one."""

    def __init__(self, kind: Kind, param: str | None = None, detail: str = "") -> None:
        super().__init__(f"{kind.value}{': ' + param if param else ''}{' (' + detail + ')' if detail else ''}")
        self.kind = kind
        self.param = param
        self.detail = detail


def from_image_error(exc: ImageError) -> ApiError:
    """Map the core's typed image errors onto request problems."""
    if isinstance(exc, ImageTooSmall):
        return ApiError(Kind.IMAGE_TOO_SMALL)
    if isinstance(exc, (ImageTooLarge, DecompressionBomb)):
        return ApiError(Kind.IMAGE_TOO_LARGE)
    if isinstance(exc, UndecodableImage):
        return ApiError(Kind.UNDECODABLE)
    return ApiError(Kind.UNDECODABLE, detail=type(exc).__name__)
