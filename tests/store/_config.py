"""Store settings shared by the store tests."""

from glov.config.store_metrics_pipeline import StoreConfig

# Fast retries, so tests of failures stay quick; tests that need the real
# retry budget set their own.
FAST = StoreConfig(retry_attempts=3, retry_base_seconds=0.02, retry_max_seconds=0.1)
