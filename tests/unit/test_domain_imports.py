"""The domain imports nothing but the standard library, attrs and itself: an allow-list,
so a new third-party package fails here (and in ``lint-imports``) the day it is imported."""

from __future__ import annotations

from pathlib import Path

from tests.architecture.domain_imports import DOMAIN, imports, violations


def test_the_domain_imports_only_the_standard_library_and_attrs() -> None:
    assert violations() == []


def test_every_domain_module_is_read() -> None:
    found = {path.stem for path in DOMAIN.rglob("*.py")}
    assert {"pagination", "policy", "services"} <= found
    assert "attrs" in {name for name, _ in imports(DOMAIN / "shared" / "pagination.py")}


def test_an_import_outside_the_list_is_named_with_its_module_and_line(tmp_path: Path) -> None:
    package = tmp_path / "lad_domain" / "billing"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text(
        "import json\nimport attrs\nfrom requests import get\n"
        "from . import errors\nfrom ..shared.money import Money\nimport sqlalchemy.orm\n")
    assert violations(tmp_path / "lad_domain") == [
        "lad_domain.billing.model:3 imports requests",
        "lad_domain.billing.model:6 imports sqlalchemy.orm"]


def test_relative_imports_resolve_inside_the_package(tmp_path: Path) -> None:
    package = tmp_path / "lad_domain" / "leads"
    package.mkdir(parents=True)
    (package / "services.py").write_text("from . import model\nfrom ..shared import ids\n")
    assert list(imports(package / "services.py", tmp_path / "lad_domain")) == [
        ("lad_domain.leads", 1), ("lad_domain.shared", 2)]
