"""CI cannot pass without the PyTorch parity tests (.ci/run sets SKRNN_REQUIRE_TORCH=1)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Collect the parity module in a fresh interpreter where `import torch` fails (a finder
# that refuses it: a None in sys.modules would also break SciPy's own torch probe).
_WITHOUT_TORCH = """
import sys
import pytest

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError("No module named 'torch' (hidden by tests/test_ci.py)")

sys.meta_path.insert(0, NoTorch())
sys.exit(pytest.main(["-q", "--collect-only", "-p", "no:cacheprovider",
                      "tests/test_torch_parity.py"]))
"""


def _collect_without_torch(require):
    env = {**os.environ, "SKRNN_REQUIRE_TORCH": require,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", _WITHOUT_TORCH], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("require, returncode, says", [
    ("1", 2, "SKRNN_REQUIRE_TORCH=1 (as .ci/run sets it) but torch cannot be imported"),
    ("0", 5, "torch is not installed"),  # 5: nothing collected, the module skipped
])
def test_missing_torch_fails_only_when_required(require, returncode, says):
    result = _collect_without_torch(require)
    out = result.stdout + result.stderr
    assert result.returncode == returncode, out
    assert says in out


def test_ci_requires_torch_by_default():
    script = (ROOT / ".ci" / "run").read_text()
    assert 'export SKRNN_REQUIRE_TORCH="${SKRNN_REQUIRE_TORCH:-1}"' in script
    # and the README's test command is what it runs last
    readme = (ROOT / "README.md").read_text()
    command = 'pip install -e ".[test]" && python -m pytest -q'
    assert command in readme and script.rstrip().endswith(command)
