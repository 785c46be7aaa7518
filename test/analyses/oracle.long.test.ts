/** The independent oracle (oracle-check.ts) on the captures npm test leaves out (oracle.test.ts checks the others). */
import { oracleChecks, inFastSample } from './oracle-check.js';

oracleChecks((f) => !inFastSample(f));
