/** PSSession.State as PowerShell shows it in Get-PSSession. */
export type SessionState = 'Opening' | 'Opened' | 'Broken' | 'Closed';
/** PSSession.Availability. */
export type SessionAvailability = 'None' | 'Available' | 'Busy';

/** One row of the session table: the columns Get-PSSession shows. */
export interface SessionInfo {
  readonly id: number;
  readonly name: string;
  readonly instanceId: string;
  readonly computerName: string;
  readonly transport: string;
  readonly state: SessionState;
  readonly availability: SessionAvailability;
}

/** Anything the table can list. */
export interface SessionRow {
  readonly info: SessionInfo;
}

/**
 * The sessions of this process, numbered as PowerShell numbers them (Id from 1, Name `Runspace<Id>` unless
 * given). Closed sessions stay listed until removed, as in PowerShell.
 */
export class SessionTable {
  private nextId = 1;
  private readonly rows = new Map<number, SessionRow>();

  allocate(name?: string): { id: number; name: string } {
    const id = this.nextId++;
    return { id, name: name ?? `Runspace${id}` };
  }

  add(row: SessionRow): void {
    this.rows.set(row.info.id, row);
  }

  remove(id: number): void {
    this.rows.delete(id);
  }

  list(): SessionInfo[] {
    return [...this.rows.values()].map((r) => r.info);
  }

  byId(id: number): SessionRow | undefined {
    return this.rows.get(id);
  }

  byName(name: string): SessionRow[] {
    const lower = name.toLowerCase();
    return [...this.rows.values()].filter((r) => r.info.name.toLowerCase() === lower);
  }

  byInstanceId(instanceId: string): SessionRow | undefined {
    const lower = instanceId.toLowerCase();
    return [...this.rows.values()].find((r) => r.info.instanceId === lower);
  }
}

/** The process-wide table that `openSession` registers in unless given another. */
export const defaultSessionTable = new SessionTable();
