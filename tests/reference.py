"""Third-party reference material, used only to compare against: `../shared/reference` beside the checkout (as
CI lays it out), or the directory named by AIRFLOW_DASH_REFERENCE. Tests that need it skip when it is absent
(`needs_reference`); the data tests depend on lives in tests/fixtures."""

import os
from pathlib import Path

import pytest

_EXPLICIT = os.environ.get("AIRFLOW_DASH_REFERENCE")
REFERENCE_ROOT = Path(_EXPLICIT) if _EXPLICIT else Path(__file__).resolve().parents[2] / "shared" / "reference"
CONTENT = REFERENCE_ROOT / "content"


def needs_reference(*relative: str):
    """Skip unless the reference files `relative` (under CONTENT) are present."""
    missing = [name for name in relative if not (CONTENT / name).exists()]
    return pytest.mark.skipif(bool(missing), reason=f"third-party reference material not found: {CONTENT / missing[0]}"
                              if missing else "")
