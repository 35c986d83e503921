"""Pretrained weights: installed from the bundle by sha256, ImageNet sanity offline, clear errors."""
import lzma
import pytest
import torch
from skimage import data as skdata

from ftcv.core import data_dir
from ftcv.data import sha256_file
from ftcv.models import (BUNDLED_WEIGHTS, WeightsError, install_bundled_weights, pretrained_model, imagenet_topk,
                         hub_checkpoints)

def _flip_one_byte(src, dest, where):
    raw = bytearray(src.read_bytes()); raw[where] ^= 0x01; dest.write_bytes(raw)

def test_installs_into_empty_hub_and_knows_imagenet(tmp_hub):
    model = pretrained_model('mobilenet_v2')
    installed = hub_checkpoints()/'mobilenet_v2-b0353104.pth'
    assert installed.parent == tmp_hub/'checkpoints'
    assert sha256_file(installed) == BUNDLED_WEIGHTS['mobilenet_v2'].sha256
    assert imagenet_topk(model, skdata.chelsea()).class_id[0] in range(281, 286)
    assert imagenet_topk(model, skdata.coffee()).class_id[0] in (967, 968)

@pytest.mark.parametrize('where', ['start', 'middle', 'end'])
def test_one_flipped_byte_in_bundle_is_refused(tmp_hub, tmp_path, where):
    w = BUNDLED_WEIGHTS['mobilenet_v2']
    good = data_dir()/'weights'/f'{w.file}.xz'
    pos = {'start': 40, 'middle': good.stat().st_size//2, 'end': good.stat().st_size - 20}[where]
    (tmp_path/'w').mkdir(); _flip_one_byte(good, tmp_path/'w'/good.name, pos)
    with pytest.raises(WeightsError, match=w.sha256):
        install_bundled_weights('mobilenet_v2', tmp_path/'w')
    assert not (hub_checkpoints()/w.file).exists(), "a corrupted file must not be left where torchvision looks"

def test_corrupted_payload_with_valid_container_is_refused(tmp_hub, tmp_path):
    "A flipped byte inside the weights themselves, re-compressed so xz's own check passes: the sha256 catches it."
    w = BUNDLED_WEIGHTS['mobilenet_v2']
    raw = bytearray(lzma.decompress((data_dir()/'weights'/f'{w.file}.xz').read_bytes())); raw[1000] ^= 0x01
    (tmp_path/'w').mkdir(); (tmp_path/'w'/f'{w.file}.xz').write_bytes(lzma.compress(bytes(raw), preset=0))
    with pytest.raises(WeightsError, match=w.sha256):
        install_bundled_weights('mobilenet_v2', tmp_path/'w')

def test_corrupted_cached_file_is_replaced(tmp_hub):
    w = BUNDLED_WEIGHTS['mobilenet_v2']
    path = install_bundled_weights('mobilenet_v2')
    _flip_one_byte(path, path, 5000)
    with pytest.warns(UserWarning, match='Replacing'):
        assert install_bundled_weights('mobilenet_v2') == path
    assert sha256_file(path) == w.sha256

def test_missing_weights_offline_names_file_and_folder(tmp_hub):
    try: pretrained_model('resnet18')
    except WeightsError as e:
        assert 'resnet18-f37072fd.pth' in str(e) and str(tmp_hub/'checkpoints') in str(e)
    else: pytest.skip('resnet18 weights were downloaded: this machine has network')

@pytest.mark.parametrize('arch', ['mobilenet_v2', 'tf_efficientnet_lite0'])
def test_weights_loaded_with_weights_only(tmp_hub, monkeypatch, arch):
    "Weights files are unpickled with weights_only (torchvision's own builders would pass False)."
    seen = []
    real = torch.load
    def spy(*a, **k): seen.append(k.get('weights_only')); return real(*a, **k)
    monkeypatch.setattr(torch, 'load', spy)
    pretrained_model(arch)
    assert seen, "torch.load was not called"
    major, minor = map(int, torch.__version__.split('.')[:2])
    assert all(v is True or (v is None and (major, minor) >= (2, 6)) for v in seen), seen  # None: torch's default, True since 2.6
