"""Benchmark 7: the default `ftcv compare` (all strategies, the CPU profile's seeds, one budget), wall time and accuracy.

Runs `ftcv compare --profile cpu --quiet` on the bundled sign digits exactly as the README's main job does (a fresh
output folder; the LR finder included), under `/usr/bin/time -v`, then reads its summary. Bars: wall time <= 20 minutes
on 2 cores; mean test accuracy >= 0.93 for full, discriminative, gradual and lpft; every strategy's budget (epochs)
equal. The table also gives each strategy's steps, seconds, converged runs and paired interval against fastai_default."""
import os, re, subprocess, sys, tempfile
from pathlib import Path
from _common import parser, header, table, finish, ROOT

import pandas as pd

WALL_MAX_S, ACC_MIN, TARGETS = 20 * 60, 0.93, ('full', 'discriminative', 'gradual', 'lpft')

def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument('--out', type=Path, default=None, help='keep the output folder here (default: a temporary folder)')
    args = p.parse_args()
    header('Benchmark 7: the default `ftcv compare`', args)
    extra = ['--size', '32', '--epochs', '4', '--seeds', '2', '--per-class', '10'] if args.quick else []
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    env.pop('OMP_NUM_THREADS', None); env.pop('MKL_NUM_THREADS', None)  # as a user runs it: torch's own thread count
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)/'ftcv-compare'
        cmd = ['/usr/bin/time', '-v', sys.executable, '-m', 'ftcv.cli', 'compare', '--profile', 'cpu', '--quiet', '--out', str(out), *extra]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode != 0: raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        wall = re.search(r'Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)', p.stderr).groups()
        wall_s = int(wall[0] or 0) * 3600 + int(wall[1]) * 60 + float(wall[2])
        s = pd.read_csv(out/'summary.csv', index_col=0)
        summary_md = (out/'summary.md').read_text()
    print(p.stdout.splitlines()[0] + '\n')
    print(summary_md)
    rows = [dict(strategy=n, epochs=int(r.epochs), steps=int(r.steps), train_s=round(r.train_seconds, 1), setup_s=round(r.setup_seconds, 1),
                 test_accuracy=f"{r.test_accuracy_mean:.3f} [{r.test_accuracy_low:.3f}, {r.test_accuracy_high:.3f}]",
                 converged=f"{int(r.converged)}/{int(r.runs)}") for n, r in s.iterrows()]
    print(table(rows))
    worst = min(s.loc[list(TARGETS), 'test_accuracy_mean'])
    bars = [(f"wall time of the default `ftcv compare` <= {WALL_MAX_S // 60} min", f"{wall_s / 60:.1f} min", wall_s <= WALL_MAX_S),
            (f"mean test accuracy >= {ACC_MIN} for {', '.join(TARGETS)}", f"lowest {worst:.3f}", worst >= ACC_MIN),
            ("one budget: every strategy the same epochs", ', '.join(sorted({f'{e:.0f}' for e in s.epochs})), s.epochs.nunique() == 1)]
    sys.exit(finish(bars))

if __name__ == '__main__': main()
