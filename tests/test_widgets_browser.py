"""The widgets in a real browser: Voila serves a notebook that re-opens an `ftcv compare` results folder of every
strategy, Playwright drives Debian's headless Chromium through each tab, changes controls and checks that the figures
change and that the page shows no error text and logs no error."""
import os, shutil, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import ROOT, CHROMIUM, CHROMIUM_ARGS, require_chromium, free_port

ARTEFACTS = ROOT/'.ci'/'out'/'browser'
# Voila's page template asks a CDN for Font Awesome; offline it would fail, so the test answers it with an empty
# stylesheet and checks that nothing else outside 127.0.0.1 was requested.
KNOWN_OUTSIDE = ('font-awesome', 'fontawesome')
ERROR_TEXTS = ('Could not draw', 'Nothing to draw', 'Traceback', 'Error')
TIMES = {}

require_chromium()
playwright = pytest.importorskip('playwright.sync_api')

@pytest.fixture(scope='module')
def results_folder(tmp_path_factory) -> Path:
    "A real, small `ftcv compare` run of every strategy (last_layer is skipped on the digits), two seeds, 32 px, 6 epochs, 4 images per class, with the LR finder."
    out = tmp_path_factory.mktemp('results')/'cmp'
    start = time.time()
    subprocess.run([sys.executable, '-m', 'ftcv.cli', 'compare', '--strategies', 'all', '--seeds', '2', '--epochs', '6', '--size', '32',
                    '--per-class', '4', '--profile', 'smoke', '--quiet', '--out', str(out)], check=True, cwd=ROOT, timeout=600)
    TIMES['ftcv compare (fixture)'] = time.time() - start
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

def _changed(page, before:list, timeout:float=90) -> list:
    "Wait until the set of figure images differs from `before` and no message says 'redrawing…'; return it."
    end = time.time() + timeout
    while time.time() < end:
        now = _images(page)
        if now and now != before and not page.get_by_text('redrawing…').count(): return now
        page.wait_for_timeout(250)
    raise AssertionError('the figure did not change after the control changed')

def _redrawn(page, before:list, n:int=1) -> list:
    "Wait for the redraw; check that exactly `n` figures changed and that the page shows no error text."
    after = _changed(page, before)
    page.wait_for_timeout(500)  # a second figure of the same change (the drift tab has two) has arrived too
    after = _images(page)
    assert len(set(after) - set(before)) == n, (len(set(after) - set(before)), n)
    text = page.locator('body').inner_text()
    assert not [t for t in ERROR_TEXTS if t in text], [t for t in ERROR_TEXTS if t in text]
    return after

def _tab(page, name:str, shot:str):
    page.locator('.lm-TabBar-tab', has_text=name).click()
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTEFACTS/f'widgets-{shot}.png'), full_page=True)

def _control(page, kind:str, label:str):
    "The visible control of widget class `kind` (e.g. 'dropdown') whose description is `label`."
    return page.locator(f'.widget-{kind}:visible', has=page.locator('label', has_text=label))

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
        page = browser.new_page(viewport={'width': 1500, 'height': 1900})  # tall: the drift tab's histograms fit
        page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.route('**/*', route)
        page.goto(voila_url, timeout=300_000, wait_until='load')
        page.wait_for_selector('.widget-tab img[src^="data:image/png"]', timeout=300_000)
        tabs = [t.strip() for t in page.locator('.lm-TabBar-tabLabel').all_inner_texts()]
        assert tabs == ['comparison', 'curves', 'drift', 'LR finder'], tabs
        page.wait_for_function('document.querySelectorAll(\'img[src^="data:image/png"]\').length >= 5', timeout=120_000)
        before = _images(page)
        assert len(before) == 5, len(before)  # comparison, curves, drift and its histogram, LR finder: every tab drew
        page.screenshot(path=str(ARTEFACTS/'widgets-comparison.png'), full_page=True)

        page.evaluate('''() => { window.busy = false;  // whether 'redrawing…' appears while the figure redraws
            new MutationObserver(() => { window.busy ||= document.body.innerText.includes('redrawing'); })
                .observe(document.body, {subtree: true, childList: true, characterData: true}); }''')
        _control(page, 'dropdown', 'metric').locator('select').select_option('test_f1_macro')  # comparison: another metric
        before = _redrawn(page, before)
        assert page.evaluate('window.busy'), "no 'redrawing…' while the figure redrew"

        _tab(page, 'curves', 'curves')  # curves: the default is one seed of full, gradual and lpft; choose other runs
        runs = _control(page, 'select-multiple', 'runs').locator('select')
        names = [o.replace('\xa0', ' ').strip() for o in runs.evaluate('s => [...s.options].map(o => o.textContent)')]
        chosen = runs.evaluate('s => [...s.selectedOptions].map(o => o.index)')
        assert [names[i] for i in chosen] == ['full seed 0', 'gradual seed 0', 'lpft seed 0'], chosen
        assert len(names) == 16, names  # every run can still be chosen
        runs.select_option(index=[names.index(n) for n in ('head seed 0', 'probe seed 1', 'fastai_default seed 1')])
        before = _redrawn(page, before)
        page.screenshot(path=str(ARTEFACTS/'widgets-curves-changed.png'), full_page=True)

        _tab(page, 'drift', 'drift')  # drift: lines instead of the heatmap, another layer, another epoch
        page.locator('.widget-toggle-buttons:visible button', has_text='lines').click()
        before = _redrawn(page, before)
        layer = _control(page, 'dropdown', 'layer').locator('select')
        labels = [o.replace('\xa0', ' ').strip() for o in layer.evaluate('s => [...s.options].map(o => o.textContent)')]
        assert all('(' in l and not l[0].isdigit() for l in labels), labels  # 'stem block 1, layer 1 (Conv2d)', not module paths
        chosen = layer.evaluate('s => s.selectedIndex')
        layer.select_option(index=(chosen + 1) % len(labels))
        before = _redrawn(page, before)
        handle = page.locator('.widget-hslider:visible .noUi-handle').first  # the epoch slider starts at the last epoch
        handle.focus(); handle.press('ArrowLeft')
        before = _redrawn(page, before)
        page.screenshot(path=str(ARTEFACTS/'widgets-drift-changed.png'), full_page=True)

        _tab(page, 'LR finder', 'lr-finder')  # LR finder: move the selected LR with the keyboard
        handle = page.locator('.widget-hslider:visible .noUi-handle').first
        handle.focus(); handle.press('ArrowRight')
        before = _redrawn(page, before)
        page.screenshot(path=str(ARTEFACTS/'widgets-lr-finder-changed.png'), full_page=True)
        browser.close()
    assert not errors, errors
    assert all(any(k in u for k in KNOWN_OUTSIDE) for u in outside), outside
    TIMES['browser part'] = time.time() - start
    (ARTEFACTS/'timing.txt').write_text(''.join(f'test_widgets_in_chromium, {k}: {v:.1f} s\n' for k, v in TIMES.items()))
