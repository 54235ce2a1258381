# udp-lab's own copy of the article's first UDP server (recvfrom, print, sendto(data.upper())).
# Differences from the article, each for testing: HOST/PORT arguments (port 0 = the OS chooses),
# IPv6 when HOST contains ':', a first line "listening on HOST:PORT", and printing that
# survives bytes that are not UTF-8 (the article's server dies on them).
# Usage: python3 echo_server.py [HOST] [PORT]   (defaults 127.0.0.1 0: the OS chooses the port,
# the first line names it; the article's fixed port is no default here: tests never use one)
import socket
import sys

host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
family = socket.AF_INET6 if ':' in host else socket.AF_INET
server = socket.socket(family, socket.SOCK_DGRAM)
server.bind((host, port))
print('listening on %s' % ('[%s]:%d' % server.getsockname()[:2] if family == socket.AF_INET6
                            else '%s:%d' % server.getsockname()), flush=True)
while True:
    data, client_addr = server.recvfrom(1024)
    print('received udp message %s' % data.decode('utf-8', 'replace'), flush=True)
    server.sendto(data.upper(), client_addr)
