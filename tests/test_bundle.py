"""The bundled data: budget, hashes, licences, manifests, and a rebuild from the shared source."""
import re
import pandas as pd
import pytest

from ftcv.core import data_dir
from ftcv.data import sha256_file, load_manifest, build_signs, build_cifar, DATASETS
from ftcv.models import BUNDLED_WEIGHTS
from conftest import SHARED

def test_data_under_budget():
    total = sum(f.stat().st_size for f in data_dir().rglob('*') if f.is_file())
    assert total <= 40_000_000, f"data/ holds {total:,} bytes, over the 40 MB budget"

def test_readme_hashes_match_files():
    readme = (data_dir()/'README.md').read_text()
    for f in [data_dir()/d/'manifest.csv' for d in DATASETS] + sorted((data_dir()/'weights').glob('*.xz')):
        assert sha256_file(f) in readme, f"{f} changed: its sha256 is not the one data/README.md lists"
    for w in BUNDLED_WEIGHTS.values():
        assert w.sha256 in readme and w.file in readme

def test_licences_present():
    assert 'Apache License' in (data_dir()/'signs'/'LICENSE').read_text()
    assert re.search(r'Krizhevsky', (data_dir()/'README.md').read_text())

@pytest.mark.parametrize('dataset', list(DATASETS))
def test_manifest_hashes_and_no_leak(dataset):
    df = load_manifest(dataset)
    bad = [p for p, h in zip(df.path, df.sha256) if sha256_file(p) != h]
    assert not bad, f"{len(bad)} files differ from their manifest hash, e.g. {bad[:3]}"
    assert df.groupby('sha256').split.nunique().max() == 1, "the same image sits in two splits"
    assert set(df.split) == {'train', 'valid', 'test'}

@pytest.mark.skipif(not (SHARED/'data').exists(), reason='needs ../shared/data beside the checkout')
def test_rebuild_gives_same_split(tmp_path):
    src = SHARED/'data'
    for build, name, folder in [(build_signs, 'signs', 'sign_language_digits'), (build_cifar, 'cifar10', 'cifar10_subset')]:
        new = build(src/folder, tmp_path/name)
        old = pd.read_csv(data_dir()/name/'manifest.csv', dtype={'label': str})
        pd.testing.assert_frame_equal(new[['path', 'label', 'split']], old[['path', 'label', 'split']])
    # CIFAR files are copied byte for byte, so their hashes must agree too
    assert (new.sha256 == old.sha256).all()
