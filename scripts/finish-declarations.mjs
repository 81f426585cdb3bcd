// Finishes the package in dist/, run by `npm run build` after the two Vite
// builds and `tsc -p tsconfig.build.json`:
// - the declarations (dist/types) import without extensions (moduleResolution
//   "Bundler"), which consumers on "node16"/"nodenext" cannot resolve: add
//   `.js` / `/index.js`;
// - the API names WebGPU types (GPUDevice...), which are globals from
//   @webgpu/types (a dependency of `webgpu`): reference them from each entry,
//   with the DOM library they are written against (BufferSource, EventTarget,
//   ImageBitmap...), so a consumer compiling with `"lib": ["ES2022"]` alone
//   (a Node project) type-checks too; the DOM's names then exist in its types;
// - wgsl_reflect is bundled into the JS, not a dependency, so the declarations
//   that name its types (StructView's members, `reflection`) get its
//   declarations and license copied to dist/types/wgsl_reflect/;
// - `require('webgpu-rl')` gets dist/require.cjs, which says how to load an
//   ES-only package instead of Node's "No exports main defined".
import { cpSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const dist = resolve(import.meta.dirname, '..', 'dist');
const types = join(dist, 'types');
const entries = ['index', 'index-kernels', 'index-reference', 'index-wgsl'].map((name) => join(types, `${name}.d.ts`));
for (const entry of entries) {
  if (!existsSync(entry)) throw new Error(`${entry} missing: run tsc -p tsconfig.build.json first`);
}

const wgslReflect = resolve(import.meta.dirname, '..', 'node_modules', 'wgsl_reflect');
const vendored = join(types, 'wgsl_reflect');
cpSync(join(wgslReflect, 'types'), vendored, { recursive: true });
cpSync(join(wgslReflect, 'LICENSE.md'), join(vendored, 'LICENSE.md'));

const withExtension = (file, specifier) => {
  if (specifier === 'wgsl_reflect') {
    const path = relative(dirname(file), join(vendored, 'index.js')).split('\\').join('/');
    return path.startsWith('.') ? path : `./${path}`;
  }
  if (!specifier.startsWith('.') || /\.(js|mjs|cjs|json)$/.test(specifier) || specifier.includes('?')) return specifier;
  const base = resolve(dirname(file), specifier);
  if (existsSync(`${base}.d.ts`)) return `${specifier}.js`;
  if (existsSync(join(base, 'index.d.ts'))) return `${specifier}/index.js`;
  throw new Error(`${file}: cannot resolve "${specifier}" among the emitted declarations`);
};

const declarations = readdirSync(types, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.d.ts') && !f.startsWith('wgsl_reflect'))
  .map((f) => join(types, f));
for (const file of declarations) {
  let text = readFileSync(file, 'utf8').replace(
    /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\2/g,
    (_, lead, quote, specifier) => `${lead}${quote}${withExtension(file, specifier)}${quote}`,
  );
  if (entries.includes(file) && !text.includes('reference types="@webgpu/types"')) {
    text = `/// <reference lib="dom" />\n/// <reference types="@webgpu/types" />\n${text}`;
  }
  writeFileSync(file, text);
}

writeFileSync(
  join(dist, 'require.cjs'),
  `// webgpu-rl is an ES module package: require() cannot load it on this Node.
throw new Error(
  "webgpu-rl is an ES module: use \`import { requestGpu } from 'webgpu-rl'\`, " +
    "or \`const { requestGpu } = await import('webgpu-rl')\` from CommonJS.",
);
`,
);
