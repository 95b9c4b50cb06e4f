"""The template renderer: Jinja2 in an immutable sandbox, checked when a template is saved.

``check`` parses the template and walks its syntax tree with an allow-list, so that every
construct a saved template may use renders for any lead: the values a template sees are
text (each lead value is turned into a string before rendering), the filters allowed are
the ones that never fail on text, their arguments are constants tried once at check time,
comparisons that order or search need text or numbers on both sides, loops go over a list
written in the template, and there is no call, no arithmetic, no ``include``/``import``/
``extends``, no attribute of anything but ``lead``, ``sender``, ``lead.custom`` and
``loop``. ``render`` checks too (the result is cached by source), so an unchecked template
is refused the same way instead of reaching the sandbox."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from lad_domain.outreach.rendering import (
    LEAD_FIELDS,
    SENDER_FIELDS,
    TOP_LEVEL,
    RenderContext,
    Rendered,
)
from lad_domain.shared.errors import ValidationFailed

#: RFC 5322's limit of a line (the subject is one header line).
SUBJECT_MAX_CHARS = 998
BODY_MAX_BYTES = 100 * 1024
#: Compiled templates kept per process (a campaign's steps are rendered once per lead).
COMPILED_TEMPLATES = 512
#: Bounds of a filter's constant arguments (``center(10**9)`` would allocate a gigabyte).
ARGUMENT_MAX_NUMBER = 10_000
ARGUMENT_MAX_CHARS = 1_000

Field = Literal["subject", "body"]
#: What an expression yields at render time: text, a number, anything printable, or one of
#: the mappings (``lead``, ``sender``, ``lead.custom``, ``loop``) that only an attribute
#: access may follow.
Kind = Literal["text", "number", "any", "lead", "sender", "custom", "loop"]
MAPPINGS = frozenset({"lead", "sender", "custom", "loop"})


@attrs.frozen
class FilterRule:
    #: What the filtered value must be ("text": never a number or a list).
    takes: Literal["text", "any"]
    #: What the filter yields; None: the value's kind (``default``).
    gives: Kind | None


#: The filters a template may use: each never raises on text (or on anything, for "any").
FILTERS: Mapping[str, FilterRule] = {
    **{name: FilterRule("text", "text") for name in (
        "upper", "lower", "title", "capitalize", "trim", "striptags", "escape", "e",
        "urlencode", "truncate", "wordwrap", "replace", "center", "indent")},
    "string": FilterRule("any", "text"),
    "int": FilterRule("any", "number"),
    "float": FilterRule("any", "number"),
    "length": FilterRule("text", "number"),
    "count": FilterRule("text", "number"),
    "wordcount": FilterRule("text", "number"),
    "default": FilterRule("any", None),
    "d": FilterRule("any", None),
}
#: ``is`` tests that hold or not for any value.
TESTS = frozenset({"defined", "undefined", "none", "string", "number", "lower", "upper",
                   "eq", "equalto", "==", "ne", "!="})
LOOP_ATTRIBUTES: Mapping[str, Kind] = {
    "index": "number", "index0": "number", "revindex": "number", "revindex0": "number",
    "length": "number", "first": "any", "last": "any"}
#: Values a filter is tried on at check time, by what it takes.
PROBES: Mapping[str, tuple[Any, ...]] = {
    "text": ("", "Ada Lovelace\n<b>&\"'"),
    "any": ("", "Ada Lovelace\n<b>&", 0, 2.5, True, None, ["a", 1], Markup("<i>x</i>")),
}
ORDERING = frozenset({"gt", "gteq", "lt", "lteq"})
MEMBERSHIP = frozenset({"in", "notin"})


def allowed_variables() -> str:
    lead = [f"lead.{name}" for name in sorted(LEAD_FIELDS - {"custom"})]
    sender = [f"sender.{name}" for name in sorted(SENDER_FIELDS)]
    return ", ".join([*lead, "lead.custom.<name>", *sender, "unsubscribe_url"])


class TemplateRefused(Exception):
    """A construct the allow-list refuses (turned into ValidationFailed with the field)."""

    def __init__(self, lineno: int | None, message: str) -> None:
        super().__init__(message)
        self.lineno = lineno
        self.message = message


@attrs.frozen
class Expression:
    kind: Kind
    #: The template variable it names ("lead.first_name"), when it is one.
    variable: str | None = None


class TemplateChecker:
    """One walk of one parsed template: the variables it uses, or TemplateRefused."""

    def __init__(self, environment: ImmutableSandboxedEnvironment) -> None:
        self._environment = environment
        self.variables: set[str] = set()

    def walk(self, template: nodes.Template) -> None:
        self._statements(template.body, {})

    # Statements -------------------------------------------------------------------------

    def _statements(self, body: Sequence[nodes.Node], scope: dict[str, Kind]) -> None:
        for node in body:
            self._statement(node, scope)

    def _statement(self, node: nodes.Node, scope: dict[str, Kind]) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if not isinstance(child, nodes.TemplateData):
                    self._printable(child, scope)
        elif isinstance(node, nodes.If):
            self._expression(node.test, scope)
            self._statements(node.body, dict(scope))
            for branch in node.elif_:
                self._statement(branch, scope)
            self._statements(node.else_, dict(scope))
        elif isinstance(node, nodes.For):
            self._loop(node, scope)
        elif isinstance(node, nodes.Assign):
            value = self._printable(node.node, scope)
            scope[self._target(node.target, scope)] = value.kind
        elif isinstance(node, nodes.AssignBlock):
            if node.filter is not None:
                raise TemplateRefused(node.lineno, "a filter on {% set %} is not allowed")
            name = self._target(node.target, scope)
            self._statements(node.body, dict(scope))
            scope[name] = "text"
        elif isinstance(node, nodes.With):
            inner = dict(scope)
            for target, assigned in zip(node.targets, node.values, strict=True):
                inner[self._target(target, scope)] = self._printable(assigned, scope).kind
            self._statements(node.body, inner)
        else:
            raise TemplateRefused(node.lineno, f"{describe(node)} is not allowed in a template")

    def _loop(self, node: nodes.For, scope: dict[str, Kind]) -> None:
        if node.recursive:
            raise TemplateRefused(node.lineno, "recursive loops are not allowed")
        if not isinstance(node.iter, nodes.List | nodes.Tuple):
            raise TemplateRefused(node.lineno, "a loop goes over a list written in the "
                                               "template: {% for x in ['a', 'b'] %}")
        item = self._literal_list(node.iter)
        inner = dict(scope)
        inner[self._target(node.target, scope)] = item
        if node.test is not None:
            self._expression(node.test, inner)
        inner["loop"] = "loop"
        self._statements(node.body, inner)
        self._statements(node.else_, dict(scope))

    def _target(self, target: nodes.Node, scope: dict[str, Kind]) -> str:
        if not isinstance(target, nodes.Name):
            raise TemplateRefused(target.lineno, "assign one name at a time")
        if target.name in TOP_LEVEL or target.name == "loop":
            raise TemplateRefused(target.lineno, f"{target.name!r} cannot be assigned")
        return target.name

    # Expressions ------------------------------------------------------------------------

    def _printable(self, node: nodes.Node, scope: dict[str, Kind]) -> Expression:
        found = self._expression(node, scope)
        if found.kind in MAPPINGS:
            raise TemplateRefused(node.lineno, f"{found.variable or 'this'} is not a value; "
                                               f"allowed: {allowed_variables()}")
        return found

    def _expression(self, node: nodes.Node, scope: dict[str, Kind]) -> Expression:
        if isinstance(node, nodes.Const):
            return Expression(const_kind(node.value))
        if isinstance(node, nodes.Name):
            return self._name(node, scope)
        if isinstance(node, nodes.Getattr):
            return self._member(node, node.node, node.attr, scope)
        if isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Slice):
                return self._slice(node, node.arg, scope)
            if not (isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str)):
                raise TemplateRefused(node.lineno, "only lead[\"field\"], sender[\"field\"] "
                                                   "and lead.custom[\"name\"] may be indexed")
            return self._member(node, node.node, node.arg.value, scope)
        if isinstance(node, nodes.Filter):
            return self._filter(node, scope)
        if isinstance(node, nodes.Test):
            self._printable(node.node, scope)
            if node.name not in TESTS:
                raise TemplateRefused(node.lineno, f"the test {node.name!r} is not allowed; "
                                                   f"allowed: {', '.join(sorted(TESTS))}")
            self._constant_arguments(node)
            return Expression("any")
        if isinstance(node, nodes.Concat):
            for part in node.nodes:
                self._printable(part, scope)
            return Expression("text")
        if isinstance(node, nodes.Compare):
            return self._compare(node, scope)
        if isinstance(node, nodes.And | nodes.Or):
            self._printable(node.left, scope)
            self._printable(node.right, scope)
            return Expression("any")
        if isinstance(node, nodes.Not):
            self._printable(node.node, scope)
            return Expression("any")
        if isinstance(node, nodes.CondExpr):
            if node.expr2 is None:
                raise TemplateRefused(node.lineno, "an inline if needs an else: "
                                                   "{{ a if condition else b }}")
            self._printable(node.test, scope)
            one = self._printable(node.expr1, scope)
            other = self._printable(node.expr2, scope)
            return Expression(one.kind if one.kind == other.kind else "any")
        if isinstance(node, nodes.List | nodes.Tuple):
            self._literal_list(node)
            return Expression("any")
        raise TemplateRefused(node.lineno, f"{describe(node)} is not allowed in a template")

    def _name(self, node: nodes.Name, scope: dict[str, Kind]) -> Expression:
        if node.name in scope:
            return Expression(scope[node.name])
        if node.name == "unsubscribe_url":
            self.variables.add("unsubscribe_url")
            return Expression("text", "unsubscribe_url")
        if node.name == "lead":
            return Expression("lead", "lead")
        if node.name == "sender":
            return Expression("sender", "sender")
        raise TemplateRefused(node.lineno, f"unknown variable {node.name!r}; "
                                           f"allowed: {allowed_variables()}")

    def _member(self, node: nodes.Node, base_node: nodes.Node, name: str,
                scope: dict[str, Kind]) -> Expression:
        base = self._expression(base_node, scope)
        if base.kind == "lead":
            variable = f"lead.{name}"
            if name not in LEAD_FIELDS:
                raise TemplateRefused(node.lineno, f"unknown variable {variable!r}; "
                                                   f"allowed: {allowed_variables()}")
            if name == "custom":
                return Expression("custom", variable)
            self.variables.add(variable)
            return Expression("text", variable)
        if base.kind == "sender":
            variable = f"sender.{name}"
            if name not in SENDER_FIELDS:
                raise TemplateRefused(node.lineno, f"unknown variable {variable!r}; "
                                                   f"allowed: {allowed_variables()}")
            self.variables.add(variable)
            return Expression("text", variable)
        if base.kind == "custom":
            variable = (f"lead.custom.{name}" if name.isidentifier()
                        else f"lead.custom[{json.dumps(name)}]")
            self.variables.add(variable)
            return Expression("text", variable)
        if base.kind == "loop":
            if name not in LOOP_ATTRIBUTES:
                raise TemplateRefused(node.lineno, f"loop.{name} is not allowed; allowed: "
                                      + ", ".join(f"loop.{a}" for a in sorted(LOOP_ATTRIBUTES)))
            return Expression(LOOP_ATTRIBUTES[name])
        raise TemplateRefused(node.lineno, f"attribute {name!r} of {base.variable or 'a value'}"
                                           f" is not allowed; allowed: {allowed_variables()}")

    def _slice(self, node: nodes.Getitem, part: nodes.Slice,
               scope: dict[str, Kind]) -> Expression:
        if self._printable(node.node, scope).kind != "text":
            raise TemplateRefused(node.lineno, "only text may be sliced")
        for bound in (part.start, part.stop, part.step):
            if bound is None:
                continue
            if not (isinstance(bound, nodes.Const) and type(bound.value) is int):
                raise TemplateRefused(node.lineno, "slice bounds are whole numbers")
            if bound is part.step and bound.value == 0:
                raise TemplateRefused(node.lineno, "a slice step cannot be zero")
        return Expression("text")

    def _filter(self, node: nodes.Filter, scope: dict[str, Kind]) -> Expression:
        if node.node is None:
            raise TemplateRefused(node.lineno, "filter blocks are not allowed")
        rule = FILTERS.get(node.name)
        if rule is None:
            raise TemplateRefused(node.lineno, f"the filter {node.name!r} is not allowed; "
                                               f"allowed: {', '.join(sorted(FILTERS))}")
        value = self._printable(node.node, scope)
        if rule.takes == "text" and value.kind != "text":
            raise TemplateRefused(node.lineno, f"the filter {node.name!r} applies to text "
                                               "(use |string first)")
        args, kwargs = self._constant_arguments(node)
        for probe in PROBES[rule.takes]:
            try:
                self._environment.call_filter(node.name, probe, args, kwargs)
            except Exception as error:  # any failure of a constant call is the template's
                raise TemplateRefused(node.lineno, f"the filter {node.name!r} cannot take "
                                                   f"these arguments: {error}") from None
        if rule.gives is not None:
            return Expression(rule.gives)
        # default(value, boolean): the value's kind when the default is of the same kind.
        fallback = args[0] if args else kwargs.get("default_value", "")
        return Expression(value.kind if const_kind(fallback) == value.kind else "any")

    def _constant_arguments(self, node: nodes.Filter | nodes.Test
                            ) -> tuple[list[Any], dict[str, Any]]:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise TemplateRefused(node.lineno, f"{node.name!r}: no *args or **kwargs")
        args = [constant_argument(arg, node.name) for arg in node.args]
        kwargs = {str(pair.key): constant_argument(pair.value, node.name) for pair in node.kwargs}
        return args, kwargs

    def _compare(self, node: nodes.Compare, scope: dict[str, Kind]) -> Expression:
        left = self._printable(node.expr, scope)
        for operand in node.ops:
            right = self._printable(operand.expr, scope)
            if operand.op in ORDERING and not (left.kind == right.kind != "any"):
                raise TemplateRefused(node.lineno, "<, >, <= and >= compare text with text or "
                                                   "numbers with numbers (|int makes a number)")
            if operand.op in MEMBERSHIP and not (
                    isinstance(operand.expr, nodes.List | nodes.Tuple)
                    or left.kind == right.kind == "text"):
                raise TemplateRefused(node.lineno, "'in' looks for text in text or in a list "
                                                   "written in the template")
            left = right
        return Expression("any")

    def _literal_list(self, node: nodes.List | nodes.Tuple) -> Kind:
        kinds: set[Kind] = set()
        for item in node.items:
            if not isinstance(item, nodes.Const):
                raise TemplateRefused(node.lineno, "a list holds constants: ['a', 'b']")
            kinds.add(const_kind(item.value))
        return kinds.pop() if len(kinds) == 1 else "any"


def constant_argument(node: nodes.Node, name: str) -> Any:
    if not isinstance(node, nodes.Const):
        raise TemplateRefused(node.lineno, f"the arguments of {name!r} are constants")
    value = node.value
    if isinstance(value, int | float) and not isinstance(value, bool) and (
            not abs(value) <= ARGUMENT_MAX_NUMBER):
        raise TemplateRefused(node.lineno, f"the arguments of {name!r} are at most "
                                           f"{ARGUMENT_MAX_NUMBER}")
    if isinstance(value, str) and len(value) > ARGUMENT_MAX_CHARS:
        raise TemplateRefused(node.lineno, f"the arguments of {name!r} are at most "
                                           f"{ARGUMENT_MAX_CHARS} characters")
    return value


def const_kind(value: object) -> Kind:
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    return "any"


def describe(node: nodes.Node) -> str:
    names = {"Include": "{% include %}", "Import": "{% import %}",
             "FromImport": "{% from ... import %}", "Extends": "{% extends %}",
             "Call": "a call", "Macro": "{% macro %}", "CallBlock": "{% call %}",
             "FilterBlock": "{% filter %}", "Block": "{% block %}",
             "ScopedEvalContextModifier": "{% autoescape %}", "Dict": "a dict",
             "Add": "arithmetic", "Sub": "arithmetic", "Mul": "arithmetic",
             "Div": "arithmetic", "FloorDiv": "arithmetic", "Mod": "arithmetic",
             "Pow": "arithmetic", "Neg": "arithmetic", "Pos": "arithmetic"}
    return names.get(type(node).__name__, type(node).__name__)


# Render-time values ----------------------------------------------------------------------


class Fields:
    """A lead, a sender or a lead's custom fields as a template sees them: every field
    text, a missing one empty. The environment reads it by name, never through Python
    attributes, so ``lead.custom.items`` is the custom field "items"."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, object]) -> None:
        self._values = values

    def value(self, name: str) -> object:
        return self._values.get(name, "")


