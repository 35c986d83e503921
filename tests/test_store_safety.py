"""Issue 17 for the results store, `ftcv search` and `ftcv report`: nothing silently wrong, nothing lost. Each test
names the cause it guards against; all run in-process, without training, except where a check must come before it."""
import os, signal, sqlite3, sys, time
from pathlib import Path
import optuna
import pandas as pd
import pytest

from ftcv.core import get_profile
from ftcv.data import load_manifest, data_fingerprint
from ftcv.store import RunStore, StoreError, LOCK_WAIT, optuna_storage, hide_password
from ftcv.results import Comparison, record_comparison
from ftcv.search import run_search, load_space, default_space, data_key
from ftcv.folders import command_dataset
from ftcv.report import build_report
from ftcv.cli import main
import ftcv.search

SMOKE = ['--profile', 'smoke', '--size', '32', '--epochs', '1']

def fake_comparison(strategies=('head', 'probe')) -> Comparison:
    "A finished two-run comparison, as `compare` returns it (no training)."
    s = list(strategies)
    results = pd.DataFrame(dict(strategy=s, seed=[0] * len(s), test_accuracy=[0.5, 0.6][:len(s)], epochs=[1] * len(s),
                                steps=[3] * len(s), seconds=[1.0] * len(s), status=['ok'] * len(s), diverged_epoch=[float('nan')] * len(s),
                                setup_seconds=0.0, trainable_params=1000, test_f1_macro=0.5, test_loss=1.0, best_valid_accuracy=0.5,
                                best_valid_loss=0.9, converged=True, converged_why='', notes='{}'))
    curves = pd.DataFrame(dict(strategy=s, seed=0, phase=0, epoch=1, train_loss=1.0, valid_loss=0.9, accuracy=0.5))
    drift = pd.DataFrame(dict(strategy=s, seed=0, epoch=1, group='head', drift=0.1))
    return Comparison(results, curves, drift, {})

def tables(db:Path) -> set:
    with sqlite3.connect(db) as con: names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    con.close()
    return names

def one_line(err:str, code_ok=True):
    lines = [l for l in err.strip().splitlines() if l]
    assert len(lines) == 1 and 'Traceback' not in err, err
    return lines[0]

# 1. recording the same finished comparison twice (`ftcv compare --resume --storage URL`) stored every run again
def test_recording_twice_adds_nothing(tmp_path):
    url, cmp, prof = f'sqlite:///{tmp_path}/runs.db', fake_comparison(), get_profile('smoke', size=32, epochs=1)
    first = record_comparison(cmp, url, 'signs', 'mobilenet_v2', prof)
    again = record_comparison(cmp, url, 'signs', 'mobilenet_v2', prof)
    assert (len(first.new), len(first.existing), len(again.new), again.existing) == (2, 0, 0, first.new)
    assert str(again) == '0 new run(s), 2 already in the store'
    assert len(RunStore(url).runs('compare')) == 2 and len(RunStore(url).tables('curves')) == 2
    assert RunStore(url).runs('compare').param_data.tolist() == [data_fingerprint('signs')] * 2
    # anything the result depends on makes a new run: parameters, epochs, architecture
    assert len(record_comparison(cmp, url, 'signs', 'mobilenet_v2', prof, config=dict(lr=0.01))) == 2
    assert len(record_comparison(cmp, url, 'signs', 'mobilenet_v2', get_profile('smoke', size=32, epochs=2))) == 2
    assert len(RunStore(url).runs('compare')) == 6
    other = fake_comparison(); other.results['test_accuracy'] = [0.7, 0.8]  # say, run with another LR, config not given
    assert len(record_comparison(other, url, 'signs', 'mobilenet_v2', prof)) == 2  # not taken for the runs above

