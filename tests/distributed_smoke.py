"""Data-parallel smoke test of fastai's `learn.distrib_ctx()` (run by `torchrun` or `accelerate launch`, see nbs/distributed.md).

Each process trains the same tiny learner on its shard of every batch; DistributedDataParallel averages the gradients,
so at the end every rank holds identical weights. Rank 0 prints one line per rank's weight checksum and the accuracy."""
import sys
import torch
import torch.distributed as dist
from fastai.distributed import DistributedDL, rank_distrib, num_distrib

from ftcv.core import get_profile, seed_everything
from ftcv.data import manifest_dls
from ftcv.models import make_learner

if not torch.cuda.is_available():
    # fastai 2.8.12's DistributedDL sends the shuffled indices with `LongTensor(t).cuda()` ("nccl only works with
    # cuda tensors"); with the gloo backend on CPU the same broadcast works on a CPU tensor.
    def _broadcast(self, t, rank):
        t = torch.LongTensor(t)
        dist.broadcast(t, rank)
        return t.tolist()
    DistributedDL._broadcast = _broadcast

def main(data:str):
    prof = get_profile('gpu' if torch.cuda.is_available() else 'cpu', size=32, epochs=1, bs=16)
    dls = manifest_dls(data, prof, seed=0)
    seed_everything(0)
    learn = make_learner(dls, 'mobilenet_v2', profile=prof)
    # SyncBatchNorm has no CPU kernel: keep plain BatchNorm (statistics per process) on CPU.
    with learn.distrib_ctx(sync_bn=torch.cuda.is_available()):
        learn.fit_one_cycle(1, 1e-2)
        valid = learn.validate()  # every rank takes part: fastai gathers the predictions across ranks
    w = torch.cat([p.detach().flatten().cpu() for p in learn.model.parameters()]).double().sum()
    sums = [w.reshape(1)]
    if dist.is_initialized():
        sums = [torch.zeros(1, dtype=torch.float64) for _ in range(num_distrib())]
        dist.all_gather(sums, w.reshape(1))
    if rank_distrib() == 0:
        print(f"world_size={num_distrib()} backend={dist.get_backend() if dist.is_initialized() else None} "
              f"checksums={[round(float(s), 6) for s in sums]} valid_loss_accuracy={valid}", flush=True)

if __name__ == '__main__':
    main(sys.argv[1])
