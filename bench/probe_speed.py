"""Benchmark 2: `probe` on cached bottleneck features against fastai's frozen-body `fit_one_cycle`.

Same data (sign-language digits at 64 px), architecture (mobilenet_v2), number of head epochs and seeds. The timed
part is the head training only: fastai's fit over images through the frozen body, and probe's fit of a linear layer
on features computed once. Feature extraction (one pass of the body over train, valid and test, then kept in memory
for every later seed) is reported beside it, and counted in a second ratio. Test accuracy is the mean over the seeds.
Bars: head training >= 20x faster; mean test accuracy within 1 point."""
import statistics, sys
from _common import parser, header, interleaved, table, finish, FitTimer

from ftcv.core import get_profile, seed_everything
from ftcv.data import manifest_dls, test_dl
from ftcv.models import make_learner
from ftcv.record import evaluate
from ftcv.strategies import probe

SPEEDUP, POINTS = 20, 1.0

def fastai_frozen(prof, seed, epochs, lr):
    dls = manifest_dls('signs', prof, seed=seed)
    seed_everything(seed)
    learn = make_learner(dls)  # vision_learner: pretrained body frozen, fastai's head
    timer = FitTimer()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr, cbs=timer)
    return [dict(seed=seed, head_s=timer.times[0], acc=evaluate(learn, test_dl(dls)).metrics['accuracy'], features_s=0.0)]

def cached_probe(prof, seed, epochs, lr):
    dls = manifest_dls('signs', prof, seed=seed)
    timer = FitTimer()
    run = probe(dls, seed=seed, profile=prof, epochs=epochs, lr=lr, cbs=[timer])
    with run.learn.no_bar(): acc = evaluate(run.learn, run.learn.eval_dl).metrics['accuracy']
    return [dict(seed=seed, head_s=timer.times[0], acc=acc, features_s=run.notes['feature_seconds'],
                 logreg_acc=run.notes['logreg_test_accuracy'])]

def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    header('Benchmark 2: cached-feature probe vs fastai frozen body', args)
    prof = get_profile('cpu', size=32 if args.quick else 64)
    epochs, seeds, lr = (2, [0], 1e-2) if args.quick else (4, [0, 1, 2], 1e-2)
    res = {'fastai': [], 'probe': []}
    for seed in seeds:
        r = interleaved({'fastai': lambda: fastai_frozen(prof, seed, epochs, lr), 'probe': lambda: cached_probe(prof, seed, epochs, lr)}, 1)
        for k in res: res[k] += r[k]
    f, p = res['fastai'], res['probe']
    head_f, head_p = sum(r['head_s'] for r in f), sum(r['head_s'] for r in p)
    feats = sum(r['features_s'] for r in p)
    acc_f, acc_p = statistics.mean(r['acc'] for r in f), statistics.mean(r['acc'] for r in p)
    rows = [dict(method='fastai frozen body, fit_one_cycle', epochs=epochs, seeds=len(seeds), head_training_s=head_f,
                 feature_extraction_s=0.0, test_accuracy=acc_f, per_seed=' '.join(f"{r['acc']:.3f}" for r in f)),
            dict(method='probe on cached features (torch linear head)', epochs=epochs, seeds=len(seeds), head_training_s=head_p,
                 feature_extraction_s=feats, test_accuracy=acc_p, per_seed=' '.join(f"{r['acc']:.3f}" for r in p)),
            dict(method='(probe: scikit-learn logistic regression)', epochs='', seeds=len(seeds), head_training_s='',
                 feature_extraction_s='', test_accuracy=statistics.mean(r['logreg_acc'] for r in p), per_seed='')]
    print(table(rows))
    speed, speed_all = head_f / head_p, head_f / (head_p + feats)
    gap = 100 * abs(acc_p - acc_f)
    print(f"\nhead training speed-up {speed:.0f}x; counting the one feature extraction too: {speed_all:.1f}x")
    return finish([(f"head training >= {SPEEDUP}x faster", f"{speed:.0f}x", speed >= SPEEDUP),
                   (f"test accuracy within {POINTS:g} point (mean over {len(seeds)} seeds)", f"{gap:.2f} points ({acc_f:.4f} vs {acc_p:.4f})", gap <= POINTS)])

if __name__ == '__main__': sys.exit(main())
