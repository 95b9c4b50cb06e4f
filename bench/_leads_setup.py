"""What the leads benchmarks share: their own PostgreSQL database (and application role) and
SQLite file, a tenant, and generated lead rows."""

from __future__ import annotations

import csv
import random
import uuid
from pathlib import Path

from lad_adapters.sql import migrate
from lad_domain.shared.principal import Principal
from lad_entrypoints.container import Container, build_container

HEADER = ["First Name", "Last Name", "E-mail", "Company", "Job Title", "Phone"]
_FIRST = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Margaret",
          "Ken", "Radia", "Tim", "Sophie", "Linus", "Hedy", "John", "Katherine"]
_LAST = ["Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Hamilton",
         "Thompson", "Perlman", "Berners-Lee", "Wilson", "Torvalds", "Lamarr", "Backus"]
_TITLES = ["Head of Sales", "CTO", "VP Marketing", "Founder", "Account Executive",
           "Procurement Lead", "Director of Operations", "Engineering Manager"]
_US_AREAS = ["212", "312", "415", "617", "646", "303", "206", "512"]

#: (first, last, email, company, title, phone_e164): what the import stores for a row.
Canonical = tuple[str, str, str, str, str, str]


def settings_overrides() -> dict[str, object]:
    """Cheap argon2 and a fixed JWT secret: the benchmarks measure leads, not log-ins."""
    return {"jwt_secret": "bench-secret-" + "x" * 32, "argon2_time_cost": 1,
            "argon2_memory_kib": 1024}


def container(url: str, state_dir: Path) -> Container:
    return build_container(database_url=url, state_dir=state_dir, **settings_overrides())


def sqlite_database(directory: Path, name: str) -> str:
    path = directory / name
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    return url


def sign_up(lad: Container, name: str = "Bench") -> Principal:
    session = lad.tenancy().sign_up(tenant_name=name, email=f"owner@{uuid.uuid4().hex}.test",
                                    password="correct horse battery")
    return lad.tenancy().principal_for(user_id=session.user_id, tenant_id=session.tenant_id)


def _phone(rng: random.Random) -> tuple[str, str]:
    """A valid number: (as people write it, E.164)."""
    kind = rng.randrange(3)
    if kind == 0:
        area, exchange, line = rng.choice(_US_AREAS), rng.randint(200, 999), rng.randint(0, 9999)
        return f"+1 ({area}) {exchange}-{line:04d}", f"+1{area}{exchange}{line:04d}"
    if kind == 1:
        a, b = rng.randint(100, 999), rng.randint(0, 9999)
        return f"+44 20 7{a} {b:04d}", f"+44207{a}{b:04d}"
    n = rng.randint(1_000_000, 9_999_999)
    return f"+49 30 {n}", f"+4930{n}"


def generate(path: Path, rows: int, *, seed: int = 5, keep: bool = True) -> list[Canonical]:
    """Write a CSV of ``rows`` data rows: about 2% repeat an earlier email (in another case),
    1% have a bad email and 1% a bad phone. Returns the unique valid rows (unless ``keep``
    is false, for files too big to mirror in memory)."""
    rng = random.Random(seed)
    valid: list[Canonical] = []
    emails: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for i in range(rows):
            roll = rng.random()
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            company, title = f"Company {rng.randrange(20_000)}", rng.choice(_TITLES)
            shown, e164 = _phone(rng)
            if roll < 0.02 and emails:
                writer.writerow([first, last, rng.choice(emails).upper(), company, title, shown])
                continue
            email = f"{first}.{last}.{i}@example{i % 97}.com".lower()
            if roll < 0.03:
                writer.writerow([first, last, email.replace("@", " at "), company, title, shown])
                continue
            if roll < 0.04:
                writer.writerow([first, last, email, company, title, "+1 (415) 12"])
                continue
            writer.writerow([first, last, email.title(), company, title, shown])
            if len(emails) < 10_000:
                emails.append(email)
            if keep:
                valid.append((first, last, email, company, title, e164))
    return valid
