"""Load on the production server: the public pages and form submissions, against a baseline.

    make load    (or: .venv/bin/python bench/load.py [--duration 15] [--rounds 3] [--connections 32]
                                                     [--workers N])

Serves the site as production does (gunicorn with production's settings, DEBUG off, collected
static files) on loopback, from a scratch database with the clinic's content, with the bench
settings: the site's own URLs plus /bench/baseline/, a minimal view that renders a small
template after one query. wrk then drives the seed article, the library, the booking's first
step (GET) and Send (POST), all at the same concurrency, in rounds: in each round every page runs
for a slice of its time right after a slice of the baseline. Other work on the machine comes
and goes; each page is compared with the baseline runs measured beside it.

Send needs a booking draft whose steps are all answered. One draft is made through the steps as
a browser makes it; thousands of copies are then written to the database, each with its own
token (the browser's signed draft cookie, signed here with the server's key) and its own
one-time form token, so that every POST of wrk sends a different patient's booking. Each POST
carries the CSRF cookie and token from a real GET of the first step. One POST in ten resends an
earlier draft, as a double click does: that draft is gone with its request, so nothing new may
be stored. Afterwards the database is checked against the responses: every request confirmed by
a redirect is stored exactly once.

Prints requests per second (over all rounds), p50 and p99 latency (the median of the rounds'),
errors, each page's requests per second as a ratio to its baseline runs', and Send's bound: at
least 50 a second. Exits non-zero when a request failed or a confirmed submission is missing or
duplicated; a figure below the bound is reported, not failed (the machine may be busy).
"""

import argparse
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import psycopg2
from django.core import signing

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.consultation_submit import STEPS, answers  # noqa: E402
from bench.scratch import NO_RATE_LIMITS, scratch_database, server_env  # noqa: E402
from tests.servers import SECRET_KEY, get, gunicorn  # noqa: E402

BASELINE = "/bench/baseline/"
ARTICLE = "/learn/ketamine-for-bipolar-disorder/"
LIBRARY = "/learn/"
STEP = "/consultation/you/"
SEND = "/consultation/check/"
DRAFT_COOKIE = "booking_draft"
DRAFT_COOKIE_SALT = "appointments.booking-draft"
DRAFTS_PER_RUN = 4000
RESUBMIT_EVERY = 10
# The bound: Send at least 50 a second, every request stored exactly once (a clinic's busiest hour
# is a few hundred bookings). The pages' own bounds are bench/shared_cache.py's.
TARGET_SUBMISSIONS = 50

# Shared by both scripts: per-thread counters that done() gathers and prints as one JSON line.
LUA_COMMON = r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local function gather(name)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, value in pairs(thread:get(name) or {}) do
      if type(key) == "number" then table.insert(total, value)
      else total[key] = (total[key] or 0) + value end
    end
  end
  return total
end

local function json_list(items)
  local quoted = {}
  for _, item in ipairs(items) do table.insert(quoted, '"' .. item .. '"') end
  return "[" .. table.concat(quoted, ",") .. "]"
end

local function json_counts(counts)
  local parts = {}
  for key, value in pairs(counts) do table.insert(parts, '"' .. key .. '":' .. value) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,' ..
    '"statuses":%s,"sent":%s,"locations":%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout,
    json_counts(gather("statuses")), json_counts(gather("sent")), json_list(gather("locations"))))
end
"""

LUA_GET = r"""
function init(args)
  statuses, sent, locations = {}, {}, {}
end

function response(status, headers, body)
  statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
end
"""

LUA_POST = r"""
local PATH, CSRF_COOKIE, BODY, RESUBMIT_EVERY, RESUBMIT_DISTANCE, THREADS = %s
local DRAFTS = %s

function init(args)
  statuses, locations = {}, {}
  sent = {new = 0, resubmits = 0}
  used, count, next_draft = {}, 0, id
end

