import type { JsonSchema } from './types';

/** The config fields a behaviour's schema marks secret (`x-drover-secret: true`): typed as passwords. */
export function secretFieldsOf(schema: JsonSchema): string[] {
  const properties = schema.properties ?? {};
  return Object.keys(properties).filter((name) => properties[name]?.['x-drover-secret'] === true);
}

/**
 * A starting point for a config: every field with a default, and every required field with a
 * placeholder of its type. Secret fields are left out: they have their own password inputs.
 */
export function configTemplate(schema: JsonSchema): Record<string, unknown> {
  const secret = new Set(secretFieldsOf(schema));
  const required = new Set(schema.required ?? []);
  const template: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    if (secret.has(name)) continue;
    if (field.default !== undefined) template[name] = field.default;
    else if (required.has(name)) template[name] = placeholder(field);
  }
  return template;
}

function placeholder(field: JsonSchema): unknown {
  if (field.examples?.length) return field.examples[0];
  if (field.enum?.length) return field.enum[0];
  const type = Array.isArray(field.type) ? field.type[0] : field.type;
  switch (type) {
    case 'integer':
    case 'number':
      return field.minimum ?? 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return '';
  }
}
