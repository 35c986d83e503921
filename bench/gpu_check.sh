#!/usr/bin/env bash
# The GPU machine's checks in one command (issue 18): versions, throughput, recorder overhead, batch-size finder and
# `ftcv compare` on the bundled signs, each under its own time limit, every table and log written to one folder.
#
#   bench/gpu_check.sh OUTDIR               on the GPU machine: install the carried wheels (.whl/), run the checks
#                                           (8 minutes at most in all), write everything to OUTDIR
#   bench/gpu_check.sh --dry-run OUTDIR     the same steps on the CPU with tiny sizes (about 2 minutes on 2 cores):
#                                           no nvidia-smi, the wheels only checked for Python 3.12 (not installed)
#   bench/gpu_check.sh --download-wheels    here, with the package registry: fill .whl/ with Python 3.12 x86-64
#                                           wheels of what ftcv imports and the GPU machine lacks, at the versions
#                                           of this environment, and have git ignore .whl/ (.git/info/exclude)
#
# The GPU machine has its own torch stack and no network: ftcv runs there from this checkout (the repository root
# goes on PYTHONPATH; its data/ folder is found from there), with the carried wheels installed by pip --target into
# /tmp/site, and nothing reinstalls torch. A check "passes" when it ran to completion within its limit and wrote its
# table; a benchmark's bar missed is a measurement, reported on the check's summary line, not a failure.
# Exit status: 0 when every check passed, 1 otherwise, 2 for a usage error.
# Python: $PYTHON, else python3 (for --download-wheels: $PYTHON, else .venv/bin/python, else python3).
# Limits: GPU_CHECK_TOTAL_S (470; dry run 170) bounds the whole run and scales each check's own limit; compare
# gets what the other checks leave (GPU_CHECK_COMPARE replaces its options, "--profile gpu --seeds 3").
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# Distributions that ftcv (everything but the notebook-only ftcv.widgets) and fastai.vision.all import and the GPU
# machine's image lacks; they travel as wheels (KINDS.md's package list for nvidia-h200, read 2026-11-17).
# Left out on purpose: spacy (a fastai requirement that fastai.vision never imports), PyWavelets (imagehash imports it
# for whash only; ftcv uses phash), greenlet (SQLAlchemy's asyncio only), ipywidgets and its Jupyter stack (ftcv.widgets).
WHEELS="fastai fastcore fastprogress fastdownload fasttransform plum-dispatch beartype
        python-fasthtml starlette httpx2 httpcore2 truststore itsdangerous python-multipart defusedxml
        optuna optuna-integration colorlog SQLAlchemy alembic Mako ImageHash"
# The GPU image's Python packages (KINDS.md; huggingface-hub from its pip list row), to audit the list above
# against what the code imports.
GPU_HAS="absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
  charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
  cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools
  formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna imageio iniconfig
  interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning
  lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson
  ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba
  numba-cuda numpy numpyro nvidia-ml-py onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum
  opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
  prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing pyproject-hooks
  pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil
  pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn scipy
  seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers statsmodels sympy
  tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
  torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton typer
  typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp"
# pip's target for the GPU machine's Python (3.12, x86-64 Linux).
PLATFORM="--python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
TREE_LIMIT_MB=64  # what travels to the device machine: the working tree and the carried .whl/ together

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# Print the distributions that importing ftcv's modules (all but ftcv.widgets) and fastai.vision.all loads, which the
# GPU image lacks and .whl/ does not carry; exit 1 if there are any.
audit_wheels() {
    "$PY" - "$GPU_HAS" <<'EOF'
import importlib, importlib.metadata as md, pathlib, pkgutil, re, sys, warnings
warnings.simplefilter('ignore')
norm = lambda n: re.sub(r'[-_.]+', '-', n).lower()
gpu = {norm(n) for n in sys.argv[1].split()}
carried = {norm(f.name.split('-')[0]) for f in pathlib.Path('.whl').glob('*.whl')}
import ftcv
mods = ['fastai.vision.all'] + [f'ftcv.{m.name}' for m in pkgutil.iter_modules(ftcv.__path__) if m.name not in ('widgets', '_modidx')]
for m in mods: importlib.import_module(m)
p2d = md.packages_distributions()
used = {norm(d) for name in list(sys.modules) for d in p2d.get(name.split('.')[0], [])}
own_stack = lambda d: d in ('ftcv', 'torch', 'torchvision', 'triton') or d.startswith(('nvidia-', 'cuda-'))
missing = sorted(d for d in used - gpu - carried if not own_stack(d))
print(f"import audit: {len(mods)} modules load {len(used)} distributions; {len(used & carried)} of them carried in .whl/, "
      f"{len(carried - used)} carried but not loaded at import ({', '.join(sorted(carried - used)) or 'none'})")
if missing: sys.exit(f"import audit: missing on the GPU machine and not carried in .whl/: {', '.join(missing)}")
print("import audit: nothing missing")
EOF
}

