"""MongoDB repositories: one module per collection. Only this package imports pymongo."""
