"""The service's store: tables, migrations, the run queue and results."""

from gigawatt.service.store.db import Store, StoreError

__all__ = ["Store", "StoreError"]
