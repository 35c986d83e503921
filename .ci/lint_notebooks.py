"""Two checks of the notebooks: (1) undefined names in their code cells (ruff F821), e.g. a test cell using an import
removed from the export cell: each notebook's code cells are joined in order (magics and `#|` directives dropped) into a
temporary .py file for ruff; (2) the library's notebooks are numbered in import order: a module imports only modules
whose notebooks come before its own."""
import json, re, subprocess, sys, tempfile
from pathlib import Path

notebooks = sorted(Path('nbs').glob('*.ipynb'))
order, upward = {}, []
for nb in notebooks:  # (2): `#| default_exp name` gives the module; `from .x import` lines in ftcv/name.py its imports
    m = re.search(r'#\| default_exp (\w+)', nb.read_text())
    if m: order[m.group(1)] = nb.name
for module, nb in order.items():
    for dep in re.findall(r'^from \.(\w+) import', (Path('ftcv')/f'{module}.py').read_text(), re.M):
        if dep in order and order[dep] >= nb: upward.append(f"{nb} ({module}) imports {dep}, whose notebook {order[dep]} comes later: renumber")
print('\n'.join(upward) or f"notebook order follows the imports of {len(order)} modules")

with tempfile.TemporaryDirectory() as tmp:
    for nb in notebooks:
        cells = [c for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
        lines = [l for c in cells for l in ''.join(c['source']).splitlines() if not l.lstrip().startswith(('%', '!', '#|'))]
        (Path(tmp)/f'{nb.stem}.py').write_text('\n'.join(lines) + '\n')
    ruff = subprocess.run([sys.executable, '-m', 'ruff', 'check', '--select', 'F821', '--output-format', 'concise', tmp]).returncode
sys.exit(ruff or bool(upward))
