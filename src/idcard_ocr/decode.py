"""Turn whatever a caller hands us (bytes, path, base64, data URI, array) into upright 8-bit BGR pixels.

Everything goes through Pillow: the file header is read first (Image.open is lazy) so size limits are
enforced before any pixel is decoded. Error messages name the problem only, never the input.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

import cv2
import numpy as np
from PIL import Image, ImageOps

from .errors import DecompressionBomb, ImageError, ImageTooLarge, ImageTooSmall, UndecodableImage

try:  # HEIC/HEIF from phones; a hard dependency, but keep the module importable without it.
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover
    pass

__all__ = [
    "MAX_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MIN_SIDE",
    "WORK_SIDE",
    "Decoded",
    "decode",
    "decode_with_meta",
]

MIN_SIDE = 15
MAX_SIDE = 8192
# Decoded pixels allowed, checked on the header and again on the frame actually decoded (a GIF's screen, a
# frame bigger than its header says). A JPEG is decoded at a reduced scale (DCT scaling) when it is large, so
# its cap is on what is decoded: a 48-50 MP phone photo reads, a 48 MP PNG does not. IDCARD_OCR_MAX_PIXELS sets
# another cap.
MAX_PIXELS = int(os.environ.get("IDCARD_OCR_MAX_PIXELS", "") or 40_000_000)
MAX_BYTES = 20 * 1024 * 1024
# The reader's working resolution: larger images are decoded at 1/2, 1/4 or 1/8 scale (JPEG DCT scaling,
# Pillow's draft mode; other formats resized after decoding) as long as the long side stays >= this.
WORK_SIDE = 1600

# Pillow warns above MAX_IMAGE_PIXELS and raises above twice that (the warning is turned into an error below).
# Its limit is MAX_SIDE squared, which we refuse anyway: a large JPEG must open to be decoded reduced, and
# every format's header is checked against our own cap by _check_size right after opening, before decoding.
Image.MAX_IMAGE_PIXELS = max(MAX_PIXELS, MAX_SIDE * MAX_SIDE)

# Only the formats we promise. Pillow knows many more (EPS would even shell out to Ghostscript), and an
# untrusted upload must not reach those plugins. (Phone JPEGs that Pillow calls MPO open via "JPEG".)
FORMATS: tuple[str, ...] = ("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF", "HEIF", "AVIF")

_EXIF_SOFTWARE = 0x0131
_EXIF_ORIENTATION = 0x0112
_MAX_PATH = 4096
_DATA_URI = re.compile(r"^\s*data:([^,]*?),", re.IGNORECASE | re.DOTALL)
_B64_TEXT = re.compile(rb"^[A-Za-z0-9+/=_\-\s]+$")
_WS = re.compile(r"\s+")

ImageInput = bytes | bytearray | memoryview | str | os.PathLike[str] | np.ndarray


@dataclass(frozen=True)
class Decoded:
    """Decoded pixels plus what later checks want to know about the file."""

    pixels: np.ndarray  # H×W×3 uint8 BGR, EXIF-upright
    format: str  # Pillow's format name ("JPEG", "PNG", "HEIF", ...) or "ndarray"
    software: str | None  # EXIF Software tag (or PNG "Software" text), e.g. an editor's name
    original_size: tuple[int, int]  # (width, height) as stored in the file, before EXIF rotation
    orientation: int = 1  # EXIF orientation that was applied (1 = none)
    # (width, height) of the upright image at full resolution; None: the pixels are full resolution
    full_size: tuple[int, int] | None = None
    # What full-resolution pixels come from when pixels are reduced: the file's bytes (decoded again only if
    # asked, see full_pixels) or the full array itself
    source: bytes | np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the upright pixels."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) of the upright image at full resolution (pixels may hold a reduced copy)."""
        return self.full_size or self.size

    def full_pixels(self) -> np.ndarray:
        """The upright image at full resolution (decoded again from the file when pixels were reduced)."""
        if self.full_size is None or self.source is None:
            return self.pixels
        if isinstance(self.source, np.ndarray):
            return self.source
        return decode_with_meta(self.source, max_bytes=len(self.source)).pixels

    @property
    def to_full(self) -> tuple[float, float]:
        """Factors (x, y) from pixel coordinates in `pixels` to the full-resolution upright image."""
        w, h = self.size
        fw, fh = self.upright_size
        return fw / w, fh / h


