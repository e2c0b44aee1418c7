"""Server-rendered pages (WeCom H5 workbench, dashboards, admin). Chinese, phone-friendly."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from salesnav.models import Customer, Opportunity, Touchpoint, User
from salesnav.models import session as db

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> str:
    with db.new_session() as session:
        counts = {
            "users": session.scalar(select(func.count(User.id))) or 0,
            "customers": session.scalar(select(func.count(Customer.id))) or 0,
            "touchpoints": session.scalar(select(func.count(Touchpoint.id))) or 0,
            "opportunities": session.scalar(select(func.count(Opportunity.id))) or 0,
        }
    return render_template("home.html", counts=counts)


# Sign-in (WeCom OAuth) and the dashboards hang under this blueprint: endpoints pages.auth.*, pages.dashboards.*.
from salesnav.pages import auth as _auth  # noqa: E402
from salesnav.pages import hooks as _hooks  # noqa: E402
from salesnav.pages import materials as _materials  # noqa: E402
from salesnav.pages import radar as _radar  # noqa: E402
from salesnav.pages.dashboards import views as _dashboards  # noqa: E402
from salesnav.pages.reports import views as _reports  # noqa: E402

bp.register_blueprint(_auth.bp)
bp.register_blueprint(_dashboards.bp)
bp.register_blueprint(_hooks.bp)
bp.register_blueprint(_materials.bp)
bp.register_blueprint(_radar.bp)
bp.register_blueprint(_reports.bp)
