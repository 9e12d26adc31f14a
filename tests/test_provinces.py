"""Province names for probers' locations: every one of the 34 units, aliases, hyphens, NFD text, đ, overrides."""

from __future__ import annotations

import unicodedata

import pytest

from monitor.config.settings import Settings
from monitor.provinces import ALIASES, PROVINCES, location_name, location_names, places, province_id, province_of

NAMES = (  # the 34 provincial-level units since 07/2025, as the resolution lists them
    "Hà Nội", "Huế", "Lai Châu", "Điện Biên", "Sơn La", "Lạng Sơn", "Quảng Ninh", "Thanh Hóa", "Nghệ An", "Hà Tĩnh",
    "Cao Bằng", "Tuyên Quang", "Lào Cai", "Thái Nguyên", "Phú Thọ", "Bắc Ninh", "Hưng Yên", "Hải Phòng",
    "Ninh Bình", "Quảng Trị", "Đà Nẵng", "Quảng Ngãi", "Gia Lai", "Khánh Hòa", "Lâm Đồng", "Đắk Lắk",
    "TP. Hồ Chí Minh", "Đồng Nai", "Tây Ninh", "Cần Thơ", "Vĩnh Long", "Đồng Tháp", "Cà Mau", "An Giang",
)

IDS = {  # written out by hand: the ids a prober's MONITOR_LOCATION takes
    "hanoi": "Hà Nội", "hue": "Huế", "laichau": "Lai Châu", "dienbien": "Điện Biên", "sonla": "Sơn La",
    "langson": "Lạng Sơn", "quangninh": "Quảng Ninh", "thanhhoa": "Thanh Hóa", "nghean": "Nghệ An",
    "hatinh": "Hà Tĩnh", "caobang": "Cao Bằng", "tuyenquang": "Tuyên Quang", "laocai": "Lào Cai",
    "thainguyen": "Thái Nguyên", "phutho": "Phú Thọ", "bacninh": "Bắc Ninh", "hungyen": "Hưng Yên",
    "haiphong": "Hải Phòng", "ninhbinh": "Ninh Bình", "quangtri": "Quảng Trị", "danang": "Đà Nẵng",
    "quangngai": "Quảng Ngãi", "gialai": "Gia Lai", "khanhhoa": "Khánh Hòa", "lamdong": "Lâm Đồng",
    "daklak": "Đắk Lắk", "hochiminh": "TP. Hồ Chí Minh", "dongnai": "Đồng Nai", "tayninh": "Tây Ninh",
    "cantho": "Cần Thơ", "vinhlong": "Vĩnh Long", "dongthap": "Đồng Tháp", "camau": "Cà Mau", "angiang": "An Giang",
}


def test_the_34_provinces_and_nothing_else():
    assert len(PROVINCES) == 34
    assert sorted(PROVINCES.values()) == sorted(NAMES)
    assert PROVINCES == IDS


@pytest.mark.parametrize(("location", "name"), sorted(IDS.items()))
def test_every_province_id_has_its_vietnamese_name_in_nfc(location, name):
    found = location_name(location)
    assert found == name
    assert unicodedata.is_normalized("NFC", found)
    assert Settings(location=location).location == location  # a valid MONITOR_LOCATION


@pytest.mark.parametrize(("alias", "name"), [
    ("hcm", "TP. Hồ Chí Minh"), ("tphcm", "TP. Hồ Chí Minh"), ("tp-hcm", "TP. Hồ Chí Minh"),
    ("ho-chi-minh", "TP. Hồ Chí Minh"), ("ho_chi_minh", "TP. Hồ Chí Minh"), ("saigon", "TP. Hồ Chí Minh"),
    ("cao-bang", "Cao Bằng"), ("cao_bang", "Cao Bằng"), ("ha-noi", "Hà Nội"), ("hn", "Hà Nội"),
    ("da-nang", "Đà Nẵng"), ("thua-thien-hue", "Huế"), ("dak-lak", "Đắk Lắk"), ("daclac", "Đắk Lắk"),
    ("lang-son", "Lạng Sơn"), ("hai-phong", "Hải Phòng"), ("can-tho", "Cần Thơ"),
])
def test_aliases_and_hyphenated_ids(alias, name):
    assert location_name(alias) == name


def test_every_alias_points_at_a_province():
    assert set(ALIASES.values()) <= set(PROVINCES)
    assert not set(ALIASES) & set(PROVINCES)


@pytest.mark.parametrize("location", ["local", "dc-vdc", "sim", "hanoi-dc2", "caobang2", "demo"])
def test_a_location_that_is_no_province_keeps_its_id(location):
    assert location_name(location) == location
    assert province_of(location) is None


def test_the_setting_overrides_and_extends_the_names():
    overrides = Settings(location_names={"dc-vdc": "Trung tâm dữ liệu VDC", "hanoi": "Hà Nội (trụ sở)"}).location_names
    assert location_name("dc-vdc", overrides) == "Trung tâm dữ liệu VDC"
    assert location_name("hanoi", overrides) == "Hà Nội (trụ sở)"
    assert location_name("caobang", overrides) == "Cao Bằng"
    assert location_names(["caobang", "local"], overrides) == {"caobang": "Cao Bằng", "local": "local"}
    nfd = unicodedata.normalize("NFD", "Trạm đo Lũng Cú")
    assert location_name("lungcu", {"lungcu": nfd}) == unicodedata.normalize("NFC", nfd)


def test_the_setting_takes_location_ids_only():
    with pytest.raises(ValueError, match="location_names"):
        Settings(location_names={"Cao Bằng": "x"})
    with pytest.raises(ValueError, match="location_names"):
        Settings(location_names={"caobang": ""})


@pytest.mark.parametrize("name", NAMES)
def test_names_written_in_nfc_or_nfd_give_the_id(name):
    expected = next(k for k, v in IDS.items() if v == name)
    for form in ("NFC", "NFD"):
        written = unicodedata.normalize(form, name)
        assert province_id(written) == expected
        assert province_id(written.upper()) == expected
        assert province_id(f"  {written.lower()}  ") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("tỉnh Cao Bằng", "caobang"), ("Tỉnh Đắk Lắk", "daklak"), ("Thành phố Hồ Chí Minh", "hochiminh"),
    ("TP.HCM", "hochiminh"), ("TP Hồ Chí Minh", "hochiminh"), ("thành phố Huế", "hue"), ("Thừa Thiên Huế", "hue"),
    ("Đà Nẵng", "danang"), ("ĐÀ NẴNG", "danang"), ("Dak Lak", "daklak"), ("Đắc Lắc", "daklak"),
    ("Thanh Hoá", "thanhhoa"), ("Khánh Hoà", "khanhhoa"),  # the old accent placement
    ("thành phố Thủ Đức", None), ("Hà Tây", None), ("", None),
])
def test_names_as_people_write_them(text, expected):
    assert province_id(text) == expected


def test_d_with_stroke_is_d_not_dropped():
    assert province_id("Điện Biên") == "dienbien" and province_id("đồng tháp") == "dongthap"
    assert province_id(unicodedata.normalize("NFD", "Đồng Nai")) == "dongnai"


def test_places_are_joined_the_vietnamese_way():
    assert places([]) == ""
    assert places(["Cao Bằng"]) == "Cao Bằng"
    assert places(["Cao Bằng", "Lạng Sơn"]) == "Cao Bằng và Lạng Sơn"
    assert places(["Cao Bằng", "Lạng Sơn", "Hà Nội"]) == "Cao Bằng, Lạng Sơn và Hà Nội"
