#!/usr/bin/env bash
# The Python package's tests (the README's second test command; CI runs it): builds the
# command line the tests compare against, installs the package from this checkout into a
# fresh virtual environment (target/python-venv) with one `pip install`, and runs pytest:
# scikit-learn's estimator checks, the bits against `bp-par train`, pickle, DataFrames,
# GridSearchCV over a Pipeline, Ctrl-C; and `bp-par export` checked in ONNX Runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "python/run-tests.sh: python3 is not installed" >&2; exit 1; }
cargo build --release --quiet
venv="$PWD/target/python-venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# (onnx and onnxruntime: the ONNX export's tests, python/tests/test_onnx.py.)
"$venv/bin/python" -m pip install --quiet "./python[test]" onnx onnxruntime
# From outside the checkout: the tests import the installed package, not python/python/.
cd python/tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" .
