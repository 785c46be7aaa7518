/** The real fixture reports that npm test does not open (html-fixtures.test.ts), in Chromium. */
import { fixturePages, QUICK } from './fixture-pages.js';

fixturePages((f) => !QUICK.includes(f));
