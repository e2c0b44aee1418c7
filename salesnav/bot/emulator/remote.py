"""Talk to a running emulator over HTTP: what it received, and which faults to inject."""

from __future__ import annotations

from typing import Any

import requests


class EmulatorRemote:
    """`EmulatorRemote("http://127.0.0.1:8000/_wecom")` — the same calls a test or the demo makes by hand."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()

    def sent(self, touser: str | None = None, *, everything: bool = False) -> list[dict[str, Any]]:
        params: dict[str, str] = {"touser": touser} if touser else {}
        if everything:
            params["all"] = "1"
        return self._get("/sent", params)["messages"]

    def card_updates(self) -> list[dict[str, Any]]:
        return self._get("/card_updates", {})["updates"]

    def state(self) -> dict[str, Any]:
        return self._get("/_control", {})

    def control(self, **changes: Any) -> dict[str, Any]:
        response = self._http.post(self.base_url + "/_control", json=changes, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.control(reset=True)

    def expire_tokens(self) -> None:
        self.control(expire_tokens=True)

    def fail_next(self, *errcodes: int) -> None:
        self.control(fail_next=list(errcodes))

    def fail_all_sends(self, errcode: int | None) -> None:
        self.control(fail_all_sends=errcode)

    def set_directory(
        self, department: list[dict[str, Any]] | None, userlist: list[dict[str, Any]] | None = None
    ) -> None:
        """Make department/list and user/list answer with this directory (None: our tables again)."""
        self.control(directory=None if department is None else {"department": department, "userlist": userlist or []})

    def directory(self) -> dict[str, list[dict[str, Any]]]:
        """The directory as WeCom answers it now (department/list, and user/list from the root down)."""
        return self._get("/_directory", {})

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        response = self._http.get(self.base_url + path, params=params, timeout=self.timeout)
        response.raise_for_status()
        return response.json()
