"""The report of one benchmark run: a markdown summary table and PNG plots.

``python -m bench.report [RUN_ID]`` (the newest run by default) reads the run's JSON files in
bench/results/ and writes, beside them, ``summary-<run>.md`` (every headline figure with its
target and its ratio to the pass-through of the same run), ``latency-cdf-<run>.png`` (latency
CDF per load level: receipt, alert, webhook, and the pass-through at the same rates),
``throughput-ramp-<run>.png`` (offered against achieved rate, pipeline and pass-through, and
the pipeline's holds) and
``soak-rss-<run>.png`` (RSS, tracked indicators and state on disk over the soak). A benchmark
missing from the run is left out of the table and plots.
"""

from __future__ import annotations

import sys
from itertools import zip_longest
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import orjson

from bench.lib.results import results_dir
from bench.lib.targets import (
    TARGET_DELIVERIES_PER_S,
    TARGET_EVENTS_PER_S,
    TARGET_FAST,
    TARGET_GROWTH,
    TARGET_INDICATORS,
    TARGET_P50_MS,
    TARGET_P99_MS,
    TARGET_RATIO,
    TARGET_SCALE_OUT,
)

LEVEL_COLORS = {"25%": "tab:green", "50%": "tab:blue", "75%": "tab:red"}


def load_run(run_id: str, directory: Path) -> dict[str, dict[str, Any]]:
    """The run's results by benchmark name."""
    found = {}
    for path in sorted(directory.glob(f"*-{run_id}.json")):
        document = orjson.loads(path.read_bytes())
        found[document["benchmark"]] = document
    return found


def newest_run(directory: Path) -> str | None:
    stamps = sorted(p.stem.rsplit("-", 1)[-1] for p in directory.glob("*-2*.json"))
    return stamps[-1] if stamps else None


def _n(value: float | None, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}{unit}"


def _ratio(part: float | None, whole: float | None, digits: int = 3) -> str:
    return f"{part / whole:.{digits}f}x" if part and whole else "—"


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


SATURATED = 0.9
"""A burst that kept this share of the machine's cores busy had the machine as its limit."""


def busy_cores_row(busy: dict[str, Any]) -> str:
    """The scale-out bursts' busy cores, one → two processes, marked when the machine was full."""
    cores = busy["machine_cores"]

    def pair(one: float | None, two: float | None) -> str:
        full = two is not None and two >= SATURATED * cores
        return f"{_n(one, '', 2)} → {_n(two, '', 2)}" + (" (machine saturated)" if full else "")

    return (
        f"| machine cores busy in the scale-out bursts, one → two processes (of {cores}) | "
        f"{pair(*busy['pipeline'])} | {pair(*busy['passthrough'])} | — | — | — |"
    )


