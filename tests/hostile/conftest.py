"""Hypothesis keeps its example database and Unicode tables out of the working tree."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "helpdesk-bridge-hypothesis")
