"""SASL scenarios driven by kafka-python on a SASL_PLAINTEXT listener, or
on a SASL_SSL one when the CA that signed the broker's certificate is given.
Usage: kafka_python_sasl.py HOST:PORT [CA.pem]

The broker has PLAIN user alice/alice-secret, SCRAM-SHA-256 user
carol/carol-secret and SCRAM-SHA-512 user dave/dave-secret, and takes
unsecured OAUTHBEARER tokens. Each mechanism produces and consumes one
record; a wrong password fails with an authentication error. The first
failure is reported as "kafka-python: <scenario>: <error>", exit 1.
"""

import base64
import logging
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.net.sasl.oauth import AbstractTokenProvider

BOOTSTRAP = sys.argv[1]
CA = sys.argv[2] if len(sys.argv) > 2 else None


def b64(data):
    return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()


class UnsecuredToken(AbstractTokenProvider):
    """An unsecured JWS (alg none), as Kafka's development login makes."""

    def token(self):
        now = int(time.time())
        claims = json.dumps({"sub": "erin", "iat": now, "exp": now + 3600})
        return f"{b64(json.dumps({'alg': 'none'}))}.{b64(claims)}."


def settings(mechanism, user, password):
    s = dict(bootstrap_servers=BOOTSTRAP, security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism)
    if CA:
        s.update(security_protocol="SASL_SSL", ssl_cafile=CA)
    if mechanism == "OAUTHBEARER":
        s["sasl_oauth_token_provider"] = UnsecuredToken()
    else:
        s.update(sasl_plain_username=user, sasl_plain_password=password)
    return s


def produce_and_consume(mechanism, user, password):
    topic = "kp-sasl-" + mechanism.lower()
    producer = KafkaProducer(**settings(mechanism, user, password))
    producer.send(topic, b"hello").get(timeout=15)
    producer.close()
    consumer = KafkaConsumer(enable_auto_commit=False, **settings(mechanism, user, password))
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    values = []
    deadline = time.time() + 15
    while not values and time.time() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            values.extend(r.value for r in records)
    consumer.close()
    if values != [b"hello"]:
        raise AssertionError(f"consumed {values!r} from {topic}")


class Captured(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def wrong_password_fails(mechanism, user, message):
    """kafka-python retries a failed login until bootstrap_timeout_ms, and
    logs the broker's reason on each attempt."""
    captured = Captured()
    logging.getLogger("kafka").addHandler(captured)
    try:
        KafkaProducer(**settings(mechanism, user, "wrong"), bootstrap_timeout_ms=3000)
    except KafkaError:
        pass
    else:
        raise AssertionError(f"{mechanism} with a wrong password connected")
    finally:
        logging.getLogger("kafka").removeHandler(captured)
    if not any(message in m for m in captured.messages):
        raise AssertionError(f"no client error saying {message!r}: {captured.messages}")


def main():
    steps = [
        ("PLAIN produces and consumes", lambda: produce_and_consume("PLAIN", "alice", "alice-secret")),
        ("SCRAM-SHA-256 produces and consumes", lambda: produce_and_consume("SCRAM-SHA-256", "carol", "carol-secret")),
        ("SCRAM-SHA-512 produces and consumes", lambda: produce_and_consume("SCRAM-SHA-512", "dave", "dave-secret")),
        ("OAUTHBEARER produces and consumes", lambda: produce_and_consume("OAUTHBEARER", "erin", None)),
        ("PLAIN with a wrong password fails", lambda: wrong_password_fails(
            "PLAIN", "alice", "Authentication failed: Invalid username or password")),
        ("SCRAM-SHA-256 with a wrong password fails", lambda: wrong_password_fails(
            "SCRAM-SHA-256", "carol", "invalid credentials with SASL mechanism SCRAM-SHA-256")),
        ("SCRAM-SHA-512 with a wrong password fails", lambda: wrong_password_fails(
            "SCRAM-SHA-512", "dave", "invalid credentials with SASL mechanism SCRAM-SHA-512")),
    ]
    for name, step in steps:
        started = time.time()
        try:
            step()
        except Exception as e:
            print(f"kafka-python: {name}: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(f"ok: {name} ({(time.time() - started) * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
