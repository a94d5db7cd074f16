// A terminal screen as a PNG: reads `tmux capture-pane -p -e` output (text with SGR escape sequences:
// the 8 and bright foreground colours, bold, inverse) and draws it with ImageMagick's convert in
// DejaVu Sans Mono, each run of characters in its colour (Debian: imagemagick, fonts-dejavu-core). Used by scripts/record-demo.mjs for the
// README's picture; by hand: node scripts/screen-png.mjs CAPTURE.txt OUT.png
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Debian's ImageMagick (apt-get install imagemagick), by its path: a `convert` earlier in PATH may be another program
const CONVERT = fs.existsSync('/usr/bin/convert-im6.q16') ? '/usr/bin/convert-im6.q16' : 'convert';
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';
const BOLD_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf';
const [CELL_W, CELL_H, SIZE, PAD] = [8.5, 18, 14, 12];
const BG = '#1d1f21';
const FG = '#d8d8d8';
// xterm's 16 colours, a little softened
const COLOURS = ['#1d1f21', '#cc6666', '#b5bd68', '#f0c674', '#81a2be', '#b294bb', '#8abeb7', '#c5c8c6'];
const BRIGHT = ['#969896', '#ff7b7b', '#d0e07a', '#ffe08a', '#9ec3e0', '#d2b0dc', '#a5e0d8', '#ffffff'];

const ESC = String.fromCharCode(27);
const SGR_SPLIT = new RegExp(`(${ESC}\\[[0-9;]*m)`);
const SGR = new RegExp(`^${ESC}\\[([0-9;]*)m$`);

/** The runs of one line: text with its colour, bold and inverse. */
export function runs(line) {
  const out = [];
  let state = { fg: FG, bold: false, inverse: false };
  let col = 0;
  for (const part of line.split(SGR_SPLIT)) {
    const sgr = SGR.exec(part);
    if (!sgr) {
      if (part) {
        out.push({ text: part, col, ...state });
        col += [...part].length;
      }
      continue;
    }
    const codes = sgr[1] === '' ? [0] : sgr[1].split(';').map(Number);
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === 0) state = { fg: FG, bold: false, inverse: false };
      else if (c === 1) state = { ...state, bold: true };
      else if (c === 22) state = { ...state, bold: false };
      else if (c === 7) state = { ...state, inverse: true };
      else if (c === 27) state = { ...state, inverse: false };
      else if (c === 39) state = { ...state, fg: FG };
      else if (c >= 30 && c <= 37) state = { ...state, fg: COLOURS[c - 30] };
      else if (c >= 90 && c <= 97) state = { ...state, fg: BRIGHT[c - 90] };
      else if (c === 38 && codes[i + 1] === 5) {
        const n = codes[i + 2];
        state = { ...state, fg: n < 8 ? COLOURS[n] : n < 16 ? BRIGHT[n - 8] : FG };
        i += 2;
      }
    }
  }
  return out;
}

/** Draw a capture (text with SGR sequences) into a PNG of `cols` x `rows` cells. */
export function screenPng(capture, out, cols, rows) {
  const [w, h] = [Math.ceil(cols * CELL_W + 2 * PAD), rows * CELL_H + 2 * PAD];
  const mvg = [`viewbox 0 0 ${w} ${h}`, `fill '${BG}'`, `rectangle 0,0 ${w},${h}`, `font-size ${SIZE}`];
  const lines = capture.replace(/\n$/, '').split('\n').slice(0, rows);
  for (const [y, line] of lines.entries()) {
    for (const r of runs(line)) {
      const x = PAD + r.col * CELL_W;
      const top = PAD + y * CELL_H;
      const width = [...r.text].length * CELL_W;
      if (r.inverse) mvg.push(`fill '${r.fg}'`, `rectangle ${x},${top} ${x + width},${top + CELL_H}`);
      const text = r.text.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
      if (text.trim() === '') continue;
      mvg.push(`font '${r.bold ? BOLD_FONT : FONT}'`, `fill '${r.inverse ? BG : r.fg}'`, `text ${x},${top + CELL_H - 5} '${text}'`);
    }
  }
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'screen-png-')), 'screen.mvg');
  fs.writeFileSync(file, `${mvg.join('\n')}\n`);
  // the drawing as an MVG image (Debian's ImageMagick policy refuses -draw @file)
  const r = spawnSync(CONVERT, [`mvg:${file}`, out], { encoding: 'utf8' });
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`convert exited ${r.status}: ${r.stderr}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [capture, out, cols = '80', rows = '24'] = process.argv.slice(2);
  if (!capture || !out) throw new Error('usage: node scripts/screen-png.mjs CAPTURE.txt OUT.png [COLS ROWS]');
  screenPng(fs.readFileSync(capture, 'utf8'), out, Number(cols), Number(rows));
}
