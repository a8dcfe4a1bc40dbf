"""``python -m bench``: realtime-events against the clients a user could pick, and the targets.

Run from the repository root. ``--smoke`` runs tiny counts in a few seconds (CI
runs it); ``--profile NAME`` profiles one client with cProfile instead. Every
headline ratio is paired: both clients run back to back in each repetition, on
the same stream, and the ratio of their CPU time is taken per repetition, then
the median (wall clock moves with the machine's load; CPU time much less).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
from collections import Counter

import anyio

from . import clients
from .clients import Client, Tally
from .fleet import in_fresh_process
from .measure import KiB, MiB, Sample, load, paired_ratio, paired_ratios, run_client, table
from .memory import backpressure, soak
from .server import BenchServer
from .stream import Plan
from .targets import Targets, declare
from .telephony import telephony

SESSION = "realtime-events Session: sync handler per type (core on)"
FLOOR = "floor: our connection + json.loads (the fair raw floor)"
MSGSPEC = "floor: our connection + msgspec typed union"
PYDANTIC = "floor: our connection + pydantic validate_json"
FRAMES_ONLY = "floor: our connection, frames only"
WEBSOCKETS = "user: websockets + json.loads"
AIOHTTP = "user: aiohttp + json.loads"
SDK = "user: openai SDK, async for"

AUDIO: dict[str, Client] = {
    FRAMES_ONLY: clients.our_frames,
    MSGSPEC: clients.our_msgspec,
    PYDANTIC: clients.our_validate,
    FLOOR: clients.our_json,
    SESSION: clients.session_sync,
    "realtime-events Session: async handler per type": clients.session_async,
    "realtime-events Session: '*' handler only": clients.session_star,
    "realtime-events Session: + transcript plugin": clients.session_transcript,
    WEBSOCKETS: clients.raw_json,
    AIOHTTP: clients.aiohttp_json,
    SDK: clients.sdk_iter,
    "user: openai SDK, dispatch_events + on()": clients.sdk_dispatch,
}
SMALL: dict[str, Client] = {
    MSGSPEC: clients.our_msgspec,
    FLOOR: clients.our_json,
    SESSION: clients.session_sync,
    WEBSOCKETS: clients.raw_json,
    AIOHTTP: clients.aiohttp_json,
    SDK: clients.sdk_iter,
}
BETA: dict[str, Client] = {FLOOR: clients.our_json, SESSION: clients.session_sync,
                           WEBSOCKETS: clients.raw_json, SDK: clients.sdk_iter}  # fmt: skip
FRAMES: dict[str, Client] = {
    "websockets asyncio client: frames, no parsing": clients.ws_frames,
    "realtime-events connection: frames, no parsing": clients.our_frames,
}
LATENCY: dict[str, Client] = {
    FLOOR: clients.our_json,  # what the machine and the connection allow, for reference
    WEBSOCKETS: clients.raw_json,
    SDK: clients.sdk_iter,
    SESSION: clients.session_sync,
}
SECTIONS = ["throughput", "small", "trio", "beta", "frames", "latency", "concurrency",
            "idle", "backpressure", "telephony", "soak"]  # fmt: skip


def throughput(
    server: BenchServer,
    contenders: dict[str, Client],
    plan: Plan,
    reps: int,
    *,
    against: str = SESSION,
    label: str = "Session",
    backends: dict[str, str] | None = None,
    warm_up: bool = True,
) -> dict[str, list[float]]:
    """Run each contender ``reps`` times, interleaved; print medians and paired CPU ratios.

    Returns, per contender, its CPU over ``against``'s in each repetition,
    smallest first (the table prints their median): 1.5 means it spent 1.5x the
    CPU per event that ``against`` did.
    """
    url = server.url(*plan.segments())
    expected, size = plan.events(), plan.payload_bytes()
    samples: dict[str, list[Sample]] = {name: [] for name in contenders}
    # A discarded warm-up run of each: imports, lazily built models and first-call
    # caches are the same for every run after it, and not what a long call costs.
    warm = server.url(*Plan(plan.dialect, 1, plan.audio_deltas, plan.mix).segments())
    for name, client in contenders.items() if warm_up else ():
        run_client(client, warm, backend=(backends or {}).get(name, "asyncio"))
    for _ in range(reps):
        for name, client in contenders.items():
            sample = run_client(client, url, backend=(backends or {}).get(name, "asyncio"))
            if sample.events != expected:
                raise SystemExit(f"{name}: got {sample.events} events, expected {expected}")
            samples[name].append(sample)
    base = [s.cpu for s in samples[against]]
    ratios, rows = {}, []
    for name, runs in samples.items():
        wall = statistics.median(s.wall for s in runs)
        cpu = statistics.median(s.cpu for s in runs)
        ratios[name] = paired_ratios([s.cpu for s in runs], base)
        rows.append([
            name, f"{expected / wall:,.0f}", f"{size / wall / MiB:,.1f}",
            f"{cpu / expected * 100_000:.2f}", f"{statistics.median(ratios[name]):.2f}x",
        ])  # fmt: skip
    print(table(["client", "events/s", "MB/s", "CPU s/100k ev", f"CPU / {label}'s, paired"],
                rows))  # fmt: skip
    return ratios


def latency(server: BenchServer, events: int, rate: float, runs: int) -> dict[str, float]:
    """Send-to-handler latency at a fixed send rate, stamped by the server, over ``runs`` runs.

    Also prints which event types make each client's slowest 1 %: a tail made of
    one kind of event points at what its handling costs, not at the machine.
    """
    url = server.url("paced", "ga", events, rate)
    pooled: dict[str, list[tuple[int, str]]] = {name: [] for name in LATENCY}
    per_run: dict[str, list[float]] = {name: [] for name in LATENCY}
    for _ in range(runs):
        for name, client in LATENCY.items():
            sample = run_client(client, url, stamped=True)
            lat = sorted(sample.latencies)
            pooled[name].extend(zip(sample.latencies, sample.kinds, strict=True))
            per_run[name].append(lat[int(len(lat) * 0.99)] / 1e6)
    rows, tails, summary = [], [], {}
    for name, pairs in pooled.items():
        pairs.sort()
        lat = [ns for ns, _ in pairs]
        p50, p99, p999 = (lat[min(len(lat) - 1, int(len(lat) * q))] / 1e6
                          for q in (0.5, 0.99, 0.999))  # fmt: skip
        summary[name] = p99
        summary[name + " p99.9"] = p999
        runs_p99 = " ".join(f"{p:.3f}" for p in per_run[name])
        rows.append([name, f"{len(lat):,}", f"{p50:.3f}", f"{p99:.3f}", f"{p999:.3f}",
                     f"{lat[-1] / 1e6:.3f}", runs_p99])  # fmt: skip
        tail = Counter(kind for _, kind in pairs[int(len(pairs) * 0.99) :])
        total = sum(tail.values())
        tails.append([name, ", ".join(f"{kind} {n / total:.0%}"
                                      for kind, n in tail.most_common(3))])  # fmt: skip
    print(table(["client", "events", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "p99 per run"],
                rows))  # fmt: skip
    print(table(["client", "the slowest 1 % of its events, by type"], tails))
    return summary


def concurrency(
    server: BenchServer, sessions: int, reps: int, plan: Plan | None = None
) -> dict[str, list[float]]:
    """Raw websockets and Sessions, ``sessions`` at once, each in a fresh process, paired.

    Returns the Session's CPU per event and peak RSS over raw websockets' in
    each repetition, smallest first.

    ``plan`` is each session's stream: by default one turn of 20 audio deltas (51
    events), where building, connecting and finishing a session weigh most.
    """
    plan = plan or Plan("ga", 1, 20)
    url = server.url(*plan.segments())
    expected = plan.events() * sessions
    results: dict[str, list[dict[str, float]]] = {"raw": [], "session": []}
    for _ in range(reps):
        for client in results:
            results[client].append(in_fresh_process("burst", client, url, sessions))
    rows = []
    for client, runs in results.items():
        events = min(r["events"] for r in runs)
        cpu = statistics.median(r["cpu"] / r["events"] * 100_000 for r in runs)
        peak = statistics.median((r["peak"] - r["base"]) / sessions for r in runs)
        wall = statistics.median(r["events"] / r["wall"] for r in runs)
        collector = statistics.median(r["gc_cpu"] / r["cpu"] * 100 for r in runs)
        full = statistics.median(r["full_collections"] for r in runs)
        rows.append([
            "realtime-events Session" if client == "session" else WEBSOCKETS,
            f"{int(events):,} / {expected:,}", f"{wall:,.0f}", f"{cpu:.2f}", f"{peak / KiB:,.0f}",
            f"{collector:.0f} % ({full:.0f} full)",
        ])  # fmt: skip
    print(table(["client", "events delivered", "events/s", "CPU s/100k ev",
                 "peak RSS KiB/session", "of it the collector"], rows))  # fmt: skip
    cpu_ratios = paired_ratios([r["cpu"] / r["events"] for r in results["session"]],
                               [r["cpu"] / r["events"] for r in results["raw"]])  # fmt: skip
    rss_ratios = paired_ratios([r["peak"] - r["base"] for r in results["session"]],
                               [r["peak"] - r["base"] for r in results["raw"]])  # fmt: skip
    # The collector's CPU grows with the objects every live session holds, not with
    # the work per event: the ratio without it says which of the two a miss is.
    without_collector = paired_ratio(
        [(r["cpu"] - r["gc_cpu"]) / r["events"] for r in results["session"]],
        [(r["cpu"] - r["gc_cpu"]) / r["events"] for r in results["raw"]],
    )
    print(f"Session / raw, paired: CPU per event {statistics.median(cpu_ratios):.2f}x "
          f"({without_collector:.2f}x without the collector's), "
          f"peak RSS {statistics.median(rss_ratios):.2f}x")  # fmt: skip
    return {"cpu": cpu_ratios, "rss": rss_ratios}


def profile(server: BenchServer, name: str, plan: Plan) -> None:
    """cProfile one client over a stream and print the top functions by own time."""
    client = {**AUDIO, **FRAMES}[name]
    url = server.url(*plan.segments())
    profiler = cProfile.Profile()

    async def main() -> None:
        await client(url, Tally())

    profiler.enable()
    anyio.run(main)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def _verdicts(targets: Targets, mix: str, ratios: dict[str, list[float]]) -> None:
    def ahead(key: str, name: str, at_least: float = 1.0) -> None:
        if name in ratios:
            targets.record_ratios(key, ratios[name], at_least=at_least)

    if mix == "audio":
        ahead("floor", FLOOR)
        ahead("websockets", WEBSOCKETS, 1.5)
        ahead("aiohttp audio", AIOHTTP)
        ahead("sdk audio", SDK)
    else:
        ahead("aiohttp small", AIOHTTP)
        ahead("websockets small", WEBSOCKETS)
        ahead("sdk small", SDK)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the sections, print the tables and the targets."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts, a few seconds (CI)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per measurement")
    parser.add_argument("--turns", type=int, default=100, help="turns per throughput stream")
    parser.add_argument("--audio-deltas", type=int, default=100, help="deltas per turn")
    parser.add_argument("--sessions", type=int, default=1000, help="concurrent sessions")
    parser.add_argument("--fleet-max", type=int, default=2000, help="sessions that must all finish")
    parser.add_argument("--fleet-reps", type=int, default=3)
    parser.add_argument("--soak-deltas", type=int, default=36_000, help="audio deltas in the soak")
    parser.add_argument("--latency-events", type=int, default=5000)
    parser.add_argument("--only", nargs="*", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--profile", metavar="CLIENT", help="profile one client (a row name)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.reps, args.turns, args.audio_deltas, args.fleet_reps = 1, 3, 20, 1
        args.sessions, args.fleet_max, args.soak_deltas, args.latency_events = 10, 20, 400, 200
    sections = set(args.only or SECTIONS)
    plan = Plan("ga", args.turns, args.audio_deltas)
    small = Plan("ga", args.turns, args.audio_deltas, "small")
    targets = Targets()
    declare(targets)
    if args.smoke:
        # CI checks that every section runs, in seconds: no warm-up, and not the
        # SDK, whose import alone takes seconds.
        for contenders in (AUDIO, SMALL, BETA, LATENCY):
            for name in [n for n in contenders if "openai SDK" in n]:
                del contenders[name]
    warm_up = not args.smoke

    with BenchServer() as server:
        if args.profile:
            profile(server, args.profile, plan)
            return 0
        print(f"python {sys.version.split()[0]}; {load()}; median of {args.reps} runs")
        print(f"audio mix: session.created + {plan.turns} turns of {plan.audio_deltas} audio "
              f"deltas (base64 of 4,800 B) with transcript deltas = {plan.events():,} events, "
              f"{plan.payload_bytes() / MiB:.1f} MB; small mix: {small.events():,} events, "
              f"{small.payload_bytes() / MiB:.1f} MB")  # fmt: skip
        if "throughput" in sections:
            print("\n## Throughput, audio mix (GA)")
            _verdicts(targets, "audio", throughput(server, AUDIO, plan, args.reps, warm_up=warm_up))
        if "small" in sections:
            print("\n## Throughput, small-event mix (GA)")
            _verdicts(
                targets, "small", throughput(server, SMALL, small, args.reps, warm_up=warm_up)
            )
        if "trio" in sections:
            print("\n## The same Session on trio, against the floor on trio")
            on_trio: dict[str, Client] = {FLOOR: clients.our_json, SESSION: clients.session_sync}
            throughput(server, on_trio, plan, args.reps,
                       backends=dict.fromkeys(on_trio, "trio"))  # fmt: skip
        if "beta" in sections:
            print("\n## Throughput, audio mix (beta dialect)")
            beta = Plan("beta", plan.turns, plan.audio_deltas)
            throughput(server, BETA, beta, args.reps, warm_up=warm_up)
        if "frames" in sections:
            print("\n## Frames only, no parsing: our connection vs websockets' asyncio client")
            throughput(server, FRAMES, plan, args.reps,
                       against="websockets asyncio client: frames, no parsing",
                       label="websockets")  # fmt: skip
        if "latency" in sections:
            runs = max(1, min(3, args.reps))
            print(f"\n## Send-to-handler latency at 1,000 events/s ({runs} runs of "
                  f"{args.latency_events:,} events)")  # fmt: skip
            lat = latency(server, args.latency_events, 1000.0, runs)
            p99, p999 = lat[SESSION], lat[SESSION + " p99.9"]
            targets.record(
                "latency",
                f"p99 {p99:.3f} ms, p99.9 {p999:.3f} ms (floor's p99 {lat[FLOOR]:.3f} ms)",
                p99 < 0.5,
            )
        if "concurrency" in sections:
            n = args.sessions
            print(f"\n## {n:,} concurrent sessions, one turn of 20 audio deltas each "
                  f"(fresh process per run, {args.fleet_reps} runs each)")  # fmt: skip
            fleet = concurrency(server, n, args.fleet_reps)
            at = f" at {n:,}"
            targets.record_ratios("fleet cpu", fleet["cpu"], at_most=1.5, note=at)
            targets.record_ratios("fleet rss", fleet["rss"], at_most=2.0, note=at)
            big = args.fleet_max
            url = server.url(*Plan("ga", 1, 20).segments())
            run = in_fresh_process("burst", "session", url, big)
            complete = run["min_events"] == Plan("ga", 1, 20).events()
            print(f"{big:,} Sessions at once: {int(run['events']):,} events, every session "
                  f"complete: {'yes' if complete else 'NO'}, {run['wall']:.1f} s")  # fmt: skip
            targets.record("fleet 2000", f"{big:,}: {'all' if complete else 'NOT all'} delivered",
                           complete)  # fmt: skip
            # Longer sessions, where the per-event path weighs more than a session's
            # setup: reported beside the target, which is the short sessions' figure.
            longer = Plan("ga", 3 if not args.smoke else 1, 100, "small")
            print(f"\n## {n:,} concurrent sessions, {longer.events():,} small events each "
                  f"(fresh process per run, {args.fleet_reps} runs each)")  # fmt: skip
            concurrency(server, n, args.fleet_reps, longer)
        if "idle" in sections:
            n = max(10, args.sessions)
            traced = in_fresh_process("idle", server.url("idle", "ga"), n, "--traced")["traced"]
            each = f"{traced / KiB:.1f} KiB each traced"
            if not args.smoke:
                resident = in_fresh_process("idle", server.url("idle", "ga"), n)["rss"]
                each += f", {resident / KiB:.1f} KiB of RSS"
            print(f"\n## Idle connected sessions ({n:,}, fresh process): {each}")
            targets.record("idle", f"{traced / KiB:.1f} KiB", traced < 64 * KiB)
        if "backpressure" in sections:
            print("\n## Backpressure: a handler slower than the stream")
            turns = max(4, args.turns // 5)
            bp = backpressure(server, turns, budget=1024 * 1024)
            flat = bp["second"] <= bp["first"] + 0.25 * bp["budget"]
            bounded = bp["pending"] <= bp["budget"] + 512 * KiB
            targets.record(
                "backpressure",
                f"pending <= {bp['pending'] / MiB:.2f} MiB of {bp['budget'] / MiB:g}; traced "
                f"+{bp['first'] / MiB:.2f} then +{bp['second'] / MiB:.2f} MiB",
                flat and bounded,
            )
        if "telephony" in sections:
            seconds = 0.5 if args.smoke else 10.0
            print(f"\n## Telephony: {seconds:g} s of speech in 20 ms chunks, per call direction")
            cost = telephony(seconds, 1 if args.smoke else 3)
            engine = "soxr" if "soxr 8k -> 24k" in cost else "python"
            worst = max(cost[f"{engine} 8k -> 24k"], cost[f"{engine} 24k -> 8k"])
            targets.record("telephony", f"{worst:.3f} % ({engine})", worst <= 0.2)
        if "soak" in sections:
            print("\n## Soak: a one-hour call, time compressed")
            soak(server, max(1, args.soak_deltas // 100), 100)
            print("\n## Soak again, the conversation mirror bounded")
            soak(server, max(1, args.soak_deltas // 100), 100, history_limit=50)
    print(f"\n## Targets (issue 16); {load()}")
    print("Ratios are another client's CPU per event over the Session's, paired per run:")
    print("above 1.0x the Session is ahead. pipecat and livekit are not in the bench.")
    targets.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
