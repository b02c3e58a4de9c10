import { Badge, Card, Container, Group, SimpleGrid, Text, Title } from "@mantine/core";
import { json } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { listPlans } from "~/server/billing/plans.server";

export const loader = async () => json({ plans: listPlans() });

const money = (minor: number, currency: string) => new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).format(minor / 100);
const units = (n: number | undefined) => new Intl.NumberFormat("en-US").format(n ?? 0);

export default function Landing() {
  const { plans } = useLoaderData<typeof loader>();
  return (
    <Container size="lg" className="py-12">
      <Title order={1}>Metered</Title>
      <Text size="lg" c="dimmed" className="mt-2 max-w-2xl">
        Monthly API plans with included usage. Every call is metered, usage stops exactly at your quota, and billing runs through Stripe.
      </Text>
      <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }} spacing="lg" className="mt-10">
        {plans.map((p) => (
          <Card key={p.code} withBorder padding="lg" aria-label={`${p.name} plan`}>
            <Group justify="space-between">
              <Title order={3}>{p.name}</Title>
              {p.trialDays ? <Badge color="teal">{p.trialDays}-day trial</Badge> : null}
            </Group>
            <Text size="xl" fw={700} className="mt-3">
              {p.trialDays ? "Free" : money(p.priceMonthly, p.currency)}
              {p.trialDays ? null : (
                <Text span size="sm" c="dimmed">
                  {" "}
                  / month
                </Text>
              )}
            </Text>
            <Text className="mt-2">{units(p.includedUnits.api_call)} API calls included</Text>
            {p.trialDays ? (
              <Text size="sm" c="dimmed">
                then {money(p.priceMonthly, p.currency)} / month
              </Text>
            ) : null}
          </Card>
        ))}
      </SimpleGrid>
    </Container>
  );
}
