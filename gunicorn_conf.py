"""gunicorn settings for the Procfile's `web` process (`gunicorn -c gunicorn_conf.py "salesnav.app:web_app()"`).

- Threads (gthread): a request waiting on WeCom, finance or the database holds a thread, not a process.
- `WEB_CONCURRENCY` processes × `WEB_THREADS` threads (defaults 4 × 8). With the WeCom emulator on, one
  process: the emulator keeps its state (tokens, media, what it delivered) in the process that serves it, and
  our client's calls to it are answered in process (salesnav/bot/emulator/local.py), never over a socket to
  ourselves.
- A worker process is restarted after a request hangs `timeout` seconds; outside calls have their own, shorter
  deadlines (salesnav/finance/deadline.py), so this only catches what nothing else did.
"""

from __future__ import annotations

import os

from salesnav.settings import Settings, SettingsError

try:
    _emulator = Settings.from_env().wecom.emulator
except SettingsError:
    _emulator = False  # the app factory reports the bad setting by name when it starts

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = 1 if _emulator else int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 30
graceful_timeout = 20
keepalive = 5
