"""Shared fixtures: the repository root and the shared folder beside the checkout."""
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
