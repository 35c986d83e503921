"""Undefined names in the notebooks' code cells (ruff F821), e.g. a test cell using an import removed from the export cell.
Each notebook's code cells are joined in order (magics and `#|` directives dropped) into a temporary .py file for ruff."""
import json, subprocess, sys, tempfile
from pathlib import Path

with tempfile.TemporaryDirectory() as tmp:
    for nb in sorted(Path('nbs').glob('*.ipynb')):
        cells = [c for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
        lines = [l for c in cells for l in ''.join(c['source']).splitlines() if not l.lstrip().startswith(('%', '!', '#|'))]
        (Path(tmp)/f'{nb.stem}.py').write_text('\n'.join(lines) + '\n')
    sys.exit(subprocess.run([sys.executable, '-m', 'ruff', 'check', '--select', 'F821', '--output-format', 'concise', tmp]).returncode)
