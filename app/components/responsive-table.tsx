// A table on wide screens, a stack of cards on phones (below Mantine's "sm", 48em): every cell
// stays reachable without scrolling sideways. Both are rendered and one is hidden with CSS, so
// the server's HTML is already right for the screen; the hidden one is out of the accessibility tree.
import { Box, Card, Table } from "@mantine/core";
import type { ReactNode } from "react";

export type Column<Row> = {
  header: string;
  cell: (row: Row) => ReactNode;
  /** Shown without its header in the card (e.g. an action button); the header stays in the table. */
  bare?: boolean;
  align?: "right";
};

export function ResponsiveTable<Row>({
  caption,
  columns,
  rows,
  rowKey,
}: {
  caption: string;
  columns: Column<Row>[];
  rows: Row[];
  rowKey: (row: Row) => string;
}) {
  return (
    <>
      <Table verticalSpacing="sm" horizontalSpacing="md" visibleFrom="sm">
        <caption className="sr-only">{caption}</caption>
        <Table.Thead>
          <Table.Tr>
            {columns.map((c) => (
              <Table.Th key={c.header} className={c.align === "right" ? "text-right" : undefined}>
                {c.bare ? <span className="sr-only">{c.header}</span> : c.header}
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <Table.Tr key={rowKey(row)}>
              {columns.map((c) => (
                <Table.Td key={c.header} className={c.align === "right" ? "text-right" : undefined}>
                  {c.cell(row)}
                </Table.Td>
              ))}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Box component="ul" hiddenFrom="sm" aria-label={caption} className="m-0 flex list-none flex-col gap-2 p-3">
        {rows.map((row) => (
          <li key={rowKey(row)}>
            <Card withBorder padding="sm">
              <dl className="m-0 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
                {columns
                  .filter((c) => !c.bare)
                  .map((c) => (
                    <div key={c.header} className="contents">
                      <dt className="text-sm text-[var(--mantine-color-dimmed)]">{c.header}</dt>
                      <dd className="m-0 min-w-0 break-words text-sm">{c.cell(row)}</dd>
                    </div>
                  ))}
              </dl>
              {columns
                .filter((c) => c.bare)
                .map((c) => (
                  <div key={c.header} className="mt-2">
                    {c.cell(row)}
                  </div>
                ))}
            </Card>
          </li>
        ))}
      </Box>
    </>
  );
}
