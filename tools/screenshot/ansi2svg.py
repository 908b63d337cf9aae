#!/usr/bin/env python3
"""Renders a terminal screen captured with colours (`tmux capture-pane -e -p`) as an SVG.

Usage: ansi2svg.py COLUMNS < screen.ansi > screen.svg
       rsvg-convert screen.svg -o screen.png        (Debian: librsvg2-bin)

How docs/img/monitor-wine.png is made: a loopback streams under Wine, `tenuto.exe monitor`
runs in a 160x50 tmux pane (LANG=C.UTF-8), and after 15 s
`tmux capture-pane -e -p -t PANE | tools/screenshot/ansi2svg.py 160`.
Handles the SGR codes tmux emits (16 colours, 256-colour palette, bold, reverse). Every
cell is placed on its own, so a glyph that comes from a fallback font (braille, in the
priority chart) cannot move its neighbours.
"""
import re, sys, html
PAL = ['#1e1e1e','#cd3131','#0dbc79','#e5e510','#2472c8','#bc3fbc','#11a8cd','#e5e5e5',
       '#666666','#f14c4c','#23d18b','#f5f543','#3b8eea','#d670d6','#29b8db','#ffffff']
FG, BG = '#d4d4d4', '#1e1e1e'
CW, CH, FS = 8.4, 17, 14
def xterm(n):
    if n < 16: return PAL[n]
    if n < 232:
        n -= 16; r, g, b = n // 36, (n // 6) % 6, n % 6
        c = lambda v: 0 if v == 0 else 55 + 40 * v
        return '#%02x%02x%02x' % (c(r), c(g), c(b))
    v = 8 + 10 * (n - 232); return '#%02x%02x%02x' % (v, v, v)
lines = sys.stdin.read().split('\n')
while lines and lines[-1] == '': lines.pop()
cols = int(sys.argv[1]) if len(sys.argv) > 1 else 160
out = []
st = dict(fg=None, bg=None, bold=False, rev=False)
for y, line in enumerate(lines):
    x = 0
    for tok in re.split(r'(\x1b\[[0-9;]*m)', line):
        m = re.fullmatch(r'\x1b\[([0-9;]*)m', tok)
        if m:
            ps = [int(p) if p else 0 for p in m.group(1).split(';')] or [0]
            i = 0
            while i < len(ps):
                p = ps[i]
                if p == 0: st = dict(fg=None, bg=None, bold=False, rev=False)
                elif p == 1: st['bold'] = True
                elif p == 7: st['rev'] = True
                elif p == 22: st['bold'] = False
                elif p == 27: st['rev'] = False
                elif 30 <= p <= 37: st['fg'] = PAL[p - 30]
                elif 90 <= p <= 97: st['fg'] = PAL[p - 90 + 8]
                elif 40 <= p <= 47: st['bg'] = PAL[p - 40]
                elif 100 <= p <= 107: st['bg'] = PAL[p - 100 + 8]
                elif p == 39: st['fg'] = None
                elif p == 49: st['bg'] = None
                elif p in (38, 48) and i + 2 < len(ps) and ps[i + 1] == 5:
                    st['fg' if p == 38 else 'bg'] = xterm(ps[i + 2]); i += 2
                i += 1
            continue
        if not tok: continue
        fg, bg = st['fg'] or FG, st['bg'] or BG
        if st['rev']: fg, bg = bg, fg
        n = len(tok)
        if bg != BG:
            out.append(f'<rect x="{x*CW:.1f}" y="{y*CH}" width="{n*CW:.1f}" height="{CH}" fill="{bg}"/>')
        if tok.strip():
            w = ' font-weight="bold"' if st['bold'] else ''
            # One element per cell: a glyph from a fallback font (braille) cannot shift its
            # neighbours.
            for k, ch in enumerate(tok):
                if ch != ' ':
                    out.append(f'<text x="{(x+k)*CW:.1f}" y="{y*CH+13}" fill="{fg}"{w}>{html.escape(ch)}</text>')
        x += n
W, H = cols * CW, len(lines) * CH
print(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W:.0f}" height="{H}" viewBox="0 0 {W:.0f} {H}" font-family="DejaVu Sans Mono, monospace" font-size="{FS}">')
print(f'<rect width="100%" height="100%" fill="{BG}"/>')
print('\n'.join(out))
print('</svg>')
