/**
 * Feature "git" on R: which pages of changes are placed together. The daemon marks the changes git made in one
 * operation (a checkout, a rebase) as a batch (docs/protocol.md section 14.11); a batch may span several pages,
 * and its changes are placed as one unit once every page up to its last change has been read. Pure: table tests.
 */
import type { GitBatch } from "@zync/protocol";

/** What grouping needs of a page: where it stopped, and the batches its changes belong to. */
export type PageBatches = { next: number; more: boolean; batches?: readonly GitBatch[] };

/** Pages placed as one unit; `atomic` when a batch is among them (everything fetched before anything is placed). */
export type PlacementGroup = { pages: number[]; atomic: boolean };

/** The last seq of the batches of `root` that `page` names, or `open` if that is later: the group stays open up to it. */
export function openUntil(open: number, page: PageBatches, root: string): number {
  let until = open;
  for (const b of page.batches ?? []) if (b.root === root) until = Math.max(until, b.last);
  return until;
}

/** True when the page names a batch of `root`. */
export function namesBatch(page: PageBatches, root: string): boolean {
  return (page.batches ?? []).some((b) => b.root === root);
}

/**
 * Splits a root's pages, in order, into groups: a page that names no batch and finds none open is a group of its
 * own (placed as today); a group with a batch goes on until a page reaches the last seq of every batch named so far
 * (or the last page, which reaches the head).
 */
export function placementGroups(pages: readonly PageBatches[], root: string): PlacementGroup[] {
  const groups: PlacementGroup[] = [];
  let current: PlacementGroup | undefined;
  let open = 0;
  for (const [i, page] of pages.entries()) {
    current ??= { pages: [], atomic: false };
    current.pages.push(i);
    current.atomic ||= namesBatch(page, root);
    open = openUntil(open, page, root);
    if (page.next >= open || !page.more) {
      groups.push(current);
      current = undefined;
      open = 0;
    }
  }
  if (current !== undefined) groups.push(current);
  return groups;
}

/** The changes of several pages as one list: a path listed twice (it changed again while paging) keeps its latest. */
export function latestOfEach<T extends { path: string; seq: number }>(items: readonly T[]): T[] {
  const last = new Map<string, number>();
  for (const [i, item] of items.entries()) {
    const known = last.get(item.path);
    if (known === undefined || items[known]!.seq <= item.seq) last.set(item.path, i);
  }
  return items.filter((item, i) => last.get(item.path) === i);
}
