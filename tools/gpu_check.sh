#!/usr/bin/env bash
# The GPU checks behind the README's GPU rows ("Measured"; issue 18), on a machine with a
# CUDA GPU and 8 or more cores, from the repository root with bench installed:
#   bash tools/gpu_check.sh DIR [STEP ...]
# With STEP names (doctor, cuda_tests, smoke_local, smoke_dask, rows_equal, sweep_cpu,
# sweep_cpu_long, perf_vitb16, perf_mini_c, perf_vitb16_mini_c, profile_vitb16_mini_c,
# sweep_gpu) only those steps run, so a short device lease can redo a few.
# Each step's whole log goes to DIR/<step>.log (the result stores to a temporary folder);
# its last lines are printed. A step that fails or runs past its time limit (seconds,
# the first argument of `step`) is reported and the next one runs.
set -u
out=${1:-gpu-check}
shift || true
only=" $* "
mkdir -p "$out"
stores=$(mktemp -d)
export PYTHONUNBUFFERED=1

step() {
  local name=$1 limit=$2
  shift 2
  if [ "$only" != "  " ] && [[ "$only" != *" $name "* ]]; then return; fi
  echo "== $name: $*"
  local t0=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  grep -v -E "it/s\]|s/it\]" "$out/$name.log" | tail -n 14
  echo "-- $name: rc $rc, $((SECONDS - t0)) s"
}

step doctor 60 python -m bench doctor
# The tests that need a GPU (skipped elsewhere): every method's smoke cells on CUDA.
step cuda_tests 240 python -m pytest -p no:cacheprovider -q -rs tests/test_device_placement.py
# Rows of a sweep on one GPU: the local executor, then dask's GPU cluster (one worker per
# visible GPU); the two stores must hold the same cells with the same scores.
step smoke_local 120 python -m bench run --method tent,tcr,rest --suite smoke --device cuda \
  --out "$stores/local" --quiet
step smoke_dask 90 python -m bench run --method tent,tcr,rest --suite smoke --device cuda \
  --executor dask --out "$stores/dask" --quiet
step rows_equal 30 python - "$stores/local" "$stores/dask" <<'EOF'
import sys
from bench.engine.store import ResultStore
cols = ["r1", "r5", "r10", "map"]
a, b = (ResultStore(p).read().set_index("cell_id").sort_index() for p in sys.argv[1:])
print(f"cells: local {len(a)}, dask {len(b)}, same ids {list(a.index) == list(b.index)}")
print(f"devices: local {sorted(set(a.device))}, dask {sorted(set(b.device))}")
diff = (a[cols] - b.loc[a.index, cols]).abs()
print(f"largest |local - dask| per metric: {diff.max().round(6).to_dict()}")
print(f"identical rows (R@1, R@5, R@10, mAP): {int((diff.max(axis=1) == 0).sum())} of {len(a)}")
EOF
# dask against local on many cores (CPU): one sweep, dask clusters of 2, 4 and 8 workers.
step sweep_cpu 150 python -m bench perf sweep --method tent,tcr --device cpu --dask-workers 2,4,8
# ... and on a sweep long enough to amortise the workers' start: mini-c's 32 image cells.
step sweep_cpu_long 400 python -m bench perf sweep --method tent,tcr --suite mini-c --direction i2t \
  --device cpu --dask-workers 16
# REST's cost on the GPU: the real-size architecture (ViT-B/16, random weights), and the
# 79-batch mini-c caption cell of the README's CPU row (mini CLIP, then ViT-B/16).
step perf_vitb16 120 python -m bench perf run --method tcr,rest --suite smoke --model ViT-B-16 \
  --pretrained random --device cuda --versus tcr
step perf_mini_c 300 python -m bench perf run --method tcr,rest --suite mini-c --shift cr \
  --direction t2i --device cuda --repeat 2 --versus tcr
step perf_vitb16_mini_c 240 python -m bench perf run --method tcr,rest --suite mini-c --shift cr \
  --direction t2i --model ViT-B-16 --pretrained random --device cuda --versus tcr
# where REST's time above TCR's goes on the GPU: that cell by phase, device time and waits
step profile_vitb16_mini_c 240 python -m bench perf profile --method tcr,rest --suite mini-c \
  --shift cr --direction t2i --model ViT-B-16 --pretrained random --device cuda --versus tcr
step sweep_gpu 90 python -m bench perf sweep --method tent,tcr --device cuda
rm -rf "$stores"
