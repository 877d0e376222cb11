"""Just enough PromQL reading to check that queries name only metrics vsyncer exports.

:func:`exported` derives every series name a registry exposes from its text
exposition's ``# TYPE`` lines (a family with no children yet still has one):
a counter ``x_total`` and ``x_created``, a histogram ``x_bucket``, ``x_sum``,
``x_count`` and ``x_created``, a gauge ``x``.

:func:`metric_names` is every metric name in a PromQL expression: string
literals, label matchers (``{...}``), ranges (``[5m]``) and grouping clauses
(``by (...)``, ``without (...)``, ``on (...)``, ``ignoring (...)``) are removed
first, then every identifier that is not a PromQL function, aggregation or
keyword is taken as a metric name — so a bare metric name counts as well as a
selector.  An identifier PromQL does not know (a typo in a function) is
reported as a metric name too, and fails the caller's subset check.
"""

from __future__ import annotations

import re

_TYPE_LINE = re.compile(r"^# TYPE (\S+) (\S+)$", re.MULTILINE)
_SUFFIXES = {
    "counter": ("", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("",),
    "untyped": ("",),
}
_WORDS = """
    sum avg min max count stddev stdvar topk bottomk quantile count_values group
    rate irate increase delta idelta deriv predict_linear resets changes
    histogram_quantile absent absent_over_time vector scalar time timestamp
    clamp clamp_min clamp_max abs ceil floor round exp ln log2 log10 sqrt sgn
    avg_over_time min_over_time max_over_time sum_over_time count_over_time
    quantile_over_time last_over_time present_over_time label_replace label_join
    sort sort_desc and or unless bool offset by without on ignoring group_left group_right
"""
PROMQL_WORDS = frozenset(_WORDS.split())
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*")


def exported(exposition: str) -> set[str]:
    """Every series name the text ``exposition`` can hold, from its ``# TYPE`` lines."""
    names: set[str] = set()
    for family, kind in _TYPE_LINE.findall(exposition):
        base = family.removesuffix("_total") if kind == "counter" else family
        for suffix in _SUFFIXES[kind]:
            names.add(family if kind == "counter" and suffix == "" else base + suffix)
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` reads (see the module docstring)."""
    text = _STRING.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    return {word for word in _IDENTIFIER.findall(text) if word not in PROMQL_WORDS}
