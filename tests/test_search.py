"""`ftcv search` as workers run it: a worker killed mid-trial (SIGKILL) leaves the study consistent and a new worker
completes it; usage and data errors exit 2 and 1 without a traceback."""
import os, signal, subprocess, sys, time
import optuna
import pytest
from optuna.trial import TrialState

from ftcv.store import RunStore, optuna_storage


def search_args(data, url, study, trials, *more):
    return [sys.executable, '-m', 'ftcv.cli', 'search', str(data), '--strategy', 'head', '--trials', str(trials), '--storage', url,
            '--study', study, '--size', '32', '--epochs', '2', '--profile', 'smoke', *more]

def states(url, study):
    return {t.number: t.state for t in optuna.load_study(study_name=study, storage=optuna_storage(url)).trials}

def test_killed_worker_then_resume(tiny, tmp_path):
    url, study = f'sqlite:///{tmp_path}/search.db', 'kill'
    args = search_args(tiny, url, study, 3, '--heartbeat', '1', '--pruner', 'none', '--worker', '--out', str(tmp_path))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    worker = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline, seen = time.time() + 240, {}
    while time.time() < deadline and worker.poll() is None:
        try: seen = states(url, study)
        except (KeyError, optuna.exceptions.StorageInternalError): seen = {}  # the study is not created yet
        if TrialState.COMPLETE in seen.values() and TrialState.RUNNING in seen.values(): break
        time.sleep(0.1)
    assert worker.poll() is None, worker.stdout.read()[-3000:]
    os.kill(worker.pid, signal.SIGKILL); worker.wait()
    killed = [n for n, s in seen.items() if s == TrialState.RUNNING]
    before = optuna.load_study(study_name=study, storage=optuna_storage(url))
    done = {t.number: t.value for t in before.trials if t.state == TrialState.COMPLETE}
    assert len(killed) == 1 and done, seen
    assert before.trials[killed[0]].state == TrialState.RUNNING  # consistent: the dead worker's trial is simply unfinished
    time.sleep(2.5)  # past the grace period (twice the 1 s heartbeat)
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    after = optuna.load_study(study_name=study, storage=optuna_storage(url))
    assert after.trials[killed[0]].state == TrialState.FAIL  # failed by the new worker's heartbeat check
    finished = [t.number for t in after.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 3 and len(after.trials) == 4
    assert {n: after.trials[n].value for n in done} == done  # no completed trial lost or changed
    assert sorted(RunStore(url).runs('search', study).trial) == sorted(finished)  # each finished trial stored exactly once

@pytest.mark.parametrize('args, code, message', [
    (('--trials', '0'), 2, "'0' is not a positive integer"),
    (('--strategy', 'warp'), 2, "invalid choice: 'warp'"),
    (('--pruner', 'magic'), 2, "invalid choice: 'magic'"),
    (('/no/such/folder',), 1, 'does not exist'),
    (('--storage', '/no/such/dir/x.db'), 1, "Cannot open the results store 'sqlite:////no/such/dir/x.db'"),
    (('--space', '/no/space.toml'), 1, 'Search space file /no/space.toml does not exist'),
])
def test_bad_arguments(args, code, message, tmp_path):
    r = subprocess.run([sys.executable, '-m', 'ftcv.cli', 'search', '--profile', 'smoke', '--out', str(tmp_path/'o'), *args],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == code, (r.returncode, r.stderr)
    assert message in r.stderr and 'Traceback' not in r.stderr

def test_bad_space_file(tmp_path):
    (tmp_path/'space.toml').write_text('[nuisance]\nwarp = {low = 1, high = 2}\n')
    r = subprocess.run([sys.executable, '-m', 'ftcv.cli', 'search', '--space', str(tmp_path/'space.toml'), '--profile', 'smoke', '--out', str(tmp_path/'o'),
                        '--storage', f'{tmp_path}/s.db'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "Parameter 'warp' in [nuisance]" in r.stderr and 'Traceback' not in r.stderr
