/**
 * The release and freeze editors: what each form starts from, and saving,
 * cancelling, deleting and moving through the one change path.
 */
import { commands, type Catalog, type FreezeInput, type ReleaseDetail, type ReleaseInput } from "./bindings";
import { describeError } from "./calendar";
import type { Changes } from "./changes.svelte";
import { now } from "./clock";

/** What the editors need from the window. */
export interface EditorsHost {
  changes: Changes;
  /** The release open in the detail panel. */
  detail(): ReleaseDetail | null;
  closeDetail(): void;
  openRelease(id: string): Promise<void>;
  loadSettings(): Promise<unknown>;
  fail(message: string): void;
}

export class Editors {
  catalog = $state<Catalog | null>(null);
  release = $state<{ initial: ReleaseInput; isNew: boolean } | null>(null);
  freeze = $state<{ initial: FreezeInput; isNew: boolean } | null>(null);
  /** Every release's window as last loaded, to know where a dragged one came from. */

  constructor(private host: EditorsHost) {}

  async loadCatalog(): Promise<Catalog | null> {
    const result = await commands.catalog();
    if (result.status === "error") {
      this.host.fail(describeError(result.error));
      return null;
    }
    return (this.catalog = result.data);
  }

  newRelease = async () => {
    const c = await this.loadCatalog();
    if (!c) return;
    const start = new Date(Math.ceil(now().getTime() / 3600000) * 3600000);
    const team = c.teams[0]?.id ?? "";
    this.release = {
      isNew: true,
      initial: {
        id: "",
        title: "",
        team,
        services: c.services
          .filter((s) => s.group === team)
          .slice(0, 1)
          .map((s) => s.id),
        environment: c.environments[0]?.id ?? "",
        start: start.toISOString(),
        end: new Date(start.getTime() + 3600000).toISOString(),
        status: "planned",
        owner: null,
        depends_on: [],
        version: null,
      },
    };
  };

  editRelease = async (id: string) => {
    const [c, input] = await Promise.all([this.loadCatalog(), commands.releaseInput(id)]);
    if (!c) return;
    if (input.status === "error") this.host.fail(describeError(input.error));
    else this.release = { isNew: false, initial: input.data };
  };

  saveRelease = async (input: ReleaseInput): Promise<string | null> => {
    const previous = this.release;
    const failure = await this.host.changes.apply(() => commands.saveRelease(input), previous?.isNew ? "Created" : "Saved");
    if (!failure) {
      this.release = null;
      // An open panel for this release is refreshed with the views; open it otherwise.
      if (this.host.detail()?.id !== input.id) void this.host.openRelease(input.id);
    }
    return failure;
  };

  cancelRelease = async (id: string) => {
    const failure = await this.host.changes.apply(() => commands.setReleaseStatus(id, "cancelled"), "Cancelled");
    if (failure) this.host.fail(failure);
  };

  deleteRelease = async (id: string) => {
    const detail = this.host.detail();
    const title = detail?.id === id ? detail.title : id;
    const failure = await this.host.changes.apply(() => commands.deleteObject("release", id), "Deleted", { name: title });
    if (failure) this.host.fail(failure);
    else if (this.host.detail()?.id === id) this.host.closeDetail();
  };

  /** A release was dragged or resized: store it, or put it back. */
  move = async (id: string, start: string, end: string, revert: () => void) => {
    const failure = await this.host.changes.apply(() => commands.moveRelease(id, start, end), "Moved");
    if (failure) {
      revert();
      this.host.fail(failure);
    }
  };

  newFreeze = async () => {
    const [c] = await Promise.all([this.loadCatalog(), this.host.loadSettings()]);
    if (!c) return;
    this.freeze = {
      isNew: true,
      initial: {
        id: "",
        name: "",
        severity: "hard",
        timezone: null,
        start: "",
        end: null,
        duration: null,
        rrule: null,
        exdates: [],
        teams: [],
        services: [],
        environments: [],
        reason: null,
      },
    };
  };

  editFreeze = async (id: string) => {
    const [c, , input] = await Promise.all([this.loadCatalog(), this.host.loadSettings(), commands.freezeInput(id)]);
    if (!c) return;
    if (input.status === "error") this.host.fail(describeError(input.error));
    else this.freeze = { isNew: false, initial: input.data };
  };

  saveFreeze = async (input: FreezeInput): Promise<string | null> => {
    const isNew = this.freeze?.isNew ?? false;
    const failure = await this.host.changes.apply(() => commands.saveFreeze(input), isNew ? "Created" : "Saved", { name: input.name });
    if (!failure) this.freeze = null;
    return failure;
  };

  deleteFreeze = async (id: string, name?: string): Promise<string | null> => {
    const failure = await this.host.changes.apply(() => commands.deleteObject("freeze", id), "Deleted", { name });
    if (!failure) this.freeze = null;
    return failure;
  };
}
