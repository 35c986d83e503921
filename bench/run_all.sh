#!/usr/bin/env bash
# Run the benchmarks one after the other (never two at once: they time each other otherwise).
# Usage: bench/run_all.sh [--quick]    Exit status: 1 if any benchmark missed its bar.
set -u
cd "$(dirname "$0")"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
status=0
for b in overhead probe_speed data_cache gpu_throughput batch_size growth compare_default cli_help; do
    python "$b.py" "$@" 2> >(grep -v -e Warning -e 'warnings.warn' >&2) || status=1
    echo
done
exit $status
