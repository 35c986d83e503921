"""The `ftcv` command as a user runs it: the main job, usage errors (exit 2) and data errors (exit 1), no traceback."""
import json, os, subprocess, sys

def ftcv(*args, **env):
    return subprocess.run([sys.executable, '-m', 'ftcv.cli', *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)

def test_check_runs_the_main_job(tmp_path):
    r = ftcv('check', '--profile', 'smoke', '--epochs', '1', '--out', str(tmp_path/'check.json'))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'check.json').read_text())
    assert res['knows_imagenet'] and res['n_test'] == 310
    assert res['test_accuracy'] > 0.3  # chance is 0.1
    assert 'test_accuracy' in r.stdout

def test_usage_error_exits_2():
    r = ftcv('check', '--epochs', 'many')
    assert r.returncode == 2 and "'many' is not a positive integer" in r.stderr and 'Traceback' not in r.stderr

def test_missing_dataset_exits_1_with_message():
    r = ftcv('check', '--dataset', '/no/such/folder')
    assert r.returncode == 1 and 'neither a bundled dataset' in r.stderr and 'Traceback' not in r.stderr

def test_missing_data_folder_exits_1(tmp_path):
    r = ftcv('check', FTCV_DATA=str(tmp_path))
    assert r.returncode == 1 and 'FTCV_DATA' in r.stderr and 'Traceback' not in r.stderr

def test_store_that_cannot_be_opened_exits_1_before_training(tmp_path):
    r = ftcv('compare', '--strategies', 'head', '--seeds', '1', '--out', str(tmp_path/'out'), '--storage', str(tmp_path/'no'/'such'/'dir'/'runs.db'))
    assert r.returncode == 1 and 'Cannot open the results store' in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path/'out'/'runs').exists()  # nothing was trained

def test_one_parser_for_every_command():
    "`ftcv --help` names every command; each command's help lists its own options."
    r = ftcv('--help')
    assert r.returncode == 0 and '{check,compare,search,report}' in r.stdout
    for command, option in [('check', '--dataset'), ('compare', '--strategies'), ('search', '--pruner'), ('report', '--storage')]:
        r = ftcv(command, '--help')
        assert r.returncode == 0 and option in r.stdout, (command, r.stderr)

def test_arch_checked_by_every_command_that_trains():
    for command in ('check', 'compare', 'search'):
        r = ftcv(command, '--arch', 'resnet9000')
        assert r.returncode == 2 and "argument --arch: Unknown architecture 'resnet9000'" in r.stderr and 'Traceback' not in r.stderr