def test_store_of_an_older_ftcv_gets_identities(tmp_path):
    db = tmp_path/'old.db'
    with sqlite3.connect(db) as con:  # ftcv_runs as ftcv wrote it before identities
        con.execute("CREATE TABLE ftcv_runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, kind VARCHAR(32) NOT NULL, study VARCHAR(256), "
                    "trial INTEGER, dataset VARCHAR(1024), arch VARCHAR(256), profile VARCHAR(32), strategy VARCHAR(64) NOT NULL, "
                    "seed INTEGER, params TEXT, metrics TEXT, seconds FLOAT, created DATETIME, host VARCHAR(256), pid INTEGER, "
                    "CONSTRAINT ftcv_runs_study_trial UNIQUE (study, trial))")
        con.execute("INSERT INTO ftcv_runs (kind, strategy, seed, params, metrics) VALUES ('compare', 'head', 0, '{}', '{}')")
    con.close()
    assert len(RunStore(db, create=False).runs()) == 1  # read as it is, nothing written
    rec = record_comparison(fake_comparison(), db, 'signs', 'mobilenet_v2', get_profile('smoke'))
    assert len(rec) == 2 and len(record_comparison(fake_comparison(), db, 'signs', 'mobilenet_v2', get_profile('smoke'))) == 0
    assert len(RunStore(db).runs()) == 3

# 2. the default study was '<dataset folder>-<strategy>': a study on other data, size or epochs was joined silently
@pytest.fixture
def two_data(tmp_path):
    "Two manifests in folders of the same name, with different images."
    m = load_manifest('signs')
    a, b = tmp_path/'a'/'data', tmp_path/'b'/'data'
    for d, n in ((a, 4), (b, 3)):
        d.mkdir(parents=True)
        m.groupby(['label', 'split']).head(n).to_csv(d/'manifest.csv', index=False)
    return a, b

def test_study_is_that_of_the_data_and_settings(two_data, tmp_path):
    a, b = two_data
    url, prof, space = f'sqlite:///{tmp_path}/s.db', get_profile('smoke', size=32, epochs=1), default_space('head')
    sa_, sb = run_search(a, space, 0, url, profile=prof), run_search(b, space, 0, url, profile=prof)
    assert sa_.study_name == f'data-{data_key(a)[:8]}-head' and sb.study_name != sa_.study_name
    attrs = sa_.user_attrs['ftcv']
    assert (attrs['data_fingerprint'], attrs['size'], attrs['epochs'], attrs['bs'], attrs['arch'], attrs['profile']) == \
           (data_key(a), 32, 1, prof.bs, 'mobilenet_v2', 'smoke')
    with pytest.raises(ValueError, match=r"started on other data or settings \(data_fingerprint"):
        run_search(b, space, 0, url, study_name=sa_.study_name, profile=prof)
    with pytest.raises(ValueError, match=r"\(size 32, now 48, epochs 1, now 3\)"):
        run_search(a, space, 0, url, study_name=sa_.study_name, profile=get_profile('smoke', size=48, epochs=3))
    assert run_search(a, space, 0, url, study_name=sa_.study_name, profile=prof).study_name == sa_.study_name  # same: joined

def test_a_copy_of_the_data_joins_the_same_study(two_data, tmp_path):
    "Workers on other machines hold their own copy (other absolute paths, other modification times): same study."
    import shutil
    a, _ = two_data
    m = load_manifest(a)
    root = os.path.commonpath(list(m.path))
    def copied(p):
        dest = tmp_path/'copy'/os.path.relpath(p, root); dest.parent.mkdir(parents=True, exist_ok=True)
        return str(shutil.copy(p, dest))
    m.assign(path=m.path.map(copied)).to_csv(tmp_path/'copy'/'manifest.csv', index=False)
    assert data_key(tmp_path/'copy') == data_key(a)
    url, space = f'sqlite:///{tmp_path}/s.db', default_space('head')
    name = run_search(a, space, 0, url, profile=get_profile('smoke', size=32, epochs=1)).study_name
    assert run_search(tmp_path/'copy', space, 0, url, study_name=name, profile=get_profile('smoke', size=32, epochs=1)).study_name == name

