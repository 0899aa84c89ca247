import { type TransportPlugin, TransportPluginToken } from '@psremote/core';
import type { DependencyContainer } from 'tsyringe';

/**
 * A child of tsyringe's root container for the transports to register in. tsyringe, and the Reflect metadata
 * polyfill it needs loaded before it, are imported here, when a command needs a transport: a command on a session
 * the agent holds starts without them (they cost about 60 ms of start-up).
 */
export async function createTransportContainer(): Promise<DependencyContainer> {
  await import('reflect-metadata');
  const { container } = await import('tsyringe');
  return container.createChildContainer();
}

/** Transport packages psremote knows; each is optional: install only the ones you need. */
export const KNOWN_TRANSPORT_PACKAGES = [
  '@psremote/transport-ssh',
  '@psremote/transport-container',
  '@psremote/transport-winrm',
  '@psremote/transport-hyperv',
] as const;

interface TransportModule {
  register?: (container: DependencyContainer) => void;
  /** A package that ships but implements nothing yet says so with `implemented: false`. */
  implemented?: boolean;
}

/** What was found: the packages that registered a transport, and installed placeholders. */
export interface InstalledTransports {
  readonly loaded: string[];
  readonly placeholders: Set<string>;
}

/**
 * Registers every installed transport: the known packages plus any named in PSREMOTE_TRANSPORTS (a comma
 * separated list of third-party packages exporting `register(container)`). A package that is not installed
 * is skipped; the registry then names it when its parameter set is used.
 */
export async function registerInstalledTransports(
  container: DependencyContainer,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void = () => {},
): Promise<InstalledTransports> {
  const names = [
    ...KNOWN_TRANSPORT_PACKAGES,
    ...(env.PSREMOTE_TRANSPORTS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
  const loaded: string[] = [];
  const placeholders = new Set<string>();
  for (const name of names) {
    let mod: TransportModule;
    try {
      mod = (await import(name)) as TransportModule;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') continue;
      // A broken transport must not take the others down: say so and go on without it.
      warn(
        `psremote: the transport ${name} could not be loaded and is skipped: ${(e as Error).message.split('\n')[0]}`,
      );
      continue;
    }
    if (mod.implemented === false) {
      placeholders.add(name);
      continue;
    }
    if (typeof mod.register === 'function') {
      try {
        mod.register(container);
        loaded.push(name);
      } catch (e) {
        warn(`psremote: the transport ${name} failed to register and is skipped: ${(e as Error).message}`);
      }
    }
  }
  return { loaded, placeholders };
}

export function registeredTransports(container: DependencyContainer): TransportPlugin[] {
  return container.isRegistered(TransportPluginToken, true)
    ? container.resolveAll<TransportPlugin>(TransportPluginToken)
    : [];
}
