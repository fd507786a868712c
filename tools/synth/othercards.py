"""Cards that are not the resident ID card but look like it: for the card-type and risk checks.

- 临时居民身份证 (temporary resident card): light green, one side with all nine items, black-and-white photo.
- 港澳台居民居住证 (residence permit for Hong Kong, Macao and Taiwan residents): the resident card's layout
  without 民族, number area 810000/820000/830000; the back adds 通行证号码 and 签发次数.
- 外国人永久居留身份证 (2023): bilingual labels, 18-digit number beginning with 9.
- 机动车驾驶证 (driving licence), a negative: its 证号 is the holder's ID number, its labels are partly the ID
  card's (姓名, 性别, 住址), yet it is not an ID card and must give no ID card fields.

Layouts follow the published descriptions of these cards as far as they go; where they do not say, the
positions are ours (synthetic cards for tests, not replicas). Positions in mm on the 85.6 x 54 mm body.
"""

from __future__ import annotations

import datetime as dt
import random

import cv2
import numpy as np
from PIL import Image

from idcard_ocr.idnumber import check_char

from .card import (
    HEI_FONTS,
    HEI_WEIGHTS,
    LABEL_PX,
    NAME_PX,
    NUMBER_PITCH_MM,
    NUMBER_PX,
    PX_PER_MM,
    SANS,
    SERIF,
    SERIF_BOLD,
    VALUE_PX,
    CardImage,
    _background,
    _fit,
    _jitter,
    _mm,
    _portrait,
    _Writer,
    corner_alpha,
    font,
    ocrb,
    paste_emblem,
)
from .identity import REF_DATE, Identity, add_years, random_identity

# Temporary card: photo box and title (mm), shared with the checks' expectations.
TEMP_PORTRAIT_MM = (60.0, 12.0, 82.0, 39.0)
FOREIGN_PORTRAIT_MM = (4.0, 13.0, 27.0, 43.0)
PERMIT_REGIONS = {"810000": "港澳", "820000": "港澳", "830000": "台湾"}
# ISO 3166 numeric codes and printed nationality of a few countries (2023 card: 中文/ISO alpha-3).
_COUNTRIES = (("124", "加拿大", "CAN"), ("840", "美国", "USA"), ("250", "法国", "FRA"), ("276", "德国", "DEU"),
              ("392", "日本", "JPN"), ("410", "韩国", "KOR"), ("036", "澳大利亚", "AUS"), ("826", "英国", "GBR"),
              ("643", "俄罗斯", "RUS"), ("702", "新加坡", "SGP"))
_EN_SURNAMES = ("SMITH", "MULLER", "MARTIN", "TANAKA", "KIM", "BROWN", "IVANOV", "LEE", "GARCIA", "WILSON")
_EN_GIVEN = ("JOHN", "ANNA", "PETER", "YUKI", "MINJUN", "SOPHIE", "DAVID", "OLGA", "MARIA", "THOMAS")
_ZH_TRANSLIT = ("约翰", "安娜", "彼得", "由纪", "敏俊", "索菲", "大卫", "奥尔加", "玛丽亚", "托马斯")
_ZH_SURNAME = ("史密斯", "穆勒", "马丁", "田中", "金", "布朗", "伊万诺夫", "李", "加西亚", "威尔逊")
# Province-level codes the 2023 card uses after the leading 9 (where the holder was approved).
_FOREIGN_PROVINCES = ("11", "31", "44", "32", "33", "12", "50", "21")


def _seq_number(rng: random.Random, head: str, birth: dt.date, sex: str) -> str:
    seq = rng.randrange(500) * 2 + (1 if sex == "男" else 0)
    first17 = head + birth.strftime("%Y%m%d") + f"{seq:03d}"
    return first17 + check_char(first17)


def _bw_portrait(rng: random.Random, w: int, h: int, female: bool) -> np.ndarray:
    gray = cv2.cvtColor(_portrait(rng, w, h, female), cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)


