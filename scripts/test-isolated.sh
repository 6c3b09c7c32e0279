#!/usr/bin/env bash
# "Nothing beside the clone": clone this checkout (committed files only) into a fresh directory that has no
# ../shared, set it up the README's way (its own .venv, its own node_modules) and run the tests there.
#
# Runs every test not marked `slow` or `packaging` (real servers and wheel builds read nothing around the
# checkout, and the full suite already ran them once); pass pytest arguments to choose otherwise, e.g.
# `bash scripts/test-isolated.sh -m ''` for everything.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
clone="$work/airflow-dash"
git clone --quiet --no-hardlinks "$here" "$clone"
[ ! -e "$work/shared" ] || { echo "test-isolated: $work/shared exists" >&2; exit 1; }
cd "$clone"
# A stock Debian/Ubuntu Python where there is one (PEP 668: pip refuses to install into it, the .venv must work).
stock=python3
[ -x /usr/bin/python3 ] && stock=/usr/bin/python3
make --no-print-directory setup-python setup-node PYTHON="${PYTHON:-$stock}" >/dev/null
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-m "not slow and not packaging")
echo "isolated run in $clone (no ../shared): pytest ${args[*]}"
rc=0
env -u AIRFLOW_DASH_REFERENCE .venv/bin/python -m pytest -q -p no:cacheprovider "${args[@]}" || rc=$?
if [ $rc -eq 5 ]; then echo "ERROR: pytest collected no tests" >&2; exit 1; fi
exit $rc
