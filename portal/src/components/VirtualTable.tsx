/**
 * A table that renders only the rows in view: 10,000 resources cost what the screen shows. Rows are links (keyboard
 * reachable); the header stays, and the row count is announced.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';

const ROW_HEIGHT = 36;
const OVERSCAN = 10;

export interface VirtualTableProps {
  label: string;
  columns: string[];
  rows: { key: string; cells: ReactNode[]; href: string }[];
  height?: number;
}

export function VirtualTable({ label, columns, rows, height = 560 }: VirtualTableProps): ReactNode {
  const scroller = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [viewport, setViewport] = useState(height);
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = (): void => setViewport(el.clientHeight || height);
    measure();
    const ro = typeof ResizeObserver === 'undefined' ? undefined : new ResizeObserver(measure);
    ro?.observe(el);
    return () => ro?.disconnect();
  }, [height]);
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((top + viewport) / ROW_HEIGHT) + OVERSCAN);
  const template = `repeat(${columns.length}, minmax(6rem, 1fr))`;
  return (
    <div className="vtable">
      <div role="table" aria-label={label} aria-rowcount={rows.length + 1}>
        <div role="rowgroup">
          <div className="vrow vhead" role="row" aria-rowindex={1} style={{ gridTemplateColumns: template }}>
            {columns.map((c) => (
              <span key={c} role="columnheader">
                {c}
              </span>
            ))}
          </div>
        </div>
        <div ref={scroller} className="vbody" style={{ maxHeight: height }} onScroll={(e) => setTop(e.currentTarget.scrollTop)} role="rowgroup">
          <div role="presentation" style={{ height: rows.length * ROW_HEIGHT, position: 'relative' }}>
            {rows.slice(first, last).map((r, i) => (
              <a
                key={r.key}
                href={r.href}
                className="vrow"
                role="row"
                aria-rowindex={first + i + 2}
                style={{ position: 'absolute', top: (first + i) * ROW_HEIGHT, height: ROW_HEIGHT, left: 0, right: 0, gridTemplateColumns: template }}
              >
                {r.cells.map((c, j) => (
                  <span key={j} role="cell">
                    {c}
                  </span>
                ))}
              </a>
            ))}
          </div>
        </div>
      </div>
      <p className="muted" aria-live="polite">
        {rows.length} {rows.length === 1 ? 'row' : 'rows'}
      </p>
    </div>
  );
}
