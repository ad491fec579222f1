"""Locust load for bench/load_bench.py (run by it; loopback only).

Each simulated user is one of the accounts prepared by load_bench.py (village, township and county
users; sessions made beforehand), by turns, and with a short think time reads — household pages,
the home page (worklists with counts), a worklist, the case list, the warnings list, searches by
household number, name, pinyin initials or ID number — and works cases of W1 识别纳入 the way a
browser does: it opens the case page, takes one of the step forms shown there (its CSRF token
and the version it carries), fills it in and posts it; village users also open new cases from
the household's 发起识别纳入 form. Cases of a village are shared by its two village accounts
(and by its township and county), so two users sometimes act on one case: sometimes on
purpose, both reading the page and then posting one after the other or at the same moment.

Every POST is logged (case, transition, version seen, outcome) to LOADBENCH_LOG, a JSON-lines
file load_bench.py counts against the database after the run. Outcomes: ok (redirect to the
case), stale (the page answered "请刷新": someone else changed the case), moved (403: the step is
no longer offered in the case's new state), stale_choice (answer_objection: the objection on the
form was answered meanwhile, so the form's choice is refused), open_conflict (the household got a
case meanwhile); these are expected answers, anything else is an error and a locust failure."""
from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
from html.parser import HTMLParser

import gevent
from locust import HttpUser, between, task
from locust.clients import HttpSession

STATE = json.loads(open(os.environ["LOADBENCH_STATE"], encoding="utf-8").read())
LOG = open(os.environ["LOADBENCH_LOG"], "a", encoding="utf-8")
READ_ONLY = bool(os.environ.get("LOADBENCH_READ_ONLY"))  # the reads alone, for comparison
ACCOUNTS = {a["username"]: a for a in STATE["users"]}
# cases by village, shared by every simulated user (new cases are added when opened)
POOL = {v: list(d["cases"]) for v, d in STATE["villages"].items()}
OPENABLE = {v: list(d["openable"]) for v, d in STATE["villages"].items()}
_lock = threading.Lock()
_turn = itertools.count()
WORKLIST_LINK = re.compile(r'href="(/worklists/[\w.-]+/)[^"]*"')
CASE_URL = re.compile(r"/cases/(\d+)/$")
CASE_LINK = re.compile(r'href="/cases/(\d+)/"')
# the states whose cases wait on a township or county desk (their worklist on the case list)
LEVEL_STATES = {"township": ("township_review", "township_notice"),
                "county_rr": ("county_comparison", "county_approval")}

# Which step a user takes among those its case page offers (forward steps mostly).
WEIGHTS = {
    "home_check": 10, "village_review": 10, "close_village_notice": 10, "township_approve": 10,
    "close_township_notice": 10, "record_comparison": 10, "approve": 6, "answer_objection": 8,
    "raise_objection": 2, "record_consent": 1, "green_channel": 0.3,
    "send_back_village": 3, "send_back_township": 3, "send_back_county": 3,
    "reject_village": 0.5, "reject_township": 0.5, "reject_county": 0.5, "withdraw": 0.3,
}
SIDE_STEPS = {"green_channel", "record_consent", "withdraw", "raise_objection"}
TEXT = {
    "investigators": "张三\n李四", "members": "王五\n赵六\n孙七", "signer_name": "户主", "signed_by": "乡镇负责人",
    "content": "对公示对象家庭收入有异议", "raised_by": "村民", "investigation": "经入户调查核实",
    "answer": "已向异议人答复", "negative_list_decision": "经评议, 情况属实", "hits_decision": "已核实, 不影响认定",
    "form__household_size": "3", "form__net_income_estimate": "8000", "form__rigid_expenses": "",
    "form__findings": "入户核实, 情况属实", "document": "",
}


def record(**entry) -> None:
    entry["at"] = round(time.time(), 3)
    with _lock:
        LOG.write(json.dumps(entry, ensure_ascii=False) + "\n")
        LOG.flush()


