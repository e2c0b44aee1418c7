"""Organisation: departments and users (synced from WeCom)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, SoftDeleteMixin, TimestampMixin, db_enum


class Role(LabelledEnum):
    REP = "rep", "销售"
    MANAGER = "manager", "销售主管"
    DIRECTOR = "director", "销售总监"
    DEPT_HEAD = "dept_head", "部门负责人"
    STAFF = "staff", "员工"
    ADMIN = "admin", "管理员"


class DepartmentKind(LabelledEnum):
    SALES = "sales", "销售"
    MARKETING = "marketing", "市场部"
    DELIVERY = "delivery", "交付部"
    FINANCE = "finance", "财务部"
    OTHER = "other", "其他"


class Department(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "departments"

    wecom_id: Mapped[int | None] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[DepartmentKind] = mapped_column(db_enum(DepartmentKind), default=DepartmentKind.OTHER)
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    head_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", use_alter=True))
    # Members (besides the head) the admin names to receive this department's collaboration ticket notices.
    ticket_notice_user_ids: Mapped[list[int]] = mapped_column(default=list)

    head: Mapped[User | None] = relationship(foreign_keys=[head_id])


class User(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "users"

    wecom_userid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(db_enum(Role), default=Role.STAFF)
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)

    department: Mapped[Department | None] = relationship(foreign_keys=[department_id])
    manager: Mapped[User | None] = relationship(remote_side="User.id", foreign_keys=[manager_id])

    def __repr__(self) -> str:
        return f"<User {self.wecom_userid} {self.role.value}>"
