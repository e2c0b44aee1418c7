from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.excel_import import commit
from salesnav.jobs import queue as jobs_queue
from salesnav.models import ExcelImport, User
from tests import factories as f

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def org(session: Session, frozen_clock: Any) -> f.Org:
    org = f.org(session)
    session.commit()
    return org


@pytest.fixture
def run_import(session: Session, tmp_path: Path) -> Callable[..., ExcelImport]:
    """Preview then commit a file as `actor`, run the import job, and return the finished import."""

    def _run(
        actor: User,
        data: bytes,
        filename: str = "客户.xlsx",
        corrections: dict[str, Any] | None = None,
        owner: User | None = None,
    ) -> ExcelImport:
        imp, _ = commit.start_import(
            session, actor, owner=owner or actor, data=data, filename=filename, root=tmp_path, tz=TZ
        )
        session.commit()
        commit.commit_import(session, actor, import_id=imp.id, root=tmp_path, tz=TZ, corrections=corrections)
        session.commit()
        jobs_queue.backend().drain()
        session.expire_all()
        return session.scalars(select(ExcelImport).where(ExcelImport.id == imp.id)).one()

    return _run
