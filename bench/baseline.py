"""The baseline a user would glue together: plain RapidOCR full-image OCR, then regexes over the lines."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_DATE = re.compile(r"(\d{4})\D{0,2}(\d{1,2})\D{0,2}(\d{1,2})")
_NUMBER = re.compile(r"\d{17}[\dXx]")


def _date(text: str) -> str | None:
    m = _DATE.search(text)
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    return f"{y:04d}-{mo:02d}-{d:02d}" if 1 <= mo <= 12 and 1 <= d <= 31 else None


def baseline_read(ocr: Any, img: np.ndarray) -> dict[str, Any]:
    """Side and fields from a full-image RapidOCR pass (det + cls + rec at default settings)."""
    out = ocr(img)
    lines = [t.replace(" ", "") for t in (getattr(out, "txts", None) or ())]
    f: dict[str, str] = {}
    addr: list[str] = []
    in_addr = False
    pending = ""  # a label read as a line of its own: its value is the next line
    for t in lines:
        if "公民身份号码" in t or _NUMBER.search(t) or t.startswith(("签发机关", "有效期")):
            in_addr = False
        if pending:
            t, pending = pending + t, ""
        if t in ("姓名", "出生", "住址", "签发机关", "有效期限"):
            pending = t
            continue
        if in_addr:
            addr.append(t)
        if t.startswith("姓名"):
            f["name"] = t[2:]
        if "性别" in t or re.match(r"^[男女]", t):
            m = re.search("[男女]", t)
            if m:
                f["sex"] = m.group(0)
        if "民族" in t:
            f["nation"] = t.split("民族", 1)[1]
        if (t.startswith("出生") or re.match(r"^\d{4}年", t)) and (d := _date(t)):
            f["birth"] = d
        if t.startswith("住址"):
            addr, in_addr = [t[2:]], True
        if m := _NUMBER.search(t):
            f["number"] = m.group(0).upper()
        if "签发机关" in t:
            f["authority"] = t.split("签发机关", 1)[1]
        if "有效期" in t or re.search(r"\d{4}\.\d{2}\.\d{2}-", t):
            parts = re.split(r"[-—一~]", t.split("限", 1)[-1], maxsplit=1)
            if parts and (d := _date(parts[0])):
                f["valid_from"] = d
            if len(parts) > 1:
                f["valid_to"] = "长期" if "长期" in parts[1] else (_date(parts[1]) or "")
    if addr:
        f["address"] = "".join(addr)
    f = {k: v for k, v in f.items() if v}
    front = any(k in f for k in ("name", "number"))
    back = any(k in f for k in ("authority", "valid_from")) or any("居民身份证" in t for t in lines)
    side = "both" if front and back else "front" if front else "back" if back else "none"
    return {"side": side, "fields": f}
