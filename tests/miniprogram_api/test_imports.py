"""Excel import from the mini-program: upload → preview → commit with corrections → progress → undo."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import func, select

from salesnav.models import Customer, Touchpoint
from salesnav.models import session as db
from tests.handlers.excel_import import sheets


def count(model) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(model.deleted_at.is_(None)))


def upload(client, headers, data: bytes, name: str = "客户.xlsx"):
    return client.post(
        "/api/v1/imports", headers=headers, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def test_upload_previews_then_commit_imports_and_undo_takes_it_all_back(client, org, login, live_api, frozen_clock):
    headers = login(org.rep)
    data = sheets.rep_sheet()  # built once: openpyxl stamps the save time, so two builds are two files
    response = upload(client, headers, data)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "previewed" and body["already_imported"] is False
    columns = {c["header"]: c["field_label"] for c in body["preview"]["sheets"][0]["columns"]}
    assert columns["手机"] == "手机" and columns["备注"] == "备注" and columns["客户名称"] == "客户名称"
    assert body["preview"]["errors"] == []
    assert {
        "sheet": "客户",
        "row": 9,
        "note": "电话「号码待补」不是有效的手机或座机号码，未存为联系电话；原文记在联系人的职务中",
    } in (body["preview"]["notes"])
    assert count(Customer) == 0  # nothing written before the user confirms

    committed = client.post(f"/api/v1/imports/{body['id']}/commit", headers=headers, json={"matches": {}})
    assert committed.status_code == 202 and committed.get_json()["status"] == "queued"
    live_api.drain()
    progress = client.get(f"/api/v1/imports/{body['id']}", headers=headers).get_json()
    assert (progress["status"], progress["percent"], progress["counts"]["customers"]) == ("done", 100, 4)
    assert count(Customer) == 4 and count(Touchpoint) == 7

    report = client.get(f"/api/v1/imports/{body['id']}/failed.csv", headers=headers)
    lines = report.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "工作表,行号,结果,原因"
    assert (
        "客户,9,已导入，有说明,电话「号码待补」不是有效的手机或座机号码，未存为联系电话；"
        "原文记在联系人的职务中" in lines
    )

    again = upload(client, headers, data).get_json()
    assert again["id"] == body["id"] and again["already_imported"] is True

    undone = client.post(f"/api/v1/imports/{body['id']}/undo", headers=headers)
    assert undone.status_code == 200 and undone.get_json()["status"] == "undone"
    assert count(Customer) == 0 and count(Touchpoint) == 0


def test_a_corrupt_upload_gets_a_chinese_message_not_a_500(client, org, login):
    response = upload(client, login(org.rep), b"PK\x03\x04garbage", "坏文件.xlsx")
    assert response.status_code == 400
    assert "文件已损坏" in response.get_json()["message"]


def test_someone_elses_import_is_not_found(client, org, login, live_api):
    body = upload(client, login(org.rep), sheets.gbk_csv(), "a.csv").get_json()
    response = client.get(f"/api/v1/imports/{body['id']}", headers=login(org.outsider_rep))
    assert response.status_code == 404


def test_a_previewed_import_read_back_carries_its_preview_and_a_split_goes_through_the_commit(
    client, org, login, live_api, frozen_clock
):
    headers = login(org.rep)
    data = sheets.xlsx(
        {
            "台账": [
                ["客户名称", "手机", "跟进记录"],
                ["常州第一人民医院（本部）", 13812345678.0, "2026/1/5 面谈"],
                ["常州第一人民医院", "13812345678", "2026/1/20 电话"],
            ]
        }
    )
    body = upload(client, headers, data).get_json()
    # As the chat's card link opens it: the preview with its merge and the choices.
    read = client.get(f"/api/v1/imports/{body['id']}", headers=headers).get_json()
    (merge,) = read["preview"]["merges"]
    assert (merge["name"], merge["into"], merge["by_label"], merge["decision"]) == (
        "常州第一人民医院",
        "常州第一人民医院（本部）",
        "名称相同（去掉分院/括号/有限公司等写法差异后）",
        "merge",
    )
    assert merge["choices"] == {"merge": "合并为同一客户", "split": "分开，作为另一个客户"}
    assert read["preview"]["summary"]["new_customers"] == 1

    done = client.post(
        f"/api/v1/imports/{body['id']}/commit", headers=headers, json={"matches": {"常州第一人民医院": "split"}}
    )
    assert done.status_code == 202, done.get_json()
    live_api.drain()
    with db.transaction() as s:
        names = s.scalars(select(Customer.name).where(Customer.deleted_at.is_(None)).order_by(Customer.id)).all()
    assert names == ["常州第一人民医院（本部）", "常州第一人民医院"]
    finished = client.get(f"/api/v1/imports/{body['id']}", headers=headers).get_json()
    assert finished["status"] == "done" and "preview" not in finished


def test_near_miss_rows_read_back_with_their_preview_stay_separate_customers_through_the_commit(
    client, org, login, live_api, frozen_clock
):
    """Two rows joined only by a mobile (two names: a distributor and a hospital its manager also answers for),
    and a row spelled close to a customer the rep has: the preview read back through the API lists both, and
    the rep's decisions — split the first, "new" for the second — go through the commit endpoint."""
    headers = login(org.rep)
    with db.transaction() as s:
        s.add(Customer(name="苏州立德医院", owner_id=org.rep.id))
    data = sheets.xlsx(
        {
            "台账": [
                ["客户名称", "手机", "跟进记录"],
                ["扬州康华医疗器械有限公司", 13955556666.0, "2026/1/8 电话沟通"],
                ["扬州康华医院", "139 5555 6666", "2026/1/12 面访"],
                ["苏州立得医院", "13700003333", "2026/1/15 微信发资料"],
            ]
        }
    )
    body = upload(client, headers, data).get_json()
    read = client.get(f"/api/v1/imports/{body['id']}", headers=headers).get_json()
    assert read["status"] == "previewed"
    (merge,) = read["preview"]["merges"]
    assert (merge["row"], merge["name"], merge["into_row"], merge["into"], merge["by"], merge["decision"]) == (
        3,
        "扬州康华医院",
        2,
        "扬州康华医疗器械有限公司",
        "phone",
        "merge",
    )
    (near,) = read["preview"]["near_misses"]
    assert (near["name"], near["rows"], near["decision"]) == ("苏州立得医院", [4], "new")
    assert [(c["name"], round(c["score"])) for c in near["candidates"]] == [("苏州立德医院", 83)]
    assert read["preview"]["summary"]["new_customers"] == 2  # 扬州康华 (two rows as one), 苏州立得医院

    done = client.post(
        f"/api/v1/imports/{body['id']}/commit",
        headers=headers,
        json={"matches": {"扬州康华医院": "split", "苏州立得医院": "new"}},
    )
    assert done.status_code == 202, done.get_json()
    assert done.get_json()["counts"]["new_customers"] == 3  # the split said at once, before the job runs
    live_api.drain()
    finished = client.get(f"/api/v1/imports/{body['id']}", headers=headers).get_json()
    assert (finished["status"], finished["counts"]["customers"], finished["counts"]["touchpoints"]) == ("done", 3, 3)
    assert "preview" not in finished
    with db.transaction() as s:
        filed = {
            c.name: [t.summary for t in s.scalars(select(Touchpoint).where(Touchpoint.customer_id == c.id))]
            for c in s.scalars(select(Customer).where(Customer.deleted_at.is_(None)).order_by(Customer.id))
        }
    assert filed == {
        "苏州立德医院": [],
        "扬州康华医疗器械有限公司": ["电话沟通"],
        "扬州康华医院": ["面访"],
        "苏州立得医院": ["微信发资料"],
    }