function request()
  count = count + 1
  local draft
  if (count %% RESUBMIT_EVERY == 0 and #used > RESUBMIT_DISTANCE) or next_draft > #DRAFTS then
    draft = used[#used - RESUBMIT_DISTANCE] or DRAFTS[id]
    sent.resubmits = sent.resubmits + 1
  else
    draft = DRAFTS[next_draft]
    next_draft = next_draft + THREADS
    table.insert(used, draft)
    sent.new = sent.new + 1
  end
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = CSRF_COOKIE .. "; booking_draft=" .. draft[1],
  }
  return wrk.format("POST", PATH, headers, BODY .. draft[2])
end

function response(status, headers, body)
  statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  local location = headers["Location"]
  local token = location and location:match("/received/([%%w_-]+)/")
  if status == 302 and token then table.insert(locations, token) end
end
"""


def lua_string(value):
    return "[==[" + value + "]==]"


def wrk(url, script, *, duration, connections, threads):
    result = subprocess.run(
        [
            "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
            "-s", str(script), url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    )  # fmt: skip
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    data = json.loads(line.removeprefix("RESULT "))
    seconds = data["duration_us"] / 1e6
    return {
        "rps": data["requests"] / seconds,
        "seconds": seconds,
        "p50": data["p50_us"] / 1000,
        "p99": data["p99_us"] / 1000,
        "requests": data["requests"],
        "statuses": data["statuses"],
        "socket_errors": data["socket_errors"],
        "sent": data["sent"],
        "locations": data["locations"],
    }


def combine(results):
    """Several runs of one page as one: requests per second over them all, the median p50 and p99."""
    requests = sum(result["requests"] for result in results)
    seconds = sum(result["seconds"] for result in results)
    statuses, sent = {}, {}
    for result in results:
        for totals, counts in ((statuses, result["statuses"]), (sent, result["sent"])):
            for key, count in counts.items():
                totals[key] = totals.get(key, 0) + count
    return {
        "rps": requests / seconds,
        "p50": statistics.median(result["p50"] for result in results),
        "p99": statistics.median(result["p99"] for result in results),
        "statuses": statuses,
        "sent": sent,
        "locations": [location for result in results for location in result["locations"]],
        "runs": results,
    }


def form_session(base):
    """A CSRF cookie and the CSRF token the first step carries with it, from a real GET of it."""
    status, headers, body = get(base + STEP)
    assert status == 200, f"GET {STEP} answered {status}"
    cookie = next(
        value.split(";")[0] for value in headers.get_all("Set-Cookie") if value.startswith("csrftoken=")
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode()).group(1)
    return cookie, token


def one_booking_draft(base):
    """Walk the steps up to Send as a browser does; return the draft's token (from its cookie)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + STEP, timeout=30).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    for name, path in STEPS[:-1]:
        body = urllib.parse.urlencode({**answers(0)[name], "csrfmiddlewaretoken": csrf}).encode()
        opener.open(
            urllib.request.Request(base + path, data=body, headers={"Referer": base + path}), timeout=30
        )
    signed = next(cookie.value for cookie in jar if cookie.name == DRAFT_COOKIE)
    return signed.split(":")[0]


def booking_drafts(database_url, template_token, prefix, count):
    """``count`` copies of the template draft, each with its own tokens; return [(cookie, form token)]."""
    connection = psycopg2.connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO appointments_bookingdraft (token, form_token, answers, source_article_slug,"
                " reports_self_harm, has_contact_details, language, time_zone, created_at, updated_at,"
                " expires_at)"
                " SELECT %(prefix)s || 'd' || lpad(n::text, 9, '0'), %(prefix)s || 't' || lpad(n::text, 9, '0'),"
                " answers, '', false, true, language, time_zone, now(), now(), now() + interval '1 day'"
                " FROM appointments_bookingdraft, generate_series(1, %(count)s) AS n WHERE token = %(template)s",
                {"prefix": prefix, "count": count, "template": template_token},
            )
    finally:
        connection.close()
    # The browser's cookie: the token signed as Django's set_signed_cookie signs it, with the server's key.
    signer = signing.TimestampSigner(
        key=b"django.http.cookies" + SECRET_KEY.encode(),
        salt=DRAFT_COOKIE + DRAFT_COOKIE_SALT,
        fallback_keys=[],
    )
    return [(signer.sign(f"{prefix}d{n:09d}"), f"{prefix}t{n:09d}") for n in range(1, count + 1)]


def post_script(folder, base, database_url, template_token, prefix, connections, threads):
    cookie, csrf = form_session(base)
    drafts = booking_drafts(database_url, template_token, prefix, DRAFTS_PER_RUN)
    body = urllib.parse.urlencode({**answers(0)["send"], "csrfmiddlewaretoken": csrf}) + "&form_token="
    settings = ", ".join(
        [lua_string(SEND), lua_string(cookie), lua_string(body)]
        # Resend a draft from further back than the thread's connections can have in flight.
        + [str(RESUBMIT_EVERY), str(connections // threads), str(threads)]
    )
    table = "{" + ",".join(f"{{{lua_string(c)},{lua_string(t)}}}" for c, t in drafts) + "}"
    script = folder / f"post-{prefix}.lua"
    script.write_text(LUA_COMMON + LUA_POST % (settings, table))
    return script


def stored_requests(database_url, prefix):
    """(form token, confirmation token) of every request the run stored."""
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT form_token, confirmation_token FROM appointments_consultationrequest"
                " WHERE form_token LIKE %s",
                [prefix + "%"],
            )
            return cursor.fetchall()
    finally:
        connection.close()


def check_submissions(result, rows, connections):
    """Compare the responses with the rows; return (report lines, problems)."""
    confirmed = result["locations"]
    stored = {confirmation for _form, confirmation in rows}
    form_tokens = [form for form, _confirmation in rows]
    problems = []
    missing = set(confirmed) - stored
    if missing:
        problems.append(f"{len(missing)} confirmed requests are not in the database")
    if len(form_tokens) != len(set(form_tokens)) or len(stored) != len(rows):
        problems.append("a submission was stored more than once")
    if len(rows) > result["sent"].get("new", 0):
        problems.append("more requests stored than distinct submissions sent")
    in_flight = len(rows) - len(set(confirmed))
    if in_flight > connections:
        problems.append(f"{in_flight} stored requests had no response")
    lines = [
        f"submissions: {result['sent'].get('new', 0)} new and {result['sent'].get('resubmits', 0)} resent "
        f"(double clicks of a sent draft); {len(confirmed)} answered with a redirect to their request",
        f"  {len(set(confirmed))} distinct requests confirmed, {len(rows)} stored: every confirmed request "
        f"stored {'exactly once' if not missing and len(stored) == len(rows) else 'NOT exactly once'}; "
        f"{max(in_flight, 0)} stored while their response was in flight when wrk stopped",
    ]
    return lines, problems


def errors_of(result, expected):
    wrong = sum(count for status, count in result["statuses"].items() if status != expected)
    return wrong + result["socket_errors"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per page in all (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds the time is split into (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    cores = os.cpu_count() or 1
    parser.add_argument("--workers", type=int, default=2 * cores + 1, help="gunicorn workers (2 × cores + 1)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per page (default 2)")
    args = parser.parse_args()
    slice_seconds = max(1, round(args.duration / args.rounds))
    options = {"duration": slice_seconds, "connections": args.connections, "threads": min(cores, 4)}

    run = uuid.uuid4().hex[:8]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, scratch_database("clinic_bench_load") as database_url:
        folder = Path(tmp)
        env = server_env(
            folder,
            database_url,
            cache_prefix=f"bench-load-{run}",
            DJANGO_SETTINGS_MODULE="bench.settings",
            **NO_RATE_LIMITS,
        )
        get_script = folder / "get.lua"
        get_script.write_text(LUA_COMMON + LUA_GET)
        log = folder / "gunicorn.log"
        server_args = [
            # Production's gunicorn settings (access log, timeouts, worker recycling) ...
            *("--config", "python:clinic.gunicorn", "--access-logfile", str(folder / "access.log")),
            # ... with worker output in a file: a pipe nobody reads would stall the server once full.
            *("--error-logfile", str(log), "--capture-output"),
        ]
        with gunicorn(env, workers=args.workers, extra_args=server_args) as base:
            warm = {**options, "duration": args.warmup}
            for path in (BASELINE, ARTICLE, LIBRARY, STEP):
                wrk(base + path, get_script, **warm)
            template = one_booking_draft(base)
            wrk(
                base + SEND,
                post_script(
                    folder, base, database_url, template, f"warm{run}", args.connections, options["threads"]
                ),
                **warm,
            )

            prefix = f"bench{run}"
            pages = [("GET", ARTICLE), ("GET", LIBRARY), ("GET", STEP), ("POST", SEND)]
            # Other work on the machine comes and goes: in every round each page runs right after
            # a run of the baseline, and each page is compared with the baseline runs beside it.
            runs = {page: [] for page in pages}
            baselines = {page: [] for page in pages}
            for number in range(args.rounds):
                for method, path in pages:
                    baselines[method, path].append(wrk(base + BASELINE, get_script, **options))
                    if method == "POST":
                        script = post_script(
                            folder,
                            base,
                            database_url,
                            template,
                            f"{prefix}r{number}",
                            args.connections,
                            options["threads"],
                        )
                    else:
                        script = get_script
                    runs[method, path].append(wrk(base + path, script, **options))
        rows = stored_requests(database_url, prefix)
        server_log = log.read_text(errors="replace")

    print(
        f"Load on 127.0.0.1: gunicorn, {args.workers} sync workers; wrk, {options['threads']} threads, "
        f"{args.connections} connections; each page {args.rounds} × {slice_seconds} s, each after "
        f"{slice_seconds} s of the baseline; {cores} cores"
    )
    print(f"load average (1 min) when the run started: {load_before:.2f}")
    print("req/s: all requests over all rounds; p50, p99: the median of the rounds'")
    print(f"{'':42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'× baseline':>11}")
    every_baseline = [result for results in baselines.values() for result in results]
    rows_out = [("GET", BASELINE + " (baseline)", combine(every_baseline), None)]
    failures = []
    ratios = {}
    for page, results in runs.items():
        measured = combine(results)
        ratios[page] = measured["rps"] / combine(baselines[page])["rps"]
        rows_out.append((*page, measured, ratios[page]))
    for method, path, measured, ratio in rows_out:
        expected = "302" if method == "POST" else "200"
        errors = sum(errors_of(result, expected) for result in measured["runs"])
        if errors:
            failures.append(f"{method} {path}: {errors} errors {measured['statuses']}")
        shown = f"{ratio:10.2f}x" if ratio is not None else ""
        print(
            f"{method + ' ' + path:42} {measured['rps']:8.1f} {measured['p50']:8.1f} "
            f"{measured['p99']:8.1f} {errors:7d} {shown}"
        )
    print("baseline, req/s by run: " + ", ".join(f"{result['rps']:.0f}" for result in every_baseline))
    results = [(method, path, combine(runs[method, path])) for method, path in pages]
    submissions = results[-1][2]
    lines, problems = check_submissions(submissions, rows, args.connections * args.rounds)
    print("\n".join(lines))
    failures += problems

    verdict = "met" if submissions["rps"] >= TARGET_SUBMISSIONS and not problems else "NOT met"
    print(
        f"bound: Send at least {TARGET_SUBMISSIONS} a second, every request stored exactly once: "
        f"{submissions['rps']:.1f}/s, {verdict}"
    )
    if failures:
        print("FAILED: " + "; ".join(failures))
        if server_log.strip():
            print("server log (last lines):\n" + "\n".join(server_log.splitlines()[-30:]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
