"""Just enough of PromQL's lexical grammar to find the metric selectors of an expression.

promtool checks syntax for real (tests/static/test_alert_rules.py); what promtool cannot tell
us is *which* metrics an expression reads and whether every selector carries a given matcher.
The token rules follow Prometheus' lexer (prometheus/prometheus `promql/parser/lex.go`):
strings in "", '' or ``, label matchers in {}, ranges and subqueries in [], identifiers
`[a-zA-Z_:][a-zA-Z0-9_:]*`, and keywords/aggregators from `promql/parser/lex.go` `key` map.
A metric selector is an identifier that is neither a keyword, nor a function or aggregator
(those are followed by `(` or by `by`/`without`), nor a label name inside the parentheses of
`by`, `without`, `on`, `ignoring`, `group_left` or `group_right`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AGGREGATORS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}  # fmt: skip
KEYWORDS = {"and", "or", "unless", "atan2", "offset", "bool", "inf", "nan", "start", "end"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}

_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?[a-zA-Z]*")


@dataclass(frozen=True)
class Selector:
    """One vector selector: its metric name ("" for `{...}` alone) and its matcher text."""

    metric: str
    matchers: str


class PromQLSyntaxError(ValueError):
    """The expression is not even lexically PromQL (unbalanced brackets or quotes)."""


def _skip_string(expr: str, start: int) -> int:
    quote = expr[start]
    i = start + 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    raise PromQLSyntaxError(f"unterminated string at {start}: {expr!r}")


def _closing(expr: str, start: int, open_: str, close: str) -> int:
    """Index just past the bracket that closes the one at `start` (strings skipped)."""
    depth, i = 0, start
    while i < len(expr):
        char = expr[i]
        if char in "\"'`":
            i = _skip_string(expr, i)
            continue
        if char == open_:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise PromQLSyntaxError(f"unbalanced {open_!r} at {start}: {expr!r}")


def _next_non_space(expr: str, i: int) -> int:
    while i < len(expr) and expr[i].isspace():
        i += 1
    return i


_GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$[a-zA-Z0-9_]+")


def _skip(expr: str, i: int) -> int | None:
    """End of the token at `i` if it cannot hold a selector's name (string, range, number)."""
    char = expr[i]
    if char.isspace():
        return i + 1
    if char in "\"'`":
        return _skip_string(expr, i)
    if char == "[":
        return _closing(expr, i, "[", "]")
    if char == "$":  # a Grafana variable such as $__rate_interval or ${prometheusds}
        match = _GRAFANA_VARIABLE.match(expr, i)
        return match.end() if match else i + 1
    number = _NUMBER.match(expr, i)
    if number and not _IDENT.match(expr, i):
        return number.end()
    return None


def selectors(expr: str) -> list[Selector]:
    """Every vector selector of `expr`, in order."""
    found: list[Selector] = []
    depth = i = 0
    while i < len(expr):
        char = expr[i]
        skipped = _skip(expr, i)
        if skipped is not None:
            i = skipped
        elif char in "()":
            depth += 1 if char == "(" else -1
            if depth < 0:
                raise PromQLSyntaxError(f"unbalanced ')' at {i}: {expr!r}")
            i += 1
        elif char == "{":
            end = _closing(expr, i, "{", "}")
            found.append(Selector("", expr[i + 1 : end - 1]))
            i = end
        elif ident := _IDENT.match(expr, i):
            i = _identifier(expr, ident.group(), ident.end(), found)
        else:
            i += 1
    if depth:
        raise PromQLSyntaxError(f"unbalanced '(': {expr!r}")
    return found


def _identifier(expr: str, name: str, end: int, found: list[Selector]) -> int:
    """Classify the identifier `name` ending at `end`; return where lexing continues."""
    after = _next_non_space(expr, end)
    lowered = name.lower()
    if lowered in LABEL_LIST_KEYWORDS:
        if after < len(expr) and expr[after] == "(":
            return _closing(expr, after, "(", ")")
        return end
    if lowered in KEYWORDS or lowered in AGGREGATORS:
        return end
    if after < len(expr) and expr[after] == "(":
        return end  # a function call
    if after < len(expr) and expr[after] == "{":
        close = _closing(expr, after, "{", "}")
        found.append(Selector(name, expr[after + 1 : close - 1]))
        return close
    found.append(Selector(name, ""))
    return end


def metric_names(expr: str) -> set[str]:
    """Names of the metrics `expr` reads (selectors without a name are left out)."""
    return {s.metric for s in selectors(expr) if s.metric}
