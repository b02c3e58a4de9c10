// One figure on the dashboard: a label, the value, a line of context.
import { Card, Text } from "@mantine/core";
import type { ReactNode } from "react";

export function StatCard({
  label,
  value,
  children,
  small,
  valueTestId,
}: {
  label: string;
  value: string;
  children: ReactNode;
  small?: boolean;
  valueTestId?: string;
}) {
  return (
    <Card withBorder>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text size={small ? undefined : "xl"} fw={small ? 600 : 700} data-testid={valueTestId}>
        {value}
      </Text>
      <Text size="sm" c="dimmed">
        {children}
      </Text>
    </Card>
  );
}
