"""Nothing silently wrong, nothing lost (issue 17, the data and compare side): folders as fastai users keep them, class
names pandas would read as missing, one comparison per output folder, results tied to the pixels they were trained on,
damaged runs named and redone, refused commands that write nothing, and arguments checked once at the declaration.
Each test names the cause it covers; most call `ftcv.cli.main` in-process with tiny settings."""
import errno, json, os, shutil, signal, socket, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest

from test_bad_inputs import cli  # exit code, stdout, stderr of `ftcv ARGS` in-process; a traceback fails
from ftcv.core import FolderLock, get_profile
from ftcv.data import load_manifest, manifest_dls
from ftcv.folders import folder_manifest
from ftcv.data import test_dl as split_dl
from ftcv.compare import compare
from ftcv.results import finished_runs, DONE
from ftcv.record import evaluate
from ftcv.strategies import head

TINY = ('--strategies', 'head', '--seeds', '1', '--size', '32', '--epochs', '1', '--bs', '8', '--profile', 'smoke', '--quiet',
        '--no-lr-finder')

def photos(root:Path, classes=('0', '1', '2'), n:int=10, start:int=0, names:dict|None=None) -> Path:
    "`n` real sign-language photos per class (from the `start`-th) in class subfolders of `root`, renamed by `names`."
    signs = load_manifest('signs')
    for c in classes:
        folder = root/(names or {}).get(c, c)
        folder.mkdir(parents=True, exist_ok=True)
        for p in signs[signs.label == c].path.iloc[start:start + n]: shutil.copy(p, folder)
    return root

def test_class_names_pandas_reads_as_missing(tmp_path, capsys):
    "Classes called None, NA, null, nan stay classes from the folder through the manifest to the DataLoaders and the table."
    data = photos(tmp_path/'data', names={'0': 'None', '1': 'NA', '2': 'nan'})
    man = load_manifest(folder_manifest(data, tmp_path/'m'))
    assert sorted(man.label.unique()) == ['NA', 'None', 'nan'] and man.label.notna().all()
    code, out, err = cli(capsys, 'compare', data, *TINY, '--out', tmp_path/'out')
    assert code == 0, err
    assert list(manifest_dls(tmp_path/'out', get_profile('smoke', size=32)).vocab) == ['NA', 'None', 'nan']

def test_split_folders_in_any_spelling(tmp_path, capsys):
    "Train/, Validation/, TEST/ are splits, not three classes; split folders beside class folders are refused."
    data = tmp_path/'data'
    for split, start in {'Train': 0, 'Validation': 10, 'TEST': 20}.items(): photos(data/split, n=10, start=start)
    code, out, err = cli(capsys, 'compare', data, *TINY, '--out', tmp_path/'out')
    assert code == 0, err
    man = load_manifest(tmp_path/'out')
    assert man.split.value_counts().to_dict() == {'train': 30, 'valid': 30, 'test': 30}
    assert sorted(man.label.unique()) == ['0', '1', '2']
    photos(data/'cats')
    code, out, err = cli(capsys, 'compare', data, *TINY, '--out', tmp_path/'out2')
    assert code == 1 and 'mixes split folders (TEST, Train, Validation) with other folders (cats)' in err

def test_fastai_layout_with_a_separate_test_folder(tmp_path, capsys):
    "fastai's train/ + valid/ with `--test DIR`; without --test the command says what to add."
    data, held = tmp_path/'data', photos(tmp_path/'held-out', n=6, start=30)
    photos(data/'train', n=12); photos(data/'val', n=6, start=12)
    code, out, err = cli(capsys, 'compare', data, *TINY, '--out', tmp_path/'no-test')
    assert code == 1 and 'has train/ and valid/ but no test/ folder' in err and '--test DIR' in err
    code, out, err = cli(capsys, 'compare', data, *TINY, '--test', held, '--out', tmp_path/'out')
    assert code == 0, err
    assert load_manifest(tmp_path/'out').split.value_counts().to_dict() == {'train': 36, 'valid': 18, 'test': 18}
    code, out, err = cli(capsys, 'compare', *TINY, '--test', held)
    assert code == 2 and 'the bundled data has its own test split' in err

def test_out_inside_the_data_folder(tmp_path, capsys):
    "An output folder inside a folder of class folders would become a class (its PNG figures its images): refused."
    data = photos(tmp_path/'data')
    code, out, err = cli(capsys, 'compare', data, *TINY, '--out', data/'results')
    assert code == 1 and 'is inside the data folder' in err
    assert sorted(p.name for p in data.iterdir()) == ['0', '1', '2']

