// Parses WWW-Authenticate (RFC 7235): one or more challenges, each a scheme and auth-params. fetch joins repeated
// headers with ", ", so a single string can hold `Basic realm="a", Bearer realm="b",scope="c"`.

/** One authentication challenge; the scheme is lowercased, param names too. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

/** All challenges in a header value; malformed parts are skipped rather than trusted. */
export function parseWwwAuthenticate(header: string | null | undefined): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  if (!header) return out;
  let s = header;
  let current: AuthChallenge | undefined;
  const skip = (re: RegExp) => {
    const m = re.exec(s);
    if (m) s = s.slice(m[0].length);
  };
  while (s.length > 0) {
    skip(/^[\s,]+/);
    if (s.length === 0) break;
    const tok = TOKEN.exec(s);
    if (!tok) {
      s = s.slice(1); // junk: drop a character and resynchronise
      continue;
    }
    const word = tok[0];
    const after = s.slice(word.length);
    const param = /^\s*=\s*/.exec(after);
    if (param && current && !/^\s*=\s*=/.test(after)) {
      // auth-param: name=value (token or quoted-string)
      s = after.slice(param[0].length);
      let value = "";
      if (s.startsWith('"')) {
        let i = 1;
        for (; i < s.length && s[i] !== '"'; i++) {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          value += s[i];
        }
        s = s.slice(Math.min(i + 1, s.length));
      } else {
        // Lenient: an unquoted value runs to the next comma or space (some servers leave URLs unquoted).
        const v = /^[^\s,"]+/.exec(s);
        value = v ? v[0] : "";
        s = s.slice(value.length);
      }
      current.params[word.toLowerCase()] = value;
      continue;
    }
    // A new challenge: scheme, possibly followed by token68 (ignored).
    current = { scheme: word.toLowerCase(), params: {} };
    out.push(current);
    s = after;
    const t68 = /^\s+([A-Za-z0-9._~+/-]+=*)(?=\s*(,|$))/.exec(s);
    if (t68 && !/^\s+[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*=[^=]/.test(s)) s = s.slice(t68[0].length);
  }
  return out;
}
