"""What the Markdown files of the repository name must exist: the rules of the docs check.

A reader follows the docs literally, so every name a page gives is checked against the
repository (tests/static/test_docs.py runs this on every tracked `.md` file):

1. Links. Every relative link and image (`[text](target)`, `![alt](target)`,
   `[label]: target`) outside code names a file or directory that exists, relative to the
   page (the `#fragment` is not checked). Links with a scheme (`https:`, `mailto:`) and
   same-page anchors are not checked.
2. Paths in backticks. An inline code span that is one word and whose first path component is
   a top-level entry of the repository (`charms/...`, `tools/x.py`, `bundle.yaml`) must exist,
   from the repository root or from the page's directory; so must every word of a command in a
   fenced block (or the value of an `option=value` word) that has a `/` and starts at a
   top-level entry (`--overlay overlays/ceph.yaml`, `python tools/cos_overlay.py`).
   `<placeholder>` and `*` match any name, `{a,b}` both names, at least one file must match;
   a trailing `:LINE` or `::test` is dropped. Paths that .gitignore covers (build/, *.charm,
   outputs) are made by commands and not checked.
3. Commands, in inline code and in fenced blocks (lines joined at a trailing backslash, split at
   `;`, `&&`, `||` and `|`, a leading `sudo` or `VAR=value` dropped):
   - `./dev COMMAND` names a sub-command of `dev`; `./dev test ENV...` and every
     `tox -e ENV[,ENV]` (also `./dev tox -e`) name environments of tox.ini;
   - `make TARGET...` names targets of the Makefile (pattern rules such as `build-%` count);
   - `juju run [options] APP/UNIT... ACTION [key=value...]` names an action that the charm of
     APP declares in its charmcraft.yaml, and only parameters that action declares (Juju 4
     rejects parameters an action does not declare); a dotted `key.sub=value` sets `key`, and
     the options are those of `juju run` (juju/juju cmd/juju/action/run.go, `SetFlags` and
     `Init`, with the run command base's --background, --wait, --utc and the output
     options): an unknown option is a finding too;
   - `juju config [options] APP [key[=value]...]` (and `--reset key,...`) names only options
     the charm of APP declares under `config.options`.
   APP is mapped to a charm through bundle.yaml and the overlays (an application deployed from
   a `.charm` file is ours), and every charm in charms/ is also its own default application
   name. Applications of Charmhub charms cannot be checked here (their actions and options
   are not in this repository): they are skipped only when listed in `CHARMHUB_APPS`, and any
   other application is a finding.
   Words that are placeholders (`<env>`, `NAME`, `$VAR`, `...`) are not checked.
"""

from __future__ import annotations

import configparser
import fnmatch
import glob
import itertools
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Applications of Charmhub charms that docs drive with `juju run` / `juju config`: their
# actions and options live in those charms, not here. Application -> charm.
CHARMHUB_APPS = {
    "s3-integrator": "s3-integrator",
    "backup-s3": "s3-integrator",
    "ceph-s3": "s3-integrator",
    # `for db in kfp-db katib-db; do juju run $db-backup-s3/leader ...` (overlays/backup.yaml)
    "$db-backup-s3": "s3-integrator",
    "kfp-db": "mysql-k8s",
    "katib-db": "mysql-k8s",
    "ldap-integrator": "ldap-integrator",
    "grafana": "grafana-k8s",
    "jupyter-ui": "jupyter-ui",
    # HTTPS at the gateway (overlays/tls.yaml, docs/how-to/tls.md)
    "istio-pilot": "istio-pilot",
    "oidc-gatekeeper": "oidc-gatekeeper",
    "self-signed-certificates": "self-signed-certificates",
    "manual-tls-certificates": "manual-tls-certificates",
    # Charmed Kubeflow's MinIO, whose keys the artifact migration reads (canonical/minio-operator
    # config.yaml: access-key, secret-key)
    "minio": "minio",
    # the machine model of infrastructure/bundle.yaml (docs/how-to/proxy.md)
    "containerd": "containerd",
    "kubernetes-control-plane": "kubernetes-control-plane",
    "calico": "calico",
    # Charmed Apache Kafka K8s of overlays/kafka.yaml (canonical/kafka-operator k8s/config.yaml:
    # extra-listeners, docs/how-to/kafka.md)
    "kafka-k8s": "kafka-k8s",
}
KNOWN_EXTENSIONS = (
    ".py", ".md", ".yaml", ".yml", ".json", ".toml", ".ini", ".sh", ".txt", ".j2", ".svg",
    ".dot", ".cfg", ".lock", ".in", ".ipynb", ".rules", ".charm", ".pem", ".tf",
)  # fmt: skip
# Options of `juju run` (Juju 3.6 and 4, cmd/juju/action/run.go): with a value, and flags.
JUJU_RUN_VALUE_OPTIONS = {"-m", "--model", "--wait", "--format", "-o", "--output", "--params"}
JUJU_RUN_FLAGS = {"--background", "--color", "--no-color", "--string-args", "--utc", "-B"}
# Options of `juju config` (cmd/juju/application/config.go).
JUJU_CONFIG_VALUE_OPTIONS = {"-m", "--model", "--file", "--format", "-o", "--output"}
JUJU_CONFIG_FLAGS = {"--color", "--no-color", "--no-check"}
SKIPPED_DIRS = {".git", ".tox", ".tools", ".venv", "build", "node_modules", "__pycache__"}
FIXTURES = Path("tests/static/data/docs-fixtures")


