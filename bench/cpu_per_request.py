"""What one request costs the machine's CPU under load: Send against the baseline, in one run.

    .venv/bin/python bench/cpu_per_request.py [--duration 10] [--connections 32] [--rounds 2]

On a machine whose cores are busy, the CPU a request costs sets how many are served a second.
This serves the site as `make load` does (gunicorn with production's settings, a scratch
database, the bench settings' baseline page), drives the baseline page and then Send with wrk,
and reads from /proc how much CPU time the server's processes used meanwhile: gunicorn's
(Python), PostgreSQL's and Redis's, each divided by the requests served. wrk's own time is not
counted. Each round measures the baseline right before Send; the ratio of their CPU per request
is the ratio of requests a second the machine could serve of each, whatever else it was doing.

Use it to see what a change to Send is worth before `make load` (which is slower and counts
requests, not CPU): a part switched off for a run shows its share.
"""

import argparse
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import (  # noqa: E402
    BASELINE,
    LUA_COMMON,
    LUA_GET,
    SEND,
    STEP,
    one_booking_draft,
    post_script,
    wrk,
)
from bench.scratch import NO_RATE_LIMITS, scratch_database, server_env  # noqa: E402
from tests.servers import gunicorn  # noqa: E402

GROUPS = ("gunicorn", "postgres", "redis")


def cpu_seconds_by_group():
    """CPU seconds (user + system) used so far by the processes of each group, by command line."""
    ticks = dict.fromkeys(GROUPS, 0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # Gone meanwhile.
        group = next((name for name in GROUPS if name in command), None)
        if group is not None:
            fields = stat.rsplit(")", 1)[1].split()
            ticks[group] += int(fields[11]) + int(fields[12])  # utime, stime
    return {group: count / os.sysconf("SC_CLK_TCK") for group, count in ticks.items()}


def measured(url, script, options):
    """wrk's result, with the CPU milliseconds each group spent per request meanwhile."""
    before = cpu_seconds_by_group()
    result = wrk(url, script, **options)
    after = cpu_seconds_by_group()
    result["cpu_ms"] = {group: 1000 * (after[group] - before[group]) / result["requests"] for group in GROUPS}
    result["cpu_ms_total"] = sum(result["cpu_ms"].values())
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per page per round (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (default 2)")
    cores = os.cpu_count() or 1
    parser.add_argument("--workers", type=int, default=2 * cores + 1, help="gunicorn workers (2 × cores + 1)")
    args = parser.parse_args()
    options = {"duration": args.duration, "connections": args.connections, "threads": min(cores, 2)}

    run = uuid.uuid4().hex[:8]
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, scratch_database("clinic_bench_cpu") as database_url:
        folder = Path(tmp)
        env = server_env(
            folder,
            database_url,
            cache_prefix=f"bench-cpu-{run}",
            DJANGO_SETTINGS_MODULE="bench.settings",
            **NO_RATE_LIMITS,
        )
        get_script = folder / "get.lua"
        get_script.write_text(LUA_COMMON + LUA_GET)
        server_args = ["--config", "python:clinic.gunicorn", "--access-logfile", os.devnull]
        with gunicorn(env, workers=args.workers, extra_args=server_args) as base:
            warm = {**options, "duration": 2}
            wrk(base + BASELINE, get_script, **warm)
            wrk(base + STEP, get_script, **warm)
            template = one_booking_draft(base)

            def drafts(prefix):
                return post_script(
                    folder, base, database_url, template, prefix, args.connections, options["threads"]
                )

            wrk(base + SEND, drafts(f"benchcpuwarm{run}"), **warm)
            for number in range(args.rounds):
                send_script = drafts(f"benchcpu{run}r{number}")
                baseline = measured(base + BASELINE, get_script, options)
                send = measured(base + SEND, send_script, options)
                rows.append((baseline, send))

    print(
        f"CPU per request on 127.0.0.1: gunicorn, {args.workers} sync workers; wrk, {options['threads']} "
        f"threads, {args.connections} connections, {args.duration} s a page a round; {cores} cores; "
        f"load average (1 min) at the start: {load_before:.2f}"
    )
    print(
        f"{'':26} {'req/s':>8} " + " ".join(f"{group + ' ms':>12}" for group in GROUPS) + f" {'total ms':>9}"
    )
    ratios = []
    for number, (baseline, send) in enumerate(rows, start=1):
        for name, result in ((f"round {number}: baseline", baseline), (f"round {number}: Send", send)):
            cells = " ".join(f"{result['cpu_ms'][group]:12.2f}" for group in GROUPS)
            print(f"{name:26} {result['rps']:8.1f} {cells} {result['cpu_ms_total']:9.2f}")
        ratios.append(baseline["cpu_ms_total"] / send["cpu_ms_total"])
        if set(send["statuses"]) != {"302"}:
            print(f"  Send answered {send['statuses']}: not every POST was a booking sent")
    print(
        f"Send costs {1 / statistics.median(ratios):.2f}× the baseline's CPU: the machine could serve "
        f"{statistics.median(ratios):.2f}× as many Sends as baseline pages (median of the rounds; target 0.25×)"
    )


if __name__ == "__main__":
    main()
