"""The daemon's status page and JSON API (CONTRACT section 6), on the /metrics listener.

document.py builds the `status` document (shared with the CLI); filters.py
parses query parameters; api.py and pages.py answer /api/v1/ and the HTML
pages from the same reads (monitor/storage/listing.py); openapi.py
describes the API; headers.py sets the security headers on every answer.
"""
