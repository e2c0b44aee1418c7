"""The API is a contract a front-end engineer can build against from the document alone (/api/v1/openapi.json):
every operation says what it does and shows what it answers, every error it can give is documented with the
Chinese body it will have, an enum travels as a code with its Chinese label beside it, and money is integer fen.
These rules hold for every operation — an endpoint added tomorrow must follow them too."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest

from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.models import OpportunityStatus
from tests import factories as f

METHODS = ("get", "post", "put", "patch", "delete")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
MONEY_WORDS = re.compile(r"(^|_)(amount|total|tax|price|money|yuan|revenue|value|sum|budget|fee|cost)(_|$)")
COUNTS = re.compile(r"_(rows|count)$")  # total_rows: how many, not how much
# Keyed exactly like InvoiceFieldsOut: how sure the reading is of each field (0–1), not money.
NOT_MONEY = {"InvoiceConfidenceOut"}


@pytest.fixture
def spec(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def operations(spec: dict[str, Any]):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item, item[method]


def response(spec: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in answer:
        return spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    return answer


def output_schemas(spec: dict[str, Any]) -> set[str]:
    """The component schemas an answer can contain (followed through nesting)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in found:
                    found.add(name)
                    walk(spec["components"]["schemas"][name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for _, _, operation in operations(spec):
        for status, answer in operation["responses"].items():
            if status.startswith("2"):
                walk(response(spec, answer))
    return found


def properties(schema: dict[str, Any]):
    yield from schema.get("properties", {}).items()


def json_schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.0 schema as JSON Schema (`nullable` becomes a null alternative), refs resolvable."""

    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: convert(v) for k, v in node.items() if k not in ("nullable", "example")}
            if node.get("nullable"):
                return {"anyOf": [out, {"type": "null"}]}
            return out
        if isinstance(node, list):
            return [convert(v) for v in node]
        return node

    return {**convert(schema), "components": convert(spec["components"])}


def test_the_document_opens_with_a_glossary_of_the_domain_and_the_conventions_and_names_its_servers(spec):
    description = spec["info"]["description"]
    for word in ("触点", "有效触点", "商机", "检查清单", "审批冻结", "协同单", "分", "_label", "401", "409", "422"):
        assert word in description, word
    assert spec["servers"] and all(server["url"] and server["description"] for server in spec["servers"])


def test_every_property_says_in_chinese_what_it_is(spec):
    undescribed = [
        f"{name}.{prop}"
        for name, schema in spec["components"]["schemas"].items()
        for prop, sub in properties(schema)
        if not CHINESE.search(sub.get("description", ""))
    ]
    assert not undescribed, f"properties without a Chinese description (add to PROPERTY_WORDS): {undescribed}"


def test_every_operation_says_in_chinese_what_it_does(spec):
    missing = [
        key
        for key, _, operation in operations(spec)
        if not CHINESE.search(operation.get("summary", "")) or not CHINESE.search(operation.get("description", ""))
    ]
    assert not missing, f"operations without a Chinese summary and description: {missing}"


def test_every_success_answer_and_every_json_body_has_an_example_that_fits_its_schema(spec):
    problems = []
    for key, _, operation in operations(spec):
        contents = [
            (f"{key} → {status}", content)
            for status, answer in operation["responses"].items()
            if status.startswith("2")
            for media, content in response(spec, answer).get("content", {}).items()
            if media == "application/json"
        ]
        assert any(status.startswith("2") for status in operation["responses"]), key
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            contents.append((f"{key} body", body))
        for where, content in contents:
            if "example" not in content:
                problems.append(f"{where}: no example")
                continue
            errors = list(
                jsonschema_rs.validator_for(json_schema(spec, content["schema"]), validate_formats=True).iter_errors(
                    content["example"]
                )
            )
            if errors:
                problems.append(f"{where}: example does not fit: {errors[0]}")
    assert not problems, "\n".join(problems)


def test_every_operation_behind_a_token_documents_401_and_403(spec):
    undocumented = [
        f"{key} {status}"
        for key, _, operation in operations(spec)
        if operation.get("security") != []
        for status in ("401", "403")
        if status not in operation["responses"]
    ]
    assert not undocumented, undocumented


def test_every_operation_that_names_a_record_in_its_path_documents_404(spec):
    undocumented = [key for key, _, operation in operations(spec) if "{" in key and "404" not in operation["responses"]]
    assert not undocumented, undocumented


def test_every_operation_that_takes_input_documents_422(spec):
    undocumented = [
        key
        for key, item, operation in operations(spec)
        if (
            "requestBody" in operation
            or any(
                p["in"] in ("query", "path") for p in [*item.get("parameters", []), *operation.get("parameters", [])]
            )
        )
        and "422" not in operation["responses"]
    ]
    assert not undocumented, undocumented


def test_every_error_answer_is_the_chinese_error_body_with_an_example(spec):
    problems = []
    for key, _, operation in operations(spec):
        for status, answer in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            documented = response(spec, answer)
            content = documented.get("content", {}).get("application/json", {})
            if content.get("schema") != {"$ref": "#/components/schemas/ErrorOut"}:
                problems.append(f"{key} {status}: not ErrorOut")
            example = content.get("example", {})
            if not (example.get("error") and CHINESE.search(example.get("message", ""))):
                problems.append(f"{key} {status}: no example with a code and a Chinese message")
            if not CHINESE.search(documented.get("description", "")):
                problems.append(f"{key} {status}: description not in Chinese")
    assert not problems, "\n".join(problems)


def test_a_refused_state_is_a_documented_409(spec, client, login, session):
    org = f.org(session)
    customer = f.customer(session, org.rep)
    touchpoint = f.touchpoint(session, org.rep, customer)
    deal = create_from_touchpoint(
        session, org.rep, touchpoint_id=touchpoint.id, title="CT 球管", product_line="CT", expected_amount_fen=10_000_00
    )
    deal.status = OpportunityStatus.WON  # closed: nothing moves it any more
    session.commit()
    answer = client.post(
        f"/api/v1/opportunities/{deal.id}/advance", headers=login(org.rep), json={"to_stage": "方案演示"}
    )
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["error"] == "opportunity_closed" and CHINESE.search(answer.get_json()["message"])
    documented = spec["paths"]["/api/v1/opportunities/{opportunity_id}/advance"]["post"]["responses"]["409"]
    assert "opportunity_closed" in documented["description"] and "approval_frozen" in documented["description"]


def test_every_code_in_an_answer_has_its_chinese_label_beside_it(spec, client, login, session):
    schemas = spec["components"]["schemas"]
    unlabelled = [
        f"{name}.{prop}"
        for name in output_schemas(spec)
        for prop, sub in properties(schemas[name])
        if "enum" in sub and f"{prop}_label" not in schemas[name]["properties"]
    ]
    assert not unlabelled, f"codes without a _label: {unlabelled}"

    org = f.org(session)
    customer = f.customer(session, org.rep)
    session.commit()
    logged = client.post(
        "/api/v1/touchpoints",
        headers=login(org.rep),
        json={"customer_id": customer.id, "type": "visit", "emotion": "positive", "summary": "确认预算"},
    ).get_json()
    assert (logged["type"], logged["type_label"], logged["emotion"], logged["emotion_label"]) == (
        "visit",
        "面访",
        "positive",
        "积极",
    )


def test_money_is_integer_fen_in_and_out(spec):
    wrong = []
    for name, schema in spec["components"]["schemas"].items():
        if name in NOT_MONEY:
            continue
        for prop, sub in properties(schema):
            if prop.endswith("_fen") and sub.get("type") != "integer":
                wrong.append(f"{name}.{prop}: fen must be an integer")
            elif prop.startswith("total") and "page" in schema["properties"]:
                continue  # a page's total: how many items
            elif sub.get("type") == "boolean":
                continue  # amount_matches: a yes or no about money, not money
            elif not prop.endswith("_fen") and MONEY_WORDS.search(prop) and not COUNTS.search(prop):
                wrong.append(f"{name}.{prop}: money must be *_fen")
    for key, _, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            if MONEY_WORDS.search(parameter["name"]) and not parameter["name"].endswith("_fen"):
                wrong.append(f"{key} ?{parameter['name']}: money must be *_fen")
    assert not wrong, wrong


def test_the_documentation_page_is_served_by_the_app_itself(client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200 and "接口文档" in page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True))
    assert sources and all(src.startswith("/") for src in sources), sources  # nothing from another site
    for src in sources:
        assert client.get(src).status_code == 200, src
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
