/**
 * Every exported symbol of the public entry points has a doc comment: TypeDoc
 * (typedoc.json: validation.notDocumented, warnings as errors) converts and
 * validates the four entry points without emitting, and a missing comment
 * fails this test naming the symbol. A fixture entry point with one
 * undocumented export shows the check reports what it should.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './node-child';

const TYPEDOC = join(repoRoot, 'node_modules', 'typedoc', 'bin', 'typedoc');

/** TypeDoc's validation run over `args` (no output written): exit status and the symbols it found undocumented. */
function typedocValidate(args: string[]): { status: number | null; undocumented: string[]; output: string } {
  const result = spawnSync(process.execPath, [TYPEDOC, '--emit', 'none', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  const output = `${result.stdout}\n${result.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  const undocumented = [...output.matchAll(/\] (\S+) \((\w+)\), defined in \S+, does not have any documentation/g)].map((m) => `${m[1]} (${m[2]})`);
  return { status: result.status, undocumented, output };
}

describe('API reference', () => {
  it('documents every exported symbol of src/index*.ts (typedoc.json)', () => {
    const { status, undocumented, output } = typedocValidate([]);
    expect(undocumented, 'exported symbols without a doc comment').toEqual([]);
    expect(status, output).toBe(0);
  });

  it('names an undocumented export, and fails', () => {
    // typedoc.json's settings over the fixture's entry point and tsconfig.
    const { status, undocumented } = typedocValidate(['--options', 'test/fixtures/docs/typedoc.json']);
    expect(undocumented).toEqual(['undocumentedTwice (CallSignature)']);
    expect(status).not.toBe(0);
  });
});
