"""The README's curl session pastes and runs as it stands, and prints what the README shows."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.live_server import chain_ledger_command, serve  # noqa: F401  (fixture)

README = Path(__file__).resolve().parents[1] / "README.md"


def _session() -> tuple[str, str]:
    text = README.read_text()
    section = text[text.index("## A session (curl)"):]
    section = section[:section.index("\n## ", 1)]
    script = re.search(r"```sh\n(.*?)```", section, re.S)[1]
    shown = re.search(r"```text\n(.*?)```", section, re.S)[1]
    return script, shown


@pytest.mark.skipif((shutil.which("jq") is None or shutil.which("curl") is None) and not os.environ.get("CI"),
                    reason="the README's session needs curl and jq (in CI a missing one fails the test)")
def test_the_curl_session_prints_what_the_readme_shows(db_url, serve, tmp_path):  # noqa: F811  (the fixture)
    subprocess.run([*chain_ledger_command(), "seed", "--demo"], check=True, capture_output=True,
                   env={**_env(), "LEDGER_DATABASE_URL": db_url})
    server = serve()
    script, shown = _session()
    assert "http://127.0.0.1:8000/api/v1" in script and ".venv/bin/chain-ledger" in script
    script = (script.replace("http://127.0.0.1:8000", server.url)
              .replace(".venv/bin/chain-ledger", " ".join(map(shlex.quote, chain_ledger_command()))))
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120,
                          env={**_env(), "LEDGER_DATABASE_URL": db_url}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}


# --- The README and docs/ promise only what exists -------------------------------------------------------------

ROOT = README.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
#: LEDGER_* names in the docs that are not service settings: the tests' database switch and screenshot refresh,
#: and the CLI's token variable (`chain-ledger audit prove-consistency`).
NOT_SETTINGS = {"LEDGER_TEST_DB", "LEDGER_DOCS_SCREENSHOTS", "LEDGER_TOKEN"}


def _fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def test_the_first_screen_gives_the_two_commands_and_ci_runs_the_readmes_test_command():
    text = README.read_text()
    section = text[text.index("## Two commands"):text.index("## A session (curl)")]
    start, tests = (block.strip() for block in _fenced(section, "sh"))
    first_screen = "\n".join(text.splitlines()[:40])
    assert start in first_screen and tests in first_screen
    assert "seed --demo" in start and "token create" in start and start.endswith("chain-ledger serve")
    assert 'pip install -q -e ".[test]"' in tests and tests.endswith("-m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    body = re.search(r"test_command\(\) \{\n(.*?)\n\}", ci, re.S)[1].strip()
    assert body == tests + ' "$@"', "`.ci/run` must run the README's test command"


def test_every_ledger_variable_named_is_a_setting_and_every_setting_is_in_the_operating_table():
    from service.config import Settings

    fields = Settings.model_fields
    for path in [README, *DOCS]:
        for name in set(re.findall(r"\bLEDGER_[A-Z0-9_]*[A-Z0-9]\b", path.read_text())) - NOT_SETTINGS:
            if name.endswith("_*"):
                continue
            assert name.removeprefix("LEDGER_").lower() in fields, f"{path.name} names {name}, which is no setting"
    operating = (ROOT / "docs" / "operating.md").read_text()
    table = operating[operating.index("## Settings"):]
    rows = dict(re.findall(r"^\| `(LEDGER_[A-Z0-9_]+)` \| ([^|]*) \|", table, re.M))
    for field, info in fields.items():
        name = "LEDGER_" + field.upper()
        assert name in rows, f"{name} is missing from docs/operating.md's settings table"
        shown = re.match(r"`([^`]*)`", rows[name].strip())
        if info.default_factory is not None or shown is None:
            assert info.default in ("", None) or info.default_factory is not None, (name, rows[name])
            continue
        default = info.default
        if isinstance(default, bool):
            assert shown[1] == str(default).lower(), (name, shown[1], default)
        elif isinstance(default, int | float):
            assert float(shown[1]) == float(default), (name, shown[1], default)
        else:
            assert shown[1] == default, (name, shown[1], default)


def _commands():
    import typer.main

    from service.cli import app

    return typer.main.get_command(app)


def _snippets(text: str) -> list[str]:
    code = [line for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S) for line in block.splitlines()]
    inline = re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S))  # a span may wrap a line
    return code + [" ".join(span.split()) for span in inline]


def test_every_chain_ledger_command_and_option_named_exists():
    root = _commands()
    named = 0
    for path in [README, *DOCS]:
        for snippet in _snippets(path.read_text()):
            for call in re.finditer(r"(?:^|[\s/$(])chain-ledger((?: [^\s&;>)]+)*)", snippet):
                words = call[1].split()
                while words and words[0] == "--debug":
                    words.pop(0)
                if not words or not re.fullmatch(r"[a-z][a-z-]*", words[0]):
                    continue  # `chain-ledger COMMAND --help` and the like
                command = root.get_command(None, words.pop(0))
                assert command is not None, f"{path.name}: {snippet!r} names no chain-ledger command"
                if hasattr(command, "get_command") and words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
                    command = command.get_command(None, words.pop(0))
                    assert command is not None, f"{path.name}: {snippet!r} names no chain-ledger command"
                options = {opt for param in command.params for opt in param.opts} | {"--help"}
                depth = 0  # inside [ … ] a `|` separates alternatives; outside it ends the command
                for word in words:
                    if word in ("|", "||", "2>&1") and depth == 0:
                        break
                    depth += word.count("[") - word.count("]")
                    for option in re.findall(r"(?:^|[\[|])(--[a-z-]+)", word):
                        assert option in options, f"{path.name}: {snippet!r}: {option} is no option of it"
                named += 1
    assert named >= 20


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_relative_link_points_at_a_file_and_heading_that_exist():
    for path in [README, *DOCS]:
        text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            assert linked.exists(), f"{path.name} links {target}, which does not exist"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), re.M)
                assert anchor in map(_slug, headings), f"{path.name} links {target}: no such heading"


def test_every_repository_path_named_exists():
    # docs/performance.md is left out: its change log names files as they were when each change was measured.
    prefixes = "service|tests|bench|scripts|docs|migrations|openapi|\\.ci"
    for path in [README, *DOCS]:
        if path.name == "performance.md":
            continue
        for span in _snippets(path.read_text()):
            for name in re.findall(rf"(?:^|[\s(])((?:{prefixes})/[\w./-]*)", span):
                if not re.search(r"[<{*]", name):
                    assert (ROOT / name.rstrip(".,:;)")).exists(), f"{path.name} names {name}, which does not exist"
