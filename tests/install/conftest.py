"""The installed-package tests run from `make test-install`, which builds the wheel first
and names its directory in PYFTORCH_WHEEL_DIR.  `make test` does not collect them: they
install into fresh virtual environments, which takes minutes, not seconds."""

from __future__ import annotations

import os

collect_ignore = [] if os.environ.get("PYFTORCH_WHEEL_DIR") else ["test_install.py", "test_wheel_without_fortran.py"]
