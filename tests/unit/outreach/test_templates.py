"""The Jinja template renderer: what a saved template may use, and renders that never fail."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lad_adapters.templates import BODY_MAX_BYTES, SUBJECT_MAX_CHARS, JinjaTemplateRenderer
from lad_domain.outreach.rendering import LEAD_FIELDS, SENDER_FIELDS, RenderContext
from lad_domain.shared.errors import ValidationFailed
from tests.examples import scaled

renderer = JinjaTemplateRenderer()


def context(**lead: Any) -> RenderContext:
    return RenderContext(lead=lead, sender={"name": "Sam Sender", "email": "sam@example.com"},
                         unsubscribe_url="https://lad.example/u/abc")


def refusal(*, body: str, subject: str | None = None) -> tuple[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        renderer.check(subject=subject, body=body)
    [error] = raised.value.errors
    return error.field, error.message


# check ----------------------------------------------------------------------------------


def test_check_lists_the_variables_sorted_from_subject_and_body() -> None:
    found = renderer.check(
        subject="{{ lead.company }}: a question",
        body="Hi {{ lead.first_name }},\n{{ lead.custom.plan }} {{ lead['title'] }}\n"
             "{{ sender.name }}\n{{ unsubscribe_url }}")
    assert found == ["lead.company", "lead.custom.plan", "lead.first_name", "lead.title",
                     "sender.name", "unsubscribe_url"]


def test_a_syntax_error_names_the_field_and_the_line() -> None:
    field, message = refusal(body="Hello\nthere\n{{ lead.first_name ")
    assert field == "body"
    assert message.startswith("line 3: ")
    field, message = refusal(subject="{% if %}", body="fine")
    assert field == "subject"
    assert message.startswith("line 1: ")


def test_an_unknown_variable_is_named_with_what_is_allowed() -> None:
    field, message = refusal(body="Dear {{ lead.firstname }}")
    assert field == "body"
    assert "'lead.firstname'" in message
    assert "lead.first_name" in message and "lead.custom.<name>" in message
    assert "'nickname'" in refusal(body="{{ nickname }}")[1]
    assert "'sender.phone'" in refusal(body="{{ sender.phone }}")[1]
    assert "'lead.nope'" in refusal(body="{{ lead['nope'] }}")[1]


def test_the_line_of_an_unknown_variable_is_given() -> None:
    assert refusal(body="a\nb\n\n{{ lead.x }}")[1].startswith("line 4: ")


def test_custom_fields_of_any_name_are_allowed() -> None:
    found = renderer.check(subject=None, body="{{ lead.custom.items }} {{ lead.custom['a b'] }}"
                                              " {{ lead.custom.__class__ }}")
    assert found == ["lead.custom.__class__", "lead.custom.items", 'lead.custom["a b"]']
    done = renderer.render(subject=None,
                           body="[{{ lead.custom.items }}|{{ lead.custom.__class__ }}]",
                           context=context(custom={"items": "x"}), html=False)
    assert done.text == "[x|]"


def test_loop_and_set_variables_the_template_defines_are_allowed() -> None:
    body = ("{% set greeting = 'Hi ' ~ lead.first_name %}{{ greeting }}\n"
            "{% for word in ['one', 'two'] %}{{ loop.index }}. {{ word|upper }}{% endfor %}\n"
            "{% with who = sender.name %}{{ who }}{% endwith %}")
    assert renderer.check(subject=None, body=body) == ["lead.first_name", "sender.name"]


def test_a_variable_used_outside_the_block_that_sets_it_is_unknown() -> None:
    assert "'word'" in refusal(body="{% for word in ['a'] %}{% endfor %}{{ word }}")[1]
    assert "'x'" in refusal(body="{% if lead.email %}{% set x = 1 %}{% endif %}{{ x }}")[1]
    assert "'y'" in refusal(body="{{ y }}{% set y = 'late' %}")[1]


@pytest.mark.parametrize("body", [
    "{{ lead.__class__ }}",
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lead.first_name.__class__ }}",
    "{{ lead.first_name.upper() }}",
    "{{ lead.custom.x() }}",
    "{{ cycler }}",
    "{{ range(10) }}",
    "{% include 'other' %}",
    "{% import 'macros' as m %}",
    "{% from 'macros' import m %}",
    "{% extends 'base' %}",
    "{% macro m() %}x{% endmacro %}",
    "{% autoescape false %}{{ lead.first_name }}{% endautoescape %}",
    "{{ lead.first_name|safe }}",
    "{{ lead.first_name|attr('__class__') }}",
    "{{ lead.first_name|format(1) }}",
    "{{ lead.custom.x|int + 1 }}",
    "{{ 'x' * 1000000 }}",
    "{{ lead.first_name[0] }}",
    "{{ lead.custom.score > 3 }}",
    "{{ 3 in lead.first_name }}",
    "{{ lead.first_name|truncate(lead.custom.n) }}",
    "{{ lead.first_name|center(1000000000) }}",
    "{{ lead.first_name|wordwrap(0) }}",
    "{{ lead.custom.n|int|upper }}",
    "{{ lead }}",
    "{{ lead.custom }}",
    "{{ sender }}",
    "{{ loop }}",
    "{% for c in lead.first_name %}{{ c }}{% endfor %}",
    "{% for x in [1] recursive %}{% endfor %}",
    "{% for a, b in [1] %}{% endfor %}",
    "{{ 'a' if lead.email }}",
    "{% set lead = 'x' %}",
    "{{ {'a': 1} }}",
    "{% filter upper %}x{% endfilter %}",
    "{% for x in ['a'] %}{{ loop.previtem }}{% endfor %}",
    "{{ lead.first_name is divisibleby(3) }}",
])
def test_unsafe_or_failing_constructs_are_refused(body: str) -> None:
    field, message = refusal(body=body)
    assert field == "body"
    assert message


def test_the_size_limits() -> None:
    renderer.check(subject="x" * SUBJECT_MAX_CHARS, body="x" * BODY_MAX_BYTES)
    assert refusal(subject="x" * (SUBJECT_MAX_CHARS + 1), body="")[0] == "subject"
    assert refusal(body="é" * (BODY_MAX_BYTES // 2 + 1))[0] == "body"


def test_render_refuses_an_unchecked_template_the_same_way() -> None:
    with pytest.raises(ValidationFailed):
        renderer.render(subject=None, body="{{ ''.__class__ }}", context=context(), html=False)


# render ---------------------------------------------------------------------------------


def test_render_fills_lead_sender_custom_and_unsubscribe_url() -> None:
    done = renderer.render(
        subject="A question for {{ lead.company }}",
        body="Hi {{ lead.first_name }} ({{ lead.custom.plan }}),\n"
             "{{ sender.name }}\n{{ unsubscribe_url }}",
        context=context(first_name="Ada", company="Analytical", custom={"plan": "pro"}),
        html=False)
    assert done.subject == "A question for Analytical"
    assert done.text == "Hi Ada (pro),\nSam Sender\nhttps://lad.example/u/abc"
    assert done.html is None


def test_missing_values_render_empty() -> None:
    done = renderer.render(subject=None, body="[{{ lead.last_name }}|{{ lead.custom.x }}|"
                                              "{{ lead.custom['y z'] }}]",
                           context=context(), html=False)
    assert done.text == "[||]"
    assert done.subject is None


def test_custom_values_of_any_json_type_render_as_text() -> None:
    done = renderer.render(
        subject=None,
        body="{{ lead.custom.n }} {{ lead.custom.f }} {{ lead.custom.none }}|"
             "{{ lead.custom.items }} {{ lead.custom.yes }} {{ lead.custom.list }}",
        context=context(custom={"n": 3, "f": 1.5, "none": None, "items": "named items",
                                "yes": True, "list": ["a"]}), html=False)
    assert done.text == "3 1.5 |named items True ['a']"


def test_numbers_from_custom_fields_compare_after_int() -> None:
    body = "{% if lead.custom.score|int >= 50 %}hot{% else %}cold{% endif %}"
    assert renderer.render(subject=None, body=body, context=context(custom={"score": "72"}),
                           html=False).text == "hot"
    assert renderer.render(subject=None, body=body, context=context(custom={"score": "n/a"}),
                           html=False).text == "cold"


def test_html_escapes_lead_values_and_makes_paragraphs() -> None:
    done = renderer.render(
        subject="Hi {{ lead.first_name }}",
        body="Hi {{ lead.first_name }},\nhow are you?\n\n\nBest,\n{{ sender.name }}\n",
        context=context(first_name="<script>alert(1)</script>"), html=True)
    assert done.text == "Hi <script>alert(1)</script>,\nhow are you?\n\n\nBest,\nSam Sender\n"
    assert done.html == ("<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;,<br>\nhow are you?</p>\n"
                         "<p>Best,<br>\nSam Sender</p>")
    assert done.subject == "Hi <script>alert(1)</script>"


def test_html_paragraphs_from_crlf_lines() -> None:
    done = renderer.render(subject=None, body="One\r\ntwo\r\n\r\nthree",
                           context=context(), html=True)
    assert done.html == "<p>One<br>\ntwo</p>\n<p>three</p>"


def test_custom_fields_that_are_not_a_mapping_read_as_empty() -> None:
    for custom in (None, ["plan"], "plan", 7):
        done = renderer.render(subject=None, body="[{{ lead.custom.plan }}]",
                               context=context(custom=custom), html=False)
        assert done.text == "[]"


def test_a_lead_value_marked_safe_is_still_escaped() -> None:
    from markupsafe import Markup

    done = renderer.render(subject=None, body="{{ lead.first_name }}",
                           context=context(first_name=Markup("<b>x</b>")), html=True)
    assert done.html == "<p>&lt;b&gt;x&lt;/b&gt;</p>"


def test_the_subject_loses_its_newlines() -> None:
    done = renderer.render(subject="Hello {{ lead.first_name }}\n  and {{ lead.company }}",
                           body="", context=context(first_name="A\r\nB", company="C"),
                           html=False)
    assert done.subject == "Hello A B and C"


def test_the_same_source_is_compiled_once() -> None:
    fresh = JinjaTemplateRenderer()
    for name in ("Ada", "Grace"):
        fresh.render(subject=None, body="Hi {{ lead.first_name }}",
                     context=context(first_name=name), html=True)
    info = fresh._compiled.cache_info()  # type: ignore[attr-defined]  # an lru_cache
    assert (info.hits, info.misses) == (2, 2)  # the text and the HTML template, once each


# render never raises for data -----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)
leads = st.fixed_dictionaries({}, optional={
    **{name: json_values for name in LEAD_FIELDS - {"custom"}},
    "custom": json_values | st.dictionaries(st.sampled_from(["plan", "score", "items", "x"]),
                                            json_values, max_size=4),
})
senders = st.fixed_dictionaries({}, optional={name: st.text(max_size=20)
                                              for name in SENDER_FIELDS})

RICH_TEMPLATE = """Hi {{ lead.first_name|default('there', true)|title }} {{ lead.last_name[:1] }},
{% if lead.custom.score|int > 50 and lead.company %}{{ lead.company|upper }} looks hot{% endif %}
{% if lead.custom.plan in ['pro', 'team'] %}plan {{ lead.custom.plan }}{% endif %}
{% if 'a' in lead.email %}{{ lead.email|replace('@', ' at ') }}{% endif %}
{{ lead.custom.items|truncate(10) }} {{ lead.custom.x|length }} {{ lead.custom.x|float }}
{{ lead.title|wordwrap(5) }}{{ lead.phone|center(9) }}{{ lead.full_name|striptags }}
{% for w in ['a', 'b'] %}{{ loop.index }}{{ w }}{{ lead.custom.plan ~ w }}{% endfor %}
{{ sender.name|e }} <{{ sender.email|urlencode }}> {{ unsubscribe_url }}
{{ lead.custom.x if lead.custom.x is string else 'none' }}"""


@given(lead=leads, sender=senders, html=st.booleans())
@settings(max_examples=scaled(200), suppress_health_check=[HealthCheck.too_slow])
def test_a_checked_template_renders_for_any_lead(lead: dict[str, Any], sender: dict[str, str],
                                                 html: bool) -> None:
    done = renderer.render(subject="Re: {{ lead.company }} {{ lead.custom.plan }}",
                           body=RICH_TEMPLATE,
                           context=RenderContext(lead=lead, sender=sender,
                                                 unsubscribe_url="https://u"),
                           html=html)
    assert "\n" not in (done.subject or "")
    assert (done.html is not None) == html


# Templates assembled from allowed and refused pieces: whatever check accepts renders.
variables = st.sampled_from(["lead.first_name", "lead.custom.score", "lead.custom['a b']",
                             "sender.name", "unsubscribe_url", "lead.email", "lead.custom.x",
                             "lead.nope", "lead.custom", "w", "loop.index"])
constants = st.sampled_from(["'a'", "''", "3", "-2", "0", "2.5", "none", "true", "['a', 1]"])
filters = st.sampled_from(["upper", "title", "trim", "int", "float", "length", "string",
                           "default('x')", "default(3, true)", "truncate(3)", "truncate(0)",
                           "truncate(5, true, '...')", "wordwrap(0)", "wordwrap(4)",
                           "replace('a', 'b')", "replace(1, 2)", "center(5)", "indent(2)",
                           "urlencode", "striptags", "e", "count", "wordcount", "join",
                           "first", "round"])
operators = st.sampled_from(["==", "!=", "<", ">=", "in", "not in", "~", "and", "or", "+"])


def expressions() -> st.SearchStrategy[str]:
    return st.recursive(
        variables | constants,
        lambda inner: st.one_of(
            st.tuples(inner, filters).map(lambda p: f"{p[0]}|{p[1]}"),
            st.tuples(inner, operators, inner).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
            st.tuples(inner, inner, inner).map(lambda p: f"({p[0]} if {p[1]} else {p[2]})"),
            inner.map(lambda e: f"(not {e})"),
            inner.map(lambda e: f"{e}[1:3]"),
            inner.map(lambda e: f"{e}[0]"),
        ),
        max_leaves=6)


statements = st.one_of(
    expressions().map(lambda e: "{{ " + e + " }}"),
    st.tuples(expressions(), expressions()).map(
        lambda p: "{% if " + p[0] + " %}{{ " + p[1] + " }}{% endif %}"),
    st.tuples(constants, expressions()).map(
        lambda p: "{% for w in " + p[0] + " %}{{ " + p[1] + " }}{% endfor %}"),
    st.just("\n\n"), st.just("text "),
)


@given(pieces=st.lists(statements, min_size=1, max_size=4), lead=leads, html=st.booleans())
@settings(max_examples=scaled(400), suppress_health_check=[HealthCheck.too_slow])
def test_whatever_check_accepts_renders_for_any_lead(pieces: list[str], lead: dict[str, Any],
                                                     html: bool) -> None:
    body = "".join(pieces)
    try:
        renderer.check(subject=None, body=body)
    except ValidationFailed:
        return
    renderer.render(subject=None, body=body, html=html,
                    context=RenderContext(lead=lead, sender={}, unsubscribe_url=""))
