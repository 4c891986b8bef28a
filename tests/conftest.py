import os
import tempfile

import numpy as np
import pytest

# Numba's on-disk cache goes to a temporary folder, never into the source tree.
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "archsim-numba-cache"))

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def rng(request):
    """A seeded generator; the seed is derived from the test name so failures replay."""
    import zlib
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)


@pytest.fixture
def repo():
    from pathlib import Path
    return Path(REPO)