def decode(
    image: ImageInput,
    *,
    max_bytes: int = MAX_BYTES,
    min_side: int = MIN_SIDE,
    max_side: int = MAX_SIDE,
    max_pixels: int = MAX_PIXELS,
) -> np.ndarray:
    """Decode to an upright H×W×3 uint8 BGR array. Raises an ImageError subclass on bad input."""
    return decode_with_meta(
        image, max_bytes=max_bytes, min_side=min_side, max_side=max_side, max_pixels=max_pixels
    ).pixels


def decode_with_meta(
    image: ImageInput,
    *,
    max_bytes: int = MAX_BYTES,
    min_side: int = MIN_SIDE,
    max_side: int = MAX_SIDE,
    max_pixels: int = MAX_PIXELS,
    work_side: int | None = None,
) -> Decoded:
    """Like decode(), keeping format, EXIF software tag, stored size and applied orientation.

    work_side: decode an image larger than this at a reduced scale (1/2, 1/4, 1/8) whose long side is still
    at least work_side; full_size then gives the full-resolution size the coordinates map back to.
    """
    if isinstance(image, np.ndarray):
        d = _from_array(image, min_side=min_side, max_side=max_side, max_pixels=max_pixels)
    else:
        data = _to_bytes(image, max_bytes)
        d = _from_bytes(data, min_side=min_side, max_side=max_side, max_pixels=max_pixels, work_side=work_side)
        if d.full_size is not None:
            d = dataclasses.replace(d, source=data)
    return _reduced(d, work_side) if work_side else d


