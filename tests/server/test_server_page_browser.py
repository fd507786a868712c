"""The web page in a real browser: Playwright drives Debian's chromium (never a downloaded one) against a live
server on loopback with the real reader, sending cards rendered by tools/synth.

CI installs chromium (scripts/browser); a missing browser fails these tests rather than skipping them.
IDCARD_OCR_BROWSER points them at another chromium binary.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright
from server_helpers import FakeReader, busy_app, live_server, make_app, make_reading, with_checks

from idcard_ocr.server import Settings, create_app

if TYPE_CHECKING:
    from idcard_ocr.engine import Engine
    from tools.synth import Sample

pytestmark = pytest.mark.e2e
BROWSER = os.environ.get("IDCARD_OCR_BROWSER", "/usr/bin/chromium")
CARDS = {"front": (3, "rot90"), "back": (2, "clean"), "none": (1, "neg_document")}  # (seed, condition)
TIMEOUT_MS = 60_000
REFUSED = re.compile(r"status of 415 ")  # chromium logs the refusal of the text file the test sends


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(BROWSER, os.X_OK):
        pytest.fail(
            f"no chromium at {BROWSER}: run `bash scripts/browser` (Debian's chromium package) "
            "or set IDCARD_OCR_BROWSER to a chromium binary",
            pytrace=False,
        )
    with sync_playwright() as pw:
        # --no-sandbox: CI containers run as root, where chromium's sandbox refuses to start
        launched = pw.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def base(engine: Engine) -> Iterator[str]:
    """A live server with the real reader; the session's engine is already warm, so it starts at once."""
    with live_server(create_app(Settings())) as url:
        yield url