def as_text(value: object) -> str:
    """A value a lead holds (JSON, so str, number, bool, None, list or dict) as text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return str.__str__(value)  # a plain str: a Markup value is escaped like any other
    try:
        return str(value)
    except Exception:  # e.g. an int beyond Python's digit limit: shown as nothing
        return ""


def lead_fields(lead: Mapping[str, Any]) -> Fields:
    values: dict[str, object] = {
        name: as_text(lead.get(name)) for name in LEAD_FIELDS - {"custom"}}
    custom = lead.get("custom")
    values["custom"] = Fields(
        {str(key): as_text(value) for key, value in custom.items()}
        if isinstance(custom, Mapping) else {})
    return Fields(values)


class LeadEnvironment(ImmutableSandboxedEnvironment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Fields):
            return obj.value(attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: str | Any) -> Any:
        if isinstance(obj, Fields) and isinstance(argument, str):
            return obj.value(argument)
        return super().getitem(obj, argument)


PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def paragraphs(escaped: str) -> str:
    """HTML paragraphs of escaped text: a ``<p>`` per blank-line block, ``<br>`` per line."""
    # A plain str: Markup's own replace would escape the tags added here.
    text = str.__str__(escaped).replace("\r\n", "\n").replace("\r", "\n").strip()
    blocks = [block.strip() for block in PARAGRAPH_BREAK.split(text) if block.strip()]
    return "\n".join("<p>" + block.replace("\n", "<br>\n") + "</p>" for block in blocks)


class JinjaTemplateRenderer:
    """The TemplateRenderer port on Jinja2's immutable sandbox."""

    def __init__(self, *, cache_size: int = COMPILED_TEMPLATES) -> None:
        common: dict[str, Any] = {"undefined": StrictUndefined, "keep_trailing_newline": True,
                                  "cache_size": 0}
        self._text = LeadEnvironment(autoescape=False, **common)
        self._html = LeadEnvironment(autoescape=True, **common)
        self._variables: Callable[[str, Field], tuple[str, ...]] = (
            functools.lru_cache(maxsize=cache_size)(self._check))
        self._compiled: Callable[[str, bool], Template] = (
            functools.lru_cache(maxsize=cache_size)(self._compile))

    def check(self, *, subject: str | None, body: str) -> list[str]:
        found = set(self._variables(body, "body"))
        if subject is not None:
            found.update(self._variables(subject, "subject"))
        return sorted(found)

    def render(self, *, subject: str | None, body: str, context: RenderContext,
               html: bool) -> Rendered:
        self.check(subject=subject, body=body)
        values = {"lead": lead_fields(context.lead),
                  "sender": Fields({name: as_text(context.sender.get(name))
                                    for name in SENDER_FIELDS}),
                  "unsubscribe_url": as_text(context.unsubscribe_url)}
        text = self._compiled(body, False).render(values)
        rendered_subject = None
        if subject is not None:
            rendered_subject = LINE_BREAKS.sub(
                " ", self._compiled(subject, False).render(values)).strip()
        rendered_html = paragraphs(self._compiled(body, True).render(values)) if html else None
        return Rendered(subject=rendered_subject, text=text, html=rendered_html)

    def _check(self, source: str, field: Field) -> tuple[str, ...]:
        if field == "subject" and len(source) > SUBJECT_MAX_CHARS:
            raise ValidationFailed.single(field, f"at most {SUBJECT_MAX_CHARS} characters")
        if field == "body" and len(source.encode("utf-8", "surrogatepass")) > BODY_MAX_BYTES:
            raise ValidationFailed.single(field, f"at most {BODY_MAX_BYTES // 1024} KB")
        try:
            tree = self._text.parse(source)
            checker = TemplateChecker(self._text)
            checker.walk(tree)
        except TemplateSyntaxError as error:
            raise ValidationFailed.single(field, f"line {error.lineno}: {error.message}"
                                          ) from None
        except TemplateRefused as refused:
            where = f"line {refused.lineno}: " if refused.lineno else ""
            raise ValidationFailed.single(field, where + refused.message) from None
        except RecursionError:
            raise ValidationFailed.single(field, "the template is nested too deeply") from None
        except ValueError as error:  # e.g. an integer literal of thousands of digits
            raise ValidationFailed.single(field, f"cannot be read: {error}") from None
        return tuple(sorted(checker.variables))

    def _compile(self, source: str, html: bool) -> Template:
        return (self._html if html else self._text).from_string(source)