def test_out_manifest_of_other_data_kept(tmp_path):
    m = load_manifest('signs').groupby(['label', 'split']).head(6)
    folders = []
    for name, rows in (('one', m.iloc[::2]), ('two', m.iloc[1::2])):
        for r in rows.itertuples():
            d = tmp_path/name/r.label; d.mkdir(parents=True, exist_ok=True)
            (d/Path(r.path).name).write_bytes(Path(r.path).read_bytes())
        folders.append(tmp_path/name)
    out = tmp_path/'out'
    command_dataset(folders[0], out, keep=True)
    before = (out/'manifest.csv').read_text()
    with pytest.raises((ValueError, FileExistsError), match='not those of|other data'): command_dataset(folders[1], out, keep=True)
    assert (out/'manifest.csv').read_text() == before

# 3. a store URL naming another application's database got ftcv's and Optuna's tables; report created a store
def test_foreign_database_refused(tiny, tmp_path, capsys):
    other = tmp_path/'shop.db'
    with sqlite3.connect(other) as con: con.execute('CREATE TABLE invoices (id INTEGER)')
    con.close()
    for open_ in (RunStore, optuna_storage):
        with pytest.raises(StoreError, match="holds other tables \\(invoices\\) and none of ftcv's or Optuna's"): open_(other)
    assert main(['report', '--storage', str(other), '--out', str(tmp_path/'r')]) == 1
    assert 'holds no ftcv results' in one_line(capsys.readouterr().err)
    assert main(['search', str(tiny), '--storage', str(other), '--out', str(tmp_path/'o'), *SMOKE]) == 1
    assert "none of ftcv's or Optuna's" in one_line(capsys.readouterr().err)
    assert tables(other) == {'invoices'} and not (tmp_path/'r').exists()
    assert main(['report', '--storage', str(tmp_path/'typo.db'), '--out', str(tmp_path/'r')]) == 1
    assert 'does not exist' in one_line(capsys.readouterr().err) and not (tmp_path/'typo.db').exists()
    (tmp_path/'blank.db').touch()
    assert main(['report', '--storage', str(tmp_path/'blank.db'), '--out', str(tmp_path/'r')]) == 1
    assert (tmp_path/'blank.db').stat().st_size == 0
    RunStore(other, foreign=True)  # asked for explicitly
    assert {'invoices', 'ftcv_runs', 'ftcv_tables'} <= tables(other)

