# icf.py ORDER MAP > order: adds after each ordered function the functions lld's
# identical code folding (--icf=all) merged with it, which the trace cannot see
# (they share its address) but which the split of .text.hot and .text.cold keeps
# apart. MAP: a linker map with mangled names (`-Wl,--no-demangle`) of a build
# linked without the split.
import re, sys
order, mapf = sys.argv[1:3]
under = {}  # section symbol name -> list of symbols under it
cur = None
for l in open(mapf):
    l = l.rstrip('\n'); rest = l[49:]
    if rest.startswith(' ' * 16):
        if cur is not None: under[cur].append(rest.strip())
        continue
    m = re.match(r'^ {8}\S.*:\(\.text\.(?:unlikely\.|hot\.)?(\S+)\)$', rest)
    cur = m.group(1) if m else None
    if cur is not None: under.setdefault(cur, [])
sym2sec = {}
for sec, syms in under.items():
    for s in syms: sym2sec.setdefault(s, sec)
out, seen, added = [], set(), 0
for n in (l.strip() for l in open(order)):
    for x in [n] + under.get(sym2sec.get(n, n), []):
        if x not in seen:
            seen.add(x); out.append(x); added += x != n
print("\n".join(out))
print(len(out), "added", added, file=sys.stderr)
