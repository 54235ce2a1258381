# udp-lab's own copy of the article's first UDP client: sendto, then recvfrom(1024), print.
# Differences from the article, each for testing: HOST/PORT/COUNT/MESSAGE arguments, IPv6 when
# HOST contains ':', and a 2-second timeout so a lost reply ends with exit code 1, not a hang.
# Usage: python3 echo_client.py HOST PORT [COUNT] [MESSAGE]   (defaults 1 hello)
import socket
import sys

if len(sys.argv) < 3:
    # No default server port (the article has a fixed one): the server's first line names its port.
    print('usage: python3 echo_client.py HOST PORT [COUNT] [MESSAGE]', file=sys.stderr)
    sys.exit(2)
host = sys.argv[1]
port = int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
msg = sys.argv[4] if len(sys.argv) > 4 else 'hello'
family = socket.AF_INET6 if ':' in host else socket.AF_INET
client = socket.socket(family, socket.SOCK_DGRAM)
client.settimeout(2.0)
for _ in range(count):
    client.sendto(msg.encode('utf-8'), (host, port))
    try:
        data, server_addr = client.recvfrom(1024)
    except socket.timeout:
        print('no reply from %s:%d within 2 s' % (host, port), file=sys.stderr)
        sys.exit(1)
    print(data.decode('utf-8', 'replace'))
