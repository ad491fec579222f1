"""The public self-declaration page under hostile requests (issue 11 item 5): oversized and
malformed bodies, wrong content types and any text in any field get a Chinese 4xx page and
store nothing; the per-address limit (5 an hour) holds through the page, whatever the phone."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangfan.declarations import services as S
from fangfan.declarations.models import Declaration
from fangfan.web.views.declare import PUBLIC_BODY_MAX
from tests.factories import DEFAULT_VILLAGE, ensure_region, make_id_number

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def village():
    return ensure_region(DEFAULT_VILLAGE, "王堰村")


def _form(i: int = 0, **overrides) -> dict:
    data = {"name": "李四", "id_number": make_id_number(300 + i), "phone": f"139123456{i:02d}",
            "village": DEFAULT_VILLAGE, "risk": "R04", "text": "房屋被洪水冲毁"}
    data.update(overrides)
    return data


def _chinese_refusal(response, *statuses) -> str:
    body = response.content.decode("utf-8")
    assert response.status_code in statuses, (response.status_code, body[:200])
    assert CJK.search(body) and "Traceback" not in body and "Bad Request" not in body
    return body


@pytest.mark.parametrize("path", ["/declare/", "/declare/status/"])
def test_it_refuses_a_body_over_the_site_limit_with_a_chinese_page(client, village, settings, path):
    body = "text=" + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    page = _chinese_refusal(client.generic("POST", path, body, content_type=FORM), 400, 413)
    assert "过大" in page or "过长" in page
    assert not Declaration.objects.exists()


def test_it_refuses_a_body_over_the_public_form_limit_with_413(client, village):
    response = client.post("/declare/", _form(text="长" * PUBLIC_BODY_MAX))
    assert "提交的内容过长" in _chinese_refusal(response, 413)
    assert not Declaration.objects.exists()


@pytest.mark.parametrize("content_type, body", [
    ("application/json", '{"name": "李四", "village": "%s"}' % DEFAULT_VILLAGE),
    ("text/plain", "name=李四"),
    ("application/xml", "<a>&xxe;</a>"),
    ("multipart/form-data; boundary=xx", '--xx\r\nContent-Disposition: form-data; name="name"\r\n\r\n李四'),
    ("multipart/form-data", "no boundary at all"),
    (FORM + "; charset=klingon", "name=a"),
    (FORM, b"name=%ff%fe&text=\xff\xfe"),
    (FORM, "&".join(f"f{i}=1" for i in range(1500))),  # beyond DATA_UPLOAD_MAX_NUMBER_FIELDS
])
def test_it_answers_a_malformed_body_or_wrong_content_type_in_chinese_and_stores_nothing(client, village, content_type, body):
    _chinese_refusal(client.generic("POST", "/declare/", body, content_type=content_type), 400, 413)
    assert not Declaration.objects.exists()


def test_it_refuses_other_methods(client, village):
    assert client.put("/declare/", "x").status_code == 405
    assert client.delete("/declare/status/").status_code == 405


def test_it_limits_declarations_per_address_through_the_page_whatever_the_phone(client, village):
    for i in range(S.MAX_PER_ADDRESS_PER_HOUR):
        assert client.post("/declare/", _form(i), REMOTE_ADDR="10.9.9.9").status_code == 302

    response = client.post("/declare/", _form(50), REMOTE_ADDR="10.9.9.9")
    assert "每小时最多" in _chinese_refusal(response, 429)
    # a forged forwarding header does not give a new address
    response = client.post("/declare/", _form(51), REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert response.status_code == 429
    assert Declaration.objects.count() == S.MAX_PER_ADDRESS_PER_HOUR
    # another address is not held back
    assert client.post("/declare/", _form(52), REMOTE_ADDR="10.9.9.10").status_code == 302


_FIELD_TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(['=HYPERLINK("http://x","y")', "<script>alert(1)</script>", "' OR 1=1 --", "\u202e\u200b", "１３９"]),
    st.text(alphabet="0123456789Xx ", max_size=20),
)


@settings(max_examples=30, deadline=3000, suppress_health_check=list(HealthCheck), database=None)
@given(st.fixed_dictionaries({f: _FIELD_TEXT for f in ("name", "id_number", "phone", "village", "risk", "text")}))
def test_it_answers_any_text_in_any_field_without_a_server_error(client, village, fields):
    before = Declaration.objects.count()
    response = client.post("/declare/", {k: v.replace("\x00", "") for k, v in fields.items()}, REMOTE_ADDR="10.8.8.8")
    assert response.status_code in (302, 400, 413, 429), response.status_code
    if response.status_code != 302:
        _chinese_refusal(response, 400, 413, 429)
        assert Declaration.objects.count() == before
    Declaration.objects.all().delete()  # keep the address limit out of the next example
