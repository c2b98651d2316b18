"""Scan the production-configured site's headers with Mozilla's HTTP Observatory rules, offline.

    make observatory        (or: .venv/bin/python bench/observatory.py)

Serves the site as production does (gunicorn, DEBUG off, collected static files) on
127.0.0.1: HTTPS on port 443 with a throwaway self-signed certificate that the scanner is
told to trust, and plain HTTP on port 80, which must redirect to HTTPS. Needs root for the
two ports. Prints the score, the grade and every rule's result.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers import ROOT, SECRET_KEY, collectstatic, gunicorn, production_env  # noqa: E402

BENCH = ROOT / "bench"
SCANNER = BENCH / "node_modules" / "@mdn" / "mdn-http-observatory"

SCAN_JS = """
import { scan } from "%s/src/scanner/index.js";
const result = await scan("127.0.0.1");
const tests = Object.fromEntries(Object.entries(result.tests).map(
  ([name, t]) => [name, {pass: t.pass, result: t.result, scoreModifier: t.scoreModifier}]));
console.log(JSON.stringify({scan: result.scan, tests}));
"""


def install_scanner():
    if not SCANNER.exists():
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=BENCH, check=True)
    # The HSTS preload list would be downloaded; offline, nothing is preloaded.
    (SCANNER / "conf" / "hsts-preload.json").write_text("{}")


def make_certificate(folder):
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def main():
    install_scanner()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cert, key = make_certificate(folder)
        env = production_env(
            SECRET_KEY=SECRET_KEY, ALLOWED_HOSTS="127.0.0.1", STATIC_ROOT=str(folder / "static")
        )
        collectstatic(env, folder / "static")
        tls = ("--certfile", str(cert), "--keyfile", str(key))
        with gunicorn(env, port=443, extra_args=tls), gunicorn(env, port=80):
            script = folder / "scan.mjs"
            script.write_text(SCAN_JS % SCANNER.as_posix())
            result = subprocess.run(
                ["node", str(script)],
                env={"PATH": "/usr/bin:/bin", "NODE_EXTRA_CA_CERTS": str(cert)},
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
    report = json.loads(result.stdout)
    for name, test in sorted(report["tests"].items()):
        mark = "pass" if test["pass"] else "FAIL"
        print(f"{mark:4}  {test['scoreModifier']:+4d}  {name}: {test['result']}")
    summary = report["scan"]
    print(f"\nHTTP Observatory score {summary['score']}, grade {summary['grade']}")
    print(f"{summary['testsPassed']} of {summary['testsQuantity']} rules passed")
    return 0 if summary["grade"] == "A+" else 1


if __name__ == "__main__":
    sys.exit(main())
