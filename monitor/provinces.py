"""The 34 provincial-level units of Vietnam (since 07/2025) and the names of probers' locations.

A prober's ``location`` setting is an ASCII id (``^[a-z0-9][a-z0-9_-]*$``): the province's name without
diacritics, ``đ`` as ``d``, words run together (``caobang``, ``hochiminh``), hyphenated or underscored forms too
(``cao-bang``, ``ho_chi_minh``), and a few common aliases (``hcm``, ``tphcm``, ``thuathienhue``). What the report,
``monitor incidents`` and the status page show for a location is :func:`location_name`: the province's
Vietnamese name, or the id itself for a location that is no province (a data centre, ``local``); the
``location_names`` setting overrides and extends it. :func:`province_id` reads a province's name as people
write it ("Cao Bằng", "tỉnh Đắk Lắk", "TP. Hồ Chí Minh", NFC or NFD). Pure; every name returned is NFC.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

PROVINCES: dict[str, str] = {  # id -> name, in the order of Nghị quyết 202/2025/QH15
    "hanoi": "Hà Nội",
    "hue": "Huế",
    "laichau": "Lai Châu",
    "dienbien": "Điện Biên",
    "sonla": "Sơn La",
    "langson": "Lạng Sơn",
    "quangninh": "Quảng Ninh",
    "thanhhoa": "Thanh Hóa",
    "nghean": "Nghệ An",
    "hatinh": "Hà Tĩnh",
    "caobang": "Cao Bằng",
    "tuyenquang": "Tuyên Quang",
    "laocai": "Lào Cai",
    "thainguyen": "Thái Nguyên",
    "phutho": "Phú Thọ",
    "bacninh": "Bắc Ninh",
    "hungyen": "Hưng Yên",
    "haiphong": "Hải Phòng",
    "ninhbinh": "Ninh Bình",
    "quangtri": "Quảng Trị",
    "danang": "Đà Nẵng",
    "quangngai": "Quảng Ngãi",
    "gialai": "Gia Lai",
    "khanhhoa": "Khánh Hòa",
    "lamdong": "Lâm Đồng",
    "daklak": "Đắk Lắk",
    "hochiminh": "TP. Hồ Chí Minh",
    "dongnai": "Đồng Nai",
    "tayninh": "Tây Ninh",
    "cantho": "Cần Thơ",
    "vinhlong": "Vĩnh Long",
    "dongthap": "Đồng Tháp",
    "camau": "Cà Mau",
    "angiang": "An Giang",
}

ALIASES: dict[str, str] = {  # another id people use -> the province's id
    "hn": "hanoi",
    "tphanoi": "hanoi",
    "thuathienhue": "hue",
    "tphue": "hue",
    "daclac": "daklak",
    "dn": "danang",
    "tpdanang": "danang",
    "hcm": "hochiminh",
    "hcmc": "hochiminh",
    "tphcm": "hochiminh",
    "tphochiminh": "hochiminh",
    "saigon": "hochiminh",
    "hp": "haiphong",
    "tphaiphong": "haiphong",
    "ct": "cantho",
    "tpcantho": "cantho",
}

_PREFIX = re.compile(r"^(?:tinh|thanh ?pho|tp)\b\.?\s*")  # "tỉnh Cao Bằng", "Thành phố Huế", "TP. Hồ Chí Minh"


def _fold(text: str) -> str:
    """Lower case ASCII with spaces: diacritics dropped (NFC or NFD alike), ``đ`` as ``d``."""
    decomposed = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def slug(text: str) -> str:
    """``Đắk Lắk`` -> ``daklak``, ``cao-bang`` -> ``caobang``: letters and digits only, without diacritics."""
    return re.sub(r"[^a-z0-9]", "", _fold(text))


def province_of(location: str) -> str | None:
    """The province id a location id (or its hyphenated, underscored or alias form) stands for; None if none."""
    key = slug(location)
    key = ALIASES.get(key, key)
    return key if key in PROVINCES else None


def province_id(name: str) -> str | None:
    """The province id of a name as written (``Cao Bằng``, ``tỉnh Cao Bằng``, ``TP. Hồ Chí Minh``, ``HCM``, NFD
    text too); None when it names no province."""
    folded = re.sub(r"\s+", " ", _fold(name)).strip()
    found = province_of(folded)
    return found if found is not None else province_of(_PREFIX.sub("", folded))


def location_name(location: str, overrides: Mapping[str, str] | None = None) -> str:
    """What a location is called in Vietnamese: the ``location_names`` setting's name for it, else its
    province's name, else the id itself (``dc-vdc``, ``local``). NFC."""
    if overrides and location in overrides:
        return unicodedata.normalize("NFC", overrides[location])
    province = province_of(location)
    return PROVINCES[province] if province is not None else unicodedata.normalize("NFC", location)


def location_names(locations: Iterable[str], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """:func:`location_name` of each location, keyed by id."""
    return {location: location_name(location, overrides) for location in locations}


def places(names: list[str]) -> str:
    """``Cao Bằng``, ``Cao Bằng và Lạng Sơn``, ``Cao Bằng, Lạng Sơn và Hà Nội`` (``;`` between items when a name
    holds a comma); empty for none."""
    if len(names) <= 1:
        return "".join(names)
    separator = "; " if any("," in name for name in names) else ", "
    return separator.join(names[:-1]) + " và " + names[-1]
