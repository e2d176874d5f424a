// `Host`: the caller's machine, as seen from containers.
import { Directory } from "./directory.js";

export class Host {
  /** A host directory to mount with `withMountedDirectory` (a live bind mount). */
  directory(path: string): Directory {
    return new Directory(path);
  }
}
