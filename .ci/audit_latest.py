"""The second half of `.ci/audit`: the locked packages pip-audit could not look up.

pip-audit asks PyPI for each release's advisories (``/pypi/NAME/VERSION/json``); where
that page does not answer (some mirrors serve only the project page), the project page
``/pypi/NAME/json`` still carries the advisories of the project's newest release. A locked
version that IS the newest release is audited from there; one that is not stays "not
audited" and is named. Exit 1 on any advisory; 3 when some packages stay unaudited and
AUDIT_STRICT=1."""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)")


def canonical(name: str) -> str:
    """PEP 503: pip freeze writes prometheus_client, pip-audit prometheus-client."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[canonical(match.group(1))] = match.group(2)
    return found


def project_page(name: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as answer:
            page: dict[str, object] = json.load(answer)
            return page
    except (OSError, ValueError):
        return None


def main(lock: str, names: list[str]) -> int:
    pinned = pins(Path(lock))
    wanted = [canonical(n) for n in names if canonical(n) in pinned]
    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = dict(zip(wanted, pool.map(project_page, wanted), strict=True))
    findings: list[str] = []
    unaudited: list[str] = []
    audited = 0
    for name in wanted:
        page, version = pages[name], pinned[name]
        info = page.get("info") if page else None
        newest = info.get("version") if isinstance(info, dict) else None
        if page is None or newest != version:
            unaudited.append(f"{name}=={version} (newest {newest or 'unknown'})")
            continue
        audited += 1
        for advisory in page.get("vulnerabilities") or []:  # type: ignore[attr-defined]
            if not advisory.get("withdrawn"):
                fixed = ", ".join(advisory.get("fixed_in") or []) or "no fix yet"
                findings.append(f"{name}=={version}: {advisory.get('id')} "
                                f"(fixed in {fixed})")
    print(f"audited from the project pages: {audited} of {len(wanted)} packages "
          "pip-audit could not look up")
    for finding in findings:
        print(f"VULNERABLE {finding}")
    if findings:
        return 1
    if unaudited:
        print(f"WARNING: {len(unaudited)} locked packages NOT audited (not their newest "
              f"release): {'; '.join(unaudited)}", file=sys.stderr)
        if os.environ.get("AUDIT_STRICT") == "1":
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
