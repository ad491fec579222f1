import os

# Keep generated secrets and data of test runs out of the repo's var/.
os.environ.setdefault("FANGFAN_DATA_DIR", "/tmp/fangfan-test-data")
# Django's file cache of this run only: another test run on the machine clearing its cache must
# not empty this one's in the middle of a test (the worklist cache tests count computations).
if "FANGFAN_CACHE_DIR" not in os.environ:
    import atexit
    import shutil

    os.environ["FANGFAN_CACHE_DIR"] = f"/tmp/fangfan-test-cache-{os.getpid()}"
    atexit.register(shutil.rmtree, os.environ["FANGFAN_CACHE_DIR"], ignore_errors=True)

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Tests make several users each; PBKDF2 would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The second factor (on by default in production) is off unless a test turns it on
    # (tests/accounts/test_otp.py).
    settings.FANGFAN_REQUIRE_OTP = False


@pytest.fixture(autouse=True)
def _empty_cache():
    # Django's cache (worklist results, throttling counters) outlives a test's database
    # transaction; each test starts from an empty one.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
