// The page's one state machine. Every control dispatches an action; the table says which state it leads to
// and, by its absence, which controls are off in each state. Async work (data fetches, checkpoint loads,
// saves) belongs to a session: whatever finishes after its session was replaced is dropped, never shown.
export type PageState = 'idle' | 'loading' | 'training' | 'paused' | 'saving' | 'error';

export type Action =
  | 'tab' | 'reset' | 'edit' | 'load' | 'files' // build a new session (a fresh run, a checkpoint, a folder)
  | 'loaded' // the new session is ready
  | 'start' | 'pause'
  | 'save' | 'saved' // a save began / finished (back to the state it began in)
  | 'fail';

const REBUILD = { tab: 'loading', reset: 'loading', edit: 'loading', load: 'loading', files: 'loading', fail: 'error' } as const;

/** Next state per (state, action); 'back' returns to the state a save began in. Missing: not allowed. */
export const TRANSITIONS: Record<PageState, Partial<Record<Action, PageState | 'back'>>> = {
  idle: { ...REBUILD, start: 'training', save: 'saving' },
  loading: { ...REBUILD, loaded: 'idle' },
  training: { ...REBUILD, pause: 'paused', save: 'saving' },
  paused: { ...REBUILD, start: 'training', save: 'saving' },
  // A save finishes on the model it was asked for even when the page moves on (see Session.hold).
  saving: { ...REBUILD, saved: 'back' },
  error: { ...REBUILD, start: 'training', save: 'saving' },
};

export class PageMachine {
  state: PageState = 'loading';
  private beforeSave: PageState = 'idle';
  private readonly listeners: ((s: PageState, a: Action) => void)[] = [];

  /** Whether `a` is allowed now. */
  can(a: Action): boolean { return TRANSITIONS[this.state][a] !== undefined; }

  /** Applies `a`; returns false (and changes nothing) when the current state does not allow it. */
  dispatch(a: Action): boolean {
    const next = TRANSITIONS[this.state][a];
    if (next === undefined) return false;
    if (a === 'save') this.beforeSave = this.state;
    this.state = next === 'back' ? this.beforeSave : next;
    for (const l of this.listeners) l(this.state, a);
    return true;
  }

  onChange(l: (s: PageState, a: Action) => void): void { this.listeners.push(l); }
}
