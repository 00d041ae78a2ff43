#!/usr/bin/env python3
"""Helpers for bench/run.sh: bundle configs, the podman-like seccomp profile, and
the report (hyperfine JSON from interleaved rounds merged into one markdown table).

  bench.py bundles WORKDIR CGROUP_PARENT MEMORY_BYTES   (WORKDIR holds base.json, rootfs, seccomp.json)
  bench.py seccomp CONTAINERS_COMMON_JSON CAPS_JSON > oci-seccomp.json
  bench.py report RESULTS_DIR RUNTIMES... > table.md
"""

import glob
import json
import os
import statistics
import sys

ARCH = "amd64"


def bundles(work, cgroup_parent, memory):
    """Bundles under WORK/b (single containers) and WORK/c/<variant>/<i> (the
    concurrent runs), each a config.json from `runc spec` output: no tty, the
    shared read-only rootfs, its own cgroupsPath under the run's parent, and
    optionally the seccomp profile or a memory limit."""
    with open(os.path.join(work, "base.json")) as f:
        base = json.load(f)
    with open(os.path.join(work, "seccomp.json")) as f:
        profile = json.load(f)
    true, sleep = ["/bin/true"], ["/bin/sleep", "1000"]

    def write(dir, args, leaf, variant):
        spec = json.loads(json.dumps(base))
        spec["process"]["terminal"] = False
        spec["process"]["args"] = args
        spec["root"] = {"path": os.path.join(work, "rootfs"), "readonly": True}
        linux = spec.setdefault("linux", {})
        linux["cgroupsPath"] = f"/{cgroup_parent}/{leaf}"
        if variant == "seccomp":
            linux["seccomp"] = profile
        elif variant == "memory":
            linux.setdefault("resources", {})["memory"] = {"limit": int(memory)}
        os.makedirs(dir, exist_ok=True)
        with open(os.path.join(dir, "config.json"), "w") as f:
            json.dump(spec, f, indent=1)

    write(os.path.join(work, "b", "true"), true, "true", "plain")
    write(os.path.join(work, "b", "sleep"), sleep, "sleep", "plain")
    for variant in ("seccomp", "memory"):
        write(os.path.join(work, "b", variant), true, variant, variant)
    for variant in ("plain", "seccomp", "memory"):
        for i in range(1, 101):
            write(os.path.join(work, "c", variant, str(i)), sleep, f"{variant[0]}{i}", variant)


def seccomp(path, caps_json):
    """containers-common's seccomp.json as podman hands it to the runtime: entries
    kept or dropped by the container's capabilities and the host architecture."""
    with open(path) as f:
        prof = json.load(f)
    caps = set(json.loads(caps_json))
    arches = []
    for m in prof.get("archMap") or []:
        if m["architecture"] == "SCMP_ARCH_X86_64":
            arches = [m["architecture"]] + m.get("subArchitectures", [])
    out = {"defaultAction": prof["defaultAction"], "architectures": arches, "syscalls": []}
    if prof.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = prof["defaultErrnoRet"]
    for s in prof["syscalls"]:
        inc, exc = s.get("includes") or {}, s.get("excludes") or {}
        if inc.get("caps") and not set(inc["caps"]) <= caps:
            continue
        if inc.get("arches") and ARCH not in inc["arches"]:
            continue
        if exc.get("caps") and set(exc["caps"]) & caps:
            continue
        if exc.get("arches") and ARCH in exc["arches"]:
            continue
        rule = {"names": s["names"], "action": s["action"]}
        if s.get("errnoRet") is not None:
            rule["errnoRet"] = s["errnoRet"]
        if s.get("args"):
            rule["args"] = [
                {k: a[k] for k in ("index", "value", "valueTwo", "op") if k in a} for a in s["args"]
            ]
        out["syscalls"].append(rule)
    json.dump(out, sys.stdout, indent=1)


def load_samples(results, measure, rt):
    """Every sample of one measure and runtime, over all rounds; None if it failed."""
    samples, unit = [], "s"
    files = sorted(glob.glob(os.path.join(results, f"{measure}.{rt}.*.json")))
    if not files:
        return None, unit
    for path in files:
        with open(path) as f:
            data = json.load(f)
        if data.get("failed"):
            return None, unit
        unit = data.get("unit", "s")
        for r in data["results"]:
            samples.extend(r["times"])
    return (samples or None), unit


def fmt(value, unit):
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.2f} s"
    if unit == "KiB":
        return f"{value / 1024:.2f} MiB"
    if unit == "B":
        return f"{value / 1e6:.2f} MB"
    return f"{value:g} {unit}"


def report(results, *runtimes):
    with open(os.path.join(results, "measures")) as f:
        measures = [line.rstrip("\n").split("\t", 1) for line in f if line.strip()]
    ref = "crun"
    head = "| measure | " + " | ".join(runtimes) + " | " + " | ".join(f"{rt}/{ref}" for rt in runtimes if rt != ref) + " |"
    print(head)
    print("|" + "---|" * (1 + len(runtimes) + len(runtimes) - 1))
    means, medians = {}, {}
    for key, title in measures:
        cells, mean = [], {}
        for rt in runtimes:
            samples, unit = load_samples(results, key, rt)
            if samples is None:
                cells.append("failed")
                continue
            m = statistics.fmean(samples)
            mean[rt] = m
            if len(samples) > 1:
                sd = statistics.stdev(samples)
                med = statistics.median(samples)
                cells.append(
                    f"{fmt(m, unit)} ± {fmt(sd, unit)} ({fmt(min(samples), unit)}…{fmt(max(samples), unit)}; median {fmt(med, unit)})"
                )
                medians.setdefault(key, {})[rt] = med
            else:
                cells.append(fmt(m, unit))
        ratios = []
        for rt in runtimes:
            if rt == ref:
                continue
            if rt in mean and ref in mean and mean[ref] > 0:
                r = f"{mean[rt] / mean[ref]:.2f}×"
                med = medians.get(key, {})
                if rt in med and ref in med and med[ref] > 0:
                    r += f" (median {med[rt] / med[ref]:.2f}×)"
                ratios.append(r)
            else:
                ratios.append("–")
        means[key] = mean
        print(f"| {title} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    # Linear growth: time per container at 100 over time per container at 10.
    lin = []
    for rt in runtimes:
        a, b = means.get("conc10", {}).get(rt), means.get("conc100", {}).get(rt)
        if a and b:
            lin.append(f"{rt} {b / 100 / (a / 10):.2f}")
    if lin:
        print()
        print("Growth from 10 to 100 concurrent (per-container time at 100 / at 10; 1.00 is linear): " + ", ".join(lin))


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    {"bundles": bundles, "seccomp": seccomp, "report": report}[cmd](*rest)
