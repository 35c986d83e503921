"""Benchmark 2: `probe` on cached bottleneck features against fastai's frozen-body `fit_one_cycle`.

Sign-language digits at 64 px, mobilenet_v2, the same number of head epochs, learning rate (1e-2), batch size (64)
and seeds. Three ways to train a head on the pretrained body:
  probe           ftcv's `probe`: the body runs once over train/valid/test (features kept in memory for every later
                  seed), then a linear layer trains on the features;
  fastai, same    fastai `vision_learner`, frozen body, the same head (average pool + linear) with the body truly
  head            frozen (BatchNorm in eval mode: `train_bn=False` + `BnFreeze`) and no augmentation: the same
                  function as the probe, computed by running the body over the images in every epoch;
  fastai default  fastai's defaults for a frozen body (its two-layer head, `train_bn=True`, `aug_transforms`), one seed.
The timed part is the head training only (the fit); feature extraction is reported beside it and counted in a second
ratio. Test accuracy is the mean over the seeds. Bars, against the same-head fastai fit: head training >= 20x faster,
mean test accuracy within 1 point. The fastai-default row shows what fastai's richer default head adds."""
import statistics, sys
from _common import parser, header, quiet, interleaved, table, finish, FitTimer

from torch import nn
from fastai.vision.all import BnFreeze
from ftcv.core import get_profile, seed_everything
from ftcv.data import manifest_dls, test_dl
from ftcv.models import make_learner
from ftcv.record import evaluate
from ftcv.strategies import probe

SPEEDUP, POINTS, LR, BS = 20, 1.0, 1e-2, 64

def fastai_frozen(prof, seed, epochs, same_head:bool):
    dls = manifest_dls('signs', prof, seed=seed, aug=not same_head)
    seed_everything(seed)
    if same_head:
        head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, len(dls.vocab)))
        learn = make_learner(dls, custom_head=head, train_bn=False, cbs=BnFreeze())
    else: learn = make_learner(dls)  # fastai's head and BatchNorm policy
    timer = FitTimer()
    learn.fit_one_cycle(epochs, LR, cbs=timer)
    return [dict(seed=seed, head_s=timer.times[0], acc=evaluate(learn, test_dl(dls)).metrics['accuracy'], features_s=0.0)]

def cached_probe(prof, seed, epochs):
    dls = manifest_dls('signs', prof, seed=seed)
    timer = FitTimer()
    run = probe(dls, seed=seed, profile=prof, epochs=epochs, lr=LR, cbs=[timer])
    return [dict(seed=seed, head_s=timer.times[0], acc=evaluate(run.learn, run.learn.eval_dl).metrics['accuracy'],
                 features_s=run.setup_seconds, logreg_acc=run.notes['logreg_test_accuracy'])]

def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    quiet()
    header('Benchmark 2: cached-feature probe vs fastai frozen body', args)
    prof = get_profile('smoke', size=32 if args.quick else 64, bs=BS)
    epochs, seeds = (2, [0]) if args.quick else (4, [0, 1, 2, 3, 4])
    res = {'same': [], 'probe': []}
    for seed in seeds:
        r = interleaved({'same': lambda: fastai_frozen(prof, seed, epochs, True), 'probe': lambda: cached_probe(prof, seed, epochs)}, 1)
        for k in res: res[k] += r[k]
    default = fastai_frozen(prof, seeds[0], epochs, False)
    mean = lambda rs, k: statistics.mean(r[k] for r in rs)
    head_s, head_p, feats = sum(r['head_s'] for r in res['same']), sum(r['head_s'] for r in res['probe']), sum(r['features_s'] for r in res['probe'])
    row = lambda name, rs, fe='': dict(method=name, epochs=epochs, seeds=len(rs), head_training_s_per_seed=mean(rs, 'head_s'),
                                       feature_extraction_s=fe, test_accuracy=mean(rs, 'acc'), per_seed=' '.join(f"{r['acc']:.3f}" for r in rs))
    rows = [row('probe on cached features (linear head)', res['probe'], feats),
            row('fastai frozen body, same head, BN frozen, no aug', res['same']),
            row("fastai frozen body, fastai's defaults (2-layer head, train_bn, aug)", default),
            dict(method='(probe: scikit-learn logistic regression)', seeds=len(seeds), test_accuracy=mean(res['probe'], 'logreg_acc'))]
    print(table(rows, list(rows[0])))
    speed, speed_all = head_s / head_p, head_s / (head_p + feats)
    speed_default = default[0]['head_s'] / mean(res['probe'], 'head_s')
    gap = 100 * abs(mean(res['probe'], 'acc') - mean(res['same'], 'acc'))
    gap_default = 100 * (default[0]['acc'] - res['probe'][0]['acc'])
    print(f"\nhead training speed-up over the same-head fastai fit: {speed:.0f}x; counting the one feature extraction too: "
          f"{speed_all:.1f}x. Over fastai's defaults (seed {seeds[0]}): {speed_default:.0f}x, with "
          f"{gap_default:+.1f} points of test accuracy for fastai's default head.")
    return finish([(f"head training >= {SPEEDUP}x faster (same head)", f"{speed:.0f}x", speed >= SPEEDUP),
                   (f"test accuracy within {POINTS:g} point (same head, mean over {len(seeds)} seeds)",
                    f"{gap:.2f} points", gap <= POINTS)])

if __name__ == '__main__': sys.exit(main())
