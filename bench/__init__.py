"""The benchmark of the service as shipped: see bench/README.md."""
