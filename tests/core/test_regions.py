"""The regions data file (triage/data/regions.json) and region codes from the chat platform (triage/regions.py)."""

from __future__ import annotations

import json

import pytest

from triage.regions import (REGIONS_PATH, RegionDataError, UnknownRegionError, default_regions, load_regions,
                            validate_region_code)


def test_the_data_file_holds_the_26_regional_organisations():
    regions = load_regions()
    assert len(regions) == 26
    assert len(set(regions.codes)) == 26
    assert len({r.name for r in regions}) == 26
    # 25 veiligheidsregio's, one of them (Midden- en West-Brabant, VR20) split in two.
    by_safety_region: dict[str, list[str]] = {}
    for region in regions:
        by_safety_region.setdefault(region.safety_region, []).append(region.code)
    assert len(by_safety_region) == 25
    assert [codes for codes in by_safety_region.values() if len(codes) > 1] == [["west-brabant", "midden-brabant"]]
    assert regions.source.strip()
    assert regions.get("midden-brabant").organisation == "Veilig Thuis Midden-Brabant"


def test_population_sizes_differ_and_add_up_to_the_netherlands():
    populations = [r.population_k for r in load_regions()]
    assert 17_000 <= sum(populations) <= 19_000  # thousands: about 18 million inhabitants
    assert max(populations) >= 4 * min(populations)


def test_validate_region_code():
    assert validate_region_code("zeeland").name == "Zeeland"
    with pytest.raises(UnknownRegionError) as err:
        validate_region_code("Zeeland")
    message = str(err.value)
    assert message.startswith("region: unknown region code 'Zeeland'.")
    assert "Did you mean 'zeeland'?" in message
    assert "python -m triage.regions" in message and "triage/data/regions.json" in message
    with pytest.raises(UnknownRegionError, match=r"^chat\.region: unknown region code 'mars'\. The 26 valid"):
        validate_region_code("mars", field="chat.region")
    with pytest.raises(UnknownRegionError, match="must be a region code"):
        validate_region_code(7)


def _write(tmp_path, data) -> str:
    path = tmp_path / "regions.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["regions"][3].update(name="  "), r"regions\[3\]\.name: must not be empty"),
    (lambda d: d["regions"][4].update(code="groningen"), r"regions\[4\]\.code: 'groningen' occurs more than once"),
    (lambda d: d["regions"][5].update(name="Groningen"), r"regions\[5\]\.name: 'Groningen' occurs more than once"),
    (lambda d: d["regions"][0].update(code="Groningen Stad"), r"regions\[0\]\.code: String should match pattern"),
    (lambda d: d["regions"][1].pop("population_k"), r"regions\[1\]\.population_k: Field required"),
    (lambda d: d.pop("_source"), r"_source: Field required"),
])
def test_invalid_data_is_refused_naming_the_field(tmp_path, change, message):
    data = json.loads(REGIONS_PATH.read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(RegionDataError, match=message):
        load_regions(_write(tmp_path, data))


def test_unreadable_files(tmp_path):
    with pytest.raises(RegionDataError, match="regions file not found"):
        load_regions(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(RegionDataError, match=r"broken\.json: not valid JSON \(line 1"):
        load_regions(broken)


def test_cli_lists_every_code(capsys):
    from triage.regions import main

    main()
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 26
    assert [line.split()[0] for line in out] == list(default_regions().codes)
