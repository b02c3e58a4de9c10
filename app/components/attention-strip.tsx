// /admin's "needs attention" strip: one card per figure, each a link to its list. Red when
// something needs an operator, green when nothing does, gray "no data" when nothing was measured.
import { Anchor, Badge, Card, SimpleGrid, Text } from "@mantine/core";
import type { AttentionItem } from "~/server/ops/overview.server";

export function AttentionStrip({ items }: { items: AttentionItem[] }) {
  return (
    <section aria-labelledby="attention-title">
      <Text component="h3" fw={600} mb="xs" id="attention-title">
        Needs attention
      </Text>
      <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm">
        {items.map((item) => (
          <Card key={item.id} withBorder padding="sm" data-testid={`attention-${item.id}`}>
            <Anchor href={item.href} size="sm" fw={500}>
              {item.label}
            </Anchor>
            <div className="mt-1">
              {item.count === null ? (
                <Badge color="gray" variant="outline">
                  no data
                </Badge>
              ) : (
                <Badge color={item.count > 0 ? "red" : "teal"} size="lg">
                  {item.count}
                </Badge>
              )}
            </div>
          </Card>
        ))}
      </SimpleGrid>
    </section>
  );
}
