"""The README's promises: its first lines give the two commands, and its Python examples run as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


def test_the_first_lines_give_the_setup_and_test_commands_and_the_makefile_has_them():
    first_block = re.search(r"```sh\n(.*?)```", README, re.DOTALL).group(1)
    assert first_block.splitlines()[0].startswith("make setup build")
    assert first_block.splitlines()[1].startswith("make test")
    makefile = (ROOT / "Makefile").read_text()
    for target in ("setup:", "build:", "test:"):
        assert re.search(rf"^{target}", makefile, re.MULTILINE)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_example_runs(index, capsys):
    assert len(EXAMPLES) >= 2
    exec(compile(EXAMPLES[index], f"README example {index + 1}", "exec"), {})


@pytest.mark.parametrize("index", [i for i, example in enumerate(EXAMPLES) if "Dashboard(" in example])
def test_a_readme_example_saved_in_dashboards_is_picked_up(index, tmp_path, capsys):
    """"Save such a module in `dashboards/` ... and `airflow-dash build` picks it up": each example that builds a
    Dashboard, saved as it is, yields the dashboard it constructs."""
    from airflow_dash.discovery import load_dashboards

    keys = re.findall(r'Dashboard\(\s*key="([^"]+)"', EXAMPLES[index])
    assert keys
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / f"example_{index + 1}.py").write_text(EXAMPLES[index])
    assert [d.key for d in load_dashboards(tmp_path / "dashboards")] == keys
