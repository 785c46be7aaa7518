#!/usr/bin/env node
/**
 * The alternative bench/kineto.js measures: @streamparser/json 0.0.26 (a streaming JSON parser,
 * pinned) emitting every element of traceEvents from a .json or .json.gz, nothing else done with
 * them; `BENCH {"ms", "maxRssKb", "events"}` on stderr. Only parsing, so a ceiling for a reader
 * built on it: moe-trace's reader (byte scanner + JSON.parse of the events it keeps) also fills the
 * model and runs every analysis within the time it is compared with.
 *   node bench/kineto-streamparser.js FILE
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { JSONParser } from '@streamparser/json';

const t0 = performance.now();
const c0 = process.cpuUsage();
const file = process.argv[2];
const parser = new JSONParser({ paths: ['$.traceEvents.*'], keepStack: false, stringBufferSize: undefined });
let events = 0;
parser.onValue = () => { events++; };
let source = createReadStream(file, { highWaterMark: 1 << 20 });
if (file.endsWith('.gz')) source = source.pipe(createGunzip({ chunkSize: 1 << 20 }));
for await (const chunk of source) parser.write(chunk);
const ms = performance.now() - t0;
const c = process.cpuUsage(c0);
process.stderr.write(`BENCH ${JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000, maxRssKb: process.resourceUsage().maxRSS, events, exitCode: 0 })}\n`);
