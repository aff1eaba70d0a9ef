"""``--tls-cert`` and ``--tls-key`` serve the page over HTTPS with a Secure cookie; a bind
beyond loopback without them says that PINs and data would cross the network in clear."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import urllib3

from tests.browser import free_port, start_monitor, stop
from tests.page_client import add_users, run_monitor

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def self_signed(folder):
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_the_page_is_served_over_https_and_its_cookie_is_secure(tmp_path):
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    cert, key = self_signed(tmp_path)
    data_dir = tmp_path / "data"
    add_users(data_dir, ("sam", "specialist", "2468"))
    port = free_port()
    process = start_monitor(
        ["run", "--serial", "loop://", "--port", str(port), "--data-dir", str(data_dir),
         "--tls-cert", str(cert), "--tls-key", str(key)],
        tmp_path / "server.log",
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = requests.get(url, verify=str(cert), timeout=5)
                break
            except requests.exceptions.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.3)
        assert page.status_code == 200
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=5)  # no plain HTTP beside it
        deps = requests.get(url + "_dash-dependencies", verify=str(cert), timeout=5).json()
        key_ = next(d["output"] for d in deps if d["output"] == "user-area.children")
        spec = next(d for d in deps if d["output"] == key_)
        values = {"login-submit": 1, "login-user": "sam", "login-pin": "2468"}
        body = {
            "output": key_,
            "outputs": {"id": "user-area", "property": "children"},
            "inputs": [{"id": d["id"], "property": d["property"], "value": values.get(d["id"])}
                       for d in spec["inputs"]],
            "state": [{"id": d["id"], "property": d["property"], "value": values.get(d["id"])}
                      for d in spec["state"]],
            "changedPropIds": ["login-submit.n_clicks"],
        }  # fmt: skip
        signed = requests.post(
            url + "_dash-update-component", json=body, verify=str(cert), timeout=10
        )
        cookie = signed.headers["Set-Cookie"]
        assert "sam (specialist)" in signed.text
        assert "Secure" in [part.strip() for part in cookie.split(";")]
    finally:
        stop(process)


def test_a_bind_beyond_loopback_without_tls_names_the_missing_tls(tmp_path):
    process, _url, _data_dir = run_monitor(tmp_path, "--host", "0.0.0.0")
    stop(process)
    warning = next(
        line for line in (tmp_path / "server.log").read_text().splitlines()
        if line.startswith("warning:")
    )  # fmt: skip
    assert "Without TLS (--tls-cert, --tls-key)" in warning and "unencrypted" in warning


def test_a_certificate_without_its_key_is_refused_in_one_sentence(tmp_path):
    cert, _key = self_signed(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "run", "--serial", "loop://", "--data-dir",
         str(tmp_path / "data"), "--tls-cert", str(cert)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "Give both --tls-cert and --tls-key to serve the page over HTTPS."
    )
    assert "Traceback" not in done.stderr
