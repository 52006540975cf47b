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
def test_the_curl_session_prints_what_the_readme_shows(db_url, serve, tmp_path):
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