# 4. ftcv search: tracebacks for Ctrl-C, SIGTERM, a locked store, a bad TORCH_HOME or --out, bad space files
def test_search_interrupted(tiny, tmp_path, monkeypatch, capsys):
    args = [str(tiny), '--storage', str(tmp_path/'s.db'), '--out', str(tmp_path/'o'), *SMOKE]
    def interrupted(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(ftcv.search, 'run_search', interrupted)
    assert main(['search', *args]) == 130
    assert one_line(capsys.readouterr().err) == 'ftcv search: interrupted; the finished trials are kept in the study: rerun the same command to continue.'
    class Killed(Exception): pass
    def killed(*a): raise Killed  # what SIGTERM does here if the command does not handle it (instead of killing pytest)
    def terminated(*a, **k):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    old = signal.signal(signal.SIGTERM, killed)
    try:
        monkeypatch.setattr(ftcv.search, 'run_search', terminated)
        assert main(['search', *args]) == 143
        assert 'ftcv search: terminated (SIGTERM); the finished trials are kept' in one_line(capsys.readouterr().err)
        assert signal.getsignal(signal.SIGTERM) is killed  # the handler is restored
    finally: signal.signal(signal.SIGTERM, old)

def test_search_store_failure_one_line(tiny, tmp_path, monkeypatch, capsys):
    def broken(*a, **k): raise optuna.exceptions.StorageInternalError('An exception is raised during the commit.\nmore')
    monkeypatch.setattr(ftcv.search, 'run_search', broken)
    assert main(['search', str(tiny), '--storage', str(tmp_path/'s.db'), '--out', str(tmp_path/'o'), *SMOKE]) == 1
    assert 'the results store failed during the search' in one_line(capsys.readouterr().err)

def test_locked_store_fails_fast(tiny, tmp_path, capsys):
    db = tmp_path/'s.db'
    RunStore(db)
    holder = sqlite3.connect(db); holder.execute('BEGIN EXCLUSIVE')
    try:
        start = time.time()
        assert main(['search', str(tiny), '--storage', str(db), '--out', str(tmp_path/'o'), '--trials', '1', *SMOKE]) == 1
        assert time.time() - start < LOCK_WAIT + 10
        assert 'is locked by another process' in one_line(capsys.readouterr().err)
    finally: holder.rollback(); holder.close()

def test_bad_torch_home_and_out_refused_before_any_trial(tiny, tmp_path, capsys):
    import torch
    afile = tmp_path/'afile'; afile.write_text('x')
    db = tmp_path/'s.db'
    args = [str(tiny), '--storage', str(db), '--trials', '1', '--pruner', 'none', *SMOKE]
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(afile/'hub'))
    try: assert main(['search', *args, '--out', str(tmp_path/'o')]) == 1
    finally: torch.hub.set_dir(old)
    line = one_line(capsys.readouterr().err)
    assert f'{afile} is a file' in line and 'Set TORCH_HOME to a folder you can write to' in line
    with pytest.raises(SystemExit) as e: main(['search', *args, '--out', str(afile/'sub')])  # a usage error, found before anything loads
    assert e.value.code == 2
    assert one_line(capsys.readouterr().err.splitlines()[-1]) == f'ftcv search: error: argument --out: {afile}/sub cannot be a folder: {afile} is a file, not a folder. Name a folder you can write to.'
    assert not db.exists() or not optuna.get_all_study_names(optuna_storage(db))  # no study, no trial

@pytest.mark.parametrize('text, message', [
    ('[nuisance]\nlr = ["a", 1]\n', "[nuisance] of {f} (head): lr='a' is not allowed"),
    ('[nuisance]\nlr = {low = "a", high = 1}\n', "Parameter 'lr' in [nuisance] of {f}: low = 'a' is not a number"),
    ('[nuisance]\nlr = {choices = 0.1}\n', "Parameter 'lr' in [nuisance] of {f}: choices = 0.1 is not a list"),
    ('[fixed]\nepochs = "x"\n', "[fixed] of {f} (head): epochs='x' is not allowed"),
    ('[fixed]\nsize = "big"\n', "[fixed] of {f} (head): size='big' is not allowed"),
    ('[nuisance]\nbs = ["a", 32]\n', "[nuisance] of {f} (head): bs='a' is not allowed"),
])
def test_bad_space_values(text, message, tmp_path, capsys):
    f = tmp_path/'space.toml'; f.write_text(text)
    with pytest.raises(ValueError) as e: load_space(f, 'head')
    assert message.format(f=f) in str(e.value)
    assert main(['search', '--space', str(f), '--storage', str(tmp_path/'s.db'), '--out', str(tmp_path/'o'), *SMOKE]) == 1
    assert message.format(f=f) in one_line(capsys.readouterr().err)

# 5. ftcv report: --out under a file after the work; a malformed or old-schema store gave a traceback
@pytest.fixture
def small_store(tmp_path):
    url = f'sqlite:///{tmp_path}/runs.db'
    record_comparison(fake_comparison(), url, 'signs', 'mobilenet_v2', get_profile('smoke'))
    return url

def test_report_out_under_a_file(small_store, tmp_path, capsys):
    afile = tmp_path/'afile'; afile.write_text('x')
    with pytest.raises(SystemExit) as e: main(['report', '--storage', small_store, '--out', str(afile/'sub')])
    assert e.value.code == 2
    assert one_line(capsys.readouterr().err.splitlines()[-1]) == f'ftcv report: error: argument --out: {afile}/sub cannot be a folder: {afile} is a file, not a folder. Name a folder you can write to.'

