"""`make docs`: the API reference is generated from the docstrings (pdoc), for every public module."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_make_docs_writes_the_api_reference(tmp_path):
    result = subprocess.run(["make", "docs", f"OUT={tmp_path}", f"PYTHON={sys.executable}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    docs = tmp_path / "docs"
    assert (docs / "index.html").is_file()
    panels = (docs / "airflow_dash" / "panels.html").read_text()
    for name in ("timeseries", "state_timeline", "RawPanel", "LibraryPanel"):
        assert f'id="{name}"' in panels, name
    influxql = (docs / "airflow_dash" / "query" / "influxql.html").read_text()
    assert 'id="sum"' in influxql and 'id="last"' in influxql
    assert 'id="Call"' in (docs / "airflow_dash" / "query" / "flux.html").read_text()