def _csv(name: str) -> bytes:
    return f"客户名称,联系人,电话,备注\n{name},周医生,13700003333,3月1日 面谈\n".encode("gbk")


def test_the_list_of_imports_is_the_callers_own_newest_first_and_a_managers_team_not_another_reps(
    client, org, login, live_api, frozen_clock
):
    rep, other = login(org.rep), login(org.outsider_rep)
    first = upload(client, rep, _csv("苏州立康医院"), "一月.csv").get_json()
    frozen_clock.advance(timedelta(minutes=5))
    second = upload(client, rep, _csv("苏州立德医院"), "二月.csv").get_json()
    frozen_clock.advance(timedelta(minutes=5))
    theirs = upload(client, other, _csv("无锡人民医院"), "别人的.csv").get_json()

    listed = client.get("/api/v1/imports", headers=rep)
    assert listed.status_code == 200, listed.get_json()
    body = listed.get_json()
    assert [i["id"] for i in body["items"]] == [second["id"], first["id"]]
    assert (body["page"], body["per_page"], body["total"]) == (1, 20, 2)
    item = body["items"][0]
    assert (item["filename"], item["status"], item["status_label"], item["owner_name"]) == (
        "二月.csv",
        "previewed",
        "待确认",
        org.rep.name,
    )
    assert item["counts"]["rows"] == 1 and item["created_at"]
    assert item["handovers"] == {"open": 0, "done": 0, "cancelled": 0}

    paged = client.get("/api/v1/imports?per_page=1&page=2", headers=rep).get_json()
    assert [i["id"] for i in paged["items"]] == [first["id"]] and paged["total"] == 2

    assert [i["id"] for i in client.get("/api/v1/imports", headers=other).get_json()["items"]] == [theirs["id"]]
    # The rep's manager sees the team's imports; another manager's rep's are not theirs to see.
    managed = client.get("/api/v1/imports", headers=login(org.manager)).get_json()
    assert [i["id"] for i in managed["items"]] == [second["id"], first["id"]]


def test_after_undo_the_import_says_its_hand_over_request_was_cancelled(client, org, login, live_api, frozen_clock):
    """A customer another rep owns becomes a hand-over request (a task for that rep's manager); the undo
    cancels it, and the import read back says so rather than showing it still asked."""
    with db.transaction() as s:
        s.add(Customer(name="无锡人民医院", owner_id=org.outsider_rep.id))
    headers = login(org.rep)
    data = sheets.xlsx(
        {
            "台账": [
                ["客户名称", "手机", "跟进记录"],
                ["无锡人民医院", "13700003333", "2026/1/15 面访"],
                ["苏州立康医院", "13700004444", "2026/1/16 电话"],
            ]
        }
    )
    body = upload(client, headers, data).get_json()
    assert body["handovers"] == {"open": 0, "done": 0, "cancelled": 0}
    client.post(f"/api/v1/imports/{body['id']}/commit", headers=headers, json={"matches": {}})
    live_api.drain()
    done = client.get(f"/api/v1/imports/{body['id']}", headers=headers).get_json()
    assert done["status"] == "done" and done["handovers"] == {"open": 1, "done": 0, "cancelled": 0}
    assert (done["counts"]["customers"], done["owner_name"], done["undone_at"]) == (1, org.rep.name, None)

    undone = client.post(f"/api/v1/imports/{body['id']}/undo", headers=headers).get_json()
    assert undone["status_label"] == "已撤销" and undone["undone_at"]
    assert undone["handovers"] == {"open": 0, "done": 0, "cancelled": 1}
    assert undone["counts"]["customers"] == 1  # what the import had created, all of it now removed
    (listed,) = client.get("/api/v1/imports", headers=headers).get_json()["items"]
    assert (listed["status"], listed["handovers"]["cancelled"]) == ("undone", 1)
