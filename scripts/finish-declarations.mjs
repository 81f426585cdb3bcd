// Makes tsc's declarations in dist/ usable from every TypeScript setup, run by
// `npm run build` after `tsc -p tsconfig.build.json`:
// - the sources import without extensions (moduleResolution "Bundler"), which
//   consumers on "node16"/"nodenext" cannot resolve: add `.js` / `/index.js`;
// - the API names WebGPU types (GPUDevice...), which are globals from
//   @webgpu/types (a dependency of `webgpu`): reference them from the entry.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const dist = resolve(import.meta.dirname, '..', 'dist');
const entry = join(dist, 'index.d.ts');
if (!existsSync(entry)) throw new Error(`${entry} missing: run tsc -p tsconfig.build.json first`);

const withExtension = (file, specifier) => {
  if (!specifier.startsWith('.') || /\.(js|mjs|cjs|json)$/.test(specifier) || specifier.includes('?')) return specifier;
  const base = resolve(dirname(file), specifier);
  if (existsSync(`${base}.d.ts`)) return `${specifier}.js`;
  if (existsSync(join(base, 'index.d.ts'))) return `${specifier}/index.js`;
  throw new Error(`${file}: cannot resolve "${specifier}" among the emitted declarations`);
};

const declarations = readdirSync(dist, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.d.ts'))
  .map((f) => join(dist, f));
for (const file of declarations) {
  let text = readFileSync(file, 'utf8').replace(
    /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\2/g,
    (_, lead, quote, specifier) => `${lead}${quote}${withExtension(file, specifier)}${quote}`,
  );
  if (file === entry && !text.includes('reference types="@webgpu/types"')) {
    text = `/// <reference types="@webgpu/types" />\n${text}`;
  }
  writeFileSync(file, text);
}
