/**
 * `reference:<system>,<id>` as Suricata's EVE writes it (`alert.references`, detect-reference.c):
 * the system's URL prefix from reference.config followed by the id. Systems come from the
 * reference.config Suricata ships (etc/reference.config); an unknown system gives "<system>://";
 * a `url` reference that names its own scheme ("foobar://…") is written as it is.
 */

/** URL prefixes of Suricata's shipped reference.config, by system (lower case). */
export const REFERENCE_PREFIX: Readonly<Record<string, string>> = {
  cve: 'https://cve.mitre.org/cgi-bin/cvename.cgi?name=',
  nessus: 'https://www.tenable.com/plugins/nessus/',
  url: 'https://',
  mcafee: 'https://vil.nai.com/vil/content/v_',
  bid: 'https://www.securityfocus.com/bid/',
  bugtraq: 'https://www.securityfocus.com/bid/',
  md5: 'https://www.threatexpert.com/report.aspx?md5=',
  secunia: 'https://www.secunia.com/advisories/',
  arachnids: 'https://www.whitehats.com/info/IDS',
};

/** The EVE form of one reference (`system` as written, `id` trimmed). */
export function eveReference(system: string, id: string): string {
  const sys = system.trim().toLowerCase();
  if (sys === 'url' && id.includes('://')) return id;
  return (REFERENCE_PREFIX[sys] ?? `${system.trim()}://`) + id;
}

/**
 * One `reference:<system>,<id>` keyword: the form bulwark's own alerts show (`CVE-…`, an https
 * URL, else `system:id`) and, when the value names a system, the EVE form.
 */
export function parseReference(value: string | undefined): { reference: string; eve?: string } {
  const v = value ?? '';
  const comma = v.indexOf(',');
  const type = comma < 0 ? v.trim() : v.slice(0, comma).trim().toLowerCase();
  const ref = comma < 0 ? '' : v.slice(comma + 1).trim();
  const reference = type === 'cve' ? `CVE-${ref.replace(/^CVE-/i, '')}` : type === 'url' ? `https://${ref.replace(/^https?:\/\//, '')}` : `${type}:${ref}`;
  return comma < 0 ? { reference } : { reference, eve: eveReference(v.slice(0, comma), ref) };
}

/** `metadata:key value, key value, …` (Suricata detect-metadata.c; a rule may have several): the pairs in order. */
export function parseMetadata(value: string | undefined): [string, string][] {
  const out: [string, string][] = [];
  for (const part of (value ?? '').split(',')) {
    const t = part.trim();
    if (t === '') continue;
    const sp = t.search(/\s/);
    out.push([sp < 0 ? t : t.slice(0, sp), sp < 0 ? '' : t.slice(sp + 1).trim()]);
  }
  return out;
}