def test_second_run_into_a_held_folder_is_refused(tmp_path, capsys):
    "Two comparisons into one --out: the second is refused naming the first, and writes nothing."
    data, out = photos(tmp_path/'data'), tmp_path/'out'
    out.mkdir()
    other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])  # a live process that holds the folder
    try:
        (out/FolderLock.name).write_text(json.dumps(dict(pid=other.pid, host=socket.gethostname(), what='ftcv compare --out out')))
        code, _, err = cli(capsys, 'compare', data, *TINY, '--out', out)
    finally: other.kill(); other.wait()
    assert code == 1 and f'is in use by ftcv compare --out out (pid {other.pid}' in err
    assert sorted(p.name for p in out.iterdir()) == [FolderLock.name]  # no manifest, no plan: nothing of the second run
    code, _, err = cli(capsys, 'compare', data, *TINY, '--out', out)  # its process is gone: the stale lock is taken over
    assert code == 0, err
    assert not (out/FolderLock.name).exists()

def test_resume_refused_on_changed_pixels_and_nothing_written(tmp_path, capsys):
    "Images overwritten in place change the fingerprint: --resume says what changed, and the refused run replaced no file."
    data, out = photos(tmp_path/'data'), tmp_path/'out'
    assert cli(capsys, 'compare', data, *TINY, '--out', out)[0] == 0
    before = {f: (out/f).read_bytes() for f in ('manifest.csv', 'skipped_images.csv', 'plan.json', 'data.csv')}
    img = sorted((data/'1').iterdir())[0]
    img.write_bytes(img.read_bytes() + b'\0')  # new bytes, same name
    code, _, err = cli(capsys, 'compare', data, *TINY, '--out', out, '--resume')
    assert code == 1 and 'The data changed since the finished runs' in err and '1 image(s) overwritten' in err and img.name in err
    shutil.copy(data/'0'/sorted(os.listdir(data/'0'))[0], data/'2'/'extra.webp')  # an image added
    code, _, err = cli(capsys, 'compare', data, *TINY, '--out', out, '--resume')
    assert code == 1 and 'not those of the finished runs' in err and '1 added' in err
    assert {f: (out/f).read_bytes() for f in before} == before

def test_damaged_run_is_named_and_redone(tmp_path, capsys):
    "A truncated run.json: named without --resume (exit 2), set aside and redone with it; the others are kept."
    out = tmp_path/'out'
    args = ('compare', photos(tmp_path/'data'), *TINY[:1], 'head,probe', *TINY[2:], '--out', out)
    assert cli(capsys, *args)[0] == 0
    (out/'runs'/'probe-seed0'/'run.json').write_text('{"config": {"arch"')
    code, _, err = cli(capsys, *args)
    assert code == 2 and 'probe-seed0/run.json is damaged' in err and '--resume' in err
    code, stdout, err = cli(capsys, *args, '--resume')
    assert code == 0, err
    assert 'head seed 0: finished earlier, kept' in stdout and 'probe-seed0/run.json is damaged' in stdout
    assert sorted(finished_runs(out)) == [('head', 0), ('probe', 0)]
    assert (out/'runs'/'probe-seed0.damaged'/'run.json').is_file()
    (out/'runs'/'head-seed0'/'curves.csv').write_text('')
    code, _, err = cli(capsys, *args)
    assert code == 2 and 'head-seed0/curves.csv is damaged' in err

def test_manifest_without_valid_rows_refused_before_training(tmp_path, capsys):
    "A user manifest whose rows cannot train (no valid split; an empty label) is refused with its file named, before any run."
    rows = load_manifest('signs').groupby(['label', 'split']).head(3)
    rows.assign(split=rows.split.replace('valid', 'train')).to_csv(tmp_path/'manifest.csv', index=False)
    code, _, err = cli(capsys, 'compare', tmp_path, *TINY, '--out', tmp_path/'out')
    assert code == 1 and f"{tmp_path/'manifest.csv'} has no 'valid' rows" in err
    assert not (tmp_path/'out').exists()
    rows.assign(label=rows.label.where(rows.index != rows.index[4], '')).to_csv(tmp_path/'manifest.csv', index=False)
    code, _, err = cli(capsys, 'compare', tmp_path, *TINY, '--out', tmp_path/'out')
    assert code == 1 and 'has an empty label' in err

