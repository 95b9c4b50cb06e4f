"""An import-linter contract type the built-in ones cannot express: an allow-list.

``forbidden`` names what may not be imported, so a new package passes it; this contract
names what may be (the standard library and ``allowed_modules``) and breaks on anything
else. Registered in ``pyproject.toml`` (``contract_types``); ``lint-imports`` runs it."""

from __future__ import annotations

from typing import Any, cast

from importlinter import Contract, ContractCheck, fields, output

from tests.architecture.domain_imports import allowed


class AllowedImportsContract(Contract):
    """``source_modules`` (and their descendants) import only the standard library, each
    other and ``allowed_modules`` (top-level package names)."""

    source_modules = fields.ListField(subfield=fields.StringField())
    allowed_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        sources = _names(self.source_modules)
        extra = frozenset(sources) | frozenset(_names(self.allowed_modules))
        illegal = [
            f"{importer} -> {imported} (l.{detail['line_number']})"
            for source in sources
            for importer in sorted({source} | graph.find_descendants(source))
            for imported in sorted(graph.find_modules_directly_imported_by(importer))
            if not allowed(imported, extra)
            for detail in graph.get_import_details(importer=importer, imported=imported)
        ]
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Imports outside the allow-list (the standard library and "
                           f"{', '.join(_names(self.allowed_modules))}):", bold=False)
        output.new_line()
        for line in check.metadata["illegal"]:
            output.print_error(f"- {line}", bold=False)
        output.new_line()


def _names(field: object) -> list[str]:
    """A list field's parsed value: import-linter declares the attribute as the Field and
    sets the parsed list on the instance."""
    return list(cast(list[str], field))
