"""The results store under stress: a writer killed mid-transaction leaves whole runs only; unopenable URLs fail clearly."""
import os, signal, subprocess, sys, time
import pytest

from ftcv.store import RunStore, StoreError, optuna_storage

WRITER = """
import sys, pandas as pd
from ftcv.store import RunStore
store = RunStore(sys.argv[1])
big = pd.DataFrame({'epoch': range(3000), 'valid_loss': [0.5] * 3000})
print('ready', flush=True)
while True:
    store.add_runs([dict(kind='compare', strategy='head', seed=i, tables=dict(curves=big, drift=big)) for i in range(5)])
"""

def test_killed_writer_leaves_only_whole_batches(tmp_path):
    url = f'sqlite:///{tmp_path}/runs.db'
    p = subprocess.Popen([sys.executable, '-c', WRITER, url], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == 'ready'
    store = RunStore(url)
    deadline = time.time() + 60
    while len(store.runs()) < 10 and time.time() < deadline: time.sleep(0.05)
    time.sleep(0.37)  # somewhere inside a later batch
    os.kill(p.pid, signal.SIGKILL); p.wait()
    runs = store.runs()
    assert len(runs) >= 10 and len(runs) % 5 == 0, len(runs)
    for name in ('curves', 'drift'):
        t = store.tables(name)
        assert sorted(t.run_id.unique()) == sorted(runs.run_id) and len(t) == 3000 * len(runs)

@pytest.mark.parametrize('url, message', [
    ('/no/such/folder/runs.db', "Cannot open the results store 'sqlite:////no/such/folder/runs.db': unable to open database file"),
    ('nosuchdb://host/x', "Cannot open the results store 'nosuchdb://host/x'"),
    ('postgresql+psycopg2://ftcv:secret@127.0.0.1:9/ftcv', "Cannot open the results store 'postgresql+psycopg2://ftcv:***@127.0.0.1:9/ftcv'"),
])
def test_unopenable_urls(url, message):
    for open_ in (RunStore, optuna_storage):
        with pytest.raises(StoreError) as e: open_(url)
        assert message in str(e.value) and 'secret' not in str(e.value) and 'Give a SQLite file' in str(e.value)
