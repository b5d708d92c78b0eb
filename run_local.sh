#!/usr/bin/env bash
# Run the pipeline on the bundled sample (sample/: the three seed articles) with the local
# runner, then show what was written. Extra arguments go to the pipeline, e.g.
#   ./run_local.sh --direct_num_workers 2 --direct_running_mode multi_processing
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure_venv.sh

OUTPUT="${OUTPUT:-out/sample}"
rm -rf "$OUTPUT"  # a demo run starts clean; real runs rewrite their files in place
.venv/bin/python -m pipeline --input sample --output "$OUTPUT" "$@"
.venv/bin/python -m pipeline.preview "$OUTPUT"
echo
echo "Parquet output: $OUTPUT/ (date=.../lang=.../*.parquet), dead letters: $OUTPUT/_dead_letter/, summary: $OUTPUT/_run_summary.json"
