// `Directory`: a host directory to bind-mount into containers (`client.host().directory(path)`).
import { isAbsolute, resolve } from "node:path";
import { InvalidArgumentError } from "../common/errors.js";
import { assertString } from "../definition/index.js";

export class Directory {
  readonly hostPath: string;

  /**
   * @internal Created by `client.host().directory(path)`. Only the spelling is checked here: whether the path exists
   * and is a directory is host-side work, done by the host adapter when the definition is evaluated.
   */
  constructor(path: string) {
    assertString(path, "host directory path");
    if (path === "") throw new InvalidArgumentError("host directory path must not be empty: use \".\" for the working directory");
    this.hostPath = isAbsolute(path) ? resolve(path) : resolve(process.cwd(), path);
  }
}
