"""Build and check helpers for the SAM application (template loading, interpreter discovery)."""
