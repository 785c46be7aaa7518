/**
 * How bench/ runs moe-trace as users do: bin/moe-trace.js through its own `#!` line, which sets
 * the allocator and V8 options the CLI runs with (bin/moe-trace.js says why). `binCommand` is the
 * command the kernel runs for that line; `binNode` its node options and environment, for the
 * bench's own scripts that call into dist/ (bench/steps.js) so that they run as the CLI does.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The `#!` line of bin/moe-trace.js: its interpreter and the one argument after it. */
function shebang(root) {
  const bin = join(root, 'bin', 'moe-trace.js');
  const m = /^#!\s*(\S+)(?:[ \t]+(.*\S))?/.exec(readFileSync(bin, 'utf8').split('\n', 1)[0]);
  if (!m) throw new Error(`${bin} has no #! line`);
  return { bin, interpreter: m[1], arg: m[2] ?? null };
}

/**
 * bin/moe-trace.js with `args`, as the kernel runs it (`interpreter [arg] bin args...`), and the
 * environment to run it in: PATH starting with this node's directory, so that `env node` is this
 * node; `hook` (a module) loaded first through NODE_OPTIONS.
 */
export function binCommand(root, args, hook) {
  const { bin, interpreter, arg } = shebang(root);
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  if (hook) env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(hook).href}`.trim();
  return { file: interpreter, args: [...(arg === null ? [] : [arg]), bin, ...args], env };
}

/** The node options and environment variables of the `#!` line (`env -S VAR=value node --option ...`). */
export function binNode(root) {
  const { arg } = shebang(root);
  const words = (arg ?? '').split(/\s+/).filter((w) => w && w !== '-S');
  const env = {};
  let i = 0;
  for (; i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]); i++) {
    const eq = words[i].indexOf('=');
    env[words[i].slice(0, eq)] = words[i].slice(eq + 1);
  }
  if (words[i] !== 'node') throw new Error(`bin/moe-trace.js: expected "node" in its #! line, found ${words[i]}`);
  return { nodeArgs: words.slice(i + 1), env: { ...process.env, ...env } };
}
