#!/bin/bash
# Install geosuff from a wheel (`pip install .`, not editable) on another Python in a fresh venv,
# run `geosuff demo` and a test subset, and compare the demo's tables with this clone's .venv.
#   scripts/check_python.sh 3.12        (uses python3.12 on PATH, or PYTHON=/path/to/python)
set -x
REPO=$(cd "$(dirname "$0")/.." && pwd)
V=$1
D=/tmp/py$V
rm -rf $D; ${PYTHON:-python$V} -m venv $D/venv
git clone -q "$REPO" $D/src 2>/dev/null; rm -f $D/src/.venv $D/src/.venv-v903
cd $D/src && $D/venv/bin/pip install -q --upgrade pip && $D/venv/bin/pip install -q ".[test]" 2>&1 | tail -3 || $D/venv/bin/pip install -q . pytest 2>&1 | tail -3
$D/venv/bin/python --version
cd $D && $D/venv/bin/geosuff demo --help >/dev/null && (mkdir -p $D/run && cd $D/run && timeout 900 $D/venv/bin/geosuff demo 2>&1 | tail -5)
cd $D/src && timeout 1500 $D/venv/bin/python -m pytest -q -p no:cacheprovider tests/test_reference.py tests/routing tests/analysis/test_distance.py tests/test_cli.py -x 2>&1 | tail -5

# the demo's tables must be byte-identical to the ones this clone's .venv (Python 3.11) writes
mkdir -p $D/ref && cd $D/ref && "$REPO/.venv/bin/geosuff" demo >/dev/null 2>&1
diff -rq $D/ref/outputs/E06000017/tables $D/run/outputs/E06000017/tables && echo "TABLES IDENTICAL on Python $V"