@pytest.fixture(scope="module")
def files(render: Callable[[int, str], Sample], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("page")
    out = {}
    for name, (seed, condition) in CARDS.items():
        out[name] = folder / f"{name}.jpg"
        cv2.imwrite(str(out[name]), render(seed, condition).image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    rgb = cv2.cvtColor(render(*CARDS["front"]).image, cv2.COLOR_BGR2RGB)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="TIFF")  # a format chromium cannot display
    out["tiff"] = folder / "front.tiff"
    out["tiff"].write_bytes(buf.getvalue())
    # a phone's JPEG: pixels stored turned 90° anticlockwise, EXIF orientation 6 turns them upright for display
    turned = Image.fromarray(cv2.cvtColor(render(*CARDS["back"]).image, cv2.COLOR_BGR2RGB)).transpose(
        Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    out["exif"] = folder / "back-exif.jpg"
    turned.save(out["exif"], format="JPEG", quality=92, exif=exif.tobytes())
    out["text"] = folder / "notes.txt"
    out["text"].write_text("not an image\n")
    return out


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    opened = context.new_page()
    problems: list[str] = []  # script errors and console errors (a CSP violation is one)
    opened.on("pageerror", lambda exc: problems.append(str(exc)))
    opened.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" and not
              REFUSED.search(msg.text) else None)
    yield opened
    context.close()
    assert problems == []


def _send(page: Page, base: str, path: Path) -> None:
    page.goto(base + "/")
    page.set_input_files("#file", str(path))
    # (no wait_for_function: the page's CSP rightly forbids the eval it needs)
    page.locator("#result:not([hidden]), #error:not([hidden])").first.wait_for(timeout=TIMEOUT_MS)


def _shown_fields(page: Page) -> dict[str, str]:
    rows = page.locator("#fields tbody tr[data-field]")
    return {rows.nth(i).get_attribute("data-field") or "": rows.nth(i).locator("td.value").inner_text()
            for i in range(rows.count())}


def _centre(box: dict[str, float]) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _assert_boxes_on_the_image(page: Page, truth: Any) -> None:
    """One box per field shown, each where the card renderer printed that field (in screen pixels)."""
    boxes = page.locator("#overlay polygon.field")
    names = {boxes.nth(i).get_attribute("data-field") for i in range(boxes.count())}
    assert boxes.count() == len(truth.fields) and names == set(truth.fields)
    shot = page.locator("#photo").bounding_box()
    assert shot is not None
    scale = shot["width"] / truth.image_size[0]
    for name in ("number", "name", "authority"):
        if name not in truth.boxes:
            continue
        drawn = page.locator(f"#overlay polygon.field[data-field='{name}']").bounding_box()
        assert drawn is not None
        xs, ys = [p[0] for p in truth.boxes[name]], [p[1] for p in truth.boxes[name]]
        want = (shot["x"] + (min(xs) + max(xs)) / 2 * scale, shot["y"] + (min(ys) + max(ys)) / 2 * scale)
        got = _centre(drawn)
        assert abs(got[0] - want[0]) < 0.03 * shot["width"] and abs(got[1] - want[1]) < 0.03 * shot["height"], name
    assert page.locator("#overlay polygon.card").count() == len(truth.quads)


def test_front_values_boxes_hover_and_dialects(
    page: Page, base: str, files: dict[str, Path], render: Callable[[int, str], Sample]
) -> None:
    truth = render(*CARDS["front"]).truth
    _send(page, base, files["front"])
    assert page.locator("#error").is_hidden()
    assert _shown_fields(page) == truth.fields
    _assert_boxes_on_the_image(page, truth)
    assert truth.rotation == 90 and "turned 90° clockwise" in page.inner_text("#summary")
    checks = page.inner_text("#checks")
    assert "Checksum correct" in checks and "Birth date agrees" in checks
    assert "Resident ID card" in page.inner_text("#card-checks")
    assert page.locator("#risk-scores tbody tr").count() == 5
    for crop in ("#portrait", "#card"):
        assert page.locator(crop).is_visible()
        assert page.eval_on_selector(crop, "img => img.naturalWidth") > 0

    # a field row lights its box, and a box its row
    page.hover("#fields tr[data-field='number']")
    assert "lit" in (page.get_attribute("#overlay polygon[data-field='number']", "class") or "")
    page.hover("#overlay polygon[data-field='name']")
    assert "lit" in (page.get_attribute("#fields tr[data-field='name']", "class") or "")
    assert "lit" not in (page.get_attribute("#overlay polygon[data-field='number']", "class") or "")

    # the dialect tabs: ours first; Huawei's panel holds Huawei's answer; arrow keys move between tabs
    tabs = page.locator("#tabs [role=tab]")
    assert tabs.count() >= 6 and tabs.first.get_attribute("aria-selected") == "true"
    page.click("#tabs [role=tab][data-name^='Huawei Cloud']")
    panel = page.locator("#panels [role=tabpanel]:visible")
    assert panel.count() == 1
    huawei = json.loads(panel.locator("pre").inner_text())
    assert huawei == {"result": {"name": truth.fields["name"], "sex": truth.fields["sex"],
                                 "ethnicity": truth.fields["nation"], "birth": truth.fields["birth"],
                                 "address": truth.fields["address"], "number": truth.fields["number"]}}
    panel.locator("button.copy").click()
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == huawei
    page.focus("#tabs [role=tab][aria-selected=true]")
    page.keyboard.press("ArrowRight")
    selected = page.locator("#tabs [role=tab][aria-selected=true]")
    assert (selected.get_attribute("data-name") or "").startswith("Alibaba Cloud market (/do)")
    assert page.evaluate("document.activeElement.getAttribute('aria-selected')") == "true"

    # readable on a phone: nothing wider than the screen
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_back_values_and_boxes(page: Page, base: str, files: dict[str, Path],
                               render: Callable[[int, str], Sample]) -> None:
    truth = render(*CARDS["back"]).truth
    _send(page, base, files["back"])
    assert _shown_fields(page) == truth.fields
    _assert_boxes_on_the_image(page, truth)
    assert "Validity term" in page.inner_text("#checks")
    assert page.locator("#portrait-fig").is_hidden()  # no photo on the back
    page.click("#tabs [role=tab][data-name^='Alibaba Cloud market (/idcard/ocr)']")
    market = json.loads(page.locator("#panels [role=tabpanel]:visible pre").inner_text())
    assert market["data"]["type"] == "back" and market["data"]["authority"] == truth.fields["authority"]


def test_exif_orientation_boxes_match_the_upright_image(
    page: Page, base: str, files: dict[str, Path], render: Callable[[int, str], Sample]
) -> None:
    """The browser shows a phone's JPEG upright as the reader does: the boxes still sit on their fields."""
    truth = render(*CARDS["back"]).truth
    _send(page, base, files["exif"])
    assert page.eval_on_selector("#photo", "img => img.naturalWidth") == truth.image_size[0]
    assert _shown_fields(page) == truth.fields
    _assert_boxes_on_the_image(page, truth)


def test_a_file_the_browser_cannot_show_is_drawn_from_the_servers_preview(
    page: Page, base: str, files: dict[str, Path], render: Callable[[int, str], Sample]
) -> None:
    truth = render(*CARDS["front"]).truth
    _send(page, base, files["tiff"])
    assert page.get_attribute("#photo", "src", timeout=TIMEOUT_MS).startswith("data:image/jpeg;base64,")
    assert page.eval_on_selector("#photo", "img => img.naturalWidth") > 0
    assert _shown_fields(page) == truth.fields
    _assert_boxes_on_the_image(page, truth)


def test_text_file_is_refused_with_a_message(page: Page, base: str, files: dict[str, Path]) -> None:
    _send(page, base, files["text"])
    error = page.locator("#error")
    assert error.is_visible() and error.get_attribute("role") == "alert"
    assert "not an image the server can read" in error.inner_text()
    assert page.locator("#result").is_hidden()


def test_no_card_says_so(page: Page, base: str, files: dict[str, Path]) -> None:
    _send(page, base, files["none"])
    assert "No ID card was found" in page.inner_text("#error")
    assert page.locator("#overlay polygon.field").count() == 0
    page.click("#tabs [role=tab][data-name^='Huawei Cloud']")  # each API's own refusal
    assert json.loads(page.locator("#panels [role=tabpanel]:visible pre").inner_text())["error_code"] == "AIS.0104"


def test_busy_server_says_when_to_retry(browser: Browser, files: dict[str, Path]) -> None:
    context = browser.new_context()
    page = context.new_page()
    with live_server(busy_app(retry_after=2)) as url:
        _send(page, url, files["front"])
        assert "busy" in page.inner_text("#error") and "2 seconds" in page.inner_text("#error")
    context.close()


def test_api_key_asked_for_then_sent(browser: Browser, files: dict[str, Path]) -> None:
    """A server with keys for our API: the page says so, opens the key box, and sends the key given."""
    context = browser.new_context()
    page = context.new_page()
    reader = FakeReader(with_checks(make_reading("front")))
    with live_server(make_app(reader, api_keys={"native": ["s3cret"]})) as url:
        _send(page, url, files["front"])
        assert "needs an API key" in page.inner_text("#error")
        assert page.locator("#key-box").get_attribute("open") is not None
        page.fill("#key", "s3cret")
        page.set_input_files("#file", str(files["front"]))
        page.locator("#result:not([hidden])").wait_for(timeout=TIMEOUT_MS)
        assert page.locator("#error").is_hidden()
        assert _shown_fields(page)["number"] == "110102197810272321"
    context.close()
    assert len(reader.calls) == 1  # the refused request never reached the reader
