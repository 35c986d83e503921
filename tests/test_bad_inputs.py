"""Messy input, as a learner's own folder and command line give it: every bad input gets a clear message naming the file
or argument, exit 2 for usage errors and 1 for data errors, and no traceback; unreadable images are skipped and listed.
Inputs are created at test time. Most cases call `ftcv.cli.main` in-process (the same code path as the command, without
paying for an interpreter start per case); `test_messy_folder_end_to_end` runs the real command in a subprocess."""
import dataclasses
import io, json, lzma, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from ftcv.cli import main
from ftcv.core import data_dir
from ftcv.data import load_manifest, load_rgb
from ftcv.models import BUNDLED_WEIGHTS
from ftcv.results import save_run
from ftcv.strategies import STRATEGIES

TINY = ('--seeds', '1', '--size', '32', '--epochs', '1', '--bs', '8', '--profile', 'smoke', '--quiet')
TRIED = []  # every bad input this module tries, for the count in the report

def cli(capsys, *args) -> tuple:
    "Exit code, stdout and stderr of `ftcv ARGS`; an unexpected exception fails the test (it would be a traceback)."
    try: code = main([str(a) for a in args])
    except SystemExit as e: code = e.code
    out = capsys.readouterr()
    assert 'Traceback' not in out.err + out.out
    return code, out.out, out.err

def photos(root:Path, n:int=10, classes=('0', '1', '2')) -> Path:
    "`n` real sign-language photos per class in class subfolders of `root`."
    signs = load_manifest('signs')
    for p in signs[signs.label.isin(classes)].groupby('label').head(n).path:
        (root/Path(p).parent.name).mkdir(parents=True, exist_ok=True); shutil.copy(p, root/Path(p).parent.name)
    return root

def jpeg_bytes(size=(48, 48)) -> bytes:
    b = io.BytesIO(); Image.fromarray(np.random.default_rng(0).integers(0, 255, (*size, 3), dtype=np.uint8)).save(b, 'JPEG'); return b.getvalue()

