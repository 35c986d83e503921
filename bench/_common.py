"""Shared helpers of the benchmarks: environment, machine description, interleaved timing, markdown tables, verdicts."""
import os
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')
import argparse, datetime, platform, statistics, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))  # the checkout's ftcv, not an installed copy

import torch

def parser(description:str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument('--quick', action='store_true', help='a smaller, faster run (a smoke test; the bar still applies)')
    return p

def machine() -> str:
    "One line naming the machine: CPU, cores torch uses, GPU if any, torch version."
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor()) \
        if Path('/proc/cpuinfo').exists() else platform.processor()
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ', no GPU'
    return (f"{cpu}, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} usable core(s), "
            f"torch threads {torch.get_num_threads()}{gpu}; torch {torch.__version__}, {datetime.date.today()}")

def header(title:str, args):
    print(f"## {title}\n\n{machine()}{' (--quick)' if args.quick else ''}\n", flush=True)

def _sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()

class EpochTimer:
    "A fastai callback keeping the wall time (`times`) and this process's CPU time (`cpu_times`) of every epoch."
    def __new__(cls):
        from fastai.callback.core import Callback
        class _EpochTimer(Callback):
            order = 100  # after every other callback's after_epoch (the recorders' included)
            def __init__(self): self.times, self.cpu_times = [], []
            def before_epoch(self): _sync(); self._t, self._c = time.perf_counter(), time.process_time()
            def after_epoch(self):
                _sync()
                self.times.append(time.perf_counter() - self._t); self.cpu_times.append(time.process_time() - self._c)
        return _EpochTimer()

class FitTimer:
    "A fastai callback keeping the wall time of every fit, from before_fit to after_fit."
    def __new__(cls):
        from fastai.callback.core import Callback
        class _FitTimer(Callback):
            order = -100
            def __init__(self): self.times = []
            def before_fit(self): _sync(); self._t = time.perf_counter()
            def after_fit(self): _sync(); self.times.append(time.perf_counter() - self._t)
        return _FitTimer()

def quiet():
    "No progress bars or per-epoch tables from any fastai learner: only the benchmark's own lines are printed."
    import fastai.learner
    from fastai.callback.progress import ProgressCallback
    fastai.learner.defaults.callbacks = [c for c in fastai.learner.defaults.callbacks if c is not ProgressCallback]
    fastai.learner.Learner.logger = property(lambda self: (lambda *a, **k: None), lambda self, value: None)

def interleaved(variants:dict, repeats:int) -> dict:
    "Call each of `variants` (name -> function returning a list of results) in turn, `repeats` times: A B, B A, A B, ..."
    out = {k: [] for k in variants}
    for r in range(repeats):
        for k, f in (list(variants.items()) if r % 2 == 0 else list(variants.items())[::-1]):
            start = time.perf_counter()
            out[k] += list(f())
            print(f"  repeat {r + 1}/{repeats} {k}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return out

def table(rows:list, cols:list|None=None) -> str:
    "A markdown table of dict rows."
    cols = cols or list(rows[0])
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    lines += ['| ' + ' | '.join(fmt(r.get(c, '')) for c in cols) + ' |' for r in rows]
    return '\n'.join(lines)

def finish(checks:list) -> int:
    "Print each (bar, measured, ok) check and return the exit status: 1 if any bar is missed."
    print('\n' + table([dict(bar=b, measured=m, result='pass' if ok else ('MISSED' if ok is False else 'not measured'))
                        for b, m, ok in checks]))
    missed = [b for b, _, ok in checks if ok is False]
    print(f"\n{'MISSED: ' + '; '.join(missed) if missed else 'all bars met'}", flush=True)
    return 1 if missed else 0
