"""Jobs of a layer above are named by path ("module:function") below it; every such name must run."""

from __future__ import annotations

import importlib
import pkgutil

import salesnav.handlers
from salesnav.jobs.clock import PERIODIC
from salesnav.jobs.queue import resolve


def _job_names_in_use_cases() -> dict[str, str]:
    names = {}
    for info in pkgutil.walk_packages(salesnav.handlers.__path__, "salesnav.handlers."):
        module = importlib.import_module(info.name)
        for attr, value in vars(module).items():
            if attr.endswith("_JOB") and isinstance(value, str):
                names[f"{info.name}.{attr}"] = value
    return names


def test_every_job_a_use_case_names_by_path_is_a_function_of_the_jobs_or_channels():
    names = _job_names_in_use_cases()
    assert len(names) >= 8  # delivery, rules, records, dashboards
    for where, path in names.items():
        assert callable(resolve(path)), where


def test_every_periodic_job_named_by_path_resolves():
    paths = [job.job for job in PERIODIC if isinstance(job.job, str)]
    assert paths == [
        "salesnav.bot.outbox:flush_due",
        "salesnav.bot.report_jobs:send_daily_due",
        "salesnav.bot.report_jobs:send_team_due",
        "salesnav.bot.report_jobs:send_chase_due",
        "salesnav.bot.report_jobs:collections_due",
    ]
    assert all(callable(resolve(path)) for path in paths)
