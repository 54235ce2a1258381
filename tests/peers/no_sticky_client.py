# udp-lab's own copy of the article's "no sticky packets" sender (part 2): COUNT sendto calls,
# b'Hello1' to b'HelloN', one after the other without waiting for anything.
# Differences from the article, each for testing: HOST/PORT/COUNT arguments, IPv6 when HOST
# contains ':', and one round of sends (the article loops forever).
# Usage: python3 no_sticky_client.py HOST PORT [COUNT]   (default 5)
import socket
import sys

if len(sys.argv) < 3:
    # No default server port (the article has a fixed one): the server's first line names its port.
    print('usage: python3 no_sticky_client.py HOST PORT [COUNT]', file=sys.stderr)
    sys.exit(2)
host = sys.argv[1]
port = int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 5
family = socket.AF_INET6 if ':' in host else socket.AF_INET
client = socket.socket(family, socket.SOCK_DGRAM)
for i in range(1, count + 1):
    client.sendto(b'Hello%d' % i, (host, port))
print('sent %d datagrams to %s port %d' % (count, host, port))
