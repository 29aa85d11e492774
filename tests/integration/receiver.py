#!/usr/bin/env python3
"""receiver.py DIR - a webhook receiver for the tests, on 127.0.0.1.

Writes the port it listens on to DIR/port, then appends each POST's body
as one line to DIR/posts (flushed before answering).  DIR/mode, read on
every request, says how to answer: "ok" (200, the default), "fail" (500)
or "slow SECONDS" (wait, then 200).

A GET is a health endpoint: it appends its path to DIR/gets and answers
200, or 503 while DIR/health says "down N" (N more times) or "down".
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]


def mode():
    try:
        with open(os.path.join(DIR, "mode")) as f:
            return f.read().split()
    except FileNotFoundError:
        return ["ok"]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        m = mode()
        line = json.dumps({"path": self.path,
                           "content_type": self.headers.get("Content-Type"),
                           "body": json.loads(body)})
        with open(os.path.join(DIR, "posts"), "a") as f:
            f.write(line + "\n")
        if m[0] == "slow":
            time.sleep(float(m[1]))
        code = 500 if m[0] == "fail" else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self):
        with open(os.path.join(DIR, "gets"), "a") as f:
            f.write(self.path + "\n")
        code = 200
        path = os.path.join(DIR, "health")
        try:
            with open(path) as f:
                h = f.read().split()
        except FileNotFoundError:
            h = []
        if h and h[0] == "down":
            code = 503
            if len(h) > 1:
                left = int(h[1]) - 1
                with open(path, "w") as f:
                    f.write("down %d" % left if left > 0 else "up")
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
