import { neutralize } from "./neutralize.js";

/**
 * A plain fixed-width table for terminals: header row, then rows, columns two spaces apart. Cells are
 * neutralised: a table shows text a client, an agent or a container wrote (history, audit, status).
 */
export function formatTable(header: string[], rows: string[][]): string {
  const table = [header, ...rows.map((row) => row.map((cell) => neutralize(cell)))];
  const widths = header.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length)));
  return table
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