@dataclass
class Charm:
    """What a charm of ours declares: actions with their parameters, and config options."""

    name: str
    actions: dict[str, set[str]] = field(default_factory=dict)
    options: set[str] = field(default_factory=set)


@dataclass
class Repo:
    """The names a page may use, read from the repository's own files."""

    root: Path
    top_level: set[str]
    ignored: list[str]
    dev_commands: set[str]
    tox_envs: set[str]
    make_targets: set[str]
    apps: dict[str, Charm]

    @classmethod
    def read(cls, root: Path) -> Repo:
        """Read every source of names once."""
        return cls(
            root=root,
            top_level={p.name for p in root.iterdir() if p.name not in SKIPPED_DIRS},
            ignored=gitignore_patterns(root),
            dev_commands=dev_commands(root / "dev"),
            tox_envs=tox_envs(root / "tox.ini"),
            make_targets=make_targets(root / "Makefile"),
            apps=our_apps(root),
        )


def gitignore_patterns(root: Path) -> list[str]:
    """The .gitignore patterns: paths under them are made by commands, not kept in git."""
    path = root / ".gitignore"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def dev_commands(dev: Path) -> set[str]:
    """Sub-commands `dev` dispatches on (`command == "test"`, `command in (...)`)."""
    text = dev.read_text()
    names = set(re.findall(r'command == "([\w-]+)"', text))
    for group in re.findall(r"command in \(([^)]*)\)", text):
        names |= set(re.findall(r'"([\w-]+)"', group))
    return names


def tox_envs(tox_ini: Path) -> set[str]:
    """Environments of tox.ini: its `[testenv:NAME]` sections and env_list."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(tox_ini)
    envs = {s.split(":", 1)[1] for s in parser.sections() if s.startswith("testenv:")}
    env_list = parser.get("tox", "env_list", fallback="")
    return envs | {e.strip() for e in re.split(r"[,\s]+", env_list) if e.strip()}


def make_targets(makefile: Path) -> set[str]:
    """Targets of the Makefile, pattern rules (`build-%`) included as patterns."""
    targets: set[str] = set()
    rule = re.compile(r"^([A-Za-z0-9_.%-]+(?:[ \t]+[A-Za-z0-9_.%-]+)*)[ \t]*:(?!=)")
    for line in makefile.read_text().splitlines():
        found = rule.match(line)
        if found:
            targets |= {t for t in found[1].split() if not t.startswith(".")}
    return targets


def charm_of_file(root: Path, charm: str) -> Path | None:
    """The charms/ directory whose packed file an application's `charm:` names."""
    if not charm.endswith(".charm"):
        return None
    name = Path(charm).name[: -len(".charm")]
    for meta in root.glob("charms/*/charmcraft.yaml"):
        if (yaml.safe_load(meta.read_text()) or {}).get("name") == name:
            return meta.parent
    return None


