"""Every notebook in notebooks/ runs top to bottom, headless (nbclient), on the shipped corpus, offline.

The notebooks run in their numbered order on one fresh store, as a reviewer would use them.
Network access from the kernels is blocked by pointing every proxy variable at a closed port.
"""
from __future__ import annotations

import time

import nbformat
import pytest
from jupyter_support import NOTEBOOKS, PROTOCOL, with_parameters
from nbclient import NotebookClient

from review import Store

EXPECTED = ["01_search_and_dedup.ipynb", "02_screening.ipynb", "03_definitions.ipynb", "04_networks_and_maps.ipynb",
            "05_export_and_report.ipynb"]
ORDER = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
# a smaller map than the protocol's 1000 nodes keeps the test short; the code path is the same
EXTRA = {"04_networks_and_maps.ipynb": {"MAX_NODES": 200}}
pytestmark = pytest.mark.slow
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks")


def _outputs(nb, mime: str | None = None) -> list:
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    return [o for o in outs if mime is None or mime in o.get("data", {})]


def test_notebooks_are_numbered_and_parameterised():
    assert ORDER == EXPECTED
    for name in ORDER:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        assert not _outputs(nb), f"{name}: commit notebooks without outputs"
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and "PROTOCOL" in tagged[0].source, name


@pytest.mark.parametrize("name", ORDER)
def test_notebook_runs_offline_on_the_shipped_corpus(name, workspace, monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # the discard port: any web request fails at once
    for var in ("NO_PROXY", "no_proxy", "OPENALEX_API_KEY", "OPENALEX_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    store_path, out = workspace / "demo.sqlite", workspace / "out"
    path = with_parameters(NOTEBOOKS / name, workspace / name, PROTOCOL=str(PROTOCOL), STORE=str(store_path),
                           OUT=str(out), REVIEWER="nb-tester", **EXTRA.get(name, {}))
    nb = nbformat.read(path, as_version=4)
    t0 = time.monotonic()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workspace)}}).execute()
    print(f"{name}: {time.monotonic() - t0:.1f}s")
    assert not [o for o in _outputs(nb) if o.get("output_type") == "error"]
    with Store(store_path) as store:
        if name.startswith("01"):
            assert store.count_records() > 2000 and len(store.runs("search")) == 4
            assert store.runs("dedup") and store.query("SELECT COUNT(*) FROM dedup_pairs")[0][0] > 0
            assert len(_outputs(nb, WIDGET)) == 1  # the dedup review widget
        elif name.startswith("02"):
            assert store.current_decisions("prescreen")  # automatic criteria applied
            views = _outputs(nb, WIDGET)
            assert len(views) == 2  # screening widget, conflict view
            state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
            cards = [m["state"]["value"] for m in state.values()
                     if m["model_name"] == "HTMLModel" and 'class="rv-card"' in m["state"].get("value", "")]
            assert cards and "<mark class=" in cards[0]  # a record with highlighted terms
        elif name.startswith("03"):
            assert store.query("SELECT COUNT(*) FROM definitions")[0][0] > 0
            assert (out / "definitions" / "clusters.md").exists()
            assert _outputs(nb, "image/png")
        elif name.startswith("04"):
            art = store.artifact("network:cocitation")
            assert 0 < art["nodes"] <= 200 and art["links"] > 0 and art["clusters"]
            assert (out / "networks" / "cocitation.html").exists() and _outputs(nb, "image/png")
        elif name.startswith("05"):
            assert (out / "report.html").exists() and (out / "records.bib").exists()
            assert _outputs(nb, "image/svg+xml")
