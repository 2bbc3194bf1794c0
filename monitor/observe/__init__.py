"""What operators see: Prometheus metrics, the HTTP endpoints and the logs."""
