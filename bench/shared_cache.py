"""The public pages at the origin against /healthz, and through the shared cache against a static file.

    make bench-cache    (or: .venv/bin/python bench/shared_cache.py [--duration 6] [--rounds 3]
                         [--worker-class sync|gthread] [--threads N] [--config FILE]
                         [--origin-encoding gzip|identity] [--skip-origin])

Serves the site as production does (gunicorn with clinic/gunicorn.py, DEBUG off, collected static
files) from a scratch database with the clinic's content, and nginx with deploy/nginx.conf in front
of it, both on loopback. Two measurements, each in rounds, every page right after its baseline:

1. At the origin (gunicorn alone), at 4 and at 32 connections: the article, the library and the
   home page against /healthz (one query, no template). Reported: requests per second and p99,
   each as a ratio to the /healthz run beside it (the median of the rounds' ratios). The clients
   accept gzip, as browsers do and as the cache in front always asks (``--origin-encoding
   identity``: uncompressed pages, four times the article's bytes).
2. Through the shared cache, at 32 connections, gzip accepted as browsers do: the article (a
   cache hit) against the same nginx serving a static file of the same size.

Prints the figures, the targets and the machine's load average; exits non-zero on any error.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import LUA_COMMON, LUA_GET, wrk  # noqa: E402
from bench.scratch import scratch_database, server_env  # noqa: E402
from tests.nginx import nginx_cache  # noqa: E402
from tests.servers import free_port, get, gunicorn  # noqa: E402

HEALTHZ = "/healthz"
ARTICLE = "/learn/ketamine-for-bipolar-disorder/"
ORIGIN_PAGES = [ARTICLE, "/learn/", "/"]
STATIC_NAME = "same-size.html"
GZIP_HEADER = 'wrk.headers["Accept-Encoding"] = "gzip"\n'
# A second server in the same nginx: a plain file, for the through-the-cache baseline, logged as
# the site's pages are, and sent with the page's own header block (its security and caching
# headers, as the site's static files carry them too), so both responses are the same size.
STATIC_SERVER = """
server {{
    listen 127.0.0.1:{port};
    access_log {log} clinic_paths;
    gzip off;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=1000 inactive=60s;
    root {root};
    location / {{
{headers}
    }}
}}
"""
# Headers nginx writes for a file itself (or that only a proxied page has).
OWN_HEADERS = {"content-type", "content-length", "date", "server", "connection", "etag", "last-modified"}
OWN_HEADERS |= {"x-cache-status", "accept-ranges", "keep-alive"}


def header_lines(headers):
    return "\n".join(
        f'        add_header {name} "{value}";'
        for name, value in headers.items()
        if name.lower() not in OWN_HEADERS and '"' not in value
    )


def header_bytes(headers):
    return sum(len(f"{name}: {value}\r\n") for name, value in headers.items())


def rounds_of(base, path, baseline, script, *, rounds, options):
    """``rounds`` pairs of runs: the baseline, then the page."""
    pairs = []
    for _ in range(rounds):
        pairs.append((wrk(base + baseline, script, **options), wrk(base + path, script, **options)))
    return pairs


def summary(pairs):
    pages = [page for _baseline, page in pairs]
    errors = sum(
        sum(count for status, count in run["statuses"].items() if status != "200") + run["socket_errors"]
        for pair in pairs
        for run in pair
    )
    return {
        "rps": statistics.median(run["rps"] for run in pages),
        "p50": statistics.median(run["p50"] for run in pages),
        "p99": statistics.median(run["p99"] for run in pages),
        "rps_ratio": statistics.median(page["rps"] / base["rps"] for base, page in pairs),
        "p99_ratio": statistics.median(page["p99"] / base["p99"] for base, page in pairs),
        "worst_p99_ratio": max(page["p99"] / base["p99"] for base, page in pairs),
        "base_rps": statistics.median(base["rps"] for base, _page in pairs),
        "base_p99": statistics.median(base["p99"] for base, _page in pairs),
        "errors": errors,
    }


def line(label, result):
    return (
        f"{label:58} {result['rps']:8.0f} {result['p50']:7.1f} {result['p99']:7.1f}"
        f" | {result['base_rps']:8.0f} {result['base_p99']:7.1f} | {result['rps_ratio']:6.2f}x"
        f" {result['p99_ratio']:6.2f}x ({result['worst_p99_ratio']:.2f}x) {result['errors']:5d}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=6, help="seconds per run (default 6)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each page (default 3)")
    cores = os.cpu_count() or 1
    parser.add_argument("--workers", type=int, default=2 * cores + 1, help="gunicorn workers (2 × cores + 1)")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker (default 1)")
    parser.add_argument(
        "--config", default="python:clinic.gunicorn", help="gunicorn settings (default: production's)"
    )
    parser.add_argument(
        "--origin-encoding",
        default="gzip",
        choices=["gzip", "identity"],
        help="what the origin's clients accept (default gzip, as browsers and the cache in front ask)",
    )
    parser.add_argument(
        "--skip-origin", action="store_true", help="measure through the shared cache only (quicker)"
    )
    args = parser.parse_args()
    threads = min(cores, 4)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, scratch_database("clinic_bench_cache") as database_url:
        folder = Path(tmp)
        env = server_env(folder, database_url, cache_prefix=f"bench-cache-{os.getpid()}")
        plain = folder / "get.lua"
        plain.write_text(LUA_COMMON + LUA_GET)
        gzipped = folder / "get-gzip.lua"
        gzipped.write_text(GZIP_HEADER + LUA_COMMON + LUA_GET)
        origin_script = gzipped if args.origin_encoding == "gzip" else plain
        server_args = [
            *("--config", args.config, "--access-logfile", str(folder / "access.log")),
            *("--error-logfile", str(folder / "gunicorn.log"), "--capture-output"),
            *("--worker-class", args.worker_class, "--threads", str(args.threads)),
        ]
        origin = {}
        with gunicorn(env, workers=args.workers, extra_args=server_args) as base:
            for connections in () if args.skip_origin else (4, 32):
                options = {"duration": args.duration, "connections": connections, "threads": threads}
                for path in [HEALTHZ, *ORIGIN_PAGES]:
                    wrk(base + path, origin_script, **{**options, "duration": 2})
                for path in ORIGIN_PAGES:
                    origin[connections, path] = summary(
                        rounds_of(base, path, HEALTHZ, origin_script, rounds=args.rounds, options=options)
                    )

            upstream = base.removeprefix("http://")
            with nginx_cache(upstream, folder / "nginx", workers=1) as (proxy, _purge):
                status, headers, body = get(proxy + ARTICLE, headers={"Accept-Encoding": "gzip"})
                assert status == 200 and headers["Content-Encoding"] == "gzip", status
                static_root = folder / "static-site"
                static_root.mkdir()
                (static_root / STATIC_NAME).write_bytes(body)
                static_port = free_port()
                with (folder / "nginx" / "clinic.conf").open("a") as conf:
                    conf.write(
                        STATIC_SERVER.format(
                            port=static_port,
                            root=static_root,
                            log=folder / "static.log",
                            headers=header_lines(headers),
                        )
                    )
                os.kill(int((folder / "nginx" / "nginx.pid").read_text()), 1)  # reload: SIGHUP
                static_base = f"http://127.0.0.1:{static_port}"
                # A reload on a busy machine can take a while.
                for _ in range(100):
                    try:
                        if get(static_base + "/" + STATIC_NAME)[0] == 200:
                            break
                    except OSError:
                        time.sleep(0.1)
                _status, file_headers, file_body = get(static_base + "/" + STATIC_NAME)
                sizes = {
                    "article": (header_bytes(headers), len(body)),
                    "file": (header_bytes(file_headers), len(file_body)),
                }
                options = {"duration": args.duration, "connections": 32, "threads": threads}
                wrk(proxy + ARTICLE, gzipped, **{**options, "duration": 2})
                pairs = []
                for _ in range(args.rounds):
                    pairs.append(
                        (
                            wrk(static_base + "/" + STATIC_NAME, gzipped, **options),
                            wrk(proxy + ARTICLE, gzipped, **options),
                        )
                    )
                cached = summary(pairs)
        restarts = (folder / "gunicorn.log").read_text(errors="replace").count("Booting worker")

    print(
        f"gunicorn: {args.workers} {args.worker_class} workers × {args.threads} threads; wrk {threads} threads,"
        f" {args.rounds} × {args.duration} s per page, each run right after its baseline's; {cores} cores;"
        f" at the origin, Accept-Encoding: {args.origin_encoding}"
    )
    print("load average (1, 5, 15 min) at the start: " + ", ".join(f"{value:.2f}" for value in load_before))
    print(f"load average at the end: {os.getloadavg()[0]:.2f}; workers started: {restarts}")
    print(
        f"{'':58} {'req/s':>8} {'p50':>7} {'p99 ms':>7} | {'base r/s':>8} {'p99 ms':>7}"
        " | req/s, p99 ÷ baseline's (worst) errors"
    )
    failures = []
    for (connections, path), result in origin.items():
        print(line(f"origin, {connections:2d} conn, {path} vs /healthz", result))
        failures += [f"{path} at {connections}: errors"] if result["errors"] else []
    print(line(f"shared cache, 32 conn, {ARTICLE} vs file", cached))
    for name, (head, body) in sizes.items():
        print(f"  {name} through nginx: {head} bytes of headers, {body} bytes of gzipped body")
    failures += ["through the cache: errors"] if cached["errors"] else []
    print("targets:")
    for (connections, path), result in origin.items():
        verdict = "met" if result["p99_ratio"] <= 2 else "NOT met"
        print(
            f"  p99 within 2x of /healthz's, {path}, {connections} conn: {result['p99_ratio']:.2f}x"
            f" (worst round {result['worst_p99_ratio']:.2f}x), {verdict}"
        )
    verdict = "met" if cached["rps_ratio"] >= 0.9 else "NOT met"
    print(f"  through the cache, article >= 0.9x the static file: {cached['rps_ratio']:.2f}x, {verdict}")
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
