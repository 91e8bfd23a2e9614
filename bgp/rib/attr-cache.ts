/**
 * The speaker's attribute cache: received attribute sets, and the AS paths inside them,
 * interned (see intern.ts). Routes of one UPDATE already share an object; this shares equal
 * sets across UPDATEs and peers, and one AS path among sets that differ elsewhere (a MED per
 * route, say).
 */
import type { AsPathSegment } from '../codec/attributes';
import { Interner } from './intern';
import { asPathKey, attributesKey, type PathAttributes } from './path';
import type { RouteInput } from './rib';

export class AttributeCache {
  private readonly sets = new Interner<PathAttributes>();
  private readonly asPaths = new Interner<AsPathSegment[]>();

  /** The shared copy of `a`. `a` must not change afterwards (nor must anything it returns). */
  intern(a: PathAttributes): PathAttributes {
    const key = attributesKey(a);
    const shared = this.sets.intern(key, a);
    if (shared === a) a.asPath = this.asPaths.intern(asPathKey(a.asPath), a.asPath);
    return shared;
  }

  /** Replaces each route's attributes with the shared copy (one lookup per distinct object). */
  internRoutes<R extends Pick<RouteInput, 'attrs'>>(routes: readonly R[]): void {
    const seen = new Map<PathAttributes, PathAttributes>();
    for (const r of routes) {
      if (!r.attrs) continue;
      let shared = seen.get(r.attrs);
      if (!shared) seen.set(r.attrs, (shared = this.intern(r.attrs)));
      r.attrs = shared;
    }
  }

  /** Distinct attribute sets and AS paths held. */
  get sizes(): { sets: number; asPaths: number } {
    return { sets: this.sets.size, asPaths: this.asPaths.size };
  }
}
