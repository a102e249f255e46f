#!/usr/bin/env python3
"""Loopback HTTP server for `mamori db update` tests: serves a directory with HTTP Range
support and injected faults. Prints its port on stdout, logs requests to LOG.
  /flaky/NAME    the first request is cut after half of the file (connection dropped)
  /fail/NAME     always HTTP 500
  /norange/NAME  ignores Range headers (answers 200 with the whole file)
  /changing/NAME the first request is cut after half of the file, and from then on the server
                 has a new version (DIR/NAME.v2, another ETag)
Every answer carries a strong ETag and Last-Modified; If-Range is honoured (a validator that
is not the current one gets the whole file, 200), as RFC 9110 §13.1.5 says.
usage: range_server.py DIR LOG"""
import hashlib
import http.server
import os
import sys
import threading

root, log = sys.argv[1], sys.argv[2]
seen = set()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = self.path.lstrip("/").split("/", 1)
        mode, name = (parts[0], parts[1]) if len(parts) == 2 else ("plain", parts[0])
        rng = self.headers.get("Range", "")
        if_range = self.headers.get("If-Range", "")
        with lock, open(log, "a") as f:
            f.write(f"{mode} {name} {rng} if-range={if_range}\n")
        path = os.path.join(root, os.path.basename(name))
        with lock:
            if mode == "changing" and (mode, name) in seen:
                path += ".v2"
        if mode == "fail" or not os.path.isfile(path):
            self.send_error(500 if mode == "fail" else 404)
            return
        data = open(path, "rb").read()
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
        start = 0
        if if_range and if_range != etag:
            rng = ""  # changed since: the whole file
        if rng.startswith("bytes=") and mode != "norange":
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", "Wed, 02 Dec 2026 00:00:00 GMT")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with lock:
            first = (mode, name) not in seen
            seen.add((mode, name))
        if mode in ("flaky", "changing") and first:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # drop the connection mid-transfer
            return
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
