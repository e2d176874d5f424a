// `Directory`: a host directory to bind-mount into containers (`client.host().directory(path)`).
import { isAbsolute, resolve } from "node:path";
import { assertString } from "../definition/index.js";

export class Directory {
  readonly hostPath: string;

  /** @internal Created by `client.host().directory(path)`. */
  constructor(path: string) {
    assertString(path, "host directory path");
    this.hostPath = isAbsolute(path) ? resolve(path) : resolve(process.cwd(), path);
  }
}
