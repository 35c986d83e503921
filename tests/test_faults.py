"""Faults during long runs: a diverging run is stopped and marked while the others go on; SIGKILL or Ctrl-C during
`ftcv compare` keeps every finished run, and `--resume` gives the same final table as an uninterrupted run."""
import json, signal, shutil, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest
from fastai.test_utils import synth_learner
from fastai.vision.all import Callback, set_seed

from ftcv.core import get_profile
from ftcv.data import load_manifest
from ftcv.compare import compare, DivergenceGuard
from ftcv.results import load_comparison, finished_runs, DONE

ARGS = ('--strategies', 'head,probe,full,lpft', '--seeds', '1', '--size', '32', '--epochs', '2', '--bs', '8', '--profile', 'smoke', '--quiet')  # lpft: a probe and a fine-tuning epoch
WALL = ['seconds', 'setup_seconds']  # wall-time columns differ between runs

@pytest.fixture(scope='module')
def folder(tmp_path_factory) -> Path:
    "Three classes of ten real sign-language photos."
    root = tmp_path_factory.mktemp('faults')/'data'
    signs = load_manifest('signs')
    for p in signs[signs.label.isin(['0', '1', '2'])].groupby('label').head(10).path:
        (root/Path(p).parent.name).mkdir(parents=True, exist_ok=True); shutil.copy(p, root/Path(p).parent.name)
    return root

def _interruptible():
    "Ctrl-C's default for the child: a pytest-xdist worker ignores SIGINT, and an ignored signal stays ignored across exec."
    signal.signal(signal.SIGINT, signal.SIG_DFL)

def start(folder, out, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, '-m', 'ftcv.cli', 'compare', str(folder), *ARGS, '--out', str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_interruptible)

def comparable(out:Path) -> pd.DataFrame:
    "The final results table without wall times (also inside `notes`, e.g. the probe's feature_seconds)."
    r = pd.read_csv(out/'results.csv').drop(columns=WALL)
    r['notes'] = [json.dumps({k: v for k, v in json.loads(n).items() if not k.endswith('seconds')}) for n in r.notes]
    return r

@pytest.fixture(scope='module')
def uninterrupted(folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('whole')/'out'
    p = start(folder, out)
    stdout, stderr = p.communicate(timeout=600)
    assert p.returncode == 0, stderr[-3000:]
    return out

def interrupt_after_first_run(folder, out, sig) -> subprocess.Popen:
    "Start `ftcv compare`, wait for its first completion marker, then send `sig`."
    p = start(folder, out)
    deadline = time.time() + 300
    while not list((out/'runs').glob(f'*/{DONE}')):
        assert p.poll() is None, p.communicate()[1][-3000:]
        assert time.time() < deadline, 'no run finished in 300 s'
        time.sleep(0.02)
    p.send_signal(sig)
    return p

@pytest.mark.parametrize('sig', [signal.SIGKILL, signal.SIGINT], ids=['SIGKILL', 'SIGINT'])
def test_interrupt_and_resume_gives_the_same_table(folder, tmp_path, uninterrupted, sig):
    out = tmp_path/'out'
    p = interrupt_after_first_run(folder, out, sig)
    stdout, stderr = p.communicate(timeout=120)
    if sig == signal.SIGKILL: assert p.returncode == -signal.SIGKILL
    else:
        assert p.returncode == 130, (p.returncode, stdout[-2000:], stderr[-2000:])
        assert 'interrupted; the finished runs are kept' in stderr and '--resume' in stderr
        assert 'Traceback' not in stderr
    kept = finished_runs(out)
    assert 1 <= len(kept) < 4, sorted(kept)  # killed with work done and work left
    before = {k: (out/'runs'/f'{k[0]}-seed{k[1]}'/'run.json').read_text() for k in kept}
    r = subprocess.run([sys.executable, '-m', 'ftcv.cli', 'compare', str(folder), *ARGS, '--out', str(out), '--resume'],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('finished earlier, kept') == len(kept)
    for k, text in before.items(): assert (out/'runs'/f'{k[0]}-seed{k[1]}'/'run.json').read_text() == text  # not redone
    pd.testing.assert_frame_equal(comparable(out), comparable(uninterrupted))
    assert sorted(finished_runs(out)) == [('full', 0), ('head', 0), ('lpft', 0), ('probe', 0)]
    assert not list(out.rglob('*.tmp'))

def test_same_seed_same_numbers_across_processes(uninterrupted, folder, tmp_path):
    "Two uninterrupted runs of the command on a CPU give identical metrics."
    p = start(folder, tmp_path/'again')
    _, stderr = p.communicate(timeout=600)
    assert p.returncode == 0, stderr[-3000:]
    pd.testing.assert_frame_equal(comparable(tmp_path/'again'), comparable(uninterrupted))

def test_divergence_is_marked_and_the_others_go_on(folder, tmp_path):
    "`full` at an absurd LR diverges in epoch 1: marked with its epoch, its run saved; `head` after it trains normally."
    dataset = tmp_path/'manifest'
    from ftcv.folders import folder_manifest
    folder_manifest(folder, dataset)
    cmp = compare(dataset, strategies=['full', 'head'], seeds=[0], profile=get_profile('smoke', size=32, epochs=2, bs=8),
                  progress=False, out=tmp_path/'out', params={'full': {'lr': 1e10}})
    r = cmp.results.set_index('strategy')
    assert r.loc['full', 'status'] == 'diverged' and r.loc['full', 'diverged_epoch'] == 1
    assert r.loc['head', 'status'] == 'ok' and pd.isna(r.loc['head', 'diverged_epoch']) and r.loc['head', 'epochs'] == 2
    assert r.test_loss.map(lambda v: v == v and abs(v) < float('inf')).all()  # the restored weights score finitely
    assert sorted(finished_runs(tmp_path/'out')) == [('full', 0), ('head', 0)]
    assert 'full seed 0 diverged (loss NaN or infinite) in epoch 1' in (tmp_path/'out'/'summary.md').read_text()
    assert load_comparison(tmp_path/'out').summary.loc['full', 'diverged'] == 1

def test_divergence_via_the_command(folder, tmp_path):
    "`--lr 1e10`: every run diverges, each is marked, the command still writes its tables and exits 0."
    r = subprocess.run([sys.executable, '-m', 'ftcv.cli', 'compare', str(folder), '--strategies', 'head,full', '--seeds', '1',
                        '--size', '32', '--epochs', '1', '--bs', '8', '--profile', 'smoke', '--lr', '1e10', '--quiet', '--out', str(tmp_path/'out')],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert r.stdout.count('(diverged in epoch 1: best weights restored)') == 2  # the progress line of each run
    for name in ('head', 'full'): assert f'{name} seed 0 diverged (loss NaN or infinite) in epoch 1' in r.stdout  # the notes
    assert set(pd.read_csv(tmp_path/'out'/'results.csv').status) == {'diverged'}

class _Weights(Callback):
    order = DivergenceGuard.order - 1
    def before_fit(self): self.seen = []
    def after_epoch(self): self.seen.append(self.learn.model.a.item())

def test_guard_restores_the_best_epoch():
    "A loss that stays finite for an epoch, then blows up: the weights of the best finished epoch come back."
    set_seed(0)
    learn = synth_learner(n_trn=4, lr=1e3)
    learn.add_cbs([w := _Weights(), guard := DivergenceGuard()])
    with learn.no_bar(), learn.no_logging(): learn.fit(5)
    assert guard.diverged_epoch == 2 and len(w.seen) >= 1
    assert learn.model.a.item() == w.seen[0]  # epoch 1's weights (the only finite validation loss)
