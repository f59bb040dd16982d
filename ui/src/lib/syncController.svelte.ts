/**
 * Sync with the team's server as the window sees it: the status, the sync
 * conflicts, whether its dialog is open, and what its buttons do. Each action
 * resolves to an error message to show, or null.
 */
import { commands, type SyncConflictView, type SyncView } from "./bindings";
import { count, describeError } from "./calendar";

export class SyncController {
  view = $state<SyncView | null>(null);
  conflicts = $state<SyncConflictView[]>([]);
  open = $state(false);

  /** `say` shows a notice; `reload` refreshes the views after the server's changes arrived. */
  constructor(
    private say: (notice: string) => void,
    private reload: () => void,
  ) {}

  async load(): Promise<void> {
    const [v, c] = await Promise.all([commands.syncView(), commands.syncConflicts()]);
    if (v.status === "ok") this.view = v.data;
    if (c.status === "ok") this.conflicts = c.data;
  }

  async show(): Promise<void> {
    await this.load();
    this.open = true;
  }

  /** The status after a sync try (`relcal://sync`). */
  updated(view: SyncView | null) {
    if (view) this.view = view;
    if (this.open || (view?.status.conflicts ?? 0) !== this.conflicts.length) void this.load();
  }

  connect = async (server: string, token: string | null): Promise<string | null> => {
    const r = await commands.connectSync(server, token);
    await this.load();
    if (r.status === "error") return describeError(r.error);
    this.say(`Syncing with ${r.data.status.server}.`);
    this.reload();
    return null;
  };

  disconnect = async (): Promise<string | null> => {
    const r = await commands.disconnectSync();
    if (r.status === "error") return describeError(r.error);
    this.view = r.data;
    return null;
  };

  now = async (): Promise<string | null> => {
    const r = await commands.syncNow();
    await this.load();
    if (r.status === "error") return describeError(r.error);
    const d = r.data;
    this.say(
      `Synced: ${count(d.pushed, "change")} sent${d.merged ? ` (${d.merged} merged)` : ""}, ${count(d.pulled, "change")} received${d.conflicts ? `, ${count(d.conflicts, "new conflict")}` : ""}.`,
    );
    if (d.pulled) this.reload();
    return null;
  };

  resolve = async (mutationId: string, keepMine: boolean): Promise<string | null> => {
    const r = await commands.resolveSyncConflict(mutationId, keepMine);
    if (r.status === "error") return describeError(r.error);
    this.view = r.data;
    await this.load();
    if (!keepMine) this.reload();
    return null;
  };
}
