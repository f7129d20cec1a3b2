import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let source: Promise<string> | null = null;

/** One axe-core violation: its rule id, impact and the first offending element's markup. */
export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly html: string;
}

/**
 * Runs axe-core (from node_modules) on the page as it is now and returns its violations, every
 * impact. The page's context must bypass CSP (`bypassCSP: true`): the site forbids inline scripts.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  source ??= readFile(AXE, 'utf8');
  await page.addScriptTag({ content: await source });
  return page.evaluate(async () => {
    type Result = { violations: { id: string; impact: string | null; nodes: { html: string }[] }[] };
    const axe = (window as unknown as { axe: { run(): Promise<Result> } }).axe;
    return (await axe.run()).violations.map((v) => ({ id: v.id, impact: v.impact, html: v.nodes[0]?.html ?? '' }));
  });
}

/** axe-core's serious and critical violations, as `rule: <element>` lines (empty when none). */
export async function seriousViolations(page: Page): Promise<string[]> {
  return (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.html}`);
}
