"""Org pages: members and departments, sync from WeCom now, edit a member, 客户交接."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from salesnav.handlers.admin import org as use_cases
from salesnav.handlers.collaboration import PART_REQUESTS
from salesnav.handlers.errors import DomainError
from salesnav.models import Customer, Department, Opportunity, OpportunityStatus, User
from salesnav.pages.admin import bp
from salesnav.ports import directory as org_directory

PAGE = 100


@bp.get("/org")
def org() -> str:
    s = g.admin_db
    q = request.args.get("q", "").strip()
    query = select(User).where(User.deleted_at.is_(None)).order_by(User.active.desc(), User.role, User.id)
    if q:
        query = query.where(or_(User.name.contains(q), User.wecom_userid.contains(q), User.email.contains(q)))
    users = list(s.scalars(query.limit(PAGE)))
    departments = {d.id: d for d in s.scalars(select(Department))}
    names = {u.id: u.name for u in s.scalars(select(User))}
    owned = dict(
        s.execute(
            select(Customer.owner_id, func.count()).where(Customer.deleted_at.is_(None)).group_by(Customer.owner_id)
        ).all()
    )
    active_users = list(
        s.scalars(select(User).where(User.active.is_(True), User.deleted_at.is_(None)).order_by(User.name))
    )
    answering = [d for d in departments.values() if d.kind in PART_REQUESTS and d.deleted_at is None]
    return render_template(
        "admin/org.html",
        users=users,
        departments=departments,
        answering=sorted(answering, key=lambda d: d.id),
        names=names,
        owned=owned,
        q=q,
        active_users=active_users,
        report=None,
    )


@bp.post("/org/sync")
def sync() -> str | tuple[str, int]:
    try:
        directory = org_directory.fetch()  # no database work while WeCom answers
    except org_directory.DirectoryUnavailable as exc:
        return render_template(
            "admin/message.html", title="同步失败", message=f"企业微信通讯录读取失败（{exc}），请稍后重试"
        ), 502
    report = use_cases.sync_directory(g.admin_db, g.admin, directory)
    g.admin_db.commit()
    flash(f"已从企业微信同步通讯录：{report.describe()}")
    if report.leavers_with_customers:
        flash(f"以下停用成员仍有客户，请尽快交接：{'、'.join(report.leavers_with_customers)}", "warning")
    return redirect(url_for("admin.org"))  # type: ignore[return-value]  # werkzeug's redirect Response is what Flask returns


@bp.route("/org/users/<int(min=1, max=9007199254740991):user_id>", methods=["GET", "POST"])
def user(user_id: int) -> Response | str | tuple[str, int]:
    s = g.admin_db
    member = s.get(User, user_id)
    if member is None or member.deleted_at is not None:
        return render_template("admin/message.html", title="页面不存在", message="成员不存在"), 404
    error = None
    if request.method == "POST":
        manager_raw = request.form.get("manager_id", "").strip()
        try:
            use_cases.edit_user(
                s,
                g.admin,
                member.id,
                role=request.form.get("role", ""),
                manager_id=_int_or_none(manager_raw),
                email=request.form.get("email"),
                active=request.form.get("active") == "on",
            )
            s.commit()
            flash(f"已保存{member.name}的资料")
            return redirect(url_for("admin.user", user_id=member.id))
        except DomainError as exc:
            s.rollback()
            error = exc.message
            member = s.get(User, user_id)
    candidates = list(
        s.scalars(
            select(User)
            .where(User.active.is_(True), User.deleted_at.is_(None), User.id != user_id)
            .order_by(User.role, User.name)
        )
    )
    return render_template(
        "admin/user.html", member=member, candidates=candidates, roles=use_cases.ROLE_CHOICES, error=error
    ), (400 if error else 200)


@bp.route("/org/departments/<int(min=1, max=9007199254740991):department_id>", methods=["GET", "POST"])
def department(department_id: int) -> Response | str | tuple[str, int]:
    """Who besides the head receives the department's collaboration ticket cards and reminders."""
    s = g.admin_db
    dept = s.get(Department, department_id)
    if dept is None or dept.deleted_at is not None:
        return render_template("admin/message.html", title="页面不存在", message="部门不存在"), 404
    error = None
    if request.method == "POST":
        raw = request.form.getlist("notice_user_id")
        try:
            if any(not value.isdigit() for value in raw):
                raise DomainError("所选成员不存在")
            use_cases.set_ticket_notice_members(s, g.admin, dept.id, [int(value) for value in raw])
            s.commit()
            flash(f"已保存{dept.name}的协同单通知名单")
            return redirect(url_for("admin.department", department_id=dept.id))
        except DomainError as exc:
            s.rollback()
            error = exc.message
            dept = s.get(Department, department_id)
            assert dept is not None
    members = [
        m
        for m in s.scalars(
            select(User)
            .where(User.department_id == dept.id, User.active.is_(True), User.deleted_at.is_(None))
            .order_by(User.role, User.name)
        )
        if m.id != dept.head_id  # the head always receives them
    ]
    return render_template(
        "admin/department.html",
        dept=dept,
        members=members,
        named=set(dept.ticket_notice_user_ids or []),
        error=error,
    ), (400 if error else 200)


@bp.route("/org/handover", methods=["GET", "POST"])
def handover() -> Response | str | tuple[str, int]:
    s = g.admin_db
    error = None
    leaver_id = _int_or_none(request.values.get("leaver_id", ""))
    if request.method == "POST":
        try:
            result = use_cases.hand_over(
                s,
                g.admin,
                leaver_id=leaver_id or 0,
                successor_id=_int_or_none(request.form.get("successor_id", "")) or 0,
            )
            s.commit()
            flash(result.describe())
            return redirect(url_for("admin.org"))
        except DomainError as exc:
            s.rollback()
            error = exc.message
    leaver = s.get(User, leaver_id) if leaver_id else None
    stats = None
    if leaver is not None:
        stats = {
            "customers": s.scalar(
                select(func.count())
                .select_from(Customer)
                .where(Customer.owner_id == leaver.id, Customer.deleted_at.is_(None))
            ),
            "opportunities": s.scalar(
                select(func.count())
                .select_from(Opportunity)
                .where(Opportunity.owner_id == leaver.id, Opportunity.status == OpportunityStatus.OPEN)
            ),
        }
    people = list(s.scalars(select(User).where(User.deleted_at.is_(None)).order_by(User.active.desc(), User.name)))
    return render_template("admin/handover.html", leaver=leaver, stats=stats, people=people, error=error), (
        400 if error else 200
    )


def _int_or_none(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() else None
