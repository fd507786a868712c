"""Screenshot of the web page reading a synthetic card, for the README (docs/page.png).

    PYTHONPATH=src:. .venv/bin/python -m tools.screenshot [--out docs/page.png] [--seed 3 --condition skew] [--full]

Starts the server (the real reader) on a free loopback port, drives Debian's chromium (or IDCARD_OCR_BROWSER)
with Playwright, sends a card rendered by tools/synth, and saves the page as a PNG reduced to 256 colours.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import cv2
import uvicorn
from PIL import Image
from playwright.sync_api import sync_playwright

from idcard_ocr.server import Settings, create_app
from tools.synth import make_sample

BROWSER = os.environ.get("IDCARD_OCR_BROWSER", "/usr/bin/chromium")


def _serve() -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings()), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # the models are warmed before it serves
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def shoot(out: Path, seed: int, condition: str, width: int, height: int, full: bool = False) -> None:
    server, thread, base = _serve()
    try:
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
            card = Path(tmp) / "card.jpg"
            cv2.imwrite(str(card), make_sample(seed, condition).image, [cv2.IMWRITE_JPEG_QUALITY, 92])
            browser = pw.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(base + "/")
            page.set_input_files("#file", str(card))
            page.wait_for_selector("#result:not([hidden])", timeout=60_000)
            page.hover("#fields tbody tr[data-field='number']")  # show a lit box
            png = page.screenshot(full_page=full)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, optimize=True)
    print(f"{out}: {image.size[0]}x{image.size[1]}, {out.stat().st_size // 1024} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/page.png"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--condition", default="skew")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=1250)
    parser.add_argument("--full", action="store_true", help="the whole page, not only the first screen")
    args = parser.parse_args()
    shoot(args.out, args.seed, args.condition, args.width, args.height, args.full)


if __name__ == "__main__":
    main()
