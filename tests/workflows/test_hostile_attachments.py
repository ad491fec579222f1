"""Hostile uploads to case steps (issue 11 item 5): the type is sniffed from the first bytes (a
renamed .exe, .html or .svg is refused whatever its name or declared type), the size is capped,
and files live under MEDIA_ROOT, outside the static root, reachable only through the scoped
download view — no URL pattern serves MEDIA_ROOT."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangfan.accounts.models import Role
from fangfan.workflows.attachments import MAGIC, attachment_store, check_upload
from fangfan.workflows.errors import GuardFailed
from fangfan.workflows.models import Attachment
from tests.workflows.factories import FUNAN, household, user

# Any name an upload can arrive with (Django's parser keeps only the base name, never "" or "..").
NAMES = st.builds(lambda t, ext: f"f{t}{ext}", st.text(st.characters(exclude_characters="/\\\x00"), max_size=30),
                  st.sampled_from(["", ".jpg", ".png", ".pdf", ".exe", ".html", ".svg", ".jpg.exe"]))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HOSTILE = [
    ("setup.jpg", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50, "image/jpeg"),  # a Windows program
    ("scan.png", b"<!doctype html><script>alert(document.cookie)</script>", "image/png"),
    ("photo.pdf", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "application/pdf"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
    ("a.jpg", b"\xef\xbb\xbf<html>", "image/jpeg"),
    ("b.png", b" \x89PNG\r\n\x1a\n", "image/png"),  # the magic must come first
    ("c.zip", b"PK\x03\x04" + b"\x00" * 40, "application/zip"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("name, data, declared", HOSTILE)
def test_it_refuses_a_file_whose_first_bytes_are_not_an_allowed_type(settings, tmp_path, name, data, declared):
    settings.MEDIA_ROOT = tmp_path
    cadre = user(Role.VILLAGE, FUNAN)
    with pytest.raises(GuardFailed, match=f"「{name}」不是允许的文件类型"):
        attachment_store(actor=cadre, household=household(FUNAN), file=SimpleUploadedFile(name, data, content_type=declared))
    assert not Attachment.objects.exists() and not any(tmp_path.rglob("*.*"))


@pytest.mark.django_db
def test_it_refuses_an_oversized_and_an_empty_file_and_writes_nothing(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.ATTACHMENT_MAX_BYTES = 1024
    cadre, h = user(Role.VILLAGE, FUNAN), household(FUNAN)
    with pytest.raises(GuardFailed, match="的大小限制"):
        attachment_store(actor=cadre, household=h, file=SimpleUploadedFile("big.png", PNG + b"\x00" * 1024))
    with pytest.raises(GuardFailed, match="是空文件"):
        attachment_store(actor=cadre, household=h, file=SimpleUploadedFile("empty.png", b""))
    assert not Attachment.objects.exists() and not any(tmp_path.rglob("*"))


@settings(max_examples=80, deadline=1000, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=64), NAMES, st.sampled_from(["image/png", "image/jpeg", "text/html", ""]))
def test_it_accepts_exactly_the_files_that_start_with_an_allowed_magic(data, name, declared):
    upload = SimpleUploadedFile(name, data, content_type=declared or None)
    accepted = check_upload(upload) is None
    assert accepted == (len(data) > 0 and any(data.startswith(m) for m, _ in MAGIC))


@pytest.mark.django_db
def test_it_stores_under_media_root_and_serves_only_through_the_scoped_view(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cadre = user(Role.VILLAGE, FUNAN)
    attachment = attachment_store(actor=cadre, household=household(FUNAN), file=SimpleUploadedFile("扫描.png", PNG))
    stored = settings.MEDIA_ROOT / attachment.path
    assert stored.read_bytes() == PNG and stored.resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    # a name like ../../x.html never reaches the path: files are named by their content's hash
    assert stored.name == f"{attachment.sha256}.png"
    client.force_login(cadre)
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment")
    client.logout()
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 302  # to the login page


def _patterns(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_it_keeps_media_outside_the_static_root_and_serves_it_by_no_url_pattern():
    media = Path(django_settings.MEDIA_ROOT).resolve()
    static = Path(django_settings.STATIC_ROOT).resolve()
    assert not media.is_relative_to(static) and not static.is_relative_to(media)
    repo = Path(__file__).resolve().parents[2]
    assert not media.is_relative_to(repo / "fangfan")  # not inside the served code or its templates
    from django.views.static import serve

    for route, callback in _patterns(get_resolver()):
        assert callback is not serve, f"{route} serves files from disk"
        assert not route.startswith(("media", str(getattr(django_settings, "MEDIA_URL", "")).strip("/") or "\x00")), route
