/** The independent oracle (oracle-check.ts) on nsys-2025.3 and one -profile capture; the other -profile captures: oracle.long.test.ts. */
import { oracleChecks, inFastSample } from './oracle-check.js';

oracleChecks(inFastSample);
