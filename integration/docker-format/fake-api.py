#!/usr/bin/env python3
"""A fake Docker Engine API on a unix socket serving fixed list data, so that
the real docker CLI renders it: what `record.sh` captures is docker's own
formatting of known objects, the oracle for ctl/src/format/rows/oracle.rs.

usage: fake-api.py SOCKET NOW   (NOW: unix time the data is relative to)
"""
import json, os, socketserver, http.server, sys, time
SOCK = sys.argv[1]
NOW = int(sys.argv[2])
images = [
  {"Id": "sha256:4c01db0b339c2f1d7c4c1a2e5d1f0b3a4c01db0b339c2f1d7c4c1a2e5d1f0b3a", "ParentId": "",
   "RepoTags": ["busybox:latest", "localhost:5000/bb:1"], "RepoDigests": ["busybox@sha256:aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111"],
   "Created": NOW - 21*86400, "Size": 4263345, "SharedSize": -1, "VirtualSize": 4263345, "Labels": None, "Containers": -1},
  {"Id": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "ParentId": "",
   "RepoTags": None, "RepoDigests": None, "Created": NOW - 3600, "Size": 0, "SharedSize": -1, "VirtualSize": 0, "Labels": {}, "Containers": -1},
  {"Id": "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", "ParentId": "",
   "RepoTags": ["nginx:1.25"], "RepoDigests": ["nginx@sha256:bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222"],
   "Created": NOW - 400*86400, "Size": 187654321, "SharedSize": -1, "VirtualSize": 187654321, "Labels": {}, "Containers": -1},
]
containers = [
  {"Id": "4c01db0b339c2f1d7c4c1a2e5d1f0b3a4c01db0b339c2f1d7c4c1a2e5d1f0b3a", "Names": ["/web"], "Image": "nginx:1.25", "ImageID": "sha256:fedcba98",
   "Command": "/docker-entrypoint.sh nginx -g 'daemon off;'", "Created": NOW - 300,
   "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}, {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}, {"PrivatePort": 443, "Type": "tcp"}],
   "Labels": {"com.example.tier": "front", "a": "b"}, "State": "running", "Status": "Up 5 minutes",
   "HostConfig": {"NetworkMode": "bridge"}, "NetworkSettings": {"Networks": {"bridge": {}}}, "Mounts": [{"Type": "volume", "Name": "data", "Source": "/var/lib/docker/volumes/data/_data", "Driver": "local"}]},
  {"Id": "d8a9e1b2c3f4d8a9e1b2c3f4d8a9e1b2c3f4d8a9e1b2c3f4d8a9e1b2c3f4aaaa", "Names": ["/quirky_turing"], "Image": "busybox", "ImageID": "sha256:4c01db0b",
   "Command": "sh -c 'echo <hi> & exit 3'", "Created": NOW - 7200, "Ports": [],
   "Labels": {}, "State": "exited", "Status": "Exited (3) 2 hours ago", "SizeRw": 12, "SizeRootFs": 4263357,
   "HostConfig": {"NetworkMode": "none"}, "NetworkSettings": {"Networks": {"none": {}}}, "Mounts": []},
]
volumes = {"Volumes": [{"Name": "data", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/data/_data", "Labels": {"x": "y"}, "Scope": "local", "Options": None, "CreatedAt": "2024-05-01T12:00:00Z"}], "Warnings": None}
networks = [{"Name": "bridge", "Id": "2b1c9e0d4f5a6b7c8d9e0f1a2b3c4d5e2b1c9e0d4f5a6b7c8d9e0f1a2b3c4d5e", "Created": "2024-05-01T12:00:00.123456789Z", "Scope": "local", "Driver": "bridge", "EnableIPv6": False, "Internal": False, "Labels": {}},
            {"Name": "host", "Id": "aa1c9e0d4f5a6b7c8d9e0f1a2b3c4d5e2b1c9e0d4f5a6b7c8d9e0f1a2b3c4d5e", "Created": "2024-05-01T12:00:00Z", "Scope": "local", "Driver": "host", "EnableIPv6": False, "Internal": False, "Labels": {"k": "v"}}]
disk_images = [dict(images[0], Containers=1, SharedSize=0), dict(images[1], Containers=0, SharedSize=0), dict(images[2], Containers=0, SharedSize=0)]
disk_containers = [dict(containers[0], SizeRw=1024, SizeRootFs=187655345), dict(containers[1], SizeRw=12, SizeRootFs=4263357)]
disk_volumes = [dict(volumes["Volumes"][0], UsageData={"Size": 20480, "RefCount": 1}), {"Name": "old", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/old/_data", "Labels": None, "Scope": "local", "Options": None, "UsageData": {"Size": 5000000, "RefCount": 0}}]
disk_usage = {"LayersSize": 4263345 + 187654321, "Images": disk_images, "Containers": disk_containers, "Volumes": disk_volumes, "BuildCache": []}
class H(http.server.BaseHTTPRequestHandler):
    def send(self, obj):
        b = json.dumps(obj).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.send_header("Api-Version", "1.43"); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_HEAD(self):
        self.send_response(200); self.send_header("Api-Version", "1.43"); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        p = self.path.split("?")[0]
        if p.endswith("/_ping"):
            b=b"OK"; self.send_response(200); self.send_header("Api-Version","1.43"); self.send_header("Content-Length","2"); self.end_headers(); self.wfile.write(b); return
        if p.endswith("/images/json"): return self.send(images)
        if p.endswith("/containers/json"): return self.send(containers)
        if p.endswith("/system/df"): return self.send(disk_usage)
        if p.endswith("/volumes"): return self.send(volumes)
        if p.endswith("/networks"): return self.send(networks)
        self.send_response(404); self.send_header("Content-Length","0"); self.end_headers()
    def log_message(self, *a): pass
class S(socketserver.UnixStreamServer):
    def get_request(self):
        r, a = super().get_request(); return r, ("local", 0)
if os.path.exists(SOCK): os.unlink(SOCK)
S(SOCK, H).serve_forever()
