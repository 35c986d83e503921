"""Benchmark 4: GPU training throughput of `full` fine-tuning end to end, against a synthetic roof and fastai's defaults.

mobilenet_v2 at 224 px on the bundled CIFAR-10 subset (4,500 training images), unfrozen. Three measures of training
images/s (validation excluded), after one warm-up epoch:
  roof    random tensors already on the GPU, bf16 autocast, channels_last, fused AdamW (`ftcv.perf.synthetic_roof`);
  ftcv    the `full` strategy end to end: images resized once (`cache_resized`), the GPU profile (mixed precision,
          8 loader workers) and fastai's `ChannelsLast` callback;
  fastai  `vision_learner` with fastai's defaults: fp32, default loader (decoding and resizing every epoch).
Bars: ftcv >= 85% of the roof and >= 1.5x fastai. Without a GPU the rows say so and the script exits 0.
--dry-run: the same three measures on the CPU at 32 px, batch 16, a few batches per epoch: a smoke test of the code
path (bench/gpu_check.sh --dry-run), whose rates judge nothing. --out FILE: also write the report (markdown) to FILE."""
import contextlib, sys, tempfile, time
from pathlib import Path
from _common import parser, header, quiet, table, finish

import torch

ROOF_FRAC, VS_FASTAI, SIZE, BS = 0.85, 1.5, 224, 128
DRY_SIZE, DRY_BS, DRY_BATCHES = 32, 16, 3  # --dry-run: CPU, tiny images, a few training batches per epoch

def _sync(): torch.cuda.synchronize() if torch.cuda.is_available() else None

def _train_rate_cb(skip_epochs:int=1, max_batches:int|None=None):
    "A callback measuring training images/s (synchronised), epochs after the first `skip_epochs` only; `max_batches` cuts each training epoch short."
    from fastai.callback.core import Callback, CancelTrainException
    class TrainRate(Callback):
        order = 100
        def before_fit(self): self.n, self.secs = 0, 0.0
        def before_train(self): _sync(); self._t, self._i = time.perf_counter(), 0
        def after_batch(self):
            if not self.training: return
            if self.epoch >= skip_epochs: self.n += len(self.xb[0])
            self._i += 1
            if max_batches and self._i >= max_batches: raise CancelTrainException()
        def after_train(self):
            _sync()
            if self.epoch >= skip_epochs: self.secs += time.perf_counter() - self._t
        @property
        def rate(self): return self.n / self.secs
    return TrainRate()

def _args():
    p = parser(__doc__.splitlines()[0])
    p.add_argument('--dry-run', action='store_true', help='CPU, 32 px, batch 16, a few batches per epoch: a smoke test, no bars judged')
    p.add_argument('--out', type=Path, default=None, help='also write the report (markdown) to this file')
    return p.parse_args()

class _Tee:
    "Write to several text streams at once (the report to stdout and to --out)."
    def __init__(self, *streams): self.streams = streams
    def write(self, s):
        for st in self.streams: st.write(s)
        return len(s)
    def flush(self):
        for st in self.streams: st.flush()

