"""Parse cost per message: TCP framing and row building of the seeded load, CPU only, no database.

`python -m bench.parse [--against DIR]` times this tree and, with `--against`, another checkout
(for instance `git worktree add /tmp/base main`) in alternating child processes of the same run,
and prints each one's best CPU microseconds per message and the ratio of the two.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

COUNT = int(os.environ.get("BENCH_MESSAGES", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def measure() -> dict[str, float]:
    """Best-of-five CPU µs per message for framing an LF stream and for building rows, in this process."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415  (imported from the tree under test)

    from bench.loadgen import generate  # noqa: PLC0415
    from collector.buffer import Received  # noqa: PLC0415
    from collector.framing import FrameDecoder  # noqa: PLC0415
    from collector.rows import build_rows  # noqa: PLC0415

    lines = generate(COUNT, seed=1).lines
    stream = b"".join(line + b"\n" for line in lines)
    chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    now = time.time()
    batch = [Received(now, "192.0.2.1", line, False) for line in lines]
    zone = ZoneInfo("Europe/Berlin")
    best = {"framing": float("inf"), "rows": float("inf")}
    for _ in range(5):
        start = time.process_time()
        decoder = FrameDecoder(65536)
        frames = sum(len(decoder.feed(chunk)) for chunk in chunks) + len(decoder.finish())
        best["framing"] = min(best["framing"], time.process_time() - start)
        assert frames == len(lines), frames
        start = time.process_time()
        for i in range(0, len(batch), 2000):
            build_rows(batch[i : i + 2000], zone)
        best["rows"] = min(best["rows"], time.process_time() - start)
    return {name: seconds * 1e6 / len(lines) for name, seconds in best.items()}


def _child(tree: Path) -> dict[str, float]:
    """Run `measure` in a fresh interpreter that imports the collector from `tree`."""
    bench = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{bench}"}
    code = "import json, bench.parse as p; print(json.dumps(p.measure()))"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def main() -> int:
    """Time this tree (and the other one, alternating) and print µs per message and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", type=Path, help="another checkout to time in the same run")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    trees = {"this tree": here} if args.against is None else {"baseline": args.against.resolve(), "this tree": here}
    best: dict[str, dict[str, float]] = {}
    for _ in range(ROUNDS):
        for name, tree in trees.items():
            got = _child(tree)
            best[name] = {key: min(value, best.get(name, {}).get(key, float("inf"))) for key, value in got.items()}
    print(f"{COUNT} messages, best of {ROUNDS} rounds x 5, CPU µs per message")
    print("| tree | framing | rows | total |")
    print("|---|---|---|---|")
    for name, figures in best.items():
        total = figures["framing"] + figures["rows"]
        print(f"| {name} | {figures['framing']:.2f} | {figures['rows']:.2f} | {total:.2f} |")
    if "baseline" in best:
        base, mine = best["baseline"], best["this tree"]
        ratio = (mine["framing"] + mine["rows"]) / (base["framing"] + base["rows"])
        print(f"\nthis tree / baseline: {ratio:.3f} (framing {mine['framing'] / base['framing']:.3f},"
              f" rows {mine['rows'] / base['rows']:.3f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