def summary_table(run: dict[str, dict[str, Any]]) -> list[str]:
    """Rows of the headline table (figure, measured, pass-through, ratio, target, met)."""
    rows = [
        "| figure | measured | pass-through, same run | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    tp = run.get("throughput", {}).get("figures", {}).get("summary")
    pass_max = tp["passthrough_max_sustained_per_s"] if tp else None
    if tp:
        pipe = tp["pipeline_max_sustained_per_s"]
        met = bool(pipe and pipe >= TARGET_EVENTS_PER_S and pipe >= TARGET_RATIO * (pass_max or 0))
        rows.append(
            f"| max sustained events/s, one streams process (held, no queueing) | {_n(pipe)} "
            f"| {_n(pass_max)} | {_ratio(pipe, pass_max)} | ≥ {_n(TARGET_EVENTS_PER_S)}/s and "
            f"≥ {TARGET_RATIO}x | {_met(met)} |"
        )
        if "pipeline_ramp_max_per_s" in tp:
            ramp_max = tp["pipeline_ramp_max_per_s"]
            rows.append(
                f"| highest ramp step kept up with (short steps) | {_n(ramp_max)} "
                f"| {_n(pass_max)} | {_ratio(ramp_max, pass_max)} | — | — |"
            )
        rows.append(
            f"| saturation events/s (burst; relay: backlog drain) | "
            f"{_n(tp['pipeline_saturation_per_s'])} | {_n(tp['passthrough_saturation_per_s'])} "
            f"| {_ratio(tp['pipeline_saturation_per_s'], tp['passthrough_saturation_per_s'])} "
            f"| — | — |"
        )
        rows.append(
            f"| events per CPU-second of the process (load-independent) | "
            f"{_n(tp['pipeline_per_cpu_second'])} | {_n(tp['passthrough_per_cpu_second'])} | "
            f"{_ratio(tp['pipeline_per_cpu_second'], tp['passthrough_per_cpu_second'])} | — | — |"
        )
        if tp.get("pipeline_records_per_event"):
            rows.append(
                f"| Kafka records read + written per event by the process (burst) | "
                f"{_n(tp['pipeline_records_per_event'], '', 1)} | "
                f"{_n(tp['passthrough_records_per_event'])} | "
                f"{_ratio(tp['pipeline_records_per_event'], tp['passthrough_records_per_event'])}"
                f" | — | — |"
            )
            per_cpu = tp["pipeline_records_per_cpu_second"]
            relay_per_cpu = tp["passthrough_records_per_cpu_second"]
            rows.append(
                f"| Kafka records per CPU-second of the process (cost per record) | "
                f"{_n(per_cpu)} | {_n(relay_per_cpu)} | {_ratio(per_cpu, relay_per_cpu)} "
                f"| — | — |"
            )
        rows.append(
            f"| scale-out, two processes ÷ one (burst) | {_n(tp['scale_out_pipeline'], 'x', 2)} "
            f"| {_n(tp['scale_out_passthrough'], 'x', 2)} | — | ≥ {TARGET_SCALE_OUT}x | "
            f"{_met((tp['scale_out_pipeline'] or 0) >= TARGET_SCALE_OUT)} |"
        )
        if "scale_out_busy_cores" in tp:
            rows.append(busy_cores_row(tp["scale_out_busy_cores"]))
    lat = run.get("latency", {}).get("figures", {}).get("summary")
    if lat and "50%" in lat:
        half = lat["50%"]
        ok = bool(
            half["alert_p50_ms"] is not None
            and half["alert_p50_ms"] <= TARGET_P50_MS
            and half["alert_p99_ms"] <= TARGET_P99_MS
        )
        rows.append(
            f"| event → alert at 50 % of max: p50 / p99 | {_n(half['alert_p50_ms'], ' ms', 1)} / "
            f"{_n(half['alert_p99_ms'], ' ms', 1)} | {_n(half['passthrough_p50_ms'], ' ms', 1)} / "
            f"{_n(half['passthrough_p99_ms'], ' ms', 1)} | "
            f"{_n(half['alert_p50_x_passthrough'], 'x', 1)} / "
            f"{_n(half['alert_p99_x_passthrough'], 'x', 1)} | ≤ {TARGET_P50_MS:g} ms / "
            f"≤ {TARGET_P99_MS:g} ms | {_met(ok)} |"
        )
    val = run.get("validation", {}).get("figures")
    if val:
        relay = tp["passthrough_per_cpu_second"] if tp else None
        rows.append(
            f"| validation fast path, events/s per core | {_n(val['fast_per_core'])} | "
            f"{_n(relay)} (relay, per CPU-s) | {_ratio(val['fast_per_core'], relay, 1)} | "
            f"≥ {_n(TARGET_FAST)} | {_met(val['fast_meets_target'])} |"
        )
    dlv = run.get("delivery", {}).get("figures")
    if dlv:
        rate = dlv["throughput"]["deliveries_per_s"]
        rows.append(
            f"| webhook deliveries/s, one process | {_n(rate)} | {_n(pass_max)} | "
            f"{_ratio(rate, pass_max)} | ≥ {_n(TARGET_DELIVERIES_PER_S)} | "
            f"{_met(rate >= TARGET_DELIVERIES_PER_S)} |"
        )
    soak_figures = run.get("soak", {}).get("figures", {})
    soak = soak_figures.get("memory")
    if soak and soak.get("rss_growth") is not None:
        rows.append(
            f"| soak: RSS growth after warm-up ({_n(soak['rss_after_warmup_mib'], ' MiB', 1)} → "
            f"{_n(soak['rss_end_mib'], ' MiB', 1)}) | {soak['rss_growth']:+.1%} | — | — | "
            f"within ±{TARGET_GROWTH * 100:.0f} % | {_met(soak['flat_within_target'])} |"
        )
    collections = soak_figures.get("full_collections") or {}
    if collections.get("collections") is not None:
        rows.append(
            f"| soak: full garbage collections after warm-up ({_n(collections['per_min'], '', 1)}"
            f"/min, mean pause {_n(collections['mean_pause_ms'], ' ms', 1)}) | "
            f"{collections['paused_share']:.2%} of the time | — | — | — | — |"
        )
    tracked = soak_figures.get("tracked_indicators_end")
    if tracked is not None:
        rows.append(
            f"| soak: distinct indicators the worker tracks at the end (feed + mix) | "
            f"{_n(tracked)} | — | — | ≥ {_n(TARGET_INDICATORS)} | "
            f"{_met(tracked >= TARGET_INDICATORS)} |"
        )
    return rows


def latency_table(run: dict[str, dict[str, Any]]) -> list[str]:
    lat = run.get("latency", {}).get("figures")
    if not lat:
        return []
    rows = [
        "| load | events/s | kind | p50 | p90 | p99 | p99.9 | pass-through p50 / p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for level, figures in lat["pipeline"].items():
        base = lat["passthrough"][level]["latency_ms"]
        for kind in ("receipt", "alert", "webhook"):
            got = figures[f"latency_{kind}_ms"]
            rows.append(
                f"| {level} | {_n(figures['offered_per_s'])} | {kind} ({got['count']}) | "
                + " | ".join(_n(got[p], " ms", 1) for p in ("p50", "p90", "p99", "p99_9"))
                + f" | {_n(base['p50'], ' ms', 1)} / {_n(base['p99'], ' ms', 1)} |"
            )
    return rows


def _percentile_axis(ax: Any) -> None:
    ticks = [50, 90, 99, 99.9]
    ax.set_xscale("log")
    ax.set_xticks([1 / (1 - t / 100) for t in ticks], [f"p{t:g}" for t in ticks])
    ax.set_xlim(1, 2000)
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)


def plot_latency(run: dict[str, dict[str, Any]], path: Path) -> bool:
    lat = run.get("latency", {}).get("figures")
    if not lat:
        return False
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
    for ax, kind in zip(axes, ("receipt", "alert", "webhook"), strict=True):
        for level, figures in lat["pipeline"].items():
            color = LEVEL_COLORS.get(level)
            cdf = figures[f"latency_{kind}_ms"]["cdf"]
            if cdf:
                ax.plot(
                    [1 / max(1e-6, 1 - p / 100) for p, _ in cdf],
                    [v for _, v in cdf],
                    color=color,
                    label=f"{level} ({figures['offered_per_s']:,.0f}/s)",
                )
            base = lat["passthrough"][level]["latency_ms"]["cdf"]
            if base and kind == "receipt":
                ax.plot(
                    [1 / max(1e-6, 1 - p / 100) for p, _ in base],
                    [v for _, v in base],
                    color=color,
                    linestyle="--",
                    alpha=0.6,
                    label=f"pass-through {level}",
                )
        _percentile_axis(ax)
        ax.set_title(f"produced → {kind}")
        ax.set_xlabel("percentile")
    axes[0].set_ylabel("latency (ms)")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Latency CDF per load level, run {lat and run['latency']['run_id']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_ramp(run: dict[str, dict[str, Any]], path: Path) -> bool:
    tp = run.get("throughput", {}).get("figures")
    if not tp:
        return False
    fig, ax = plt.subplots(figsize=(7, 5))
    top = 1.0
    for name, color in (("pipeline", "tab:blue"), ("passthrough", "tab:orange")):
        steps = tp[name]["ramp"]["steps"]
        offered = [s["offered_per_s"] for s in steps]
        achieved = [s["achieved_per_s"] for s in steps]
        top = max(top, *offered, *achieved)
        ax.plot(offered, achieved, color=color, alpha=0.5)
        for s in steps:
            ax.scatter(
                s["offered_per_s"],
                s["achieved_per_s"],
                color=color,
                facecolors=color if s["sustained"] else "none",
                s=40,
            )
        ax.plot([], [], color=color, marker="o", label=f"{name} (hollow: not sustained)")
    for h in tp["pipeline"].get("hold", {}).get("holds", []):
        ax.scatter(
            h["offered_per_s"],
            h["achieved_per_s"],
            color="tab:green",
            facecolors="tab:green" if h["held"] else "none",
            marker="s",
            s=60,
        )
    ax.plot(
        [], [], color="tab:green", marker="s", linestyle="", label="pipeline hold (hollow: queued)"
    )
    ax.plot([1, top * 1.2], [1, top * 1.2], color="grey", linestyle=":", label="achieved = offered")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered events/s (open loop)")
    ax.set_ylabel("achieved outputs/s")
    ax.set_title("Throughput ramp: one streams process vs pass-through")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_soak(run: dict[str, dict[str, Any]], path: Path) -> bool:
    soak = run.get("soak", {})
    samples = soak.get("figures", {}).get("samples")
    if not samples:
        return False
    fig, ax = plt.subplots(figsize=(9, 5))
    minutes = [s["t"] / 60 for s in samples]
    ax.plot(minutes, [s["rss_mib"] for s in samples], color="tab:blue", label="RSS (MiB)")
    ax.plot(
        minutes,
        [s["state_dir_mib"] for s in samples],
        color="tab:gray",
        label="RocksDB state on disk (MiB)",
    )
    warm = soak["settings"]["seconds"] * soak["settings"]["warmup_fraction"] / 60
    ax.axvspan(0, warm, color="grey", alpha=0.15, label="warm-up")
    ax.set_xlabel("minutes")
    ax.set_ylabel("MiB")
    ax.grid(True, alpha=0.3)
    other = ax.twinx()
    other.plot(
        minutes,
        [s["tracked_indicators"] or 0 for s in samples],
        color="tab:green",
        linestyle="--",
        label="tracked indicators",
    )
    other.set_ylabel("tracked indicators")
    lines = ax.get_legend_handles_labels()
    more = other.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="upper left")
    rate = soak["settings"]["rate"]
    ax.set_title(f"Soak: one streams process at {rate:,.0f} events/s (50 % of max)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(run_id: str, directory: Path) -> Path:
    """Write the markdown summary and the plots of ``run_id``; returns the markdown path."""
    run = load_run(run_id, directory)
    if not run:
        raise FileNotFoundError(f"no results of run {run_id} in {directory}")
    plots = {
        "latency CDF per load level": (plot_latency, f"latency-cdf-{run_id}.png"),
        "throughput ramp": (plot_ramp, f"throughput-ramp-{run_id}.png"),
        "RSS over the soak": (plot_soak, f"soak-rss-{run_id}.png"),
    }
    made = [(title, name) for title, (plot, name) in plots.items() if plot(run, directory / name)]
    any_result = next(iter(run.values()))
    lines = [
        f"# Benchmark run {run_id}{' (smoke: code paths only)' if any_result['smoke'] else ''}",
        "",
        f"Machine: {any_result['machine']['cpu']}, {any_result['machine']['cpus']} CPUs, "
        f"{any_result['machine']['memory_gib']} GiB, {any_result['machine']['system']}, "
        f"Python {any_result['machine']['python']}; commit {any_result['versions']['commit']}"
        f"{' (with local changes)' if any_result['versions']['tree_changed'] else ''}; "
        f"{any_result['versions']['kafka']}, one broker on 127.0.0.1.",
        "",
        "Load average (1 min) at start → end of each benchmark (the machine is shared): "
        + "; ".join(
            f"{name} {doc['load']['start']['1m']:.2f} → {doc['load']['end']['1m']:.2f}"
            for name, doc in run.items()
        ),
        "",
        *summary_table(run),
        "",
    ]
    if "latency" in run:
        lines += ["## Latency per load level", "", *latency_table(run), ""]
    if made:
        lines += ["## Plots", ""] + [f"![{title}]({name})" for title, name in made] + [""]
    profile = run.get("throughput", {}).get("figures", {}).get("pipeline", {}).get("profile")
    if profile and profile.get("by_area"):
        lines += [
            "## Where the streams worker's time goes",
            "",
            f"py-spy, {profile['samples']} samples of the innermost frame during a burst "
            f"({_n(profile['burst']['completed_per_s'])} events/s through every stage):",
            "",
            "| area | share | | function | share |",
            "|---|---|---|---|---|",
        ]
        for area, function in zip_longest(profile["by_area"], profile["by_function"]):
            left = f"{area['what']} | {area['share']:.1%}" if area else " | "
            right = f"`{function['what']}` | {function['share']:.1%}" if function else " | "
            lines.append(f"| {left} | | {right} |")
        lines.append("")
    notes = [n for doc in run.values() for n in doc.get("notes", [])]
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    path = directory / f"summary-{run_id}.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main() -> None:
    directory = results_dir()
    run_id = sys.argv[1] if len(sys.argv) > 1 else newest_run(directory)
    if run_id is None:
        raise SystemExit(f"no results in {directory}")
    print(f"written to {write(run_id, directory)}")


if __name__ == "__main__":
    main()
