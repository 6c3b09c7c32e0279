"""Where the shared reference material is: `../shared/reference` beside the checkout (as CI lays it out),
else the workplace's /work/shared/reference."""

from pathlib import Path

_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "shared" / "reference",
    Path("/work/shared/reference"),
)
REFERENCE_ROOT = next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0])
CONTENT = REFERENCE_ROOT / "content"
