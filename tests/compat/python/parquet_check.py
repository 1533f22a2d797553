"""Reads the Parquet files of a topic-export directory with pyarrow, a reader
that shares no code with the parquet crate that wrote them, and prints what
it finds for tests/it/export.rs to check: for each file (in MANIFEST order)
a `schema` line, the Arrow type of each column, then a `record` line per
row with every field (bytes as hex, timestamps as epoch milliseconds).

Usage: parquet_check.py EXPORT_DIR
"""

import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def plain(v):
    if isinstance(v, bytes):
        return {"hex": v.hex()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def main(directory):
    with open(f"{directory}/MANIFEST") as manifest:
        entries = [json.loads(line) for line in manifest]
    for entry in entries:
        table = pq.read_table(f"{directory}/{entry['file']}")
        schema = {f.name: str(f.type) for f in table.schema}
        print("schema " + json.dumps(schema, sort_keys=True))
        if table.num_rows != entry["records"]:
            sys.exit(f"{entry['file']}: {table.num_rows} rows, MANIFEST says {entry['records']}")
        # Epoch milliseconds exactly, not through a float of seconds.
        i = table.schema.get_field_index("timestamp")
        table = table.set_column(i, "timestamp", table["timestamp"].cast(pa.int64()))
        for row in table.to_pylist():
            print("record " + json.dumps(plain(row), sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
