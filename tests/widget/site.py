"""A customer's website for browser tests: static pages on their own loopback port (another origin)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StaticSite:
    """Serves ``pages`` (path -> HTML) on 127.0.0.1 and a random port; anything else is a 404."""

    def __init__(self, pages: dict[str, str]) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 - stdlib signature
                pass

            def do_GET(self):  # noqa: N802 - stdlib naming
                body = site.pages.get(self.path.split("?", 1)[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                payload = (body or "Not found").encode()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.pages = pages
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> StaticSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def customer_page(snippet: str, title: str = "A customer's shop") -> str:
    """A plain page with hostile-ish CSS of its own and the widget snippet before </body>."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><link rel="icon" href="data:,">
<style>button {{ background: hotpink !important; font-size: 40px; }} div {{ display: inline; }}</style>
</head><body><h1>{title}</h1><p>Welcome to our shop.</p>
{snippet}
</body></html>"""
