"""The docs site as a reader sees it: `docs/build.py` builds it with Sphinx warnings as errors, `python -m http.server`
serves it on 127.0.0.1, and Debian's headless Chromium (driven by Playwright) opens the home page, an API page, the
widgets page and the first lesson, checking content, images, the saved widget figure, internal links, console errors
and that no request leaves 127.0.0.1. Set FTCV_DOCS_SITE to a built site folder to test it without rebuilding."""
import os, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlparse, unquote
import re

import pytest
from conftest import ROOT, CHROMIUM, CHROMIUM_ARGS, require_chromium, free_port

ARTEFACTS = ROOT/'.ci'/'out'/'docs'

require_chromium()
playwright = pytest.importorskip('playwright.sync_api')

@pytest.fixture(scope='module')
def site(tmp_path_factory) -> Path:
    "The built site: FTCV_DOCS_SITE if set, else a fresh build by docs/build.py (sphinx-build -W)."
    if os.environ.get('FTCV_DOCS_SITE'): return Path(os.environ['FTCV_DOCS_SITE'])
    out = tmp_path_factory.mktemp('docs')/'html'
    r = subprocess.run([sys.executable, 'docs/build.py', '--out', str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS/'build.log').write_text(r.stdout + r.stderr)
    assert r.returncode == 0, f'docs build failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}'
    print(r.stdout.strip().splitlines()[-1])
    return out

@pytest.fixture(scope='module')
def base_url(site):
    "`python -m http.server` serving the site on 127.0.0.1."
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'http.server', str(port), '--bind', '127.0.0.1', '--directory', str(site)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f'http://127.0.0.1:{port}/'
    try:
        for _ in range(100):
            try: urllib.request.urlopen(url, timeout=2); break
            except OSError: time.sleep(0.1)
        yield url
    finally: proc.terminate(); proc.wait(10)

def _sidebar(site:Path) -> dict:
    "The sidebar of the home page: {caption: [(href, title), ...]} in order."
    html = (site/'index.html').read_text(encoding='utf-8')
    nav = html[html.index('bd-docs-nav'):]
    nav = nav[:nav.index('</nav>')]
    parts = re.split(r'<span class="caption-text">([^<]+)</span>', nav)
    return {cap: re.findall(r'<a class="reference internal" href="([^"#]+)">([^<]+)</a>', body) for cap, body in zip(parts[1::2], parts[2::2])}

def _next(page:Path) -> str|None:
    "Where the page's 'next' link leads."
    m = re.search(r'class="right-next"\s+href="([^"]+)"', page.read_text(encoding='utf-8'))
    return m.group(1) if m else None

def _text(html:str) -> str:
    "What a reader sees as running text: no code blocks, scripts, styles or typeset maths."
    for tag in ('pre', 'script', 'style', 'code'): html = re.sub(rf'<{tag}\b.*?</{tag}>', ' ', html, flags=re.S)
    html = re.sub(r'<(span|div) class="math[^"]*">.*?</\1>', ' ', html, flags=re.S)
    return re.sub(r'<[^>]+>', ' ', html)

def test_every_source_has_its_own_page(site):
    "No page name collides: 11_search is not hidden by Sphinx's search page, the forgetting API and lesson 10 are two pages."
    import importlib.util
    spec = importlib.util.spec_from_file_location('docs_build', ROOT/'docs'/'build.py')
    build = importlib.util.module_from_spec(spec); spec.loader.exec_module(build)
    sources = build._pages(ROOT/'nbs')
    html = [p for p in site.rglob('*.html') if not {'_static', '_sources'} & set(p.parts) and p.name not in ('genindex.html', 'search.html')]
    assert len(html) == len(sources), (len(html), len(sources))
    assert (site/'11_search.html').exists() and 'def run_search(' in re.sub(r'<[^>]+>', '', (site/'11_search.html').read_text(encoding='utf-8'))
    assert (site/'forgetting.html').exists() and (site/'29_forgetting.html').exists()

def test_no_dead_links_or_anchors(site):
    "Every link between the site's pages leads to a page that exists, and every #anchor to an id on it."
    pages = [p for p in site.rglob('*.html') if not {'_static', '_sources'} & set(p.parts)]
    ids = {p.resolve(): set(re.findall(r'\sid="([^"]+)"', p.read_text(encoding='utf-8'))) for p in pages}
    dead = []
    for p in pages:
        for href in re.findall(r'href="([^"]+)"', p.read_text(encoding='utf-8')):
            if re.match(r'[a-z]+:', href) or href == '#' or '_sources' in href or '_static' in href: continue
            url, frag = urldefrag(href)
            target = (p.parent/unquote(urlparse(url).path)).resolve() if url else p.resolve()
            if not target.exists(): dead.append(f"{p.name}: {href} (no page)")
            elif frag and target in ids and unquote(frag) not in ids[target]: dead.append(f"{p.name}: {href} (no anchor)")
    assert not dead, dead

def test_lessons_first_in_order(site):
    "The sidebar starts with the lessons, each titled 'Lesson N: ...' in order; next-links run home -> lesson 1 -> ... -> lesson N."
    bar = _sidebar(site)
    assert list(bar)[0] == 'Lessons', list(bar)
    lessons = bar['Lessons']
    n_lessons = len([p for p in (ROOT/'nbs').glob('[0-9]*.ipynb') if '#| default_exp' not in p.read_text(encoding='utf-8')])
    assert len(lessons) == n_lessons, lessons
    for i, (href, title) in enumerate(lessons, 1): assert title.startswith(f'Lesson {i}: '), (i, title)
    chain = ['index.html'] + [h for h, _ in lessons]
    for page, nxt in zip(chain, chain[1:]): assert _next(site/page) == nxt, (page, _next(site/page), nxt)
    home = (site/'index.html').read_text(encoding='utf-8')
    body = home[home.index('<article'):home.index('</article>')]
    assert {h for h, _ in lessons} <= set(re.findall(r'href="([^"#]+)"', body)), 'the home page links every lesson'

def test_tables_and_maths_render(site):
    "No page shows a markdown table's raw pipes or raw `$...$`; the pages that have them show tables and typeset maths."
    raw = []
    for p in site.rglob('*.html'):
        if {'_static', '_sources'} & set(p.parts): continue
        text = _text(p.read_text(encoding='utf-8'))
        raw += [f'{p.name}: table {m!r}' for m in re.findall(r'\|\s*:?-{3,}:?\s*\|', text)]
        raw += [f'{p.name}: maths {m!r}' for m in re.findall(r'\$[^\s$][^$\n]{0,160}?\$', text)]
    assert not raw, raw
    lessons = dict((t.split(':')[0], h) for h, t in _sidebar(site)['Lessons'])
    assert '<table' in _text_tables(site/lessons['Lesson 8']), 'lesson 8 decision table'
    assert 'class="math' in (site/lessons['Lesson 9']).read_text(encoding='utf-8')
    assert 'mathjax/tex-svg-full.js' in (site/lessons['Lesson 9']).read_text(encoding='utf-8'), 'MathJax from the site itself'

def _text_tables(page:Path) -> str:
    "The page without code blocks, where a markdown output's table must have become an HTML table."
    return re.sub(r'<pre\b.*?</pre>', ' ', page.read_text(encoding='utf-8'), flags=re.S)

def test_committed_outputs(site):
    "Reference notebooks are committed executed, as the lessons are, and no output names a local path or holds an error."
    import importlib.util, json
    spec = importlib.util.spec_from_file_location('docs_execute', ROOT/'docs'/'execute.py')
    execute = importlib.util.module_from_spec(spec); spec.loader.exec_module(execute)
    reference = execute.reference_notebooks()
    unexecuted = [p.name for p in reference if not any(c.get('outputs') for c in json.loads(p.read_text(encoding='utf-8'))['cells'])]
    assert not unexecuted, f'reference notebooks without outputs (run python docs/execute.py on them): {unexecuted}'
    problems = [line for p in sorted((ROOT/'nbs').glob('*.ipynb')) for line in execute.output_problems(json.loads(p.read_text(encoding='utf-8')), p.name, warnings=False)]
    assert not problems, problems
    assert '<img' in (site/'figures.html').read_text(encoding='utf-8'), 'the Figures page shows its figures'

def test_site_pages(site):
    "Every reference notebook became a page with its API entries, and the search index exists."
    for page in ['index.html', 'compare.html', 'widgets.html', 'search.html', 'searchindex.js']: assert (site/page).exists(), page
    html = (site/'compare.html').read_text(encoding='utf-8')
    import re
    assert 'id="compare"' in html and 'def compare(' in re.sub(r'<[^>]+>', '', html)  # show_doc output of `compare`
    assert 'https://ftcv.github.io' not in html, 'show_doc links should point into this site'
    widgets = (site/'widgets.html').read_text(encoding='utf-8')
    assert 'application/vnd.jupyter.widget-state+json' in widgets
    assert widgets.count('need a running Python kernel') == widgets.count('application/vnd.jupyter.widget-view+json') > 0, 'a note above each saved view'
    assert 'class DriftRecorder(' in re.sub(r'<[^>]+>', '', (site/'record.html').read_text(encoding='utf-8')), 'classes shown as classes'
    assert not [p.name for p in site.glob('*.html') if '__main__.' in p.read_text(encoding='utf-8')], 'types named without __main__'

def _check_page(page, url:str, name:str, outside:list, errors:list) -> dict:
    "Open `url`, screenshot it and return what the checks need."
    errors.clear()
    page.goto(url, wait_until='load', timeout=120_000)
    page.wait_for_load_state('networkidle', timeout=60_000)
    shot = ARTEFACTS/f'{name}.png'
    png = page.screenshot(path=str(shot), full_page=False)
    from PIL import Image
    import io
    colours = Image.open(io.BytesIO(png)).convert('RGB').getcolors(1_000_000)
    imgs = page.eval_on_selector_all('img', 'els => els.map(e => [e.currentSrc.slice(0, 60), e.complete && e.naturalWidth > 0])')
    links = page.eval_on_selector_all('a[href]', 'els => els.map(e => e.href)')
    return dict(colours=len(colours), imgs=imgs, links=links, errors=list(errors), shot=shot)

def test_docs_in_chromium(site, base_url):
    start = time.time()
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    outside, errors = [], []
    def route(r):
        if urlparse(r.request.url).hostname == '127.0.0.1': return r.continue_()
        outside.append(r.request.url); r.abort()
    pages = {'home': 'index.html', 'api-compare': 'compare.html', 'widgets': 'widgets.html'}
    lessons = _sidebar(site)['Lessons']
    pages.update({f'lesson-{i}': lessons[i - 1][0] for i in (1, 6, 8)})
    seen = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={'width': 1400, 'height': 1000})
        page.on('console', lambda m: errors.append(f'{m.type}: {m.text}') if m.type == 'error' else None)
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.on('response', lambda r: errors.append(f'HTTP {r.status}: {r.url}') if r.status >= 400 else None)
        page.route('**/*', route)
        for name, path in pages.items():
            seen[name] = r = _check_page(page, base_url + path, name, outside, errors)
            assert r['colours'] > 50, f'{path} looks blank ({r["colours"]} colours): {r["shot"]}'
            bad = [src for src, ok in r['imgs'] if not ok]
            assert not bad, f'{path}: images that did not load: {bad}'
            assert not r['errors'], f'{path} logged errors: {r["errors"]}'
            if name == 'widgets':
                # the saved widget state renders: Output widgets hold the saved figures as PNG images
                page.wait_for_selector('.widget-output img[src^="data:image/png"], .jupyter-widgets-output-area img[src^="data:image/png"]', timeout=60_000)
                figs = page.eval_on_selector_all('.widget-output img[src^="data:image/png"], .jupyter-widgets-output-area img[src^="data:image/png"]',
                                                 'els => els.map(e => [e.naturalWidth, e.naturalHeight])')
                assert figs and all(w > 100 and h > 100 for w, h in figs), figs
                page.locator('.widget-output img[src^="data:image/png"], .jupyter-widgets-output-area img[src^="data:image/png"]').first.scroll_into_view_if_needed()
                page.screenshot(path=str(ARTEFACTS/'widgets-figure.png'))
            # the sidebar lists every page, and search is there
            assert page.locator('nav.bd-docs-nav a.reference.internal').count() >= 10
            assert page.locator('form[action*="search.html"], .search-button-field, button.search-button').count() > 0
        # search works in the browser (index loaded from the site itself)
        page.goto(base_url + 'search.html?q=compare', wait_until='load')
        page.wait_for_selector('#search-results li, ul.search li', timeout=60_000)
        browser.close()
    assert not outside, f'requests left 127.0.0.1: {sorted(set(outside))}'
    internal = sorted({urldefrag(l)[0] for r in seen.values() for l in r['links'] if urlparse(l).hostname == '127.0.0.1'})
    assert len(internal) >= 10, internal
    broken = []
    for link in internal:
        try: urllib.request.urlopen(link, timeout=10)
        except urllib.error.URLError as e: broken.append(f'{link}: {e}')
    assert not broken, f'internal links that do not resolve: {broken}'
    # links to an entry of a page (show_doc's `page.html#name`) land on an element with that id
    missing = []
    for link in sorted({l for r in seen.values() for l in r['links'] if urlparse(l).hostname == '127.0.0.1' and urldefrag(l)[1]}):
        page_url, frag = urldefrag(link)
        if f'id="{frag}"' not in urllib.request.urlopen(page_url, timeout=10).read().decode(): missing.append(link)
    assert not missing, f'links to anchors that do not exist: {missing}'
    print(f'docs in chromium: {len(pages)} pages, {len(internal)} internal links checked, '
          f'{sum(len(r["imgs"]) for r in seen.values())} images, screenshots in {ARTEFACTS}, {time.time() - start:.1f} s')
