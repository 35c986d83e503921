"""Execute notebooks in place so that their committed outputs (which the docs site shows) are fresh, then check them.

    python docs/execute.py nbs/01_data.ipynb nbs/10_compare.ipynb   # these notebooks
    python docs/execute.py --reference                              # every reference notebook (those with default_exp)

Each notebook runs in its own kernel with one torch thread, as CI's `nbdev-test` runs it. The deprecation warning
that importing fastai raises (`torch.jit.script`, not ftcv's) is filtered through PYTHONWARNINGS. Paths in outputs are
written so they mean the same on every machine: the repository root becomes `.`, the home folder `~`, a
temporary folder `<tmp>`, and a warning raised in a cell loses the kernel's temporary file name. Any other warning or a traceback left in an output fails the run: fix the cell. Then
`nbdev-clean` tidies the notebook's metadata.
"""
import argparse, json, os, re, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILTERS = 'ignore:`torch.jit.script` is deprecated:FutureWarning'
_TMP = re.compile(re.escape(tempfile.gettempdir()) + r'/tmp\w+')  # a folder made by `tempfile`
_CELL_FILE = re.compile(re.escape(tempfile.gettempdir()) + r'/ipykernel_\d+/\d+\.py:\d+: ')  # where a cell's warning came from
# an absolute path that names this machine: a home or work folder, a temporary folder, installed packages
LOCAL_PATH = re.compile('|'.join(map(re.escape, {str(ROOT), str(Path.home())})) + r'|(?<![\w.])/(?:home|Users|root|work)/|/tmp/(?:tmp|ipykernel|pytest)|site-packages')

def portable(text:str) -> str:
    "`text` with the repository root as `.`, the home folder as `~` and temporary folders as `<tmp>`."
    text = _CELL_FILE.sub('', text.replace(str(ROOT) + '/', '').replace(str(ROOT), '.'))
    text = _TMP.sub('<tmp>', text)
    return text.replace(str(Path.home()) + '/', '~/')

def _outputs(nb:dict):
    "Every text field of every output: (container, key) pairs whose value is a string or a list of strings."
    for c in nb['cells']:
        for o in c.get('outputs', []):
            if 'text' in o: yield o, 'text'
            for mime in ('text/plain', 'text/markdown', 'text/html'):
                if mime in o.get('data', {}): yield o['data'], mime

def output_problems(nb:dict, name:str, warnings:bool=True) -> list:
    "One line per error output, local path and (if `warnings`) warning or traceback text in the notebook's outputs."
    problems = [f"{name} cell {i}: {o.get('ename')}: {o.get('evalue')}" for i, c in enumerate(nb['cells'])
                for o in c.get('outputs', []) if o.get('output_type') == 'error']
    for box, key in _outputs(nb):
        text = ''.join(box[key])
        found = [m.group(0) for m in [LOCAL_PATH.search(text)] if m]
        if warnings: found += [w for w in ('Traceback (most recent call last)', 'Warning:') if w in text]
        for f in found:
            at = text.index(f)
            problems.append(f"{name}: {f!r} in an output: {text[max(0, at - 80):at + 120]!r}")
    return problems

def tidy_outputs(path:Path) -> list:
    "Make the outputs of the notebook at `path` portable; return the problems left, one line each."
    nb = json.loads(path.read_text(encoding='utf-8'))
    for box, key in _outputs(nb):
        v = box[key]
        box[key] = [portable(s) for s in v] if isinstance(v, list) else portable(v)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    return output_problems(nb, path.name)

def execute(path:Path, timeout:int=1800) -> float:
    "Run the notebook in place as nbdev-test runs it (cells marked `#| eval: false` skipped); return the seconds it took."
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor
    class NbdevExecute(ExecutePreprocessor):
        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == 'code' and re.search(r'^#\|\s*eval:\s*false', cell.source, re.M): return cell, resources
            return super().preprocess_cell(cell, resources, index)
    start = time.time()
    nb = nbformat.read(path, as_version=4)
    NbdevExecute(timeout=timeout, kernel_name='python3').preprocess(nb, {'metadata': {'path': str(path.parent)}})
    nbformat.write(nb, path)
    return time.time() - start

def reference_notebooks() -> list:
    "The numbered notebooks that export a module (`#| default_exp`)."
    return sorted(p for p in (ROOT/'nbs').glob('[0-9]*.ipynb') if '#| default_exp' in p.read_text(encoding='utf-8'))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('notebooks', nargs='*', type=Path, help='notebooks to execute')
    ap.add_argument('--reference', action='store_true', help='every reference notebook')
    ap.add_argument('--check', action='store_true', help='only make paths portable and check the committed outputs')
    a = ap.parse_args(argv)
    paths = [p.resolve() for p in a.notebooks] + (reference_notebooks() if a.reference else [])
    if not paths: ap.error('name notebooks or pass --reference')
    if missing := [str(p) for p in paths if not p.is_file()]: ap.error(f'no such notebook: {", ".join(missing)}')
    os.environ.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONWARNINGS=FILTERS)  # the kernels inherit these
    problems = []
    for p in paths:
        try: took = 0.0 if a.check else execute(p)
        except Exception as e:  # a failing cell: the notebook is left as it was; go on with the others
            problems.append(f"{p.name} failed, left unchanged: {str(e).strip().splitlines()[-1][:300]}"); print(problems[-1]); continue
        problems += (found := tidy_outputs(p))
        subprocess.run(['nbdev-clean', '--fname', str(p)], check=True, cwd=ROOT)
        print(f"{p.relative_to(ROOT)}: {'checked' if a.check else f'executed in {took:.0f} s'}, {len(found)} problems")
    for line in problems: print(line)
    sys.exit(1 if problems else 0)

if __name__ == '__main__': main()
