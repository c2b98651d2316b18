"""Start nginx with the project's deploy/nginx.conf on a loopback port, for tests and benchmarks."""

import contextlib
import os
import shutil
import string
import subprocess
from pathlib import Path

from tests.servers import ROOT, free_port, wait_for_port

SITE_CONF = ROOT / "deploy" / "nginx.conf"
PURGE_MODULE = Path("/usr/lib/nginx/modules/ngx_http_cache_purge_module.so")
MAIN_CONF = """\
daemon off;
{user}
worker_processes {workers};
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
load_module {purge_module};
events {{ worker_connections 1024; }}
http {{
    # As Debian's /etc/nginx/nginx.conf sets them, so the site's file is tested as it is installed.
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/clinic.conf;
}}
"""


def site_conf(*, listen, purge_listen, upstream, cache_dir, access_log, error_log, balancer):
    """deploy/nginx.conf with its seven values filled in, as envsubst fills them in production."""
    template = string.Template(SITE_CONF.read_text())
    return template.safe_substitute(
        CLINIC_BALANCER=balancer,
        CLINIC_LISTEN=listen,
        CLINIC_PURGE_LISTEN=purge_listen,
        CLINIC_UPSTREAM=upstream,
        CLINIC_CACHE_DIR=cache_dir,
        CLINIC_ACCESS_LOG=access_log,
        CLINIC_ERROR_LOG=error_log,
    )


@contextlib.contextmanager
def nginx_cache(upstream, directory, *, workers=1, port=None, balancer="127.0.0.1"):
    """Serve ``upstream`` (host:port) through the shared cache on a loopback port.

    ``balancer`` is the address of the load balancer in front, whose X-Forwarded-For nginx trusts:
    this host's, so that a test (or a benchmark's load) can stand in for the balancer.
    Yields the base URLs of the site and of its purging address; its logs are ``access.log``,
    ``clinic-error.log`` (the site's errors) and ``error.log`` (nginx's own) in ``directory``.
    """
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists() or not PURGE_MODULE.exists():
        raise RuntimeError("The shared-cache tests need nginx and its purge module: make proxy")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    purge_port = free_port()
    (directory / "clinic.conf").write_text(
        site_conf(
            listen=f"127.0.0.1:{port}",
            purge_listen=f"127.0.0.1:{purge_port}",
            upstream=upstream,
            cache_dir=directory / "cache",
            access_log=directory / "access.log",
            error_log=directory / "clinic-error.log",
            balancer=balancer,
        )
    )
    (directory / "nginx.conf").write_text(
        MAIN_CONF.format(
            # As root, nginx's workers would drop to a user that cannot enter a private temporary folder.
            user="user root;" if os.geteuid() == 0 else "",
            workers=workers,
            directory=directory,
            purge_module=PURGE_MODULE,
        )
    )
    server = subprocess.Popen(
        [binary, "-c", str(directory / "nginx.conf"), "-p", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, server, "nginx")
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{purge_port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def upstream_servers(*addresses):
    """Several app servers (host:port each) as the one ``upstream`` value of ``nginx_cache``: the
    upstream block then lists one ``server`` line per address, as an operator with more than one
    app server writes it."""
    return "; server ".join(addresses)
