"""The H5 build of the rep's client (miniprogram/, Taro), served under /m/.

Files of the build are served as they are; any other path under /m/ is a client route and gets the client's
index.html. The index is only given to someone signed in through WeCom OAuth (the emulator's member pick in
development): the client then trades that session for an API token (POST /api/v1/auth/page-session). When the
build is missing, a page says how to make it instead of a bare 404.
"""

from __future__ import annotations

import gzip
import mimetypes
from functools import lru_cache
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.wrappers import Response

from salesnav.pages.auth import signed_in_userid

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BUILD_DIR = PROJECT_ROOT / "miniprogram" / "dist" / "h5"
# Taro's components set element styles from script; a style cannot run code, scripts stay ours only.
CLIENT_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

bp = Blueprint("h5_client", __name__, url_prefix="/m")
COMPRESSED = (".js", ".css", ".html", ".json", ".svg")
IMMUTABLE = 31536000  # hashed file names under js/ and css/ never change content


@lru_cache(maxsize=256)
def _gzipped(path: str, _mtime: float) -> bytes:
    with open(path, "rb") as fh:
        return gzip.compress(fh.read(), compresslevel=9)


def _send(root: Path, path: str) -> Response:
    """A file of the build, gzipped once (kept in memory) for a browser that takes it: waitress compresses
    nothing, and on a phone's network the entry scripts' bytes are most of the wait."""
    hashed = path.startswith(("js/", "css/"))
    if path.endswith(COMPRESSED) and "gzip" in request.headers.get("Accept-Encoding", ""):
        file = root / path
        response = make_response(_gzipped(str(file), file.stat().st_mtime))
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        response.mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        response.headers["Cache-Control"] = f"public, max-age={IMMUTABLE if hashed else 300}"
        return response
    return send_from_directory(root, path, max_age=IMMUTABLE if hashed else 300)


def build_dir() -> Path:
    return Path(current_app.config.get("H5_CLIENT_DIR") or DEFAULT_BUILD_DIR)


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def serve(path: str) -> Response | tuple[str, int]:
    root = build_dir()
    if path and (root / path).is_file() and ".." not in Path(path).parts:
        response = _send(root, path)
        response.headers["Content-Security-Policy"] = CLIENT_CSP
        return response
    if "." in Path(path).name:  # a file that is not there, not a client route
        abort(404)
    if signed_in_userid() is None:
        return redirect(url_for("pages.auth.login", next=request.full_path.rstrip("?")))
    if not (root / "index.html").is_file():
        return (
            render_template(
                "dashboards/message.html",
                title="客户端尚未构建",
                message="H5 客户端还没有构建：在项目目录运行 make client 后刷新本页。",
                retry=True,
            ),
            503,
        )
    response = send_from_directory(root, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CLIENT_CSP
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
