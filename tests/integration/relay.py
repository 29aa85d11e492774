#!/usr/bin/python3
"""relay.py PORTFILE UPSTREAM_PORT METHOD N - an HTTP/1.1 relay to a real
server on 127.0.0.1:UPSTREAM_PORT that goes away (closes every connection
and stops listening) once it has relayed N whole exchanges whose request
method is METHOD: a server lost in the middle of a run, at a point the
test chooses.  Requests and answers are relayed as they are, one exchange
at a time, read by their Content-Length (answers to HEAD have no body).
Writes its own port to PORTFILE when it listens."""
import os
import socket
import sys
import threading

port_file, upstream, method, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4])
done = 0
gone = threading.Event()
lock = threading.Lock()


def read_message(f, no_body=False):
    head = b""
    while True:
        line = f.readline()
        if not line:
            return None
        head += line
        if line in (b"\r\n", b"\n"):
            break
    length = 0
    for h in head.split(b"\r\n")[1:]:
        if h.lower().startswith(b"content-length:"):
            length = int(h.split(b":", 1)[1])
    body = b"" if no_body else f.read(length)
    return head + body


def serve(client):
    global done
    up = socket.create_connection(("127.0.0.1", upstream))
    cf, uf = client.makefile("rb"), up.makefile("rb")
    try:
        while not gone.is_set():
            req = read_message(cf)
            if req is None:
                break
            verb = req.split(b" ", 1)[0]
            up.sendall(req)
            ans = read_message(uf, no_body=verb == b"HEAD")
            if ans is None:
                break
            client.sendall(ans)
            if verb == method:
                with lock:
                    done += 1
                    if done >= limit:
                        gone.set()
    finally:
        client.close()
        up.close()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
listener.settimeout(0.2)
with open(port_file + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while not gone.is_set():
    try:
        c, _ = listener.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
listener.close()
