"""The 26 regional Veilig Thuis organisations, as data (triage/data/regions.json).

Every chat comes from one region's chat entry point, and the chat platform sends that region's
code with it. `validate_region_code` checks such a code; `load_regions` reads and validates the
data file. Run ``python -m triage.regions`` to list the valid codes.

A region's `code` is stable (it is stored with chats and accounts); its `name` is what people
read ("wacht al 12 minuten in regio Midden-Brabant"), and `organisation` the full name.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

REGIONS_PATH = Path(__file__).parent / "data" / "regions.json"
CODE_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"


class RegionDataError(ValueError):
    """The regions data file is missing or invalid; the message names the file and the field."""


class UnknownRegionError(ValueError):
    """A region code that is not one of the regions; the message names the field and says how to
    find the valid codes."""


class Region(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=CODE_PATTERN, max_length=40)
    name: str
    safety_region: str = Field(pattern=r"^VR\d{2}$")  # the CBS code of its veiligheidsregio
    population_k: int = Field(gt=0)  # approximate, only for sizing the simulation

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        if v != v.strip():
            raise ValueError("must not start or end with spaces")
        return v

    @property
    def organisation(self) -> str:
        return f"Veilig Thuis {self.name}"


class Regions(BaseModel):
    """The validated contents of the data file, in file order."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    source: str = Field(alias="_source", min_length=1)
    regions: tuple[Region, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Regions:
        for attr in ("code", "name"):
            seen: set[str] = set()
            for i, region in enumerate(self.regions):
                value = getattr(region, attr)
                key = value.casefold()
                if key in seen:
                    raise ValueError(f"regions[{i}].{attr}: {value!r} occurs more than once ({attr}s must be unique)")
                seen.add(key)
        return self

    def __iter__(self) -> Iterator[Region]:  # type: ignore[override]
        return iter(self.regions)

    def __len__(self) -> int:
        return len(self.regions)

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    @property
    def by_code(self) -> dict[str, Region]:
        return {r.code: r for r in self.regions}

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.regions)

    def get(self, code: str) -> Region:
        """The region with this code; UnknownRegionError (naming the field `region`) if none."""
        return validate_region_code(code, regions=self)


def _describe(error: ValidationError) -> str:
    """Pydantic's errors as 'regions[3].name: must not be empty; ...'."""
    parts = []
    for e in error.errors():
        loc = ""
        for piece in e["loc"]:
            loc += f"[{piece}]" if isinstance(piece, int) else (f".{piece}" if loc else str(piece))
        message = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {message}" if loc else message)
    return "; ".join(parts)


def load_regions(path: Path | str = REGIONS_PATH) -> Regions:
    """Reads and validates a regions file. RegionDataError names the file and every bad field."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegionDataError(f"{path}: regions file not found") from None
    except json.JSONDecodeError as exc:
        raise RegionDataError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    try:
        return Regions.model_validate(raw)
    except ValidationError as exc:
        raise RegionDataError(f"{path}: {_describe(exc)}") from None


@lru_cache(maxsize=1)
def default_regions() -> Regions:
    """The regions of triage/data/regions.json (read once)."""
    return load_regions()


def validate_region_code(code: object, field: str = "region", regions: Regions | None = None) -> Region:
    """The region for a code sent by the chat platform. Codes are exact (lower case, as listed);
    anything else raises UnknownRegionError naming `field`, with the nearest valid code if there is
    one and where the valid codes are listed."""
    regions = regions or default_regions()
    if not isinstance(code, str):
        raise UnknownRegionError(f"{field}: must be a region code (a string), got {type(code).__name__}")
    region = regions.by_code.get(code)
    if region is not None:
        return region
    shown = code if len(code) <= 60 else code[:57] + "..."
    hint = ""
    close = difflib.get_close_matches(code.strip().lower(), regions.codes, n=1, cutoff=0.6)
    if close:
        hint = f" Did you mean {close[0]!r}?"
    raise UnknownRegionError(
        f"{field}: unknown region code {shown!r}.{hint} The {len(regions)} valid codes are listed in "
        f"triage/data/regions.json and by `python -m triage.regions`.")


def main() -> None:
    regions = default_regions()
    width = max(len(c) for c in regions.codes)
    for region in regions:
        print(f"{region.code:<{width}}  {region.organisation}")


if __name__ == "__main__":
    main()
