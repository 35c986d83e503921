"""`ftcv report` on a store holding compare runs and a search study: one self-contained HTML file that headless
Chromium opens with every figure drawn and no console error."""
import subprocess, sys
from pathlib import Path
import pytest

from ftcv.core import get_profile
from ftcv.data import load_manifest
from ftcv.compare import compare
from ftcv.results import record_comparison
from ftcv.search import run_search, summarize, default_space
from ftcv.store import RunStore

CHROMIUM = Path('/usr/bin/chromium')
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run']

@pytest.fixture(scope='module')
def store_url(tmp_path_factory):
    "A store with a two-strategy comparison and a four-trial search on 8 photos per class and split, 32 px."
    root = tmp_path_factory.mktemp('store')
    load_manifest('signs').groupby(['label', 'split']).head(8).to_csv(root/'manifest.csv', index=False)
    prof, url = get_profile('smoke', size=32, epochs=2), f'sqlite:///{root}/ftcv.db'
    record_comparison(compare(root, strategies=['head', 'probe'], seeds=2, profile=prof, progress=False), url, root, 'mobilenet_v2', prof)
    space = default_space('head')
    study = run_search(root, space, n_trials=5, url=url, study_name='signs-head', profile=prof, pruner='median', progress=False)
    summarize(study, space, RunStore(url), root, profile=prof)
    return url

@pytest.fixture(scope='module')
def report(store_url, tmp_path_factory):
    out = tmp_path_factory.mktemp('report')
    r = subprocess.run([sys.executable, '-m', 'ftcv.cli', 'report', '--storage', store_url, '--out', str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"wrote {out/'index.html'}" in r.stdout
    return out/'index.html'

def test_self_contained(report):
    assert [p.name for p in report.parent.iterdir()] == ['index.html']
    text = report.read_text()
    assert '<script' not in text and 'src="http' not in text and 'href="http' not in text
    for title in ['Comparison of strategies', 'Test accuracy per strategy', 'Validation curves', 'Drift from the pretrained weights',
                  'Study signs-head', 'Best nuisance setting per scientific value', 'Best configuration and the default',
                  'Optimisation history', 'Intermediate values', 'Parallel coordinates', 'Parameter importances']:
        assert title in text, title

@pytest.mark.skipif(not CHROMIUM.exists(), reason='Debian chromium not installed (apt-get install chromium)')
def test_opens_in_headless_chromium(report):
    sync_playwright = pytest.importorskip('playwright.sync_api').sync_playwright
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        page.on('console', lambda m: problems.append(m.text) if m.type == 'error' else None)
        page.on('pageerror', lambda e: problems.append(str(e)))
        page.on('requestfailed', lambda r: problems.append(f'failed {r.url}'))
        page.goto(report.as_uri(), wait_until='load')
        n_images = page.evaluate('document.images.length')
        drawn = page.evaluate('[...document.images].filter(i => i.complete && i.naturalWidth > 100).length')
        title = page.title()
        browser.close()
    assert problems == []
    assert title == 'ftcv report' and n_images >= 7 and drawn == n_images

def test_missing_store(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'ftcv.cli', 'report', '--storage', str(tmp_path/'typo.db'), '--out', str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and 'does not exist' in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path/'typo.db').exists()
