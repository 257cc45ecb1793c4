"""What one hospital tunes without code: the site file, per-call options, shadow mode and the
suppression of repeated alerts. Read by the pipeline; it never imports the pipeline."""

from .config import SiteConfig, load_site
from .holder import SiteHolder

__all__ = ["SiteConfig", "SiteHolder", "load_site"]