def read_charm(directory: Path) -> Charm:
    """Actions with parameters and config options from a charm's charmcraft.yaml."""
    meta = yaml.safe_load((directory / "charmcraft.yaml").read_text()) or {}
    actions = {
        name: set(((spec or {}).get("params") or {}).keys())
        for name, spec in (meta.get("actions") or {}).items()
    }
    options = set(((meta.get("config") or {}).get("options") or {}).keys())
    return Charm(name=meta.get("name", directory.name), actions=actions, options=options)


def our_apps(root: Path) -> dict[str, Charm]:
    """Application name -> our charm, from bundle.yaml, the overlays and the charms' names."""
    apps: dict[str, Charm] = {}
    for meta in sorted(root.glob("charms/*/charmcraft.yaml")):
        charm = read_charm(meta.parent)
        apps[charm.name] = charm
    for path in [root / "bundle.yaml", *sorted(root.glob("overlays/*.yaml"))]:
        if not path.exists():
            continue
        data = yaml.safe_load(path.read_text()) or {}
        for app, spec in (data.get("applications") or {}).items():
            directory = charm_of_file(root, str((spec or {}).get("charm", "")))
            if directory is not None:
                apps[app] = read_charm(directory)
    return apps


# --- reading Markdown ---------------------------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)")


@dataclass
class Page:
    """A Markdown file split into prose lines, inline code spans and fenced code lines."""

    path: Path
    prose: list[tuple[int, str]] = field(default_factory=list)
    spans: list[tuple[int, str]] = field(default_factory=list)
    code: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Page:
        """Split the file; fenced lines ending in a backslash are joined with the next."""
        page = cls(path)
        fenced = False
        pending: tuple[int, str] | None = None
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if fenced:
                if pending is not None:
                    number, line = pending[0], pending[1] + " " + line.strip()
                    pending = None
                if line.rstrip().endswith("\\"):
                    pending = (number, line.rstrip()[:-1])
                    continue
                page.code.append((number, line))
                continue
            page.spans.extend((number, m[2].strip()) for m in INLINE_CODE.finditer(line))
            page.prose.append((number, INLINE_CODE.sub("", line)))
        return page


