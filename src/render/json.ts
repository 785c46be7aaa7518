/** JSON output: the Report as documented in docs/report-schema.md. */
import type { Report } from '../report/types.js';

export function renderJson(reports: Report[]): string {
  if (reports.length === 1) return `${JSON.stringify(reports[0], null, 2)}\n`;
  return `${JSON.stringify({ schema: 'moe-trace/reports', schemaVersion: reports[0]?.schemaVersion ?? 1, reports }, null, 2)}\n`;
}
