"""The complete schema: imports every ``store/models*.py`` so `Base.metadata` knows all tables.

Feature areas keep their tables in their own module (``models_archive.py``, ...); discovering
them here means adding one never needs an edit to a shared list.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from sqlalchemy import MetaData

from store.models import Base

for _info in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if _info.name.startswith("models"):
        importlib.import_module(f"store.{_info.name}")

metadata: MetaData = Base.metadata
