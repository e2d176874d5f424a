// Lists the entries of an uncompressed tar archive (ustar, GNU long names, pax paths) — enough for tests to check
// what an image layer holds without unpacking it.

/** One archive member. `type` is the tar typeflag: "0" file, "2" symlink, "5" directory, … */
export interface TarEntry {
  name: string;
  type: string;
  size: number;
  linkname: string;
}

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString("utf8");
}

function octal(buf: Buffer, start: number, length: number): number {
  const text = cString(buf, start, length).trim();
  return text ? parseInt(text, 8) : 0;
}

function paxPath(data: Buffer): string | undefined {
  for (const record of data.toString("utf8").split("\n")) {
    const match = /^\d+ path=(.*)$/.exec(record);
    if (match) return match[1];
  }
  return undefined;
}

/** Entries in archive order; names as stored (a leading "./" is kept). */
export function tarEntries(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 48) || "0";
    const dataStart = offset + 512;
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (type === "K") {
      longLink = cString(data, 0, data.length);
      continue;
    }
    if (type === "x") {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === "g") continue;
    const magic = cString(header, 257, 6);
    const prefix = magic.startsWith("ustar") && magic !== "ustar " ? cString(header, 345, 155) : "";
    const base = cString(header, 0, 100);
    entries.push({
      name: longName ?? (prefix ? `${prefix}/${base}` : base),
      type: type === "\0" ? "0" : type,
      size,
      linkname: longLink ?? cString(header, 157, 100),
    });
    longName = undefined;
    longLink = undefined;
  }
  return entries;
}