def main(args):
    quiet()
    header('Benchmark 4: GPU throughput' + (' (dry run: CPU, tiny sizes; no bar is judged)' if args.dry_run else ''), args)
    if args.dry_run: return dry_run()
    if not torch.cuda.is_available():
        print(table([dict(measure=m, images_per_s='not measured: no GPU available') for m in
                     ('synthetic roof (bf16, channels_last, fused AdamW)', 'ftcv full, end to end', 'fastai defaults (fp32, default loader)')]))
        return finish([(f"ftcv >= {ROOF_FRAC:.0%} of the roof", "not measured: no GPU available", None),
                       (f"ftcv >= {VS_FASTAI}x fastai's defaults", "not measured: no GPU available", None)])
    from fastai.vision.all import ChannelsLast, accuracy, vision_learner, defaults
    from ftcv.core import get_profile
    from ftcv.data import manifest_dls
    from ftcv.models import fastai_arch
    from ftcv.strategies import full
    from ftcv.perf import cache_resized, synthetic_roof
    epochs = 2 if args.quick else 3
    prof = get_profile('gpu', size=SIZE, bs=BS, epochs=epochs)
    with tempfile.TemporaryDirectory() as tmp:
        cached = cache_resized('cifar10', SIZE, Path(tmp)/'cifar224')
        rate = _train_rate_cb()
        run = full(manifest_dls(cached, prof, seed=0), seed=0, profile=prof, cbs=[ChannelsLast(), rate])
        ftcv_rate = rate.rate
    roof = synthetic_roof(run.learn.model, BS, SIZE, steps=30 if args.quick else 100, warmup=10)
    arch, kw = fastai_arch('mobilenet_v2')
    plain = manifest_dls('cifar10', get_profile('gpu', size=SIZE, bs=BS, num_workers=defaults.cpus), seed=0)
    learn = vision_learner(plain, arch, metrics=accuracy, **kw)  # fp32: no to_fp16
    learn.unfreeze()
    frate = _train_rate_cb()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-3, cbs=frate)
    gpu = torch.cuda.get_device_name(0)
    print(table([dict(measure='synthetic roof (bf16, channels_last, fused AdamW)', gpu=gpu, batch=BS, images_per_s=roof),
                 dict(measure='ftcv full, end to end (cached images, mixed precision, channels_last)', gpu=gpu, batch=BS, images_per_s=ftcv_rate),
                 dict(measure='fastai defaults (fp32, default loader)', gpu=gpu, batch=BS, images_per_s=frate.rate)]))
    return finish([(f"ftcv >= {ROOF_FRAC:.0%} of the roof", f"{ftcv_rate / roof:.1%}", ftcv_rate >= ROOF_FRAC * roof),
                   (f"ftcv >= {VS_FASTAI}x fastai's defaults", f"{ftcv_rate / frate.rate:.2f}x", ftcv_rate >= VS_FASTAI * frate.rate)])

def dry_run():
    "The three measures on the CPU with tiny sizes: every code path of the GPU run, no bar judged."
    from fastai.vision.all import accuracy, vision_learner
    from ftcv.core import get_profile
    from ftcv.data import manifest_dls
    from ftcv.models import fastai_arch
    from ftcv.strategies import full
    from ftcv.perf import cache_resized, synthetic_roof
    prof = get_profile('smoke', size=DRY_SIZE, bs=DRY_BS, epochs=2, num_workers=0)
    with tempfile.TemporaryDirectory() as tmp:
        cached = cache_resized('cifar10', DRY_SIZE, Path(tmp)/f'cifar{DRY_SIZE}')
        rate = _train_rate_cb(max_batches=DRY_BATCHES)
        run = full(manifest_dls(cached, prof, seed=0), seed=0, profile=prof, cbs=[rate])
        ftcv_rate = rate.rate
    roof = synthetic_roof(run.learn.model, DRY_BS, DRY_SIZE, device='cpu', steps=DRY_BATCHES, warmup=1)
    arch, kw = fastai_arch('mobilenet_v2')
    learn = vision_learner(manifest_dls('cifar10', prof, seed=0), arch, metrics=accuracy, **kw)
    learn.unfreeze()
    frate = _train_rate_cb(max_batches=DRY_BATCHES)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 1e-3, cbs=frate)
    print(table([dict(measure='synthetic roof (CPU, fp32)', device='cpu', batch=DRY_BS, size=DRY_SIZE, images_per_s=roof),
                 dict(measure='ftcv full, end to end (cached images)', device='cpu', batch=DRY_BS, size=DRY_SIZE, images_per_s=ftcv_rate),
                 dict(measure='fastai defaults (default loader)', device='cpu', batch=DRY_BS, size=DRY_SIZE, images_per_s=frate.rate)]))
    return finish([(f"ftcv >= {ROOF_FRAC:.0%} of the roof", f"{ftcv_rate / roof:.1%} (dry run: not judged)", None),
                   (f"ftcv >= {VS_FASTAI}x fastai's defaults", f"{ftcv_rate / frate.rate:.2f}x (dry run: not judged)", None)])

if __name__ == '__main__':
    args = _args()
    if args.out is None: sys.exit(main(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, 'w') as f, contextlib.redirect_stdout(_Tee(sys.stdout, f)): status = main(args)
    sys.exit(status)
