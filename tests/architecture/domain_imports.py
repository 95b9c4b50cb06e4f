"""The domain's imports as an allow-list: the standard library, attrs and the domain itself.

One rule, two checks: ``tests/unit/test_domain_imports.py`` reads every module with ``ast``,
and the ``allowed_imports`` import-linter contract (``pyproject.toml``, run by
``lint-imports``) checks the import graph."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

#: Top-level packages the domain may import besides the standard library.
ALLOWED = frozenset({"attrs", "attr", "lad_domain"})
DOMAIN = Path(__file__).resolve().parents[2] / "src" / "lad_domain"


#: The standard library, with typeshed's stubs of it (``_typeshed``: types that exist only for
#: type checkers, imported under ``TYPE_CHECKING``).
STANDARD_LIBRARY = frozenset(sys.stdlib_module_names) | {"_typeshed"}


def allowed(module: str, extra: frozenset[str] = ALLOWED) -> bool:
    top = module.partition(".")[0]
    return top in STANDARD_LIBRARY or top in extra


def module_name(path: Path, root: Path = DOMAIN) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = DOMAIN) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports, with its line; relative imports resolved."""
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.module or "", node.lineno
            else:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                yield ".".join(filter(None, [base, node.module])), node.lineno


def violations(root: Path = DOMAIN) -> list[str]:
    """``module:line imports name`` for each import outside the allow-list."""
    return [f"{module_name(path, root)}:{line} imports {name}"
            for path in sorted(root.rglob("*.py"))
            for name, line in imports(path, root) if not allowed(name)]
