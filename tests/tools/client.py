#!/usr/bin/env python3
"""Test client. Prints one JSON object on stdout.

client.py http HOST PORT N [SRC]   N sequential HTTP/1.0 requests, a new TCP
                                   connection each; {"counts": {name: n}, "errors": e}
client.py hold HOST PORT N SECS    opens N connections (sequentially), reads each
                                   banner, keeps all open SECS seconds while echoing
                                   a line on each every 0.2 s, then closes;
                                   {"counts": ..., "errors": e, "echo_errors": e}
client.py httplog HOST PORT SECS   HTTP requests back to back for SECS seconds;
                                   {"log": [[unix_time, name_or_"ERR"], ...]}
client.py udp HOST PORT N [BASE [SRC]]
                                   N datagrams, one at a time, from N different source ports
                                   (BASE+i, default 20000, wrapping below 65536) of address
                                   SRC (default any); {"counts": ..., "errors": e}
Every socket operation has a timeout; the loops are bounded by N and SECS.
"""
import json, socket, sys, time
from collections import Counter

mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = int(float(sys.argv[4])) if len(sys.argv) > 4 else 0
counts, errors, echo_errors = Counter(), 0, 0

if mode == "http":
    src = sys.argv[5] if len(sys.argv) > 5 else None
    for i in range(n):
        try:
            s = socket.create_connection((host, port), timeout=3, source_address=(src, 0) if src else None)
            s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            s.close()
            body = data.split(b"\r\n\r\n", 1)[1].strip().decode()
            counts[body] += 1
        except Exception as e:
            errors += 1
elif mode == "httplog":
    log, end = [], time.time() + float(sys.argv[4])
    while time.time() < end:
        t = time.time()
        try:
            s = socket.create_connection((host, port), timeout=2)
            s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            s.close()
            head, _, body = data.partition(b"\r\n\r\n")
            ok = head.startswith(b"HTTP/1.0 200")
            log.append([t, body.strip().decode() if ok else "ERR"])
        except Exception:
            log.append([t, "ERR"])
        time.sleep(0.01)
    print(json.dumps({"log": log}))
    sys.exit(0)
elif mode == "hold":
    secs = float(sys.argv[5])
    socks, setup_errors = [], []
    for i in range(n):
        try:
            s = socket.create_connection((host, port), timeout=3)
            f = s.makefile("rb")
            name = f.readline().strip().decode()
            counts[name] += 1
            socks.append((s, f))
        except Exception as e:
            errors += 1
            setup_errors.append([time.time(), repr(e)])
    print(json.dumps({"established": len(socks), "at": time.time()}), file=sys.stderr, flush=True)
    end = time.time() + secs
    k = 0
    while time.time() < end:
        for s, f in socks:
            try:
                msg = b"ping %d\n" % k
                s.sendall(msg)
                if f.readline() != msg:
                    echo_errors += 1
            except Exception:
                echo_errors += 1
        k += 1
        time.sleep(0.2)
    for s, f in socks:
        s.close()
elif mode == "udp":
    base = int(sys.argv[5]) if len(sys.argv) > 5 else 20000
    src = sys.argv[6] if len(sys.argv) > 6 else "0.0.0.0"
    for i in range(n):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((src, base + i % (65536 - base)))  # a distinct client port per datagram
            s.settimeout(2)
            s.sendto(b"hello %d" % i, (host, port))
            d, _ = s.recvfrom(65536)
            name, _, rest = d.partition(b":")
            if rest != b"hello %d" % i:
                errors += 1
            counts[name.decode()] += 1
            s.close()
        except Exception:
            errors += 1
print(json.dumps({"counts": counts, "errors": errors, "echo_errors": echo_errors,
                  "setup_errors": setup_errors if mode == "hold" else []}))
