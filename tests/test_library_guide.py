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
