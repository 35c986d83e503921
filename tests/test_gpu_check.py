"""bench/gpu_check.sh, the GPU machine's one command, dry-run on the CPU: every check runs and writes its table.

The dry run takes about 2 minutes on a 2-core CPU; its time limits are scaled up here (GPU_CHECK_TOTAL_S) so that a
busy machine does not fail the test: what is tested is that each step works, not how fast this machine is."""
import os, re, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT/'bench'/'gpu_check.sh'
CHECKS = ['wheels', 'env', 'throughput', 'overhead', 'batch_size', 'compare']

def _env(**extra):
    "This interpreter's bin folder first on PATH (the script calls python3), one thread per process."
    return {**os.environ, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', **extra}

def _summary(out:Path) -> dict:
    "check name -> its summary line, from summary.md."
    lines = (out/'summary.md').read_text().splitlines()
    return {m.group(2): l for l in lines if (m := re.match(r'(pass|FAIL)\s+(\w+)\s', l))}

def _rates(md:str) -> dict:
    "measure -> images_per_s from the first markdown table of gpu_throughput.py's report."
    rows = [l.split('|')[1:-1] for l in md.splitlines() if l.startswith('|')]
    head = [c.strip() for c in rows[0]]
    return {r[0].strip(): r[head.index('images_per_s')].strip() for r in rows[2:] if len(r) == len(head) and r[0].strip() != 'bar'}

def test_dry_run_runs_every_check(tmp_path):
    out = tmp_path/'gpu_check'
    start = time.perf_counter()
    r = subprocess.run(['bash', str(SCRIPT), '--dry-run', str(out)], cwd=ROOT, capture_output=True, text=True,
                       env=_env(GPU_CHECK_TOTAL_S='510'), timeout=900)
    secs = time.perf_counter() - start
    print(r.stdout[-3000:], f"\ndry run: {secs:.0f} s")
    summary = _summary(out)
    assert list(summary) == CHECKS, r.stdout[-3000:] + r.stderr[-2000:]
    failed = {k: v for k, v in summary.items() if not v.startswith('pass')}
    assert not failed, '\n'.join(failed.values())
    assert r.returncode == 0 and f"gpu_check: all {len(CHECKS)} checks passed" in (out/'summary.md').read_text()
    assert r.stdout.rstrip().endswith(f"gpu_check: all {len(CHECKS)} checks passed")
    for f in ['summary.md', 'wheels.txt', 'env.txt', 'gpu_throughput.md', 'gpu_throughput.log', 'overhead.md', 'overhead.log',
              'batch_size.md', 'batch_size.log', 'compare.log', 'compare/summary.md', 'compare/results.csv']:
        assert (out/f).is_file() and (out/f).stat().st_size > 0, f"{f} missing or empty"
    env = (out/'env.txt').read_text()
    assert 'nvidia-smi: skipped (dry run)' in env and re.search(r'torch \S+, torchvision \S+, fastai 2\.8\.\d+', env) and 'GPU none' in env
    rates = _rates((out/'gpu_throughput.md').read_text())
    assert len(rates) == 3 and all(float(v) > 0 for v in rates.values()), rates  # roof, ftcv full, fastai defaults
    for bench in ('overhead', 'batch_size'):  # each ended with its verdict on its bars (a missed bar is not a failure)
        last = (out/f'{bench}.md').read_text().strip().splitlines()[-1]
        assert last == 'all bars met' or last.startswith('MISSED:'), last
    compare = (out/'compare'/'summary.md').read_text()
    assert '| head ' in compare and '| full ' in compare

def test_usage_errors_exit_2(tmp_path):
    for args in ([], ['--dry-run'], ['--download-wheels', str(tmp_path)], [str(tmp_path), 'extra']):
        r = subprocess.run(['bash', str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=60)
        assert r.returncode == 2 and 'Usage' not in r.stdout and '--dry-run OUTDIR' in r.stderr, (args, r.stderr)
    r = subprocess.run(['bash', str(SCRIPT), '--dry-run', str(tmp_path/'out')], cwd=ROOT, capture_output=True, text=True,
                       env=_env(GPU_CHECK_TOTAL_S='soon'), timeout=60)
    assert r.returncode == 2 and 'GPU_CHECK_TOTAL_S' in r.stderr

def test_a_broken_step_fails_the_run(tmp_path):
    "Each check fails on its own and the run goes on: with no working Python every check is reported FAILED, exit 1."
    out = tmp_path/'broken'
    r = subprocess.run(['bash', str(SCRIPT), '--dry-run', str(out)], cwd=ROOT, capture_output=True, text=True,
                       env=_env(PYTHON='false'), timeout=120)
    summary = _summary(out)
    assert r.returncode == 1 and list(summary) == CHECKS and all(v.startswith('FAIL') for v in summary.values()), r.stdout
    assert f"gpu_check: {len(CHECKS)} of {len(CHECKS)} checks FAILED" in r.stdout
