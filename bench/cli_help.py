"""Benchmark 8: how fast the `ftcv` command answers help and usage errors (it loads no torch before it must).

Each variant is a fresh process of the Python that runs this script (a fresh venv is the case that matters: run it
with that venv's python): `ftcv --help`, `ftcv compare --help`, a usage error (`ftcv compare --seeds 0`, exit 2), and,
for scale, `python -c "import torch"`, interleaved, medians. Bar: each of the three answers in under 1 s."""
import statistics, subprocess, sys, time
from _common import parser, header, table, finish

COMMANDS = {'ftcv --help': ['-m', 'ftcv.cli', '--help'], 'ftcv compare --help': ['-m', 'ftcv.cli', 'compare', '--help'],
            'usage error (ftcv compare --seeds 0)': ['-m', 'ftcv.cli', 'compare', '--seeds', '0'],
            'python -c "import torch"': ['-c', 'import torch']}
LIMIT_S = 1.0

def seconds(args:list) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], capture_output=True)
    return time.perf_counter() - start

def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    header('Benchmark 8: `ftcv --help` and usage errors', args)
    repeats = 3 if args.quick else 7
    times = {k: [] for k in COMMANDS}
    for r in range(repeats):  # A B C D, D C B A, ...
        for k in (list(COMMANDS) if r % 2 == 0 else list(COMMANDS)[::-1]): times[k].append(seconds(COMMANDS[k]))
    torch_s = statistics.median(times['python -c "import torch"'])
    rows = [dict(command=k, median_s=statistics.median(v), min_s=min(v), vs_import_torch=statistics.median(v) / torch_s)
            for k, v in times.items()]
    print(table(rows) + f"\n\n{repeats} runs each, interleaved; python {sys.executable}")
    return finish([(f"{k} < {LIMIT_S:g} s", f"{statistics.median(times[k]):.2f} s", statistics.median(times[k]) < LIMIT_S)
                   for k in list(COMMANDS)[:3]])

if __name__ == '__main__': sys.exit(main())
