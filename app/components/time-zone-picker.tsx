// The settings' time zone: searchable by name or UTC offset ("Kolkata", "+05:30"), each zone
// shown with its offset now, and the browser's own zone offered in one click when it differs.
import { Button, Select, Text } from "@mantine/core";
import { useEffect, useMemo, useState } from "react";

/** A zone's offset from UTC at `at`: "UTC+05:30", "UTC" for zero. */
export function utcOffset(timeZone: string, at: Date): string {
  const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" }).formatToParts(at).find((p) => p.type === "timeZoneName")?.value;
  return !name || name === "GMT" ? "UTC" : name.replace("GMT", "UTC");
}

export function TimeZonePicker({ zones, value: initial, description }: { zones: string[]; value: string; description: string }) {
  const [value, setValue] = useState(initial);
  const [browserZone, setBrowserZone] = useState<string | null>(null);
  // The browser's zone is known only in the browser: read after hydration.
  useEffect(() => setBrowserZone(Intl.DateTimeFormat().resolvedOptions().timeZone ?? null), []);
  const data = useMemo(() => {
    const now = new Date();
    return zones.map((z) => ({ value: z, label: `(${utcOffset(z, now)}) ${z.replaceAll("_", " ")}` }));
  }, [zones]);
  const suggest = browserZone && browserZone !== value && zones.includes(browserZone) ? browserZone : null;
  return (
    <div>
      <Select
        label="Time zone"
        description={description}
        name="timeZone"
        searchable
        allowDeselect={false}
        nothingFoundMessage="No time zone matches"
        data={data}
        value={value}
        onChange={(v) => v && setValue(v)}
        maxDropdownHeight={280}
      />
      {suggest ? (
        <Text size="sm" className="mt-1">
          Your browser is in {suggest.replaceAll("_", " ")} ({utcOffset(suggest, new Date())}).{" "}
          <Button variant="subtle" size="compact-sm" onClick={() => setValue(suggest)}>
            Use {suggest.replaceAll("_", " ")}
          </Button>
        </Text>
      ) : null}
    </div>
  );
}
