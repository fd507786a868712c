"""decode(): every input kind and format, EXIF orientation, alpha/mode conversion, size and byte limits."""

from __future__ import annotations

import base64
import contextlib
import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from idcard_ocr.decode import MAX_PIXELS, Decoded, decode, decode_with_meta
from idcard_ocr.errors import (
    DecompressionBomb,
    ImageError,
    ImageTooLarge,
    ImageTooSmall,
    UndecodableImage,
)

RED_BGR = (0, 0, 255)
BLUE_BGR = (255, 0, 0)


def two_tone(w: int = 64, h: int = 32) -> Image.Image:
    """Left half red, right half blue: shows channel order and rotation."""
    im = Image.new("RGB", (w, h), (255, 0, 0))
    im.paste((0, 0, 255), (w // 2, 0, w, h))
    return im


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png_bytes(w: int = 64, h: int = 32) -> bytes:
    return encode(two_tone(w, h), "PNG")


def close(px: np.ndarray, bgr: tuple[int, int, int], tol: int = 12) -> bool:
    return bool(np.all(np.abs(px.astype(int) - np.array(bgr)) <= tol))


def with_png_size(data: bytes, w: int, h: int) -> bytes:
    """Rewrite a PNG's IHDR to declare another size (valid CRC): a tiny file claiming huge dimensions."""
    assert data[12:16] == b"IHDR"
    ihdr = struct.pack(">II", w, h) + data[24:29]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return data[:16] + ihdr + crc + data[33:]


# --------------------------------------------------------------------------- formats


LOSSLESS = [("PNG", {}), ("BMP", {}), ("TIFF", {}), ("WEBP", {"lossless": True}), ("GIF", {})]


@pytest.mark.parametrize(("fmt", "kw"), [*LOSSLESS, ("JPEG", {"quality": 95}), ("WEBP", {"quality": 90})])
def test_format_round_trip(fmt: str, kw: dict[str, object]) -> None:
    d = decode_with_meta(encode(two_tone(), fmt, **kw))
    assert isinstance(d, Decoded)
    assert d.format == fmt
    assert d.pixels.shape == (32, 64, 3)
    assert d.pixels.dtype == np.uint8 and d.pixels.flags.c_contiguous
    assert d.original_size == (64, 32) and d.size == (64, 32)
    assert close(d.pixels[16, 8], RED_BGR) and close(d.pixels[16, 56], BLUE_BGR)


def test_heif_round_trip() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    try:
        data = encode(two_tone(), "HEIF", quality=90)
    except Exception as e:  # pragma: no cover - depends on the libheif build
        pytest.skip(f"this pillow_heif cannot encode HEIF ({type(e).__name__})")
    d = decode_with_meta(data)
    assert d.format == "HEIF"
    assert d.pixels.shape == (32, 64, 3)
    assert close(d.pixels[16, 8], RED_BGR, 30) and close(d.pixels[16, 56], BLUE_BGR, 30)


def test_gif_first_frame() -> None:
    frames = [Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    px = decode(buf.getvalue())
    assert px.shape == (30, 40, 3) and close(px[15, 20], RED_BGR)


def test_mpo_phone_jpeg_first_image() -> None:
    # Many phone JPEGs carry a second image (MPO); Pillow opens them through the JPEG plugin.
    first, second = Image.new("RGB", (40, 30), (255, 0, 0)), Image.new("RGB", (40, 30), (0, 0, 255))
    buf = io.BytesIO()
    first.save(buf, format="MPO", save_all=True, append_images=[second])
    d = decode_with_meta(buf.getvalue())
    assert d.format == "MPO" and close(d.pixels[15, 20], RED_BGR)


def test_jpeg_exif_orientation_6_rotates() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways; display rotated 90° clockwise
    d = decode_with_meta(encode(two_tone(64, 32), "JPEG", quality=95, exif=exif.tobytes()))
    assert d.original_size == (64, 32)
    assert d.orientation == 6
    assert d.pixels.shape == (64, 32, 3)  # now portrait
    # Rotating clockwise brings the stored left (red) to the top, the right (blue) to the bottom.
    assert close(d.pixels[8, 16], RED_BGR) and close(d.pixels[56, 16], BLUE_BGR)


def test_exif_software_tag() -> None:
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 25.0"
    d = decode_with_meta(encode(two_tone(), "JPEG", exif=exif.tobytes()))
    assert d.software == "Adobe Photoshop 25.0"
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "GIMP 2.10")
    assert decode_with_meta(encode(two_tone(), "PNG", pnginfo=info)).software == "GIMP 2.10"
    assert decode_with_meta(png_bytes()).software is None


# --------------------------------------------------------------------------- modes


def test_rgba_flattened_on_white() -> None:
    im = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    im.paste((0, 0, 255, 255), (10, 0, 20, 20))
    px = decode(encode(im, "PNG"))
    assert close(px[10, 2], (255, 255, 255), 0) and close(px[10, 15], BLUE_BGR, 0)


def test_half_alpha_blends_with_white() -> None:
    px = decode(encode(Image.new("RGBA", (20, 20), (0, 0, 0, 128)), "PNG"))
    assert close(px[5, 5], (127, 127, 127), 2)


def test_palette_transparency_and_la() -> None:
    p = Image.new("P", (20, 20), 0)
    p.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    p.paste(1, (10, 0, 20, 20))
    px = decode(encode(p, "PNG", transparency=0))
    assert close(px[5, 2], (255, 255, 255), 0) and close(px[5, 15], RED_BGR, 0)
    la = Image.new("LA", (20, 20), (0, 0))
    assert close(decode(encode(la, "PNG"))[3, 3], (255, 255, 255), 0)


def test_sixteen_bit_gray_scaled_not_clipped() -> None:
    a = np.full((20, 30), 32896, np.uint16)  # mid-grey in 16 bits = 128 in 8 bits
    im = Image.fromarray(a)
    assert im.mode == "I;16"
    px = decode(encode(im, "PNG"))
    assert px.shape == (20, 30, 3) and close(px[0, 0], (128, 128, 128), 1)


def test_cmyk_jpeg_and_bilevel() -> None:
    cmyk = Image.new("CMYK", (20, 20), (0, 255, 255, 0))  # red
    assert close(decode(encode(cmyk, "JPEG", quality=95))[10, 10], RED_BGR, 20)
    one = Image.new("1", (20, 20), 1)
    assert close(decode(encode(one, "PNG"))[0, 0], (255, 255, 255), 0)


# --------------------------------------------------------------------------- input kinds


def test_bytes_bytearray_memoryview() -> None:
    data = png_bytes()
    for value in (data, bytearray(data), memoryview(data)):
        assert decode(value).shape == (32, 64, 3)


def test_base64_variants() -> None:
    data = png_bytes()
    std = base64.b64encode(data).decode()
    variants = [
        std,
        std.rstrip("="),
        base64.encodebytes(data).decode(),  # newlines every 76 chars
        "  " + std + "\n",
        base64.urlsafe_b64encode(data).decode().rstrip("="),
        f"data:image/png;base64,{std}",
        f"DATA:image/png;base64,\n{base64.encodebytes(data).decode()}",
        "data:image/jpeg;base64," + std,  # declared type wrong: the bytes decide
    ]
    for v in variants:
        assert decode(v).shape == (32, 64, 3)
    assert decode(std.encode()).shape == (32, 64, 3)  # base64 text passed as bytes
    assert decode(f"data:image/png;base64,{std}".encode()).shape == (32, 64, 3)


def test_urlsafe_alphabet_needed() -> None:
    # Find a payload whose base64 actually uses the two characters that differ between alphabets.
    im = two_tone()
    for q in range(60, 100):
        data = encode(im, "JPEG", quality=q)
        url = base64.urlsafe_b64encode(data).decode()
        if "-" in url and "_" in url:
            assert decode(url).shape == (32, 64, 3)
            return
    pytest.fail("no payload with both - and _")


def test_percent_encoded_data_uri() -> None:
    from urllib.parse import quote_from_bytes

    uri = "data:image/png," + quote_from_bytes(png_bytes())
    assert decode(uri).shape == (32, 64, 3)


def test_path_str_and_pathlike(tmp_path: Path) -> None:
    p = tmp_path / "card.png"
    p.write_bytes(png_bytes())
    assert decode(str(p)).shape == (32, 64, 3)
    assert decode(p).shape == (32, 64, 3)


def test_numpy_inputs() -> None:
    bgr = np.zeros((20, 30, 3), np.uint8)
    bgr[:, :, 2] = 255
    out = decode(bgr)
    assert out.shape == (20, 30, 3) and close(out[0, 0], RED_BGR, 0)
    gray = np.full((20, 30), 77, np.uint8)
    assert close(decode(gray)[5, 5], (77, 77, 77), 0)
    assert decode(gray[:, :, None]).shape == (20, 30, 3)
    bgra = np.zeros((20, 30, 4), np.uint8)
    bgra[:, 15:] = (255, 0, 0, 255)
    out = decode(bgra)
    assert close(out[0, 0], (255, 255, 255), 0) and close(out[0, 20], BLUE_BGR, 0)
    assert close(decode(np.full((20, 30), 65535, np.uint16))[0, 0], (255, 255, 255), 0)
    assert close(decode(np.full((20, 30), 0.5, np.float32))[0, 0], (128, 128, 128), 1)
    meta = decode_with_meta(bgr)
    assert meta.format == "ndarray" and meta.original_size == (30, 20) and meta.software is None


def test_numpy_input_not_an_image() -> None:
    for bad in (np.zeros((20, 30, 2), np.uint8), np.zeros((4, 20, 30, 3), np.uint8), np.zeros((0, 0))):
        with pytest.raises(UndecodableImage):
            decode(bad)
    with pytest.raises(ImageTooSmall):
        decode(np.zeros((10, 10, 3), np.uint8))


# --------------------------------------------------------------------------- errors


SECRET = "张三110101199003071234"


def _raises(exc: type[ImageError], value: object, **kw: int) -> ImageError:
    with pytest.raises(exc) as info:
        decode(value, **kw)  # type: ignore[arg-type]
    err = info.value
    assert SECRET not in str(err) and "张三" not in str(err)
    # No chained exception either: a traceback in a log would show the underlying message.
    assert err.__cause__ is None
    assert err.__suppress_context__ or err.__context__ is None
    return err


def test_garbage_and_empty() -> None:
    _raises(UndecodableImage, SECRET.encode() + b"\x00\xff" * 40)
    _raises(UndecodableImage, b"")
    _raises(UndecodableImage, "")
    _raises(UndecodableImage, "   \n ")
    _raises(UndecodableImage, base64.b64encode(b"not an image at all " * 3).decode())


def test_bad_base64() -> None:
    _raises(UndecodableImage, "!!!" + SECRET + "!!!")
    _raises(UndecodableImage, "abcde")  # impossible length
    _raises(UndecodableImage, "data:image/png;base64,@@@@")


def test_nonexistent_path_not_leaked(tmp_path: Path) -> None:
    _raises(UndecodableImage, tmp_path / f"{SECRET}.jpg")
    _raises(UndecodableImage, tmp_path)  # a directory
    _raises(UndecodableImage, str(tmp_path / f"{SECRET}.jpg"))  # str: not a file, so base64: invalid


def test_unsupported_format_refused() -> None:
    _raises(UndecodableImage, encode(two_tone(), "PPM"))
    _raises(UndecodableImage, encode(two_tone(), "ICO"))


def test_truncated_image() -> None:
    data = encode(two_tone(200, 200), "PNG", compress_level=0)
    _raises(UndecodableImage, data[: len(data) // 2])


def test_too_small() -> None:
    _raises(ImageTooSmall, encode(Image.new("RGB", (10, 10)), "PNG"))
    _raises(ImageTooSmall, encode(Image.new("RGB", (300, 14)), "PNG"))
    assert decode(encode(Image.new("RGB", (15, 15)), "PNG")).shape == (15, 15, 3)


def test_too_large_side() -> None:
    data = encode(Image.new("1", (9000, 20)), "PNG")  # tiny file, long side over 8192
    err = _raises(ImageTooLarge, data)
    assert not isinstance(err, DecompressionBomb)
    assert decode(data, max_side=9000).shape == (20, 9000, 3)


def test_byte_cap(tmp_path: Path) -> None:
    data = png_bytes()
    _raises(ImageTooLarge, data, max_bytes=100)
    _raises(ImageTooLarge, base64.b64encode(data).decode(), max_bytes=100)
    p = tmp_path / "big.png"
    p.write_bytes(data)
    _raises(ImageTooLarge, p, max_bytes=100)


def test_decompression_bomb_header_checked_before_decoding() -> None:
    # 100000×100000 declared in a ~100-byte file: Pillow's own hard limit fires inside Image.open.
    bomb = with_png_size(encode(Image.new("1", (16, 16)), "PNG"), 100_000, 100_000)
    assert len(bomb) < 200
    _raises(DecompressionBomb, bomb)
    _raises(DecompressionBomb, base64.b64encode(bomb).decode())


def test_pillow_bomb_warning_becomes_error() -> None:
    # 9000×9000 lies between Pillow's warning and error thresholds: the warning must become our error
    # even when the caller lifted our own limits.
    bomb = with_png_size(encode(Image.new("1", (16, 16)), "PNG"), 9000, 9000)
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < 9000 * 9000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and nothing leaks out as a warning
        _raises(DecompressionBomb, bomb, max_side=20_000, max_pixels=10**9)


def test_own_pixel_cap() -> None:
    data = encode(Image.new("1", (4000, 4000)), "PNG")
    assert MAX_PIXELS > 4000 * 4000
    bomb_err = _raises(DecompressionBomb, data, max_pixels=1000 * 1000)
    assert isinstance(bomb_err, ImageTooLarge)  # callers catching ImageTooLarge also catch bombs


def test_error_codes() -> None:
    assert UndecodableImage.code == "undecodable" and DecompressionBomb.code == "decompression_bomb"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_image_errors(data: bytes) -> None:
    try:
        out = decode(data)
    except ImageError:
        return
    assert out.dtype == np.uint8 and out.ndim == 3  # pragma: no cover - vanishingly unlikely


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 200))
def test_corrupted_png_only_raises_image_errors(cut: int) -> None:
    data = bytearray(png_bytes())
    data[min(cut, len(data) - 1)] ^= 0xFF
    with contextlib.suppress(ImageError):
        decode(bytes(data))


def test_an_ndarray_subclass_is_read_as_its_array() -> None:
    # np.matrix once raised a bare ValueError from its own indexing rules (issue 10)
    m = np.matrix(np.full((300, 400), 128, np.uint8))
    out = decode(m)
    assert out.shape == (300, 400, 3) and out.dtype == np.uint8 and int(out[0, 0, 0]) == 128
