"""Reference data shipped with gigawatt, every entry with its source."""

from gigawatt.catalog.load import (
    Accelerator,
    Catalog,
    CloudPrice,
    Deal,
    InstalledPrice,
    Sourced,
    load_catalog,
)

__all__ = ["Accelerator", "Catalog", "CloudPrice", "Deal", "InstalledPrice", "Sourced", "load_catalog"]
