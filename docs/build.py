"""Build the offline docs site: nbdev's processed notebooks rendered by Sphinx + myst-nb (no Quarto, no network).

    python docs/build.py [--out DIR]      # default docs/_build/html

Steps: (1) nbdev's docs processors (`nbdev-proc-nbs`) write `_proc/` with `show_doc` output for every exported
symbol; a dummy `quarto` comes first on PATH so nbdev does not try to install Quarto. (2) A small conversion turns
what Quarto reads and Sphinx does not into MyST (see `convert_md` and `convert_nb`) and writes the table of contents
(home, reference, lessons, guides) in file-name order. (3) `sphinx-build -W` renders the site with `docs/conf.py`.
Every notebook and `.md` page under `nbs/` (subfolders included) is picked up; nothing is executed beyond what
nbdev's own docs processing runs.
"""
import argparse, hashlib, json, os, re, shutil, subprocess, sys, tempfile, time, warnings
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT/'docs'
SITE_URL = 'https://ftcv.github.io/ftcv/'  # nbdev's doc_host + doc_baseurl: show_doc links point here
SECTIONS = ('Lessons', 'Reference', 'Guides')  # the sidebar's order: a learner starts with lesson 1
SKIPPED = []  # cells nbdev-docs would run that this build does not (see `_do_eval`)

# ---------- step 1: nbdev's processed notebooks ----------

def _do_eval(cell):
    "nbdev's rule for which cells its docs processor runs, minus cells that mix imports with other code."
    import ast
    from nbdev import processors
    if processors._orig_do_eval(cell) is None: return None
    trees = cell.parsed_()
    if cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'}: return True
    if processors._show_docs(trees): return True
    if all(isinstance(t, (ast.Import, ast.ImportFrom)) for t in trees): return True
    # nbdev would run this cell because it contains an import, and warns about it ("Found cells containing imports
    # and other code", see its FAQ); out of context it runs real work or fails, so the docs build skips it.
    SKIPPED.append(cell.source.split('\n')[0][:70])
    return None

def proc_nbs(force:bool=False) -> Path:
    "Run nbdev's docs processors (serially, in this process) into `_proc/`; return that folder."
    from nbdev import processors, quarto
    from nbdev.config import get_config
    cache = get_config().config_path/'_proc'
    stamp = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    if force or not (cache/'.ftcv-docs').exists() or (cache/'.ftcv-docs').read_text() != stamp: shutil.rmtree(cache, ignore_errors=True)
    if not hasattr(processors, '_orig_do_eval'): processors._orig_do_eval = processors._do_eval
    processors._do_eval = _do_eval
    with tempfile.TemporaryDirectory() as fake:  # nbdev asks for quarto on PATH and would download it otherwise
        q = Path(fake)/'quarto'; q.write_text('#!/bin/sh\nexit 0\n'); q.chmod(0o755)
        old_path, cwd = os.environ['PATH'], os.getcwd()
        os.environ['PATH'] = f'{fake}{os.pathsep}{old_path}'
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                quarto.nbdev_proc_nbs.__wrapped__(n_workers=0)
        finally: os.environ['PATH'] = old_path; os.chdir(cwd)
    (cache/'.ftcv-docs').write_text(stamp)
    return cache

# ---------- step 2: Quarto/nbdev syntax -> MyST ----------

_CALLOUT = re.compile(r'^:::+\s*\{\s*\.callout-(\w+)([^}]*)\}\s*$')
_FENCE = re.compile(r'^:::+\s*(\{[^}]*\}|\S*)\s*$')
_LINK_ATTRS = re.compile(r'(\]\([^)\s]*(?:\s+"[^"]*")?\))\{[^}]*\}')   # [text](url){target="_blank" ...}
_SPAN = re.compile(r'\[([^\]]*)\]\{[.#][^}]*\}')                      # [text]{.class}
_LINK = re.compile(r'\]\(([^)\s]+)')
_ADMONITIONS = {'note': 'note', 'tip': 'tip', 'warning': 'warning', 'important': 'important', 'caution': 'caution'}

def _anchor(frag:str) -> str:
    "The id Sphinx gives a heading whose text is `frag` (show_doc headings are the symbol's name)."
    from docutils.nodes import make_id
    return make_id(frag) or frag

