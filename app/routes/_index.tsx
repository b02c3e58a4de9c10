// The home page: what the product is, its plans, and the two ways in (sign in, start a trial).
import { Badge, Button, Card, Container, Group, SimpleGrid, Text, Title } from "@mantine/core";
import { json, type MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { formatMoney, formatNumber } from "~/components/format";
import { listPlans } from "~/server/billing/plans.server";

export const loader = async () => json({ plans: listPlans() });

export const meta: MetaFunction = () => [{ title: "Metered — API plans with included usage" }];

// A trial starts on the billing page, after signing in.
const START_TRIAL = "/sign-in?next=/billing";

export default function Landing() {
  const { plans } = useLoaderData<typeof loader>();
  const trial = plans.find((p) => p.trialDays);
  return (
    <>
      <header className="border-0 border-b border-solid border-gray-200">
        <Container size="lg">
          <Group justify="space-between" h={60}>
            <Text fw={700}>Metered</Text>
            <Button component={Link} to="/sign-in" variant="subtle">
              Sign in
            </Button>
          </Group>
        </Container>
      </header>
      <Container size="lg" component="main" className="py-12">
        <Title order={1}>Metered</Title>
        <Text size="lg" c="dimmed" className="mt-2 max-w-2xl">
          Monthly API plans with included usage. Every call is metered, usage stops exactly at your quota, and billing runs through Stripe.
        </Text>
        <Group className="mt-6">
          <Button component={Link} to={START_TRIAL} size="md">
            {trial ? `Start your ${trial.trialDays}-day free trial` : "Choose a plan"}
          </Button>
          <Button component={Link} to="/sign-in" size="md" variant="default">
            Sign in
          </Button>
        </Group>
        <Title order={2} size="h3" className="mt-12">
          Plans
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }} spacing="lg" className="mt-4">
          {plans.map((p) => (
            <Card key={p.code} withBorder padding="lg" component="section" aria-label={`${p.name} plan`}>
              <Group justify="space-between">
                <Title order={3}>{p.name}</Title>
                {p.trialDays ? <Badge color="teal">{p.trialDays}-day trial</Badge> : null}
              </Group>
              <Text size="xl" fw={700} className="mt-3">
                {p.trialDays ? "Free" : formatMoney(p.priceMonthly, p.currency)}
                {p.trialDays ? null : (
                  <Text span size="sm" c="dimmed">
                    {" "}
                    / month
                  </Text>
                )}
              </Text>
              <Text className="mt-2">{formatNumber(p.includedUnits.api_call ?? 0)} API calls included</Text>
              {p.trialDays ? (
                <Text size="sm" c="dimmed">
                  then {formatMoney(p.priceMonthly, p.currency)} / month
                </Text>
              ) : null}
            </Card>
          ))}
        </SimpleGrid>
      </Container>
    </>
  );
}