def reduction(w: int, h: int, work_side: int) -> int:
    """The largest of 8, 4, 2 (else 1) that keeps the long side of a w x h image at least work_side."""
    return next((k for k in (8, 4, 2) if max(w, h) // k >= work_side), 1)


def _reduced(d: Decoded, work_side: int) -> Decoded:
    """d at its working scale: an image not already reduced while decoding (PNG, arrays) is resized."""
    if d.full_size is not None:
        return d
    w, h = d.size
    k = reduction(w, h, work_side)
    if k == 1:
        return d
    small = cv2.resize(d.pixels, ((w + k - 1) // k, (h + k - 1) // k), interpolation=cv2.INTER_AREA)
    return dataclasses.replace(d, pixels=small, full_size=(w, h), source=d.pixels)


# --------------------------------------------------------------------------- input -> bytes


def _to_bytes(image: object, max_bytes: int) -> bytes:
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        # Text that arrived as bytes (a form field, a JSON body): no real image file is pure base64 text.
        head = data[:16].lstrip()
        if head[:5].lower() == b"data:" or (data and _B64_TEXT.match(data)):
            try:
                text = data.decode("ascii")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                return _from_text(text, max_bytes)
        _check_bytes(data, max_bytes)
        return data
    if isinstance(image, os.PathLike):
        return _read_path(Path(os.fspath(image)), max_bytes)
    if isinstance(image, str):
        if _looks_like_path(image):
            return _read_path(Path(image), max_bytes)
        return _from_text(image, max_bytes)
    raise UndecodableImage(f"unsupported input type {type(image).__name__}")


def _looks_like_path(text: str) -> bool:
    # A base64 payload may contain "/", so only short single-line strings naming a real file are paths.
    if not text or len(text) > _MAX_PATH or "\n" in text or "\r" in text or "\x00" in text:
        return False
    try:
        return os.path.exists(text)
    except (OSError, ValueError):
        return False


def _read_path(path: Path, max_bytes: int) -> bytes:
    # Messages leave the path out: file names of ID scans often carry the holder's name.
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageTooLarge(f"image file exceeds {max_bytes} bytes")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except ImageError:
        raise
    except OSError as e:
        raise UndecodableImage(f"image file could not be read ({type(e).__name__})") from None
    _check_bytes(data, max_bytes)
    return data


def _from_text(text: str, max_bytes: int) -> bytes:
    m = _DATA_URI.match(text)
    if m:
        meta, payload = m.group(1), text[m.end():]
        if meta.lower().rstrip().endswith(";base64"):
            return _b64decode(payload, max_bytes)
        # A non-base64 data URI carries percent-encoded bytes.
        if len(payload) > 3 * max_bytes:
            raise ImageTooLarge(f"image data exceeds {max_bytes} bytes")
        data = unquote_to_bytes(payload)
        _check_bytes(data, max_bytes)
        return data
    return _b64decode(text, max_bytes)


def _b64decode(text: str, max_bytes: int) -> bytes:
    s = _WS.sub("", text)
    if not s:
        raise UndecodableImage("empty image data")
    # Estimate the decoded size before decoding so a huge string is refused cheaply.
    if len(s) * 3 // 4 > max_bytes + 3:
        raise ImageTooLarge(f"image data exceeds {max_bytes} bytes")
    s = s.rstrip("=")
    if "-" in s or "_" in s:  # urlsafe alphabet
        s = s.replace("-", "+").replace("_", "/")
    if len(s) % 4 == 1:
        raise UndecodableImage("invalid base64 image data")
    s += "=" * (-len(s) % 4)
    try:
        data = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise UndecodableImage("invalid base64 image data") from None
    _check_bytes(data, max_bytes)
    return data


def _check_bytes(data: bytes, max_bytes: int) -> None:
    if not data:
        raise UndecodableImage("empty image data")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"image data exceeds {max_bytes} bytes")


# --------------------------------------------------------------------------- bytes -> pixels


def _formats() -> list[str]:
    # Image.open raises KeyError for a name no plugin registered (AVIF/HEIF depend on the build).
    Image.init()
    return [f for f in FORMATS if f in Image.OPEN]


def _check_size(w: int, h: int, *, min_side: int, max_side: int, max_pixels: int) -> None:
    if w * h > max_pixels:
        raise DecompressionBomb(f"image of {w * h} pixels exceeds the limit of {max_pixels}")
    if max(w, h) > max_side:
        raise ImageTooLarge(f"image side {max(w, h)} px exceeds {max_side} px")
    if min(w, h) < min_side:
        raise ImageTooSmall(f"image side {min(w, h)} px is under {min_side} px")


def _from_bytes(data: bytes, *, min_side: int, max_side: int, max_pixels: int,
                work_side: int | None = None) -> Decoded:
    with warnings.catch_warnings():
        # Pillow's bomb check only warns between MAX_IMAGE_PIXELS and twice that: make it an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=_formats())
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise DecompressionBomb("image dimensions exceed the pixel limit") from None
        except Exception as e:  # plugins raise many types on malformed headers
            raise UndecodableImage(f"not a decodable image ({type(e).__name__})") from None
        with im:
            fmt = str(im.format or "unknown")
            w, h = im.size
            k = reduction(w, h, work_side) if work_side and fmt in ("JPEG", "MPO") else 1
            # a JPEG's cap is on what its reduced decode will hold (k x k fewer pixels)
            _check_size(w, h, min_side=min_side, max_side=max_side, max_pixels=max_pixels * k * k)
            frame = _check_frame(im, max_pixels * k * k)
            software = _software(im)
            orientation = _orientation(im)
            if k > 1:
                # DCT scaling: the decoder itself produces the reduced image (a fraction of the work)
                im.draft(None, (w // k, h // k))
            try:
                im.load()  # first frame only for GIF/WebP/TIFF/MPO: Image.open sits on frame 0
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise DecompressionBomb("image dimensions exceed the pixel limit") from None
            except Exception as e:
                raise UndecodableImage(f"image data is corrupt or truncated ({type(e).__name__})") from None
            # What was decoded, not what the header said: a frame larger than the header (a GIF's) counts.
            fw, fh = im.size
            if fw * fh > max_pixels:
                raise DecompressionBomb(f"image of {fw * fh} pixels exceeds the limit of {max_pixels}")
            if fmt == "GIF" and frame is not None and frame != (0, 0, fw, fh):
                im = im.crop(frame)  # a GIF's canvas beyond its frame holds nothing: read the frame only
            upright = _transpose(im, orientation)  # on the reduced image when drafted: cheap
            pixels = _to_bgr(upright)
    full = None
    if im.size != (w, h):  # drafted: the full-resolution upright size the coordinates map back to
        full = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
    return Decoded(
        pixels=pixels, format=fmt, software=software, original_size=(w, h), orientation=orientation, full_size=full
    )


def _check_frame(im: Image.Image, max_pixels: int) -> tuple[int, int, int, int] | None:
    """The box the frame's data covers (union of its tiles), refused when over the pixel cap: a frame the
    header understates. None when the plugin names no tiles."""
    boxes = []
    for tile in getattr(im, "tile", None) or ():
        box = tile[1] if len(tile) > 1 else None
        if box is not None and len(box) == 4:
            boxes.append(tuple(int(v) for v in box))
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    if (x1 - x0) * (y1 - y0) > max_pixels:
        raise DecompressionBomb(f"image frame of {(x1 - x0) * (y1 - y0)} pixels exceeds the limit of {max_pixels}")
    w, h = im.size
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def _software(im: Image.Image) -> str | None:
    value: object = None
    try:
        value = im.getexif().get(_EXIF_SOFTWARE)
    except Exception:  # a broken EXIF block should not make the image unreadable
        value = None
    if value is None:
        value = im.info.get("Software") or im.info.get("software")  # PNG text chunk
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:200] or None


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _transpose(im: Image.Image, orientation: int) -> Image.Image:
    if orientation == 1:
        return im
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # malformed EXIF: keep the pixels as stored rather than fail
        return im


def _to_bgr(im: Image.Image) -> np.ndarray:
    try:
        return _to_bgr_unchecked(im)
    except ImageError:
        raise
    except Exception as e:
        raise UndecodableImage(f"unsupported image mode ({type(e).__name__})") from None


def _to_bgr_unchecked(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        # Pillow's convert("L") clips 16-bit values instead of scaling them.
        gray = _scale_to_u8(np.asarray(im))
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode in ("P", "L", "RGB") and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
    elif mode == "RGB":
        rgb = im
    elif mode == "L":  # grey: one plane out of Pillow, then three (cheaper than Pillow's convert)
        return cv2.cvtColor(np.asarray(im, dtype=np.uint8), cv2.COLOR_GRAY2BGR)
    else:  # 1, P, CMYK, YCbCr, LAB, HSV, RGBX ...
        rgb = im.convert("RGB")
    arr = np.asarray(rgb, dtype=np.uint8)
    return cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)  # a fresh contiguous array, far faster than numpy's [..., ::-1]


def _scale_to_u8(a: np.ndarray) -> np.ndarray:
    """Map an integer or float array to uint8, treating >8-bit integer data as 16-bit."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.floating):
        f = np.nan_to_num(a.astype(np.float64))
        if f.size and f.max() <= 1.0:
            f = f * 255.0
        return np.clip(np.rint(f), 0, 255).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        wide = a.astype(np.int64)
        if a.dtype.itemsize >= 2 and wide.size and wide.max() > 255:
            wide = wide // 257  # 16-bit range onto 8-bit
        return np.clip(wide, 0, 255).astype(np.uint8)
    raise UndecodableImage("unsupported array dtype")


# --------------------------------------------------------------------------- ndarray -> pixels


def _from_array(a: np.ndarray, *, min_side: int, max_side: int, max_pixels: int) -> Decoded:
    a = np.asarray(a)  # subclasses (np.matrix) index unlike arrays: read them as the plain array they hold
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or a.size == 0:
        raise UndecodableImage("array is not a gray, BGR or BGRA image")
    h, w = int(a.shape[0]), int(a.shape[1])
    _check_size(w, h, min_side=min_side, max_side=max_side, max_pixels=max_pixels)
    try:
        u8 = _scale_to_u8(a)
    except ImageError:
        raise
    except Exception as e:
        raise UndecodableImage(f"unsupported array ({type(e).__name__})") from None
    if u8.ndim == 2:
        bgr = np.repeat(u8[:, :, None], 3, axis=2)
    elif u8.shape[2] == 4:
        # Flatten BGRA on white, as for files with alpha.
        alpha = u8[:, :, 3:4].astype(np.uint16)
        bgr = ((u8[:, :, :3].astype(np.uint16) * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    else:
        bgr = u8
    return Decoded(
        pixels=np.ascontiguousarray(bgr, dtype=np.uint8),
        format="ndarray",
        software=None,
        original_size=(w, h),
    )
