"""The PromQL selector finder (tests/promql.py) on the constructs our rules and dashboards use."""

import pytest

from promql import PromQLSyntaxError, Selector, metric_names, selectors


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('sum by (le) (rate(x_bucket{a="}", b=~"[0-9]"}[5m]))', {"x_bucket"}),
        ("sum(rate(a[5m])) by (job) / on(job) group_left(instance) b offset 1h", {"a", "b"}),
        ('(sum(rate(a[30m])) or vector(0)) + count_values("v", c) > bool 0.25', {"a", "c"}),
        ("histogram_quantile(0.95, sum without (pod) (rate(d[$__rate_interval])))", {"d"}),
        ("absent(up{job='x'}) and on() e @ start()", {"up", "e"}),
        ("rate(f[5m:1m]) * 1e3 - 0x1f + Inf", {"f"}),
        ('{__name__=~"g.*"}', set()),
    ],
)
def test_metric_names(expr, names):
    assert metric_names(expr) == names


def test_selectors_keep_their_matchers():
    expr = 'a{%%juju_topology%%, code=~"5.."} / b'
    assert selectors(expr) == [Selector("a", '%%juju_topology%%, code=~"5.."'), Selector("b", "")]


@pytest.mark.parametrize("expr", ["sum(rate(a[5m])", "a)", 'a{b="c}', "a{b='c'"])
def test_unbalanced_input_is_an_error(expr):
    with pytest.raises(PromQLSyntaxError):
        selectors(expr)
