"""Unit tests of ftcv.perf: the resized-image cache and the CPU batch-size finder (fast; not timed)."""
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch import nn

from ftcv.data import load_manifest
from ftcv.perf import cache_resized, resized_image, find_batch_size, activation_bytes

@pytest.fixture
def tiny_dataset(tmp_path):
    "Six images of two classes (one not square), in a folder with manifest.csv."
    rng = np.random.default_rng(0)
    rows = []
    for i in range(6):
        shape = (40, 60, 3) if i == 0 else (50, 50, 3)
        path = tmp_path/'data'/'img'/f'{i}.png'
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(path)
        rows.append(dict(path=f'img/{i}.png', label=str(i % 2), split=['train', 'valid', 'test'][i % 3]))
    pd.DataFrame(rows).to_csv(tmp_path/'data'/'manifest.csv', index=False)
    return tmp_path/'data'

def _pixels(path):
    with Image.open(path) as img: return np.asarray(img)

def test_cached_images_equal_a_direct_resize(tiny_dataset, tmp_path):
    out = cache_resized(tiny_dataset, 20, tmp_path/'cache')
    src, cached = load_manifest(tiny_dataset), load_manifest(out)
    assert list(cached.label) == list(src.label) and list(cached.split) == list(src.split)
    for s, c in zip(src.path, cached.path):
        with Image.open(s) as img: direct = img.convert('RGB').resize(resized_image(s, 20).size, Image.Resampling.BILINEAR)
        assert np.array_equal(_pixels(c), np.asarray(direct))
    assert Image.open(cached.path[0]).size == (30, 20)  # shorter side 20, aspect ratio kept
    assert all(Image.open(p).size == (20, 20) for p in cached.path[1:])

def test_second_call_reuses_the_cache(tiny_dataset, tmp_path):
    out = cache_resized(tiny_dataset, 20, tmp_path/'cache')
    stamps = {p: (tmp_path/'cache'/p).stat().st_mtime_ns for p in pd.read_csv(out/'manifest.csv').path}
    assert cache_resized(tiny_dataset, 20, tmp_path/'cache') == out
    assert {p: (tmp_path/'cache'/p).stat().st_mtime_ns for p in pd.read_csv(out/'manifest.csv').path} == stamps

def test_changed_image_is_resized_again(tiny_dataset, tmp_path):
    before = load_manifest(cache_resized(tiny_dataset, 20, tmp_path/'cache'))
    Image.fromarray(np.zeros((50, 50, 3), np.uint8)).save(tiny_dataset/'img'/'3.png')
    after = load_manifest(cache_resized(tiny_dataset, 20, tmp_path/'cache'))
    assert after.path[3] != before.path[3] and not (tmp_path/'cache'/before.path[3]).exists()
    assert (_pixels(after.path[3]) == 0).all()
    assert list(after.path.drop(3)) == list(before.path.drop(3))
    assert len(list((tmp_path/'cache'/'images').iterdir())) == 6

def test_sizes_do_not_collide(tiny_dataset, tmp_path):
    a = load_manifest(cache_resized(tiny_dataset, 20, tmp_path/'cache'))
    b = load_manifest(cache_resized(tiny_dataset, 10, tmp_path/'cache10'))
    assert Image.open(b.path[1]).size == (10, 10) and Image.open(a.path[1]).size == (20, 20)

def test_default_cache_folder_follows_FTCV_CACHE(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv('FTCV_CACHE', str(tmp_path/'home'))
    out = cache_resized(tiny_dataset, 12)
    assert out.parent == tmp_path/'home'/'resized' and out.name.endswith('-12px') and (out/'manifest.csv').is_file()

def test_bad_size_is_refused(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match='must be a positive'): cache_resized(tiny_dataset, -1, tmp_path/'c')

def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))

def test_cpu_batch_size_is_a_power_of_two_within_budget():
    model = _net()
    fixed, per = activation_bytes(model, 32)
    assert per > 16 * 32 * 32 * 4  # at least one float feature map of 16x32x32 per image
    budget = 20 * 2**20
    bs = find_batch_size(model, size=32, device='cpu', budget=budget)
    assert bs >= 2 and bs & (bs - 1) == 0
    weights = sum(p.numel() * 4 for p in model.parameters())
    cost = lambda b: 4 * weights + 2 * fixed + b * (2 * per + 3 * 32 * 32 * 4)  # weights, grads, AdamW, activations x2, input
    assert cost(bs) <= budget < cost(2 * bs)  # the next power of two would not fit
    assert find_batch_size(model, size=32, device='cpu', budget=budget, max_bs=4) == 4
    assert find_batch_size(model, size=32, device='cpu', budget=4 * budget) > bs

def test_cpu_batch_size_leaves_the_model_alone():
    model = _net().eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    find_batch_size(model, size=16, device='cpu', budget=2**26)
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())

def test_budget_too_small_raises_a_clear_error():
    with pytest.raises(ValueError, match=r'budget of 0 MB is too small for batch size 2.*Raise `budget`'):
        find_batch_size(_net(), size=32, device='cpu', budget=1000)
    with pytest.raises(ValueError, match='needs `size`'): find_batch_size(_net(), device='cpu')
    with pytest.raises(ValueError, match='min_bs'): find_batch_size(_net(), size=8, device='cpu', min_bs=8, max_bs=4)