# Files that cannot be used: skipped with a warning naming each one, and listed in the summary.
UNUSABLE = {
    'corrupt.jpg': lambda p: p.write_bytes(jpeg_bytes()[:2] + b'\x00' * 64 + jpeg_bytes()[66:]),
    'truncated.jpg': lambda p: p.write_bytes(jpeg_bytes()[:len(jpeg_bytes()) // 2]),
    'zero.jpg': lambda p: p.write_bytes(b''),
    'text.png': lambda p: p.write_text('this is not a picture'),
    'notes.txt': lambda p: p.write_text('a note left among the photos'),
    'bomb.png': lambda p: Image.new('1', (9500, 9500)).save(p),  # 90 Mpx > PIL's MAX_IMAGE_PIXELS: decompression-bomb guard
}
UNUSABLE_WHY = {'corrupt.jpg': 'is not an image', 'truncated.jpg': 'is corrupt or truncated', 'zero.jpg': 'is empty (0 bytes)',
                'text.png': 'is not an image', 'notes.txt': 'is not an image file (.txt', 'bomb.png': 'is too large to open safely'}

# Odd but valid images: read as 8-bit RGB with the right colours.
def _grey16(p): Image.fromarray(np.full((40, 40), 32896, np.uint16)).save(p)  # mid-grey in 16 bits
def _palette(p): Image.new('RGB', (40, 40), (0, 0, 255)).convert('P').save(p)
def _palette_transparent(p): im = Image.new('P', (40, 40), 0); im.putpalette([0, 255, 0] * 256); im.save(p, transparency=0)
def _animated(p): f = [Image.new('RGB', (40, 40), c).convert('P') for c in ('red', 'blue')]; f[0].save(p, save_all=True, append_images=f[1:])
ODD = {  # file -> (writer, expected RGB of pixel (0, 0))
    'grey.jpg': (lambda p: Image.new('L', (40, 40), 100).save(p), (100, 100, 100)),
    'grey16.png': (_grey16, (128, 128, 128)),
    'rgba.png': (lambda p: Image.new('RGBA', (40, 40), (255, 0, 0, 0)).save(p), (255, 255, 255)),  # transparent -> white
    'palette.png': (_palette, (0, 0, 255)),
    'palette_transparent.gif': (_palette_transparent, (255, 255, 255)),
    'animated.gif': (_animated, (255, 0, 0)),  # first frame
    'cmyk.jpg': (lambda p: Image.new('CMYK', (40, 40), (0, 255, 255, 0)).save(p), (255, 0, 0)),
    'int32.tif': (lambda p: Image.fromarray(np.full((40, 40), 65535, np.int32), 'I').save(p), (255, 255, 255)),
}

@pytest.mark.parametrize('name', list(ODD))
def test_odd_images_load_as_rgb(tmp_path, name):
    write, rgb = ODD[name]
    write(tmp_path/name)
    img = load_rgb(tmp_path/name)
    assert img.mode == 'RGB' and img.size == (40, 40)
    assert np.abs(np.asarray(img)[0, 0].astype(int) - rgb).max() <= 2, np.asarray(img)[0, 0]
    TRIED.append(f'odd image: {name}')

@pytest.fixture(scope='module')
def messy(tmp_path_factory) -> Path:
    "Three classes of real photos plus every unusable and odd file, and a file outside any class folder."
    root = photos(tmp_path_factory.mktemp('messy')/'data', n=8)
    for i, (name, write) in enumerate(UNUSABLE.items()): write(root/str(i % 3)/name)
    for i, (name, (write, _)) in enumerate(ODD.items()): write(root/str(i % 3)/name)
    (root/'README.md').write_text('my photos')
    return root

def test_messy_folder_end_to_end(messy, tmp_path):
    "The real command: usable images train, unreadable ones are warned about and listed, exit 0, no traceback."
    r = subprocess.run([sys.executable, '-m', 'ftcv.cli', 'compare', str(messy), '--strategies', 'head', *TINY,
                        '--out', str(tmp_path/'out')], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'Traceback' not in r.stderr + r.stdout
    for name, why in UNUSABLE_WHY.items():
        assert f'{name} {why}' in r.stderr, (name, r.stderr[-3000:])  # warned while scanning
        assert f'{name} {why}' in r.stdout  # and listed after the summary
        assert f'{name} {why}' in (tmp_path/'out'/'summary.md').read_text()
    assert 'README.md is not inside a class folder' in r.stdout
    m = pd.read_csv(tmp_path/'out'/'manifest.csv')
    assert set(ODD) <= {Path(p).name for p in m.path}  # every odd but valid image is used
    assert len(pd.read_csv(tmp_path/'out'/'skipped_images.csv')) == len(UNUSABLE) + 1
    TRIED.extend(f'unreadable file: {n}' for n in UNUSABLE); TRIED.append('file outside any class folder')

def _layout(tmp_path, case) -> Path:
    root = tmp_path/'data'
    if case == 'empty class folder': photos(root); (root/'3').mkdir()
    elif case == 'single class': photos(root, classes=('4',))
    elif case == 'too few images in a class': photos(root); shutil.rmtree(root/'2'); photos(root, n=3, classes=('2',))
    elif case == 'class with only unreadable images':
        photos(root); (root/'5').mkdir(); (root/'5'/'a.jpg').write_bytes(b''); (root/'5'/'b.png').write_text('x')
    elif case == 'class in test/ but not in train/': photos(root/'train'); photos(root/'test', n=3, classes=('0', '7'))
    elif case == 'train/ without test/': photos(root/'train')
    elif case == 'train/ too small to carve valid/': photos(root/'train', n=1); photos(root/'test', n=1)
    elif case == 'no images at all': (root/'0').mkdir(parents=True); (root/'0'/'x.txt').write_text('x')
    elif case == 'data folder is a file': root.write_text('not a folder')
    elif case == 'missing data folder': pass
    return root

DATA_ERRORS = {  # case -> text the message must hold (exit 1)
    'empty class folder': 'holds no images',
    'single class': "holds a single class ('4')",
    'too few images in a class': "Class '2'",
    'class with only unreadable images': "Class '5'",
    'class in test/ but not in train/': "class(es) ['7'] appear in the validation or test images but not in train/",
    'train/ without test/': 'has train/ but no test/ folder',
    'train/ too small to carve valid/': 'too few images to carve a stratified validation split',
    'no images at all': 'holds no images',
    'data folder is a file': 'does not exist or is not a folder',
    'missing data folder': 'does not exist',
}

@pytest.mark.parametrize('case', list(DATA_ERRORS))
def test_data_errors_exit_1(capsys, tmp_path, case):
    root = _layout(tmp_path, case)
    code, out, err = cli(capsys, 'compare', root, '--strategies', 'head', *TINY, '--out', tmp_path/'out')
    assert code == 1, (code, err)
    assert DATA_ERRORS[case] in err, err
    assert str(root) in err or str(root.name) in err
    TRIED.append(f'data error: {case}')

USAGE_ERRORS = {  # case -> (arguments, text the message must hold) (exit 2)
    'unknown strategy': (('--strategies', 'head,warp'), 'unknown strategy warp'),
    'no strategy': (('--strategies', ','), "unknown strategy ','"),
    'unknown architecture': (('--arch', 'resnet9000'), "Unknown architecture 'resnet9000': use one of ['convnext_tiny'"),
    'non-numeric size': (('--size', 'big'), "argument --size: 'big' is not a positive integer"),
    'negative size': (('--size', '-32'), "argument --size: '-32' is not a positive integer"),
    'zero epochs': (('--epochs', '0'), "argument --epochs: '0' is not a positive integer"),
    'fractional epochs': (('--epochs', '1.5'), "argument --epochs: '1.5' is not a positive integer"),
    'negative seeds': (('--seeds', '-1'), "argument --seeds: '-1' is not a positive integer"),
    'non-numeric seeds': (('--seeds', 'two'), "argument --seeds: 'two' is not a positive integer"),
    'zero batch size': (('--bs', '0'), "argument --bs: '0' is not a positive integer"),
    'negative LR': (('--lr=-1e-3',), "argument --lr: '-1e-3' is not a positive number"),
    'negative decimal LR': (('--lr', '-0.001'), "argument --lr: '-0.001' is not a positive number"),
    'zero LR': (('--lr', '0'), "argument --lr: '0' is not a positive number"),
    'non-numeric LR': (('--lr', 'fast'), "argument --lr: 'fast' is not a positive number"),
    'NaN LR': (('--lr', 'nan'), "argument --lr: 'nan' is not a positive number"),
    'infinite LR': (('--lr', 'inf'), "argument --lr: 'inf' is not a positive number"),
    'unknown profile': (('--profile', 'tpu'), "invalid choice: 'tpu'"),
}

@pytest.mark.parametrize('case', list(USAGE_ERRORS))
def test_usage_errors_exit_2(capsys, case):
    args, message = USAGE_ERRORS[case]
    code, out, err = cli(capsys, 'compare', *args)
    assert code == 2 and message in err, (code, err)
    assert len([l for l in err.splitlines() if l.startswith('ftcv compare: error')]) == 1  # argparse's one-line message
    TRIED.append(f'usage error: {case}')

def test_check_usage_errors(capsys, tmp_path):
    code, _, err = cli(capsys, 'check', '--seed', '-1')
    assert code == 2 and "argument --seed: '-1' is not a non-negative integer" in err
    code, _, err = cli(capsys, 'check', '--out', tmp_path)
    assert code == 2 and f'{tmp_path} is a folder: name a file' in err
    TRIED.extend(['usage error: check with a negative seed', 'usage error: check --out is a folder'])

def test_out_is_a_file(capsys, tmp_path):
    (tmp_path/'f').write_text('keep me')
    code, _, err = cli(capsys, 'compare', '--out', tmp_path/'f')
    assert code == 2 and f"argument --out: {tmp_path/'f'} cannot be a folder: {tmp_path/'f'} is a file, not a folder" in err
    assert (tmp_path/'f').read_text() == 'keep me'
    TRIED.append('usage error: --out is a file')

@pytest.fixture
def folder(tmp_path) -> Path: return photos(tmp_path/'data')

CLASS_MAPS = {  # case -> (file content, exit code, text the message must hold)
    'class map names a class not in the data': ({'0': [1], '1': [2], '2': [3], 'seven': [4]}, 1, "not in the data: ['seven']"),
    'class map misses a class of the data': ({'0': [1], '1': [2]}, 1, "no entry for the data's class(es) ['2']"),
    'class map names an unknown ImageNet class': ({'0': ['tabbby cat'], '1': [2], '2': [3]}, 1, "did you mean 'tabby'"),
    'class map has an ImageNet id out of range': ({'0': [1000], '1': [2], '2': [3]}, 1, "maps to 1000, which is not an ImageNet class"),
    'class map maps a class to nothing': ({'0': [], '1': [2], '2': [3]}, 1, "Class '0' maps to no ImageNet class"),
    'class map file is not JSON': ('{"0": [1],', 2, 'is not valid JSON'),
    'class map file holds a list': ([1, 2, 3], 2, 'must hold a JSON object'),
    'class map file is missing': (None, 2, 'cannot read'),
}

@pytest.mark.parametrize('case', list(CLASS_MAPS))
def test_bad_class_map(capsys, tmp_path, folder, case):
    content, expected, message = CLASS_MAPS[case]
    path = tmp_path/'map.json'
    if content is not None: path.write_text(content if isinstance(content, str) else json.dumps(content))
    code, _, err = cli(capsys, 'compare', folder, '--strategies', 'last_layer', '--class-map', path, *TINY, '--out', tmp_path/'out')
    assert code == expected and message in err, (code, err)
    if expected == 2: assert str(path) in err
    TRIED.append(case)

def test_batch_larger_than_training_set(capsys, tmp_path, folder):
    code, _, err = cli(capsys, 'compare', folder, '--strategies', 'head', '--seeds', '1', '--size', '32', '--bs', '64',
                       '--profile', 'smoke', '--out', tmp_path/'out')
    assert code == 1 and 'Batch size 64 is larger than the 20 training images' in err and '--bs' in err
    TRIED.append('batch size larger than the training set')

def test_gpu_profile_without_gpu(capsys, tmp_path):
    if torch.cuda.is_available(): pytest.skip('this machine has a GPU')
    code, _, err = cli(capsys, 'compare', '--profile', 'gpu', '--out', tmp_path/'out')
    assert code == 1 and "Profile 'gpu' asks for CUDA" in err
    TRIED.append('GPU profile on a machine without GPU')

def test_resume_other_configuration(capsys, tmp_path, folder):
    "A folder holding runs of another configuration is refused, and its runs are left as they were."
    out = tmp_path/'out'
    run = save_run(out, dict(arch='mobilenet_v2', per_class=None, size=64, bs=8, epochs=1, budget='equal', lr=None, class_map=None, params={}, data='0' * 64),
                   dict(strategy='head', seed=0, test_accuracy=0.5), {'curves': pd.DataFrame(dict(epoch=[0], accuracy=[0.5]))})
    before = (run/'run.json').read_text()
    code, _, err = cli(capsys, 'compare', folder, '--strategies', 'head', *TINY, '--out', out)
    assert code == 2 and 'already holds 1 finished run(s): add --resume' in err
    code, _, err = cli(capsys, 'compare', folder, '--strategies', 'head', *TINY, '--out', out, '--resume')
    assert code == 1 and 'holds runs of another configuration (head seed 0: size: 64 there, 32 now; data:' in err, err
    assert (run/'run.json').read_text() == before
    TRIED.extend(['finished runs in --out without --resume', '--resume into a folder of another configuration'])

def test_corrupt_image_listed_in_a_manifest(capsys, tmp_path, folder):
    "A manifest.csv folder is used as it is: an unreadable file it lists stops the run with a message naming the file."
    rows = [dict(path=str(p), label=p.parent.name, split=s) for p, s in
            zip(sorted(folder.rglob('*.webp')), ['train'] * 7 + ['valid', 'test', 'test'] * 1 + ['train'] * 20)]
    bad = folder/'1'/'broken.jpg'; bad.write_bytes(jpeg_bytes()[:300])
    rows += [dict(path=str(bad), label='1', split='train')] * 1
    df = pd.DataFrame(rows)
    df.loc[df.index[-5:-1], 'split'] = 'valid'
    df.to_csv(folder/'manifest.csv', index=False)
    code, _, err = cli(capsys, 'compare', folder, '--strategies', 'head', *TINY, '--out', tmp_path/'out')
    assert code == 1 and f'{bad} is corrupt or truncated' in err, err
    TRIED.append('corrupt image listed in a manifest.csv')

def test_weights_sha256_mismatch(capsys, tmp_path, tmp_hub, monkeypatch, folder):
    "Bundled weights whose content does not match their sha256: exit 1, the message names the file and both hashes."
    w = BUNDLED_WEIGHTS['mobilenet_v2']
    raw = bytearray(lzma.decompress((data_dir()/'weights'/f'{w.file}.xz').read_bytes())); raw[1000] ^= 0x01
    fake = tmp_path/'fake-data'; (fake/'weights').mkdir(parents=True)
    (fake/'README.md').write_text('a copy of the data folder with tampered weights')
    (fake/'weights'/f'{w.file}.xz').write_bytes(lzma.compress(bytes(raw), preset=0))
    monkeypatch.setenv('FTCV_DATA', str(fake))
    code, _, err = cli(capsys, 'compare', folder, '--strategies', 'head', *TINY, '--out', tmp_path/'out')
    assert code == 1 and f'{w.file}.xz decompresses to a file with sha256' in err and w.sha256 in err, err
    assert not (tmp_hub/'checkpoints'/w.file).exists()
    TRIED.append('weights whose sha256 does not match')

def test_gpu_out_of_memory_message(capsys, tmp_path, folder, monkeypatch):
    "No GPU here: a strategy that raises torch's OutOfMemoryError shows the message path (exit 1, a batch size to try)."
    def oom(*args, **kwargs): raise torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')
    monkeypatch.setitem(STRATEGIES, 'head', dataclasses.replace(STRATEGIES['head'], fit=oom))  # the declared head, failing as a full GPU would
    code, _, err = cli(capsys, 'compare', folder, '--strategies', 'head', *TINY, '--out', tmp_path/'out')
    assert code == 1 and 'Out of GPU memory in head (seed 0) at batch size 8' in err and '--bs 4' in err, err
    TRIED.append('GPU out of memory')

def test_count_of_bad_inputs():
    "Runs last in this module: at least 25 bad inputs were tried, none gave a traceback (each test checks that)."
    print(f"\n{len(TRIED)} bad inputs tried:\n" + '\n'.join(f'  {t}' for t in TRIED))
    assert len(TRIED) >= 25, TRIED
