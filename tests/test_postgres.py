"""Two `ftcv search` workers share one study on a real PostgreSQL server (Debian's packages, started on 127.0.0.1 for
the test): every trial is recorded exactly once, in Optuna's tables and in ftcv's."""
import glob, os, shutil, subprocess, sys, tempfile
from pathlib import Path
import optuna
import pytest
from optuna.trial import TrialState

from ftcv.store import RunStore, optuna_storage
from conftest import free_port

PG_BIN = next(iter(sorted(glob.glob('/usr/lib/postgresql/*/bin/pg_ctl'), reverse=True)), None)
pytestmark = pytest.mark.skipif(PG_BIN is None, reason='PostgreSQL server binaries not installed (Debian: apt-get install postgresql)')

@pytest.fixture(scope='module')
def pg_url():
    "A throwaway PostgreSQL server on 127.0.0.1 (run as user postgres when the tests run as root) and a database ftcv."
    bin_, port = Path(PG_BIN).parent, free_port()
    root = Path(tempfile.mkdtemp(prefix='ftcv-pg-'))
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(root, 'postgres'); as_user = ['runuser', '-u', 'postgres', '--']
    run = lambda *cmd: subprocess.run([*as_user, *map(str, cmd)], check=True, capture_output=True, text=True, timeout=120)
    run(bin_/'initdb', '-D', root/'data', '--auth=trust', '--username=ftcv', '--encoding=UTF8')
    run(bin_/'pg_ctl', '-D', root/'data', '-l', root/'log', '-w', '-o', f"-p {port} -c listen_addresses=127.0.0.1 -k {root}", 'start')
    try:
        run(bin_/'createdb', '-h', '127.0.0.1', '-p', port, '-U', 'ftcv', 'ftcv')
        yield f'postgresql+psycopg2://ftcv@127.0.0.1:{port}/ftcv'
    finally:
        run(bin_/'pg_ctl', '-D', root/'data', '-m', 'immediate', 'stop')
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_one_study(pg_url, tiny, tmp_path):
    n, study = 6, 'two-workers'
    workers = [subprocess.Popen([sys.executable, '-m', 'ftcv.cli', 'search', str(tiny), '--strategy', 'head', '--trials', str(n),
                                 '--storage', pg_url, '--study', study, '--size', '32', '--epochs', '2', '--profile', 'smoke',
                                 '--pruner', 'median', '--sampler-seed', str(i), '--heartbeat', '5', '--worker', '--out', str(tmp_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
               for i in (1, 2)]
    outs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [o[-2000:] for o in outs]
    trials = optuna.load_study(study_name=study, storage=optuna_storage(pg_url)).trials
    finished = sorted(t.number for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED))
    assert [t.number for t in trials] == list(range(len(trials))) == finished  # nothing failed or left running
    assert n <= len(finished) <= n + 1  # each worker may finish the trial it was running when the budget was reached
    runs = RunStore(pg_url).runs('search', study)
    assert sorted(runs.trial) == finished  # every trial recorded exactly once in ftcv's table
    assert runs.pid.nunique() == 2  # both workers ran trials
    assert set(runs.state) <= {'COMPLETE', 'PRUNED'}
