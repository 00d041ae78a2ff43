#!/usr/bin/env python3
"""Write the bundles cgroup-check.sh uses: bundles.py BASE_CONFIG OUT_DIR.

BASE_CONFIG is `berth spec` output. Every bundle shares OUT_DIR/rootfs (busybox,
made by run.sh) through an absolute root.path under /payload, where the guest
finds the payload. Editing JSON is done here on the host because the guest has
neither python nor jq.
"""
import copy
import json
import os
import sys

base_path, out = sys.argv[1], sys.argv[2]
base = json.load(open(base_path))
base["process"]["terminal"] = False
base["root"] = {"path": "/payload/rootfs", "readonly": False}
# `berth spec` adds a cgroup namespace only on a pure v2 host (as runc 1.2);
# this base is made on the (hybrid) host, and the guest checks the namespace root.
if not any(n["type"] == "cgroup" for n in base["linux"]["namespaces"]):
    base["linux"]["namespaces"].append({"type": "cgroup"})

LOOP = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
PARENT = "/berth-vm"
MKNOD = ["CAP_MKNOD"]


def bundle(name, args=LOOP, resources=None, cgroups_path=None, caps=()):
    c = copy.deepcopy(base)
    c["process"]["args"] = args
    c["linux"]["cgroupsPath"] = cgroups_path or f"{PARENT}/{name}"
    res = {"devices": [{"allow": False, "access": "rwm"}]}
    res.update(resources or {})
    c["linux"]["resources"] = res
    for cap in caps:
        for s in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][s].append(cap)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    json.dump(c, open(os.path.join(d, "config.json"), "w"), indent=1)


LIMITS = {
    "memory": {"limit": 67108864, "reservation": 33554432, "swap": 100663296},
    "pids": {"limit": 20},
    "cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 10000, "cpus": "0", "mems": "0", "idle": 0},
    # VDA_MAJOR/VDA_MINOR are replaced in the guest by the root disk's numbers.
    "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 999001, "minor": 999002, "rate": 1048576}],
                "throttleWriteIOPSDevice": [{"major": 999001, "minor": 999002, "rate": 300}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
    "unified": {"memory.oom.group": "1", "memory.high": "100663296"},
}
bundle("limits", resources=LIMITS)
# c 99:1 is allowed, c 99:2 is not: a device node made inside for 99:2 cannot be
# opened (EPERM from the device program), while 99:1 gets as far as the driver
# (ENXIO: no driver has major 99).
bundle("devices", caps=MKNOD, resources={"devices": [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "major": 99, "minor": 1, "access": "rw"}]})
bundle("pause", args=["sh", "-c", "while :; do :; done"])
bundle("update", resources={"memory": {"limit": 67108864}, "pids": {"limit": 20}})
bundle("oom", args=["sh", "-c", "sleep 2; tail /dev/zero; sleep 100"],
       resources={"memory": {"limit": 16777216, "swap": 16777216}})
bundle("swappiness", args=["true"], resources={"memory": {"swappiness": 10}})
bundle("sd", cgroups_path="system.slice:berth:sd1", caps=MKNOD, resources={
    "memory": {"limit": 67108864},
    "pids": {"limit": 20},
    "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0"},
    "devices": [{"allow": False, "access": "rwm"},
                {"allow": True, "type": "c", "major": 99, "minor": 1, "access": "rw"}],
})
