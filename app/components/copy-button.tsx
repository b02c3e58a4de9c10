// Copies a text to the clipboard and says so (a polite status, read out, kept for 5 seconds).
import { Button, type ButtonProps } from "@mantine/core";
import { useEffect, useState } from "react";

/** Copies `text` on `copy()`; `copied` says how it went, for 5 seconds. */
export function useCopy(text: string): { copied: "copied" | "failed" | null; copy: () => Promise<void> } {
  const [copied, setCopied] = useState<"copied" | "failed" | null>(null);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(null), 5000);
    return () => clearTimeout(t);
  }, [copied]);
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => setCopied("copied"),
      () => setCopied("failed"),
    );
  return { copied, copy };
}

export function CopyButton({ text, label, ...button }: { text: string; label: string } & Omit<ButtonProps, "children" | "onClick">) {
  const { copied, copy } = useCopy(text);
  return (
    <>
      <Button size="xs" variant="light" {...button} onClick={copy}>
        {copied === "copied" ? "Copied" : label}
      </Button>
      <span role="status" className="sr-only">
        {copied === "copied" ? "Copied to the clipboard." : copied === "failed" ? "Copying failed: select the text and copy it." : ""}
      </span>
    </>
  );
}
