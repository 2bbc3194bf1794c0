"""Security headers on every answer of the endpoints' listener.

The pages load nothing but their own stylesheet and icon and run no script,
so the policy can be strict: no script at all, no inline style, no framing,
forms only to this origin, and no Referer sent to the monitored sites a
page links to.
"""

from __future__ import annotations

from aiohttp import web

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """aiohttp `on_response_prepare`: errors and 404s get them too."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path != "/metrics" and request.path not in ("/healthz", "/readyz"):
        response.headers.setdefault("Cache-Control", "no-store")