def _paste_photo(img: np.ndarray, photo: np.ndarray, box_mm: tuple[float, float, float, float]) -> tuple[int, ...]:
    x0, y0, x1, y1 = (round(_mm(v)) for v in box_mm)
    photo = cv2.resize(photo, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    region = img[y0:y1, x0:x1].astype(np.float32)
    img[y0:y1, x0:x1] = np.clip(region * photo.astype(np.float32) / 255, 0, 255).astype(np.uint8)
    return (x0, y0, x1, y1)


def _ink(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randint(10, 30) for _ in range(3))  # type: ignore[return-value]


def _blue(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randint(20, 50), rng.randint(120, 150), rng.randint(190, 215))


def _finish(side: str, pil: Image.Image, wr: _Writer, fields: dict[str, str]) -> CardImage:
    out = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    return CardImage(side, out, corner_alpha().copy(), wr.boxes, fields)


# ---------------------------------------------------------------- temporary card

def render_temporary(p: Identity, rng: random.Random) -> CardImage:
    """One side carrying all nine items: light green print, title, black-and-white photo."""
    bg = _background("front", rng.randrange(3)).astype(np.float32)
    green = np.array((0.84, 0.97, 0.86), np.float32) * rng.uniform(0.97, 1.0)  # RGB multiply: pale green
    img = np.clip(bg * green, 0, 255).astype(np.uint8)
    photo = _bw_portrait(rng, 260, 320, p.sex == "女")
    pbox = _paste_photo(img, photo, TEMP_PORTRAIT_MM)
    pil = Image.fromarray(img)
    wr = _Writer(pil)
    hei = rng.choices(HEI_FONTS, HEI_WEIGHTS)[0]
    ink, blue = _ink(rng), _blue(rng)
    title = font(SERIF_BOLD, 58)
    pitch = _mm(6.6)
    wr.text("title", 42.8 - 3.5 * pitch / PX_PER_MM, 5.6, "临时居民身份证", title, ink, pitch_px=pitch)
    lf, vf = font(SANS, LABEL_PX - 3), font(hei, VALUE_PX - 3)
    vx = 15.0 + _jitter(rng)
    wr.text("label_name", 4.5, 12.5, "姓名", lf, blue, pitch_px=LABEL_PX * 1.4)
    wr.text("name", vx, 12.5, p.name, _fit(hei, NAME_PX - 4, p.name, _mm(57 - vx)), ink)
    wr.text("label_sex", 4.5, 17.3, "性别", lf, blue, pitch_px=LABEL_PX * 1.4)
    wr.text("sex", vx, 17.3, p.sex, vf, ink)
    wr.text("label_nation", 25.0, 17.3, "民族", lf, blue, pitch_px=LABEL_PX * 1.4)
    wr.text("nation", 34.0, 17.3, p.nation, _fit(hei, VALUE_PX - 3, p.nation, _mm(20)), ink)
    wr.text("label_birth", 4.5, 22.1, "出生", lf, blue, pitch_px=LABEL_PX * 1.4)
    b = p.birth
    wr.text("birth", vx, 22.1, f"{b.year}年{b.month}月{b.day}日", vf, ink)
    wr.text("label_address", 4.5, 26.9, "住址", lf, blue, pitch_px=LABEL_PX * 1.4)
    lines = p.address_lines()
    for i, line in enumerate(lines):
        box = wr.text(f"address_{i + 1}", vx, 26.9 + 3.9 * i, line, _fit(hei, VALUE_PX - 3, line, _mm(57 - vx)), ink)
        wr.boxes["address"] = box if "address" not in wr.boxes else (
            min(wr.boxes["address"][0], box[0]), min(wr.boxes["address"][1], box[1]),
            max(wr.boxes["address"][2], box[2]), max(wr.boxes["address"][3], box[3]))
    wr.text("label_number", 4.5, 41.0, "公民身份号码", lf, blue)
    wr.text("number", 27.0, 41.0, p.number, ocrb(NUMBER_PX - 8), ink, pitch_px=_mm(NUMBER_PITCH_MM - 0.35), ref="0")
    wr.text("label_authority", 4.5, 46.2, "签发机关", lf, blue)
    wr.text("authority", 20.0, 46.2, p.authority, _fit(hei, VALUE_PX - 5, p.authority, _mm(62)), ink)
    wr.text("label_validity", 4.5, 50.6, "有效期限", lf, blue)
    # Valid three months from issue.
    start = min(REF_DATE - dt.timedelta(days=rng.randint(1, 80)), REF_DATE)
    end = start + dt.timedelta(days=90)
    text = f"{start:%Y.%m.%d}-{end:%Y.%m.%d}"
    wr.text("validity", 20.0, 50.6, text, font(hei, VALUE_PX - 5), ink)
    wr.boxes["portrait"] = pbox
    fields = {**p.front_fields(), "authority": p.authority, "valid_from": start.isoformat(),
              "valid_to": end.isoformat()}
    return _finish("front", pil, wr, fields)


# ---------------------------------------------------------------- residence permit (HK / Macao / Taiwan)

def permit_identity(rng: random.Random) -> tuple[Identity, dict[str, str]]:
    """A resident of Hong Kong, Macao or Taiwan living on the mainland: 81/82/83 number, no nation."""
    base = random_identity(rng)
    area = rng.choice(tuple(PERMIT_REGIONS))
    number = _seq_number(rng, area, base.birth, base.sex)
    issue = REF_DATE - dt.timedelta(days=rng.randint(20, 4 * 365))
    p = Identity(name=base.name, sex=base.sex, nation="", birth=base.birth, address=base.address, number=number,
                 authority=base.authority, valid_from=issue, valid_to=add_years(issue, 5))
    if area == "830000":
        pass_no = f"{rng.randint(0, 99_999_999):08d}"
    else:
        pass_no = ("H" if area == "810000" else "M") + f"{rng.randint(0, 99_999_999):08d}"
    return p, {"pass_number": pass_no, "issue_count": f"{rng.randint(1, 6):02d}", "region": PERMIT_REGIONS[area]}


def render_permit_front(p: Identity, rng: random.Random) -> CardImage:
    """The resident card's front without 民族."""
    img = _background("front", rng.randrange(3)).copy()
    pbox = _paste_photo(img, _portrait(rng, 312, 384, p.sex == "女"), (55.0, 6.0, 81.0, 38.0))
    pil = Image.fromarray(img)
    wr = _Writer(pil)
    hei = rng.choices(HEI_FONTS, HEI_WEIGHTS)[0]
    ink, blue = _ink(rng), _blue(rng)
    lf, vf = font(SANS, LABEL_PX), font(hei, VALUE_PX)
    vx = 16.5 + _jitter(rng)
    pitch = LABEL_PX * 1.5
    wr.text("label_name", 5.5, 8.0, "姓名", lf, blue, pitch_px=pitch)
    wr.text("name", vx, 8.0, p.name, _fit(hei, NAME_PX, p.name, _mm(52 - vx)), ink)
    wr.text("label_sex", 5.5, 13.0, "性别", lf, blue, pitch_px=pitch)
    wr.text("sex", vx, 13.0, p.sex, vf, ink)
    wr.text("label_birth", 5.5, 19.5, "出生", lf, blue, pitch_px=pitch)
    b = p.birth
    wr.text("birth", vx, 19.5, f"{b.year} 年 {b.month} 月 {b.day} 日", vf, ink)
    wr.text("label_address", 5.5, 26.0, "住址", lf, blue, pitch_px=pitch)
    for i, line in enumerate(p.address_lines()):
        wr.text("address", vx, 26.0 + 4.5 * i, line, vf, ink)
    wr.text("label_number", 5.5, 47.0, "公民身份号码", lf, blue)
    wr.text("number", 28.0, 47.0, p.number, ocrb(NUMBER_PX), ink, pitch_px=_mm(NUMBER_PITCH_MM), ref="0")
    wr.boxes["portrait"] = pbox
    f = p.front_fields()
    del f["nation"]
    return _finish("front", pil, wr, f)


def render_permit_back(p: Identity, extra: dict[str, str], rng: random.Random) -> CardImage:
    """Emblem, 中华人民共和国 + 港澳/台湾居民居住证, authority, validity, pass number and issue count."""
    img = _background("back", rng.randrange(3)).copy()
    paste_emblem(img, round(_mm(6.0)), round(_mm(5.0)))
    pil = Image.fromarray(img)
    wr = _Writer(pil)
    hei = rng.choices(HEI_FONTS, HEI_WEIGHTS)[0]
    ink, blue = _ink(rng), _blue(rng)
    t1 = font(SERIF, 56)
    wr.text("title", 50 - 3.5 * 5.6, 9.5, "中华人民共和国", t1, ink, pitch_px=_mm(5.6))
    title2 = extra["region"] + "居民居住证"
    t2 = font(SERIF_BOLD, 74)
    pitch2 = _mm(7.4)
    wr.text("title2", 52 - len(title2) / 2 * 7.4, 18.5, title2, t2, ink, pitch_px=pitch2)
    lf, vf = font(SANS, LABEL_PX), font(hei, VALUE_PX)
    wr.text("label_pass", 10.0, 32.0, "通行证号码", lf, blue)
    wr.text("pass_number", 30.0, 32.0, extra["pass_number"], vf, ink)
    wr.text("label_count", 55.0, 32.0, "签发次数", lf, blue)
    wr.text("issue_count", 70.0, 32.0, extra["issue_count"], vf, ink)
    wr.text("label_authority", 10.0, 39.0, "签发机关", lf, blue)
    wr.text("authority", 30.0, 39.0, p.authority, _fit(hei, VALUE_PX, p.authority, _mm(52)), ink)
    wr.text("label_validity", 10.0, 46.0, "有效期限", lf, blue)
    wr.text("validity", 30.0, 46.0, p.validity_text(), vf, ink)
    fields = {**p.back_fields(), "pass_number": extra["pass_number"], "issue_count": extra["issue_count"]}
    return _finish("back", pil, wr, fields)


# ---------------------------------------------------------------- foreigners' permanent residence card (2023)

def render_foreign(rng: random.Random) -> CardImage:
    """Front of the 2023 card: bilingual title and labels, photo at the left, 18 digits beginning with 9."""
    k = rng.randrange(len(_EN_SURNAMES))
    g = rng.randrange(len(_EN_GIVEN))
    sex = rng.choice(("男", "女"))
    birth = REF_DATE - dt.timedelta(days=rng.randint(20 * 365, 70 * 365))
    code, zh_country, iso3 = rng.choice(_COUNTRIES)
    number = _seq_number(rng, "9" + rng.choice(_FOREIGN_PROVINCES) + code, birth, sex)
    issue = REF_DATE - dt.timedelta(days=rng.randint(20, 2 * 365))
    end = add_years(issue, 10)
    img = _background("front", rng.randrange(3)).astype(np.float32)
    img = np.clip(img * np.array((0.98, 0.95, 0.88), np.float32), 0, 255).astype(np.uint8)  # warmer print
    pbox = _paste_photo(img, _portrait(rng, 276, 360, sex == "女"), FOREIGN_PORTRAIT_MM)
    pil = Image.fromarray(img)
    wr = _Writer(pil)
    ink, blue = _ink(rng), _blue(rng)
    wr.text("title", 6.0, 4.6, "中华人民共和国外国人永久居留身份证", font(SERIF_BOLD, 40), ink)
    wr.text("title_en", 6.0, 8.4, "FOREIGN PERMANENT RESIDENT ID CARD OF THE PEOPLE'S REPUBLIC OF CHINA",
            font(SANS, 20), ink, ref="N")
    lf, vf = font(SANS, 24), font(HEI_FONTS[0], VALUE_PX - 2)
    x_l, x_v = 30.0, 30.0
    zh_name = _ZH_SURNAME[k] + "·" + _ZH_TRANSLIT[g]
    en_name = f"{_EN_SURNAMES[k]}, {_EN_GIVEN[g]}"
    wr.text("label_name", x_l, 12.8, "姓名/Name", lf, blue, ref="N")
    wr.text("name_en", x_v, 16.4, en_name, font(SANS, 34), ink, ref="N")
    wr.text("name", x_v, 20.6, zh_name, vf, ink)
    wr.text("label_sex", x_l, 24.6, "性别/Sex", lf, blue, ref="N")
    wr.text("sex", x_v, 27.9, f"{sex}/{'M' if sex == '男' else 'F'}", vf, ink)
    wr.text("label_birth", 52.0, 24.6, "出生日期/Date of Birth", lf, blue, ref="N")
    wr.text("birth", 52.0, 27.9, birth.strftime("%Y.%m.%d"), vf, ink, ref="0")
    wr.text("label_nationality", x_l, 31.9, "国籍/Nationality", lf, blue, ref="N")
    wr.text("nationality", x_v, 35.2, f"{zh_country}/{iso3}", vf, ink)
    wr.text("label_validity", 52.0, 31.9, "有效期限/Period of Validity", lf, blue, ref="N")
    wr.text("validity", 52.0, 35.2, f"{issue:%Y.%m.%d}-{end:%Y.%m.%d}", font(HEI_FONTS[0], VALUE_PX - 6), ink,
            ref="0")
    wr.text("label_number", x_l, 40.2, "证件号码/Card No.", lf, blue, ref="N")
    wr.text("number", 30.0, 46.5, number, ocrb(NUMBER_PX - 4), ink, pitch_px=_mm(NUMBER_PITCH_MM - 0.2), ref="0")
    wr.boxes["portrait"] = pbox
    fields = {"name": zh_name, "name_en": en_name, "sex": sex, "birth": birth.isoformat(),
              "nationality": f"{zh_country}/{iso3}", "valid_from": issue.isoformat(), "valid_to": end.isoformat(),
              "number": number}
    return _finish("front", pil, wr, fields)


# ---------------------------------------------------------------- driving licence (a negative)

def render_driving_licence(p: Identity, rng: random.Random) -> CardImage:
    """The licence's main page: title, 证号 (the ID number), 姓名/性别/国籍, 住址, dates, 准驾车型, photo at right."""
    bg = _background("back", rng.randrange(3)).astype(np.float32)
    tint = np.array((0.90, 0.94, 1.0), np.float32) * rng.uniform(0.97, 1.0)  # BGR: the licence's pale blue
    img = np.clip(bg * tint, 0, 255).astype(np.uint8)
    _paste_photo(img, _portrait(rng, 240, 300, p.sex == "女"), (63.0, 17.0, 82.0, 41.0))
    pil = Image.fromarray(img)
    wr = _Writer(pil)
    hei = rng.choices(HEI_FONTS, HEI_WEIGHTS)[0]
    ink = _ink(rng)
    lf, vf = font(SANS, LABEL_PX - 4), font(hei, VALUE_PX - 4)
    wr.text("title", 14.0, 3.5, "中华人民共和国机动车驾驶证", font(SERIF_BOLD, 44), ink)
    wr.text("label_no", 4.0, 11.0, "证号", lf, ink)
    wr.text("number", 14.0, 11.0, p.number, ocrb(NUMBER_PX - 10), ink, ref="0")
    wr.text("label_name", 4.0, 17.0, "姓名", lf, ink)
    wr.text("name", 14.0, 17.0, p.name, vf, ink)
    wr.text("label_sex", 33.0, 17.0, "性别", lf, ink)
    wr.text("sex", 41.0, 17.0, p.sex, vf, ink)
    wr.text("label_country", 47.0, 17.0, "国籍", lf, ink)
    wr.text("country", 55.0, 17.0, "中国", vf, ink)
    wr.text("label_address", 4.0, 23.0, "住址", lf, ink)
    for i, line in enumerate(p.address_lines()[:2]):
        wr.text(f"address_{i}", 14.0, 23.0 + 4.5 * i, line, _fit(hei, VALUE_PX - 4, line, _mm(46)), ink)
    b = p.birth
    wr.text("label_birth", 4.0, 33.0, "出生日期", lf, ink)
    wr.text("birth", 22.0, 33.0, f"{b:%Y-%m-%d}", vf, ink)
    first = p.valid_from
    wr.text("label_first", 4.0, 38.5, "初次领证日期", lf, ink)
    wr.text("first", 28.0, 38.5, f"{first:%Y-%m-%d}", vf, ink)
    wr.text("label_class", 4.0, 44.0, "准驾车型", lf, ink)
    wr.text("class", 22.0, 44.0, rng.choice(("C1", "C2", "B2", "A1")), vf, ink)
    end = add_years(first, rng.choice((6, 10)))
    wr.text("label_validity", 4.0, 49.5, "有效期限", lf, ink)
    wr.text("validity", 22.0, 49.5, f"{first:%Y-%m-%d}至{end:%Y-%m-%d}", vf, ink)
    return _finish("front", pil, wr, {})
