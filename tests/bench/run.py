"""`make bench`: start the stack on its own ports, measure it against the NLU floor and a plain
Rasa peer, print one table and write var/bench/latest.json.

Run as `.venv/bin/python -m tests.bench.run [--quick]`. All traffic goes to 127.0.0.1; every
loop is bounded; every process started here is stopped at the end, also on error or Ctrl-C.
Not collected by pytest (no test_*.py here).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import redis
import requests
import yaml
from twilio.request_validator import RequestValidator

from bot.config import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN
from tests.bench import peer

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"
WEB_PORT, NLU_PORT, PEER_PORT = 5300, 5305, 5306
WEB = f"http://127.0.0.1:{WEB_PORT}"
NLU = f"http://127.0.0.1:{NLU_PORT}"
PEER = f"http://127.0.0.1:{PEER_PORT}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SENT_KEY = "relais:dev:sent"  # bot/web/dev.py: what the local fake Twilio accepted
EMAIL = "bench@relais.invalid"
MENU_CYCLE = ["menu", "1", "menu", "2", "menu", "3", "retour", "aide"]  # digits and keywords only

TARGETS = {
    "overhead_p50_ms": 5.0, "overhead_p99_ms": 15.0, "menu_p99_ms": 15.0,
    "escalation_p99_s": 1.0, "web_worker_rss_mb": 150.0, "triage_p50_ms": 2.0,
}


def log(msg: str) -> None:
    """Progress on stderr; the table goes to stdout."""
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- messages ----------------------------------------------------------------------------

def free_texts() -> list[str]:
    """Held-out NLU lines (nlu/tests/*.yml) except the urgent ones (crises are measured apart)."""
    lines: list[str] = []
    for path in sorted((ROOT / "nlu" / "tests").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            if block.get("intent") in (None, "urgent"):
                continue
            for line in str(block.get("examples", "")).splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    lines.append(text)
    return lines


def crises() -> list[str]:
    """Held-out crisis messages (tests/data/crisis_heldout.yml)."""
    doc = yaml.safe_load((ROOT / "tests" / "data" / "crisis_heldout.yml").read_text())
    return [str(t) for t in doc["crisis"]]


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of values, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


def summary(ms: list[float]) -> dict[str, Any]:
    """n, p50, p99 and mean in milliseconds."""
    return {"n": len(ms), "p50_ms": _r(pct(ms, 50)), "p99_ms": _r(pct(ms, 99)),
            "mean_ms": _r(statistics.fmean(ms) if ms else None)}


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


# --- the stack ---------------------------------------------------------------------------

class Stack:
    """The processes this run started; stop() ends each one (its process group) exactly once."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start argv in its own session, logging to var/bench/NAME.log."""
        logfile = (OUT / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=logfile, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def stop(self, name: str) -> None:
        """SIGTERM the process group, SIGKILL after 20 s."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def stop_all(self) -> None:
        """Stop everything started here."""
        for name in list(self.procs):
            self.stop(name)

    def check(self) -> None:
        """Fail when one of the processes died."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}); see var/bench/{name}.log")


def wait_until(what: str, ready: Callable[[], bool], stack: Stack, timeout: float) -> None:
    """Poll ready() until true; fail after timeout or when a process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check()
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} not ready within {timeout:.0f} s")


def rasa_ready(url: str) -> bool:
    """True when the Rasa server answers a parse with an intent."""
    answer = requests.post(f"{url}/model/parse", json={"text": "bonjour"}, timeout=2)
    return answer.ok and bool(answer.json().get("intent"))


def flows_dir(now: datetime) -> tuple[Path, str]:
    """The flows to run with, and how the on-call SMS leg applies at this hour.

    The webhook uses the real clock: when the centre is open now (or nobody is on call), run on
    a copy under var/bench/flows with a closure today, so that the on-call SMS goes out.
    """
    from bot.core import hours
    from bot.core.flows import load_flows
    from bot.core.oncall import on_call

    real = ROOT / "flows"
    flows = load_flows(real)
    local = hours.local(flows.schedule, now)
    day = hours.day_hours(flows.schedule, local.date())
    is_open = hours.open_until(flows.schedule, now) is not None
    covered = on_call(flows.rota, local, closed_day=bool(day.holiday or day.closure)) is not None
    if not is_open and covered:
        return real, f"real flows/: closed now ({local:%a %H:%M} local), on call per flows/oncall.yml"
    copy = OUT / "flows"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(real, copy)
    centre = yaml.safe_load((copy / "centre.yml").read_text())
    today = local.date().isoformat()
    centre.setdefault("closures", []).append(
        {"from": date.fromisoformat(today), "to": date.fromisoformat(today),
         "reason": {lang: "bench" for lang in ("fr", "nl", "en")}})
    (copy / "centre.yml").write_text(yaml.safe_dump(centre, allow_unicode=True, sort_keys=False))
    flows = load_flows(copy)
    if hours.open_until(flows.schedule, now) is not None or on_call(flows.rota, local, closed_day=True) is None:
        return copy, "not applicable: could not make the centre closed with someone on call"
    return copy, f"FLOWS_DIR copy var/bench/flows with a closure today (real hours: open at {local:%a %H:%M})"


def reset_postgres(url: str) -> None:
    """Drop every table of the bench's PostgreSQL database (never point it at real data)."""
    from sqlalchemy import text

    from bot.adapters import db

    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def app_env(flows: Path, db_url: str) -> dict[str, str]:
    """The environment of the bench web app and worker: dev mode, own ports, own Redis db."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env.update(PORT=str(WEB_PORT), PUBLIC_BASE_URL=WEB, TWILIO_API_BASE_URL=WEB + "/dev/twilio",
               REDIS_URL=REDIS_URL, DATABASE_URL=db_url, RASA_URL=NLU, FLOWS_DIR=str(flows),
               LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"), RASA_TELEMETRY_ENABLED="false")
    return env


def flask(env: dict[str, str], *args: str) -> str:
    """Run `flask --app bot ARGS` with env; return stdout."""
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "bot", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args[:2])} failed: {done.stderr[-500:]}")
    return done.stdout


# --- clients -----------------------------------------------------------------------------

_local = threading.local()


def session() -> requests.Session:
    """One keep-alive session per thread."""
    if not hasattr(_local, "s"):
        _local.s = requests.Session()
    return _local.s


_validator = RequestValidator(DEV_AUTH_TOKEN)
_numbers = itertools.count(1)
_number_lock = threading.Lock()
_run = uuid.uuid4().int % 10**4


def fresh_number() -> str:
    """A phone number no earlier message of this run used."""
    with _number_lock:
        n = next(_numbers)
    return f"+3249{_run:04d}{n:05d}"


def post_inbound(number: str, body: str) -> tuple[float, bool, list[str]]:
    """One signed webhook request as Twilio makes it; (ms, ok, replies). Signing is not timed."""
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": DEV_ACCOUNT_SID, "From": number,
              "To": "+32460000000", "Body": body, "NumMedia": "0"}
    headers = {"X-Twilio-Signature": _validator.compute_signature(WEB + "/twilio/inbound", params)}
    t0 = time.perf_counter()
    try:
        answer = session().post(WEB + "/twilio/inbound", data=params, headers=headers, timeout=15)
    except requests.RequestException:
        return (time.perf_counter() - t0) * 1000, False, []
    ms = (time.perf_counter() - t0) * 1000
    if answer.status_code != 200:
        return ms, False, []
    replies = [m.text or "" for m in ET.fromstring(answer.content).iter("Message")]
    return ms, bool(replies), replies


def post_parse(text: str) -> tuple[float, bool]:
    """One POST /model/parse to the Relais Rasa server."""
    t0 = time.perf_counter()
    try:
        answer = session().post(NLU + "/model/parse", json={"text": text}, timeout=15)
        ok = answer.ok and bool(answer.json().get("intent"))
    except requests.RequestException:
        ok = False
    return (time.perf_counter() - t0) * 1000, ok


def post_peer(sender: str, text: str) -> tuple[float, bool]:
    """One message through the peer's REST channel; ok when it answered with text."""
    t0 = time.perf_counter()
    try:
        answer = session().post(PEER + "/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                timeout=15)
        ok = answer.ok and any(m.get("text") for m in answer.json())
    except (requests.RequestException, ValueError):
        ok = False
    return (time.perf_counter() - t0) * 1000, ok


# --- the measures --------------------------------------------------------------------------

def sequential(n: int, texts: list[str], call: Callable[[str], tuple[float, bool]]) -> dict[str, Any]:
    """n calls one after another, cycling through texts."""
    ms, errors = [], 0
    for text in itertools.islice(itertools.cycle(texts), n):
        t, ok = call(text)
        ms.append(t)
        errors += not ok
    return {**summary(ms), "errors": errors}


class MenuContact:
    """A contact in the middle of a flow: it only sends digits and menu keywords."""

    def __init__(self) -> None:
        self.number = fresh_number()
        self.steps = itertools.cycle(MENU_CYCLE)
        post_inbound(self.number, "bonjour")  # into the flow (a keyword; not timed)

    def next(self) -> tuple[float, bool]:
        """Send the next menu answer."""
        ms, ok, _ = post_inbound(self.number, next(self.steps))
        return ms, ok


def menu_answers(n: int) -> dict[str, Any]:
    """Digits and keywords mid-flow, sequential, from a few contacts."""
    contacts = [MenuContact() for _ in range(4)]
    ms, errors = [], 0
    for i in range(n):
        t, ok = contacts[i % len(contacts)].next()
        ms.append(t)
        errors += not ok
    return {**summary(ms), "errors": errors}


def load(seconds: float, concurrency: int, one: Callable[[int, random.Random], tuple[str, float, bool]]) -> dict[str, Any]:
    """`concurrency` senders, each sending back to back for `seconds`; answered-without-error per second."""
    stop_at = time.monotonic() + seconds
    results: list[tuple[str, float, bool]] = []
    lock = threading.Lock()

    def sender(k: int) -> None:
        rng = random.Random(k)
        mine = []
        while time.monotonic() < stop_at:
            mine.append(one(k, rng))
        with lock:
            results.extend(mine)

    t0 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(sender, range(concurrency)))
    elapsed = time.monotonic() - t0
    ok_ms = [ms for _, ms, ok in results if ok]
    all_ms = [ms for _, ms, _ in results]
    kinds = {kind: sum(1 for k, _, _ in results if k == kind) for kind in sorted({k for k, _, _ in results})}
    by_kind = {kind: summary([ms for k, ms, _ in results if k == kind]) for kind in kinds}
    return {"seconds": round(elapsed, 1), "concurrency": concurrency, "sent": len(results),
            "errors": len(results) - len(ok_ms), "msgs_per_s": round(len(ok_ms) / elapsed, 1),
            "p50_ms": _r(pct(all_ms, 50)), "p99_ms": _r(pct(all_ms, 99)), "mix": kinds, "by_kind": by_kind}


def relais_mix(seconds: float, concurrency: int, texts: list[str], crisis: list[str]) -> dict[str, Any]:
    """The realistic mix: ~60% menu answers and keywords, ~35% free text, ~5% crises."""
    contacts = [MenuContact() for _ in range(concurrency)]

    def one(k: int, rng: random.Random) -> tuple[str, float, bool]:
        roll = rng.random()
        if roll < 0.60:
            ms, ok = contacts[k].next()
            return "menu", ms, ok
        if roll < 0.95:
            ms, ok, _ = post_inbound(fresh_number(), rng.choice(texts))
            return "free_text", ms, ok
        ms, ok, _ = post_inbound(fresh_number(), rng.choice(crisis))
        return "crisis", ms, ok

    return load(seconds, concurrency, one)


def peer_load(seconds: float, concurrency: int, texts: list[str]) -> dict[str, Any]:
    """The same free-text messages through the peer, from fresh senders, at the same concurrency."""
    def one(k: int, rng: random.Random) -> tuple[str, float, bool]:
        ms, ok = post_peer(uuid.uuid4().hex, rng.choice(texts))
        return "free_text", ms, ok
    return load(seconds, concurrency, one)


def escalations(n: int, crisis: list[str], token: str, r: redis.Redis, sms_applies: bool) -> dict[str, Any]:
    """Urgent message -> case in GET /api/v1/cases, and -> on-call SMS at the fake Twilio."""
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"

    def open_cases() -> list[dict[str, Any]]:
        answer = api.get(WEB + "/api/v1/cases?status=open", timeout=5)
        answer.raise_for_status()
        return answer.json()

    inbox_s, sms_s, missed_inbox, missed_sms = [], [], 0, 0
    for text in itertools.islice(itertools.cycle(crisis), n):
        known = {c["id"] for c in open_cases()}
        sent_before = r.llen(SENT_KEY)
        t0 = time.perf_counter()
        _, ok, _ = post_inbound(fresh_number(), text)
        case = None
        deadline = t0 + 10
        while ok and time.perf_counter() < deadline:
            new = [c for c in open_cases() if c["id"] not in known]
            if new:
                case = new[0]
                inbox_s.append(time.perf_counter() - t0)
                break
            time.sleep(0.01)
        if case is None:
            missed_inbox += 1
            continue
        if not sms_applies:
            continue
        found = False
        while time.perf_counter() < deadline:
            for raw in r.lrange(SENT_KEY, sent_before, -1):
                if case["reference"] and case["reference"] in json.loads(raw).get("body", ""):
                    found = True
                    break
            if found:
                sms_s.append(time.perf_counter() - t0)
                break
            time.sleep(0.01)
        missed_sms += not found
    ms = lambda xs: summary([x * 1000 for x in xs])  # noqa: E731
    return {"n": n, "inbox": {**ms(inbox_s), "missed": missed_inbox},
            "oncall_sms": {**ms(sms_s), "missed": missed_sms} if sms_applies else None}


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process in MB, from /proc/PID/status."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct children of pid."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return sorted(kids)


def memory(stack: Stack) -> dict[str, float | None]:
    """Resident memory of each process of the stack now."""
    mem: dict[str, float | None] = {}
    web = stack.procs["web"].pid
    mem["web master (gunicorn)"] = rss_mb(web)
    for i, kid in enumerate(children(web), 1):
        mem[f"web worker {i}"] = rss_mb(kid)
    mem["rq worker"] = rss_mb(stack.procs["worker"].pid)
    mem["rasa (relais nlu)"] = rss_mb(stack.procs["nlu"].pid)
    if "peer" in stack.procs:
        mem["rasa (peer)"] = rss_mb(stack.procs["peer"].pid)
    return mem


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them (other work on the machine)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the run -------------------------------------------------------------------------------

def run(quick: bool, with_peer: bool = True) -> dict[str, Any]:
    """Start everything, measure, stop everything; return the figures."""
    n_seq = 80 if quick else 500
    n_peer_seq = 40 if quick else 500
    n_esc = 5 if quick else 30
    seconds = 8.0 if quick else 30.0
    concurrency = 8 if quick else 16
    texts, crisis = free_texts(), crises()
    random.Random(42).shuffle(texts)
    OUT.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    result: dict[str, Any] = {"date": started.isoformat(timespec="seconds"), "mode": "quick" if quick else "full",
                              "cores": os.cpu_count(), "load_before": loadavg(), "messages": {
                                  "free_text_pool": len(texts), "crisis_pool": len(crisis)}}

    from tests.bench import triage as triage_bench  # late: it imports this module

    log("0. triage: crisis triage.assess in process, a few hundred varied messages")
    result["triage"] = triage_bench.measure(200 if quick else 600)
    peer_model = peer.ensure_trained(log) if with_peer else None
    flows, sms_note = flows_dir(started)
    sms_applies = not sms_note.startswith("not applicable")
    result["oncall_sms_mode"] = sms_note
    db_file = OUT / "relais.db"
    db_file.unlink(missing_ok=True)
    # BENCH_DATABASE_URL: an empty PostgreSQL database to measure on instead of the SQLite file
    database = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{db_file}"
    if database.startswith("postgresql"):
        reset_postgres(database)
    result["database"] = database.split("://")[0]
    env = app_env(flows, database)
    r = redis.Redis.from_url(REDIS_URL)
    r.flushdb()

    stack = Stack()
    try:
        nlu_env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
        rasa = str(ROOT / ".venv-nlu" / "bin" / "rasa")
        log("starting Rasa (5305), the peer (5306), gunicorn (5300, 2 workers) and the RQ worker")
        stack.start("nlu", [rasa, "run", "--enable-api", "--port", str(NLU_PORT), "--model",
                            str(ROOT / "nlu" / "models" / "relais.tar.gz")], nlu_env)
        if peer_model:
            stack.start("peer", [rasa, "run", "--port", str(PEER_PORT), "--model", str(peer_model)], nlu_env)
        # While Rasa loads (about 30 s): the scratch database and an API token.
        flask(env, "db", "upgrade")
        flask(env, "users", "create", EMAIL, "--name", "Bench", "--password", uuid.uuid4().hex)
        token = flask(env, "users", "token", EMAIL).strip().split()[-1]
        stack.start("web", [str(ROOT / ".venv" / "bin" / "gunicorn"), "bot:create_app()", "--bind",
                            f"127.0.0.1:{WEB_PORT}", "--workers", os.environ.get("WEB_CONCURRENCY", "2"), "--threads", os.environ.get("WEB_THREADS", "4"), "--timeout", "30"], env)
        stack.start("worker", [str(ROOT / ".venv" / "bin" / "rq"), "worker", "-w", "worker.main.RelaisWorker",
                               "--url", REDIS_URL, "--serializer", "rq.serializers.JSONSerializer",
                               "urgent", "default"], env)
        wait_until("the web app", lambda: requests.get(WEB + "/healthz", timeout=2).status_code < 500, stack, 60)
        wait_until("Rasa", lambda: rasa_ready(NLU), stack, 240)
        if peer_model:
            wait_until("the peer", lambda: requests.post(PEER + "/webhooks/rest/webhook", json={
                "sender": "warmup", "message": "bonjour"}, timeout=5).ok, stack, 240)
        # Warm up every process (first TF call, lazy imports, connection pools), with texts
        # that point 2 does not use: Relais caches NLU results, and point 2 measures texts
        # seen for the first time (no cache hit); the mix (point 4) draws from the whole pool.
        warmup = texts[-(10 if quick else 30):]
        unseen = texts[:len(texts) - len(warmup)]
        for text in warmup:
            post_parse(text)
            post_inbound(fresh_number(), text)
            if peer_model:
                post_peer(uuid.uuid4().hex, text)
        result["nlu_via_healthz"] = requests.get(WEB + "/healthz", timeout=5).json()

        n_free = min(n_seq, len(unseen))
        log(f"1. floor: {n_free} sequential POST /model/parse")
        result["floor"] = sequential(n_free, unseen, post_parse)
        log(f"2. free text: {n_free} signed webhook requests from fresh contacts, each text new to Relais")
        result["free_text"] = sequential(n_free, unseen, lambda t: post_inbound(fresh_number(), t)[:2])
        result["free_text"]["cache"] = "every text seen for the first time (no NLU cache hit)"
        f, p = result["free_text"], result["floor"]
        result["overhead"] = {"p50_ms": _r(f["p50_ms"] - p["p50_ms"]), "p99_ms": _r(f["p99_ms"] - p["p99_ms"])}
        log(f"3. menu answers: {n_seq} digits and keywords mid-flow")
        result["menu"] = menu_answers(n_seq)
        log(f"5. escalation: {n_esc} urgent messages, one at a time")
        result["escalation"] = escalations(n_esc, crisis, token, r, sms_applies)
        log(f"4. throughput: the mix, {concurrency} senders, {seconds:.0f} s")
        result["throughput"] = relais_mix(seconds, concurrency, texts, crisis)
        if peer_model:
            log(f"6. the peer: free text, sequential, then {concurrency} senders for {seconds:.0f} s")
            result["peer_sequential"] = sequential(n_peer_seq, texts, lambda t: post_peer(uuid.uuid4().hex, t))
            result["peer"] = peer_load(seconds, concurrency, texts)
        else:
            result["peer_sequential"] = result["peer"] = None
        result["memory_mb"] = memory(stack)
        stack.check()
    finally:
        stack.stop_all()
    result["load_after"] = loadavg()
    result["wall_seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    result["targets"] = verdicts(result)
    return result


def verdicts(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target: the figure, the limit, met or not."""
    def v(value: float | None, limit: float, cmp: Callable[[float, float], bool] = lambda a, b: a <= b) -> dict[str, Any]:
        return {"value": value, "limit": limit, "met": None if value is None else bool(cmp(value, limit))}

    esc, thr = res["escalation"], res["throughput"]
    peer_ = res["peer"] or {"msgs_per_s": None, "p99_ms": None}
    out = {
        "overhead p50 <= 5 ms": v(res["overhead"]["p50_ms"], TARGETS["overhead_p50_ms"]),
        "overhead p99 <= 15 ms": v(res["overhead"]["p99_ms"], TARGETS["overhead_p99_ms"]),
        "menu p99 < 15 ms": v(res["menu"]["p99_ms"], TARGETS["menu_p99_ms"], lambda a, b: a < b),
        "throughput >= 2x peer": v(thr["msgs_per_s"] if res["peer"] else None,
                                   _r(2 * peer_["msgs_per_s"]) if res["peer"] else None, lambda a, b: a >= b),
        "throughput p99 <= peer p99 / 2": v(thr["p99_ms"] if res["peer"] else None,
                                            _r(peer_["p99_ms"] / 2) if res["peer"] else None),
        "escalation to inbox p99 < 1 s": v(_r(esc["inbox"]["p99_ms"]), 1000.0, lambda a, b: a < b),
    }
    if res.get("triage"):
        out["triage p50 <= 2 ms"] = v(res["triage"]["p50_ms"], TARGETS["triage_p50_ms"])
    sms = esc["oncall_sms"]
    out["escalation to on-call SMS p99 < 1 s"] = (
        v(_r(sms["p99_ms"]), 1000.0, lambda a, b: a < b) if sms else {"value": None, "limit": 1000.0, "met": None,
                                                                     "note": "not applicable"})
    for name, mb in res["memory_mb"].items():
        if name.startswith("web worker"):
            out[f"{name} RSS < 150 MB"] = v(mb, TARGETS["web_worker_rss_mb"], lambda a, b: a < b)
    if esc["inbox"]["missed"] or (sms and sms["missed"]):
        for key in ("escalation to inbox p99 < 1 s", "escalation to on-call SMS p99 < 1 s"):
            out[key]["note"] = "some escalations never arrived within 10 s"
            out[key]["met"] = False if out[key]["met"] is not None else None
    return out


def table(res: dict[str, Any]) -> str:
    """One table of every figure."""
    rows: list[tuple[str, str, str, str]] = []

    def add(what: str, p50: Any = "", p99: Any = "", other: str = "") -> None:
        rows.append((what, "" if p50 in ("", None) else f"{p50}", "" if p99 in ("", None) else f"{p99}", other))

    fl, ft, mn, esc = res["floor"], res["free_text"], res["menu"], res["escalation"]
    add("1. floor: Rasa POST /model/parse", fl["p50_ms"], fl["p99_ms"], f"n={fl['n']} errors={fl['errors']}")
    add("2. Relais free text (fresh contacts)", ft["p50_ms"], ft["p99_ms"],
        f"n={ft['n']} errors={ft['errors']}, each text new (no NLU cache hit)")
    add("   overhead = free text - floor", res["overhead"]["p50_ms"], res["overhead"]["p99_ms"])
    add("3. Relais menu answers (no NLU)", mn["p50_ms"], mn["p99_ms"], f"n={mn['n']} errors={mn['errors']}")
    thr, pr = res["throughput"], res["peer"]
    add("4. Relais mix under load", thr["p50_ms"], thr["p99_ms"],
        f"{thr['msgs_per_s']} msg/s ok, c={thr['concurrency']}, {thr['seconds']} s, sent={thr['sent']} "
        f"errors={thr['errors']} mix={thr['mix']}; texts drawn from a pool of {res['messages']['free_text_pool']}, "
        "NLU cache on")
    for kind, k in thr["by_kind"].items():
        add(f"   under load: {kind}", k["p50_ms"], k["p99_ms"], f"n={k['n']}")
    add("5. escalation -> case in /api/v1/cases", esc["inbox"]["p50_ms"], esc["inbox"]["p99_ms"],
        f"n={esc['inbox']['n']} missed={esc['inbox']['missed']}")
    sms = esc["oncall_sms"]
    add("5. escalation -> on-call SMS at fake Twilio", sms and sms["p50_ms"], sms and sms["p99_ms"],
        (f"n={sms['n']} missed={sms['missed']}; " if sms else "") + res["oncall_sms_mode"])
    ps = res["peer_sequential"]
    if ps and pr:
        add("6. peer (plain Rasa REST), sequential", ps["p50_ms"], ps["p99_ms"], f"n={ps['n']} errors={ps['errors']}")
        add("6. peer under load (free text)", pr["p50_ms"], pr["p99_ms"],
            f"{pr['msgs_per_s']} msg/s ok, c={pr['concurrency']}, {pr['seconds']} s, errors={pr['errors']}")
    else:
        add("6. peer", "", "", "skipped (--skip-peer)")
    for name, mb in res["memory_mb"].items():
        add(f"7. RSS {name}", "", "", f"{mb} MB")
    tr = res.get("triage")
    if tr:
        add("8. crisis triage.assess in process", tr["p50_ms"], tr["p99_ms"],
            f"n={tr['n']}, word cache emptied each time: p50 {tr['cold_p50_ms']} p99 {tr['cold_p99_ms']}; "
            f"lexicon load {tr['load_ms']} ms")
    widths = [max(len(r[i]) for r in rows + [("what", "p50 ms", "p99 ms", "")]) for i in range(3)]
    lines = [f"Relais bench ({res['mode']}, {res.get('database', 'sqlite')}) {res['date']}  cores={res['cores']}  "
             f"load before={res['load_before']} after={res['load_after']}  wall={res['wall_seconds']} s",
             f"{'what':<{widths[0]}}  {'p50 ms':>{widths[1]}}  {'p99 ms':>{widths[2]}}  other",
             "-" * (sum(widths) + 40)]
    lines += [f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}  {d}" for a, b, c, d in rows]
    lines += ["", "targets:"]
    for name, t in res["targets"].items():
        state = {True: "MET", False: "NOT MET", None: "n/a"}[t["met"]]
        note = f"  ({t['note']})" if t.get("note") else ""
        lines.append(f"  {state:<8} {name}: {t['value']} (limit {t['limit']}){note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the table, write var/bench/latest.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, 8 s of load: about two minutes, most of it Rasa loading")
    parser.add_argument("--skip-peer", action="store_true", help="leave out the peer (no training, no figures)")
    args = parser.parse_args(argv)
    # SIGTERM (e.g. from make or a CI timeout) unwinds through run()'s finally: the stack is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    res = run(args.quick, with_peer=not args.skip_peer)
    print(table(res))
    (OUT / "latest.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
    log(f"figures written to {OUT / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