class Forms(HTMLParser):
    """The forms of a page: action and fields (inputs, selects with options, textareas)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            self._form["fields"].append({"tag": "input", "type": a.get("type", "text"), "name": a["name"],
                                         "value": a.get("value", ""), "checked": "checked" in a})
        elif tag == "select" and a.get("name"):
            self._select = {"tag": "select", "name": a["name"], "options": [], "value": None,
                            "multiple": "multiple" in a}
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"].append(a.get("value", ""))
            if "selected" in a:
                self._select["value"] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = {"tag": "textarea", "name": a["name"], "value": ""}
            self._form["fields"].append(self._textarea)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data


def page_forms(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def fill(form: dict, rng: random.Random) -> dict:
    """What a user types into a step form: the values shown stay, the empty ones get text."""
    data: dict[str, list[str]] = {}
    boxes: dict[str, list[str]] = {}
    for f in form["fields"]:
        name = f["name"]
        if f["tag"] == "input":
            kind = f["type"]
            if kind == "file" or kind == "submit":
                continue
            if kind == "checkbox":
                if f["value"] in ("", "on"):  # a yes/no box: tick it
                    data[name] = ["on"]
                else:  # one of a group (risks, departments): collected below
                    boxes.setdefault(name, []).append(f["value"])
                    if f["checked"]:
                        data.setdefault(name, []).append(f["value"])
                continue
            if kind == "hidden":
                data[name] = [f["value"]]
            elif kind == "date":
                data[name] = [f["value"]]
            elif kind == "number":
                data[name] = [f["value"] or TEXT.get(name, "3")]
            else:
                data[name] = [f["value"] or TEXT.get(name, "负载测试")]
        elif f["tag"] == "select":
            options = [o for o in f["options"] if o]
            value = f["value"] if f["value"] else (options[0] if options else "")
            data[name] = [value]
        else:  # textarea
            if name == "hits":
                data[name] = [f["value"]]  # the departments' findings, as prefilled (none: empty)
            elif name == "comment":
                data[name] = ["负载测试: 经核实办理"]
            else:
                data[name] = [f["value"].strip() or TEXT.get(name, "负载测试填写")]
    for name, values in boxes.items():
        if name not in data:
            data[name] = rng.sample(values, min(len(values), 2 if name == "departments" else 1))
    return data


def step_of(form: dict) -> tuple[int, str] | None:
    m = re.match(r"^/cases/(\d+)/do/(\w+)/$", form["action"])
    return (int(m.group(1)), m.group(2)) if m else None


def seen_of(data: dict) -> int | None:
    try:
        return int(data.get("seen_version", [""])[0])
    except ValueError:
        return None


class Staff(HttpUser):
    wait_time = between(0.3, 1.0)

    def on_start(self):
        with _lock:
            self.account = STATE["users"][next(_turn) % len(STATE["users"])]
        self.rng = random.Random(f"{self.account['username']}-{id(self)}")
        self.host_name = self.host.split("//", 1)[1].split(":")[0]
        self.client.cookies.set(STATE["session_cookie"], self.account["session"], domain=self.host_name, path="/")
        self.colleague = None
        partner = ACCOUNTS.get(self.account.get("colleague", ""))
        if partner:
            # the other village account of the same village, in a browser of its own
            self.colleague = HttpSession(base_url=self.host, request_event=self.environment.events.request,
                                         user=self)
            self.colleague.cookies.set(STATE["session_cookie"], partner["session"], domain=self.host_name, path="/")
            self.colleague_name = partner["username"]
        self.worklists = []
        self.home()

    # ---------------------------------------------------------------- reading
    @task(5)
    def household(self):
        number = self.rng.choice(self.account["households"])
        self.client.get(f"/households/{number}/", name="household /households/<number>/")

    @task(2)
    def home(self):
        with self.client.get("/", name="home /", catch_response=True) as response:
            if "/login/" in response.url or "/account/otp/" in response.url:
                response.failure(f"not logged in as {self.account['username']} ({response.url})")
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

    @task(1)
    def case_list(self):
        self.client.get("/cases/", params={"kind": "identification"}, name="cases /cases/")

    @task(1)
    def warnings(self):
        self.client.get("/warnings/", name="warnings /warnings/")

    # ---------------------------------------------------------------- writing
    def case_page_only(self):
        """--read-only: the case page a writer would have opened, and no POST."""
        _, case_id = self._pick_case()
        if case_id is not None:
            self._case_page(self.client, case_id, self.account["username"])

    def _case_page(self, session, case_id: int, who: str):
        with session.get(f"/cases/{case_id}/", name="case /cases/<id>/", catch_response=True) as response:
            if response.status_code == 404:  # e.g. a case of a colleague's village: not ours
                response.success()
                return None
            if not response.ok:
                response.failure(f"HTTP {response.status_code}")
                return None
            return response.text

    def _post(self, session, who: str, form: dict, data: dict, concurrent_with: str = "") -> str:
        case_id, name = step_of(form)
        seen = seen_of(data)
        started = time.perf_counter()
        with session.post(form["action"], data=data, allow_redirects=False, name=f"step POST {name}",
                          catch_response=True) as response:
            ms = round((time.perf_counter() - started) * 1000)
            status, body = response.status_code, response.text or ""
            if status == 302 and CASE_URL.search(response.headers.get("Location", "")):
                outcome = "ok"
            elif status in (200, 409) and "请刷新" in body:
                outcome = "stale"  # 409 since the step page answers a colleague's move with 请刷新
            elif status == 403 and "当前状态下可办理" in body:
                outcome = "moved"
            elif status == 200 and "不在可用的选项中" in body and name == "answer_objection":
                outcome = "stale_choice"  # the objection was answered by the colleague meanwhile
            else:
                outcome = "error"
            detail = ""
            if outcome == "error":
                errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', body, re.S)
                detail = re.sub(r"<[^>]+>", " ", " ".join(errors) or body[:300]).strip() or repr(response.error)
                response.failure(f"{name}: HTTP {status} {detail[:200]}")
            else:
                response.success()
            record(case=case_id, transition=name, seen=seen, outcome=outcome, status=status, user=who,
                   concurrent=concurrent_with, detail=detail[:300], ms=ms)
            return outcome

    def _pick_case(self):
        states = LEVEL_STATES.get(self.account["role"])
        if states and self.rng.random() < 0.8:
            # township and county users work from the case list of their step (their worklist)
            state = self.rng.choice(states)
            page = self.client.get("/cases/", params={"kind": "identification", "state": state},
                                   name="cases /cases/?state=")
            ids = sorted(set(CASE_LINK.findall(page.text))) if page.ok else []
            if ids:
                return None, int(self.rng.choice(ids))
        village = self.rng.choice(self.account["villages"])
        pool = POOL.get(village) or []
        return (village, self.rng.choice(pool)) if pool else (village, None)

    def _choose(self, forms: list[dict]) -> dict | None:
        steps = [(f, step_of(f)) for f in forms]
        # a step whose form has a list with nothing to pick (answer_objection with no open
        # objection: the page offers it, a user would not take it)
        steps = [(f, s) for f, s in steps if s and WEIGHTS.get(s[1], 0) > 0
                 and all(any(x["options"]) for x in f["fields"] if x["tag"] == "select")]
        if not steps:
            return None
        if all(s[1] in SIDE_STEPS for _, s in steps) and self.rng.random() < 0.9:
            return None  # nothing but side steps (a case past this user's desk): look at another
        return self.rng.choices([f for f, _ in steps], weights=[WEIGHTS[s[1]] for _, s in steps])[0]

    @task(4)
    def work_case(self):
        """Open a case of the scope, take one step it offers, post it after reading the page."""
        if READ_ONLY:
            return self.case_page_only()
        for _ in range(4):  # a case with nothing for this user: look at another
            _, case_id = self._pick_case()
            if case_id is None:
                return
            html = self._case_page(self.client, case_id, self.account["username"])
            if html is None:
                continue
            form = self._choose(page_forms(html))
            if form is None:
                continue
            data = fill(form, self.rng)
            gevent.sleep(self.rng.uniform(0.5, 2.0))  # filling in the form
            self._post(self.client, self.account["username"], form, data)
            return

    @task(1)
    def same_case(self):
        """Two colleagues of one village on one case: both read the page and post the same step,
        one after the other or at the same moment; one must be told to refresh."""
        if READ_ONLY:
            return self.case_page_only()
        if self.colleague is None:
            return self.work_case()
        for _ in range(4):
            _, case_id = self._pick_case()
            if case_id is None:
                return
            mine = self._case_page(self.client, case_id, self.account["username"])
            theirs = self._case_page(self.colleague, case_id, self.colleague_name)
            if mine is None or theirs is None:
                continue
            form = self._choose(page_forms(mine))
            if form is None:
                continue
            other = next((f for f in page_forms(theirs) if f["action"] == form["action"]), None)
            if other is None:
                continue
            data, other_data = fill(form, self.rng), fill(other, self.rng)
            if self.rng.random() < 0.5:
                self._post(self.client, self.account["username"], form, data)
                self._post(self.colleague, self.colleague_name, other, other_data, concurrent_with="after")
            else:
                jobs = [gevent.spawn(self._post, self.client, self.account["username"], form, data, "together"),
                        gevent.spawn(self._post, self.colleague, self.colleague_name, other, other_data, "together")]
                gevent.joinall(jobs)
            return

    @task(1)
    def open_case(self):
        """发起识别纳入 for a candidate household of the village (village users only)."""
        if READ_ONLY:
            return self.case_page_only()
        if self.account["role"] != "village":
            return
        village = self.account["villages"][0]
        with _lock:
            numbers = OPENABLE.get(village) or []
            number = self.rng.choice(numbers) if numbers else None
        if number is None:
            return
        url = f"/cases/new/identification/{number}/"
        page = self.client.get(url, name="open GET /cases/new/identification/<number>/")
        form = next((f for f in page_forms(page.text) if f["action"] in ("", url)), None)
        token = next((f["value"] for f in (form or {"fields": []})["fields"] if f["name"] == "csrfmiddlewaretoken"), "")
        data = {"csrfmiddlewaretoken": token, "channel": "cadre_visit", "reason": "干部走访排查发现因病支出大",
                "signer_name": "户主", "signed_on": time.strftime("%Y-%m-%d"), "green_channel_risk": ""}
        gevent.sleep(self.rng.uniform(0.5, 1.5))
        started = time.perf_counter()
        with self.client.post(url, data=data, allow_redirects=False, name="step POST open",
                              catch_response=True) as response:
            ms = round((time.perf_counter() - started) * 1000)
            status, body = response.status_code, response.text or ""
            m = CASE_URL.search(response.headers.get("Location", "")) if status == 302 else None
            detail = ""
            if m:
                outcome, case_id = "ok", int(m.group(1))
                with _lock:
                    POOL.setdefault(village, []).append(case_id)
                    if number in OPENABLE.get(village, []):
                        OPENABLE[village].remove(number)
                response.success()
            elif status == 200 and "已有办理中的识别纳入案件" in body:
                outcome, case_id = "open_conflict", None
                with _lock:
                    if number in OPENABLE.get(village, []):
                        OPENABLE[village].remove(number)
                response.success()
            else:
                outcome, case_id = "error", None
                errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', body, re.S)
                detail = re.sub(r"<[^>]+>", " ", " ".join(errors) or body[:300]).strip() or repr(response.error)
                response.failure(f"open: HTTP {status} {detail[:200]}")
            record(case=case_id, transition="open", seen=None, outcome=outcome, status=status,
                   user=self.account["username"], household=number, detail=detail[:300], ms=ms)
