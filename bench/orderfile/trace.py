# gdb -batch -x trace.py --args BERTH ARGS... (OUT=file, FOLLOW=parent|child):
# appends to OUT every function of BERTH in the order the command first calls it
# (a breakpoint on each symbol, deleted at its first hit).
import gdb, os, subprocess
binary = gdb.current_progspace().filename
out = os.environ["OUT"]
syms = {}
for l in subprocess.run(["nm", "-S", binary], capture_output=True, text=True).stdout.splitlines():
    p = l.split()
    if len(p) == 4 and p[2] in "tTwW" and int(p[1], 16) > 0:
        syms.setdefault(int(p[0], 16), p[3])
gdb.execute("set pagination off")
gdb.execute("set detach-on-fork on")
gdb.execute("set follow-fork-mode " + os.environ.get("FOLLOW", "parent"))
gdb.execute("starti", to_string=True)
lo = None
for line in gdb.execute("info proc mappings", to_string=True).splitlines():
    f = line.split()
    if len(f) >= 5 and f[-1].endswith(os.path.basename(binary)):
        a = int(f[0], 16); off = int(f[3], 16)
        if lo is None or a - off < lo: lo = a - off
bps = {}
for addr in syms:
    bps[addr] = gdb.Breakpoint("*0x%x" % (lo + addr), internal=True)
order = []
while True:
    try:
        gdb.execute("continue", to_string=True)
    except gdb.error:
        break
    if not gdb.selected_inferior().pid:
        break
    pc = int(gdb.parse_and_eval("$pc")) - lo
    if pc in bps:
        order.append(syms[pc]); bps.pop(pc).delete()
with open(out, "a") as f:
    for n in order: f.write(n + "\n")
print("traced", len(order))
