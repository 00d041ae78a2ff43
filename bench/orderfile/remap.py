import re, sys, subprocess, collections
# remap.py TRACED_BINARY ORDER LINKER_MAP > order: the traced names as the build
# that wrote LINKER_MAP spells them. Legacy symbol hashes depend on the profile
# (strip changes them): a name is matched without its hash and, among generic
# instances of one name, by the function size seen in the trace.
traced, order, mapf = sys.argv[1:4]
H = re.compile(r'17h[0-9a-f]{16}E$')
size = {}
for l in subprocess.run(["nm", "-S", traced], capture_output=True, text=True).stdout.splitlines():
    p = l.split()
    if len(p) == 4: size.setdefault(p[3], int(p[1], 16))
cand = collections.defaultdict(list)
for l in open(mapf):
    m = re.search(r'^\s*[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+\S+:\(\.text\.(\S+)\)$', l)
    if m: cand[H.sub('', m.group(2))].append((m.group(2), int(m.group(1), 16)))
out, seen, miss = [], set(), 0
for n in (l.strip() for l in open(order)):
    c = cand.get(H.sub('', n), [])
    pick = [x for x, s in c if x == n] or [x for x, s in c if s == size.get(n)]
    if not pick and len(c) == 1: pick = [c[0][0]]
    if not pick: miss += 1
    for x in pick:
        if x not in seen: seen.add(x); out.append(x)
print("\n".join(out))
print(len(out), "miss", miss, file=sys.stderr)
