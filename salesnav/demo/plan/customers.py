"""The 480 customers (hospitals of the regions' cities, and distributors) and their contacts.

A customer's contacts carry the decision-chain roles that a complete record needs; some customers keep one
contact without a known role, so the "role unknown" defect has someone to be about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salesnav.demo import vocab
from salesnav.demo.baseline import DISTRIBUTORS, REPS, ROLE_WEIGHTS, ROLELESS_SHARE
from salesnav.demo.plan.records import PlannedCustomer
from salesnav.models import CustomerKind, DecisionRole, Health

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


def _hospital_names(plan: DemoPlan) -> list[tuple[str, str, str]]:
    """(name, grade, region) for every hospital, unique names."""
    result = []
    for region, (count, cities) in vocab.REGIONS.items():
        if region == "上海":
            options = list(vocab.SHANGHAI_CITYWIDE) + [
                (pattern.format(city=city), grades) for city in cities for pattern, grades in vocab.SHANGHAI_HOSPITALS
            ]
        else:
            options = [
                (pattern.format(city=city), grades) for city in cities for pattern, grades in vocab.CITY_HOSPITALS
            ]
        # "X第一人民医院" and "X市第一人民医院" are the same hospital: keep one spelling per city.
        plan.rng.shuffle(options)
        seen: set[str] = set()
        picked = 0
        for name, grades in options:
            key = name.replace("市第一", "第一")
            if key in seen:
                continue
            seen.add(key)
            result.append((name, plan.rng.choice(grades), region))
            picked += 1
            if picked == count:
                break
    return result


def _distributor_names(plan: DemoPlan) -> list[tuple[str, str]]:
    cities = [(city, region) for region, (_, cs) in vocab.REGIONS.items() if region != "上海" for city in cs]
    cities += [("上海", "上海")] * 6
    names: dict[str, str] = {}
    while len(names) < DISTRIBUTORS:
        city, region = plan.rng.choice(cities)
        names.setdefault(f"{city}{plan.rng.choice(vocab.DISTRIBUTOR_BRANDS)}医疗器械有限公司", region)
    return list(names.items())


def add_customers(plan: DemoPlan) -> None:
    entries: list[tuple[str, CustomerKind, str | None, str]] = [
        (name, CustomerKind.HOSPITAL, grade, region) for name, grade, region in _hospital_names(plan)
    ] + [(name, CustomerKind.DISTRIBUTOR, None, region) for name, region in _distributor_names(plan)]
    plan.rng.shuffle(entries)
    for n, (name, kind, grade, region) in enumerate(entries):
        rep = plan.reps[n % REPS]
        cust = PlannedCustomer(plan.ids("customers"), name, kind, grade, region, rep["id"])
        plan.custs.append(cust)
        tags = [grade, region] if grade else ["经销商", region, plan.rng.choice(("一级代理", "二级代理"))]
        kam = None
        if grade == "三甲" and plan.rng.random() < 0.35:
            tags.append("重点客户")
            kam = _key_account_manager(plan, rep)
        plan.rows["customers"].append(
            {
                "id": cust.id,
                "name": name,
                "kind": kind,
                "grade": grade,
                "region": region,
                "tags": tags,
                "owner_id": rep["id"],
                "key_account_manager_id": kam,
                "health": Health.GREEN,
            }
        )
        _contacts(plan, cust)


def _key_account_manager(plan: DemoPlan, rep: dict[str, Any]) -> int:
    """The team's senior rep (its first) looks after big accounts; for their own, the manager does."""
    senior = next(r for r in plan.reps if r["team"] == rep["team"])
    return rep["manager_id"] if senior["id"] == rep["id"] else senior["id"]


def _contacts(plan: DemoPlan, cust: PlannedCustomer) -> None:
    titles = vocab.TITLES_BY_ROLE if cust.kind is CustomerKind.HOSPITAL else vocab.DISTRIBUTOR_TITLES
    count = plan.rng.choices((2, 3, 4), (40, 40, 20))[0]
    roles: list[DecisionRole | None] = list(plan.rng.choices(list(ROLE_WEIGHTS), list(ROLE_WEIGHTS.values()), k=count))
    if count >= 3 and plan.rng.random() < ROLELESS_SHARE:
        roles[-1] = None  # e.g. a secretary or a new face whose part in the decision nobody has noted yet
    for role in roles:
        contact_id = plan.ids("contacts")
        name = plan.rng.choice(vocab.SURNAMES) + plan.rng.choice(vocab.GIVEN_NAMES)
        title = plan.rng.choice(titles[role.value] if role else vocab.ROLELESS_TITLES[cust.kind.value])
        external = f"wm{plan.rng.getrandbits(120):030x}" if plan.rng.random() < 0.6 else None
        plan.rows["contacts"].append(
            {
                "id": contact_id,
                "customer_id": cust.id,
                "name": name,
                "title": title,
                "phone": plan.mobile(),
                "external_userid": external,
                "decision_role": role,
            }
        )
        cust.contacts.append((contact_id, name, title))
        (cust.roled if role else cust.roleless).append((contact_id, name, title))
