import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * The operator's documents stay navigable as they move and grow: every relative link reaches
 * a file, every `#anchor` a heading of its target, and every `npm run <script>` shown is one
 * package.json has.
 */
const ROOT = join(__dirname, '..');
const DOCUMENTS = [
  'README.md',
  'ARCHITECTURE.md',
  'deploy/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

/** Markdown links outside code blocks and inline code. */
function linksOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t));
}

describe('the documentation', () => {
  it.each(DOCUMENTS)('%s: every relative link reaches a file and every anchor a heading', (file) => {
    const broken: string[] = [];
    for (const link of linksOf(file)) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path ? relative(ROOT, join(ROOT, dirname(file), path)) : file;
      if (!existsSync(join(ROOT, target))) broken.push(`${link}: no file ${target}`);
      else if (anchor && target.endsWith('.md') && !anchorsOf(target).has(anchor))
        broken.push(`${link}: no heading #${anchor} in ${target}`);
    }
    expect(broken).toEqual([]);
  });

  it.each(DOCUMENTS)('%s: every `npm run` it shows is a script of package.json', (file) => {
    const scripts = Object.keys(
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: object }).scripts,
    );
    const shown = [...readFileSync(join(ROOT, file), 'utf8').matchAll(/npm run (?:--silent |-s )?([a-z][\w:-]*)/g)]
      .map((m) => m[1]!)
      .filter((script) => !script.endsWith(':')); // `npm run start:<service>` names a family
    expect(shown.filter((script) => !scripts.includes(script))).toEqual([]);
  });
});
