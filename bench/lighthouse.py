"""Lighthouse (mobile preset) against the production-configured server.

    make lighthouse        (or: .venv/bin/python bench/lighthouse.py [PATH ...])

Serves the site as production does (gunicorn, DEBUG off, collected and compressed static files)
on loopback, with the clinic's content loaded into a scratch database, and reports performance,
accessibility, best practices and SEO, plus each page's total transfer size.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import scratch_database, server_env  # noqa: E402
from tests.servers import ROOT, gunicorn  # noqa: E402

BENCH = ROOT / "bench"
LIGHTHOUSE = BENCH / "node_modules" / ".bin" / "lighthouse"
# Every public page kind, and the Spanish home and article.
PAGES = [
    "/",
    "/learn/",
    "/learn/ketamine-for-bipolar-disorder/",
    "/costs/",
    "/what-to-expect/",
    "/privacy/",
    "/consultation/",
    "/es/",
    "/es/learn/ketamine-for-bipolar-disorder/",
]
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)


def install_lighthouse():
    if not LIGHTHOUSE.exists():
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=BENCH, check=True)


def audit(url, folder, attempts=3):
    output = folder / "report.json"
    for attempt in range(1, attempts + 1):
        # Lighthouse now and then fails to record the page load's trace (NO_NAVSTART) and asks to be
        # run again: the page is audited again, up to ``attempts`` times in all.
        finished = subprocess.run(
            [
                str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={output}",
                f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={CHROME_FLAGS}",
            ],
            env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"},
            check=attempt == attempts,
            timeout=300,
        )  # fmt: skip
        if finished.returncode == 0:
            break
        print(f"Lighthouse failed on {url} (attempt {attempt} of {attempts}); running it again.")
    report = json.loads(output.read_text())
    scores = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    transfer = report["audits"]["total-byte-weight"]["numericValue"]
    failing = [
        audit_id
        for category in CATEGORIES
        for ref in report["categories"][category]["auditRefs"]
        if ref["weight"] and (audit_id := ref["id"]) and (report["audits"][audit_id]["score"] or 0) < 1
    ]
    return scores, transfer, failing


def main(paths):
    install_lighthouse()
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as database_url:
        folder = Path(tmp)
        # A key space of its own: pages another server stored from another database are not served.
        env = server_env(folder, database_url, cache_prefix=f"bench-lighthouse-{os.getpid()}")
        rows = []
        with gunicorn(env, workers=2) as base:
            for path in paths:
                scores, transfer, failing = audit(base + path, folder)
                rows.append((path, scores, transfer, failing))
    print(f"{'page':42} {'perf':>5} {'a11y':>5} {'best':>5} {'seo':>5} {'transfer':>10}")
    for path, scores, transfer, failing in rows:
        values = " ".join(f"{scores[name]:5d}" for name in CATEGORIES)
        print(f"{path:42} {values} {transfer / 1024:8.1f} KB")
        if failing:
            print(f"    below 100: {', '.join(failing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or PAGES))
