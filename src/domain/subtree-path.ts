/** Paths as subtrees: `a/b` is within `a` (and within itself), `ab` is not. Compared as strings, never resolved. */
export function withinSubtree(path: string, top: string): boolean {
  return path === top || (path.length > top.length && path.startsWith(top) && path[top.length] === '/');
}

/** The root agent of a path: `a` for `a/b/c`. Several daemons lease whole root subtrees. */
export function rootOf(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? path : path.slice(0, slash);
}
