// `svc functions -m <module>`: the module's exported functions as `svc call` names them, with their options and
// descriptions (src/cli/module/introspect.ts), or as JSON with `-j`.
import { printText } from "../call/print-result.js";
import { introspectModule } from "../module/introspect.js";
import { modulePath } from "../module/load-module.js";

export async function functions(opts: { module: string; json: boolean }): Promise<number> {
  const list = await introspectModule(modulePath(opts.module));
  if (opts.json) {
    printText(JSON.stringify(list));
    return 0;
  }
  if (list.length === 0) {
    printText(`${opts.module} exports no functions`);
    return 0;
  }
  const width = Math.max(...list.map((f) => f.command.length));
  const lines: string[] = ["Name".padEnd(width + 2) + "Description"];
  for (const f of list) {
    lines.push(f.command.padEnd(width + 2) + (f.description?.split("\n")[0] ?? ""));
    for (const o of f.options) {
      const head = `    --${o.flag} <${o.typeText}>${o.optional ? "" : " (required)"}`;
      lines.push(o.description ? `${head}  ${o.description}` : head);
    }
  }
  printText(lines.join("\n"));
  return 0;
}
