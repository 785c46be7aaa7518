/** Three real fixture reports in Chromium (the others: html-fixtures.long.test.ts). */
import { fixturePages, QUICK } from './fixture-pages.js';

fixturePages((f) => QUICK.includes(f));
