"""docs/library.md promises its examples run as written (in order, sharing one namespace)."""

import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "library.md"


def test_the_library_guide_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    assert len(blocks) >= 2
    namespace: dict = {}
    for index, block in enumerate(blocks):
        exec(compile(block, f"docs/library.md example {index + 1}", "exec"), namespace)


def test_the_guide_pasted_into_one_dashboards_module_builds(tmp_path):
    """The guide says: paste the blocks in order into one module; saved in dashboards/, `build` picks it up."""
    import subprocess
    import sys

    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    keys = re.findall(r'Dashboard\(\s*key="([^"]+)"', "".join(blocks))
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "team.py").write_text("\n".join(blocks))
    (tmp_path / "pyproject.toml").write_text("[tool.airflow-dash]\nbundled = false\n")
    result = subprocess.run([sys.executable, "-m", "airflow_dash.cli", "build", "--backend", "prometheus", "--out", "out"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert keys and sorted(p.name for p in (tmp_path / "out" / "prometheus").iterdir()) == \
        [f"airflow-dash-{key}-prom.json" for key in keys]
