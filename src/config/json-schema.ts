/**
 * JSON Schema (draft 2020-12) of the configuration file, generated from CONFIG_SCHEMA, for
 * editors (yaml-language-server). Published as docs/schema/config.schema.json; a unit test keeps
 * the file equal to this output.
 */
import { CONFIG_SCHEMA, propOf, type SchemaNode } from './schema.js';
import { defaultConfig } from './types.js';
import { DURATION_PATTERN, SIZE_PATTERN } from './units.js';

type Json = Record<string, unknown>;

function convert(node: SchemaNode, doc: string | undefined, def: unknown): Json {
  const base: Json = doc === undefined ? {} : { description: doc };
  if (def !== undefined && node.kind !== 'object') base.default = def;
  switch (node.kind) {
    case 'object': {
      const properties: Json = {};
      const required: string[] = [];
      for (const [k, f] of Object.entries(node.fields)) {
        const d = def === undefined ? f.default : (def as Record<string, unknown>)[propOf(k, f)];
        properties[k] = convert(f.node, f.doc, d);
        if (f.required) required.push(k);
      }
      return { ...base, type: 'object', additionalProperties: false, properties, ...(required.length ? { required } : {}) };
    }
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'integer':
      return { ...base, type: 'integer', minimum: node.min, maximum: node.max };
    case 'duration':
      return {
        ...base,
        anyOf: [
          { type: 'string', pattern: DURATION_PATTERN, description: 'duration: "500ms", "90s", "90m", "8h", "1d", "1h30m"' },
          { type: 'integer', minimum: node.min, maximum: node.max, description: 'milliseconds' },
        ],
      };
    case 'size':
      return {
        ...base,
        anyOf: [
          { type: 'string', pattern: SIZE_PATTERN, description: 'size: "64KiB", "32MiB", "1GiB"' },
          { type: 'integer', minimum: node.min, maximum: node.max, description: 'bytes' },
        ],
      };
    case 'string':
      return { ...base, type: 'string', ...(node.pattern ? { pattern: node.pattern } : {}) };
    case 'enum':
      return { ...base, enum: [...node.values] };
    case 'array':
      return {
        ...base,
        type: 'array',
        maxItems: node.maxItems,
        ...(node.minItems !== undefined ? { minItems: node.minItems } : {}),
        ...(node.unique === true ? { uniqueItems: true } : {}),
        items: convert(node.items, undefined, undefined),
      };
    case 'map':
      return { ...base, type: 'object', propertyNames: { pattern: node.keyPattern }, additionalProperties: convert(node.values, undefined, undefined) };
  }
}

export function toJsonSchema(): Json {
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  // databases.dir defaults to the install location: not a meaningful editor default.
  const d = structuredClone(defaults);
  (d.databases as Record<string, unknown>).dir = undefined;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'bulwark configuration (/etc/bulwark/bulwark.yaml)',
    ...convert(CONFIG_SCHEMA, 'bulwark daemon configuration. Every key is optional; absent keys take their defaults. See docs/configuration.md.', d),
  };
}
