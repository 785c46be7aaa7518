/**
 * Kineto names kernels by their full demangled signature; nsys's exports carry a short name too
 * (`shortName`: the function's own name, no namespace, template arguments or parameters), which
 * is what reports show. This makes the same short name from the signature:
 * "void at::native::reduce_kernel<512, 1, ...>(T3)" → "reduce_kernel".
 */
export function shortKernelName(name: string): string {
  if (!/[<(:\s]/.test(name)) return name;
  const s = name.replace(/\(anonymous namespace\)|<unnamed>|\{anonymous\}/g, 'anon');
  let out = '';
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '<' || c === '[' || c === '{') { depth++; continue; }
    if (c === '>' || c === ']' || c === '}') { if (depth > 0) depth--; continue; }
    if (c === '(') {
      if (depth === 0) break;
      depth++;
      continue;
    }
    if (c === ')') { if (depth > 0) depth--; continue; }
    if (depth === 0) out += c;
  }
  out = out.trim();
  const lastSpace = out.lastIndexOf(' ');
  if (lastSpace >= 0) out = out.slice(lastSpace + 1);
  const lastScope = out.lastIndexOf('::');
  if (lastScope >= 0) out = out.slice(lastScope + 2);
  return out === '' ? name : out;
}
