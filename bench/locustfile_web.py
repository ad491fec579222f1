"""Locust load for bench/web_bench.py (run by it; loopback only).

Each simulated client is one of the benchmark users, by turns (with a session web_bench.py
made for it), and, with a short think time, opens household pages of its scope, the
home page (worklists with counts), a worklist page linked from it, and searches. Requests are
grouped by page kind (the first word of the name is the kind web_bench.py compares with its
target). The users, their households and search terms come from the JSON file named by
WEBBENCH_STATE (written by web_bench.py)."""
from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading

from locust import HttpUser, between, task

STATE = json.loads(open(os.environ["WEBBENCH_STATE"], encoding="utf-8").read())
_turn = itertools.count()
_lock = threading.Lock()
WORKLIST_LINK = re.compile(r'href="(/worklists/[\w.-]+/)[^"]*"')


class Staff(HttpUser):
    wait_time = between(0.2, 0.8)

    def on_start(self):
        with _lock:
            self.account = STATE["users"][next(_turn) % len(STATE["users"])]
        self.rng = random.Random(self.account["username"])
        # web_bench.py made the session beforehand (see sessions() there)
        host = self.host.split("//", 1)[1].split(":")[0]
        self.client.cookies.set(STATE["session_cookie"], self.account["session"], domain=host, path="/")
        self.worklists = []
        self.home()

    @task(5)
    def household(self):
        number = self.rng.choice(self.account["households"])
        self.client.get(f"/households/{number}/", name="household /households/<number>/")

    @task(2)
    def home(self):
        with self.client.get("/", name="home /", catch_response=True) as response:
            if "/login/" in response.url:
                response.failure(f"not logged in as {self.account['username']}")
            elif response.ok:
                self.worklists = sorted(set(WORKLIST_LINK.findall(response.text))) or self.worklists

    @task(2)
    def worklist(self):
        if self.worklists:
            self.client.get(self.rng.choice(self.worklists), name="worklist /worklists/<key>/")

    @task(3)
    def search(self):
        term = self.rng.choice(self.account["search"])
        self.client.get("/households/", params={"q": term}, name="search /households/?q=")
