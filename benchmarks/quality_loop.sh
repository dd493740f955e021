#!/usr/bin/env bash
# Feed benchmarks/pipeline_quality.py one problem at a time, each under the machine's CPU lock, so a
# long run (hours on 2 cores) shares the machine with short jobs without ever running beside them.
#   benchmarks/quality_loop.sh CONFIGS FIRST LAST [extra pipeline_quality.py args]
set -euo pipefail
configs=$1; first=$2; last=$3; shift 3
lock=${CPU_LOCK:-/tmp/cpu.lock}
for ((i = first; i <= last; i++)); do
  echo "== $configs problem $i ($(date -u +%H:%M:%S), $(cut -d' ' -f1-3 /proc/loadavg))"
  flock "$lock" .venv/bin/python benchmarks/pipeline_quality.py --configs "$configs" --limit "$i" --generate-only "$@"
done