# The size of what travels to the device machine, in bytes: tracked and untracked-not-ignored files, and .whl/.
tree_bytes() {
    { git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null
      [ -d .whl ] && find .whl -type f -exec stat -c %s {} +; } | awk '{s += $1} END {print s + 0}'
}

download_wheels() {
    PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
    local pins=() name version
    for name in $WHEELS; do
        version=$("$PY" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')
        [ -n "$version" ] || { echo "gpu_check: $name is not installed in $PY's environment: install ftcv's dependencies first (pip install -e .[dev])" >&2; exit 1; }
        pins+=("$name==$version")
    done
    rm -rf .whl && mkdir .whl
    echo "downloading ${#pins[@]} wheels for Python 3.12 x86-64: ${pins[*]}"
    "$PY" -m pip download -q --no-deps --only-binary=:all: $PLATFORM -d .whl "${pins[@]}" 2> >(grep -v "is ignored: it is neither" >&2) || exit 1
    local exclude; exclude=$(git rev-parse --git-path info/exclude)
    mkdir -p "$(dirname "$exclude")"
    grep -qxF '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >> "$exclude"
    git check-ignore -q .whl/ || { echo "gpu_check: git does not ignore .whl/ ($exclude)" >&2; exit 1; }
    ls -l .whl | awk 'NR > 1 {printf "  %9d  %s\n", $5, $9}'
    local whl tree
    whl=$(find .whl -type f -exec stat -c %s {} + | awk '{s += $1} END {print s + 0}')
    tree=$(tree_bytes)
    awk -v w="$whl" -v t="$tree" -v n="$(ls .whl | wc -l)" -v lim="$TREE_LIMIT_MB" 'BEGIN {
        printf ".whl/: %d files, %.1f MiB; with the working tree that travels: %.1f MiB of the device limit of %d MiB\n", n, w / 2^20, t / 2^20, lim
        exit (t > (lim - 2) * 2^20) }' || { echo "gpu_check: the working tree and .whl/ leave less than 2 MiB under the device limit" >&2; exit 1; }
    "$PY" -m pip install -q --dry-run --ignore-installed --no-index --no-deps --only-binary=:all: $PLATFORM --target /tmp/gpu-check-unused .whl/*.whl \
        && echo "pip: the wheels install together for Python 3.12 x86-64 (one version of each)" || exit 1
    audit_wheels || exit 1
    echo "carry .whl to the device machine (run's carry: [\".whl\"]) and run: bash bench/gpu_check.sh OUTDIR"
}

# ---------------------------------------------------------------------------------------------------------- arguments
DRY=0
case "${1:-}" in
    --download-wheels) [ $# -eq 1 ] || usage; download_wheels; exit 0 ;;
    --dry-run) DRY=1; shift ;;
    -h|--help|'') usage ;;
esac
[ $# -eq 1 ] && [[ "$1" != -* ]] || usage
mkdir -p "$1" && OUT=$(cd "$1" && pwd) || { echo "gpu_check: cannot create $1" >&2; exit 2; }
PY=${PYTHON:-python3}
ENV_PY='import sys, warnings; warnings.simplefilter("ignore")
import torch, torchvision, fastai, fastcore, timm, ftcv
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, torchvision {torchvision.__version__}, fastai {fastai.__version__}, "
      f"fastcore {fastcore.__version__}, timm {timm.__version__}, ftcv {ftcv.__version__} ({ftcv.__file__}), GPU {gpu}")
import ftcv.cli, ftcv.perf, ftcv.leakage, ftcv.forgetting
from ftcv.core import data_dir; print(f"ftcv data: {data_dir()}")
if len(sys.argv) > 1 and not torch.cuda.is_available(): sys.exit("torch sees no GPU")'
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# Time limits in seconds; GPU_CHECK_TOTAL_S scales every one of them (e.g. a dry run on a busy machine).
if [ $DRY = 1 ]; then
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1} CUDA_VISIBLE_DEVICES=''
    DEFAULT_S=170; declare -A LIMIT=([wheels]=30 [env]=30 [throughput]=50 [overhead]=40 [batch_size]=30)
else
    DEFAULT_S=470; declare -A LIMIT=([wheels]=45 [env]=60 [throughput]=130 [overhead]=75 [batch_size]=45)
fi
TOTAL_S=${GPU_CHECK_TOTAL_S:-$DEFAULT_S}
[[ "$TOTAL_S" =~ ^[1-9][0-9]*$ ]] || { echo "gpu_check: GPU_CHECK_TOTAL_S=$TOTAL_S is not a positive number of seconds" >&2; exit 2; }
for k in "${!LIMIT[@]}"; do LIMIT[$k]=$(( LIMIT[$k] * TOTAL_S / DEFAULT_S )); done
export PY GPU_HAS PLATFORM ENV_PY
export -f audit_wheels
START=$(date +%s); DEADLINE=$((START + TOTAL_S))
SUMMARY=(); FAILED=()

# run_check NAME LIMIT_S EXPECTED COMMAND: COMMAND (a bash string, its output redirected by itself) under `timeout`,
# its limit cut to what is left of the total; it passes if it exits 0 (or 1 with a benchmark's "MISSED:" verdict at
# the end of EXPECTED's first file) and every file named in EXPECTED (relative to OUT) exists and is not empty.
run_check() {
    local name=$1 limit=$2 expect=$3 cmd=$4 left status note='' bars='' rc t0 secs f
    left=$((DEADLINE - $(date +%s)))
    [ "$limit" -gt "$left" ] && limit=$left
    if [ "$limit" -lt 10 ]; then
        status=FAIL; note="not run: ${left} s left of the ${TOTAL_S} s budget"; secs=0
    else
        echo "== $name (limit ${limit} s): $cmd" | sed "s#$OUT/##g" | tr -s ' '
        t0=$(date +%s)
        timeout -k 10 "$limit" bash -c "$cmd"; rc=$?
        secs=$(( $(date +%s) - t0 ))
        first=${expect%% *}
        [ -n "$first" ] && [ -s "$OUT/$first" ] && bars=$(grep -v '^\s*$' "$OUT/$first" | tail -n 1)
        [[ "$bars" == "all bars met" || "$bars" == MISSED:* ]] || bars=''
        if [ $rc = 124 ] || [ $rc = 137 ]; then status=FAIL; note="timed out after ${limit} s"
        elif [ $rc = 0 ] || { [ $rc = 1 ] && [[ "$bars" == MISSED:* ]]; }; then status=pass
        else status=FAIL; note="exit status $rc"
        fi
        for f in $expect; do
            [ -s "$OUT/$f" ] || { status=FAIL; note="${note:+$note; }$f missing or empty"; }
        done
    fi
    [ $status = FAIL ] && FAILED+=("$name")
    SUMMARY+=("$(printf '%-4s  %-10s  %4d s  %s%s%s' "$status" "$name" "$secs" "$expect" "${note:+  ($note)}" "${bars:+  bars: $bars}")")
    echo "   ${SUMMARY[-1]}"
}

# ---------------------------------------------------------------------------------------------------------- the checks
# 0. the carried wheels: installed into /tmp/site (GPU machine), or checked for Python 3.12 (dry run).
if [ -d .whl ] && compgen -G '.whl/*.whl' > /dev/null; then
    if [ $DRY = 1 ]; then
        run_check wheels "${LIMIT[wheels]}" wheels.txt "{ ls -l .whl && \"\$PY\" -m pip install --dry-run --ignore-installed --no-index --no-deps \
            --only-binary=:all: \$PLATFORM --target /tmp/gpu-check-unused .whl/*.whl && audit_wheels; } > '$OUT/wheels.txt' 2>&1"
    else
        SITE=${GPU_CHECK_SITE:-/tmp/site}
        run_check wheels "${LIMIT[wheels]}" wheels.txt "{ ls -l .whl && \"$PY\" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target '$SITE' .whl/*.whl && echo installed \$(ls .whl | wc -l) wheels into '$SITE'; } > '$OUT/wheels.txt' 2>&1"
        export PYTHONPATH="$SITE:$PYTHONPATH"
    fi
else
    run_check wheels 30 wheels.txt "{ echo 'no .whl/ folder: nothing installed (bench/gpu_check.sh --download-wheels makes one)'; \
        \"\$PY\" -c 'import fastai, fastcore, optuna' && echo 'fastai, fastcore and optuna import without it'; } > '$OUT/wheels.txt' 2>&1"
fi

# 1. the machine and the versions: nvidia-smi, torch/torchvision/fastai and the GPU; every ftcv module imports.
if [ $DRY = 1 ]; then
    run_check env "${LIMIT[env]}" env.txt "{ echo 'nvidia-smi: skipped (dry run)'; \"\$PY\" -c \"\$ENV_PY\"; } > '$OUT/env.txt' 2>&1"
else
    run_check env "${LIMIT[env]}" env.txt "{ nvidia-smi; rc=\$?; \"\$PY\" -c \"\$ENV_PY\" gpu || rc=1; echo '--- pip check (informational: the carried wheels were installed without their requirements)'; \
        \"$PY\" -m pip check; exit \$rc; } > '$OUT/env.txt' 2>&1"
fi

# 2-3. the benchmarks: each writes its report (markdown) to OUT/NAME.md and its log to OUT/NAME.log.
DRYFLAG=$([ $DRY = 1 ] && echo --dry-run)
run_check throughput "${LIMIT[throughput]}" gpu_throughput.md \
    "\"$PY\" bench/gpu_throughput.py $DRYFLAG --out '$OUT/gpu_throughput.md' > '$OUT/gpu_throughput.log' 2>&1"
# overhead.py's smallest run (--quick) still fits the whole signs training split 8 times: the dry run points it (and
# it alone) at a 16/8/8-per-class subset through FTCV_DATA, a folder holding the subset's manifest and links to data/.
OVERHEAD_ENV=''
if [ $DRY = 1 ]; then
    TINY=$(mktemp -d); trap 'rm -rf "$TINY"' EXIT
    cp data/README.md "$TINY/" && ln -s "$ROOT/data/weights" "$TINY/weights" && mkdir "$TINY/signs" && awk -F, -v root="$ROOT/data/signs/" \
        'NR == 1 {print; next} {k = $2 FS $3} ++n[k] <= ($3 == "train" ? 16 : 8) {print root $0}' data/signs/manifest.csv > "$TINY/signs/manifest.csv"
    OVERHEAD_ENV="FTCV_DATA='$TINY'"
fi
run_check overhead "${LIMIT[overhead]}" overhead.md "$OVERHEAD_ENV \"$PY\" bench/overhead.py --quick > '$OUT/overhead.md' 2> '$OUT/overhead.log'"
run_check batch_size "${LIMIT[batch_size]}" batch_size.md \
    "\"$PY\" bench/batch_size.py $([ $DRY = 1 ] && echo --quick) > '$OUT/batch_size.md' 2> '$OUT/batch_size.log'"

# 4. the main job: ftcv compare on the bundled signs, with all the time the other checks left.
if [ $DRY = 1 ]; then COMPARE="--profile cpu --strategies head,full --seeds 1 --epochs 1 --size 32"
else COMPARE=${GPU_CHECK_COMPARE:-"--profile gpu --seeds 3"}; fi  # GPU_CHECK_COMPARE: other compare options, if need be
rm -rf "$OUT/compare"
run_check compare $((DEADLINE - $(date +%s))) "compare/summary.md compare.log" \
    "\"$PY\" -m ftcv.cli compare $COMPARE --out '$OUT/compare' > '$OUT/compare.log' 2>&1"

# ---------------------------------------------------------------------------------------------------------- summary
TOTAL=${#SUMMARY[@]}
{
    echo "## bench/gpu_check.sh$([ $DRY = 1 ] && echo ' --dry-run'): $(date -u '+%Y-%m-%d %H:%M UTC'), $(( $(date +%s) - START )) s of ${TOTAL_S} s"
    echo
    printf '%s\n' "${SUMMARY[@]}"
    echo
    if [ ${#FAILED[@]} = 0 ]; then echo "gpu_check: all $TOTAL checks passed"
    else echo "gpu_check: ${#FAILED[@]} of $TOTAL checks FAILED: ${FAILED[*]}"; fi
} > "$OUT/summary.md"
echo; cat "$OUT/summary.md"
[ ${#FAILED[@]} = 0 ]