def test_class_missing_from_the_test_set(tiny):
    "Macro recall and F1 over the classes present, with a warning: a class without test images does not count as recall 0."
    dls = manifest_dls(tiny, get_profile('smoke', size=32), seed=0)
    run = head(dls, seed=0, profile=get_profile('smoke', size=32, epochs=1))
    items = split_dl(dls).dataset.items
    with pytest.warns(UserWarning, match=r"Class\(es\) \['9'\] have no image in the data scored"):
        report = evaluate(run.learn, dls.test_dl(items[items.label != '9'], with_labels=True))
    assert report.absent == ['9'] and '9' not in report.per_class.index
    assert report.metrics['recall_macro'] == pytest.approx(report.per_class.recall.mean())
    assert report.metrics['balanced_accuracy'] == pytest.approx(report.metrics['recall_macro'])

@pytest.mark.parametrize('call, message', [
    (lambda d: head(manifest_dls(d, 'smoke'), lr=-1.0), 'lr=-1.0 is not allowed'),
    (lambda d: head(manifest_dls(d, 'smoke'), epochs=0), 'epochs=0 is not allowed'),
    (lambda d: head(manifest_dls(d, 'smoke'), epochs=-1), 'epochs=-1 is not allowed'),
    (lambda d: compare(d, strategies=['head'], seeds=[0, 0]), 'Seeds are listed twice'),
    (lambda d: compare(d, strategies='head'), 'strategies must be a list of names'),
    (lambda d: compare(d, strategies=['head'], profile='tpu'), "Unknown profile 'tpu'"),
    (lambda d: manifest_dls(d, size=0), 'size=0 must be a positive integer'),
    (lambda d: manifest_dls(d, bs=-2), 'bs=-2 must be a positive integer'),
], ids=['negative lr', 'epochs 0', 'epochs -1', 'repeated seed', 'strategies as a string', 'unknown profile name', 'size 0', 'negative bs'])
def test_library_arguments_checked_once(tiny, call, message):
    "Nonsense arguments to the library are refused with one line, never trained on or taken as 'the default'."
    with pytest.raises((ValueError, TypeError), match=message.replace('(', r'\(').replace(')', r'\)').replace('[', r'\[')):
        call(tiny)

def test_profile_by_name(tiny):
    "compare(profile='smoke') takes the profile by its name (it raised AttributeError)."
    cmp = compare(tiny, strategies=['head'], seeds=[0], profile='smoke', epochs=1, progress=False, lr_finder=False)
    assert cmp.results.epochs.tolist() == [1]

def test_file_name_not_utf8(tmp_path):
    "A file name that is not valid UTF-8 is skipped and named (escaped), not a crash when the manifest is written."
    data = photos(tmp_path/'data')
    shutil.copy(sorted((data/'0').iterdir())[0], os.fsencode(data/'0') + b'/caf\xe9.webp')
    with pytest.warns(UserWarning, match=r'caf\\xe9.webp has a name that is not valid UTF-8'):
        out = folder_manifest(data, tmp_path/'out')
    assert len(load_manifest(out)) == 30

def test_check_out_in_a_missing_folder(tmp_path, capsys):
    "ftcv check --out into a folder that does not exist: a usage error before the work, not after it."
    code, _, err = cli(capsys, 'check', '--out', tmp_path/'missing'/'check.json')
    assert code == 2 and 'does not exist' in err

def test_disk_full_says_resume(tmp_path, capsys, monkeypatch):
    "A full disk (ENOSPC) is one line that says the finished runs are kept and --resume continues."
    import ftcv.compare
    def full(*a, **k): raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(ftcv.compare, 'compare', full)
    code, _, err = cli(capsys, 'compare', *TINY, '--out', tmp_path/'out')
    assert code == 1 and 'No space left on device' in err and 'rerun with --resume' in err

def test_sigterm_says_how_to_resume(tmp_path):
    "SIGTERM (a scheduler's kill) is handled like Ctrl-C: exit 143, one line saying how to resume, no traceback."
    data, out = photos(tmp_path/'data'), tmp_path/'out'
    p = subprocess.Popen([sys.executable, '-m', 'ftcv.cli', 'compare', str(data), *TINY[:1], 'head,probe,full', *TINY[2:],
                          '--out', str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, 'OMP_NUM_THREADS': '1'})
    deadline = time.time() + 300
    while not list((out/'runs').glob(f'*/{DONE}')):
        assert p.poll() is None and time.time() < deadline, p.communicate()[1][-2000:]
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 143, err[-2000:]
    assert 'terminated (SIGTERM); the finished runs are kept' in err and '--resume' in err and 'Traceback' not in err
    assert not (out/FolderLock.name).exists()

