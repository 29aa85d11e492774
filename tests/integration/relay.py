#!/usr/bin/python3
"""relay.py PORTFILE UPSTREAM_PORT PROTO WORD N [hold] - a relay to a real server on
127.0.0.1:UPSTREAM_PORT that goes away (closes every connection and stops
listening) at a point the test chooses: a server lost in the middle of a
run.  Writes its own port to PORTFILE when it listens.

  http: after N whole exchanges whose request method is WORD (requests and
        answers relayed one at a time, read by their Content-Length;
        answers to HEAD have no body)
  imap: when the client sends its N+1-th command WORD (APPEND): that
        command never reaches the server (bytes relayed as they come)

With "hold", it does not go away there: it holds that command (the
client waits for an answer) until the relay is killed.
"""
import os
import socket
import sys
import threading

port_file, upstream, proto, word, limit = (sys.argv[1], int(sys.argv[2]), sys.argv[3],
                                           sys.argv[4].encode(), int(sys.argv[5]))
hold = len(sys.argv) > 6 and sys.argv[6] == "hold"
done = 0
gone = threading.Event()
lock = threading.Lock()
conns = []


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


def count():
    global done
    with lock:
        done += 1
        if done >= limit:
            gone.set()


def serve_http(client, up):
    cf, uf = client.makefile("rb"), up.makefile("rb")
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
        if verb == word:
            count()


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass


def serve_imap(client, up):
    global done
    threading.Thread(target=pump, args=(up, client), daemon=True).start()
    cf = client.makefile("rb")
    while not gone.is_set():
        line = cf.readline()
        if not line:
            break
        parts = line.split(b" ", 2)
        if len(parts) > 1 and parts[1].upper() == word:
            with lock:
                trigger = done >= limit
                done += 1
            if trigger and hold:
                threading.Event().wait()  # until the relay is killed
            if trigger:
                gone.set()
                break
        up.sendall(line)


def serve(client):
    up = socket.create_connection(("127.0.0.1", upstream))
    with lock:
        conns.extend([client, up])
    try:
        (serve_http if proto == "http" else serve_imap)(client, up)
    except OSError:
        pass
    finally:
        for s in (client, up):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


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
with lock:  # every connection goes with it
    for s in conns:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
