"""Benchmark 3: images decoded and resized once into a cache (`ftcv.perf.cache_resized`) vs every epoch.

The sign-language digits at the CPU profile's 64 px, from two sources: the bundle as shipped (128-px WebP, already
small) and the same images stored as 512-px JPEGs (quality 90), the kind of files a user's own folder holds. For
each, interleaved (original, cached, cached, original, ...): an epoch of the training DataLoader alone (decoding,
resizing, batching, fastai's augmentations) and an epoch of head training (frozen mobilenet_v2), whose test accuracy
is compared. On the CPU the times are this process's CPU time (other tenants of a shared machine do not inflate it);
wall times are printed beside. Bars: accuracy unchanged (<= 0.5 point) on both sources; on the 512-px source the
cached DataLoader epoch takes at most 0.8 of the time."""
import statistics, sys, tempfile, time
from pathlib import Path
from _common import parser, header, quiet, interleaved, table, finish, EpochTimer

from PIL import Image
from ftcv.core import get_profile, seed_everything
from ftcv.data import manifest_dls, test_dl, load_manifest
from ftcv.models import make_learner
from ftcv.record import evaluate
from ftcv.perf import cache_resized, resized_image

BIG, RATIO, POINTS = 512, 0.8, 0.5

def as_photos(out:Path, side:int) -> Path:
    "The bundled sign digits re-stored as `side`-pixel JPEGs in `out`, with a manifest."
    df = load_manifest('signs')
    rel = []
    for i, p in enumerate(df.path):
        dest = out/'images'/f'{i}.jpg'
        dest.parent.mkdir(parents=True, exist_ok=True)
        resized_image(p, side).save(dest, 'JPEG', quality=90)
        rel.append(f'images/{i}.jpg')
    df.assign(path=rel).drop(columns='sha256').to_csv(out/'manifest.csv', index=False)
    return out

def pipeline_epoch(data, prof):
    dls = manifest_dls(data, prof, seed=0)
    w, c = time.perf_counter(), time.process_time()
    for _ in dls.train: pass
    return [(time.perf_counter() - w, time.process_time() - c)]

def train_epoch(data, prof):
    dls = manifest_dls(data, prof, seed=0)
    seed_everything(0)
    learn = make_learner(dls)
    timer = EpochTimer()
    learn.fit_one_cycle(1, 1e-2, cbs=timer)
    return [(timer.times[0], timer.cpu_times[0], evaluate(learn, test_dl(dls)).metrics['accuracy'])]

def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    quiet()
    header('Benchmark 3: data pipeline, resized once vs every epoch', args)
    size, reps = (32, 2) if args.quick else (64, 3)
    prof = get_profile('smoke', size=size)
    rows, checks = [], []
    med = lambda runs, i: statistics.median(r[i] for r in runs)
    with tempfile.TemporaryDirectory() as tmp:
        for source, data in [('bundle (128-px WebP)', 'signs'), (f'{BIG}-px JPEG photos', None)]:
            if data is None: data = as_photos(Path(tmp)/'photos', BIG)
            start = time.perf_counter()
            cached = cache_resized(data, size, Path(tmp)/f'cache-{len(rows)}')
            build = time.perf_counter() - start
            start = time.perf_counter()
            cache_resized(data, size, Path(tmp)/f'cache-{len(rows)}')
            reuse = time.perf_counter() - start
            print(f"{source}: cache built in {build:.1f} s (2,062 images), reused by a second call in {reuse:.2f} s", flush=True)
            pipe = interleaved({'original': lambda: pipeline_epoch(data, prof), 'cached': lambda: pipeline_epoch(cached, prof)}, reps)
            train = interleaved({'original': lambda: train_epoch(data, prof), 'cached': lambda: train_epoch(cached, prof)}, reps)
            for what, res in [('DataLoader epoch (no model)', pipe), ('head-training epoch', train)]:
                rows.append(dict(source=source, measure=what, original_cpu_s=med(res['original'], 1), cached_cpu_s=med(res['cached'], 1),
                                 cpu_ratio=med(res['cached'], 1) / med(res['original'], 1),
                                 wall_ratio=med(res['cached'], 0) / med(res['original'], 0), cache_build_s=build))
            acc_o, acc_c = statistics.mean(r[2] for r in train['original']), statistics.mean(r[2] for r in train['cached'])
            rows[-1].update(test_acc_original=acc_o, test_acc_cached=acc_c)
            gap = 100 * abs(acc_c - acc_o)
            checks.append((f"{source}: no accuracy change (<= {POINTS} point)", f"{gap:.2f} points", gap <= POINTS))
    print('\n' + table(rows, list(rows[-1])))
    checks.append((f"{BIG}-px source: cached DataLoader epoch CPU-time ratio <= {RATIO}", f"{rows[2]['cpu_ratio']:.3f}", rows[2]['cpu_ratio'] <= RATIO))
    return finish(checks)

if __name__ == '__main__': sys.exit(main())
