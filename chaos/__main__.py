"""`python -m chaos [--short] [--only a,b] [--output docs/RELIABILITY.md]`: run the chaos scenarios.

Exit code 0 only when every scenario chosen passed. The results table goes to the output file
(section per mode, so a short run does not erase the last full run's table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

from chaos import scenarios
from chaos.report import write_report

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos")
    parser.add_argument("--short", action="store_true", help="the CI version: 60 motions, shorter stretches")
    parser.add_argument("--only", default="a,b,c,d,e", help="comma-separated scenario letters")
    parser.add_argument("--output", default=str(ROOT / "docs" / "RELIABILITY.md"), help="report file ('-': none)")
    parser.add_argument("--json", default=None, help="also write the raw results as JSON here")
    parser.add_argument("--keep-logs", action="store_true", help="keep every process's logs (always kept on failure)")
    args = parser.parse_args(argv)
    plan = scenarios.Plan.short() if args.short else scenarios.Plan.full()
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in scenarios.SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {unknown}")
    started = time.monotonic()
    # the code under test is the checkout at the start of the run
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    commit = commit.stdout.strip()
    results = []
    for key in keys:
        print(f"== scenario {key}: {scenarios.SCENARIOS[key][0]}", flush=True)
        result = scenarios.run(key, plan, keep_logs=args.keep_logs, log=lambda m: print(m, flush=True))
        results.append(result)
        verdict = "PASS" if result.passed else "FAIL"
        print(f"== scenario {key}: {verdict} in {result.wall_seconds:.0f} s; drain {result.drain_seconds}; "
              f"{json.dumps(result.verdict.metrics if result.verdict else result.error, default=str)}",
              flush=True)  # fmt: skip
    total = time.monotonic() - started
    mode = "short" if args.short else "full"
    command = "python -m chaos " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"mode": mode, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
            "command": command.strip(), "seconds": round(total), "plan": plan}  # fmt: skip
    if args.output != "-":
        write_report(Path(args.output), meta, results)
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ | {"verdict": r.verdict.__dict__ if r.verdict else None}
                                               for r in results], default=str, indent=2))  # fmt: skip
    failed = [r.key for r in results if not r.passed]
    print(f"chaos {mode}: {len(results) - len(failed)}/{len(results)} passed in {total:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
