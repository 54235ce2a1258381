# udp-lab's own copy of the article's concurrent clients: THREADS threads, each ROUNDS
# request/reply rounds "<thread name> [n]", checking that each reply contains the request
# upper-cased. Differences from the article: arguments, IPv6 when HOST contains ':', a 2-second
# timeout per reply, and exit code 1 when any reply is missing or wrong.
# Usage: python3 threading_clients.py HOST PORT [THREADS] [ROUNDS]   (defaults 50 10)
import socket
import sys
from threading import Thread, current_thread

if len(sys.argv) < 3:
    # No default server port (the article has a fixed one): the server's first line names its port.
    print('usage: python3 threading_clients.py HOST PORT [THREADS] [ROUNDS]', file=sys.stderr)
    sys.exit(2)
host = sys.argv[1]
port = int(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 50
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 10
family = socket.AF_INET6 if ':' in host else socket.AF_INET
failures = []


def task():
    client = socket.socket(family, socket.SOCK_DGRAM)
    client.settimeout(2.0)
    for n in range(rounds):
        msg = '%s [%s]' % (current_thread().name, n)
        client.sendto(msg.encode('utf-8'), (host, port))
        try:
            data, _ = client.recvfrom(1024)
        except OSError as e:
            failures.append('%s: %r' % (msg, e))
            continue
        if msg.upper() not in data.decode('utf-8', 'replace'):
            failures.append('%s: got %r' % (msg, data))
        print(data.decode('utf-8', 'replace'))


if __name__ == '__main__':
    ts = [Thread(target=task) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print('%d failures' % len(failures))
    for f in failures[:10]:
        print(f)
    sys.exit(1 if failures else 0)
