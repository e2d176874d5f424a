// A value for an error message: JSON-quoted (so a newline or NUL cannot forge a log line), cut at 80 characters.
export function quote(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