def _link(url:str, page:str, pages:dict) -> str:
    "Point links at this site: nbdev's absolute doc links and links to notebooks or .md pages become relative."
    target, _, frag = url.partition('#')
    if target.startswith(SITE_URL):
        target = target[len(SITE_URL):] or 'index.html'
        target = pages.get('_nbdev', {}).get(target, target)  # nbdev's page name -> the page it became here
    elif urlparse(target).scheme or target.startswith(('/', 'mailto:')): return url
    elif target.endswith(('.ipynb', '.md', '.qmd')):
        src = os.path.normpath(os.path.join(os.path.dirname(pages['_src'].get(page, page)), target))
        if src not in pages['_html'] and target.startswith('nbs/'): src = os.path.normpath(target[len('nbs/'):])  # the README's links, from the repository root
        target = pages['_html'].get(src, target)
    else: return url
    if target.endswith(('.ipynb', '.md', '.qmd')): target = pages['_html'].get(target, target)
    rel = os.path.relpath(target, os.path.dirname(page) or '.') if target else ''
    return rel + (f'#{_anchor(frag)}' if frag else '')

def convert_md(text:str, page:str, pages:dict) -> str:
    "Quarto markdown to MyST: callouts to admonitions, other `:::` divs dropped, pandoc attributes removed, links made local."
    out, stack = [], []
    for line in text.split('\n'):
        if m := _CALLOUT.match(line.strip()):
            title = re.search(r'title\s*=\s*"([^"]*)"', m.group(2))
            kind = _ADMONITIONS.get(m.group(1), 'note')
            out += [f'````{{admonition}} {title.group(1)}', f':class: {kind}'] if title else [f'````{{{kind}}}']
            stack.append('````'); continue
        if (m := _FENCE.match(line.strip())) and line.strip().startswith(':::'):
            if m.group(1): stack.append(''); continue       # opening of a plain Quarto div: keep its content
            if stack:
                close = stack.pop()
                if close: out.append(close)
                continue
        out.append(line)
    text = '\n'.join(out + [c for c in reversed(stack) if c])
    text = _LINK_ATTRS.sub(r'\1', text)
    text = _SPAN.sub(r'\1', text)
    return _LINK.sub(lambda m: '](' + _link(m.group(1), page, pages), text)

_QUARTO_OPT = re.compile(r'^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')

def _cell_tags(src:str):
    "Strip Quarto `#| key: value` options from a code cell; return the source and the myst-nb tags they mean."
    lines, tags = src.split('\n'), []
    while lines and (m := _QUARTO_OPT.match(lines[0])):
        key, val = m.group(1), m.group(2).strip().lower()
        if key == 'echo' and val == 'false': tags.append('remove-input')
        if key == 'output' and val == 'false': tags.append('remove-output')
        if key == 'include' and val == 'false': tags.append('remove-cell')
        lines.pop(0)
    return '\n'.join(lines), tags

def _front(nb:dict) -> dict:
    "Frontmatter of a processed notebook (nbdev moves the H1 and `>` summary into a raw YAML cell)."
    import yaml
    for c in nb['cells']:
        src = ''.join(c['source']).strip()
        if c['cell_type'] == 'raw' and src.startswith('---'): return yaml.safe_load(src.strip('-\n')) or {}
    return {}

WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'

def _widget_note() -> dict:
    "A note shown above each saved widget view: without a kernel its controls cannot redraw."
    return dict(cell_type='markdown', metadata={}, source=(
        '```{note}\nA saved view of a widget, as the cell below left it. Its controls need a running Python kernel to '
        'redraw the figure: open the notebook in Jupyter (or Voila) to use them. On this page they change nothing.\n```'))

_SHOW_DOC = re.compile(r'^### (?P<name>[\w.]+)\n\n```python\ndef (?P<def>\w+)\(', re.M)
_WRAP = 88  # columns of a signature line on the page; longer parameter comments wrap under themselves

def _kind(name:str, module:str|None) -> str:
    "'class', 'property' or 'def' for a show_doc entry `name` (e.g. `DriftRecorder` or `DriftRecorder.histograms`) of `module`."
    import importlib, inspect
    if not module: return 'def'
    try: obj = importlib.import_module(module)
    except ImportError: return 'def'
    *owner, attr = name.split('.')
    for part in owner: obj = getattr(obj, part, None)
    if obj is None: return 'def'
    member = inspect.getattr_static(obj, attr, None)
    if isinstance(member, property): return 'property'
    return 'class' if inspect.isclass(getattr(obj, attr, None)) else 'def'

def _wrap_line(line:str) -> list:
    "A signature line longer than `_WRAP` with a `# comment`: the comment continues on lines aligned under its `#`."
    import textwrap
    code, sep, comment = line.partition(' # ')
    if len(line) <= _WRAP or not sep: return [line]
    col = len(code) + 1
    if col > _WRAP - 30: return [code, *[' ' * 8 + '# ' + l for l in textwrap.wrap(comment, _WRAP - 10)]]
    first, *rest = textwrap.wrap(comment, _WRAP - col - 2)
    return [f'{code} # {first}', *[' ' * col + '# ' + l for l in rest]]

