"""Alerting and dashboards as code (CONTRACT section 7).

`rules` is the one typed table of alerts; `prometheus` and `provisioning`
write it out for Prometheus (rule file, Kubernetes `PrometheusRule`) and for
Grafana-managed alerting (file provisioning); `dashboards` builds the
dashboards with grafana-foundation-sdk; `export` writes every artefact to a
folder and `push` uploads them to a Grafana over its HTTP API.
"""