@dataclass(frozen=True)
class Finding:
    """One name a page gives that the repository does not have."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


# --- rule 1: links -------------------------------------------------------------------------


def check_links(page: Page) -> list[Finding]:
    """Relative links and images name files that exist, relative to the page."""
    findings = []
    for number, line in page.prose:
        targets = [m[1] for m in LINK.finditer(line)]
        reference = REFERENCE_LINK.match(line)
        if reference:
            targets.append(reference[1])
        for target in targets:
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
                continue
            file_part = target.split("#", 1)[0].split("?", 1)[0]
            if not (page.path.parent / file_part).exists():
                findings.append(Finding(page.path, number, f"broken link: {target}"))
    return findings


# --- rule 2: paths in backticks ------------------------------------------------------------

PATH_WORD = re.compile(r"^[\w.\-/<>*{},]+$")


def is_ignored(relative: str, patterns: list[str]) -> bool:
    """Whether .gitignore covers the path (the path itself or one of its directories)."""
    parts = relative.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.strip("/")
        if "/" in bare:
            if any(fnmatch.fnmatch(p, bare) for p in prefixes):
                return True
        elif any(fnmatch.fnmatch(part, bare) for part in parts):
            return True
    return False


def expand_braces(word: str) -> list[str]:
    """`a.{dot,svg}` -> `a.dot`, `a.svg` (one level, as the docs use it)."""
    found = re.search(r"\{([^{}]*)\}", word)
    if not found:
        return [word]
    return [
        expanded
        for choice in found[1].split(",")
        for expanded in expand_braces(word[: found.start()] + choice + word[found.end() :])
    ]


def path_exists(base: Path, word: str) -> bool:
    """Whether the path (with `<x>` and `*` matching any name) names something under base."""
    for variant in expand_braces(word):
        pattern = re.sub(r"<[^>]*>", "*", variant)
        if any(ch in pattern for ch in "*?["):
            if glob.glob(str(base / pattern)):
                return True
        elif (base / pattern).exists():
            return True
    return False


def repository_path(word: str, repo: Repo) -> str | None:
    """The path a code span names when it looks like a repository path, else None."""
    word = re.sub(r"(::\w+|:\d+(-\d+)?)$", "", word.strip())
    word = word.removeprefix("./")
    if not PATH_WORD.match(word) or word.startswith(("/", "~", "-")):
        return None
    first = word.split("/", 1)[0]
    if first not in repo.top_level:
        return None
    if "/" not in word and not word.endswith(KNOWN_EXTENSIONS):
        return None
    return word


def command_paths(page: Page, repo: Repo) -> list[tuple[int, str]]:
    """Words of fenced commands that are repository paths with a directory part."""
    found = []
    for number, text in page.code:
        for words in commands_in(text):
            for word in words:
                for part in word.split("=")[-1:]:
                    path = repository_path(part, repo)
                    if path is not None and "/" in path:
                        found.append((number, path))
    return found


def check_paths(page: Page, repo: Repo) -> list[Finding]:
    """Paths in inline code and fenced commands exist (unless git ignores them)."""
    findings = []
    spans = [(number, repository_path(span, repo)) for number, span in page.spans]
    for number, word in [*spans, *command_paths(page, repo)]:
        if word is None or is_ignored(word, repo.ignored):
            continue
        if not (path_exists(repo.root, word) or path_exists(page.path.parent, word)):
            findings.append(Finding(page.path, number, f"no such path: {word}"))
    return findings


# --- rule 3: commands ----------------------------------------------------------------------

SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def is_placeholder(word: str) -> bool:
    """`<env>`, `NAME`, `$VAR`, `...`: words a reader replaces, not names to check."""
    return (
        any(ch in word for ch in "<>[]$")
        or word.startswith("...")
        or bool(re.fullmatch(r"[A-Z][A-Z0-9_]*", word))
    )


def commands_in(text: str) -> list[list[str]]:
    """The simple commands of a shell line, as words, without `sudo` and VAR=value prefixes."""
    commands = []
    # a `<placeholder with spaces>` is one word; a lone `>` or `<` starts a redirection
    text = re.sub(r"<[^<>]*>", lambda m: "<" + re.sub(r"\W+", "-", m[0][1:-1]) + ">", text)
    for part in SEPARATORS.split(text):
        part = re.split(r"\s(?:[0-9]?>>?|<)\s", part, maxsplit=1)[0]
        try:
            words = shlex.split(part, comments=True)
        except ValueError:
            words = part.split()
        while words and (words[0] in ("sudo", "$", "do", "then") or ASSIGNMENT.match(words[0])):
            words = words[1:]
        if words:
            commands.append(words)
    return commands


def check_tox(words: list[str], repo: Repo) -> list[str]:
    """`tox ... -e a,b`: every environment exists."""
    problems = []
    for flag, value in itertools.pairwise(words):
        if flag == "-e":
            for env in value.split(","):
                if env and not is_placeholder(env) and env not in repo.tox_envs:
                    problems.append(f"no tox environment {env!r} in tox.ini")
    return problems


def check_dev(words: list[str], repo: Repo) -> list[str]:
    """`./dev COMMAND ...`: the sub-command exists; test and tox name real environments."""
    if len(words) < 2 or is_placeholder(words[1]):
        return []
    command, rest = words[1], words[2:]
    if command not in repo.dev_commands:
        return [f"./dev has no sub-command {command!r}"]
    if command == "tox":
        return check_tox(words, repo)
    if command == "test":
        return [
            f"no tox environment {env!r} in tox.ini"
            for env in rest
            if not env.startswith("-") and not is_placeholder(env) and env not in repo.tox_envs
        ]
    return []


def check_make(words: list[str], repo: Repo) -> list[str]:
    """`make TARGET...`: every target is a Makefile target or matches a pattern rule."""
    problems = []
    targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    for target in targets:
        if is_placeholder(target):
            continue
        patterns = (t.replace("%", "*") for t in repo.make_targets)
        if not any(fnmatch.fnmatch(target, p) for p in patterns):
            problems.append(f"no make target {target!r} in the Makefile")
    return problems


def positional(
    words: list[str], with_value: set[str], flags: set[str]
) -> tuple[list[str], list[str]]:
    """Split a juju command's words into positional words and problems with options."""
    words_left: list[str] = []
    problems: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            if name in with_value:
                skip = "=" not in word
            elif name not in flags:
                problems.append(f"unknown option {name}")
            continue
        words_left.append(word)
    return words_left, problems


