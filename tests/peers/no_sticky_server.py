# udp-lab's own copy of the article's "no sticky packets" receiver (part 2): one recvfrom(1024)
# per datagram, each printed on its own line, so five sends show as five lines, never merged.
# Differences from the article, each for testing: HOST/PORT/COUNT/WAIT arguments (port 0 = the OS
# chooses), IPv6 when HOST contains ':', a first line "listening on HOST:PORT", an optional wait
# before the first recvfrom (so that every datagram is queued before anything is read), and an
# end after COUNT datagrams (the article loops forever).
# Usage: python3 no_sticky_server.py [HOST] [PORT] [COUNT] [WAIT_S]   (defaults 127.0.0.1 0 5 0:
# the OS chooses the port, the first line names it; the article's fixed port is no default here)
import socket
import sys
import time

host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
count = int(sys.argv[3]) if len(sys.argv) > 3 else 5
wait = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
family = socket.AF_INET6 if ':' in host else socket.AF_INET
server = socket.socket(family, socket.SOCK_DGRAM)
server.bind((host, port))
print('listening on %s' % ('[%s]:%d' % server.getsockname()[:2] if family == socket.AF_INET6
                            else '%s:%d' % server.getsockname()), flush=True)
if wait > 0:
    print('reading nothing for %g s: send now' % wait, flush=True)
    time.sleep(wait)
for _ in range(count):
    data, addr = server.recvfrom(1024)
    print(data, flush=True)
