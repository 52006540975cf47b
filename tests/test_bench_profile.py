"""The benchmark's profile summary (bench/profile.py): how py-spy's collapsed stacks are counted."""

from __future__ import annotations

import gzip
import os
import time
import uuid

import pytest

from bench import profile
from bench.common import tree_cpu_seconds
from bench.profile import package_of, service_function, summarise

P = 'process 10:"python -m uvicorn"'
T = "thread (0x7f01)"

COLLAPSED = "\n".join([
    # 6 samples in the driver, called by the service's reader, inside the endpoint
    f"{P};{T};run (uvicorn/server.py);get_project (service/routers/projects.py);read_project "
    f"(service/usecases/projects.py);execute (sqlalchemy/engine/base.py) 6",
    # 3 in the serialiser, which recursed into itself: counted once for it
    f"{P};{T};run (uvicorn/server.py);get_project (service/routers/projects.py);project_json "
    f"(service/schemas/projects.py);project_json (service/schemas/projects.py) 3",
    # 1 in the event loop
    f"{P};{T};run (uvicorn/server.py);_run_once (asyncio/base_events.py) 1",
    "garbage line without a count",
])


def test_summary_counts_the_innermost_package_and_each_service_function_once_per_sample():
    s = summarise(COLLAPSED)
    assert s.samples == 10
    assert s.by_package == {"sqlalchemy": 6, "service": 3, "asyncio": 1}
    assert s.service == {
        "service.routers.projects:get_project": 9,
        "service.usecases.projects:read_project": 6,
        "service.schemas.projects:project_json": 3,
    }
    out = s.to_json(cpu_s=0.5, units=1000, top=2)
    assert out["cpu_us_per_unit"] == 500.0
    assert out["by_package"] == {"sqlalchemy": 0.6, "service": 0.3, "asyncio": 0.1}
    assert out["service_functions"] == [["service.routers.projects:get_project", 0.9],
                                        ["service.usecases.projects:read_project", 0.6]]


def test_frames_outside_known_packages_and_interpreter_frames():
    assert package_of("<module> (spin.py)") == "other"
    assert package_of("<lambda> (<string>)") == "interpreter"
    assert package_of("handle (httptools/parser.py)") == "httptools"
    assert package_of("h_get (bench/reference_core.py)") == "bench"  # the references' own code
    assert service_function("run (uvicorn/server.py)") is None
    assert service_function("respond (service/routers/common.py)") == "service.routers.common:respond"
    assert service_function("serve (service/cli.py)") is None  # at the bottom of every stack


def test_no_units_gives_no_rate():
    assert summarise("").to_json(cpu_s=1.0, units=0)["cpu_us_per_unit"] is None


def test_tree_cpu_seconds_grows_with_work():
    before = tree_cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))
    assert tree_cpu_seconds(os.getpid()) > before


# A stand-in for `py-spy record`: writes one collapsed stack to its --output when interrupted, as py-spy does.
FAKE_PY_SPY = """#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = --output ] && out=$2; shift; done
trap 'echo "run (uvicorn/server.py);get_project (service/routers/projects.py) 3" > "$out"; exit 0' INT
touch "$BENCH_FAKE_READY"
while :; do sleep 0.02; done
"""


@pytest.fixture
def fake_py_spy(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    exe = tmp_path / "py-spy"
    exe.write_text(FAKE_PY_SPY)
    exe.chmod(0o755)
    ready = tmp_path / "ready"
    monkeypatch.setenv("BENCH_FAKE_READY", str(ready))
    monkeypatch.setattr(profile, "py_spy", lambda: str(exe))

    def work() -> dict:
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline:  # the trap is set: SIGINT is safe
            time.sleep(0.01)
        return {"requests": 30}

    return work


def test_profiled_without_a_directory_keeps_no_file(fake_py_spy):  # noqa: ANN001
    """``python -m bench --no-write --profile`` writes nothing under bench/results/profiles/."""
    name = f"test-no-write-{uuid.uuid4().hex[:8]}"
    result, summary = profile.profiled(os.getpid(), name, fake_py_spy, lambda r: r["requests"], directory=None)
    assert result == {"requests": 30}
    assert summary["file"] is None
    assert summary["samples"] == 3 and summary["by_package"] == {"service": 1.0}
    assert not list(profile.PROFILES.glob(f"{name}*"))


def test_profiled_keeps_gzipped_stacks_in_its_directory(fake_py_spy, tmp_path):  # noqa: ANN001
    _, summary = profile.profiled(os.getpid(), "kept", fake_py_spy, lambda r: r["requests"], directory=tmp_path / "p")
    assert summary["file"] == str(tmp_path / "p" / "kept.txt.gz")  # outside the repository: an absolute path
    assert gzip.decompress((tmp_path / "p" / "kept.txt.gz").read_bytes()).decode().endswith(" 3\n")
    assert not (tmp_path / "p" / "kept.txt").exists()
