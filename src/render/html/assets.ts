/**
 * The chart libraries inlined into every page, read from node_modules at run time so the page
 * works from file:// with no network, plus the escaping and hashing the page's CSP depends on.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { EnvironmentError } from '../../errors.js';

const require = createRequire(import.meta.url);

export interface InlineScript {
  name: string;
  text: string;
}

let cached: InlineScript[] | null = null;

/** vega, vega-lite, vega-embed UMD builds, in load order (each sets a window global the next uses). */
export function libraryScripts(): InlineScript[] {
  if (cached) return cached;
  const libs: [string, string][] = [
    ['vega', 'build/vega.min.js'],
    ['vega-lite', 'build/vega-lite.min.js'],
    ['vega-embed', 'build/vega-embed.min.js'],
  ];
  cached = libs.map(([pkg, file]) => ({ name: pkg, text: scriptSafe(readFileSync(join(packageDir(pkg), file), 'utf8')) }));
  return cached;
}

/** The package's folder, found through its package.json (the `exports` maps hide build/ from require.resolve). */
function packageDir(pkg: string): string {
  // Walk the resolution paths by hand: `require.resolve(pkg + '/package.json')` fails for packages
  // whose `exports` map does not list package.json.
  for (const base of require.resolve.paths(pkg) ?? []) {
    const dir = join(base, pkg);
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      // not in this node_modules; try the next one up
    }
  }
  try {
    return dirname(require.resolve(pkg));
  } catch {
    throw new EnvironmentError(`The HTML report needs the npm package "${pkg}"; run \`npm install\` in the moe-trace folder.`);
  }
}

/**
 * Makes script text safe to place between <script> tags: the HTML tokenizer ends a script at
 * `</script` and changes state at `<!--`, whatever the JavaScript means. `<\/` and `<\!--` are
 * the same characters to JavaScript inside strings and regexes, where these sequences can occur.
 */
export function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/**
 * JSON for a <script type="application/json"> block: `<`, `>`, `&` and the two JavaScript line
 * terminators are written as \u escapes, so no string from a trace can end the element or open
 * a comment; JSON.parse of the element's textContent gives the original strings back.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The CSP source expression that allows exactly this inline script or style text. */
export function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}
