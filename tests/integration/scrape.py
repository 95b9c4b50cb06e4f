"""Reading ``GET /metrics`` back in tests: the exposition parsed by prometheus-client's own
parser, each sample by its name and labels. The counters are the process's, shared by the
tests one process runs: a test compares a scrape after its requests with one before."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families


@attrs.frozen
class Scrape:
    #: (sample name, sorted label items) -> value
    samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float]
    #: family name -> its type (counter, histogram, gauge, ...)
    types: Mapping[str, str]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 when it has not been recorded yet."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def since(self, before: Scrape, name: str, **labels: str) -> float:
        return self.value(name, **labels) - before.value(name, **labels)


def scrape(client: TestClient, headers: Mapping[str, str] | None = None) -> Scrape:
    response = client.get("/metrics", headers=dict(headers or {}))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples, types = {}, {}
    for family in text_string_to_metric_families(response.text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return Scrape(samples, types)
