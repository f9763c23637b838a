#!/usr/bin/env python3
"""bench/capacity_server.py ADDR PORT DELAYS - the HTTP/1.0 server of
bench/capacity.sh: GET /N answers N bytes, one connection a request.

DELAYS is a file of "PREFIX SECONDS" lines, read at every request (the
bench rewrites it per shape): a request from an address in PREFIX waits
SECONDS before its first byte. It stands in for a link's round trip where
the kernel has no sch_netem: the client's connection waits two round
trips (handshake, request) before data flows. Prints "ready" once
listening."""
import ipaddress
import socket
import socketserver
import sys
import time

CHUNK = bytes(65536)


def delay_for(addr, path):
    ip = ipaddress.ip_address(addr)
    try:
        with open(path) as f:
            for line in f:
                prefix, seconds = line.split()
                if ip in ipaddress.ip_network(prefix):
                    return float(seconds)
    except (OSError, ValueError):
        pass
    return 0.0


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        words = self.rfile.readline().split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        try:
            n = int(words[1].lstrip(b"/"))
        except (IndexError, ValueError):
            n = 0
        time.sleep(delay_for(self.client_address[0], self.server.delays))
        self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % n)
        while n > 0:
            part = min(n, len(CHUNK))
            self.wfile.write(CHUNK[:part])
            n -= part


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 256


if __name__ == "__main__":
    srv = Server((sys.argv[1], int(sys.argv[2])), Handler)
    srv.delays = sys.argv[3]
    print("ready", flush=True)
    srv.serve_forever()
