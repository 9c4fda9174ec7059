import type { ElementHandle, JSHandle } from 'puppeteer';

/**
 * A property of an element, read over CDP without evaluating any function in the page. (The
 * repository builds without the DOM lib, so the element's own property types are unknown.)
 */
export async function elementProperty(element: ElementHandle, name: string): Promise<unknown> {
  const property = await (element as unknown as JSHandle<unknown>).getProperty(name);
  try {
    return await property.jsonValue();
  } finally {
    void property.dispose().catch(() => undefined);
  }
}
