#!/usr/bin/env python3
"""A small web site for the `mamori web baseline|check` tests, on a loopback address.

Serves the files of a directory. In .html files, {{nonce}}, {{csrf}} and {{rand}} become fresh
random values and {{now}} the current time with microseconds, on every request: what a real
CMS does and a baseline must learn to ignore. Hostile paths for the bad-input tests:
  /loop        a redirect to itself, forever
  /slow        a page that sends one byte a second
  /huge        an endless page (gigabytes, streamed)
  /deep        200,000 nested <div>s and a script at the bottom
  /manyattrs   one tag with 100,000 attributes
Usage: site_server.py DIR HOST  (prints the port it listens on, then serves until killed)
"""
import http.server
import os
import secrets
import sys
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_body(self, body, ctype="text/html"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                for _ in range(120):
                    self.wfile.write(b"<")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
            return
        if path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            chunk = b"<p>" + b"x" * 65536 + b"</p>\n"
            try:
                for _ in range(16384):  # 1 GiB
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        if path == "/deep":
            self.send_body(b"<html><body>" + b"<div>" * 200000 +
                           b"<script src='http://127.0.0.2:1/deep.js'></script>")
            return
        if path == "/manyattrs":
            self.send_body(b"<html><body><p " + b" ".join(b"a%d=1" % i for i in range(100000)) +
                           b">x</p><script>deepAttrs()</script>")
            return
        full = os.path.join(self.directory, path.lstrip("/"))
        if path.endswith("/"):
            full = os.path.join(full, "index.html")
        if full.endswith(".html") and os.path.isfile(full):
            with open(full, encoding="utf-8") as f:
                text = f.read()
            text = (text.replace("{{nonce}}", secrets.token_hex(8))
                    .replace("{{csrf}}", secrets.token_urlsafe(24))
                    .replace("{{rand}}", str(secrets.randbelow(10**9)))
                    .replace("{{now}}", time.strftime("%Y-%m-%d %H:%M:%S") +
                             ".%06d" % (time.time_ns() // 1000 % 10**6)))
            self.send_body(text.encode())
            return
        super().do_GET()


def main():
    directory, host = sys.argv[1], sys.argv[2]
    handler = lambda *a, **k: Handler(*a, directory=directory, **k)
    srv = http.server.ThreadingHTTPServer((host, 0), handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
