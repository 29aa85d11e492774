#!/usr/bin/env python3
"""silent.py PORT_FILE - a TCP server that accepts every connection and
never answers (nor closes): for every network wait of dbshift's that must
give up at its bound.  The port (the kernel's free one) goes to PORT_FILE."""
import os
import socket
import sys

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(64)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    conn, _ = srv.accept()
    held.append(conn)  # kept open, never read from or written to
