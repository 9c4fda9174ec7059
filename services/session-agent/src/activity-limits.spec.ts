import { describe, expect, it } from '@jest/globals';
import { Activity, Limits } from '@drover/contracts';
import { withinLimits } from './session-host';

describe('a behaviour activity cut to the contract', () => {
  it('keeps a small activity as it is', () => {
    const activity = { kind: 'page.check', ok: true, message: 'fine', details: { status: 200 } };
    expect(withinLimits(activity)).toEqual(activity);
  });

  it('truncates a long message and replaces oversized details with a note, so the report is valid', () => {
    const activity = {
      kind: 'script.run',
      ok: true,
      message: 'm'.repeat(Limits.activityMessageChars + 50),
      details: { extracted: { a: 'x'.repeat(Limits.activityDetailsBytes) } },
    };
    const cut = withinLimits(activity);
    expect(cut.message).toHaveLength(Limits.activityMessageChars);
    expect(cut.details).toEqual({ omitted: expect.stringMatching(/^details is \d+ bytes as JSON, more than 65536$/) });
    expect(Activity.safeParse(cut).success).toBe(true);
    expect(Activity.safeParse(activity).success).toBe(false);
  });
});
