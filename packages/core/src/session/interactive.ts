import { PipelineResultTypes, type PipelineSpec, PSList, PSObject, type PSValue } from '@psremote/psrp';
import { PSRemotingError } from '../errors/ps-remoting-error.ts';
import type { HostUi } from '../host/host-ui.ts';
import { psValueNumber, psValueText } from '../util/ps-value-text.ts';
import type { Invocation } from './invocation.ts';
import type { PSSession } from './session.ts';

/** The result of a remote TabExpansion2 call. */
export interface CompletionResult {
  readonly replacementIndex: number;
  readonly replacementLength: number;
  readonly matches: readonly {
    readonly completionText: string;
    readonly listItemText: string;
    readonly resultType: string;
  }[];
}

/**
 * The wire form of one typed line (protocols.md 2.2; PowerShell RunspaceRef.cs, Executor.cs): the line as one
 * script command with Error merged into Output, then Out-Default with MergePreviousResults Error|Output, added to
 * the remote history. `exit` becomes Exit-PSSession.
 */
export function interactiveLineSpec(line: string): PipelineSpec {
  const command = line.trim().toLowerCase() === 'exit' ? 'Exit-PSSession' : line;
  return {
    commands: [
      {
        command,
        isScript: true,
        useLocalScope: null,
        mergeMyResult: PipelineResultTypes.Error,
        mergeToResult: PipelineResultTypes.Output,
        mergeError: PipelineResultTypes.Output,
      },
      {
        command: 'Out-Default',
        isScript: false,
        useLocalScope: true,
        mergePreviousResults: PipelineResultTypes.Error | PipelineResultTypes.Output,
      },
    ],
    addToHistory: true,
    history: line,
    noInput: true,
  };
}

/** VM and container sessions carry their label in a remote prompt function (PushRunspaceCommand.cs). */
export function remotePromptFunction(label: string): string {
  // EnterVMSessionPrompt: "{0}[{1}]: {2}"; the label is the VM name or the cut container id.
  const escaped = label.replace(/'/g, "''");
  return `function global:prompt { '[${escaped}]: ' + "PS $($executionContext.SessionState.Path.CurrentLocation)$('>' * ($nestedPromptLevel + 1)) " }`;
}

/** ContainerId cut to 14 characters plus an ellipsis when longer than 15 (PushRunspaceCommand.cs). */
export function containerPromptLabel(containerId: string): string {
  return containerId.length > 15 ? `${containerId.slice(0, 14)}\u2026` : containerId;
}

/**
 * Enter-PSSession's behaviour over a PSSession, without any terminal: checks that the remote side offers
 * the commands an interactive session needs, builds the prompt, runs typed lines, completes, and tells when
 * the remote side asked to exit. The CLI puts a terminal around it; a library can put anything else.
 */
export class InteractiveSession {
  private exitCode: number | undefined;
  private readonly exitWaiters = new Set<(code: number) => void>();

  readonly session: PSSession;

  constructor(session: PSSession) {
    this.session = session;
    session.onExitRequested((code) => {
      this.exitCode = code;
      for (const w of this.exitWaiters) w(code);
    });
  }

  /** Set once the remote side ran Exit-PSSession (PopRunspace) or asked the host to exit (SetShouldExit). */
  get exitRequested(): number | undefined {
    return this.exitCode;
  }

  /**
   * Prepares the session the way Enter-PSSession pushes a runspace: GET_COMMAND_METADATA for Out-Default and
   * Exit-PSSession must give Count + 2 objects (RunspaceRef.cs), then the VM/container prompt function.
   */
  async enter(): Promise<void> {
    const meta = await this.session.getCommandMetadata(['Out-Default', 'Exit-PSSession']).result();
    if (meta.state !== 'Completed' || meta.output.length < 3) {
      throw new PSRemotingError(
        'Enter-PSSession failed because the remote session does not provide required commands.',
        {
          errorId: 'RemoteRunspaceDoesNotSupportPushRunspace',
          category: 'InvalidArgument',
          targetObject: this.session.computerName,
          recommendedAction:
            'Use a session configuration that offers Get-Command, Out-Default and Exit-PSSession.',
        },
      );
    }
    const style = this.session.target.prompt;
    if (style.kind === 'remote-function') {
      const r = await this.session.invoke(remotePromptFunction(style.label)).result();
      if (r.state !== 'Completed') {
        this.session.hostUi.writeWarningLine(
          `The remote prompt could not be set: ${r.reason?.message ?? r.state}`,
        );
      }
    }
  }

  /** The prompt text: the remote `prompt` function's first output, with the local prefix (HostUtilities.GetRemotePrompt). */
  async prompt(): Promise<string> {
    let text = 'PS>';
    try {
      const r = await this.session.invoke('prompt').result();
      const first = r.output[0];
      if (r.state === 'Completed' && first !== undefined && first !== null) text = psValueText(first);
    } catch {
      // The default prompt when the remote one fails, as the console host does.
    }
    const style = this.session.target.prompt;
    return style.kind === 'prefix' ? `${style.text}${text}` : text;
  }

  /** Runs one typed line as Enter-PSSession does; output comes back through the HostUi's Write calls. */
  run(line: string, options: { hostUi?: HostUi; signal?: AbortSignal } = {}): Invocation {
    return this.session.invoke(interactiveLineSpec(line), options);
  }

  /** Remote TabExpansion2 (protocols.md 2.6): positional input script, cursor, $null options. */
  async complete(line: string, cursor: number): Promise<CompletionResult> {
    const none = { replacementIndex: cursor, replacementLength: 0, matches: [] };
    if (this.session.availability !== 'Available') return none;
    const r = await this.session
      .invoke({
        commands: [
          {
            command: 'TabExpansion2',
            isScript: false,
            parameters: [
              { name: null, value: line },
              { name: null, value: cursor },
              { name: null, value: null },
            ],
          },
        ],
      })
      .result();
    const result = r.output[0];
    if (!(result instanceof PSObject)) return none;
    const matchesValue = result.get('CompletionMatches');
    const items: PSValue[] =
      matchesValue instanceof PSObject && matchesValue.baseValue instanceof PSList
        ? matchesValue.baseValue.items
        : [];
    const matches = items
      .filter((m): m is PSObject => m instanceof PSObject)
      .map((m) => ({
        completionText: psValueText(m.get('CompletionText')),
        listItemText: psValueText(m.get('ListItemText')),
        resultType: psValueText(m.get('ResultType')),
      }));
    return {
      replacementIndex: psValueNumber(result.get('ReplacementIndex'), cursor),
      replacementLength: psValueNumber(result.get('ReplacementLength'), 0),
      matches,
    };
  }
}
