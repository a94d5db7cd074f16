/**
 * The layering of src/, checked on the source: imports point down (cli -> api -> daemon -> alert ->
 * workloads -> client -> metrics -> container -> isolate, cgroups, images -> state -> sys -> the shared
 * top-level modules), never up or sideways, and no module imports itself through others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** Top to bottom; a folder may import only from folders in later entries (and from itself). */
const LAYERS: readonly (readonly string[])[] = [
  ['cli'],
  ['api'],
  ['daemon'],
  ['alert'],
  ['workloads'],
  ['client'],
  ['metrics'],
  ['container'],
  ['isolate', 'cgroups', 'images'],
  ['state'],
  ['sys'],
  ['.'],
];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The relative modules a file imports (static, dynamic and re-exports), as .ts paths. */
export function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
  return specs.map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
}

/** The folder directly under src/ that holds a file ('.' for the top-level modules). */
function folderOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? '.' : rel[0]!;
}

const rank = (folder: string) => LAYERS.findIndex((l) => l.includes(folder));
const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f, fs.readFileSync(f, 'utf8'))]));

test('every folder of src/ has a place in the layers', () => {
  const folders = [...new Set(files.map(folderOf))];
  assert.deepEqual(
    folders.filter((f) => rank(f) < 0),
    [],
    `add new folders to LAYERS in ${import.meta.url}`,
  );
});

test('imports point down the layers: none up, none sideways', () => {
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    for (const t of targets) {
      const [from, to] = [folderOf(file), folderOf(t)];
      if (from !== to && rank(to) <= rank(from)) wrong.push(`${path.relative(SRC, file)} -> ${path.relative(SRC, t)} (${from} -> ${to})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('every relative import names a file that exists', () => {
  const missing = [...graph].flatMap(([file, targets]) => targets.filter((t) => !fs.existsSync(t)).map((t) => `${path.relative(SRC, file)} -> ${t}`));
  assert.deepEqual(missing, []);
});

test('no import cycle between modules', () => {
  // Tarjan's strongly connected components: any component of more than one file is a cycle
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(path.relative(SRC, w));
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const f of graph.keys()) if (!index.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});

test('the import scanner sees static, dynamic, type-only and re-exports', () => {
  const text = "import a from './a.js';\nimport type { B } from '../b.js';\nexport { c } from './c/c.js';\nconst d = await import('./d.js');\nimport './e.js';\nimport fs from 'node:fs';\n";
  assert.deepEqual(importsOf('/s/x/f.ts', text), ['/s/x/a.ts', '/s/b.ts', '/s/x/c/c.ts', '/s/x/d.ts', '/s/x/e.ts']);
});
