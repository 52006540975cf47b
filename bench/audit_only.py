"""``python -m bench.audit_only [--db sqlite|postgres] [--projects N]``: the audit figures alone."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench import audit
from bench.common import cli, new_database, service


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--projects", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = new_database(args.db, Path(tmp))
        try:
            cli("migrate", url=db.url)
            start = time.perf_counter()
            print(cli("seed", "--synthetic", str(args.projects), url=db.url), f"in {time.perf_counter() - start:.0f} s")
            with service(db.url) as (base, headers, pid):
                for row in audit.run(db, base, headers, pid):
                    print(json.dumps(row, ensure_ascii=False))
        finally:
            db.drop()


if __name__ == "__main__":
    main()
