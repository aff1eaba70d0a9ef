#!/usr/bin/env bash
# Every benchmark of the project, one after another, each printing its figures beside the
# baseline it measures in the same run. Output also goes to benchmarks/out/<name>.txt.
#
#   benchmarks/run_all.sh                 # everything, with the 24 h soak (~31 min in all)
#   SOAK_HOURS=2 benchmarks/run_all.sh    # a short soak (~14 min in all)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
out=benchmarks/out
mkdir -p "$out"

run() {
    local name=$1
    shift
    echo "== $name: $python benchmarks/$name.py $*"
    "$python" "benchmarks/$name.py" "$@" 2>&1 | tee "$out/$name.txt"
}

status=0
run bench_ingest --days 7 --repeat 3 || status=1
run bench_rules --days 7 --repeat 3 || status=1
run bench_page --repeat 20 --rounds 3 || status=1
run bench_memory --hours 72 --switches 2 || status=1
run bench_central --seconds 20 --fast-seconds 60 --rounds 5 || status=1
run soak --hours "${SOAK_HOURS:-24}" --speed 100 || status=1
exit "$status"
