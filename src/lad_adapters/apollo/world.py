"""The simulated Apollo's vocabulary (``world.json``): the places people work in, with
their fictional phone ranges (555-01xx in North America, Ofcom's drama numbers in the UK,
ACMA's in Australia, ARCEP's in France, all valid for libphonenumber), the titles and
how often each seniority is drawn, industries and their keywords, and names."""

from __future__ import annotations

import functools
import json
from importlib import resources

import attrs

from lad_domain.icp.model import SENIORITIES


@attrs.frozen
class Location:
    city: str
    state: str
    country: str
    aliases: tuple[str, ...]
    #: The fictional phone range: the prefix, and how many digits follow it.
    phone_prefix: str
    phone_digits: int
    #: How often an organisation is here.
    weight: int

    def matches(self, wanted: str) -> bool:
        """``wanted`` names it: every comma-separated part is its city, state, country or
        one of their short forms ("san francisco, ca", "united states", "uk")."""
        names = {n.lower() for n in (self.city, self.state, self.country, *self.aliases)}
        full = f"{self.city}, {self.state}, {self.country}".lower()
        parts = [p.strip() for p in wanted.lower().split(",") if p.strip()]
        return wanted.lower() == full or (bool(parts) and all(p in names for p in parts))


@attrs.frozen
class World:
    """What people are drawn from (``world.json``): places, titles (with their
    seniority and how often it is drawn), industries and their keywords, names."""

    locations: tuple[Location, ...]
    titles: tuple[tuple[str, str], ...]
    title_weights: tuple[float, ...]
    industries: dict[str, tuple[str, ...]]
    name_prefixes: tuple[str, ...]
    name_suffixes: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    size_weights: tuple[int, ...]


@functools.cache
def world() -> World:
    data = json.loads(resources.files(__package__).joinpath("world.json")
                      .read_text(encoding="utf-8"))
    titles = tuple((str(t), str(s)) for t, s in data["owner_titles"]) + tuple(
        (title, level) for titles in data["departments"].values()
        for title, level in zip(titles, data["levels"], strict=True))
    weights = data["seniority_weights"]
    per_title = {s: weights[s] / sum(1 for _, x in titles if x == s) for s in SENIORITIES}
    return World(
        locations=tuple(Location(**{**place, "aliases": tuple(place["aliases"])})
                        for place in data["locations"]),
        titles=titles, title_weights=tuple(per_title[level] for _, level in titles),
        industries={k: tuple(v) for k, v in data["industries"].items()},
        name_prefixes=tuple(data["name_prefixes"]), name_suffixes=tuple(data["name_suffixes"]),
        first_names=tuple(data["first_names"]), last_names=tuple(data["last_names"]),
        size_weights=tuple(data["size_weights"]))
