"""How a deal is named in a sentence that already names its customer.

Deal titles often start with the customer (the demo's 「苏州市肿瘤医院超声更新项目」, a rep's 「六安市立医院·监护仪」);
a line that says the customer and then the whole title reads 「苏州市肿瘤医院：苏州市肿瘤医院超声更新项目」. One
definition, used by the alerts, the tasks the rules create and the battle pack.
"""

from __future__ import annotations

SEPARATORS = " ·・-—_:：/｜|"


def deal_name(customer_name: str | None, title: str) -> str:
    """The title without its customer's name in front: (六安市立医院, 六安市立医院·监护仪) → 监护仪."""
    title = (title or "").strip()
    if customer_name and title.startswith(customer_name):
        rest = title[len(customer_name) :].lstrip(SEPARATORS)
        if rest:
            return rest
    return title


def customer_and_deal(customer_name: str | None, title: str) -> str:
    """「六安市立医院「监护仪」」 as one phrase naming both, the customer once."""
    name = deal_name(customer_name, title)
    return f"{customer_name}「{name}」" if customer_name else f"「{name}」"


def name_once(text: str, name: str | None) -> str:
    """`text` with `name` said once:
    「跟进苏州市肿瘤医院：苏州市肿瘤医院超声更新项目」 → 「跟进苏州市肿瘤医院：超声更新项目」.
    Task titles written before the rules named deals this way still read well."""
    if not name or text.count(name) < 2:
        return text
    first = text.index(name) + len(name)
    return text[:first] + text[first:].replace(name, "")
