"""The widgets in a real browser: Voila serves a notebook that re-opens an `ftcv compare` results folder, Playwright
drives Debian's headless Chromium, changes controls and checks that the figures change and the page logs no error."""
import os, shutil, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import ROOT, CHROMIUM, CHROMIUM_ARGS, require_chromium, free_port

ARTEFACTS = ROOT/'.ci'/'out'/'browser'
# Voila's page template asks a CDN for Font Awesome; offline it would fail, so the test answers it with an empty
# stylesheet and checks that nothing else outside 127.0.0.1 was requested.
KNOWN_OUTSIDE = ('font-awesome', 'fontawesome')

require_chromium()
playwright = pytest.importorskip('playwright.sync_api')

@pytest.fixture(scope='module')
def results_folder(tmp_path_factory) -> Path:
    "A real, small `ftcv compare` run: two strategies, one seed, 32 px, 2 epochs on the bundled digits."
    out = tmp_path_factory.mktemp('results')/'cmp'
    subprocess.run([sys.executable, '-m', 'ftcv.cli', 'compare', '--strategies', 'head,full', '--seeds', '1',
                    '--size', '32', '--epochs', '2', '--profile', 'smoke', '--out', str(out)], check=True, cwd=ROOT, timeout=600)
    return out

@pytest.fixture(scope='module')
def voila_url(results_folder, tmp_path_factory):
    "Voila serving tests/browser/widgets.ipynb on 127.0.0.1 with FTCV_RESULTS pointing at the results folder."
    work = tmp_path_factory.mktemp('voila')
    shutil.copy(ROOT/'tests'/'browser'/'widgets.ipynb', work/'widgets.ipynb')
    port = free_port()
    env = dict(os.environ, FTCV_RESULTS=str(results_folder), MPLBACKEND='module://matplotlib_inline.backend_inline')
    log = open(work/'voila.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'voila', 'widgets.ipynb', '--no-browser', f'--port={port}',
                             '--Voila.ip=127.0.0.1'], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}/'
    try:
        for _ in range(120):
            try: urllib.request.urlopen(url + 'voila/static/', timeout=2); break
            except urllib.error.HTTPError: break  # the server answers
            except OSError: time.sleep(0.5)
        yield url
    finally:
        proc.terminate(); proc.wait(20); log.close()
        ARTEFACTS.mkdir(parents=True, exist_ok=True); shutil.copy(work/'voila.log', ARTEFACTS/'voila.log')

def _images(page) -> list: return page.eval_on_selector_all('img[src^="data:image/png"]', 'els => els.map(e => e.src)')

def _changed(page, before:list, timeout:float=60) -> list:
    "Wait until the set of figure images differs from `before`; return it."
    end = time.time() + timeout
    while time.time() < end:
        now = _images(page)
        if now and now != before: return now
        page.wait_for_timeout(250)
    raise AssertionError('the figure did not change after the control changed')

def test_widgets_in_chromium(voila_url):
    start = time.time()
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    errors, outside = [], []
    def route(r):
        if urlparse(r.request.url).hostname in ('127.0.0.1', 'localhost'): return r.continue_()
        outside.append(r.request.url)
        r.fulfill(status=200, body='', content_type='text/css')
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={'width': 1500, 'height': 1000})
        page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.route('**/*', route)
        page.goto(voila_url, timeout=300_000, wait_until='load')
        page.wait_for_selector('.widget-tab img[src^="data:image/png"]', timeout=300_000)
        tabs = [t.strip() for t in page.locator('.lm-TabBar-tabLabel').all_inner_texts()]
        assert tabs == ['comparison', 'curves', 'drift', 'LR finder'], tabs
        page.screenshot(path=str(ARTEFACTS/'widgets-comparison.png'), full_page=True)

        before = _images(page)  # comparison: choose another metric
        page.locator('.widget-dropdown', has_text='metric').locator('select').select_option('test_f1_macro')
        after = _changed(page, before)
        assert len(set(after) - set(before)) == 1  # the comparison figure was redrawn

        page.locator('.lm-TabBar-tab', has_text='drift').click()  # drift: switch the view to lines
        before = _images(page)
        page.locator('.widget-toggle-buttons button', has_text='lines').click()
        _changed(page, before)
        page.screenshot(path=str(ARTEFACTS/'widgets-drift.png'), full_page=True)

        page.locator('.lm-TabBar-tab', has_text='LR finder').click()  # LR finder: move the selected LR with the keyboard
        before = _images(page)
        handle = page.locator('.widget-hslider:visible .noUi-handle').first
        handle.focus(); handle.press('ArrowRight')
        _changed(page, before)
        page.screenshot(path=str(ARTEFACTS/'widgets-lr-finder.png'), full_page=True)
        browser.close()
    assert not errors, errors
    assert all(any(k in u for k in KNOWN_OUTSIDE) for u in outside), outside
    (ARTEFACTS/'timing.txt').write_text(f'test_widgets_in_chromium: {time.time() - start:.1f} s (browser part)\n')
