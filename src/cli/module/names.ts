// Names between the module (camelCase) and the command line (kebab-case), as `dagger call` spells them.

/** `httpService` → `http-service`, `getHTTPServer` → `get-http-server`, `user2List` → `user2-list`. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .replace(/_/g, "-")
    .toLowerCase();
}
