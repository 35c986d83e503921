"""Benchmark 6: wall time and peak memory of `ftcv compare` as the training set grows (25/50/100%).

Stratified subsets of the sign-language digits' training split (the same valid and test rows every time), written as
manifest folders and passed to `ftcv compare DATA_DIR --strategies head,full --seeds 1 --profile cpu`, run as a
subprocess under `/usr/bin/time -v` (wall time, maximum resident set size). Bars: time grows linearly with the
training images (R^2 of a least-squares line >= 0.95), and peak resident memory <= 4 GB."""
import os, re, subprocess, sys, tempfile
from pathlib import Path
from _common import parser, header, table, finish, ROOT

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from ftcv.data import load_manifest

FRACS, R2_MIN, RSS_MAX_GB = (0.25, 0.5, 1.0), 0.95, 4.0

def subset(frac:float, out:Path) -> int:
    "Write `out/manifest.csv`: a stratified `frac` of the training rows, every valid and test row; returns the train count."
    df = load_manifest('signs')
    train = df[df.split == 'train']
    if frac < 1: train = train.loc[train_test_split(train.index, train_size=frac, stratify=train.label, random_state=0)[0]]
    out.mkdir(parents=True, exist_ok=True)
    pd.concat([train, df[df.split != 'train']]).to_csv(out/'manifest.csv', index=False)
    return len(train)

def run_compare(data:Path, out:Path, extra:list) -> dict:
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    cmd = ['/usr/bin/time', '-v', sys.executable, '-m', 'ftcv.cli', 'compare', str(data), '--strategies', 'head,full',
           '--seeds', '1', '--profile', 'smoke', '--out', str(out), *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0: raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
    wall = re.search(r'Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)', p.stderr).groups()
    rss_kb = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', p.stderr).group(1))
    res = pd.read_csv(out/'results.csv')
    return dict(wall_s=int(wall[0] or 0) * 3600 + int(wall[1]) * 60 + float(wall[2]), peak_rss_GB=rss_kb / 2**20,
                training_s=float(res.seconds.sum()), test_accuracy=' / '.join(f"{a:.3f}" for a in res.test_accuracy))

def r2(x, y) -> float:
    fit = np.polyval(np.polyfit(x, y, 1), x)
    return 1 - ((y - fit) ** 2).sum() / ((y - np.mean(y)) ** 2).sum()

def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    header('Benchmark 6: growth of `ftcv compare` with the training set', args)
    extra = ['--size', '32', '--epochs', '1'] if args.quick else []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for frac in FRACS:
            n = subset(frac, Path(tmp)/f'data{frac}')
            r = run_compare(Path(tmp)/f'data{frac}', Path(tmp)/f'out{frac}', extra)
            rows.append(dict(train_fraction=f"{frac:.0%}", train_images=n, **r))
            print(f"  {frac:.0%}: {r['wall_s']:.0f} s, {r['peak_rss_GB']:.2f} GB", file=sys.stderr, flush=True)
    n = np.array([r['train_images'] for r in rows], float)
    wall, train = np.array([r['wall_s'] for r in rows]), np.array([r['training_s'] for r in rows])
    slope, icpt = np.polyfit(n, wall, 1)
    print(table(rows))
    print(f"\nwall time = {icpt:.1f} s + {1000 * slope:.1f} s per 1,000 training images (R^2 {r2(n, wall):.3f}); "
          f"training time alone: R^2 {r2(n, train):.3f}")
    peak = max(r['peak_rss_GB'] for r in rows)
    return finish([(f"wall time linear in training images (R^2 >= {R2_MIN})", f"{r2(n, wall):.3f}", r2(n, wall) >= R2_MIN),
                   (f"peak resident memory <= {RSS_MAX_GB:g} GB", f"{peak:.2f} GB", peak <= RSS_MAX_GB)])

if __name__ == '__main__': sys.exit(main())
