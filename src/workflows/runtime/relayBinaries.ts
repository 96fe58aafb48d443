/**
 * What the API relay needs to run inside any image: this Node binary, the host's dynamic loader and the folders of
 * the libraries Node links (read from `ldd`), since the image may have another C library or none. The relay runs
 * as `<loader> --library-path <folders> <node> apiRelay.ts …`, the step's own processes untouched by it.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';

export interface RelayBinaries {
  node: string;
  loader: string;
  libraryDirs: string[];
  script: string;
}

/** Parses `ldd` output: the loader (an absolute path on its own) and each library's folder. */
export function parseLdd(output: string): { loader?: string; libraryDirs: string[] } {
  const dirs = new Set<string>();
  let loader: string | undefined;
  for (const line of output.split('\n')) {
    const linked = /=>\s+(\/\S+)/.exec(line);
    if (linked) dirs.add(dirname(linked[1] as string));
    else {
      const own = /^\s*(\/\S+)\s+\(0x/.exec(line);
      if (own) loader = own[1];
    }
  }
  return { ...(loader ? { loader } : {}), libraryDirs: [...dirs] };
}

/** The relay's binaries on this machine, or undefined (steps with spec.rbac then fail with the reason). */
export function findRelayBinaries(node = process.execPath): RelayBinaries | undefined {
  try {
    const { loader, libraryDirs } = parseLdd(execFileSync('ldd', [node], { encoding: 'utf8' }));
    if (!loader) return undefined;
    return { node, loader, libraryDirs, script: join(import.meta.dirname, `apiRelay${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`) };
  } catch {
    return undefined;
  }
}
