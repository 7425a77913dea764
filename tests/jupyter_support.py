"""Helpers for the notebook and browser tests: notebook parameters, a JupyterLab server, a demo store."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PROTOCOL = ROOT / "protocols" / "demo.toml"
ARTIFACTS = ROOT / "test-artifacts"


def with_parameters(notebook: Path, out: Path, **params: object) -> Path:
    """Copy a notebook, appending ``NAME = value`` lines to its cell tagged ``parameters`` (papermill style)."""
    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{notebook.name}: expected one cell tagged 'parameters'"
    cells[0].source += "\n# set by the test\n" + "".join(f"{k} = {v!r}\n" for k, v in params.items())
    nbformat.write(nb, out)
    return out


_SEARCHED: Path | None = None


def searched_demo_store(dest: Path) -> Path:
    """A store with the demo protocol's offline searches done (built once per test process, then copied)."""
    global _SEARCHED
    import tempfile

    from review import Store, load_protocol
    from review.stages import search

    if _SEARCHED is None or not _SEARCHED.exists():
        path = Path(tempfile.mkdtemp(prefix="review-demo-")) / "demo.sqlite"
        protocol = load_protocol(PROTOCOL)
        with Store(path) as store:
            store.add_protocol(protocol.hash, protocol.text, str(PROTOCOL))
            search.run(store, protocol, progress=False)
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _SEARCHED = path
    shutil.copy(_SEARCHED, dest)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_lab(root: Path, home: Path, timeout: float = 90) -> Iterator[tuple[str, str]]:
    """Run ``jupyter lab`` on 127.0.0.1 serving ``root``; yields ``(base_url, token)``.

    Offline and isolated: a temporary HOME and Jupyter config/data/runtime dirs, no news, no
    update check, read-only extension manager, no browser opened.
    """
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
           "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab-workspaces"), "IPYTHONDIR": str(home / ".ipython"),
           "JUPYTER_PLATFORM_DIRS": "1", "PYTHONUNBUFFERED": "1"}
    # no "receive news?" prompt
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    cmd = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.open_browser=False", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.terminals_enabled=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    log = open(home / "jupyter.log", "wb")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log_text = (home / "jupyter.log").read_text()[-2000:]
                raise RuntimeError(f"jupyter lab exited with {proc.returncode}: {log_text}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer within {timeout}s")
            time.sleep(0.3)
        yield base, token
    finally:
        # the server's process group: the server and the kernels it started
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
