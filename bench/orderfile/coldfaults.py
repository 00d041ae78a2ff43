# coldfaults.py BINARY MAP PERF_DATA... -> the input sections (file, section) of the
# instruction fetch faults that landed in .text.cold: code a command ran that the
# order file misses. MAP is the linker map of BINARY (BERTH_LINK_MAP), PERF_DATA
# from `perf record -e exceptions:page_fault_user -- BINARY ...`. Add the names
# (without `.text.`/`.text.unlikely.`) to src/bin/berth.order, relink, repeat until
# nothing is printed: each round sees only the first fault of each large folio.
import re,sys,subprocess,bisect
path=sys.argv[1]; name=path.rsplit('/',1)[-1]; mapf=sys.argv[2]
ph=subprocess.run(['readelf','-lW','-SW',path],capture_output=True,text=True).stdout
segs=[(int(p[1],16),int(p[2],16),int(p[4],16)) for p in (l.split() for l in ph.splitlines()) if p and p[0]=='LOAD']
cold=[int(l.split()[3],16) for l in ph.splitlines() if '.text.cold' in l and 'PROGBITS' in l][0]
secs=[]
for l in open(mapf):
    rest=l[49:].rstrip('\n')
    if rest.startswith(' '*8) and not rest.startswith(' '*9):
        m=re.match(r'\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)',l)
        mm=re.match(r'^(.*):\((\.text[^)]*)\)$',rest.strip())
        if m and mm: secs.append((int(m.group(1),16),int(m.group(2),16),mm.group(1),mm.group(2)))
secs.sort(); st=[s[0] for s in secs]
found=set()
for f in sys.argv[3:]:
    out=subprocess.run(['perf','script','-i',f,'--show-mmap-events','-F','pid,ip,trace'],capture_output=True,text=True).stdout
    maps=[]
    for l in out.splitlines():
        m=re.search(r'MMAP2 (\d+)/\d+: \[0x([0-9a-f]+)\(0x([0-9a-f]+)\) @ 0x([0-9a-f]+) .*?\]: (\S+) (\S+)',l)
        if m and m.group(6).endswith('/'+name): maps.append((int(m.group(2),16),int(m.group(3),16),int(m.group(4),16)))
    for l in out.splitlines():
        m=re.search(r'address=0x([0-9a-f]+) ip=0x([0-9a-f]+) error_code=0x([0-9a-f]+)',l)
        if not m or not (int(m.group(3),16)&0x10): continue
        ad=int(m.group(1),16)
        for a,ln,off in maps:
            if a<=ad<a+ln:
                fo=ad-a+off
                va=[fo-so+sv for so,sv,sz in segs if so<=fo<so+sz][0]
                if va<cold: continue
                i=bisect.bisect_right(st,va)-1
                found.add((secs[i][2],secs[i][3]))
for f,s in sorted(found): print(f+'\t'+s)
