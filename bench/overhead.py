"""Benchmark 1: the cost of ftcv's drift and curve recording against the same plain fastai fit.

Same model (mobilenet_v2 from `make_learner`), data (sign-language digits at 64 px), epochs and seed; the two variants
alternate in ABBA order (plain, recorded, recorded, plain, ...), one epoch each; the ratio is the median over the
repeats of each adjacent pair's ratio, which cancels slow changes in the machine's load.
Bar: ratio <= 1.03 for a frozen-body fit and for a full fine-tune (on GPU too when there is one).
On the CPU the bar applies to the process's CPU time per epoch, which other tenants of a shared machine do not
inflate; the wall-time ratio is printed beside it. On a GPU it applies to wall time (synchronised).
The recorders' own time (CPU time spent inside their callback methods, counted by wrapping them) is reported as a
fraction of the recorded fits' time: the overhead without the noise of comparing two runs."""
import statistics, sys, time
from _common import parser, header, quiet, interleaved, table, finish, EpochTimer, FitTimer

from ftcv.core import get_profile, seed_everything
from ftcv.data import manifest_dls
from ftcv.models import make_learner
from ftcv.record import DriftRecorder, CurveRecorder

BAR = 1.03
SELF = {'s': 0.0}  # CPU seconds spent inside the recorders' callbacks

def _count_self_time():
    "Wrap the recorders' event methods so that the CPU time spent in them adds up in `SELF`."
    import ftcv.record as rec
    for cls in (rec.DriftRecorder, rec.CurveRecorder, rec._FitRecorder):
        for name in ('before_fit', 'before_train', 'after_batch', 'after_epoch', 'after_fit'):
            f = cls.__dict__.get(name)
            if f is None: continue
            def timed(self, *a, _f=f, **k):
                t = time.process_time()
                try: return _f(self, *a, **k)
                finally: SELF['s'] += time.process_time() - t
            setattr(cls, name, timed)

def fit(dls, unfreeze:bool, record:bool, epochs:int, device:str, seed:int=0):
    "One seeded fit; returns its epoch times, and the whole fit's time last."
    seed_everything(seed)
    learn = make_learner(dls)
    if unfreeze: learn.unfreeze()
    timers = [EpochTimer(), FitTimer()]
    rec = [CurveRecorder(), DriftRecorder()] if record else []
    self0, cpu0 = SELF['s'], time.process_time()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-3 if unfreeze else 1e-2, cbs=timers + rec)
    if record: assert len(rec[1].group_drift) and len(rec[0].batches)  # the recorders did record
    return list(zip(timers[0].times, timers[0].cpu_times)), (timers[1].times[0], SELF['s'] - self0, time.process_time() - cpu0)

def measure(dls, unfreeze, epochs, repeats, device):
    fits = {}
    def variant(record):
        def run():
            ep, total = fit(dls, unfreeze, record, epochs, device)
            fits.setdefault(record, []).append(total)
            return ep
        return run
    times = interleaved({'fastai': variant(False), 'ftcv': variant(True)}, repeats)
    own = sum(f[1] for f in fits[True]) / sum(f[2] for f in fits[True])
    wall = {k: statistics.median(t for t, _ in v) for k, v in times.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    timed, i = (cpu, 1) if device == 'cpu' else (wall, 0)
    paired = lambda j: statistics.median(b[j] / a[j] for a, b in zip(times['fastai'], times['ftcv']))
    return dict(fit='full fine-tune' if unfreeze else 'frozen body', device=device, epochs=f"{repeats} x {epochs}",
                batches_per_variant=repeats * epochs * len(dls.train),
                fastai_epoch_s=timed['fastai'], ftcv_epoch_s=timed['ftcv'], ratio=paired(i),
                ratio_of_medians=timed['ftcv'] / timed['fastai'], wall_ratio=paired(0),
                whole_fit_wall_ratio=statistics.median(f[0] for f in fits[True]) / statistics.median(f[0] for f in fits[False]),
                recorders_own_time=f"{own:.2%}")

def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    quiet()
    header('Benchmark 1: instrumentation overhead (ftcv recorders vs plain fastai)', args)
    _count_self_time()
    devices = ['cpu'] + (['cuda'] if __import__('torch').cuda.is_available() else [])
    rows, checks = [], []
    for device in devices:
        prof = get_profile('smoke' if device == 'cpu' else 'gpu', size=32 if args.quick else 64, device=device)
        dls = manifest_dls('signs', prof, seed=0)
        for unfreeze in (False, True):
            r = measure(dls, unfreeze, epochs=1, repeats=2 if args.quick else 6, device=device)
            rows.append(r)
            checks.append((f"{r['fit']} on {device}: ftcv/fastai epoch {'CPU' if device == 'cpu' else 'wall'} time, median of paired ratios <= {BAR}", f"{r['ratio']:.3f}", r['ratio'] <= BAR))
            own = float(r['recorders_own_time'].rstrip('%')) / 100
            checks.append((f"{r['fit']} on {device}: recorders' own CPU time <= {BAR - 1:.0%} of the fit", r['recorders_own_time'], own <= BAR - 1))
    if len(devices) == 1: checks.append(("GPU: ftcv/fastai <= 1.03", "not measured: no GPU available", None))
    print(table(rows))
    return finish(checks)

if __name__ == '__main__': sys.exit(main())
