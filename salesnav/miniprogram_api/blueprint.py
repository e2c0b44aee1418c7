"""The one blueprint at /api/v1, on which every endpoint module registers its routes.

It only defines the blueprint; `mount.py` imports the endpoint modules and mounts the blueprint, its
OpenAPI document and its rate limits on the app.
"""

from __future__ import annotations

from flask_smorest import Blueprint

API_PREFIX = "/api/v1"
# Path ids: positive and within what both BIGINT and JavaScript numbers hold, so a huge id is a 404.
ID = "int(min=1, max=9007199254740991)"
DEFAULT_RATE_LIMIT = "120/minute"  # per user; a rep filling forms never gets near it

bp = Blueprint("miniprogram_api", __name__, url_prefix=API_PREFIX, description="销售导航仪小程序接口")
