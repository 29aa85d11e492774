#!/usr/bin/env python3
"""late_port.py TARGET_PORT GO_FILE PORT_FILE - a TCP port that opens late:
bound at once (the kernel's free port, written to PORT_FILE) but refusing
connections until GO_FILE exists, then forwarding each connection to
127.0.0.1:TARGET_PORT.  For 'dbshift wait': a database that comes up later."""
import os
import socket
import sys
import threading
import time

target, go, port_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while not os.path.exists(go):
    time.sleep(0.05)
srv.listen(16)


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


while True:
    client, _ = srv.accept()
    upstream = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
