import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cspHash, jsonForScript, libraryScripts, scriptSafe } from '../../../src/render/html/assets.js';
import { HOSTILE } from './fixture.js';

describe('jsonForScript', () => {
  it('writes no character that could end a script element or a JS line, and parses back to the same strings', () => {
    const value = { names: Object.values(HOSTILE), nested: { s: '&amp; <!-- --> \u2028\u2029' } };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(text).toContain('\\u003c/script\\u003e');
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('scriptSafe', () => {
  it('breaks </script and <!-- sequences without changing what JavaScript reads', () => {
    const src = 'var a = "</script><!-- x"; var b = /<\\/SCRIPT>/;';
    const safe = scriptSafe(src);
    expect(safe).not.toMatch(/<\/script|<!--/i);
    // new Function: comparing what JavaScript sees on both sides
    expect(new Function(`${safe}; return a;`)()).toBe('</script><!-- x');
  });
});

describe('cspHash', () => {
  it('is the base64 SHA-256 of the UTF-8 text, as browsers compute it', () => {
    const text = 'console.log("µs")';
    expect(cspHash(text)).toBe(`'sha256-${createHash('sha256').update(Buffer.from(text, 'utf8')).digest('base64')}'`);
  });
});

describe('libraryScripts', () => {
  it('inlines vega, vega-lite and vega-embed UMD builds from node_modules, in load order', () => {
    const libs = libraryScripts();
    expect(libs.map((l) => l.name)).toEqual(['vega', 'vega-lite', 'vega-embed']);
    for (const l of libs) {
      expect(l.text.length).toBeGreaterThan(50_000);
      expect(l.text).not.toMatch(/<\/script|<!--/i);
    }
    expect(libs[2].text).toContain('expressionInterpreter');
  });
});
