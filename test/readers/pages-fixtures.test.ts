/** The page reader on the ten captures of fixtures/nsys-2025.3 (the others: pages-fixtures.long.test.ts). */
import { pageReaderFiles } from './page-reader-files.js';

pageReaderFiles(true);