def tidy_signature(md:str) -> str:
    """A show_doc entry as a reader wants it: `class`/`@property` instead of `def` for classes and properties, no
    `__main__.` (nbdev runs the notebook as `__main__`), no `NoneType` for an unannotated `=None`, long comments wrapped."""
    m_src = re.search(r'ftcv/blob/\w+/(ftcv/[\w/]+)\.py', md)
    module = m_src.group(1).replace('/', '.') if m_src else None
    md = md.replace('__main__.', '').replace(':NoneType=None', '=None')
    def fix(m):
        kind = _kind(m['name'], module)
        if kind == 'class': return m.group(0).replace(f"def {m['def']}(", f"class {m['def']}(")
        if kind == 'property': return m.group(0).replace(f"def {m['def']}(", f"@property\ndef {m['def']}(")
        return m.group(0)
    md = _SHOW_DOC.sub(fix, md)
    md = re.sub(r'^(class \w+\((?:.|\n)*?\))->None:$', r'\1:', md, flags=re.M)  # a class's call returns the instance
    out, in_code = [], False
    for line in md.split('\n'):
        if line.startswith('```'): in_code = not in_code
        out += _wrap_line(line) if in_code else [line]
    return '\n'.join(out)

def convert_nb(nb:dict, page:str, pages:dict) -> dict:
    "A processed notebook as myst-nb reads it: title cell back, Quarto options as tags, nbdev-only fields dropped."
    fm, cells = _front(nb), []
    if fm.get('title'):
        head = f"# {fm['title']}" + (f"\n\n> {fm['description']}" if fm.get('description') else '')
        cells.append(dict(cell_type='markdown', metadata={}, source=head))
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'raw': continue
        c.pop('has_sd', None); c.pop('id', None)              # nbdev's cell flag, rejected by nbformat's schema
        c['metadata'].pop('execution', None)
        if c['cell_type'] == 'markdown': c['source'] = convert_md(src, page, pages)
        elif c['cell_type'] == 'code':
            c['source'], tags = _cell_tags(src)
            if tags: c['metadata']['tags'] = sorted(set(c['metadata'].get('tags', []) + tags))
            for o in c.get('outputs', []):
                md = o.get('data', {}).get('text/markdown')
                # show_doc output opens with a `---` rule, which docutils rejects inside a cell's output
                if md is not None: o['data']['text/markdown'] = tidy_signature(convert_md(re.sub(r'\A\s*---\s*\n', '', ''.join(md)), page, pages))
            if any(WIDGET_VIEW in o.get('data', {}) for o in c.get('outputs', [])): cells.append(_widget_note())
        if c['cell_type'] == 'code' and not c['source'].strip() and not c.get('outputs'): continue
        cells.append(c)
    nb['cells'] = cells
    nb['nbformat'], nb['nbformat_minor'] = 4, 4
    return nb

def _md_front(text:str):
    "Split Quarto YAML front matter off a .md page."
    import yaml
    if not text.startswith('---'): return {}, text
    _, fm, body = text.split('---', 2)
    return yaml.safe_load(fm) or {}, body.lstrip('\n')

def _section(rel:Path, src:Path) -> str:
    "Reference: notebooks with `default_exp`; Lessons: under `lessons/` or notebooks without it; Guides: .md pages."
    if 'lessons' in rel.parts: return 'Lessons'
    if rel.suffix == '.ipynb': return 'Reference' if '#| default_exp' in src.read_text(encoding='utf-8') else 'Lessons'
    return 'Guides'

def _pages(nbs:Path) -> list:
    "Every notebook and .md page under `nbs/` in file-name order, skipping `_`/`.` names as nbdev does."
    def keep(p):
        rel = p.relative_to(nbs)
        return not any(part.startswith(('_', '.')) for part in rel.parts) and rel.name != 'README.md'
    return sorted((p for p in nbs.rglob('*') if p.suffix in ('.ipynb', '.md') and keep(p)), key=lambda p: p.relative_to(nbs).as_posix())

SPHINX_PAGES = ('search.html', 'genindex.html', 'py-modindex.html')  # pages Sphinx writes itself: no notebook may take their names

def pages_of(html:dict, out:str) -> str:
    "The sources already mapped to page `out`, or the Sphinx page it is."
    return ', '.join(k for k, v in html.items() if v == out) or f'Sphinx\'s own {out}'

