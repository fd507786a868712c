"""Decoding at the working size (JPEG draft mode) and the pixel cap counted on the frame actually decoded."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from idcard_ocr.decode import MAX_PIXELS, decode_with_meta, reduction
from idcard_ocr.errors import DecompressionBomb

RED, BLUE = (0, 0, 255), (255, 0, 0)  # BGR


def _jpeg(w: int, h: int, orientation: int = 1) -> bytes:
    """Left half red, right half blue, stored w x h, with an EXIF orientation tag."""
    im = Image.new("RGB", (w, h), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, w // 2, h))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def _near(px: np.ndarray, bgr: tuple[int, int, int]) -> bool:
    return bool(np.abs(px.astype(int) - bgr).max() <= 30)


def test_reduction_keeps_the_long_side_at_least_the_working_side() -> None:
    assert reduction(4032, 3024, 1600) == 2  # 2016
    assert reduction(3264, 2448, 1600) == 2  # 1632
    assert reduction(2592, 1944, 1600) == 1  # 1296 would be under
    assert reduction(13000, 400, 1600) == 8
    assert reduction(1270, 952, 1600) == 1


def test_large_jpeg_is_decoded_by_draft_to_the_working_size_then_turned_upright(monkeypatch: pytest.MonkeyPatch
                                                                                ) -> None:
    asked: list[tuple[int, int] | None] = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None):  # type: ignore[no-untyped-def]
        asked.append(size)
        return draft(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    data = _jpeg(3400, 2000, orientation=6)  # stored landscape, shown rotated 90 degrees clockwise
    d = decode_with_meta(data, work_side=1600)
    assert asked == [(1700, 1000)]  # the decoder scaled by 1/2 (DCT scaling), not a resize afterwards
    assert d.pixels.shape == (1700, 1000, 3)  # upright portrait, half size
    assert d.original_size == (3400, 2000) and d.orientation == 6
    assert d.upright_size == (2000, 3400) and d.to_full == (2.0, 2.0)
    # rotated clockwise: the stored left (red) half is now on top
    assert _near(d.pixels[200, 500], RED) and _near(d.pixels[1500, 500], BLUE)
    # without a working side, the full image as before
    full = decode_with_meta(data)
    assert full.pixels.shape == (3400, 2000, 3) and full.full_size is None and full.to_full == (1.0, 1.0)


def test_small_jpeg_and_other_formats_at_the_working_size() -> None:
    small = decode_with_meta(_jpeg(1270, 952), work_side=1600)
    assert small.pixels.shape == (952, 1270, 3) and small.full_size is None
    im = Image.new("RGB", (3300, 1000), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 1650, 1000))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    d = decode_with_meta(buf.getvalue(), work_side=1600)  # no DCT scaling in PNG: resized after decoding
    assert d.pixels.shape == (500, 1650, 3) and d.upright_size == (3300, 1000)
    assert _near(d.pixels[250, 100], RED) and _near(d.pixels[250, 1500], BLUE)


def test_png_over_the_pixel_cap_is_refused_with_the_documented_error() -> None:
    assert MAX_PIXELS == 40_000_000  # the documented default (IDCARD_OCR_MAX_PIXELS changes it)
    buf = io.BytesIO()
    Image.new("1", (6400, 6400)).save(buf, "PNG")  # 41 MP in a few kB
    with pytest.raises(DecompressionBomb) as e:
        decode_with_meta(buf.getvalue())
    assert e.value.code == "decompression_bomb"
    buf = io.BytesIO()
    Image.new("1", (6000, 6000)).save(buf, "PNG")  # 36 MP: under the cap
    assert decode_with_meta(buf.getvalue(), work_side=1600).upright_size == (6000, 6000)


def test_a_48_mp_phone_jpeg_reads_reduced_while_a_48_mp_png_is_refused() -> None:
    """The cap is on the pixels decoded: a JPEG is decoded at 1/4 scale (3 MP), a PNG cannot be."""
    big = _jpeg(8000, 6000, orientation=6)
    d = decode_with_meta(big, work_side=1600)
    assert d.pixels.shape[:2] == (2000, 1500) and d.upright_size == (6000, 8000)
    with pytest.raises(DecompressionBomb):
        decode_with_meta(big)  # without a working size nothing reduces it: 48 MP decoded is over the cap
    buf = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buf, "PNG")
    with pytest.raises(DecompressionBomb):
        decode_with_meta(buf.getvalue(), work_side=1600)


def _gif(screen: tuple[int, int], frame: tuple[int, int]) -> bytes:
    """A 400 x 300 GIF whose header (logical screen) and image descriptor claim the given sizes."""
    buf = io.BytesIO()
    Image.new("P", (400, 300), 1).save(buf, "GIF")
    g = bytearray(buf.getvalue())
    g[6:10] = struct.pack("<HH", *screen)
    i = g.index(b",", 13)  # the image descriptor
    g[i + 5:i + 9] = struct.pack("<HH", *frame)
    return bytes(g)


def test_gif_is_read_at_its_real_frame_not_the_size_its_header_claims() -> None:
    d = decode_with_meta(_gif((6000, 4000), (400, 300)))  # 24 MP screen around a 400 x 300 frame
    assert d.pixels.shape == (300, 400, 3)


def test_gif_frame_larger_than_its_header_counts_against_the_cap() -> None:
    with pytest.raises(DecompressionBomb):
        decode_with_meta(_gif((100, 100), (7000, 7000)))  # header 100 x 100, frame 49 MP
    with pytest.raises(DecompressionBomb):
        decode_with_meta(_gif((7000, 7000), (400, 300)))  # header over the cap: refused before decoding
