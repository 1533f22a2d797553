"""kafka-python over TLS with a client certificate (mTLS).
Usage: kafka_python_tls.py HOST:PORT CA_PEM CERT_PEM KEY_PEM

Produces to a topic the broker creates on first use and reads the records
back, through the SSL listener only. The first failure is reported as
"kafka-python tls: <step>: <error>" and the script exits 1.
"""

import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

BOOTSTRAP, CA, CERT, KEY = sys.argv[1:5]
SSL = dict(
    bootstrap_servers=BOOTSTRAP,
    security_protocol="SSL",
    ssl_cafile=CA,
    ssl_certfile=CERT,
    ssl_keyfile=KEY,
)
TOPIC = "kafka-python-tls"
VALUES = [b"one", b"two", b"three"]


def produce():
    p = KafkaProducer(**SSL)
    for v in VALUES:
        p.send(TOPIC, value=v, partition=0).get(timeout=20)
    p.close()


def consume():
    c = KafkaConsumer(**SSL, enable_auto_commit=False, consumer_timeout_ms=15000)
    tp = TopicPartition(TOPIC, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    got = []
    deadline = time.time() + 20
    while len(got) < len(VALUES) and time.time() < deadline:
        for records in c.poll(timeout_ms=200).values():
            got.extend(r.value for r in records)
    c.close()
    if got != VALUES:
        raise AssertionError(f"read {got}, expected {VALUES}")


def main():
    for name, step in [("produce over mTLS", produce), ("consume over mTLS", consume)]:
        started = time.time()
        try:
            step()
        except Exception as e:  # the client's own account is the report
            print(f"kafka-python tls: {name}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(f"ok: {name} ({(time.time() - started) * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
