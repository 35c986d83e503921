"""`ftcv compare` as a user runs it, on the bundled data and on a folder of their own; determinism on a CPU."""
import shutil, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest

from ftcv.core import get_profile
from ftcv.data import load_manifest
from ftcv.compare import compare

def ftcv(*args):
    return subprocess.run([sys.executable, '-m', 'ftcv.cli', *args], capture_output=True, text=True, timeout=900)

TINY = ('--seeds', '1', '--size', '32', '--epochs', '1', '--profile', 'smoke', '--quiet')

@pytest.fixture(scope='module')
def class_folder(tmp_path_factory):
    "A folder of class subfolders: 12 real sign-language photos per class."
    root = tmp_path_factory.mktemp('imgs')/'signs'
    for p in load_manifest('signs').groupby('label').head(12).path:
        (root/Path(p).parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, root/Path(p).parent.name)
    return root

def test_compare_own_folder_writes_everything(class_folder, tmp_path):
    r = ftcv('compare', str(class_folder), '--strategies', 'head,probe', *TINY, '--out', str(tmp_path/'out'))
    assert r.returncode == 0, r.stderr[-2000:]
    names = {p.name for p in (tmp_path/'out').iterdir()}
    assert {'results.csv', 'summary.csv', 'summary.md', 'curves.csv', 'drift.csv', 'manifest.csv',
            'comparison.png', 'curves.png', 'drift_heatmap.png', 'runs', 'plan.json'} <= names
    assert sorted(p.name for p in (tmp_path/'out'/'runs').iterdir()) == ['head-seed0', 'probe-seed0']
    res = pd.read_csv(tmp_path/'out'/'results.csv')
    assert sorted(res.strategy) == ['head', 'probe'] and res.test_accuracy.between(0, 1).all()
    assert set(res.status) == {'ok'}
    assert '| strategy' in r.stdout and 'Traceback' not in r.stderr

def test_one_budget_for_five_strategies_on_a_class_folder(class_folder, tmp_path):
    "`--epochs N` means N passes over the training images for every strategy, whatever its phases; the table says so."
    r = ftcv('compare', str(class_folder), '--strategies', 'head,full,gradual,lpft,fastai_default', '--seeds', '2', '--size', '32',
             '--bs', '8', '--epochs', '6', '--profile', 'smoke', '--quiet', '--no-lr-finder', '--out', str(tmp_path/'out'))
    assert r.returncode == 0, r.stderr[-2000:]
    res = pd.read_csv(tmp_path/'out'/'results.csv')
    assert res.groupby('strategy').epochs.agg(set).to_dict() == {s: {6} for s in ('head', 'full', 'gradual', 'lpft', 'fastai_default')}
    assert {'steps', 'seconds', 'setup_seconds', 'trainable_params', 'converged'} <= set(res.columns)
    summary = pd.read_csv(tmp_path/'out'/'summary.csv', index_col=0)
    assert summary.loc['fastai_default', 'verdict'] == 'baseline'
    assert {'diff_low', 'diff_high', 'verdict', 'seeds_needed'} <= set(summary.columns)
    assert 'Equal budgets' in r.stdout and 'vs fastai_default [95% CI]' in r.stdout
    r = ftcv('compare', str(class_folder), '--strategies', 'gradual', '--seeds', '1', '--size', '32', '--bs', '8', '--epochs', '4',
             '--profile', 'smoke', '--quiet', '--out', str(tmp_path/'out2'))
    assert r.returncode == 1 and 'gradual needs a budget of at least 6 epochs' in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_same_seed_same_numbers_on_cpu():
    prof = get_profile('smoke', size=32, epochs=1)
    a = compare('signs', strategies=['head', 'full'], seeds=[3], profile=prof, progress=False).results
    b = compare('signs', strategies=['head', 'full'], seeds=[3], profile=prof, progress=False).results
    cols = [c for c in a if c.startswith(('test_', 'best_', 'drift_'))]
    pd.testing.assert_frame_equal(a[cols], b[cols])

@pytest.mark.parametrize('args, code, message', [
    (('--strategies', 'head,warp'), 2, "unknown strategy warp"),
    (('--arch', 'resnet9000'), 2, "Unknown architecture 'resnet9000'"),
    (('--seeds', '0'), 2, "'0' is not a positive integer"),
    (('--epochs', '-2'), 2, "'-2' is not a positive integer"),
    (('--size', 'big'), 2, "'big' is not a positive integer"),
    (('--profile', 'tpu'), 2, "invalid choice: 'tpu'"),
    (('/no/such/folder',), 1, 'does not exist'),
])
def test_bad_arguments(args, code, message):
    r = ftcv('compare', *args)
    assert r.returncode == code, (r.returncode, r.stderr)
    assert message in r.stderr and 'Traceback' not in r.stderr

def test_out_is_a_file(tmp_path):
    (tmp_path/'f').write_text('keep me')
    r = ftcv('compare', '--out', str(tmp_path/'f'))
    assert r.returncode == 2 and 'is a file' in r.stderr and 'Traceback' not in r.stderr
    assert (tmp_path/'f').read_text() == 'keep me'

def test_single_class_folder(tmp_path, class_folder):
    shutil.copytree(class_folder/'3', tmp_path/'one'/'3')
    r = ftcv('compare', str(tmp_path/'one'), *TINY)
    assert r.returncode == 1 and 'single class' in r.stderr
