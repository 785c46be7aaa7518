#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=1048576 node --max-semi-space-size=4
// The line above sets, for this process, how memory behaves on a trace of millions of rows
// (bench/README.md, "Where the memory goes"; bench/ runs moe-trace through this line):
// - MALLOC_MMAP_THRESHOLD_: glibc maps every block of 1 MiB or more (a column of 128k values) on
//   its own and returns it to the system when freed. Left alone, glibc raises that threshold to
//   the largest block freed so far, after which such columns come from its heap, whose holes stay
//   resident: 10-25 MB more at the peak of a million kernels, and a different peak every run.
// - --max-semi-space-size=4 (MB): V8's young generation stays at 4 MB semi-spaces instead of
//   growing to 16; the rows live in typed arrays outside V8's heap, so little is promoted early.
// The variable is for this process only, not for what it runs (nsys, the profiled workload).
import { main } from '../dist/cli.js';

if (process.env.MALLOC_MMAP_THRESHOLD_ === '1048576') delete process.env.MALLOC_MMAP_THRESHOLD_;
process.exitCode = await main(process.argv.slice(2));
