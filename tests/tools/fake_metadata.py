#!/usr/bin/python3
"""Fake kubelet (HTTP, or HTTPS with --tls-cert/--tls-key; GET /pods with a bearer token) and fake Docker Engine (HTTP over a unix
socket, GET /containers/json) serving recorded answers from tests/fixtures/metadata with
container ids filled in. Prints "kubelet PORT" first. Counts requests per path.

Usage: fake_metadata.py --token T --app-id ID --web-id ID --docker-id ID --docker-socket PATH
       [--tls-cert PEM --tls-key PEM]
"""
import argparse
import json
import os
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(os.path.dirname(HERE), "fixtures", "metadata")


def load(name, subs):
    text = open(os.path.join(FIX, name)).read()
    for k, v in subs.items():
        text = text.replace(k, v)
    json.loads(text)  # the recorded answer must stay valid JSON
    return text.encode()


class Kubelet(BaseHTTPRequestHandler):
    body, token, hits = b"", "", {"pods": 0, "unauthorized": 0}

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer " + self.token:
            Kubelet.hits["unauthorized"] += 1
            self.send_response(401)
            self.end_headers()
            return
        if self.path != "/pods":
            self.send_response(404)
            self.end_headers()
            return
        Kubelet.hits["pods"] += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


class Docker(BaseHTTPRequestHandler):
    body = b""

    def log_message(self, *a):
        pass

    def address_string(self):
        return "unix"

    def do_GET(self):
        if not self.path.startswith("/containers/json"):
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


class UnixHTTPServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", required=True)
    ap.add_argument("--app-id", required=True)
    ap.add_argument("--web-id", default="9" * 64)
    ap.add_argument("--docker-id", required=True)
    ap.add_argument("--docker-socket", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    Kubelet.token = a.token
    Kubelet.body = load("kubelet-pods.json", {"@APP_ID@": a.app_id, "@WEB_ID@": a.web_id})
    Docker.body = load("docker-containers.json", {"@DOCKER_ID@": a.docker_id})
    k = ThreadingHTTPServer(("127.0.0.1", 0), Kubelet)
    if a.tls_cert:  # the kubelet's port 10250 serves only TLS
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        k.socket = ctx.wrap_socket(k.socket, server_side=True)
    if os.path.exists(a.docker_socket):
        os.unlink(a.docker_socket)
    d = UnixHTTPServer(a.docker_socket, Docker)
    threading.Thread(target=k.serve_forever, daemon=True).start()
    threading.Thread(target=d.serve_forever, daemon=True).start()
    print("kubelet %d" % k.server_address[1], flush=True)
    try:
        sys.stdin.read()  # until the test closes our stdin
    finally:
        print(json.dumps(Kubelet.hits), flush=True)


if __name__ == "__main__":
    main()