@pytest.mark.parametrize('content', [b'just some words, not a database\n' * 50, bytes(range(256)) * 40, b'SQLite format 3\x00' + b'\x07' * 2000])
def test_report_malformed_store(content, tmp_path, capsys):
    db = tmp_path/'bad.db'; db.write_bytes(content)
    assert main(['report', '--storage', str(db), '--out', str(tmp_path/'r')]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith('ftcv report: ') and str(db) in line
    assert db.read_bytes() == content and not (tmp_path/'r').exists()

def test_report_old_optuna_schema(small_store, tmp_path, capsys):
    optuna.create_study(study_name='s', storage=optuna_storage(small_store))
    with sqlite3.connect(tmp_path/'runs.db') as con: con.execute("UPDATE alembic_version SET version_num = 'v1.2.0.a'")
    con.close()
    assert main(['report', '--storage', small_store, '--out', str(tmp_path/'r')]) == 1
    assert 'optuna storage upgrade --storage' in one_line(capsys.readouterr().err)

# 6. a postgresql:// URL without psycopg2 said only "No module named 'psycopg2'"
def test_missing_postgres_driver(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, 'psycopg2', None)  # `import psycopg2` fails as if not installed
    for url in ('postgresql://ftcv:secret@127.0.0.1:9/ftcv', 'postgresql+psycopg2://ftcv:secret@127.0.0.1:9/ftcv'):
        with pytest.raises(StoreError) as e: RunStore(url)
        assert 'pip install "ftcv[postgres]"' in str(e.value) and 'secret' not in str(e.value)
    assert main(['report', '--storage', 'postgresql://ftcv:secret@127.0.0.1:9/ftcv', '--out', str(tmp_path/'r')]) == 1
    err = capsys.readouterr().err
    assert 'pip install "ftcv[postgres]"' in one_line(err) and 'secret' not in err

# 7. a mistyped URL, or a password holding '@', was printed with its password; the report wrote store text as HTML
@pytest.mark.parametrize('url', ['postgresql://ftcv:p@ss-secret@127.0.0.1:9/ftcv', 'postgresql//ftcv:secret@127.0.0.1:9/ftcv',
                                 'postgresql:/ftcv:secret@127.0.0.1:9/ftcv', 'postgres://ftcv:secret@127.0.0.1:9/ftcv'])
def test_password_never_shown(url, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError) as e: RunStore(url)
    assert 'secret' not in str(e.value) and 'ss-' not in str(e.value)
    assert main(['report', '--storage', url, '--out', str(tmp_path/'r')]) == 1
    assert main(['search', '--storage', url, '--out', str(tmp_path/'o'), *SMOKE]) == 1
    out = capsys.readouterr()
    assert 'secret' not in out.err + out.out and 'ss-' not in out.err + out.out, out.err
    assert hide_password(url).count('***') == 1

def test_report_escapes_store_text(tmp_path):
    url, evil = f'sqlite:///{tmp_path}/evil.db', '<img src=x onerror=alert(1)>'
    record_comparison(fake_comparison(['head', evil]), url, 'signs', 'mobilenet_v2', get_profile('smoke'))
    study = optuna.create_study(study_name='<script>alert(2)</script>', storage=optuna_storage(url), direction='maximize')
    study.set_user_attr('ftcv', dict(strategy=evil, dataset=evil, arch=evil))
    study.enqueue_trial({'<b>x</b>': 1.0})
    study.optimize(lambda t: t.suggest_float('<b>x</b>', 0, 2), n_trials=2)
    text = build_report(url, tmp_path/'r').read_text()
    assert '<img src=x' not in text and '<script' not in text and '<b>x' not in text
    assert '&lt;img src=x onerror=alert(1)&gt;' in text and '&lt;script&gt;alert(2)' in text
