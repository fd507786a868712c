"""The batch row: `read`'s record for one image (records.reading_line) laid flat, one column per value.

JSONL and Parquet carry the same columns; a column is null where the image has no such value.
"""

from __future__ import annotations

from typing import Any

from ..model import FACEPP_CLASSES, FIELD_NAMES, OTHER_FIELDS, RISK_CLASSES

# Column kinds, mapped to Arrow types by output.py: str, int, float, bool, strs (list of str), box (four
# [x, y] corners), ints (list of int).
ALL_FIELDS: tuple[str, ...] = FIELD_NAMES + OTHER_FIELDS
CHECK_FLAGS: tuple[str, ...] = (
    "checksum", "area_known", "birth_matches", "sex_matches", "validity_term_ok", "number_repaired",
)
AREA_PARTS: tuple[str, ...] = ("code", "province", "city", "district", "historical")
QUALITY_FLAGS: tuple[str, ...] = ("blur", "over_exposure", "under_exposure", "glare", "cut_off", "covered", "too_small")
WARNING_FLAGS: tuple[str, ...] = (
    "expired", "validity_term_mismatch", "number_mismatch", "multiple_cards", "incomplete",
)
_RISK_NAME = dict(zip(FACEPP_CLASSES, RISK_CLASSES))  # Face++ class name -> ours


def _columns() -> list[tuple[str, str]]:
    cols = [("file", "str"), ("error", "str"), ("side", "str"), ("rotation", "int"), ("card_type", "str")]
    for f in ALL_FIELDS:
        cols += [(f, "str"), (f"{f}_confidence", "float"), (f"{f}_box", "box")]
    cols += [(c, "bool") for c in CHECK_FLAGS]
    cols += [(f"area_{p}", "bool" if p == "historical" else "str") for p in AREA_PARTS]
    cols += [("risk", "str"), *((f"risk_{c}", "float") for c in RISK_CLASSES), ("risk_reasons", "strs"),
             ("edit_tool", "str")]
    cols += [("quality_score", "int"), ("image_status", "str"), ("quality_flags", "strs"), ("warnings", "strs"),
             ("portrait_box", "ints"), ("time_ms", "float")]
    return cols


COLUMNS: list[tuple[str, str]] = _columns()
COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in COLUMNS)


def flat_row(rec: dict[str, Any]) -> dict[str, Any]:
    """One row with every column, from a record of records.read_file (a reading or {"file", "error"})."""
    row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    row["file"] = rec["file"]
    if "error" in rec:
        row["error"] = rec["error"]
        return row
    row.update(side=rec["side"], rotation=rec["rotation"], card_type=rec.get("card_type"), time_ms=rec["time_ms"])
    for name, f in rec["fields"].items():
        if name not in ALL_FIELDS:  # model.py names every field a reader may give (FIELD_NAMES, OTHER_FIELDS)
            continue
        row[name], row[f"{name}_confidence"] = f["value"], f["confidence"]
        row[f"{name}_box"] = [list(xy) for xy in f["box"]]  # lists, as JSON and Arrow give them back
    checks = rec["checks"]
    for c in CHECK_FLAGS:
        row[c] = checks.get(c)
    for p in AREA_PARTS:
        row[f"area_{p}"] = (checks.get("area") or {}).get(p)
    risk = rec.get("risk")
    if risk is not None:
        row["risk"], row["risk_reasons"], row["edit_tool"] = risk["class"], risk.get("reasons"), risk.get("edit_tool")
        for facepp, p in risk["scores"].items():
            row[f"risk_{_RISK_NAME[facepp]}"] = p
    quality = rec.get("quality")
    if quality is not None:
        row["quality_score"], row["image_status"] = quality.get("score"), quality.get("image_status")
        row["quality_flags"] = [q for q in QUALITY_FLAGS if quality.get(q)]
    if rec.get("warnings") is not None:
        row["warnings"] = [w for w in WARNING_FLAGS if rec["warnings"].get(w)]
    if rec.get("portrait") is not None:
        row["portrait_box"] = list(rec["portrait"]["box"])
    return row
