"""The benchmark's profile summary (bench/profile.py): how py-spy's collapsed stacks are counted."""

from __future__ import annotations

import os

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
    assert service_function("run (uvicorn/server.py)") is None
    assert service_function("respond (service/routers/common.py)") == "service.routers.common:respond"
    assert service_function("serve (service/cli.py)") is None  # at the bottom of every stack


def test_no_units_gives_no_rate():
    assert summarise("").to_json(cpu_s=1.0, units=0)["cpu_us_per_unit"] is None


def test_tree_cpu_seconds_grows_with_work():
    before = tree_cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))
    assert tree_cpu_seconds(os.getpid()) > before
