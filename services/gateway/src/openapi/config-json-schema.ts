import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { secretMark, unwrapSchema } from '@drover/behaviors/catalog';

type JsonSchema = Record<string, unknown>;

/**
 * A behaviour's config as JSON Schema (the dialect of OpenAPI 3.1), with every field the
 * behaviour marks secret carrying `writeOnly: true` and `x-drover-secret`: `true`, or
 * `"when secret is true"` for a field secret on a condition (a scripted step's `text`).
 */
export function configJsonSchema(schema: z.ZodTypeAny): JsonSchema {
  const registry = new OpenAPIRegistry();
  registry.register('Config', schema);
  const components = new OpenApiGeneratorV31(registry.definitions).generateComponents();
  const json = (components.components?.schemas as Record<string, JsonSchema> | undefined)?.Config ?? {};
  markSecrets(schema, json);
  return json;
}

/** Walks the zod schema and its JSON Schema side by side, marking the secret fields. */
function markSecrets(schema: z.ZodTypeAny, json: JsonSchema | undefined): void {
  if (!json) return;
  const inner = unwrapSchema(schema);
  if (inner instanceof z.ZodObject) {
    const properties = json.properties as Record<string, JsonSchema> | undefined;
    for (const [key, field] of Object.entries(inner.shape as Record<string, z.ZodTypeAny>)) {
      const property = properties?.[key];
      if (!property) continue;
      const mark = secretMark(field);
      if (mark) {
        property.writeOnly = true;
        property['x-drover-secret'] = mark === 'always' ? true : 'when secret is true';
      }
      markSecrets(field, property);
    }
  } else if (inner instanceof z.ZodArray) {
    markSecrets(inner.element as z.ZodTypeAny, json.items as JsonSchema | undefined);
  } else if (inner instanceof z.ZodRecord) {
    markSecrets(inner.valueSchema as z.ZodTypeAny, json.additionalProperties as JsonSchema | undefined);
  } else if (inner instanceof z.ZodDiscriminatedUnion || inner instanceof z.ZodUnion) {
    const options = inner.options as z.ZodTypeAny[];
    const alternatives = (json.oneOf ?? json.anyOf) as JsonSchema[] | undefined;
    options.forEach((option, index) => markSecrets(option, alternatives?.[index]));
  }
}
