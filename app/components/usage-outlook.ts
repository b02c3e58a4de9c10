// Where this period's usage is heading: the share used and, at the average daily rate so far,
// the day the quota runs out (null when it lasts to the period's end or nothing was used yet),
// and that rate (units a day: the chart's forecast).
export function usageOutlook(input: { used: number; included: number; periodStart: string; periodEnd: string; now?: number }) {
  const now = input.now ?? Date.now();
  const start = Date.parse(input.periodStart);
  const end = Date.parse(input.periodEnd);
  const fraction = input.included > 0 ? input.used / input.included : 0;
  // At least one day of history, so a burst in the first minutes is not extrapolated to a month.
  const elapsedDays = Math.max((now - start) / 86_400_000, 1);
  const perDay = input.used / elapsedDays;
  if (perDay <= 0 || input.used >= input.included) return { fraction, perDay, runsOutAt: null };
  const runsOut = now + ((input.included - input.used) / perDay) * 86_400_000;
  return { fraction, perDay, runsOutAt: runsOut < end ? new Date(runsOut).toISOString() : null };
}
