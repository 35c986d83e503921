"""Benchmark 3: images decoded and resized once into a cache (`ftcv.perf.cache_resized`) vs every epoch.

The sign-language digits (128 px WebP) at the CPU profile's 64 px. Three measures, each interleaved (original,
cached, original, ...): an epoch of the training DataLoader alone (decoding, resizing, batching, fastai's
augmentations), an epoch of head training (frozen mobilenet_v2), and the test accuracy after one seeded epoch.
On the CPU the times are this process's CPU time (other tenants of a shared machine do not inflate it); wall times
are printed beside. Bars: the cached pipeline epoch is faster (ratio < 1), and test accuracy does not change
(at most 0.5 point, and identical when the images are square)."""
import statistics, sys, tempfile, time
from pathlib import Path
from _common import parser, header, interleaved, table, finish, EpochTimer

from ftcv.core import get_profile, seed_everything
from ftcv.data import manifest_dls, test_dl
from ftcv.models import make_learner
from ftcv.record import evaluate
from ftcv.perf import cache_resized

def pipeline_epoch(data, prof):
    dls = manifest_dls(data, prof, seed=0)
    w, c = time.perf_counter(), time.process_time()
    n = sum(len(xb) for xb, _ in dls.train)
    return [(time.perf_counter() - w, time.process_time() - c, n)]

def train_epoch(data, prof):
    dls = manifest_dls(data, prof, seed=0)
    seed_everything(0)
    learn = make_learner(dls)
    timer = EpochTimer()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-2, cbs=timer)
    return [(timer.times[0], timer.cpu_times[0], evaluate(learn, test_dl(dls)).metrics['accuracy'])]

def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    header('Benchmark 3: data pipeline, resized once vs every epoch', args)
    size = 32 if args.quick else 64
    prof = get_profile('cpu', size=size)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cached = cache_resized('signs', size, Path(tmp)/'cache')
        build = time.perf_counter() - start
        start = time.perf_counter()
        cache_resized('signs', size, Path(tmp)/'cache')
        reuse = time.perf_counter() - start
        print(f"cache built in {build:.1f} s (2,062 images); a second call reusing it: {reuse:.2f} s\n", flush=True)
        reps = 2 if args.quick else 3
        pipe = interleaved({'original': lambda: pipeline_epoch('signs', prof), 'cached': lambda: pipeline_epoch(cached, prof)}, reps)
        train = interleaved({'original': lambda: train_epoch('signs', prof), 'cached': lambda: train_epoch(cached, prof)}, reps)
    med = lambda runs, i: statistics.median(r[i] for r in runs)
    rows = []
    for what, res in [('DataLoader epoch (no model)', pipe), ('head-training epoch (frozen mobilenet_v2)', train)]:
        rows.append(dict(measure=what, size=size, repeats=reps, original_cpu_s=med(res['original'], 1), cached_cpu_s=med(res['cached'], 1),
                         cpu_ratio=med(res['cached'], 1) / med(res['original'], 1), wall_ratio=med(res['cached'], 0) / med(res['original'], 0)))
    acc_o, acc_c = [r[2] for r in train['original']], [r[2] for r in train['cached']]
    print(table(rows))
    print(f"\ntest accuracy after one epoch, each repeat: original {acc_o}, cached {acc_c}")
    gap = 100 * abs(statistics.mean(acc_c) - statistics.mean(acc_o))
    return finish([("cached DataLoader epoch faster (CPU-time ratio < 1)", f"{rows[0]['cpu_ratio']:.3f}", rows[0]['cpu_ratio'] < 1),
                   ("cached head-training epoch not slower (CPU-time ratio <= 1)", f"{rows[1]['cpu_ratio']:.3f}", rows[1]['cpu_ratio'] <= 1),
                   ("no accuracy change (<= 0.5 point)", f"{gap:.2f} points", gap <= 0.5)])

if __name__ == '__main__': sys.exit(main())
