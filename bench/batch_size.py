"""Benchmark 5: the batch-size finder (`ftcv.perf.find_batch_size`).

GPU: binary search with out-of-memory recovery for the largest batch of 224-pixel images that fits, mobilenet_v2
unfrozen, bf16; bar: found in under 30 s. CPU: a power of two chosen from a memory budget (1 GiB here) for the
unfrozen model at 64 px; bars: found in under 30 s, a power of two, and one real training step at that size (forward,
backward, AdamW step) raises this process's resident memory by no more than the budget."""
import os, sys, threading, time
from _common import parser, header, quiet, table, finish

import torch
from ftcv.core import get_profile
from ftcv.data import manifest_dls
from ftcv.models import make_learner
from ftcv.perf import find_batch_size, activation_bytes

LIMIT_S, BUDGET = 30, 2**30

def _rss() -> int:
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')

def peak_step_bytes(model, bs, size) -> int:
    "Peak rise of resident memory over one AdamW training step at batch size `bs`, sampled every millisecond."
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
    base, peak, done = _rss(), [0], threading.Event()
    def sample():
        while not done.is_set(): peak[0] = max(peak[0], _rss()); time.sleep(0.001)
    t = threading.Thread(target=sample); t.start()
    try:
        x, y = torch.randn(bs, 3, size, size), torch.randint(0, 10, (bs,))
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward(); opt.step()
    finally:
        done.set(); t.join()
    return peak[0] - base

def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    quiet()
    header('Benchmark 5: batch-size finder', args)
    rows, checks = [], []
    size = 32 if args.quick else 64
    learn = make_learner(manifest_dls('signs', get_profile('smoke', size=size), seed=0))
    learn.unfreeze()
    start = time.perf_counter()
    bs = find_batch_size(learn, size=size, device='cpu', budget=BUDGET)
    secs = time.perf_counter() - start
    fixed, per = activation_bytes(learn.model, size)
    used = peak_step_bytes(learn.model, bs, size)
    rows.append(dict(device='cpu', model='mobilenet_v2 unfrozen', size=size, budget_MB=BUDGET // 2**20, batch_size=bs,
                     seconds=secs, activations_MB_per_image=per / 2**20, measured_step_peak_MB=used / 2**20))
    checks += [(f"CPU: found in < {LIMIT_S} s", f"{secs:.1f} s", secs < LIMIT_S),
               ("CPU: a power of two", str(bs), bs & (bs - 1) == 0),
               ("CPU: a real step at that size stays within the budget", f"{used / 2**20:.0f} MB of {BUDGET // 2**20} MB", used <= BUDGET)]
    if torch.cuda.is_available():
        model = make_learner(manifest_dls('signs', get_profile('smoke', size=224, bs=16), seed=0)).model
        for p in model.parameters(): p.requires_grad_(True)
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        gbs = find_batch_size(model, size=224, device='cuda', max_bs=8192)
        gsecs = time.perf_counter() - start
        rows.append(dict(device=torch.cuda.get_device_name(0), model='mobilenet_v2 unfrozen, bf16', size=224,
                         budget_MB=torch.cuda.get_device_properties(0).total_memory // 2**20, batch_size=gbs, seconds=gsecs))
        checks.append((f"GPU: found by binary search with OOM recovery in < {LIMIT_S} s", f"{gbs} in {gsecs:.1f} s", gsecs < LIMIT_S))
    else:
        rows.append(dict(device='GPU', model='mobilenet_v2 unfrozen, bf16', size=224, budget_MB='', batch_size='not measured: no GPU available', seconds=''))
        checks.append((f"GPU: found in < {LIMIT_S} s", "not measured: no GPU available", None))
    print(table(rows))
    return finish(checks)

if __name__ == '__main__': sys.exit(main())
