#!/usr/bin/env bash
# make bench: every benchmark's quick form (a smoke run: seconds to minutes each, results in
# bench/results/*quick*.json, not committed), one at a time under /tmp/escrutinio-bench.lock.
#   make bench ARGS="grpc_route faults"   only those
#   make bench ARGS=--full                the full forms, which write the committed figures
# How each measures: its docstring, and docs/performance.md. It ends with one table of the
# headline figures against their goals and the committed full run (bench/summary.py).
source "$(dirname "$0")/venv.sh" requirements-bench.txt bench
full=false
[ "${1:-}" = --full ] && full=true && shift
# cpu_share, gateway_stream and grpc_profile have no quick form: they always write their committed results.
if $full; then benches=(access_overhead grpc_route redis_route actas_route compare_routes cpu_share gateway_stream grpc_profile results_api opendata snapshot_write snapshot_readers faults)
else benches=(access_overhead grpc_route redis_route actas_route compare_routes results_api opendata snapshot_write snapshot_readers faults); fi
[ $# -gt 0 ] && benches=("$@")

# MariaDB and Redis: those at DATABASE_URL / REDIS_URL when they answer, else throwaway servers
# (as make test does); each benchmark gets its own database, named as in its defaults.
export DATABASE_URL="${DATABASE_URL:-mysql://root@127.0.0.1:3306/escrutinio}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/14}"
exports=$(python -m scripts.devservices ensure --database) || exit $?
eval "$exports"
trap 'python -m scripts.devservices stop' EXIT
mysql=${DATABASE_URL%/*} redis=${REDIS_URL%/*}
export ACCESS_BENCH_DATABASE_URL="${ACCESS_BENCH_DATABASE_URL:-$mysql/esc_bench_access}"
export COMPARE_BENCH_DATABASE_URL="${COMPARE_BENCH_DATABASE_URL:-$mysql/esc_bench_compare}"
export RESULTS_BENCH_DATABASE_URL="${RESULTS_BENCH_DATABASE_URL:-$mysql/esc_bench_api$($full || echo _quick)}"
export RESULTS_BENCH_REDIS_URL="${RESULTS_BENCH_REDIS_URL:-$redis/11}"
export OPENDATA_BENCH_DATABASE_URL="${OPENDATA_BENCH_DATABASE_URL:-$mysql/esc_bench_opendata$($full || echo _quick)}"
export OPENDATA_BENCH_REDIS_URL="${OPENDATA_BENCH_REDIS_URL:-$redis/11}"

failed=() ran=()
started=$(date +%s)  # quick files older than this are an earlier run's: the summary says "not run"
for bench in "${benches[@]}"; do
  args=()
  case "$bench" in
    cpu_share|gateway_stream|grpc_profile) $full || { echo "== $bench: no quick form; make bench ARGS=--full runs it" >&2; continue; } ;;
    *) $full || args=(--quick) ;;
  esac
  ran+=("$bench")
  echo "== bench/$bench.py ${args[*]}  ($(date +%T); waiting for /tmp/escrutinio-bench.lock if another bench holds it)"
  # grpc_route and redis_route read the same variable: escrutinio_bench_grpc, _redis by default.
  BENCH_DATABASE_URL="${BENCH_DATABASE_URL:-$mysql/escrutinio_bench_${bench%_route}}" flock /tmp/escrutinio-bench.lock python "bench/$bench.py" "${args[@]}" || failed+=("$bench")
done
if [ ${#ran[@]} -gt 0 ]; then  # also after a failure: the table informs, it does not gate
  echo "== summary (bench/summary.py)"
  if $full; then summary_args=(--full); else summary_args=(--since "$started"); fi
  python bench/summary.py "${summary_args[@]}" "${ran[@]}" || echo "== bench/summary.py could not read bench/results" >&2
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "== failed: ${failed[*]}" >&2
  exit 1
fi
echo "== benchmarks done: ${benches[*]}"
