#!/usr/bin/env python3
"""Test real server: `server.py MODE PORT NAME`.

MODE http:   answers every HTTP request with body "NAME\\n" (keep-alive off).
MODE http500: the same with status 500.
MODE banner: on accept sends "NAME\\n", then echoes lines until the peer closes.
MODE udp:    echoes each datagram prefixed with "NAME:".
Prints "listening" once ready. Stops on SIGTERM.
"""
import socket, sys, threading

mode, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tag = name.encode()

def http(conn):
    with conn:
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = conn.recv(4096)
            if not d:
                return
            buf += d
        body = tag + b"\n"
        status = b"500 Internal Server Error" if mode == "http500" else b"200 OK"
        conn.sendall(b"HTTP/1.0 " + status + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))

def banner(conn):
    with conn:
        conn.sendall(tag + b"\n")
        while True:
            d = conn.recv(65536)
            if not d:
                return
            conn.sendall(d)

if mode == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    print("listening", flush=True)
    while True:
        d, a = s.recvfrom(65536)
        s.sendto(tag + b":" + d, a)
else:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1024)
    print("listening", flush=True)
    handler = http if mode in ("http", "http500") else banner
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()