def _out_name(rel:Path, proc:Path) -> str:
    "The page's html path: nbdev's `output-file` (e.g. compare.html) or the file name."
    if rel.suffix == '.ipynb':
        fm = _front(json.loads(proc.read_text(encoding='utf-8')))
        if fm.get('output-file'): return (rel.parent/fm['output-file']).as_posix()
    return rel.with_suffix('.html').as_posix()

def write_source(nbs:Path, proc:Path, src:Path) -> dict:
    "Write the Sphinx source folder from `proc`; return {section: [docnames]}."
    files = [p.relative_to(nbs) for p in _pages(nbs) if (proc/p.relative_to(nbs)).exists()]
    html, nbdev_names = {}, {}
    for rel in files:  # every source gets its own page: a name Sphinx uses, or one taken already, falls back to the file name
        out = wanted = _out_name(rel, proc/rel)
        if out in SPHINX_PAGES or out in html.values(): out = rel.with_suffix('.html').as_posix()
        if out in SPHINX_PAGES or out in html.values(): raise ValueError(f"{rel} and {pages_of(html, out)} would both be {out}: rename one")
        html[rel.as_posix()] = out
        nbdev_names.setdefault(wanted, out)  # nbdev's doc links name the first page that wanted a name (the module's notebook)
    pages = {'_html': html, '_src': {v: k for k, v in html.items()}, '_nbdev': nbdev_names}
    toc = {s: [] for s in SECTIONS}
    for rel_s, out in html.items():
        rel = Path(rel_s)
        dest = src/Path(out).with_suffix(rel.suffix)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if rel.suffix == '.ipynb':
            nb = convert_nb(json.loads((proc/rel).read_text(encoding='utf-8')), out, pages)
            dest.write_text(json.dumps(nb, indent=1), encoding='utf-8')
        else:
            fm, body = _md_front((proc/rel).read_text(encoding='utf-8'))
            if fm.get('title') and not re.match(r'#\s', body): body = f"# {fm['title']}\n\n" + (f"> {fm['description']}\n\n" if fm.get('description') else '') + body
            dest.write_text(convert_md(body, out, pages), encoding='utf-8')
        if out != 'index.html': toc[_section(rel, nbs/rel)].append(Path(out).with_suffix('').as_posix())
    for f in proc.rglob('*'):   # images and other files the pages refer to
        if f.is_file() and f.suffix.lower() in ('.png', '.jpg', '.jpeg', '.gif', '.svg', '.csv') and not (src/f.relative_to(proc)).exists():
            (src/f.relative_to(proc)).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, src/f.relative_to(proc))
    trees = '\n\n'.join(f"```{{toctree}}\n:hidden:\n:caption: {s}\n\n" + '\n'.join(d) + '\n```' for s, d in toc.items() if d)
    idx = src/'index.ipynb'
    nb = json.loads(idx.read_text(encoding='utf-8'))
    nb['cells'].append(dict(cell_type='markdown', metadata={}, source=trees))
    idx.write_text(json.dumps(nb, indent=1), encoding='utf-8')
    return toc

# ---------- step 3: Sphinx ----------

def build(out:Path, force:bool=False) -> dict:
    "Build the site into `out`; return timings and page counts."
    from nbdev.config import get_config
    start = time.time()
    cfg = get_config()
    proc = proc_nbs(force)
    t_proc = time.time() - start
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp)/'src'; src.mkdir()
        toc = write_source(cfg.nbs_path, proc, src)
        if out.exists(): shutil.rmtree(out)
        cmd = [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b', 'html', '-c', str(DOCS),
               '-d', str(Path(tmp)/'doctrees'), str(src), str(out)]
        subprocess.run(cmd, check=True)
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob('*.html') if p.name not in ('genindex.html', 'search.html') and '_static' not in p.parts)
    return dict(seconds=time.time() - start, proc_seconds=t_proc, pages=pages, toc=toc)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', type=Path, default=DOCS/'_build'/'html', help='output folder (replaced)')
    ap.add_argument('--force', action='store_true', help="re-run nbdev's processing of every notebook")
    a = ap.parse_args(argv)
    os.chdir(ROOT)
    r = build(a.out.resolve(), a.force)
    for s, d in r['toc'].items(): print(f'{s}: {len(d)} pages')
    if SKIPPED: print(f"{len(SKIPPED)} cells mix imports with other code: not run here, but nbdev-docs (Quarto) runs them; "
                      f"move their imports into an import cell. First lines: {SKIPPED}")
    print(f"docs: {len(r['pages'])} pages in {r['seconds']:.1f} s (nbdev processing {r['proc_seconds']:.1f} s) -> {a.out}")

if __name__ == '__main__': main()