def charm_of_app(app: str) -> tuple[str, bool]:
    """`app/unit` -> app, and whether the app is a listed Charmhub application."""
    name = app.split("/", 1)[0]
    return name, name in CHARMHUB_APPS


def check_juju_run(words: list[str], repo: Repo) -> list[str]:
    """`juju run APP/UNIT... ACTION key=value...` against the charm's declared actions."""
    args, problems = positional(words[2:], JUJU_RUN_VALUE_OPTIONS, JUJU_RUN_FLAGS)
    if args and is_placeholder(args[0]):
        return problems
    units = list(itertools.takewhile(lambda w: "/" in w and "=" not in w, args))
    rest = args[len(units) :]
    if not units or not rest:
        return [*problems, "juju run needs a unit and an action"]
    problems += [p for unit in units for p in check_action(unit, rest, repo)]
    return problems


def check_action(unit: str, rest: list[str], repo: Repo) -> list[str]:
    """One unit's action and parameters."""
    app, from_charmhub = charm_of_app(unit)
    if from_charmhub:
        return []
    if app not in repo.apps:
        return [f"application {app!r} is neither ours nor listed in CHARMHUB_APPS"]
    charm = repo.apps[app]
    action, params = rest[0], rest[1:]
    if action not in charm.actions:
        return [f"{charm.name} declares no action {action!r}"]
    problems = []
    for param in params:
        key = param.split("=", 1)[0].split(".", 1)[0]
        if "=" not in param:
            problems.append(f"{param!r} is not key=value")
        elif key not in charm.actions[action]:
            problems.append(f"action {action!r} of {charm.name} declares no parameter {key!r}")
    return problems


def check_juju_config(words: list[str], repo: Repo) -> list[str]:
    """`juju config APP key=value key --reset a,b` against the charm's config options."""
    words = words[2:]
    reset: list[str] = []
    if "--reset" in words:
        at = words.index("--reset")
        reset = words[at + 1].split(",") if at + 1 < len(words) else []
        words = words[:at] + words[at + 2 :]
    args, problems = positional(words, JUJU_CONFIG_VALUE_OPTIONS, JUJU_CONFIG_FLAGS)
    if not args:
        return problems
    app, from_charmhub = charm_of_app(args[0])
    if from_charmhub or is_placeholder(app):
        return problems
    if app not in repo.apps:
        return [*problems, f"application {app!r} is neither ours nor listed in CHARMHUB_APPS"]
    charm = repo.apps[app]
    for key in [a.split("=", 1)[0] for a in args[1:]] + reset:
        if key and not is_placeholder(key) and key not in charm.options:
            problems.append(f"{charm.name} has no config option {key!r}")
    return problems


def check_command(words: list[str], repo: Repo) -> list[str]:
    """Problems with one simple command (none for commands the rules do not cover)."""
    head = words[0]
    if head == "./dev":
        return check_dev(words, repo)
    if head == "tox":
        return check_tox(words, repo)
    if head == "make":
        return check_make(words, repo)
    if head == "juju" and len(words) > 1 and words[1] == "run":
        return check_juju_run(words, repo)
    if head == "juju" and len(words) > 1 and words[1] == "config":
        return check_juju_config(words, repo)
    return []


def check_commands(page: Page, repo: Repo) -> list[Finding]:
    """Every command in inline code and fenced blocks names what exists."""
    findings = []
    for number, text in [*page.spans, *page.code]:
        for words in commands_in(text):
            for problem in check_command(words, repo):
                findings.append(Finding(page.path, number, f"{problem}: {' '.join(words)}"))
    return findings


# --- all rules -----------------------------------------------------------------------------


def check_page(path: Path, repo: Repo) -> list[Finding]:
    """Every rule on one Markdown file."""
    page = Page.read(path)
    return [*check_links(page), *check_paths(page, repo), *check_commands(page, repo)]


def markdown_files(root: Path) -> list[Path]:
    """The repository's Markdown files, without generated trees and the broken fixtures."""
    found = []
    for path in sorted(root.rglob("*.md")):
        relative = path.relative_to(root)
        if SKIPPED_DIRS & set(relative.parts) or relative.is_relative_to(FIXTURES):
            continue
        found.append(path)
    return found
