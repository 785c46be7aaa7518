/** The page reader on every other fixture and on the nsys corpus (../shared/nsys-corpus). */
import { pageReaderFiles } from './page-reader-files.js';

pageReaderFiles(false);
