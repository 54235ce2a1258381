# udp-lab's own copy of the article's concurrent server: socketserver.ThreadingUDPServer,
# one thread per datagram, replying "<thread name> [<UPPER-CASED DATA>]".
# Differences from the article, each for testing: HOST/PORT arguments (port 0 = the OS chooses),
# IPv6 when HOST contains ':', and a first line "listening on HOST:PORT".
# Usage: python3 threading_server.py [HOST] [PORT]   (defaults 127.0.0.1 0: the OS chooses the
# port, the first line names it; the article's fixed port is no default here: tests never use one)
import socket
import socketserver
import sys
from threading import current_thread


class MyUdpHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        msg = '%s [%s]' % (current_thread().name, data.upper().decode('utf-8', 'replace'))
        sock.sendto(msg.encode('utf-8'), self.client_address)


class Server6(socketserver.ThreadingUDPServer):
    address_family = socket.AF_INET6


if __name__ == '__main__':
    host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    cls = Server6 if ':' in host else socketserver.ThreadingUDPServer
    server = cls((host, port), MyUdpHandler)
    name = server.server_address
    print('listening on %s' % ('[%s]:%d' % name[:2] if ':' in host else '%s:%d' % name), flush=True)
    server.serve_forever()
