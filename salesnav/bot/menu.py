"""The app menu (menu.json) and pushing it to WeCom (`salesnav wecom push-menu`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from salesnav.bot.client import get_client

MENU_FILE = Path(__file__).with_name("menu.json")


def load_menu(path: Path = MENU_FILE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def menu_keys(menu: dict[str, Any]) -> list[str]:
    keys: list[str] = []
    for button in menu.get("button", []):
        for item in [button, *button.get("sub_button", [])]:
            if item.get("key"):
                keys.append(item["key"])
    return keys


def push_menu(path: Path = MENU_FILE) -> dict[str, Any]:
    """Post the menu through the client's menu/create; returns what was pushed."""
    menu = load_menu(path)
    get_client().create_menu(menu)
    return menu