def test_lr_finder_leaves_no_models_folder_and_is_not_redone(tmp_path, monkeypatch, tiny):
    """The LR finder saves its weights in a temporary folder (compare left an empty models/ in the working directory), and a
    resumed comparison reuses its tables instead of running it again."""
    monkeypatch.chdir(tmp_path)
    run = lambda **kw: compare(tiny, strategies=['head'], seeds=[0], profile=get_profile('smoke', size=32, bs=8), epochs=1,
                               progress=False, out=tmp_path/'out', **kw)
    first = run()
    assert not (tmp_path/'models').exists()
    again = run(resume=True)
    assert any('was reused from the first run' in n for n in again.notes()), again.notes()
    pd.testing.assert_frame_equal(first.more['lr_suggestions'], again.more['lr_suggestions'])

# Cases found by this issue's own red-team pass (beyond the list).
def test_tiny_image_size_and_batch_of_one(tmp_path, capsys):
    "--size 1 raised ZeroDivisionError mid-run; --bs 1 failed inside BatchNorm: both are refused up front with what to use."
    data = photos(tmp_path/'data')
    code, _, err = cli(capsys, 'compare', data, *TINY, '--size', '1', '--out', tmp_path/'o1')
    assert code == 1 and 'size=1 is too small' in err and 'at least 32 px' in err
    code, _, err = cli(capsys, 'compare', data, *TINY, '--bs', '1', '--out', tmp_path/'o2')
    assert code == 1 and 'Batch size 1 cannot train' in err

def test_image_listed_twice(tmp_path, capsys):
    "A manifest listing one image in train and test ran silently (a leaked test image): refused, naming it."
    rows = load_manifest('signs').groupby(['label', 'split']).head(3)[['path', 'label', 'split']]
    pd.concat([rows, rows.iloc[:1].assign(split='test')]).to_csv(tmp_path/'manifest.csv', index=False)
    code, _, err = cli(capsys, 'compare', tmp_path, *TINY, '--out', tmp_path/'out')
    assert code == 1 and f'lists {rows.path.iloc[0]} 2 times (split(s) test, train)' in err

def test_test_folder_overlapping_the_data(tmp_path, capsys):
    "--test naming the data folder (or a folder inside it) scored on training images silently: refused."
    data = photos(tmp_path/'data')
    for test in (data, data/'0'):
        code, _, err = cli(capsys, 'compare', data, *TINY, '--test', test, '--out', tmp_path/'out')
        assert code == 1 and 'overlaps the data folder' in err

def test_empty_out_and_bundled_names(tmp_path, capsys, monkeypatch):
    "--out '' wrote the results into the working directory; `ftcv compare signs` was 'no such folder' though search takes it."
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, 'compare', *TINY, '--out', '')
    assert code == 2 and 'an empty path' in err
    code, stdout, err = cli(capsys, 'compare', 'signs', *TINY, '--per-class', '3', '--out', tmp_path/'out')
    assert code == 0, err
    assert 'data signs' in stdout

def test_profile_from_the_environment_named(tmp_path, capsys, monkeypatch):
    "A bad FTCV_PROFILE says that the name came from the environment variable."
    monkeypatch.setenv('FTCV_PROFILE', 'bogus')
    code, _, err = cli(capsys, 'compare', *TINY[:-6], '--out', tmp_path/'out')
    assert code == 1 and "Unknown profile 'bogus' (from the FTCV_PROFILE environment variable)" in err

def test_search_takes_the_same_layouts(tmp_path):
    "ftcv search reads data the way compare does: split folders in any spelling, fastai's train/ + valid/ with --test DIR."
    from ftcv.folders import command_dataset
    data, held = tmp_path/'data', photos(tmp_path/'held-out', n=6, start=30)
    photos(data/'Train', n=12); photos(data/'val', n=6, start=12)
    man = load_manifest(command_dataset(data, tmp_path/'out', held, keep=True))
    assert man.split.value_counts().to_dict() == {'train': 36, 'valid': 18, 'test': 18}

def test_search_refuses_a_test_folder_for_the_bundled_data(tmp_path, capsys):
    held = photos(tmp_path/'held-out', n=6, start=30)
    code, _, err = cli(capsys, 'search', 'signs', '--test', held, '--out', tmp_path/'out')
    assert code == 2 and 'the bundled data has its own test split' in err

def test_manifest_saved_in_latin1(tmp_path):
    "A manifest a spreadsheet saved in Latin-1 is named with what to do, not a decoding traceback."
    (tmp_path/'manifest.csv').write_bytes('path,label,split\na.png,café,train\n'.encode('latin-1'))
    with pytest.raises(ValueError, match='is not UTF-8 text: save it as UTF-8'): load_manifest(tmp_path, check_files=False)
