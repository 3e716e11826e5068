"""The checks that keep templated scalars strings: they pass on quoted templates, fail on bare."""

from pathlib import Path

import pytest

from dsplib import kubernetes
from dsplib.testing import YAML_AMBIGUOUS, check_values_stay_strings, unquoted_expressions

BARE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ name }}-config
  namespace: {{ namespace }}
data:
  {{ key }}: {{ value | to_json }}
"""
QUOTED = """\
{%- set labels %}
app: {{ name | to_json }}
{%- endset %}
{%- macro owner() %}
  owner: {{ name | to_json }}
{%- endmacro %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ (name ~ "-config") | to_json }}
  namespace: {{ namespace|to_json }}
  labels:
    {{ labels | indent(4) }}
data:
  {{ key | to_json }}: {{ value | to_json }}
{{- owner() }}
"""


def templates(tmp_path: Path, text: str) -> Path:
    (tmp_path / "10-config.yaml.j2").write_text(text)
    return tmp_path


def render(template_dir: Path):
    def with_name(name: str):
        context = {"name": name, "namespace": name, "key": name, "value": name}
        return kubernetes.render(template_dir, context)

    return with_name


def test_bare_expressions_are_listed_with_their_line(tmp_path):
    assert unquoted_expressions(templates(tmp_path, BARE)) == [
        "10-config.yaml.j2:4: {{ name }}",
        "10-config.yaml.j2:5: {{ namespace }}",
        "10-config.yaml.j2:7: {{ key }}",
    ]


def test_filtered_expressions_fragments_and_macros_pass(tmp_path):
    assert unquoted_expressions(templates(tmp_path, QUOTED)) == []


def test_an_indented_variable_that_is_not_a_fragment_of_the_template_is_listed(tmp_path):
    text = "data:\n  {{ user_text | indent(2) }}\n"
    assert unquoted_expressions(templates(tmp_path, text)) == [
        "10-config.yaml.j2:2: {{ user_text | indent(2) }}"
    ]


@pytest.mark.parametrize("name", ["123", "null", "yes", "2024-01-01", "0x1f"])
def test_bare_templates_fail_the_rendering_check(tmp_path, name):
    with pytest.raises(AssertionError, match="not '"):
        check_values_stay_strings(render(templates(tmp_path, BARE)), [name])


def test_quoted_templates_pass_the_rendering_check(tmp_path):
    check_values_stay_strings(render(templates(tmp_path, QUOTED)), YAML_AMBIGUOUS)


def test_a_render_that_ignores_its_argument_fails(tmp_path):
    with pytest.raises(AssertionError, match="ignores"):
        check_values_stay_strings(lambda _: [{"kind": "ConfigMap", "data": {"a": "b"}}])


def test_lib_test_templates_follow_the_rule():
    assert unquoted_expressions(Path(__file__).parent / "templates") == []
