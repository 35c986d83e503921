"""Shared fixtures: the repository root, the shared folder beside the checkout, Debian's Chromium for the browser tests, a tiny manifest."""
import os, socket
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent/'shared'

@pytest.fixture
def tmp_hub(tmp_path, monkeypatch):
    "An empty torch hub folder for the test, restored afterwards."
    import torch
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path/'hub'))
    yield tmp_path/'hub'
    torch.hub.set_dir(old)

CHROMIUM = '/usr/bin/chromium'  # Debian's package; never `playwright install`
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']

def require_chromium():
    "Skip the calling test module without Debian's chromium, but fail under CI (`.ci/run` installs it)."
    if not Path(CHROMIUM).exists():
        if os.environ.get('CI'): raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs it with apt-get install chromium.")
        pytest.skip("needs Debian's chromium (apt-get install chromium)", allow_module_level=True)

def free_port() -> int:
    "A TCP port free on 127.0.0.1 now."
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "A manifest of 8 real sign-language photos per class and split."
    from ftcv.data import load_manifest
    root = tmp_path_factory.mktemp('tiny')
    load_manifest('signs').groupby(['label', 'split']).head(8).to_csv(root/'manifest.csv', index=False)
    return root
