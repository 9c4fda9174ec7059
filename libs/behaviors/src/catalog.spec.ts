import { describe, expect, it } from '@jest/globals';
import { BEHAVIOR_CATALOG } from './behavior-schemas';
import { builtInBehaviors } from './registry';

describe('the behaviour catalog', () => {
  it('describes exactly the built-in behaviours, with the schemas they run with', () => {
    const behaviors = builtInBehaviors();
    expect(behaviors.map((b) => b.name).sort()).toEqual(Object.keys(BEHAVIOR_CATALOG).sort());
    for (const behavior of behaviors) {
      const info = BEHAVIOR_CATALOG[behavior.name]!;
      expect(behavior.configSchema).toBe(info.configSchema);
      expect(behavior.description).toBe(info.description);
      expect(behavior.requires).toEqual(info.requires);
    }
  });
});
